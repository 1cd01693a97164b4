package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func TestFlowsPage(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()

	p := e.get("/flows")
	if got := text(mustTestID(t, p, "flows-empty")); !strings.Contains(got, "No flows yet — start from a template") {
		t.Errorf("empty state: %q", got)
	}
	if byTestID(p.doc, "template-order-check.json") == nil {
		t.Errorf("the template gallery does not offer order-check.json")
	}

	// New blank flow → the editor, with the webhook URL from the base URL.
	p = e.post("/flows/new", url.Values{"_csrf": {csrf}, "name": {"Stripe → Slack!"}})
	if p.code != http.StatusSeeOther || p.location != "/flows/stripe-slack" {
		t.Fatalf("new flow: %d %q %s", p.code, p.location, p.body)
	}
	p = e.get("/flows/stripe-slack")
	if got := attr(mustTestID(t, p, "webhook-url"), "value"); got != e.base+"/hooks/stripe-slack" {
		t.Errorf("webhook URL = %q", got)
	}
	if got := text(mustTestID(t, p, "flash")); !strings.Contains(got, "Flow created") {
		t.Errorf("flash = %q", got)
	}

	// From a template, and a second flow with the same name gets a free id.
	if p := e.post("/flows/new", url.Values{"_csrf": {csrf}, "template": {"order-check.json"}}); p.location != "/flows/order-check" {
		t.Fatalf("from template: %d %q %s", p.code, p.location, p.body)
	}
	if p := e.post("/flows/new", url.Values{"_csrf": {csrf}, "name": {"Stripe → Slack!"}}); p.location != "/flows/stripe-slack-2" {
		t.Errorf("second flow with the same name: %q", p.location)
	}
	if p := e.post("/flows/new", url.Values{"_csrf": {csrf}, "name": {"  "}}); p.code != http.StatusUnprocessableEntity ||
		!strings.Contains(text(mustTestID(t, p, "new-error")), "name") {
		t.Errorf("nameless flow: %d", p.code)
	}

	// The list: switch, trigger, last run, runs in 24 h.
	runID, _, err := e.eng.Accept(context.Background(), "order-check", &engine.Event{Trigger: engine.TriggerData{Type: "webhook",
		Body: map[string]any{"id": "o1", "email": "A@example.com", "items": []any{map[string]any{"price": 20, "qty": 2}}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitRun(runID)
	p = e.get("/flows")
	row := mustTestID(t, p, "flow-row-order-check")
	if attr(byTestID(row, "enabled-switch"), "aria-checked") != "true" {
		t.Errorf("order-check should be on")
	}
	if got := text(byTestID(row, "runs-24h")); got != "1" {
		t.Errorf("runs in 24 h = %q", got)
	}
	if byTestID(row, "status") == nil {
		t.Errorf("no last-run status")
	}
	if p := e.get("/flows?q=stripe"); byTestID(p.doc, "flow-row-order-check") != nil || byTestID(p.doc, "flow-row-stripe-slack") == nil {
		t.Errorf("search does not filter")
	}

	// Switch off with htmx: the answer is the new switch.
	p = e.postHTMX("/flows/order-check/enabled", csrf, url.Values{"on": {"false"}})
	if p.code != 200 || attr(mustTestID(t, p, "enabled-switch"), "aria-checked") != "false" {
		t.Errorf("switch off: %d %s", p.code, p.body)
	}
	if f, _ := e.store.GetFlow(context.Background(), "order-check"); f.Enabled {
		t.Errorf("flow still enabled")
	}

	// Export, duplicate, delete.
	resp, err := e.client.Get(e.base + "/flows/order-check/export")
	if err != nil {
		t.Fatal(err)
	}
	var exported map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&exported)
	resp.Body.Close()
	if exported["id"] != "order-check" || !strings.Contains(resp.Header.Get("Content-Disposition"), "order-check.json") {
		t.Errorf("export: %v %q", exported["id"], resp.Header.Get("Content-Disposition"))
	}
	if p := e.post("/flows/order-check/duplicate", url.Values{"_csrf": {csrf}}); p.location != "/flows/order-check-copy" {
		t.Errorf("duplicate: %d %q", p.code, p.location)
	}
	if f, err := e.store.GetFlow(context.Background(), "order-check-copy"); err != nil || f.Enabled || !strings.HasPrefix(f.Name, "Copy of") {
		t.Errorf("copy: %+v %v", f, err)
	}
	if p := e.post("/flows/order-check-copy/delete", url.Values{"_csrf": {csrf}}); p.location != "/flows" {
		t.Errorf("delete: %d %q", p.code, p.location)
	}
	if p := e.get("/flows"); byTestID(p.doc, "flow-row-order-check-copy") != nil || !strings.Contains(text(byTestID(p.doc, "flash")), "Deleted") {
		t.Errorf("deleted flow still listed")
	}
}

func TestFlowsImport(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	cases := []struct {
		name     string
		json     string
		code     int
		location string
		problem  string
	}{
		{name: "one flow", json: `{"id":"imp","name":"Imported","trigger":{"type":"webhook"},"steps":[{"id":"l","type":"log","with":{"message":"hi"}}]}`,
			code: http.StatusSeeOther, location: "/flows/imp"},
		{name: "a list replaces by id", json: `[{"id":"imp","name":"Imported again","trigger":{"type":"webhook"},"steps":[]},{"id":"imp2","name":"Two","trigger":{"type":"manual"},"steps":[]}]`,
			code: http.StatusSeeOther, location: "/flows"},
		{name: "problems are listed with paths", json: `{"id":"bad","name":"Bad","trigger":{"type":"webhook"},"steps":[{"id":"h","type":"http","with":{}}]}`,
			code: http.StatusUnprocessableEntity, problem: "bad: steps[0].with.url: required"},
		{name: "malformed JSON", json: `{"id":`, code: http.StatusUnprocessableEntity, problem: "flow 1: malformed JSON: the document ends early"},
		{name: "nothing", json: ``, code: http.StatusUnprocessableEntity, problem: "Paste a flow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.post("/flows/import", url.Values{"_csrf": {csrf}, "json": {tc.json}})
			if p.code != tc.code || p.location != tc.location {
				t.Fatalf("import: %d %q, want %d %q: %s", p.code, p.location, tc.code, tc.location, p.body)
			}
			if tc.problem != "" {
				if got := text(mustTestID(t, p, "import-problems")); !strings.Contains(got, tc.problem) {
					t.Errorf("problems = %q, want %q", got, tc.problem)
				}
			}
		})
	}
	if f, err := e.store.GetFlow(context.Background(), "imp"); err != nil || f.Name != "Imported again" {
		t.Errorf("replace by id: %+v %v", f, err)
	}
}
