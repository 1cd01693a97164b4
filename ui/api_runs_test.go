package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// TestAPIRunsListsSummaries: the runs list carries no request body, headers
// or step input and output (a list of large runs stays small); one run has
// them all; a text search answers with how many runs it examined.
func TestAPIRunsListsSummaries(t *testing.T) {
	h := newHookEnv(t)
	const canary = "BODY_CANARY_5e4d"
	h.flow(`{"id":"sum","name":"Sum","trigger":{"type":"webhook"},"steps":[
		{"id":"echo","type":"log","with":{"message":"got {{ trigger.body.note }}"}}]}`)
	var ids []string
	for i := range 3 {
		body := fmt.Sprintf(`{"i":%d,"note":"%s","pad":"%s"}`, i, canary, strings.Repeat("p", 20000))
		a := h.post("/hooks/sum", "application/json", []byte(body), map[string]string{"X-Custom": "hdr-canary"})
		ids = append(ids, fmt.Sprint(a.body["run_id"]))
	}
	for _, id := range ids {
		if r := h.run(id); r.Status != engine.RunSucceeded {
			t.Fatalf("run %s: %s %s", id, r.Status, r.Error)
		}
	}
	tests := []struct {
		name, query string
		want        int
	}{
		{"flow", "flow=sum", 3},
		{"all", "", 3},
		{"status", "status=succeeded&limit=2", 2},
		{"text search", "q=" + strings.ToLower(canary), 3},
		{"text search no match", "q=nobody", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := h.api("GET", "/api/v1/runs?"+tc.query, h.token, "")
			if a.code != 200 {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			runs, _ := a.body["runs"].([]any)
			if len(runs) != tc.want {
				t.Fatalf("%d runs, want %d: %.300s", len(runs), tc.want, a.raw)
			}
			if strings.Contains(a.raw, canary) || strings.Contains(a.raw, "hdr-canary") || len(a.raw) > 3000 {
				t.Fatalf("the list carries run data (%d bytes): %.400s", len(a.raw), a.raw)
			}
			if scanned, _ := a.body["scanned"].(float64); scanned < float64(tc.want) {
				t.Fatalf("scanned = %v", a.body["scanned"])
			}
			for _, r := range runs {
				m := r.(map[string]any)
				trig, _ := m["trigger"].(map[string]any)
				if m["flow_id"] != "sum" || m["status"] != "succeeded" || m["steps"] != 1.0 || trig["type"] != "webhook" || m["created_at"] == nil {
					t.Fatalf("summary %v", m)
				}
				for _, field := range []string{"vars", "output", "dedupe_key"} {
					if _, ok := m[field]; ok {
						t.Fatalf("summary has %q: %v", field, m)
					}
				}
			}
		})
	}
	a := h.api("GET", "/api/v1/runs/"+ids[0], h.token, "")
	if a.code != 200 || !strings.Contains(a.raw, canary) || !strings.Contains(a.raw, "hdr-canary") || !strings.Contains(a.raw, `"input"`) {
		t.Fatalf("one run lacks its data: %.400s", a.raw)
	}
}

// TestRunTablePartial: a page that the search budget cut short says how
// many runs were searched and offers to load more, and does not poll.
func TestRunTablePartial(t *testing.T) {
	tests := []struct {
		name  string
		rows  views.RunRows
		want  []string
		avoid []string
	}{
		{"partial, nothing yet", views.RunRows{Partial: true, Scanned: 23456, NextURL: "/runs?cursor=X&q=a"},
			[]string{"No match yet among the 23456 runs searched", "Searched 23456 runs", "Load more", `href="/runs?cursor=X&amp;q=a"`},
			[]string{"hx-get", "Older runs"}},
		{"partial with runs", views.RunRows{Partial: true, Scanned: 900, NextURL: "/runs?cursor=Y",
			Runs: []views.RunRow{{ID: "r1", FlowName: "F", Status: "failed"}}},
			[]string{"run-row-r1", "Searched 900 runs", "Load more"}, []string{"No match"}},
		{"full page", views.RunRows{NextURL: "/runs?cursor=Z", PollURL: "/runs/rows?flow=f",
			Runs: []views.RunRow{{ID: "r2", FlowName: "F", Status: "succeeded"}}},
			[]string{"Older runs", `hx-get="/runs/rows?flow=f"`}, []string{"Searched", "Load more"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := views.RunTable(tc.rows).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("missing %q in %s", w, buf.String())
				}
			}
			for _, w := range tc.avoid {
				if strings.Contains(buf.String(), w) {
					t.Errorf("unexpected %q in %s", w, buf.String())
				}
			}
		})
	}
}
