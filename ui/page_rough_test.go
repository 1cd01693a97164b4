package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// TestDeleteFlowWithPendingRuns: the delete confirmation says how many runs
// are queued or waiting and offers to cancel them; with the box ticked they
// end canceled, without it the flash says they will fail.
func TestDeleteFlowWithPendingRuns(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	cases := []struct {
		name      string
		cancel    bool
		flash     string
		endStatus engine.RunStatus
	}{
		{"cancel them", true, "Canceled 2 runs that were queued or waiting", engine.RunCanceled},
		{"leave them", false, "2 runs queued or waiting will fail", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.flow(`{"id":"slow","name":"Slow","trigger":{"type":"manual"},"steps":[{"id":"d","type":"delay","with":{"for":"1h"}}]}`)
			var ids []string
			for range 2 {
				id, err := e.eng.RunManual(context.Background(), "slow", map[string]any{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			p := e.get("/flows")
			if n := mustTestID(t, p, "delete-pending"); !strings.Contains(text(n), "2 runs queued, running or waiting") {
				t.Fatalf("delete confirmation: %q", text(n))
			}
			mustTestID(t, p, "delete-cancel-runs")
			form := url.Values{"_csrf": {csrf}}
			if tc.cancel {
				form.Set("cancel_runs", "on")
			}
			p = e.post("/flows/slow/delete", form)
			if p.code != 303 {
				t.Fatalf("delete: %d %s", p.code, p.body)
			}
			if p = e.get("/flows"); !strings.Contains(p.body, tc.flash) {
				t.Fatalf("flash %q missing:\n%s", tc.flash, p.body)
			}
			if tc.endStatus != "" {
				for _, id := range ids {
					if r := e.waitRun(id); r.Status != tc.endStatus {
						t.Fatalf("run %s ended %s, want %s", id, r.Status, tc.endStatus)
					}
				}
			}
			// Clean up the waiting runs for the next case.
			for _, id := range ids {
				_ = e.eng.Cancel(context.Background(), id)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				if rs, _ := e.store.PendingRuns(context.Background()); len(rs) == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
