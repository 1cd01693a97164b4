package boltstore

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/oklog/ulid/v2"
)

func TestCreateRunDedupeRace(t *testing.T) {
	s, _ := openTest(t, Options{})
	const n = 50
	type res struct {
		id  string
		dup bool
		err error
	}
	out := make([]res, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "pay"}, "evt_1", time.Hour)
			out[i] = res{id, dup, err}
		}()
	}
	wg.Wait()
	dups := 0
	for _, r := range out {
		mustNil(t, r.err)
		if r.id != out[0].id {
			t.Fatalf("ids differ: %q and %q", r.id, out[0].id)
		}
		if r.dup {
			dups++
		}
	}
	if dups != n-1 {
		t.Fatalf("dups = %d, want %d", dups, n-1)
	}
	runs, _, err := s.ListRuns(ctx, engine.RunQuery{FlowID: "pay"})
	mustNil(t, err)
	if len(runs) != 1 || runs[0].ID != out[0].id || runs[0].DedupeKey != "evt_1" {
		t.Fatalf("stored runs = %d", len(runs))
	}
	// The same key on another flow is not a duplicate.
	_, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "other"}, "evt_1", time.Hour)
	mustNil(t, err)
	if dup {
		t.Fatal("key of another flow counted as duplicate")
	}
}

func TestDedupeWindow(t *testing.T) {
	s, _ := openTest(t, Options{})
	first, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k", 20*time.Millisecond)
	mustNil(t, err)
	id, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k", 20*time.Millisecond)
	mustNil(t, err)
	if !dup || id != first {
		t.Fatalf("inside window: id %q dup %v, want %q true", id, dup, first)
	}
	time.Sleep(40 * time.Millisecond)
	if _, ok, err := s.Seen(ctx, "f", "k"); err != nil || ok {
		t.Fatalf("Seen after expiry = %v, %v", ok, err)
	}
	second, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k", time.Hour)
	mustNil(t, err)
	if dup || second == first {
		t.Fatalf("after window: id %q dup %v", second, dup)
	}
	if got, ok, err := s.Seen(ctx, "f", "k"); err != nil || !ok || got != second {
		t.Fatalf("Seen = %q %v %v, want %q", got, ok, err, second)
	}

	long := strings.Repeat("x", 40000) // beyond bbolt's key limit: hashed
	a, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, long, time.Hour)
	mustNil(t, err)
	b, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, long, time.Hour)
	mustNil(t, err)
	if !dup || a != b {
		t.Fatalf("long key not deduplicated")
	}
}

func TestMarkSeen(t *testing.T) {
	s, _ := openTest(t, Options{})
	runID, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "poll"}, "item-1", time.Hour)
	mustNil(t, err)
	mustNil(t, s.MarkSeen(ctx, "poll", []string{"item-1", "item-2", ""}, time.Hour))
	tests := []struct {
		key     string
		wantOK  bool
		wantRun string
	}{
		{"item-1", true, runID}, // the run's entry is kept
		{"item-2", true, ""},
		{"item-3", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, ok, err := s.Seen(ctx, "poll", tc.key)
			mustNil(t, err)
			if ok != tc.wantOK || got != tc.wantRun {
				t.Fatalf("Seen = %q %v, want %q %v", got, ok, tc.wantRun, tc.wantOK)
			}
		})
	}
	_, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "poll"}, "item-2", time.Hour)
	mustNil(t, err)
	if !dup {
		t.Fatal("a seen key did not deduplicate CreateRun")
	}
}

// runAt returns a run of flow created at t with a ULID id of that time.
func runAt(flow string, t time.Time, status engine.RunStatus, body any) *engine.Run {
	return &engine.Run{
		ID:        ulid.MustNew(ulid.Timestamp(t), rand.Reader).String(),
		FlowID:    flow,
		Status:    status,
		CreatedAt: t,
		Trigger:   engine.TriggerData{Type: "webhook", Body: body},
	}
}

