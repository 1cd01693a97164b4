package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/oauthtest"
	"github.com/hookflow/hookflow/engine/pgstore"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
	"github.com/hookflow/hookflow/engine/secrets"
)

// Several engines on one PostgreSQL database (issue #17): the holder of a
// run runs it; leases, takeovers, fenced checkpoints, notices, one node
// running the starters. PostgreSQL starts once, at the first test that
// needs it.

var (
	pgOnce    sync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgCluster != nil {
		pgCluster.Stop()
	}
	os.Exit(code)
}

// pgURL returns a new database's URL, or skips without PostgreSQL (fails
// with HOOKFLOW_REQUIRE_PG=1).
func pgURL(t *testing.T) string {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start() })
	if pgErr != nil && !errors.Is(pgErr, pgtest.ErrNoPostgres) {
		t.Fatalf("start PostgreSQL: %v", pgErr)
	}
	return pgtest.DB(t, pgCluster)
}

// testLease is short so that takeovers happen within a test.
const testLease = 500 * time.Millisecond

// where is a test action that reports which node ran it; a node's where
// can be made to block (until released or, with honorCtx, its context ends).
type where struct {
	node *clusterNode
}

func (w *where) Run(ctx context.Context, sc *engine.StepContext) (any, error) {
	n := w.node
	n.mu.Lock()
	n.ran = append(n.ran, sc.RunID+":"+sc.StepID)
	block := n.block
	n.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			if n.honorCtx {
				n.stopped.Add(1)
				return nil, ctx.Err()
			}
			<-block
		}
	}
	return map[string]any{"node": n.name}, nil
}

// tick is a test starter: it fires every whole second, each instant with
// its own dedupe key (like the schedule trigger), and counts its fires.
type tick struct{ node *clusterNode }

func (t *tick) Start(ctx context.Context, sc *engine.StartContext) error {
	for {
		now := time.Now()
		next := now.Truncate(time.Second).Add(time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next.Sub(now)):
		}
		at := next.UTC().Format(time.RFC3339)
		t.node.fires.Add(1)
		_, _, err := sc.Sink.Accept(ctx, sc.Flow.ID, &engine.Event{
			Trigger:   engine.TriggerData{Type: "tick", Body: map[string]any{"at": at}},
			DedupeKey: "tick:" + at, DedupeWindow: time.Hour})
		if err != nil && ctx.Err() == nil {
			sc.Logf("tick %s: %v", at, err)
		}
	}
}

// flakyCluster is a node's store whose lease renewals can fail (the node
// cannot reach the database), lie (the node believes it still holds its
// runs) or stall (the process stops renewing, as in a long pause).
type flakyCluster struct {
	*pgstore.Store
	mode atomic.Value // "", "fail", "lie", "stall"
}

func (f *flakyCluster) RenewLeases(ctx context.Context, ids []string) ([]string, error) {
	for f.mode.Load() == "stall" && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	switch f.mode.Load() {
	case "fail":
		return nil, errors.New("test: the database is unreachable")
	case "lie":
		return ids, nil
	}
	return f.Store.RenewLeases(ctx, ids)
}

// ClaimRuns claims nothing while the node is cut off or stalled.
func (f *flakyCluster) ClaimRuns(ctx context.Context, limit int) ([]engine.ClaimedRun, error) {
	switch f.mode.Load() {
	case "fail":
		return nil, errors.New("test: the database is unreachable")
	case "lie", "stall":
		return nil, nil
	}
	return f.Store.ClaimRuns(ctx, limit)
}

// lostCounter is an Observer that also measures clustering.
type lostCounter struct {
	engine.NopObserver
	claimed, taken, lost atomic.Int64
}

func (o *lostCounter) RunsClaimed(n, takenOver int, _ time.Duration) {
	o.claimed.Add(int64(n))
	o.taken.Add(int64(takenOver))
}
func (o *lostCounter) LeasesLost(n int) { o.lost.Add(int64(n)) }

