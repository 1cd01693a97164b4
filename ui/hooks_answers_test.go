package ui_test

import (
	"bytes"
	"encoding/base64"
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

// TestTriggerRawAndPath: trigger.raw keeps the exact bytes (base64, flagged
// raw_base64, when they are not UTF-8) and trigger.path the part after
// /hooks/{id}.
func TestTriggerRawAndPath(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"raw","name":"Raw","trigger":{"type":"webhook"},"steps":[]}`)
	cases := []struct {
		name, path, ctype string
		body              []byte
		wantPath          string
		wantB64           bool
	}{
		{"utf-8 json", "/hooks/raw", "application/json", []byte(`{"a": "é"}`), "", false},
		{"latin-1 text", "/hooks/raw/orders/7", "text/plain", []byte("caf\xe9 \x00\xff"), "/orders/7", true},
		{"trailing slash", "/hooks/raw/", "text/plain", []byte("x"), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.post(tc.path+"?q=1", tc.ctype, tc.body, nil)
			if a.code != 202 {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			r := h.run(a.body["run_id"].(string))
			raw := []byte(r.Trigger.Raw)
			if r.Trigger.RawBase64 {
				var err error
				if raw, err = base64.StdEncoding.DecodeString(r.Trigger.Raw); err != nil {
					t.Fatal(err)
				}
			}
			if r.Trigger.RawBase64 != tc.wantB64 || !bytes.Equal(raw, tc.body) || r.Trigger.Path != tc.wantPath {
				t.Fatalf("raw %q (base64 %v), path %q", r.Trigger.Raw, r.Trigger.RawBase64, r.Trigger.Path)
			}
		})
	}
}
