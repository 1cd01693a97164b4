package boltstore

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// withScanLimits sets the chunk size and the per-request budget in runs
// examined for one test; the time budget is lifted, so that pages do not
// depend on the machine's speed.
func withScanLimits(t *testing.T, keys, maxScan int) {
	t.Helper()
	oldKeys, oldMax, oldBudget := chunkKeys, listMaxScan, listBudget
	chunkKeys, listMaxScan, listBudget = keys, maxScan, time.Hour
	t.Cleanup(func() { chunkKeys, listMaxScan, listBudget = oldKeys, oldMax, oldBudget })
}

// allPages follows next cursors to the end and returns every run listed
// and the number of requests.
func allPages(t *testing.T, s *Store, q engine.RunQuery) ([]*engine.RunSummary, int) {
	t.Helper()
	var out []*engine.RunSummary
	for n := 1; ; n++ {
		page, err := s.ListRunSummaries(ctx, q)
		mustNil(t, err)
		if len(page.Runs) > max(q.Limit, 1) && q.Limit > 0 {
			t.Fatalf("page of %d runs, limit %d", len(page.Runs), q.Limit)
		}
		if page.Partial && page.Next == "" {
			t.Fatal("a partial page without a cursor")
		}
		out = append(out, page.Runs...)
		if page.Next == "" {
			return out, n
		}
		if n > 10000 {
			t.Fatal("paging does not end")
		}
		q.Cursor = page.Next
	}
}

// fill stores n finished runs of flow with small JSON bodies, from 32
// goroutines (so that group commit batches them).
func fill(t *testing.T, s *Store, flows []string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				r := &engine.Run{FlowID: flows[i%len(flows)], Status: engine.RunSucceeded,
					Trigger: engine.TriggerData{Type: "webhook", Body: map[string]any{"i": i, "pad": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}}
				if _, _, err := s.CreateRun(ctx, r, "", 0); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(*err)
	}
}

// TestListRunSummariesChunked checks every filter, merged across flows, in
// chunks down to one entry per read transaction and with a budget of a few
// runs per request: following the cursors yields exactly the matching runs,
// newest first, each as its run's summary.
func TestListRunSummariesChunked(t *testing.T) {
	s, _ := openTest(t, Options{})
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	statuses := []engine.RunStatus{engine.RunSucceeded, engine.RunFailed, engine.RunQueued, engine.RunWaiting, engine.RunFiltered}
	flows := []string{"a", "b", "c", "a-b"}
	var all []*engine.Run // oldest first
	for i := range 40 {
		var body any = map[string]any{"customer": fmt.Sprintf("Cust-%d", i), "note": "<Tag> é"}
		r := runAt(flows[(i*7)%len(flows)], base.Add(time.Duration(i)*time.Minute*17), statuses[i%len(statuses)], body)
		if i%5 == 1 { // a text body, stored once as raw text
			r.Trigger.Body, r.Trigger.Raw = fmt.Sprintf("plain cust-%d", i), fmt.Sprintf("plain cust-%d", i)
		}
		if i%6 == 0 {
			r.Error = fmt.Sprintf("step %d failed", i)
			r.Steps = []*engine.StepRun{{ID: "a", Status: engine.StepSucceeded, Input: "big", Output: map[string]any{"x": 1.0}},
				{ID: "b", Status: engine.StepFailed}}
		}
		_, _, err := s.CreateRun(ctx, r, "", 0)
		mustNil(t, err)
		if i%4 == 0 { // a checkpoint rewrites the summary
			r.StartedAt = &r.CreatedAt
			mustNil(t, s.SaveRun(ctx, r))
		}
		all = append(all, r)
	}
	newest := func(keep func(*engine.Run) bool) []*engine.Run {
		var out []*engine.Run
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i])
			}
		}
		return out
	}
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute * 17) }
	tests := []struct {
		name string
		q    engine.RunQuery
		keep func(*engine.Run) bool
	}{
		{"all", engine.RunQuery{}, func(*engine.Run) bool { return true }},
		{"flow", engine.RunQuery{FlowID: "a"}, func(r *engine.Run) bool { return r.FlowID == "a" }},
		{"status final", engine.RunQuery{Status: engine.RunFailed}, func(r *engine.Run) bool { return r.Status == engine.RunFailed }},
		{"status pending", engine.RunQuery{Status: engine.RunQueued}, func(r *engine.Run) bool { return r.Status == engine.RunQueued }},
		{"flow and pending status", engine.RunQuery{FlowID: "b", Status: engine.RunWaiting}, func(r *engine.Run) bool {
			return r.FlowID == "b" && r.Status == engine.RunWaiting
		}},
		{"since and until", engine.RunQuery{Since: at(10), Until: at(30)}, func(r *engine.Run) bool {
			return !r.CreatedAt.Before(at(10)) && !r.CreatedAt.After(at(30))
		}},
		{"text in JSON", engine.RunQuery{Text: "CUST-12"}, func(r *engine.Run) bool { return r.ID == all[12].ID }},
		{"text in a text body", engine.RunQuery{Text: "PLAIN"}, func(r *engine.Run) bool { _, ok := r.Trigger.Body.(string); return ok }},
		{"text non-ASCII", engine.RunQuery{Text: "É", FlowID: "c"}, func(r *engine.Run) bool {
			_, ok := r.Trigger.Body.(map[string]any)
			return ok && r.FlowID == "c"
		}},
		{"text no match", engine.RunQuery{Text: "nobody"}, func(*engine.Run) bool { return false }},
		{"unknown flow", engine.RunQuery{FlowID: "zzz"}, func(*engine.Run) bool { return false }},
	}
	limits := []struct{ keys, maxScan, limit int }{{1000, 200000, 0}, {1, 200000, 3}, {3, 5, 4}, {2, 1, 1}}
	for _, lim := range limits {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/chunk=%d,budget=%d,limit=%d", tc.name, lim.keys, lim.maxScan, lim.limit), func(t *testing.T) {
				withScanLimits(t, lim.keys, lim.maxScan)
				q := tc.q
				q.Limit = lim.limit
				got, requests := allPages(t, s, q)
				want := newest(tc.keep)
				if len(got) != len(want) {
					t.Fatalf("%d runs, want %d", len(got), len(want))
				}
				for i, r := range want {
					if !reflect.DeepEqual(got[i], r.Summary()) {
						t.Fatalf("run %d:\n got %+v\nwant %+v", i, got[i], r.Summary())
					}
				}
				if lim.maxScan < 10 && requests < 2 && len(want) > 0 {
					t.Fatalf("a budget of %d runs answered in %d request", lim.maxScan, requests)
				}
			})
		}
	}
}

