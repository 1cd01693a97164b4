// Package storetest is the conformance suite of engine.Store: every backend
// (boltstore, pgstore) runs the same table tests, so that the engine sees
// the same behaviour whichever store holds its data.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) engine.Store { … a new, empty store … })
//	}
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/oklog/ulid/v2"
)

// Opener returns a new, empty store; the suite closes it.
type Opener func(t *testing.T) engine.Store

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st engine.Store)
	}{
		{"NotFound", testNotFound},
		{"Flows", testFlows},
		{"Runs", testRuns},
		{"Dedupe", testDedupe},
		{"DedupeConcurrent", testDedupeConcurrent},
		{"ListRunsCursors", testListRuns},
		{"PendingRuns", testPendingRuns},
		{"PruneAndCount", testPrune},
		{"KV", testKV},
		{"KVAtomic", testKVAtomic},
		{"SecretsMetaState", testSecretsMetaState},
		{"Auth", testAuth},
		{"Resumes", testResumes},
		{"PingClose", testPingClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			defer st.Close()
			tc.fn(t, st)
		})
	}
}

var ctx = context.Background()

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// idAt returns a run id (ULID) of time at.
func idAt(at time.Time) string {
	return ulid.MustNew(ulid.Timestamp(at), rand.Reader).String()
}

// newRun returns a run of flow created at at, with a body.
func newRun(flow string, at time.Time, status engine.RunStatus, body any) *engine.Run {
	return &engine.Run{ID: idAt(at), FlowID: flow, Status: status, CreatedAt: at.UTC(),
		Trigger: engine.TriggerData{Type: "webhook", Path: "/hooks/" + flow, Body: body, ReceivedAt: at.UTC()}}
}

