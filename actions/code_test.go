package actions

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

func TestCodeAction(t *testing.T) {
	for _, tc := range []struct {
		name, with string
		data       map[string]any
		want       any
		logs       []string
		class, err string
	}{
		{name: "returns over data", with: `{"source":"console.log('n', trigger.body.n);\nreturn {double: trigger.body.n * 2, item}"}`,
			data: map[string]any{"trigger": map[string]any{"body": map[string]any{"n": 21}}, "item": "x"},
			want: map[string]any{"double": 42.0, "item": "x"}, logs: []string{"n 21"}, class: "ok"},
		{name: "secrets stay out even when handed over", with: `{"source":"return typeof secrets"}`,
			data: map[string]any{"secrets": map[string]any{"K": "v"}}, want: "undefined", class: "ok"},
		{name: "throw is permanent with its line", with: `{"source":"console.log('before');\nthrow new RangeError('too big')"}`,
			logs: []string{"before"}, class: "permanent", err: "code: RangeError: too big (line 2)"},
		{name: "time limit", with: `{"source":"while (true) {}","timeout":"200ms"}`,
			class: "permanent", err: "time limit of 200ms"},
		{name: "memory limit", with: `{"source":"const a = []; for (;;) a.push(new ArrayBuffer(1 << 20))"}`,
			class: "permanent", err: "memory limit of 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []string
			sc := testSC(t)
			sc.Log = func(l string) { logs = append(logs, l) }
			sc.Data = tc.data
			out, err := run(t, codeKind, sc, tc.with)
			checkErr(t, err, tc.class, tc.err)
			if !reflect.DeepEqual(out, tc.want) {
				t.Errorf("output %#v, want %#v", out, tc.want)
			}
			if !reflect.DeepEqual(logs, tc.logs) {
				t.Errorf("logs %q, want %q", logs, tc.logs)
			}
		})
	}
}

func TestCodeValidate(t *testing.T) {
	for _, tc := range []struct{ with, err string }{
		{`{"source":"return 1"}`, ""},
		{`{"source":"  "}`, "source is required"},
		{`{"source":"return 1","timeout":"1m"}`, "timeout must be between 0 and 30s"},
		{`{"source":"let a = 1;\nreturn a +;"}`, "source: SyntaxError"},
	} {
		_, err := decodeStrict(codeKind, tc.with)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: err = %v, want %q", tc.with, err, tc.err)
		}
	}
}

// codeTrigger is a trigger kind with no settings, for flows run by Accept.
type codeTrigger struct{}

// TestCodeStepInFlow runs code steps through the engine on a real bbolt file:
// the run's data in scope, output as returned, logs on the step record, and
// problems at save.
func TestCodeStepInFlow(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry()
	reg.AddTrigger(engine.TriggerKind{Spec: engine.Spec{Kind: "test", Title: "Test", Summary: "test"}, New: func() any { return new(codeTrigger) }})
	Register(reg)
	eng := engine.New(engine.Config{Store: st, Registry: reg, Workers: 2, Logf: t.Logf})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(5 * time.Second); st.Close() })

	put := func(id, steps string) error {
		f, err := engine.DecodeFlow([]byte(`{"id":"` + id + `","name":"` + id + `","trigger":{"type":"test"},"steps":` + steps + `}`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = eng.PutFlow(context.Background(), f)
		return err
	}
	runOnce := func(id, body string) *engine.Run {
		var b any
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Fatal(err)
		}
		runID, _, err := eng.Accept(context.Background(), id, &engine.Event{Trigger: engine.TriggerData{Type: "test", Body: b}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := st.GetRun(context.Background(), runID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.Final() {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %s did not end", runID)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	t.Run("data, output and logs", func(t *testing.T) {
		if err := put("calc", `[
		  {"id":"tier","type":"set","with":{"vars":{"tier":"gold"}}},
		  {"id":"sum","type":"code","with":{"source":"const total = trigger.body.items.reduce((s, i) => s + i.price, 0);\nconsole.log('total', total);\nreturn {total, tier: vars.tier, run: run.id.length > 0, flow: flow.id, secrets: typeof secrets, braces: '{{ kept }}'}"}},
		  {"id":"each","type":"foreach","items":"trigger.body.items","steps":[
		    {"id":"line","type":"code","with":{"source":"return index + ':' + item.sku + ':' + steps.sum.output.total"}}]}]`); err != nil {
			t.Fatal(err)
		}
		r := runOnce("calc", `{"items":[{"sku":"a","price":2},{"sku":"b","price":3}]}`)
		if r.Status != engine.RunSucceeded {
			t.Fatalf("run %s: %s", r.Status, r.Error)
		}
		sum := r.Step("sum")
		want := map[string]any{"total": 5.0, "tier": "gold", "run": true, "flow": "calc", "secrets": "undefined", "braces": "{{ kept }}"}
		if !reflect.DeepEqual(sum.Output, want) {
			t.Errorf("sum output %#v, want %#v", sum.Output, want)
		}
		if !reflect.DeepEqual(sum.Logs, []string{"total 5"}) {
			t.Errorf("sum logs %q", sum.Logs)
		}
		if got := r.Step("each[1].line"); got == nil || got.Output != "1:b:5" {
			t.Errorf("foreach code step: %+v", got)
		}
	})

	t.Run("a throw fails the step with message and line", func(t *testing.T) {
		if err := put("thrower", `[{"id":"boom","type":"code","with":{"source":"console.log('checking');\nif (!trigger.body.ok) throw new Error('not ok')\nreturn 1"}}]`); err != nil {
			t.Fatal(err)
		}
		r := runOnce("thrower", `{"ok":false}`)
		s := r.Step("boom")
		if r.Status != engine.RunFailed || s.Status != engine.StepFailed || s.Error != "code: Error: not ok (line 2)" {
			t.Fatalf("run %s, step %s %q", r.Status, s.Status, s.Error)
		}
		if !reflect.DeepEqual(s.Logs, []string{"checking"}) {
			t.Errorf("logs of the failed step: %q", s.Logs)
		}
	})

	t.Run("a syntax error is a problem at save", func(t *testing.T) {
		err := put("broken", `[{"id":"c","type":"code","with":{"source":"const a = 1;\nreturn a +;"}}]`)
		var pe *engine.ProblemsError
		if !errors.As(err, &pe) || len(pe.Problems) != 1 || !strings.HasPrefix(pe.Problems[0].Path, "steps[0].with") ||
			!strings.Contains(pe.Problems[0].Message, "SyntaxError") || !strings.Contains(pe.Problems[0].Message, "(line 2)") {
			t.Fatalf("err = %v, want one problem at steps[0].with naming line 2", err)
		}
	})
}
