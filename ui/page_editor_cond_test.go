package ui_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// rowInputs names the inputs of builder row g/r of the condition at path.
func rowInputs(path string, g, r int, field, typ, op, value string) map[string]string {
	p := "c:" + path + "|" + itoa(g) + "|" + itoa(r) + "|"
	return map[string]string{p + "field": field, p + "type": typ, p + "op": op, p + "value": value}
}

func itoa(n int) string { return strconv.Itoa(n) }

func quoteJSON(s string) string { b, _ := json.Marshal(s); return string(b) }

func isRow(n *html.Node) bool { return strings.HasPrefix(attr(n, "data-testid"), "cond-row-") }

// byTestIDIn finds the first element with the test id under n.
func byTestIDIn(n *html.Node, id string) *html.Node { return byTestID(n, id) }

func TestConditionBuilder(t *testing.T) {
	for _, tc := range []struct {
		name string
		// doc's filter condition, before
		when string
		// rows typed into the builder (nil: none), and the action
		rows     []map[string]string
		op       string
		wantWhen string
		// wantMode is the builder's mode after the post
		wantMode    string
		wantProblem string
	}{
		{name: "number greater than, saved", when: "",
			rows: []map[string]string{rowInputs("steps[0].when", 0, 0, "trigger.body.amount", "number", "gt", "100")},
			op:   "save", wantWhen: "trigger.body.amount > 100", wantMode: "builder"},
		{name: "two rows, and", when: "",
			rows: []map[string]string{rowInputs("steps[0].when", 0, 0, "trigger.body.action", "text", "is", "labeled"),
				rowInputs("steps[0].when", 0, 1, "trigger.body.label.name", "text", "is", "bug")},
			op: "save", wantWhen: `trigger.body.action == "labeled" && trigger.body.label.name == "bug"`, wantMode: "builder"},
		{name: "hand-written text kept when the rows do not change",
			when: `trigger.headers['x-github-event'] == 'issues' and trigger.body.action == 'opened'`,
			op:   "save", wantWhen: `trigger.headers['x-github-event'] == 'issues' and trigger.body.action == 'opened'`, wantMode: "builder"},
		{name: "a changed row rewrites the condition",
			when: `trigger.body.action == 'opened'`,
			rows: []map[string]string{rowInputs("steps[0].when", 0, 0, "trigger.body.action", "text", "is", "closed")},
			op:   "save", wantWhen: `trigger.body.action == "closed"`, wantMode: "builder"},
		{name: "not a number: a problem in words, the draft keeps the old condition",
			when: `trigger.body.amount > 5`,
			rows: []map[string]string{rowInputs("steps[0].when", 0, 0, "trigger.body.amount", "number", "gt", "a lot")},
			op:   "save", wantWhen: `trigger.body.amount > 5`, wantMode: "builder",
			wantProblem: `row 1: trigger.body.amount: "a lot" is not a number`},
		{name: "code stays code", when: `trigger.body.amount * 2 > 5`, op: "save",
			wantWhen: `trigger.body.amount * 2 > 5`, wantMode: "code"},
		{name: "back to builder refuses what does not fit, text unchanged", when: `any(trigger.body.tags, # == "x")`,
			op: "cond|builder|steps[0].when", wantWhen: `any(trigger.body.tags, # == "x")`, wantMode: "code"},
		{name: "switch to code keeps the text", when: `trigger.body.amount >= 1000`,
			op: "cond|code|steps[0].when", wantWhen: `trigger.body.amount >= 1000`, wantMode: "code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUIEnv(t)
			csrf := e.setup()
			steps := `[{"id":"keep","type":"filter","when":` + quoteJSON(tc.when) + `}]`
			if tc.when == "" {
				steps = `[]`
			}
			e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":` + steps + `}`)
			p := e.get("/flows/f")
			if tc.when == "" {
				p = e.edit(p, csrf, "add|steps|filter", nil)
			}
			set := map[string]string{}
			for _, r := range tc.rows {
				for k, v := range r {
					set[k] = v
				}
			}
			p = e.edit(p, csrf, tc.op, set)
			cond := mustTestID(t, p, "cond-steps[0].when")
			if got := attr(cond, "data-mode"); got != tc.wantMode {
				t.Errorf("mode = %q, want %q", got, tc.wantMode)
			}
			if tc.wantProblem != "" {
				if got := text(mustTestID(t, p, "problem-steps[0].when")); got != tc.wantProblem {
					t.Errorf("problem = %q, want %q", got, tc.wantProblem)
				}
				// The typed value is still in its row.
				if got := attr(byTestIDIn(cond, "cond-value"), "value"); got != "a lot" {
					t.Errorf("the typed value was lost: %q", got)
				}
			}
			f, err := e.store.GetFlow(context.Background(), "f")
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if strings.HasPrefix(tc.op, "save") && tc.wantProblem == "" {
				got = f.Steps[0].When
			} else {
				got = attr(cond, "data-expr")
			}
			if got != tc.wantWhen {
				t.Errorf("when = %q, want %q", got, tc.wantWhen)
			}
			if tc.wantMode == "code" {
				if v := attr(mustTestID(t, p, "input-steps[0].when"), "value"); v != tc.wantWhen {
					t.Errorf("code box = %q, want %q", v, tc.wantWhen)
				}
			}
		})
	}
}

// TestConditionBuilderRows adds and removes rows and groups, and goes to
// code and back without losing the rows.
func TestConditionBuilderRows(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"f","name":"F","trigger":{"type":"webhook"},"steps":[{"id":"keep","type":"filter","when":"trigger.body.a == 1"}]}`)
	p := e.get("/flows/f")
	p = e.edit(p, csrf, "cond|addrow|steps[0].when|0", nil)
	if n := len(findAll(mustTestID(t, p, "cond-steps[0].when"), isRow)); n != 2 {
		t.Fatalf("rows after add = %d", n)
	}
	p = e.edit(p, csrf, "cond|addgroup|steps[0].when", rowInputs("steps[0].when", 0, 1, "trigger.body.b", "boolean", "true", ""))
	p = e.edit(p, csrf, "cond|code|steps[0].when", rowInputs("steps[0].when", 1, 0, "trigger.body.c", "text", "contains", "x"))
	want := `(trigger.body.a == 1 && trigger.body.b == true) || trigger.body.c contains "x"`
	if got := attr(mustTestID(t, p, "input-steps[0].when"), "value"); got != want {
		t.Fatalf("code = %q, want %q", got, want)
	}
	p = e.edit(p, csrf, "cond|builder|steps[0].when", nil)
	cond := mustTestID(t, p, "cond-steps[0].when")
	if n := len(findAll(cond, isRow)); n != 3 || attr(cond, "data-mode") != "builder" {
		t.Fatalf("back in the builder: %d rows, mode %s", n, attr(cond, "data-mode"))
	}
	p = e.edit(p, csrf, "cond|delrow|steps[0].when|0|0", nil)
	p = e.edit(p, csrf, "save", nil)
	f, err := e.store.GetFlow(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	if want := `trigger.body.b == true || trigger.body.c contains "x"`; f.Steps[0].When != want {
		t.Errorf("saved when = %q, want %q", f.Steps[0].When, want)
	}
	_ = p
}