func testNotFound(t *testing.T, st engine.Store) {
	cases := []struct {
		name string
		call func() error
	}{
		{"GetFlow", func() error { _, err := st.GetFlow(ctx, "nope"); return err }},
		{"GetFlowVersion", func() error { _, err := st.GetFlowVersion(ctx, "nope", 1); return err }},
		{"ListFlowVersions", func() error { _, err := st.ListFlowVersions(ctx, "nope"); return err }},
		{"UpdateFlow", func() error { return st.UpdateFlow(ctx, &engine.Flow{ID: "nope"}) }},
		{"DeleteFlow", func() error { return st.DeleteFlow(ctx, "nope") }},
		{"GetSample", func() error { _, err := st.GetSample(ctx, "nope"); return err }},
		{"GetRun", func() error { _, err := st.GetRun(ctx, "nope"); return err }},
		{"SaveRun", func() error {
			return st.SaveRun(ctx, &engine.Run{ID: "nope", FlowID: "f", Status: engine.RunSucceeded})
		}},
		{"KVGet", func() error { _, err := st.KVGet(ctx, "nope"); return err }},
		{"KVDelete", func() error { return st.KVDelete(ctx, "nope") }},
		{"GetSecret", func() error { _, err := st.GetSecret(ctx, "nope"); return err }},
		{"DeleteSecret", func() error { return st.DeleteSecret(ctx, "nope") }},
		{"GetMeta", func() error { _, err := st.GetMeta(ctx, "nope"); return err }},
		{"GetState", func() error { _, err := st.GetState(ctx, "f", "nope"); return err }},
		{"GetUser", func() error { _, err := st.GetUser(ctx, "nope"); return err }},
		{"GetUserByEmail", func() error { _, err := st.GetUserByEmail(ctx, "no@pe.x"); return err }},
		{"UpdateUser", func() error { return st.UpdateUser(ctx, &engine.User{ID: "nope", Email: "a@b.c"}) }},
		{"DeleteUser", func() error { return st.DeleteUser(ctx, "nope") }},
		{"GetTokenByHash", func() error { _, err := st.GetTokenByHash(ctx, "nope"); return err }},
		{"TouchToken", func() error { return st.TouchToken(ctx, "nope", time.Now()) }},
		{"DeleteToken", func() error { return st.DeleteToken(ctx, "nope") }},
		{"GetSession", func() error { _, err := st.GetSession(ctx, "nope"); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		})
	}
	invalid := []struct {
		name string
		call func() error
	}{
		{"CreateFlow empty id", func() error { return st.CreateFlow(ctx, &engine.Flow{}) }},
		{"CreateRun empty flow", func() error { _, _, err := st.CreateRun(ctx, &engine.Run{}, "", 0); return err }},
		{"SaveRun empty id", func() error { return st.SaveRun(ctx, &engine.Run{}) }},
		{"KVSet empty key", func() error { return st.KVSet(ctx, "", 1, 0) }},
		{"PutState empty name", func() error { return st.PutState(ctx, "f", "", nil) }},
		{"CreateUser empty email", func() error { return st.CreateUser(ctx, &engine.User{}) }},
		{"CreateToken empty hash", func() error { return st.CreateToken(ctx, &engine.Token{}) }},
		{"PutSession empty id", func() error { return st.PutSession(ctx, &engine.Session{}) }},
		{"MarkSeen empty flow", func() error { return st.MarkSeen(ctx, "", []string{"k"}, 0) }},
		{"PruneRuns empty flow", func() error { _, err := st.PruneRuns(ctx, "", time.Now(), 0); return err }},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, engine.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func testFlows(t *testing.T, st engine.Store) {
	f := &engine.Flow{ID: "b-flow", Name: "one"}
	must(t, st.CreateFlow(ctx, f))
	if f.Version != 1 || f.UpdatedAt.IsZero() {
		t.Fatalf("created flow: version %d, updated %v", f.Version, f.UpdatedAt)
	}
	if err := st.CreateFlow(ctx, &engine.Flow{ID: "b-flow"}); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	must(t, st.CreateFlow(ctx, &engine.Flow{ID: "a-flow", Name: "a"}))
	for i, name := range []string{"two", "three"} {
		g := &engine.Flow{ID: "b-flow", Name: name}
		must(t, st.UpdateFlow(ctx, g))
		if g.Version != i+2 {
			t.Fatalf("update %d: version %d", i, g.Version)
		}
	}
	got, err := st.GetFlow(ctx, "b-flow")
	must(t, err)
	if got.Name != "three" || got.Version != 3 {
		t.Fatalf("current flow: %q v%d", got.Name, got.Version)
	}
	for v, name := range map[int]string{1: "one", 2: "two", 3: "three"} {
		g, err := st.GetFlowVersion(ctx, "b-flow", v)
		must(t, err)
		if g.Name != name || g.Version != v {
			t.Fatalf("version %d: %q v%d", v, g.Name, g.Version)
		}
	}
	if _, err := st.GetFlowVersion(ctx, "b-flow", 0); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("version 0: %v", err)
	}
	vers, err := st.ListFlowVersions(ctx, "b-flow")
	must(t, err)
	if len(vers) != 3 || vers[0].Version != 1 || vers[2].Version != 3 || vers[1].Name != "two" {
		t.Fatalf("versions: %+v", vers)
	}
	all, err := st.ListFlows(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != "a-flow" || all[1].ID != "b-flow" {
		t.Fatalf("list flows: %v", ids(all))
	}
	sample := &engine.TriggerData{Type: "webhook", Body: map[string]any{"x": 1.0}}
	must(t, st.PutSample(ctx, "b-flow", sample))
	gs, err := st.GetSample(ctx, "b-flow")
	must(t, err)
	if fmt.Sprint(gs.Body) != fmt.Sprint(sample.Body) {
		t.Fatalf("sample body %v", gs.Body)
	}
	must(t, st.PutState(ctx, "b-flow", "last_schedule", []byte("x")))
	must(t, st.DeleteFlow(ctx, "b-flow"))
	if _, err := st.GetSample(ctx, "b-flow"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("sample after delete: %v", err)
	}
	if _, err := st.GetState(ctx, "b-flow", "last_schedule"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("state after delete: %v", err)
	}
	// A flow created again with the id starts over at version 1.
	must(t, st.CreateFlow(ctx, &engine.Flow{ID: "b-flow", Name: "again"}))
	vers, err = st.ListFlowVersions(ctx, "b-flow")
	must(t, err)
	if len(vers) != 1 || vers[0].Name != "again" {
		t.Fatalf("versions after re-create: %+v", vers)
	}
}

func ids(fs []*engine.Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

func testRuns(t *testing.T, st engine.Store) {
	r := &engine.Run{FlowID: "f", Trigger: engine.TriggerData{Type: "webhook", Body: map[string]any{"order": "o-1", "n": 2.0},
		Headers: map[string]string{"X-A": "b"}}}
	id, dup, err := st.CreateRun(ctx, r, "", 0)
	must(t, err)
	if dup || id == "" || id != r.ID || r.Status != engine.RunQueued || r.CreatedAt.IsZero() {
		t.Fatalf("create: id %q dup %v status %q created %v", id, dup, r.Status, r.CreatedAt)
	}
	got, err := st.GetRun(ctx, id)
	must(t, err)
	if got.FlowID != "f" || got.Status != engine.RunQueued || fmt.Sprint(got.Trigger.Body) != fmt.Sprint(r.Trigger.Body) ||
		got.Trigger.Headers["X-A"] != "b" || !got.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("get: %+v", got)
	}
	now := time.Now().UTC()
	r.Status = engine.RunSucceeded
	r.Steps = []*engine.StepRun{{ID: "s1", Type: "log", Status: engine.StepSucceeded, Attempts: 1, Output: "ok"}}
	r.Vars = map[string]any{"v": "x"}
	r.FinishedAt = &now
	must(t, st.SaveRun(ctx, r))
	got, err = st.GetRun(ctx, id)
	must(t, err)
	if got.Status != engine.RunSucceeded || len(got.Steps) != 1 || got.Steps[0].Output != "ok" || got.Vars["v"] != "x" ||
		got.FinishedAt == nil || fmt.Sprint(got.Trigger.Body) != fmt.Sprint(r.Trigger.Body) {
		t.Fatalf("after save: %+v", got)
	}
	// A taken run id is refused; the first run is unchanged.
	if _, _, err := st.CreateRun(ctx, &engine.Run{ID: id, FlowID: "f"}, "", 0); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("taken id: %v, want ErrExists", err)
	}
	// The body as it arrived (BodyJSON) is what is stored.
	raw := &engine.Run{FlowID: "f", Trigger: engine.TriggerData{Body: map[string]any{"ignored": true}, BodyJSON: []byte(`{"a":[1,2]}`)}}
	_, _, err = st.CreateRun(ctx, raw, "", 0)
	must(t, err)
	got, err = st.GetRun(ctx, raw.ID)
	must(t, err)
	if fmt.Sprint(got.Trigger.Body) != "map[a:[1 2]]" {
		t.Fatalf("BodyJSON stored as %v", got.Trigger.Body)
	}
}

func testDedupe(t *testing.T, st engine.Store) {
	long := strings.Repeat("k", 700)
	cases := []struct {
		name    string
		flow    string
		key     string
		window  time.Duration
		wait    time.Duration // before the second delivery
		wantDup bool
	}{
		{"same key in window", "f", "evt-1", time.Hour, 0, true},
		{"never expiring", "f", "evt-2", 0, 0, true},
		{"long key hashed", "f", long, time.Hour, 0, true},
		{"expired window", "f", "evt-3", 400 * time.Millisecond, 800 * time.Millisecond, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first, dup, err := st.CreateRun(ctx, &engine.Run{FlowID: c.flow}, c.key, c.window)
			must(t, err)
			if dup {
				t.Fatal("first delivery reported as duplicate")
			}
			id, ok, err := st.Seen(ctx, c.flow, c.key)
			must(t, err)
			if !ok || id != first {
				t.Fatalf("Seen after create: %q %v, want %q", id, ok, first)
			}
			time.Sleep(c.wait)
			second, dup, err := st.CreateRun(ctx, &engine.Run{FlowID: c.flow}, c.key, c.window)
			must(t, err)
			if dup != c.wantDup || (dup && second != first) || (!dup && second == first) {
				t.Fatalf("second delivery: id %q dup %v (first %q), want dup %v", second, dup, first, c.wantDup)
			}
			if _, err := st.GetRun(ctx, second); err != nil {
				t.Fatalf("the run returned does not exist: %v", err)
			}
			// Another flow with the same key is independent.
			_, dup, err = st.CreateRun(ctx, &engine.Run{FlowID: c.flow + "-other"}, c.key, c.window)
			must(t, err)
			if dup {
				t.Fatal("key of another flow deduplicated")
			}
		})
	}
	t.Run("MarkSeen", func(t *testing.T) {
		must(t, st.MarkSeen(ctx, "p", []string{"a", "", "b"}, time.Hour))
		for _, k := range []string{"a", "b"} {
			id, ok, err := st.Seen(ctx, "p", k)
			must(t, err)
			if !ok || id != "" {
				t.Fatalf("Seen %q: %q %v", k, id, ok)
			}
		}
		if _, ok, err := st.Seen(ctx, "p", "c"); err != nil || ok {
			t.Fatalf("unseen key: %v %v", ok, err)
		}
		// A key already recorded for a run keeps its run.
		first, _, err := st.CreateRun(ctx, &engine.Run{FlowID: "p"}, "c", time.Hour)
		must(t, err)
		must(t, st.MarkSeen(ctx, "p", []string{"c"}, time.Hour))
		if id, ok, _ := st.Seen(ctx, "p", "c"); !ok || id != first {
			t.Fatalf("MarkSeen replaced a run's key: %q %v", id, ok)
		}
		// A seen key deduplicates a run.
		id, dup, err := st.CreateRun(ctx, &engine.Run{FlowID: "p"}, "a", time.Hour)
		must(t, err)
		if !dup || id != "" {
			t.Fatalf("run for a seen key: %q dup %v", id, dup)
		}
		// Expired marks read as unseen.
		must(t, st.MarkSeen(ctx, "p", []string{"short"}, 20*time.Millisecond))
		time.Sleep(60 * time.Millisecond)
		if _, ok, _ := st.Seen(ctx, "p", "short"); ok {
			t.Fatal("expired mark still seen")
		}
	})
}