func ids(runs []*engine.Run) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func TestListRuns(t *testing.T) {
	s, _ := openTest(t, Options{})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []engine.RunStatus{engine.RunSucceeded, engine.RunFailed, engine.RunQueued, engine.RunWaiting}
	var all []*engine.Run // oldest first
	for i := range 12 {
		flow := "a"
		if i%3 == 2 {
			flow = "b"
		}
		body := map[string]any{"customer": fmt.Sprintf("cust-%d", i), "note": "<Tag>"}
		r := runAt(flow, base.Add(time.Duration(i)*time.Hour), statuses[i%4], body)
		_, _, err := s.CreateRun(ctx, r, "", 0)
		mustNil(t, err)
		all = append(all, r)
	}
	newest := func(keep func(*engine.Run) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	tests := []struct {
		name string
		q    engine.RunQuery
		want []string
	}{
		{"all", engine.RunQuery{}, newest(func(*engine.Run) bool { return true })},
		{"flow", engine.RunQuery{FlowID: "b"}, newest(func(r *engine.Run) bool { return r.FlowID == "b" })},
		{"status final", engine.RunQuery{Status: engine.RunFailed}, newest(func(r *engine.Run) bool { return r.Status == engine.RunFailed })},
		{"status pending", engine.RunQuery{Status: engine.RunWaiting}, newest(func(r *engine.Run) bool { return r.Status == engine.RunWaiting })},
		{"flow and status", engine.RunQuery{FlowID: "a", Status: engine.RunQueued}, newest(func(r *engine.Run) bool {
			return r.FlowID == "a" && r.Status == engine.RunQueued
		})},
		{"since", engine.RunQuery{Since: base.Add(9 * time.Hour)}, newest(func(r *engine.Run) bool { return !r.CreatedAt.Before(base.Add(9 * time.Hour)) })},
		{"until", engine.RunQuery{Until: base.Add(2 * time.Hour)}, newest(func(r *engine.Run) bool { return !r.CreatedAt.After(base.Add(2 * time.Hour)) })},
		{"since and until", engine.RunQuery{Since: base.Add(3 * time.Hour), Until: base.Add(5 * time.Hour)}, []string{all[5].ID, all[4].ID, all[3].ID}},
		{"text", engine.RunQuery{Text: "CUST-7"}, []string{all[7].ID}},
		{"text with html", engine.RunQuery{Text: "<tag>", FlowID: "b"}, newest(func(r *engine.Run) bool { return r.FlowID == "b" })},
		{"text no match", engine.RunQuery{Text: "nobody"}, nil},
		{"unknown flow", engine.RunQuery{FlowID: "zzz"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs, next, err := s.ListRuns(ctx, tc.q)
			mustNil(t, err)
			if got := ids(runs); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v\nwant %v", got, tc.want)
			}
			if next != "" {
				t.Fatalf("next cursor %q on a single page", next)
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		for _, q := range []engine.RunQuery{{Limit: 5}, {Limit: 3, FlowID: "a"}, {Limit: 1, Status: engine.RunQueued}} {
			want, _, err := s.ListRuns(ctx, engine.RunQuery{FlowID: q.FlowID, Status: q.Status})
			mustNil(t, err)
			var got []string
			pages := 0
			for {
				runs, next, err := s.ListRuns(ctx, q)
				mustNil(t, err)
				if len(runs) > q.Limit {
					t.Fatalf("page of %d runs, limit %d", len(runs), q.Limit)
				}
				got = append(got, ids(runs)...)
				pages++
				if next == "" {
					break
				}
				if next != runs[len(runs)-1].ID {
					t.Fatalf("next cursor %q is not the last id of the page", next)
				}
				q.Cursor = next
			}
			if !slices.Equal(got, ids(want)) {
				t.Fatalf("paged ids = %v\nwant %v", got, ids(want))
			}
			if wantPages := (len(want) + q.Limit - 1) / q.Limit; pages != wantPages {
				t.Fatalf("pages = %d, want %d", pages, wantPages)
			}
		}
	})

	t.Run("limit bounds", func(t *testing.T) {
		for i := range 60 {
			_, _, err := s.CreateRun(ctx, runAt("many", base.Add(time.Duration(100+i)*time.Hour), engine.RunSucceeded, nil), "", 0)
			mustNil(t, err)
		}
		runs, next, err := s.ListRuns(ctx, engine.RunQuery{FlowID: "many"})
		mustNil(t, err)
		if len(runs) != defaultRunLimit || next == "" {
			t.Fatalf("default page: %d runs, next %q", len(runs), next)
		}
		runs, _, err = s.ListRuns(ctx, engine.RunQuery{FlowID: "many", Limit: 10000})
		mustNil(t, err)
		if len(runs) != 60 {
			t.Fatalf("big limit: %d runs", len(runs))
		}
	})
}

func TestPruneRuns(t *testing.T) {
	base := time.Now().Add(-100 * time.Hour).Truncate(time.Hour)
	// Ten runs of flow p, one per hour, oldest first; runs 1 and 6 are still
	// pending. Flow q has one old finished run.
	tests := []struct {
		name      string
		olderThan time.Time
		keep      int
		wantLeft  []int // indexes of p's runs that stay
	}{
		{name: "no limits", wantLeft: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{name: "keep 3", keep: 3, wantLeft: []int{1, 6, 7, 8, 9}},
		{name: "older than", olderThan: base.Add(4 * time.Hour), wantLeft: []int{1, 4, 5, 6, 7, 8, 9}},
		{name: "age wins over keep", olderThan: base.Add(8 * time.Hour), keep: 5, wantLeft: []int{1, 6, 8, 9}},
		{name: "keep wins over age", olderThan: base.Add(2 * time.Hour), keep: 2, wantLeft: []int{1, 6, 8, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			var runs []*engine.Run
			for i := range 10 {
				st := engine.RunSucceeded
				if i == 1 || i == 6 {
					st = engine.RunQueued
				}
				r := runAt("p", base.Add(time.Duration(i)*time.Hour), st, nil)
				_, _, err := s.CreateRun(ctx, r, "", 0)
				mustNil(t, err)
				runs = append(runs, r)
			}
			other := runAt("q", base, engine.RunFailed, nil)
			_, _, err := s.CreateRun(ctx, other, "", 0)
			mustNil(t, err)

			n, err := s.PruneRuns(ctx, "p", tc.olderThan, tc.keep)
			mustNil(t, err)
			if n != 10-len(tc.wantLeft) {
				t.Errorf("deleted %d, want %d", n, 10-len(tc.wantLeft))
			}
			var want []string
			for i := len(tc.wantLeft) - 1; i >= 0; i-- {
				want = append(want, runs[tc.wantLeft[i]].ID)
			}
			left, _, err := s.ListRuns(ctx, engine.RunQuery{FlowID: "p"})
			mustNil(t, err)
			if got := ids(left); !slices.Equal(got, want) {
				t.Fatalf("left %v\nwant %v", got, want)
			}
			if c, err := s.CountRuns(ctx, "p", time.Time{}); err != nil || c != len(want) {
				t.Fatalf("index count = %d, %v; want %d", c, err, len(want))
			}
			all, _, err := s.ListRuns(ctx, engine.RunQuery{})
			mustNil(t, err)
			if len(all) != len(want)+1 {
				t.Fatalf("runs bucket holds %d runs, want %d", len(all), len(want)+1)
			}
		})
	}
}

func TestCountRuns(t *testing.T) {
	s, _ := openTest(t, Options{})
	now := time.Now()
	for i := range 8 {
		_, _, err := s.CreateRun(ctx, runAt("c", now.Add(-time.Duration(i)*time.Minute), engine.RunSucceeded, nil), "", 0)
		mustNil(t, err)
	}
	_, _, err := s.CreateRun(ctx, runAt("other", now, engine.RunSucceeded, nil), "", 0)
	mustNil(t, err)
	tests := []struct {
		name  string
		flow  string
		since time.Time
		want  int
	}{
		{"all", "c", time.Time{}, 8},
		{"last 3 minutes", "c", now.Add(-3*time.Minute - time.Second), 4},
		{"future", "c", now.Add(time.Minute), 0},
		{"other flow", "other", time.Time{}, 1},
		{"unknown flow", "zzz", time.Time{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.CountRuns(ctx, tc.flow, tc.since)
			mustNil(t, err)
			if n != tc.want {
				t.Fatalf("CountRuns = %d, want %d", n, tc.want)
			}
		})
	}
}

func TestPurgeExpired(t *testing.T) {
	s, _ := openTest(t, Options{})
	_, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "short", time.Millisecond)
	mustNil(t, err)
	_, _, err = s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "long", time.Hour)
	mustNil(t, err)
	mustNil(t, s.KVSet(ctx, "tmp", 1, time.Millisecond))
	mustNil(t, s.KVSet(ctx, "keep", 1, 0))
	time.Sleep(10 * time.Millisecond)
	n, err := s.PurgeExpired(ctx)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("purged %d, want 2", n)
	}
	if _, ok, _ := s.Seen(ctx, "f", "long"); !ok {
		t.Fatal("unexpired dedupe entry purged")
	}
	if _, err := s.KVGet(ctx, "keep"); err != nil {
		t.Fatalf("unexpired kv purged: %v", err)
	}
}