// TestListRunSummariesBudget: a search that finds nothing within its budget
// answers an empty, partial page with a cursor and how many runs it
// examined; ListRuns pages the same way.
func TestListRunSummariesBudget(t *testing.T) {
	s, _ := openTest(t, Options{})
	base := time.Now().Add(-time.Hour)
	for i := range 30 {
		_, _, err := s.CreateRun(ctx, runAt("f", base.Add(time.Duration(i)*time.Second), engine.RunSucceeded, map[string]any{"n": i}), "", 0)
		mustNil(t, err)
	}
	withScanLimits(t, 4, 10)
	page, err := s.ListRunSummaries(ctx, engine.RunQuery{Text: "nothing"})
	mustNil(t, err)
	if len(page.Runs) != 0 || !page.Partial || page.Next == "" || page.Scanned != 10 {
		t.Fatalf("page = %+v", page)
	}
	page, err = s.ListRunSummaries(ctx, engine.RunQuery{Text: "nothing", Cursor: page.Next})
	mustNil(t, err)
	if !page.Partial || page.Scanned != 10 {
		t.Fatalf("second page = %+v", page)
	}
	page, err = s.ListRunSummaries(ctx, engine.RunQuery{Text: "nothing", Cursor: page.Next})
	mustNil(t, err)
	if page.Partial || page.Next != "" || page.Scanned != 10 {
		t.Fatalf("last page = %+v", page)
	}
	// A full page is never partial: its cursor is its last run.
	page, err = s.ListRunSummaries(ctx, engine.RunQuery{Limit: 3})
	mustNil(t, err)
	if len(page.Runs) != 3 || page.Partial || page.Next != page.Runs[2].ID {
		t.Fatalf("full page = %+v", page)
	}
	var got int
	q := engine.RunQuery{Text: `"n":2`}
	for {
		runs, next, err := s.ListRuns(ctx, q)
		mustNil(t, err)
		got += len(runs)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if got != 11 { // 2 and 20–29
		t.Fatalf("ListRuns found %d runs, want 11", got)
	}
	// With no time at all, a history under listMinScan runs is still answered whole.
	withScanLimits(t, 4, 200000)
	listBudget = 0 // restored by withScanLimits
	page, err = s.ListRunSummaries(ctx, engine.RunQuery{Text: "nothing"})
	mustNil(t, err)
	if page.Partial || page.Next != "" || page.Scanned != 30 {
		t.Fatalf("a small history with no time budget: %+v", page)
	}
}

// TestListRunsShortTransactions: a search over many runs takes many short
// read transactions, not one long one.
func TestListRunsShortTransactions(t *testing.T) {
	s, _ := openTest(t, Options{})
	fill(t, s, []string{"f0", "f1", "f2"}, 1000)
	withScanLimits(t, 50, 200000)
	before := s.db.Stats().TxN
	page, err := s.ListRunSummaries(ctx, engine.RunQuery{Text: "zzz"})
	mustNil(t, err)
	if page.Scanned != 1000 || page.Next != "" {
		t.Fatalf("page = %+v", page)
	}
	if txs := s.db.Stats().TxN - before; txs < 1000/50 {
		t.Fatalf("%d read transactions for 1000 runs in chunks of 50", txs)
	}
}

// TestSearchWhileWriting: while two clients search continuously, new runs
// keep being stored and found.
func TestSearchWhileWriting(t *testing.T) {
	s, _ := openTest(t, Options{})
	fill(t, s, []string{"f"}, 5000)
	withScanLimits(t, 100, 200000)
	stop := make(chan struct{})
	var searches atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ListRunSummaries(ctx, engine.RunQuery{Text: "zzz"}); err != nil {
					errs <- err
					return
				}
				searches.Add(1)
			}
		}()
	}
	var created []string
	for i := 0; i < 200 || searches.Load() < 4; i++ {
		id, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "g", Trigger: engine.TriggerData{Body: map[string]any{"w": i}}}, "", 0)
		mustNil(t, err)
		created = append(created, id)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := allPages(t, s, engine.RunQuery{FlowID: "g", Limit: 500})
	if len(got) != len(created) {
		t.Fatalf("listed %d of %d runs written during the searches", len(got), len(created))
	}
	slices.Reverse(created)
	for i, sum := range got {
		if sum.ID != created[i] {
			t.Fatalf("run %d: %s, want %s", i, sum.ID, created[i])
		}
	}
}