func testDedupeConcurrent(t *testing.T, st engine.Store) {
	const n = 24
	var wg sync.WaitGroup
	ids := make([]string, n)
	dups := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], dups[i], errs[i] = st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "same-event", time.Hour)
		}()
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		must(t, errs[i])
		if !dups[i] {
			fresh++
		}
		if ids[i] != ids[0] {
			t.Fatalf("delivery %d got run %q, delivery 0 got %q", i, ids[i], ids[0])
		}
	}
	if fresh != 1 {
		t.Fatalf("%d deliveries created a run, want 1", fresh)
	}
	runs, _, err := st.ListRuns(ctx, engine.RunQuery{FlowID: "f"})
	must(t, err)
	if len(runs) != 1 {
		t.Fatalf("%d runs stored, want 1", len(runs))
	}
}

func testListRuns(t *testing.T, st engine.Store) {
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var all []*engine.Run // oldest first
	for i := range 9 {
		flow, status := "a", engine.RunSucceeded
		if i%3 == 0 {
			flow = "b"
		}
		if i%2 == 0 {
			status = engine.RunFailed
		}
		r := newRun(flow, base.Add(time.Duration(i)*time.Minute), status, map[string]any{"n": i, "name": fmt.Sprintf("Item-%d", i)})
		_, _, err := st.CreateRun(ctx, r, "", 0)
		must(t, err)
		all = append(all, r)
	}
	want := func(keep func(r *engine.Run) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    engine.RunQuery
		want []string
	}{
		{"all", engine.RunQuery{}, want(func(*engine.Run) bool { return true })},
		{"flow", engine.RunQuery{FlowID: "b"}, want(func(r *engine.Run) bool { return r.FlowID == "b" })},
		{"status", engine.RunQuery{Status: engine.RunFailed}, want(func(r *engine.Run) bool { return r.Status == engine.RunFailed })},
		{"flow and status", engine.RunQuery{FlowID: "a", Status: engine.RunSucceeded},
			want(func(r *engine.Run) bool { return r.FlowID == "a" && r.Status == engine.RunSucceeded })},
		{"since", engine.RunQuery{Since: base.Add(5 * time.Minute)}, want(func(r *engine.Run) bool { return !r.CreatedAt.Before(base.Add(5 * time.Minute)) })},
		{"until", engine.RunQuery{Until: base.Add(2 * time.Minute)}, want(func(r *engine.Run) bool { return !r.CreatedAt.After(base.Add(2 * time.Minute)) })},
		{"text ignores case", engine.RunQuery{Text: "item-4"}, want(func(r *engine.Run) bool { return r.CreatedAt.Equal(base.Add(4 * time.Minute)) })},
		{"text none", engine.RunQuery{Text: "absent"}, nil},
	}
	for _, c := range cases {
		for _, limit := range []int{2, 3, 50} {
			t.Run(fmt.Sprintf("%s/limit%d", c.name, limit), func(t *testing.T) {
				q := c.q
				q.Limit = limit
				// A page holds at most limit runs; a store may end a page
				// early (even empty) with a cursor to continue.
				var got []string
				for page := 0; ; page++ {
					if page > 100 {
						t.Fatal("cursor does not advance")
					}
					runs, next, err := st.ListRuns(ctx, q)
					must(t, err)
					if len(runs) > limit {
						t.Fatalf("page of %d runs, limit %d", len(runs), limit)
					}
					for _, r := range runs {
						got = append(got, r.ID)
					}
					if next == "" {
						break
					}
					if next == q.Cursor {
						t.Fatalf("next cursor %q repeats the request's", next)
					}
					q.Cursor = next
				}
				if fmt.Sprint(got) != fmt.Sprint(want2(c.want)) {
					t.Fatalf("got %v\nwant %v", got, c.want)
				}
			})
		}
	}
	// A page's runs carry their trigger.
	runs, _, err := st.ListRuns(ctx, engine.RunQuery{Limit: 1})
	must(t, err)
	if len(runs) != 1 || runs[0].Trigger.Body == nil {
		t.Fatalf("listed run without its trigger: %+v", runs)
	}
}

