package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// BenchmarkHistory stores HOOKFLOW_HISTORY_RUNS runs (default 1,000,000)
// across 10 flows, then measures what a person waits for: the first page of
// a flow's runs (GET /api/v1/runs?flow=…, the runs page), the first page
// across flows, and a restart (open + pending runs + flows). Targets: pages
// under 50 ms, startup under 2 s. It takes about a minute and ~1.5 GB of disk.
func BenchmarkHistory(b *testing.B) {
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HOOKFLOW_HISTORY_RUNS")); err == nil && v > 0 {
		total = v
	}
	path := filepath.Join(b.TempDir(), "hookflow.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		f := &engine.Flow{ID: fmt.Sprintf("flow-%d", i), Name: "F", Enabled: true, Trigger: engine.Trigger{Type: "webhook"}}
		if err := st.CreateFlow(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	per := total / 64
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				n := w*per + i
				now := time.Now().UTC()
				r := &engine.Run{ID: engine.NewID(), FlowID: fmt.Sprintf("flow-%d", n%10), FlowVersion: 1, Status: engine.RunSucceeded,
					CreatedAt: now, FinishedAt: &now,
					Trigger: engine.TriggerData{Type: "webhook", Method: "POST", Headers: map[string]string{"content-type": "application/json"},
						Body: map[string]any{"id": fmt.Sprintf("evt_%d", n), "amount": float64(n % 5000), "email": fmt.Sprintf("c%d@example.com", n)}, ReceivedAt: now},
					Steps: []*engine.StepRun{{ID: "post", Type: "http", Status: engine.StepSucceeded, Attempts: 1,
						Output: map[string]any{"status": 200.0, "body": map[string]any{"ok": true}}}}}
				if n%1000 == 0 {
					r.Status = engine.RunFailed
				}
				if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	fill := time.Since(start)
	fi, _ := os.Stat(path)

	measure := func(q engine.RunQuery) time.Duration {
		const n = 50
		t0 := time.Now()
		for i := 0; i < n; i++ {
			runs, _, err := st.ListRuns(ctx, q)
			if err != nil || len(runs) == 0 {
				b.Fatalf("list %+v: %d runs, %v", q, len(runs), err)
			}
		}
		return time.Since(t0) / n
	}
	b.ResetTimer()
	var flowPage, allPage, failedPage, startup time.Duration
	for b.Loop() {
		flowPage = measure(engine.RunQuery{FlowID: "flow-3", Limit: 50})
		allPage = measure(engine.RunQuery{Limit: 50})
		failedPage = measure(engine.RunQuery{FlowID: "flow-0", Status: engine.RunFailed, Limit: 50})
		st.Close()
		t0 := time.Now()
		st, err = boltstore.Open(path, boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.PendingRuns(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := st.ListFlows(ctx); err != nil {
			b.Fatal(err)
		}
		startup = time.Since(t0)
	}
	st.Close()
	b.ReportMetric(float64(total), "runs")
	b.ReportMetric(float64(fi.Size())/(1<<20), "db-MB")
	b.ReportMetric(fill.Seconds(), "fill-s")
	b.ReportMetric(float64(flowPage.Microseconds())/1000, "flow-page-ms")
	b.ReportMetric(float64(allPage.Microseconds())/1000, "all-page-ms")
	b.ReportMetric(float64(failedPage.Microseconds())/1000, "failed-page-ms")
	b.ReportMetric(float64(startup.Microseconds())/1000, "startup-ms")
}
