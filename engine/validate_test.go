package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestValidateProblems(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []string // "path: substring of message"
	}{
		{name: "valid", doc: flowDoc(`[{"id":"a","type":"filter","when":"trigger.body.x > 1"},{"id":"b","type":"probe","with":{"out":"{{ steps.a.output }}"}}]`)},
		{name: "bad ids and unknown type",
			doc:  `{"id":"Bad Id","name":"x","trigger":{"type":"nope"},"steps":[{"id":"1a","type":"zzz"}]}`,
			want: []string{"id: must match", "trigger.type: unknown trigger \"nope\"", "steps[0].id: must match", "steps[0].type: unknown step type \"zzz\""}},
		{name: "duplicate step id in a nested branch",
			doc:  flowDoc(`[{"id":"a","type":"probe"},{"id":"b","type":"branch","cases":[{"when":"true","steps":[{"id":"a","type":"probe"}]}]}]`),
			want: []string{"steps[1].cases[0].steps[0].id: \"a\" is already the id of steps[0]"}},
		{name: "broken expressions name their field",
			doc: flowDoc(`[{"id":"a","type":"filter","when":"trigger.body.x >"},
			  {"id":"b","type":"probe","if":"unknown_name == 1"},
			  {"id":"c","type":"branch","cases":[{"when":"1 +","steps":[{"id":"d","type":"probe","if":"true","with":{"out":"{{ trigger. }}"}}]}]}]`),
			want: []string{"steps[0].when: unexpected token", "steps[1].if: unknown name unknown_name", "steps[2].cases[0].when: 1 +", "steps[2].cases[0].steps[0].with.out: trigger."}},
		{name: "condition must be boolean", doc: flowDoc(`[{"id":"a","type":"filter","when":"len(trigger.body.items)"}]`),
			want: []string{"steps[0].when: expected bool"}},
		{name: "unsafe expressions are refused",
			doc: flowDoc(`[{"id":"a","type":"filter","when":"all(trigger.body.a, {all(trigger.body.a, {all(trigger.body.a, {# > 0})})})"},
			  {"id":"b","type":"filter","when":"len(repeat('a', trigger.body.n)) > 0"},
			  {"id":"c","type":"filter","when":"len(1..100000000) > 0"},
			  {"id":"d","type":"filter","when":"len(1..trigger.body.n) > 0"}]`),
			want: []string{"steps[0].when: closures nested 3 deep", "steps[1].when: repeat needs a constant count", "steps[2].when: range 1..100000000 is larger", "steps[3].when: range bounds must be constant"}},
		{name: "with fields checked against the kind",
			doc:  flowDoc(`[{"id":"a","type":"probe","with":{"nope":1,"fail":"many"}},{"id":"b","type":"delay","with":{"for":"soon"}},{"id":"c","type":"fail","with":{}}]`),
			want: []string{"steps[0].with.nope: unknown field \"nope\"", "steps[0].with.fail: want a number", "steps[1].with.for: bad duration", "steps[2].with.message: required"}},
		{name: "control-step fields in the wrong place",
			doc:  flowDoc(`[{"id":"a","type":"probe","when":"true","items":"x"},{"id":"b","type":"foreach","items":"trigger.body"}]`),
			want: []string{"steps[0].when: only filter steps", "steps[0].items: only foreach steps", "steps[1].steps: required"}},
		{name: "typos in field and step names are caught at save",
			doc: flowDoc(`[{"id":"a","type":"filter","when":"trigger.bdy.x == 1"},
			  {"id":"b","type":"probe","with":{"out":"{{ steps.nope.output.x }}"}},
			  {"id":"c","type":"probe","if":"steps.a.outptu != nil","with":{"out":"{{ run.idd }}"}}]`),
			want: []string{`steps[0].when: trigger has no field "bdy"`, `steps[1].with.out: no step "nope"`,
				`steps[2].if: steps.<id> has no field "outptu"`, `steps[2].with.out: run has no field "idd"`}},
		{name: "retry and on_error",
			doc:  flowDoc(`[{"id":"a","type":"probe","retry":{"attempts":0},"on_error":"ignore"}]`),
			want: []string{"steps[0].retry.attempts: must be between 1", "steps[0].on_error: must be"}},
	}
	reg := testRegistry()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := engine.DecodeFlow([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			ps := engine.Validate(f, reg)
			var got []string
			for _, p := range ps {
				got = append(got, p.Path+": "+p.Message)
			}
			if len(tc.want) == 0 && len(ps) > 0 {
				t.Fatalf("unexpected problems:\n%s", strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					if strings.HasPrefix(w, strings.SplitN(g, ": ", 2)[0]+":") && strings.Contains(g, strings.SplitN(w, ": ", 2)[1]) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing problem %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(ps) > 0 && !errors.Is(ps.Err(), engine.ErrInvalid) {
				t.Error("problems error does not wrap ErrInvalid")
			}
		})
	}
}

func TestDecodeFlowStrict(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"unknown field", `{"id":"a","name":"A","trigger":{"type":"test"},"steps":[],"colour":"red"}`, `unknown field "colour"`},
		{"malformed", "{\"id\":\"a\",\n\"name\": }", "malformed JSON at line 2"},
		{"wrong type", `{"id":"a","name":"A","enabled":"yes","trigger":{"type":"test"},"steps":[]}`, "enabled: want true or false, got a string"},
		{"every problem with its path", `{"id":"a","trigger":{"type":"test","when":1},"steps":[{"id":"x","type":"probe","retry":{"attempts":"3"},"colour":1},{"id":"y","type":"branch","cases":[{"when":"true","steps":[{"id":"z","type":"probe","timeout":true}]}]}]}`,
			`steps[0].colour: unknown field "colour" (and 3 more problems)`},
		{"trailing data", `{"id":"a","name":"A","trigger":{"type":"test"},"steps":[]} {}`, "unexpected data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.DecodeFlow([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeFlowReportsEveryShapeProblem(t *testing.T) {
	_, err := engine.DecodeFlow([]byte(`{"id":"a","trigger":{"type":"test","when":1},"steps":[
		{"id":"x","type":"probe","retry":{"attempts":"3"},"colour":1},
		{"id":"y","type":"branch","cases":[{"when":"true","steps":[{"id":"z","type":"probe","timeout":true}]}]}]}`))
	var pe *engine.ProblemsError
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pe.Problems {
		got = append(got, p.Path)
	}
	want := "steps[0].colour steps[0].retry.attempts steps[1].cases[0].steps[0].timeout trigger.when"
	if strings.Join(got, " ") != want {
		t.Errorf("paths = %v, want %s", got, want)
	}
}