// want2 makes an empty expectation print like an empty result.
func want2(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

func testPendingRuns(t *testing.T, st engine.Store) {
	base := time.Now().Add(-time.Minute)
	statuses := []engine.RunStatus{engine.RunQueued, engine.RunSucceeded, engine.RunRunning, engine.RunFailed,
		engine.RunWaiting, engine.RunCanceled, engine.RunFiltered}
	var runs []*engine.Run
	for i, s := range statuses {
		r := newRun("f", base.Add(time.Duration(i)*time.Second), s, nil)
		_, _, err := st.CreateRun(ctx, r, "", 0)
		must(t, err)
		runs = append(runs, r)
	}
	got, err := st.PendingRuns(ctx)
	must(t, err)
	if fmt.Sprint(runIDs(got)) != fmt.Sprint([]string{runs[0].ID, runs[2].ID, runs[4].ID}) {
		t.Fatalf("pending: %v", statusesOf(got))
	}
	runs[0].Status = engine.RunSucceeded
	must(t, st.SaveRun(ctx, runs[0]))
	runs[2].Status = engine.RunWaiting // running → waiting (a delay) stays pending
	must(t, st.SaveRun(ctx, runs[2]))
	got, err = st.PendingRuns(ctx)
	must(t, err)
	if fmt.Sprint(runIDs(got)) != fmt.Sprint([]string{runs[2].ID, runs[4].ID}) {
		t.Fatalf("pending after saves: %v", statusesOf(got))
	}
	if got[0].Status != engine.RunWaiting {
		t.Fatalf("pending run has status %q", got[0].Status)
	}
	// The engine never saves a run that ended (replay makes a new run); a
	// store shared by several nodes refuses it, so that a node that lost a
	// run cannot turn it back to running.
	if _, shared := st.(engine.Cluster); shared {
		runs[1].Status = engine.RunWaiting
		if err := st.SaveRun(ctx, runs[1]); !errors.Is(err, engine.ErrLeaseLost) {
			t.Fatalf("a shared store saved a run that had ended: %v", err)
		}
	}
}

func runIDs(rs []*engine.Run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func statusesOf(rs []*engine.Run) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID + ":" + string(r.Status)
	}
	return out
}

