package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"golang.org/x/net/html"
)

func runRows(p page) []*html.Node {
	return findAll(p.doc, func(n *html.Node) bool { return strings.HasPrefix(attr(n, "data-testid"), "run-row-") })
}

func TestRunsPages(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"orders","name":"Orders","trigger":{"type":"webhook"},"steps":[
		{"id":"check","type":"fail","if":"trigger.body.bad == true","with":{"message":"bad order {{ trigger.body.n }}"}},
		{"id":"say","type":"log","with":{"message":"order {{ trigger.body.n }}"}}]}`)

	p := e.get("/runs")
	empty := text(mustTestID(t, p, "runs-empty"))
	if !strings.Contains(empty, "No runs yet — send a test event") || !strings.Contains(empty, e.base+"/hooks/orders") {
		t.Errorf("empty state = %q", empty)
	}

	ctx := context.Background()
	var ids []string
	for n := 0; n < 53; n++ {
		id, _, err := e.eng.Accept(ctx, "orders", &engine.Event{Trigger: engine.TriggerData{Type: "webhook",
			Body: map[string]any{"n": n, "bad": n == 52}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		e.waitRun(id)
	}
	failed := ids[52]

	cases := []struct {
		name  string
		query string
		rows  int
		next  bool
	}{
		{name: "first page", query: "", rows: 50, next: true},
		{name: "by status", query: "?status=failed", rows: 1},
		{name: "by flow and time", query: "?flow=orders&range=1h&status=succeeded", rows: 50, next: true},
		{name: "by text", query: "?q=" + url.QueryEscape(`"n":7`), rows: 1},
		{name: "other flow", query: "?flow=nope", rows: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.get("/runs" + tc.query)
			if got := len(runRows(p)); got != tc.rows {
				t.Errorf("rows = %d, want %d", got, tc.rows)
			}
			if got := byTestID(p.doc, "next-page") != nil; got != tc.next {
				t.Errorf("next page link = %v, want %v", got, tc.next)
			}
		})
	}
	// Paging follows next_cursor to the last three runs.
	p = e.get("/runs")
	next := attr(mustTestID(t, p, "next-page"), "href")
	p = e.get(next)
	if got := len(runRows(p)); got != 3 || byTestID(p.doc, "next-page") != nil {
		t.Errorf("second page: %d rows, next %v", got, byTestID(p.doc, "next-page") != nil)
	}
	if byTestID(p.doc, "run-row-"+ids[0]) == nil {
		t.Errorf("the oldest run is not on the last page")
	}
	// The first page's rows refresh themselves.
	poll := attr(mustTestID(t, e.get("/runs?status=failed"), "run-rows"), "hx-get")
	if !strings.HasPrefix(poll, "/runs/rows?") {
		t.Fatalf("rows do not poll: %q", poll)
	}
	if p := e.htmx(poll); len(runRows(p)) != 1 || p.doc == nil {
		t.Errorf("rows fragment: %s", p.body)
	}

	// A failed run: its error, its steps, and the retry.
	p = e.get("/runs/" + failed)
	if got := text(mustTestID(t, p, "run-error")); !strings.Contains(got, "bad order 52") {
		t.Errorf("run error = %q", got)
	}
	if got := text(mustTestID(t, p, "run-step-check")); !strings.Contains(got, "failed") {
		t.Errorf("check step = %q", got)
	}
	mustTestID(t, p, "retry-failed")
	if byTestID(p.doc, "cancel") != nil {
		t.Errorf("a finished run offers cancel")
	}
	p = e.post("/runs/"+failed+"/replay", url.Values{"_csrf": {csrf}, "from": {"failed_step"}})
	if p.code != http.StatusSeeOther || !strings.HasPrefix(p.location, "/runs/") || p.location == "/runs/"+failed {
		t.Fatalf("retry: %d %q", p.code, p.location)
	}
	r := e.waitRun(strings.TrimPrefix(p.location, "/runs/"))
	if r.ReplayOf != failed {
		t.Errorf("replay_of = %q", r.ReplayOf)
	}
	if p := e.get(p.location); !strings.Contains(text(mustTestID(t, p, "flash")), "Retrying from the failed step") {
		t.Errorf("no flash after retry")
	}
	p = e.post("/runs/"+failed+"/cancel", url.Values{"_csrf": {csrf}})
	if p := e.get(p.location); !strings.Contains(text(mustTestID(t, p, "flash")), "already ended") {
		t.Errorf("cancel of a finished run: %s", text(byTestID(p.doc, "flash")))
	}
	// The flow list counts the runs of the last 24 hours.
	if got := text(mustTestID(t, e.get("/flows"), "runs-24h")); got != fmt.Sprint(54) {
		t.Errorf("runs in 24 h = %s", got)
	}
}

func TestRunCancelWhileWaiting(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"slow","name":"Slow","trigger":{"type":"webhook"},"steps":[{"id":"wait","type":"delay","with":{"for":"1h"}}]}`)
	id, _, err := e.eng.Accept(context.Background(), "slow", &engine.Event{Trigger: engine.TriggerData{Type: "webhook"}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := e.store.GetRun(context.Background(), id)
		if err == nil && r.Status == engine.RunWaiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not start waiting: %+v %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := e.get("/runs/" + id)
	mustTestID(t, p, "cancel")
	if attr(mustTestID(t, p, "timeline"), "hx-get") == "" {
		t.Errorf("an unfinished run's timeline does not poll")
	}
	p = e.post("/runs/"+id+"/cancel", url.Values{"_csrf": {csrf}})
	if p.code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", p.code)
	}
	if r := e.waitRun(id); r.Status != engine.RunCanceled {
		t.Errorf("status = %s", r.Status)
	}
}