type clusterNode struct {
	t     *testing.T
	name  string
	store *pgstore.Store
	flaky *flakyCluster
	eng   *engine.Engine
	obs   *lostCounter
	fires atomic.Int64

	mu       sync.Mutex
	ran      []string
	block    chan struct{}
	honorCtx bool
	stopped  atomic.Int64
	closed   bool
}

// newNode opens a store named name on url; start starts its engine.
func newNode(t *testing.T, url, name string) *clusterNode {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{Node: name, Lease: testLease})
	if err != nil {
		t.Fatal(err)
	}
	n := &clusterNode{t: t, name: name, store: st, obs: &lostCounter{}}
	n.flaky = &flakyCluster{Store: st}
	t.Cleanup(n.close)
	return n
}

func (n *clusterNode) start() *clusterNode {
	n.t.Helper()
	reg := testRegistry()
	reg.AddAction(engine.ActionKind{Spec: engine.Spec{Kind: "where", Title: "Where", Summary: "test"},
		New: func() engine.Action { return &where{node: n} }})
	reg.AddTrigger(engine.TriggerKind{Spec: engine.Spec{Kind: "tick", Title: "Tick", Summary: "test"},
		New: func() any { return &tick{node: n} }})
	name := n.name
	n.eng = engine.New(engine.Config{Store: n.flaky, Registry: reg, Workers: 4, Observer: n.obs,
		Logf: func(f string, a ...any) { n.t.Logf(name+": "+f, a...) }})
	if err := n.eng.Start(context.Background()); err != nil {
		n.t.Fatal(err)
	}
	return n
}

// close stops the engine (releasing its runs) and the store.
func (n *clusterNode) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	if n.block != nil {
		close(n.block)
		n.block = nil
	}
	n.mu.Unlock()
	if n.eng != nil {
		n.eng.Close(2 * time.Second)
	}
	n.store.Close()
}

func (n *clusterNode) ranSteps() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.ran...)
}

func (n *clusterNode) hold() {
	n.mu.Lock()
	n.block = make(chan struct{})
	n.mu.Unlock()
}

func (n *clusterNode) release() {
	n.mu.Lock()
	if n.block != nil {
		close(n.block)
		n.block = nil
	}
	n.mu.Unlock()
}

func (n *clusterNode) putFlow(doc string) {
	n.t.Helper()
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.eng.PutFlow(context.Background(), f); err != nil {
		n.t.Fatal(err)
	}
}

func (n *clusterNode) accept(flowID string) string {
	n.t.Helper()
	id, _, err := n.eng.Accept(context.Background(), flowID, &engine.Event{Trigger: engine.TriggerData{Type: "test"}})
	if err != nil {
		n.t.Fatal(err)
	}
	return id
}

// eventually polls cond every 10 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ended waits for a run to end and returns it.
func ended(t *testing.T, st engine.Store, id string, within time.Duration) *engine.Run {
	t.Helper()
	var r *engine.Run
	eventually(t, within, "run "+id+" ends", func() bool {
		var err error
		r, err = st.GetRun(context.Background(), id)
		return err == nil && r.Status.Final()
	})
	return r
}