func testPrune(t *testing.T, st engine.Store) {
	now := time.Now()
	// Per flow, oldest first: 6 runs an hour apart from 10h ago; the 2nd is
	// still waiting.
	mk := func(flow string) []*engine.Run {
		var out []*engine.Run
		for i := range 6 {
			status := engine.RunSucceeded
			if i == 1 {
				status = engine.RunWaiting
			}
			r := newRun(flow, now.Add(time.Duration(i-10)*time.Hour), status, nil)
			_, _, err := st.CreateRun(ctx, r, "", 0)
			must(t, err)
			out = append(out, r)
		}
		return out
	}
	cases := []struct {
		name      string
		olderThan time.Duration // before now; 0: none
		keep      int
		survivors []int // indexes, oldest first
	}{
		{"keep 2", 0, 2, []int{1, 4, 5}},
		{"older than 7h30", 7*time.Hour + 30*time.Minute, 0, []int{1, 3, 4, 5}},
		{"keep 4 or older than 5h30", 5*time.Hour + 30*time.Minute, 4, []int{1, 5}},
		{"keep 5 and older than 9h30", 9*time.Hour + 30*time.Minute, 5, []int{1, 2, 3, 4, 5}},
		{"no limits", 0, 0, []int{0, 1, 2, 3, 4, 5}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flow := fmt.Sprintf("prune-%d", i)
			runs := mk(flow)
			var older time.Time
			if c.olderThan > 0 {
				older = now.Add(-c.olderThan)
			}
			n, err := st.PruneRuns(ctx, flow, older, c.keep)
			must(t, err)
			if n != len(runs)-len(c.survivors) {
				t.Fatalf("deleted %d, want %d", n, len(runs)-len(c.survivors))
			}
			var want []string
			for _, j := range c.survivors {
				want = append([]string{runs[j].ID}, want...)
			}
			got, _, err := st.ListRuns(ctx, engine.RunQuery{FlowID: flow})
			must(t, err)
			if fmt.Sprint(runIDs(got)) != fmt.Sprint(want) {
				t.Fatalf("survivors %v, want %v", runIDs(got), want)
			}
			cnt, err := st.CountRuns(ctx, flow, time.Time{})
			must(t, err)
			if cnt != len(c.survivors) {
				t.Fatalf("CountRuns %d, want %d", cnt, len(c.survivors))
			}
		})
	}
	t.Run("CountRuns since", func(t *testing.T) {
		runs := mk("count")
		for _, c := range []struct {
			since time.Time
			want  int
		}{
			{time.Time{}, 6},
			{runs[3].CreatedAt, 3},
			{runs[3].CreatedAt.Add(time.Millisecond), 2},
			{now, 0},
		} {
			n, err := st.CountRuns(ctx, "count", c.since)
			must(t, err)
			if n != c.want {
				t.Fatalf("since %v: %d, want %d", c.since, n, c.want)
			}
		}
	})
}

