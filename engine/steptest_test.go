package engine_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestTestStep(t *testing.T) {
	h := newHarness(t)
	f := h.flow(flowDoc(`[
		{"id":"gate","type":"filter","when":"trigger.body.n > 1"},
		{"id":"pick","type":"branch","cases":[{"name":"big","when":"trigger.body.n > 10","steps":[
			{"id":"inner","type":"probe","with":{"out":"{{ steps.first.output.out }}"}}]}]},
		{"id":"first","type":"probe","with":{"out":"n={{ trigger.body.n }}"}},
		{"id":"maybe","type":"probe","if":"trigger.body.n > 100","with":{"out":"x"}},
		{"id":"broken","type":"probe","with":{"fail":1,"out":"y"}},
		{"id":"later","type":"delay","with":{"for":"1s"}}]`))
	c, ps := engine.Compile(f, h.eng.Registry())
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	env := map[string]any{"trigger": map[string]any{"body": map[string]any{"n": 5.0}},
		"steps": map[string]any{"first": map[string]any{"output": map[string]any{"out": "pinned"}}}}
	for _, tc := range []struct {
		step string
		want engine.StepTest
		err  error
	}{
		{"gate", engine.StepTest{Output: map[string]any{"continue": true}}, nil},
		{"pick", engine.StepTest{Output: map[string]any{"case": "default"}}, nil},
		{"first", engine.StepTest{Input: map[string]any{"out": "n=5"}, Output: map[string]any{"out": "n=5", "attempt": 1}}, nil},
		{"inner", engine.StepTest{Input: map[string]any{"out": "pinned"}, Output: map[string]any{"out": "pinned", "attempt": 1}}, nil},
		{"maybe", engine.StepTest{Skipped: true}, nil},
		{"broken", engine.StepTest{Input: map[string]any{"fail": int64(1), "out": "y"}, Error: "probe failure 1"}, nil},
		{"later", engine.StepTest{}, engine.ErrNotTestable},
		{"nope", engine.StepTest{}, engine.ErrNotFound},
	} {
		t.Run(tc.step, func(t *testing.T) {
			got, err := h.eng.TestStep(context.Background(), c, tc.step, env)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Error != "" {
				if !strings.Contains(got.Error, tc.want.Error) {
					t.Errorf("error = %q, want %q", got.Error, tc.want.Error)
				}
				got.Error, tc.want.Error = "", ""
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("TestStep = %#v\nwant       %#v", *got, tc.want)
			}
		})
	}
	// Nothing was recorded as a run.
	if runs, _, err := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "f"}); err != nil || len(runs) != 0 {
		t.Errorf("runs after step tests: %d %v", len(runs), err)
	}
}