func statusOf(t *testing.T, st engine.Store, id string) engine.RunStatus {
	t.Helper()
	r, err := st.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func ranBy(r *engine.Run, step string) string {
	s := r.Step(step)
	if s == nil {
		return ""
	}
	m, _ := s.Output.(map[string]any)
	return fmt.Sprint(m["node"])
}

const whereFlow = `{"id":"w","name":"W","trigger":{"type":"test"},"steps":[{"id":"s","type":"where"}]}`

// TestClusterFlowLiveEverywhere: a flow saved on one node is live on the
// others within a second or two; a change and a delete too; a run accepted
// by a node runs there.
func TestClusterFlowLiveEverywhere(t *testing.T) {
	url := pgURL(t)
	a := newNode(t, url, "a").start()
	b := newNode(t, url, "b").start()
	a.putFlow(whereFlow)
	saved := time.Now()
	eventually(t, 2*time.Second, "the flow saved on a is live on b", func() bool { _, err := b.eng.Flow("w"); return err == nil })
	t.Logf("flow live on b %s after the save on a", time.Since(saved).Round(time.Millisecond))
	for _, tc := range []struct {
		on   *clusterNode
		want string
	}{{a, "a"}, {b, "b"}, {a, "a"}} {
		r := ended(t, tc.on.store, tc.on.accept("w"), 10*time.Second)
		if r.Status != engine.RunSucceeded || ranBy(r, "s") != tc.want {
			t.Errorf("run accepted by %s: %s, ran on %q: %s", tc.want, r.Status, ranBy(r, "s"), r.Error)
		}
	}
	// A change on b reaches a; the notice of a's own save is a no-op.
	b.putFlow(strings.Replace(whereFlow, `"name":"W"`, `"name":"W2"`, 1))
	eventually(t, 2*time.Second, "b's change is live on a", func() bool {
		c, err := a.eng.Flow("w")
		return err == nil && c.Flow.Name == "W2"
	})
	if err := a.eng.DeleteFlow(context.Background(), "w"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "the delete on a reaches b", func() bool {
		_, err := b.eng.Flow("w")
		return errors.Is(err, engine.ErrNotFound)
	})
}

// TestClusterTakeover: runs whose node is gone (created by a store whose
// engine never started, or left running by a node that died) are claimed
// and finished by another node; a step found running runs again with its
// idempotency key and the run counts the interruption.
func TestClusterTakeover(t *testing.T) {
	url := pgURL(t)
	dead := newNode(t, url, "dead") // its engine never starts: its leases expire
	b := newNode(t, url, "b").start()
	b.putFlow(`{"id":"w","name":"W","trigger":{"type":"test"},"steps":[{"id":"p","type":"probe"},{"id":"s","type":"where"}]}`)
	ctx := context.Background()
	f, err := dead.store.GetFlow(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	queued := &engine.Run{ID: engine.NewID(), FlowID: "w", FlowVersion: f.Version, Status: engine.RunQueued, CreatedAt: now,
		Trigger: engine.TriggerData{Type: "test", ReceivedAt: now}, Steps: []*engine.StepRun{}}
	running := &engine.Run{ID: engine.NewID(), FlowID: "w", FlowVersion: f.Version, Status: engine.RunRunning, CreatedAt: now,
		Trigger: engine.TriggerData{Type: "test", ReceivedAt: now},
		Steps:   []*engine.StepRun{{ID: "p", Type: "probe", Status: engine.StepRunning, Attempts: 1, StartedAt: &now}}}
	// Found running MaxInterrupted times in a row: failed, not run again.
	loop := *running
	loop.ID, loop.Interrupted = engine.NewID(), engine.MaxInterrupted-1
	for _, r := range []*engine.Run{queued, running, &loop} {
		if _, _, err := dead.store.CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		run    *engine.Run
		status engine.RunStatus
		calls  int
	}{{queued, engine.RunSucceeded, 1}, {running, engine.RunSucceeded, 1}, {&loop, engine.RunFailed, 0}} {
		r := ended(t, b.store, tc.run.ID, 10*time.Second)
		if r.Status != tc.status {
			t.Errorf("run %s: %s, want %s: %s", tc.run.ID, r.Status, tc.status, r.Error)
		}
		if r.Status == engine.RunSucceeded && ranBy(r, "s") != "b" {
			t.Errorf("run %s ran on %q, want b", tc.run.ID, ranBy(r, "s"))
		}
		if r.Status == engine.RunFailed && (r.Interrupted != engine.MaxInterrupted || !strings.Contains(r.Error, "not resumed again")) {
			t.Errorf("run %s: interrupted %d, error %q", tc.run.ID, r.Interrupted, r.Error)
		}
		got := calls(tc.run.ID)
		if len(got) != tc.calls || (tc.calls == 1 && got[0] != tc.run.ID+":p") {
			t.Errorf("run %s: probe calls %v, want %d with key %s:p", tc.run.ID, got, tc.calls, tc.run.ID)
		}
	}
	if b.obs.claimed.Load() != 3 || b.obs.taken.Load() != 3 {
		t.Errorf("b claimed %d runs, %d taken over; want 3 and 3", b.obs.claimed.Load(), b.obs.taken.Load())
	}
}

// TestClusterCleanStop: a node that stops cleanly releases its waiting runs
// and the starters lock; another node takes both at once.
func TestClusterCleanStop(t *testing.T) {
	url := pgURL(t)
	a := newNode(t, url, "a").start()
	a.putFlow(`{"id":"d","name":"D","trigger":{"type":"test"},"steps":[{"id":"w","type":"delay","with":{"for":"1500ms"}},{"id":"s","type":"where"}]}`)
	id := a.accept("d")
	eventually(t, 5*time.Second, "the run waits in its delay on a", func() bool { return statusOf(t, a.store, id) == engine.RunWaiting })
	b := newNode(t, url, "b").start()
	a.close()
	r := ended(t, b.store, id, 10*time.Second)
	if r.Status != engine.RunSucceeded || ranBy(r, "s") != "b" || r.Interrupted != 0 {
		t.Errorf("run %s: %s on %q, interrupted %d; want succeeded on b, not interrupted", id, r.Status, ranBy(r, "s"), r.Interrupted)
	}
	if b.obs.taken.Load() != 0 {
		t.Errorf("b took %d runs over; a released them, so none", b.obs.taken.Load())
	}
}

// TestClusterResumeAndCancel: a wait step held by a is resumed through b
// and finishes on a; a delayed run on a is canceled through b.
func TestClusterResumeAndCancel(t *testing.T) {
	url := pgURL(t)
	a := newNode(t, url, "a").start()
	b := newNode(t, url, "b").start()
	a.putFlow(`{"id":"ap","name":"Approve","trigger":{"type":"test"},"steps":[{"id":"ok","type":"wait","with":{"timeout":"1h"}},{"id":"s","type":"where"}]}`)
	a.putFlow(`{"id":"d","name":"D","trigger":{"type":"test"},"steps":[{"id":"w","type":"delay","with":{"for":"1h"}},{"id":"s","type":"where"}]}`)
	ctx := context.Background()
	wait := a.accept("ap")
	delayed := a.accept("d")
	for _, id := range []string{wait, delayed} {
		eventually(t, 5*time.Second, "run "+id+" waits on a", func() bool { return statusOf(t, a.store, id) == engine.RunWaiting })
	}
	u, err := b.eng.ResumeURL(ctx, wait, "ok")
	if err != nil {
		t.Fatal(err)
	}
	token := u[strings.LastIndex(u, "/")+1:]
	if _, err := b.eng.Resume(ctx, token, &engine.ResumeRequest{Method: "POST", Body: map[string]any{"approved": true}}); err != nil {
		t.Fatal(err)
	}
	r := ended(t, a.store, wait, 5*time.Second)
	if r.Status != engine.RunSucceeded || ranBy(r, "s") != "a" {
		t.Errorf("resumed run: %s on %q: %s", r.Status, ranBy(r, "s"), r.Error)
	}
	if err := b.eng.Cancel(ctx, delayed); err != nil {
		t.Fatal(err)
	}
	if r := ended(t, a.store, delayed, 5*time.Second); r.Status != engine.RunCanceled || r.Step("s") != nil {
		t.Errorf("canceled run: %s, step s %+v", r.Status, r.Step("s"))
	}
	if _, err := b.eng.Resume(ctx, token, &engine.ResumeRequest{Method: "POST"}); !errors.Is(err, engine.ErrGone) {
		t.Errorf("second resume: %v, want ErrGone", err)
	}
}

// TestClusterStartersOnce: a starter that fires every second runs on one
// node of three; each instant starts one run, also when that node stops
// and another takes the starters over.
func TestClusterStartersOnce(t *testing.T) {
	url := pgURL(t)
	nodes := []*clusterNode{newNode(t, url, "a").start(), newNode(t, url, "b").start(), newNode(t, url, "c").start()}
	nodes[0].putFlow(`{"id":"t","name":"T","trigger":{"type":"tick"},"steps":[{"id":"s","type":"where"}]}`)
	watch := newNode(t, url, "watch").store // reads runs; no engine
	ctx := context.Background()
	count := func() (runs int, instants map[string]int) {
		instants = map[string]int{}
		page, err := watch.ListRunSummaries(ctx, engine.RunQuery{FlowID: "t", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Runs {
			r, err := watch.GetRun(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := r.Trigger.Body.(map[string]any)
			instants[fmt.Sprint(m["at"])]++
		}
		return len(page.Runs), instants
	}
	eventually(t, 10*time.Second, "three instants fired", func() bool { n, _ := count(); return n >= 3 })
	leaders := 0
	var leader *clusterNode
	for _, n := range nodes {
		if n.fires.Load() > 0 {
			leaders++
			leader = n
		}
	}
	if leaders != 1 {
		t.Fatalf("%d nodes fired the starter; want 1", leaders)
	}
	before, _ := count()
	leader.close()
	eventually(t, 10*time.Second, "instants fire after the leader stopped", func() bool { n, _ := count(); return n >= before+2 })
	runs, instants := count()
	for at, k := range instants {
		if k != 1 {
			t.Errorf("instant %s started %d runs", at, k)
		}
	}
	if runs != len(instants) {
		t.Errorf("%d runs for %d instants", runs, len(instants))
	}
	t.Logf("%d instants, %d runs", len(instants), runs)
}

// TestClusterFencing: a node that lost its lease without noticing (its
// renewals lie) is refused its next checkpoint by the store and stops; a
// node that cannot renew stops executing once its lease surely expired; a
// node that stalled longer than its lease writes nothing when it wakes,
// even after the new holder finished the run. Each time the run finishes
// once, on the node that took it.
func TestClusterFencing(t *testing.T) {
	for _, mode := range []string{"lie", "fail", "stall"} {
		t.Run(mode, func(t *testing.T) {
			url := pgURL(t)
			a := newNode(t, url, "a")
			a.honorCtx = mode == "fail"
			a.start()
			b := newNode(t, url, "b").start()
			a.putFlow(`{"id":"f","name":"F","trigger":{"type":"test"},"steps":[{"id":"s","type":"where"},{"id":"p","type":"probe"}]}`)
			eventually(t, 2*time.Second, "the flow is live on b", func() bool { _, err := b.eng.Flow("f"); return err == nil })
			a.hold()
			b.hold()
			id := a.accept("f")
			eventually(t, 5*time.Second, "a executes step s", func() bool { return len(a.ranSteps()) == 1 })
			a.flaky.mode.Store(mode)
			eventually(t, 10*time.Second, "b took the run over", func() bool { return len(b.ranSteps()) == 1 })
			if mode == "fail" {
				eventually(t, 5*time.Second, "a stopped executing", func() bool { return a.stopped.Load() == 1 })
			}
			if mode == "stall" {
				b.release()
				ended(t, b.store, id, 10*time.Second)
			}
			a.release() // a's step returns; its next checkpoint is refused
			if mode != "fail" {
				eventually(t, 5*time.Second, "a counts the lost lease", func() bool { return a.obs.lost.Load() == 1 })
			}
			b.release()
			r := ended(t, b.store, id, 10*time.Second)
			if r.Status != engine.RunSucceeded || ranBy(r, "s") != "b" {
				t.Errorf("run: %s, s on %q; want succeeded on b", r.Status, ranBy(r, "s"))
			}
			if b.obs.taken.Load() != 1 {
				t.Errorf("b took %d runs over, want 1", b.obs.taken.Load())
			}
			if got := calls(id); len(got) != 1 {
				t.Errorf("probe ran %d times (%v); want once, on b", len(got), got)
			}
			if a.obs.lost.Load() != 1 {
				t.Errorf("a lost %d leases, want 1", a.obs.lost.Load())
			}
			a.flaky.mode.Store("")
		})
	}
}

// TestRefreshIsSerialisedAcrossNodes: two nodes whose steps find a
// connection's token about to expire at once refresh it once (the provider
// rotates refresh tokens), and each node redacts the token the other got.
func TestRefreshIsSerialisedAcrossNodes(t *testing.T) {
	ctx := context.Background()
	url := pgURL(t)
	prov := oauthtest.New("client-one", "client-secret-s3cr3t-value")
	t.Cleanup(prov.Close)
	clock := &connHarness{now: time.Now()}
	var mgrs []*engine.Connections
	var vaults []*secrets.Vault
	for _, node := range []string{"a", "b"} {
		st, err := pgstore.Open(ctx, url, pgstore.Options{Node: node, Lease: testLease})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		m, vault := newConnManager(t, st, clock.clock)
		mgrs, vaults = append(mgrs, m), append(vaults, vault)
	}
	h := &connHarness{m: mgrs[0], prov: prov}
	h.createOAuth(t, "crm", "client-secret-s3cr3t-value")
	state, code, _ := h.consent(t, "crm")
	if _, err := mgrs[0].Callback(ctx, state, code, "", redirectURI); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	var wg sync.WaitGroup
	tokens := make([]string, 16)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := mgrs[i%2].Credential(ctx, "crm")
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = c.Token
		}()
	}
	wg.Wait()
	if _, refreshes, _ := prov.Counts(); refreshes != 1 {
		t.Errorf("refreshes = %d across two nodes, want 1", refreshes)
	}
	for _, tok := range tokens[1:] {
		if tok != tokens[0] {
			t.Fatal("steps on the two nodes got different tokens")
		}
	}
	for i, v := range vaults {
		if got := v.RedactString("token " + tokens[0]); strings.Contains(got, tokens[0]) {
			t.Errorf("node %d does not redact the refreshed token: %q", i, got)
		}
	}
}

// TestClusterCancelWhileHolderDead: a run canceled through another node
// while its holder is dead (the notice reaches no one) ends canceled when
// a node takes it over, without running a step.
func TestClusterCancelWhileHolderDead(t *testing.T) {
	url := pgURL(t)
	dead := newNode(t, url, "dead") // its engine never starts: its leases expire
	b := newNode(t, url, "b").start()
	b.putFlow(`{"id":"c","name":"C","trigger":{"type":"test"},"steps":[{"id":"p","type":"probe"}]}`)
	ctx := context.Background()
	f, err := dead.store.GetFlow(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r := &engine.Run{ID: engine.NewID(), FlowID: "c", FlowVersion: f.Version, Status: engine.RunQueued, CreatedAt: now,
		Trigger: engine.TriggerData{Type: "test", ReceivedAt: now}, Steps: []*engine.StepRun{}}
	if _, _, err := dead.store.CreateRun(ctx, r, "", 0); err != nil {
		t.Fatal(err)
	}
	if err := b.eng.Cancel(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	got := ended(t, b.store, r.ID, 10*time.Second)
	if got.Status != engine.RunCanceled {
		t.Errorf("run canceled while its holder was dead: %s %s", got.Status, got.Error)
	}
	if c := calls(r.ID); len(c) != 0 {
		t.Errorf("the canceled run's step ran: %v", c)
	}
	// The mark is dropped just after the run's end is stored (Engine.ended),
	// so the run can be seen ended a moment before.
	eventually(t, 5*time.Second, "the cancel mark goes with the run", func() bool {
		_, err := b.store.GetResume(ctx, r.ID, "!cancel")
		return errors.Is(err, engine.ErrNotFound)
	})
}