func testKV(t *testing.T, st engine.Store) {
	cases := []struct {
		key   string
		value any
	}{
		{"str", "hello"},
		{"num", 42.5},
		{"obj", map[string]any{"a": []any{1.0, "x"}}},
		{"null", nil},
		{"ünï/cödé key", true},
	}
	for _, c := range cases {
		must(t, st.KVSet(ctx, c.key, c.value, 0))
		it, err := st.KVGet(ctx, c.key)
		must(t, err)
		if fmt.Sprint(it.Value) != fmt.Sprint(c.value) || it.Key != c.key || it.ExpiresAt != nil || it.UpdatedAt.IsZero() {
			t.Fatalf("%s: %+v", c.key, it)
		}
	}
	must(t, st.KVDelete(ctx, "str"))
	if _, err := st.KVGet(ctx, "str"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("deleted key: %v", err)
	}
	// TTL: a short-lived key reads as missing once expired, everywhere.
	must(t, st.KVSet(ctx, "p/short", 1, 400*time.Millisecond))
	it, err := st.KVGet(ctx, "p/short")
	must(t, err)
	if it.ExpiresAt == nil || it.ExpiresAt.Sub(time.Now()) > time.Second {
		t.Fatalf("expiry %v", it.ExpiresAt)
	}
	for _, k := range []string{"p/c", "p/a", "p/b", "q/a", "p"} {
		must(t, st.KVSet(ctx, k, k, time.Hour))
	}
	time.Sleep(800 * time.Millisecond)
	if _, err := st.KVGet(ctx, "p/short"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("expired key: %v", err)
	}
	if err := st.KVDelete(ctx, "p/short"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("delete expired key: %v", err)
	}
	list := func(prefix string, limit int) []string {
		items, err := st.KVList(ctx, prefix, limit)
		must(t, err)
		out := []string{}
		for _, it := range items {
			out = append(out, it.Key)
		}
		return out
	}
	for _, c := range []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"p/", 0, []string{"p/a", "p/b", "p/c"}},
		{"p/", 2, []string{"p/a", "p/b"}},
		{"p", 0, []string{"p", "p/a", "p/b", "p/c"}},
		{"zz", 0, []string{}},
		{"", 3, []string{"null", "num", "obj"}},
	} {
		if got := list(c.prefix, c.limit); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Fatalf("list %q limit %d: %v, want %v", c.prefix, c.limit, got, c.want)
		}
	}
	// Increment and append on an expired key start over with the new ttl.
	must(t, st.KVSet(ctx, "ctr", 10, 20*time.Millisecond))
	time.Sleep(50 * time.Millisecond)
	n, err := st.KVIncrement(ctx, "ctr", 1, 0)
	must(t, err)
	if n != 1 {
		t.Fatalf("increment of an expired key: %v", n)
	}
	if it, _ := st.KVGet(ctx, "ctr"); it == nil || it.ExpiresAt != nil {
		t.Fatalf("expiry after restart: %+v", it)
	}
	// An existing entry keeps its expiry.
	must(t, st.KVSet(ctx, "keep", 1, time.Hour))
	before, _ := st.KVGet(ctx, "keep")
	_, err = st.KVIncrement(ctx, "keep", 2, time.Minute)
	must(t, err)
	after, _ := st.KVGet(ctx, "keep")
	if before.ExpiresAt == nil || after.ExpiresAt == nil || !after.ExpiresAt.Equal(*before.ExpiresAt) || after.Value != 3.0 {
		t.Fatalf("expiry changed by increment: %v → %v (value %v)", before.ExpiresAt, after.ExpiresAt, after.Value)
	}
	// Wrong types are conflicts and change nothing.
	if _, err := st.KVIncrement(ctx, "obj", 1, 0); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("increment of an object: %v", err)
	}
	if _, err := st.KVAppend(ctx, "num", 1, 0); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("append to a number: %v", err)
	}
	if it, _ := st.KVGet(ctx, "num"); it == nil || it.Value != 42.5 {
		t.Fatalf("number after failed append: %+v", it)
	}
	l, err := st.KVAppend(ctx, "list", "a", 0)
	must(t, err)
	l, err = st.KVAppend(ctx, "list", map[string]any{"b": 1.0}, 0)
	must(t, err)
	if fmt.Sprint(l) != "[a map[b:1]]" {
		t.Fatalf("list %v", l)
	}
	if pe, ok := st.(interface {
		PurgeExpired(context.Context) (int, error)
	}); ok {
		must(t, st.KVSet(ctx, "gone", 1, time.Millisecond))
		must(t, st.MarkSeen(ctx, "f", []string{"gone"}, time.Millisecond))
		time.Sleep(20 * time.Millisecond)
		n, err := pe.PurgeExpired(ctx)
		must(t, err)
		if n < 2 {
			t.Fatalf("purged %d entries, want at least 2", n)
		}
		if _, err := st.KVGet(ctx, "keep"); err != nil {
			t.Fatalf("purge removed a live key: %v", err)
		}
	}
}

