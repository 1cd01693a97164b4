package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestAPIAppsImport(t *testing.T) {
	h := newHookEnv(t)
	var got string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path + " " + r.Header.Get("X-Key")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ticket":{"id":42}}`)
	}))
	defer api.Close()
	app := `{"id":"helpdesk","name":"Helpdesk","icon":"🎫","summary":"Our helpdesk.","base_url":"` + api.URL + `/api",
	  "auth":{"types":["api_key"],"apply":{"api_key":{"headers":{"X-Key":"{{ auth.api_key }}"}}}},
	  "operations":[{"id":"create_ticket","title":"Create ticket","summary":"Open a ticket.",
	    "fields":[{"name":"subject","label":"Subject","type":"text","required":true,"help":"The ticket's subject."}],
	    "example":{"connection":"desk","subject":"Hi"},
	    "request":{"method":"POST","path":"/tickets","body":{"subject":"{{ input.subject }}"}},
	    "output":"body.ticket"}]}`

	tests := []struct {
		name, body string
		code       int
		want       string
	}{
		{name: "malformed JSON", body: `{"id":`, code: 422, want: "invalid app file"},
		{name: "problems with paths", body: `{"id":"Bad Id","name":"","base_url":"ftp://x","auth":{},"operations":[{"id":"x","title":"X","summary":"s","fields":[{"name":"a","label":"A","type":"colour","help":"h"}],"example":{},"request":{"method":"FETCH","path":"/x/{nope}"}}]}`,
			code: 422, want: `"path":"operations[0].fields[0].type"`},
		{name: "unknown field", body: `{"id":"x","nme":"X"}`, code: 422, want: `"path":"nme"`},
		{name: "a built-in id", body: strings.Replace(app, `"id":"helpdesk"`, `"id":"airtable"`, 1), code: 409, want: "built-in"},
		{name: "valid", body: app, code: 201, want: `"helpdesk.create_ticket"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := h.api("POST", "/api/v1/apps", h.token, tc.body)
			if a.code != tc.code || !strings.Contains(a.raw, tc.want) {
				t.Fatalf("%d %s", a.code, a.raw)
			}
		})
	}
	for _, p := range []string{"id", "name", "base_url", "operations[0].request.method", "operations[0].request.path"} {
		a := h.api("POST", "/api/v1/apps", h.token, tests[1].body)
		if !strings.Contains(a.raw, `"path":"`+p+`"`) {
			t.Errorf("no problem at %s: %s", p, a.raw)
		}
	}
	if a := h.api("GET", "/api/v1/kinds", h.token, ""); !strings.Contains(a.raw, `"kind":"helpdesk.create_ticket"`) || !strings.Contains(a.raw, `"kind":"airtable.create_record"`) {
		t.Errorf("kinds lack app operations")
	}
	if a := h.api("POST", "/api/v1/connections", h.token, `{"name":"desk","type":"api_key","app":"helpdesk","api_key":"desk-key-123"}`); a.code != 201 {
		t.Fatalf("connection: %d %s", a.code, a.raw)
	}
	h.flow(`{"id":"tickets","name":"T","trigger":{"type":"webhook"},"steps":[
		{"id":"open","type":"app","with":{"app":"helpdesk","operation":"create_ticket","connection":"desk","subject":"{{ trigger.body.s }}"}},
		{"id":"short","type":"helpdesk.create_ticket","with":{"connection":"desk","subject":"again"}}]}`)
	a := h.post("/hooks/tickets", "application/json", []byte(`{"s":"Printer on fire"}`), nil)
	run := h.run(fmt.Sprint(a.body["run_id"]))
	if run.Status != engine.RunSucceeded || got != "POST /api/tickets desk-key-123" {
		t.Fatalf("run %s %s; the API got %q", run.Status, run.Error, got)
	}
	if id := fmt.Sprint(run.Steps[0].Output.(map[string]any)["id"]); id != "42" {
		t.Errorf("output %v", run.Steps[0].Output)
	}
	if a := h.api("GET", "/api/v1/apps", h.token, ""); !strings.Contains(a.raw, `"id":"helpdesk"`) || !strings.Contains(a.raw, `"builtin":false`) {
		t.Errorf("apps: %.300s", a.raw)
	}
	// A flow naming an unknown app operation is refused with a path.
	bad := `{"id":"bad","name":"B","trigger":{"type":"webhook"},"steps":[{"id":"x","type":"app","with":{"app":"helpdesk","operation":"close_ticket"}}]}`
	if a := h.api("POST", "/api/v1/flows", h.token, bad); a.code != 422 || !strings.Contains(a.raw, "steps[0].with.operation") {
		t.Errorf("unknown operation: %d %s", a.code, a.raw)
	}
	if a := h.api("DELETE", "/api/v1/apps/helpdesk", h.token, ""); a.code != 204 {
		t.Errorf("delete: %d", a.code)
	}
	if a := h.api("DELETE", "/api/v1/apps/airtable", h.token, ""); a.code != 409 {
		t.Errorf("delete a built-in app: %d %s", a.code, a.raw)
	}
}
