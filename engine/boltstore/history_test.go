package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// BenchmarkHistory stores HOOKFLOW_HISTORY_RUNS runs (default 1,000,000)
// across 10 flows, then measures what a person waits for: pages of a flow's
// runs and across flows (GET /api/v1/runs, the runs page), failed runs with
// and without a flow, a text search that matches nothing (each request
// continuing from the last one's cursor), the acknowledgement latency of new
// runs alone and while two clients search continuously, and a restart (open +
// pending runs + flows). Targets: any list or search request < 100 ms, ack p99
// within 20% while searching, startup < 2 s. It takes a few minutes and ~1.5 GB
// of disk.
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

	// measure times n list requests of q (each page continues from the last
	// one's cursor, as a client pressing "Load more"), returning the mean and
	// slowest request and the runs examined per request.
	measure := func(q engine.RunQuery, wantRuns bool) (mean, worst time.Duration, scanned int) {
		const n = 20
		var total time.Duration
		for i := 0; i < n; i++ {
			t0 := time.Now()
			runs, next, sc, err := listPage(ctx, st, q)
			d := time.Since(t0)
			if err != nil || (wantRuns && runs == 0) {
				b.Fatalf("list %+v: %d runs, %v", q, runs, err)
			}
			total, worst, scanned = total+d, max(worst, d), scanned+sc
			q.Cursor = next
		}
		return total / n, worst, scanned / n
	}
	type result struct {
		name string
		q    engine.RunQuery
		runs bool
	}
	queries := []result{
		{"flow-page", engine.RunQuery{FlowID: "flow-3", Limit: 50}, true},
		{"all-page", engine.RunQuery{Limit: 50}, true},
		{"flow-failed", engine.RunQuery{FlowID: "flow-0", Status: engine.RunFailed, Limit: 50}, true},
		{"all-failed", engine.RunQuery{Status: engine.RunFailed, Limit: 50}, false},
		{"search", engine.RunQuery{Text: "zzz", Limit: 50}, false},
		{"flow-search", engine.RunQuery{FlowID: "flow-1", Text: "c4711@", Limit: 50}, false},
	}
	b.ResetTimer()
	var startup time.Duration
	type timing struct {
		mean, worst time.Duration
		scanned     int
	}
	timings := make([]timing, len(queries))
	var ackQuiet, ackSearch ackStats
	for b.Loop() {
		for i, q := range queries {
			m, w, sc := measure(q.q, q.runs)
			timings[i] = timing{m, w, sc}
		}
		// Alternate rounds without and with searchers (the machine is shared:
		// its load drifts) and keep the median of each.
		var quiet, search []ackStats
		for range 3 {
			quiet = append(quiet, ackLatency(b, st, 0))
			search = append(search, ackLatency(b, st, 2))
		}
		ackQuiet, ackSearch = medianAck(quiet), medianAck(search)
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
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(float64(total), "runs")
	b.ReportMetric(float64(fi.Size())/(1<<20), "db-MB")
	b.ReportMetric(fill.Seconds(), "fill-s")
	for i, q := range queries {
		b.ReportMetric(ms(timings[i].mean), q.name+"-ms")
		b.ReportMetric(ms(timings[i].worst), q.name+"-max-ms")
		b.ReportMetric(float64(timings[i].scanned), q.name+"-scanned")
	}
	b.ReportMetric(ms(ackQuiet.p50), "ack-p50-ms")
	b.ReportMetric(ms(ackQuiet.p99), "ack-p99-ms")
	b.ReportMetric(ms(ackSearch.p50), "ack-p50-2search-ms")
	b.ReportMetric(ms(ackSearch.p99), "ack-p99-2search-ms")
	b.ReportMetric(float64(ackSearch.searches), "searches")
	b.ReportMetric(ms(startup), "startup-ms")
}

// listPage is one GET /api/v1/runs: the number of runs on the page, the
// cursor to continue and the runs examined.
func listPage(ctx context.Context, st *boltstore.Store, q engine.RunQuery) (int, string, int, error) {
	page, err := st.ListRunSummaries(ctx, q)
	return len(page.Runs), page.Next, page.Scanned, err
}

type ackStats struct {
	p50, p99 time.Duration
	searches int
}

// medianAck returns the round with the median p99.
func medianAck(rounds []ackStats) ackStats {
	slices.SortFunc(rounds, func(a, b ackStats) int { return int(a.p99 - b.p99) })
	return rounds[len(rounds)/2]
}

// ackLatency stores new runs from 16 writers for 2 s (what a webhook's
// acknowledgement waits for) while searchers clients page through a search
// that matches nothing, and returns the latencies.
func ackLatency(b *testing.B, st *boltstore.Store, searchers int) ackStats {
	ctx := context.Background()
	stop := make(chan struct{})
	var searches atomic.Int64
	var wg sync.WaitGroup
	for range searchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := engine.RunQuery{Text: "zzz"}
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, next, _, err := listPage(ctx, st, q)
				if err != nil {
					b.Error(err)
					return
				}
				q.Cursor = next
				searches.Add(1)
			}
		}()
	}
	var mu sync.Mutex
	var lat []time.Duration
	deadline := time.Now().Add(2 * time.Second)
	var writers sync.WaitGroup
	for range 16 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				now := time.Now().UTC()
				r := &engine.Run{FlowID: "ack", Status: engine.RunSucceeded, CreatedAt: now, // final: no pending runs for the restart
					Trigger: engine.TriggerData{Type: "webhook", Body: map[string]any{"id": "evt"}, ReceivedAt: now}}
				t0 := time.Now()
				if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no run stored")
	}
	return ackStats{p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], searches: int(searches.Load())}
}