func testKVAtomic(t *testing.T, st engine.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := st.KVIncrement(ctx, "counter", 1, 0); err != nil {
					errs <- err
				}
				if _, err := st.KVAppend(ctx, "log", fmt.Sprintf("%d-%d", w, i), 0); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	it, err := st.KVGet(ctx, "counter")
	must(t, err)
	if it.Value != float64(workers*each) {
		t.Fatalf("counter %v, want %d", it.Value, workers*each)
	}
	it, err = st.KVGet(ctx, "log")
	must(t, err)
	list, _ := it.Value.([]any)
	seen := map[string]bool{}
	for _, v := range list {
		seen[fmt.Sprint(v)] = true
	}
	if len(list) != workers*each || len(seen) != workers*each {
		t.Fatalf("list has %d items (%d distinct), want %d", len(list), len(seen), workers*each)
	}
}

func testSecretsMetaState(t *testing.T, st engine.Store) {
	for _, c := range []struct {
		name  string
		value []byte
	}{
		{"B_KEY", []byte{0, 1, 2, 0xff}},
		{"A_KEY", []byte("sealed")},
		{"EMPTY", []byte{}},
	} {
		must(t, st.PutSecret(ctx, c.name, c.value))
		got, err := st.GetSecret(ctx, c.name)
		must(t, err)
		if string(got) != string(c.value) || got == nil {
			t.Fatalf("secret %s: %v", c.name, got)
		}
		must(t, st.PutMeta(ctx, "m."+c.name, c.value))
		got, err = st.GetMeta(ctx, "m."+c.name)
		must(t, err)
		if string(got) != string(c.value) {
			t.Fatalf("meta %s: %v", c.name, got)
		}
		must(t, st.PutState(ctx, "flow", c.name, c.value))
		got, err = st.GetState(ctx, "flow", c.name)
		must(t, err)
		if string(got) != string(c.value) {
			t.Fatalf("state %s: %v", c.name, got)
		}
	}
	must(t, st.PutSecret(ctx, "A_KEY", []byte("replaced")))
	if got, _ := st.GetSecret(ctx, "A_KEY"); string(got) != "replaced" {
		t.Fatalf("replaced secret: %q", got)
	}
	names, err := st.ListSecrets(ctx)
	must(t, err)
	if fmt.Sprint(names) != "[A_KEY B_KEY EMPTY]" {
		t.Fatalf("names %v", names)
	}
	must(t, st.DeleteSecret(ctx, "B_KEY"))
	names, _ = st.ListSecrets(ctx)
	if fmt.Sprint(names) != "[A_KEY EMPTY]" {
		t.Fatalf("names after delete %v", names)
	}
	if _, err := st.GetState(ctx, "other-flow", "A_KEY"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("state of another flow: %v", err)
	}
}

