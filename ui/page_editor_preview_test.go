package ui

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// applyTransform writes a pill transform as the pill menu does.
func applyTransform(id, expr, answer string) string {
	for _, t := range pillTransforms {
		if t.ID == id {
			return strings.ReplaceAll(strings.ReplaceAll(t.Tpl, "%s", expr), "%v", strconv.Quote(answer))
		}
	}
	panic("no transform " + id)
}

// TestPillTransforms: each transform of the pill menu compiles, gives what
// its label says, and reads back as the field with the transform's words.
func TestPillTransforms(t *testing.T) {
	env := map[string]any{"trigger": map[string]any{"body": map[string]any{
		"email": "  Ann@Example.COM ", "amount": 12.5, "big": 1234.0, "neg": -3.456, "at": "2024-05-31T14:05:00Z",
		"items": []any{"first", "second"}, "blank": ""}}}
	for _, tc := range []struct {
		id, field, answer string
		want              string
		label             string
	}{
		{"lower", "trigger.body.email", "", "  ann@example.com ", "body › email · lower case"},
		{"upper", "trigger.body.email", "", "  ANN@EXAMPLE.COM ", "body › email · upper case"},
		{"trim", "trigger.body.email", "", "Ann@Example.COM", "body › email · trimmed"},
		{"date", "trigger.body.at", "", "31 May 2024 14:05", "body › at · as a date"},
		{"money", "trigger.body.amount", "", "12.50", "body › amount · as money"},
		{"money", "trigger.body.big", "", "1234.00", "body › big · as money"},
		{"money", "trigger.body.neg", "", "-3.46", "body › neg · as money"},
		{"default", "trigger.body.blank", "n/a", "n/a", "body › blank · or a default"},
		{"default", "trigger.body.email", "n/a", "  Ann@Example.COM ", "body › email · or a default"},
		{"default", "trigger.body.missing", `say "hi"`, `say "hi"`, "body › missing · or a default"},
		{"first", "trigger.body.items", "", "first", "body › items · first item"},
	} {
		t.Run(tc.id+" "+tc.field, func(t *testing.T) {
			src := applyTransform(tc.id, tc.field, tc.answer)
			tpl, err := engine.CompileString("{{ "+src+" }}", engine.StepScope)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			v, err := tpl.Eval(env)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			if got := engine.Stringify(v); got != tc.want {
				t.Errorf("%s = %q, want %q", src, got, tc.want)
			}
			if got := pillLabel(src); got != tc.label {
				t.Errorf("pillLabel(%s) = %q, want %q", src, got, tc.label)
			}
		})
	}
	// Transforms stack, and the label says so in order.
	if got := pillLabel(applyTransform("upper", applyTransform("trim", "trigger.body.email", ""), "")); got != "body › email · trimmed · upper case" {
		t.Errorf("stacked label = %q", got)
	}
	for expr, want := range map[string]string{
		"secrets.API_KEY":                   "🔒 secret API_KEY",
		`trigger.headers["x-github-event"]`: "headers › x-github-event",
		"steps.crm.output.id":               "crm › id",
		"trigger.body.a + 1":                "trigger.body.a + 1",
	} {
		if got := pillLabel(expr); got != want {
			t.Errorf("pillLabel(%s) = %q, want %q", expr, got, want)
		}
	}
}

func TestPreview(t *testing.T) {
	pe := previewEnv{env: map[string]any{
		"trigger": map[string]any{"body": map[string]any{"email": "ann@example.com", "n": 3.0}},
		"steps":   map[string]any{}, "vars": map[string]any{}, "secrets": map[string]any{"KEY": "••••••"},
		"run": map[string]any{"id": "r"}, "flow": map[string]any{"id": "f"}, "item": nil, "index": nil}}
	for _, tc := range []struct {
		name, text, value, err string
		empty, none            bool
	}{
		{name: "field", text: "{{ trigger.body.email }}", value: "ann@example.com"},
		{name: "mixed", text: "n = {{ trigger.body.n * 2 }}", value: "n = 6"},
		{name: "secret masked", text: "Bearer {{ secrets.KEY }}", value: "Bearer ••••••"},
		{name: "missing field says so", text: "Hi {{ trigger.body.emial }}", value: "Hi ", err: "The test event has no body › emial."},
		{name: "no placeholders", text: "plain", empty: true},
		{name: "unclosed", text: "Hi {{ trigger.body.email", err: "A {{ is not closed with }}."},
		{name: "invalid", text: "{{ trigger.body.email + }}", err: "Not valid:"},
		{name: "fails at run time", text: `{{ json_decode("{") }}`, err: "Does not resolve with the test event:"},
		{name: "no test event", text: "{{ trigger.body.email }}", none: true, err: "No test event yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pe
			p.none = tc.none
			got := p.preview(context.Background(), tc.text)
			if got.Value != tc.value || got.Empty != tc.empty || !strings.HasPrefix(got.Error, tc.err) || (tc.err == "" && got.Error != "") {
				t.Errorf("preview(%q) = %+v", tc.text, *got)
			}
		})
	}
}
