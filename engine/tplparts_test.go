package engine_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestSplitTemplate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []engine.TemplatePart
		ok   bool
	}{
		{"plain", []engine.TemplatePart{{Text: "plain"}}, true},
		{"", nil, true},
		{"Hi {{ trigger.body.name }}!", []engine.TemplatePart{{Text: "Hi "}, {Expr: "trigger.body.name", Raw: "{{ trigger.body.name }}"}, {Text: "!"}}, true},
		{"{{x}}{{ y }}", []engine.TemplatePart{{Expr: "x", Raw: "{{x}}"}, {Expr: "y", Raw: "{{ y }}"}}, true},
		{`{{ "}}" + a }} b`, []engine.TemplatePart{{Expr: `"}}" + a`, Raw: `{{ "}}" + a }}`}, {Text: " b"}}, true},
		{"open {{ a", nil, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := engine.SplitTemplate(tc.in)
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitTemplate(%q) = %#v, %v; want %#v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
			if !ok {
				return
			}
			var b strings.Builder
			for _, p := range got {
				b.WriteString(p.Text + p.Raw)
			}
			if b.String() != tc.in {
				t.Errorf("parts join to %q", b.String())
			}
		})
	}
}