func testAuth(t *testing.T, st engine.Store) {
	u := &engine.User{Email: "Ann@Example.com", Role: engine.RoleAdmin, PasswordHash: "h"}
	must(t, st.CreateUser(ctx, u))
	if u.ID == "" || u.CreatedAt.IsZero() {
		t.Fatalf("user not given an id: %+v", u)
	}
	if err := st.CreateUser(ctx, &engine.User{Email: " ann@example.COM "}); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("same email: %v", err)
	}
	b := &engine.User{Email: "bob@example.com", Role: engine.RoleViewer}
	must(t, st.CreateUser(ctx, b))
	got, err := st.GetUserByEmail(ctx, "ANN@example.com")
	must(t, err)
	if got.ID != u.ID || got.Role != engine.RoleAdmin {
		t.Fatalf("by email: %+v", got)
	}
	b.Email = "ann@example.com"
	if err := st.UpdateUser(ctx, b); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("update to a taken email: %v", err)
	}
	b.Email, b.Role = "robert@example.com", engine.RoleEditor
	must(t, st.UpdateUser(ctx, b))
	if _, err := st.GetUserByEmail(ctx, "bob@example.com"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("old email still found: %v", err)
	}
	if got, _ := st.GetUser(ctx, b.ID); got == nil || got.Role != engine.RoleEditor {
		t.Fatalf("updated user: %+v", got)
	}
	users, err := st.ListUsers(ctx)
	must(t, err)
	want := []string{u.ID, b.ID}
	sort.Strings(want)
	if len(users) != 2 || users[0].ID != want[0] || users[1].ID != want[1] {
		t.Fatalf("users %+v", users)
	}
	if n, _ := st.CountUsers(ctx); n != 2 {
		t.Fatalf("count %d", n)
	}
	// Sessions: expiry, and deleted with their user.
	must(t, st.PutSession(ctx, &engine.Session{ID: "s1", UserID: b.ID, CSRF: "c", ExpiresAt: time.Now().Add(time.Hour)}))
	must(t, st.PutSession(ctx, &engine.Session{ID: "s2", UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	must(t, st.PutSession(ctx, &engine.Session{ID: "old", UserID: u.ID, ExpiresAt: time.Now().Add(-time.Second)}))
	if se, err := st.GetSession(ctx, "s1"); err != nil || se.CSRF != "c" {
		t.Fatalf("session: %+v %v", se, err)
	}
	if _, err := st.GetSession(ctx, "old"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	must(t, st.DeleteUser(ctx, b.ID))
	if _, err := st.GetSession(ctx, "s1"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("session of a deleted user: %v", err)
	}
	if _, err := st.GetUserByEmail(ctx, "robert@example.com"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("deleted user by email: %v", err)
	}
	must(t, st.DeleteSession(ctx, "s2"))
	must(t, st.DeleteSession(ctx, "s2")) // idempotent
	if _, err := st.GetSession(ctx, "s2"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	// Tokens.
	tok := &engine.Token{Name: "ci", Role: engine.RoleEditor, Hash: "abc"}
	must(t, st.CreateToken(ctx, tok))
	if err := st.CreateToken(ctx, &engine.Token{Name: "dup", Hash: "abc"}); !errors.Is(err, engine.ErrExists) {
		t.Fatalf("same hash: %v", err)
	}
	must(t, st.CreateToken(ctx, &engine.Token{Name: "other", Hash: "def"}))
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	must(t, st.TouchToken(ctx, tok.ID, at))
	got2, err := st.GetTokenByHash(ctx, "abc")
	must(t, err)
	if got2.ID != tok.ID || got2.LastUsed == nil || !got2.LastUsed.Equal(at) || got2.Role != engine.RoleEditor {
		t.Fatalf("token: %+v", got2)
	}
	toks, err := st.ListTokens(ctx)
	must(t, err)
	if len(toks) != 2 {
		t.Fatalf("tokens %d", len(toks))
	}
	must(t, st.DeleteToken(ctx, tok.ID))
	if _, err := st.GetTokenByHash(ctx, "abc"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("deleted token by hash: %v", err)
	}
	// The hash of a deleted token can be used again.
	must(t, st.CreateToken(ctx, &engine.Token{Name: "again", Hash: "abc"}))
}

// resumeStore is engine.ResumeStore (wait steps' outcomes), which a store
// may implement; the test skips stores without it.
type resumeStore interface {
	ClaimResume(ctx context.Context, runID, stepID string, value []byte) (existing []byte, won bool, err error)
	GetResume(ctx context.Context, runID, stepID string) ([]byte, error)
	DeleteResumes(ctx context.Context, runID string) error
}

func testResumes(t *testing.T, st engine.Store) {
	rs, ok := st.(resumeStore)
	if !ok {
		t.Skip("this store keeps no wait-step outcomes")
	}
	if _, err := rs.GetResume(ctx, "r1", "wait"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("missing resume: %v", err)
	}
	// Racing claims: exactly one wins, every other sees its value.
	const n = 16
	var wg sync.WaitGroup
	won := make([]bool, n)
	got := make([][]byte, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], won[i], errs[i] = rs.ClaimResume(ctx, "r1", "wait", []byte(fmt.Sprint("req-", i)))
		}()
	}
	wg.Wait()
	winner := -1
	for i := range n {
		must(t, errs[i])
		if won[i] {
			if winner >= 0 {
				t.Fatalf("claims %d and %d both won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no claim won")
	}
	want := fmt.Sprint("req-", winner)
	for i := range n {
		if !won[i] && string(got[i]) != want {
			t.Fatalf("claim %d saw %q, want the winner's %q", i, got[i], want)
		}
	}
	v, err := rs.GetResume(ctx, "r1", "wait")
	must(t, err)
	if string(v) != want {
		t.Fatalf("stored %q, want %q", v, want)
	}
	_, w, err := rs.ClaimResume(ctx, "r1", "other", []byte("x"))
	must(t, err)
	if !w {
		t.Fatal("a claim of another step lost")
	}
	_, w, err = rs.ClaimResume(ctx, "r2", "wait", []byte("y"))
	must(t, err)
	if !w {
		t.Fatal("a claim of another run lost")
	}
	must(t, rs.DeleteResumes(ctx, "r1"))
	if _, err := rs.GetResume(ctx, "r1", "other"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("resume after delete: %v", err)
	}
	if v, err := rs.GetResume(ctx, "r2", "wait"); err != nil || string(v) != "y" {
		t.Fatalf("another run's resume after delete: %q %v", v, err)
	}
}

func testPingClose(t *testing.T, st engine.Store) {
	must(t, st.Ping(ctx))
	must(t, st.Close())
	must(t, st.Close()) // a second Close is a no-op
	if _, _, err := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "", 0); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("write after close: %v, want ErrUnavailable", err)
	}
}
