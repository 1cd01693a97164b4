package ui_test

import (
	"fmt"
	"testing"
)

// TestRespondContentTypes: a respond step's object or array body is sent as
// application/json, a string as text/plain; charset=utf-8, and a
// Content-Type the step sets wins (SPEC §5).
func TestRespondContentTypes(t *testing.T) {
	h := newHookEnv(t)
	cases := []struct {
		name    string
		with    string
		ctype   string
		rawBody string
	}{
		{"object", `{"body":{"text":"hi {{ trigger.body.n }}"}}`, "application/json", `{"text":"hi 1"}`},
		{"array", `{"body":[1,"{{ trigger.body.n }}"]}`, "application/json", `[1,1]`},
		{"string", `{"body":"hi {{ trigger.body.n }}"}`, "text/plain; charset=utf-8", `hi 1`},
		{"number", `{"body":"{{ trigger.body.n }}"}`, "application/json", `1`},
		{"object, step's type wins", `{"headers":{"Content-Type":"application/vnd.api+json"},"body":{"a":1}}`, "application/vnd.api+json", `{"a":1}`},
		{"string, step's type wins (lower-case name)", `{"headers":{"content-type":"text/html; charset=utf-8"},"body":"<b>1</b>"}`, "text/html; charset=utf-8", `<b>1</b>`},
		{"no body", `{"status":204}`, "", ``},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := fmt.Sprintf("answer-%d", i)
			h.flow(`{"id":"` + id + `","name":"A","trigger":{"type":"webhook","with":{"respond":{"mode":"wait"}}},"steps":[{"id":"r","type":"respond","with":` + tc.with + `}]}`)
			a := h.post("/hooks/"+id, "application/json", []byte(`{"n":1}`), nil)
			if got := a.header.Get("Content-Type"); got != tc.ctype || a.raw != tc.rawBody {
				t.Fatalf("answer %d %q %q, want %q %q", a.code, got, a.raw, tc.ctype, tc.rawBody)
			}
		})
	}
	// The wait-mode default answer (the flow ends without a respond step) is JSON.
	h.flow(`{"id":"end","name":"End","trigger":{"type":"webhook","with":{"respond":{"mode":"wait"}}},"steps":[{"id":"s","type":"set","with":{"vars":{"x":"1"}}}]}`)
	if a := h.post("/hooks/end", "application/json", []byte(`{}`), nil); a.header.Get("Content-Type") != "application/json" || a.body["run_id"] == nil {
		t.Fatalf("default answer: %q %s", a.header.Get("Content-Type"), a.raw)
	}
}
