package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
)

// openNodes opens one store per node name on one new database, with lease.
func openNodes(t *testing.T, lease time.Duration, nodes ...string) []*Store {
	t.Helper()
	url := pgtest.DB(t, cluster)
	out := make([]*Store, len(nodes))
	for i, n := range nodes {
		st, err := Open(context.Background(), url, Options{Node: n, Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out[i] = st
	}
	return out
}

// giveUp bounds every wait of these tests for something that should happen
// (generously: it only turns a bug into a failure instead of a hang).
const giveUp = time.Minute

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(giveUp)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNodeDefaults(t *testing.T) {
	a, b := openTest(t), openTest(t)
	defer a.Close()
	defer b.Close()
	if a.Node() == "" || a.Node() == b.Node() {
		t.Fatalf("nodes %q and %q: want unique names", a.Node(), b.Node())
	}
	if a.Lease() != defaultLease {
		t.Fatalf("lease %v, want %v", a.Lease(), defaultLease)
	}
}

// TestTakeover: a run is leased to the node that creates it; when that node
// stops renewing, another claims it (TakenFrom names the first), the first
// node's checkpoints are refused with ErrLeaseLost and the second's work.
func TestTakeover(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, 300*time.Millisecond, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	for _, key := range []string{"", "evt-1"} {
		t.Run("key="+key, func(t *testing.T) {
			r := &engine.Run{FlowID: "f"}
			if _, _, err := a.CreateRun(ctx, r, key, time.Hour); err != nil {
				t.Fatal(err)
			}
			if got, err := b.ClaimRuns(ctx, 10); err != nil || len(got) != 0 {
				t.Fatalf("b claimed %d runs held by a (%v)", len(got), err)
			}
			if held, err := a.RenewLeases(ctx, []string{r.ID}); err != nil || !slices.Equal(held, []string{r.ID}) {
				t.Fatalf("a renews: %v %v", held, err)
			}
			// a stops renewing; b takes the run over once a's lease expires.
			var got []engine.ClaimedRun
			waitFor(t, "a's lease to expire", func() bool {
				var err error
				got, err = b.ClaimRuns(ctx, 10)
				if err != nil {
					t.Fatal(err)
				}
				return len(got) > 0
			})
			if len(got) != 1 || got[0].Run.ID != r.ID || got[0].TakenFrom != "node-a" {
				t.Fatalf("b claimed %+v, want run %s taken from node-a", got, r.ID)
			}
			r.Status = engine.RunRunning
			if err := a.SaveRun(ctx, r); !errors.Is(err, engine.ErrLeaseLost) {
				t.Fatalf("a saves a run b holds: %v, want ErrLeaseLost", err)
			}
			if held, _ := a.RenewLeases(ctx, []string{r.ID}); len(held) != 0 {
				t.Fatalf("a still holds %v", held)
			}
			if err := b.SaveRun(ctx, r); err != nil {
				t.Fatalf("b saves its run: %v", err)
			}
			r.Status = engine.RunSucceeded
			if err := b.SaveRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			// An ended run holds no lease and is neither renewed nor claimed.
			if held, _ := b.RenewLeases(ctx, []string{r.ID}); len(held) != 0 {
				t.Fatalf("b renews an ended run: %v", held)
			}
			if got, _ := a.ClaimRuns(ctx, 10); len(got) != 0 {
				t.Fatalf("a claims an ended run: %v", got[0].Run.ID)
			}
		})
	}
}

// TestSaveFence: which checkpoints the lease allows, and ErrNotFound apart
// from ErrLeaseLost.
func TestSaveFence(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, 300*time.Millisecond, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	tests := []struct {
		name    string
		setup   func(r *engine.Run) // after a created r
		saver   *Store
		want    error
		holder  string // lease owner after the save ("" none)
		pending bool
	}{
		{"holder saves", func(*engine.Run) {}, a, nil, "node-a", true},
		{"other node while held", func(*engine.Run) {}, b, engine.ErrLeaseLost, "node-a", true},
		{"other node after release", func(r *engine.Run) { must(t, a.ReleaseRuns(ctx, []string{r.ID})) }, b, nil, "node-b", true},
		{"other node after expiry, unclaimed", func(r *engine.Run) { expire(t, a, r.ID) }, b, nil, "node-b", true},
		{"old holder after expiry, unclaimed", func(r *engine.Run) { expire(t, a, r.ID) }, a, nil, "node-a", true},
	}
	for _, tc := range tests {
		for _, final := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/final=%v", tc.name, final), func(t *testing.T) {
				r := &engine.Run{FlowID: "f"}
				if _, _, err := a.CreateRun(ctx, r, "", 0); err != nil {
					t.Fatal(err)
				}
				tc.setup(r)
				r.Status = engine.RunRunning
				if final {
					r.Status = engine.RunSucceeded
				}
				err := tc.saver.SaveRun(ctx, r)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("save: %v, want %v", err, tc.want)
				}
				owner, pending := leaseOf(t, a, r.ID)
				wantOwner, wantPending := tc.holder, tc.pending
				if final && err == nil {
					wantOwner, wantPending = "", false
				}
				if owner != wantOwner || pending != wantPending {
					t.Fatalf("after the save: owner %q pending %v, want %q %v", owner, pending, wantOwner, wantPending)
				}
			})
		}
	}
	if err := a.SaveRun(ctx, &engine.Run{ID: "missing", FlowID: "f"}); !errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrLeaseLost) {
		t.Fatalf("save of a missing run: %v", err)
	}
	// A run created final holds no lease.
	r := &engine.Run{FlowID: "f", Status: engine.RunFailed}
	if _, _, err := a.CreateRun(ctx, r, "k-final", time.Hour); err != nil {
		t.Fatal(err)
	}
	if owner, pending := leaseOf(t, a, r.ID); owner != "" || pending {
		t.Fatalf("run created final: owner %q pending %v", owner, pending)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// expire ends the run's lease now, as if its holder had stopped renewing.
func expire(t *testing.T, st *Store, id string) {
	t.Helper()
	must(t, st.exec(context.Background(), true, "UPDATE runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", id))
}

// leaseOf returns the run's lease owner ("" none) and whether it is pending.
func leaseOf(t *testing.T, st *Store, id string) (string, bool) {
	t.Helper()
	var owner string
	var pending bool
	err := st.pool.QueryRow(context.Background(), `SELECT coalesce(lease_owner, ''),
		EXISTS (SELECT 1 FROM runs_pending p WHERE p.id = runs.id) FROM runs WHERE id = $1`, id).Scan(&owner, &pending)
	must(t, err)
	return owner, pending
}

// TestClaimConcurrent: 200 released runs, four goroutines on each of two
// nodes claiming at once: every run is claimed exactly once, oldest first
// within a claim, with TakenFrom "".
func TestClaimConcurrent(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, time.Minute, "node-a", "node-b")
	var ids []string
	for range 200 {
		r := &engine.Run{FlowID: "f"}
		if _, _, err := nodes[0].CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	must(t, nodes[0].ReleaseRuns(ctx, ids))
	claimed := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, st := range nodes {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := st.ClaimRuns(ctx, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					if !slices.IsSortedFunc(got, func(x, y engine.ClaimedRun) int { return cmpString(x.Run.ID, y.Run.ID) }) {
						t.Error("a claim is not oldest first")
					}
					mu.Lock()
					for _, c := range got {
						if prev, ok := claimed[c.Run.ID]; ok {
							t.Errorf("run %s claimed by %s and %s", c.Run.ID, prev, st.Node())
						}
						if c.TakenFrom != "" {
							t.Errorf("released run %s taken from %q", c.Run.ID, c.TakenFrom)
						}
						claimed[c.Run.ID] = st.Node()
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(claimed) != len(ids) {
		t.Fatalf("claimed %d runs, want %d", len(claimed), len(ids))
	}
	// Each node renews exactly the runs it claimed.
	for _, st := range nodes {
		var mine []string
		for id, n := range claimed {
			if n == st.Node() {
				mine = append(mine, id)
			}
		}
		held, err := st.RenewLeases(ctx, ids)
		must(t, err)
		slices.Sort(mine)
		slices.Sort(held)
		if !slices.Equal(held, mine) {
			t.Fatalf("%s renews %d runs, claimed %d", st.Node(), len(held), len(mine))
		}
	}
	if _, err := nodes[0].ClaimRuns(ctx, 0); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("claim of 0 runs: %v", err)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestRenewRelease: RenewLeases returns only the pending runs this node
// holds; ReleaseRuns makes a run claimable at once, with TakenFrom "", and
// leaves another node's runs alone.
func TestRenewRelease(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, time.Minute, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	mk := func(st *Store, status engine.RunStatus) string {
		r := &engine.Run{FlowID: "f", Status: status}
		if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	mineA, ended, mineB := mk(a, engine.RunQueued), mk(a, engine.RunSucceeded), mk(b, engine.RunQueued)
	expiredA := mk(a, engine.RunQueued)
	expire(t, a, expiredA)
	tests := []struct {
		name string
		st   *Store
		ids  []string
		want []string
	}{
		{"own, ended, other's, missing", a, []string{mineA, ended, mineB, "nope"}, []string{mineA}},
		{"own expired lease, unclaimed", a, []string{expiredA}, []string{expiredA}},
		{"other node", b, []string{mineA, mineB}, []string{mineB}},
		{"none", a, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			held, err := tc.st.RenewLeases(ctx, tc.ids)
			must(t, err)
			slices.Sort(held)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(held, want) {
				t.Fatalf("held %v, want %v", held, want)
			}
		})
	}
	// b releasing a's run changes nothing; a releasing it frees it at once.
	must(t, b.ReleaseRuns(ctx, []string{mineA, expiredA}))
	if got, _ := b.ClaimRuns(ctx, 10); len(got) != 0 {
		t.Fatalf("b claimed %s after releasing a run it did not hold", got[0].Run.ID)
	}
	must(t, a.ReleaseRuns(ctx, []string{mineA, expiredA}))
	got, err := b.ClaimRuns(ctx, 10)
	must(t, err)
	if len(got) != 2 || got[0].Run.ID != mineA || got[1].Run.ID != expiredA || got[0].TakenFrom != "" || got[1].TakenFrom != "" {
		t.Fatalf("claims after release: %+v", got)
	}
}

// TestRenewDuringSave: renewals and checkpoints of the same runs at once
// neither deadlock nor fail, and the holder keeps every run.
func TestRenewDuringSave(t *testing.T) {
	ctx := context.Background()
	a := openNodes(t, time.Minute, "node-a")[0]
	var runs []*engine.Run
	var ids []string
	for range 50 {
		r := &engine.Run{FlowID: "f"}
		if _, _, err := a.CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
		ids = append(ids, r.ID)
	}
	// The renewal locks the rows in the reverse order of the saves' batches.
	backward := slices.Clone(ids)
	slices.Reverse(backward)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *r
			c.Status = engine.RunRunning
			for i := 0; i < 20; i++ {
				if err := a.SaveRun(ctx, &c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	renewErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				renewErr <- nil
				return
			default:
			}
			held, err := a.RenewLeases(ctx, backward)
			if err == nil && len(held) != len(ids) {
				err = fmt.Errorf("renewal held %d of %d runs", len(held), len(ids))
			}
			if err != nil {
				renewErr <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	must(t, <-renewErr)
}

// TestTryLock: a lock is exclusive between nodes, renewed by its holder,
// taken over after it expires, and freed by Unlock.
func TestTryLock(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, time.Minute, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	steps := []struct {
		name string
		st   *Store
		do   string // lock, unlock
		ttl  time.Duration
		want bool
	}{
		{"a takes", a, "lock", 300 * time.Millisecond, true},
		{"b refused", b, "lock", time.Minute, false},
		{"a renews", a, "lock", 300 * time.Millisecond, true},
		{"b unlock is a no-op", b, "unlock", 0, false},
		{"b still refused", b, "lock", time.Minute, false},
		{"b takes after expiry", b, "wait", time.Minute, true},
		{"a refused", a, "lock", time.Minute, false},
		{"b unlocks", b, "unlock", 0, false},
		{"a takes at once", a, "lock", time.Minute, true},
	}
	for _, s := range steps {
		switch s.do {
		case "unlock":
			must(t, s.st.Unlock(ctx, engine.StartersLock))
		case "lock":
			got, err := s.st.TryLock(ctx, engine.StartersLock, s.ttl)
			if err != nil || got != s.want {
				t.Fatalf("%s: %v %v, want %v", s.name, got, err, s.want)
			}
		case "wait":
			waitFor(t, s.name, func() bool {
				got, err := s.st.TryLock(ctx, engine.StartersLock, s.ttl)
				must(t, err)
				return got
			})
		}
	}
	if _, err := a.TryLock(ctx, "", time.Second); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("lock without a name: %v", err)
	}
}

// TestTryLockConcurrent: of many nodes trying at once, exactly one gets a
// free lock.
func TestTryLockConcurrent(t *testing.T) {
	ctx := context.Background()
	names := make([]string, 8)
	for i := range names {
		names[i] = fmt.Sprint("node-", i)
	}
	nodes := openNodes(t, time.Minute, names...)
	for round := range 5 {
		lock := fmt.Sprint("lock-", round)
		got := make([]bool, len(nodes))
		var wg sync.WaitGroup
		for i, st := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.TryLock(ctx, lock, time.Minute)
				if err != nil {
					t.Error(err)
				}
				got[i] = ok
			}()
		}
		wg.Wait()
		n := 0
		for _, ok := range got {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s: %d nodes got it", lock, n)
		}
	}
}

// listen runs st.Listen into a channel until the test ends.
func listen(t *testing.T, st *Store) <-chan engine.Notice {
	t.Helper()
	ch := make(chan engine.Notice, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Listen(ctx, func(n engine.Notice) { ch <- n }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("listen returned %v", err)
		}
	})
	return ch
}

// next returns the next notice.
func next(t *testing.T, ch <-chan engine.Notice) engine.Notice {
	t.Helper()
	select {
	case n := <-ch:
		return n
	case <-time.After(giveUp):
		t.Fatal("no notice")
	}
	return engine.Notice{}
}

// TestNotices: a listener first gets a resync, then the flow notices of
// another node's flow writes (only once committed) and published notices.
func TestNotices(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, time.Minute, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	ch := listen(t, a)
	if n := next(t, ch); n.Kind != engine.NoticeResync || n.ID != "" {
		t.Fatalf("first notice %+v, want a resync", n)
	}
	// A failed flow write publishes nothing: the next notice is the create's.
	if err := b.UpdateFlow(ctx, &engine.Flow{ID: "absent"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
		want engine.Notice
	}{
		{"create", func() error { return b.CreateFlow(ctx, &engine.Flow{ID: "f1"}) }, engine.Notice{Kind: engine.NoticeFlow, ID: "f1"}},
		{"update", func() error { return b.UpdateFlow(ctx, &engine.Flow{ID: "f1", Name: "x"}) }, engine.Notice{Kind: engine.NoticeFlow, ID: "f1"}},
		{"delete", func() error { return b.DeleteFlow(ctx, "f1") }, engine.Notice{Kind: engine.NoticeFlow, ID: "f1"}},
		{"import", func() error { return b.ImportFlow(ctx, &engine.Flow{ID: "f2", Version: 1}, nil) }, engine.Notice{Kind: engine.NoticeFlow, ID: "f2"}},
		{"wake", func() error { return b.Publish(ctx, engine.Notice{Kind: engine.NoticeWake, ID: "run-1"}) }, engine.Notice{Kind: engine.NoticeWake, ID: "run-1"}},
		{"cancel from self", func() error { return a.Publish(ctx, engine.Notice{Kind: engine.NoticeCancel, ID: "run:2"}) }, engine.Notice{Kind: engine.NoticeCancel, ID: "run:2"}},
	}
	for _, s := range steps {
		must(t, s.do())
		if n := next(t, ch); n != s.want {
			t.Fatalf("%s: notice %+v, want %+v", s.name, n, s.want)
		}
	}
	for _, bad := range []engine.Notice{{}, {Kind: "a:b"}, {Kind: "wake", ID: string(make([]byte, 8000))}} {
		if err := a.Publish(ctx, bad); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("publish %q: %v", bad.Kind, err)
		}
	}
}

// TestListenReconnects: when the listener's connection is killed it
// reconnects and sends a resync, then notices again; Close ends Listen.
func TestListenReconnects(t *testing.T) {
	ctx := context.Background()
	a := openNodes(t, time.Minute, "node-a")[0]
	ch := make(chan engine.Notice, 100)
	done := make(chan error, 1)
	go func() { done <- a.Listen(ctx, func(n engine.Notice) { ch <- n }) }()
	if n := next(t, ch); n.Kind != engine.NoticeResync {
		t.Fatalf("first notice %+v", n)
	}
	var killed int
	must(t, a.pool.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'LISTEN "+channel+"' AND datname = current_database()").Scan(&killed))
	if killed != 1 {
		t.Fatalf("terminated %d listeners", killed)
	}
	if n := next(t, ch); n.Kind != engine.NoticeResync {
		t.Fatalf("after the kill: %+v, want a resync", n)
	}
	must(t, a.Publish(ctx, engine.Notice{Kind: engine.NoticeWake, ID: "r"}))
	if n := next(t, ch); n != (engine.Notice{Kind: engine.NoticeWake, ID: "r"}) {
		t.Fatalf("after reconnecting: %+v", n)
	}
	a.Close()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(giveUp):
		t.Fatal("Listen did not return after Close")
	}
}
