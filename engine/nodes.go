package engine

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The engine's side of several nodes on one store (cluster.go has the
// contract). With a Cluster the engine does not load every pending run at
// start: it claims runs (claimLoop), renews the leases of the runs it holds
// (renewLoop), listens for notices (listenLoop) and runs the triggers'
// starters only while it holds StartersLock (leaderLoop). Without one
// (boltstore) none of this runs and e.nodes is nil.

// nodes is the clustering state of an engine with a Cluster.
type nodes struct {
	c   Cluster
	obs ClusterObserver // nil when the Observer does not measure clustering

	mu   sync.Mutex
	held map[string]*hold // runs this node holds

	// resyncDue: a notice could not be acted on (the store did not
	// answer); the claim loop re-reads everything until it works.
	resyncDue atomic.Bool

	// ctx ends when Close begins: no more claims, no more leadership.
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
	// renewCtx ends after the workers stopped: leases are renewed while
	// runs finish their steps.
	renewCtx  context.Context
	renewStop context.CancelFunc
	renewWG   sync.WaitGroup

	// logged rate-limits repeated failure logs by what failed.
	logMu  sync.Mutex
	logged map[string]time.Time
}

// hold is one run this node holds.
type hold struct {
	flowID string
	// at is when its lease was last taken or renewed (this node's clock,
	// read before the store call): it lasts at least until at + Lease().
	at time.Time
}

// claimEvery is how often a node claims runs no node holds.
const claimEvery = time.Second

func newNodes(c Cluster, obs Observer) *nodes {
	n := &nodes{c: c, held: map[string]*hold{}, logged: map[string]time.Time{}}
	n.obs, _ = obs.(ClusterObserver)
	return n
}

// hold records that this node holds a run whose lease it just took.
func (e *Engine) hold(runID, flowID string) {
	if e.nodes == nil {
		return
	}
	n := e.nodes
	n.mu.Lock()
	n.held[runID] = &hold{flowID: flowID, at: time.Now()}
	n.mu.Unlock()
}

// unhold forgets a run (it ended, or another node holds it now).
func (e *Engine) unhold(runID string) {
	if e.nodes == nil {
		return
	}
	e.nodes.mu.Lock()
	delete(e.nodes.held, runID)
	e.nodes.mu.Unlock()
}

// holds reports whether this node holds the run (always true on one node),
// and the run's flow when it knows it.
func (e *Engine) holds(runID string) (string, bool) {
	if e.nodes == nil {
		return "", true
	}
	e.nodes.mu.Lock()
	defer e.nodes.mu.Unlock()
	h := e.nodes.held[runID]
	if h == nil {
		return "", false
	}
	return h.flowID, true
}

// leaseFresh reports whether this node's lease on a run it holds surely
// lasts still (its last claim or renewal is less than a lease ago); always
// true on one node. A run not in the held set is left to the store's fence.
func (e *Engine) leaseFresh(runID string) bool {
	if e.nodes == nil {
		return true
	}
	n := e.nodes
	n.mu.Lock()
	h := n.held[runID]
	n.mu.Unlock()
	return h == nil || time.Since(h.at) < n.c.Lease()
}

// logEvery logs at most once per minute per key (a database that is down
// fails every second).
func (n *nodes) logEvery(e *Engine, key, format string, args ...any) {
	n.logMu.Lock()
	last, ok := n.logged[key]
	now := time.Now()
	if ok && now.Sub(last) < time.Minute {
		n.logMu.Unlock()
		return
	}
	n.logged[key] = now
	n.logMu.Unlock()
	e.logf(format, args...)
}

// recovered logs that a failure logged under key is over.
func (n *nodes) recovered(e *Engine, key, msg string) {
	n.logMu.Lock()
	_, ok := n.logged[key]
	delete(n.logged, key)
	n.logMu.Unlock()
	if ok {
		e.logf("%s", msg)
	}
}

// startNodes starts the claim, renew, notice and leadership loops.
func (e *Engine) startNodes() {
	n := e.nodes
	n.ctx, n.stop = context.WithCancel(context.Background())
	n.renewCtx, n.renewStop = context.WithCancel(context.Background())
	n.wg.Add(3)
	go e.claimLoop()
	go e.listenLoop()
	go e.leaderLoop()
	n.renewWG.Add(1)
	go e.renewLoop()
}

// closeNodes stops claiming and leading (Close, before the workers stop):
// another node takes the starters over at once.
func (e *Engine) closeNodes() {
	n := e.nodes
	if n.stop == nil {
		return // never started
	}
	n.stop()
	n.wg.Wait()
	e.setLeader(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.c.Unlock(ctx, StartersLock); err != nil {
		e.logf("stopping: give up the starters lock: %v", err)
	}
}

// releaseRuns gives up the leases of the held runs that are not executing
// (Close, after the workers stopped), so that other nodes claim them now.
func (e *Engine) releaseRuns() {
	n := e.nodes
	if n.renewStop == nil {
		return
	}
	n.renewStop()
	n.renewWG.Wait()
	n.mu.Lock()
	ids := make([]string, 0, len(n.held))
	for id := range n.held {
		if _, busy := e.running.Load(id); !busy {
			ids = append(ids, id)
		}
	}
	n.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.c.ReleaseRuns(ctx, ids); err != nil {
		e.logf("stopping: release %d runs: %v (other nodes take them over when their leases expire)", len(ids), err)
		return
	}
	e.unholdAll(ids)
}

func (e *Engine) unholdAll(ids []string) {
	e.nodes.mu.Lock()
	for _, id := range ids {
		delete(e.nodes.held, id)
	}
	e.nodes.mu.Unlock()
}

// claimLoop claims runs no node holds (new from a command, released, or
// their node died) right away and then every claimEvery; a full batch is
// followed by another claim at once while workers are free.
func (e *Engine) claimLoop() {
	n := e.nodes
	defer n.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		if n.resyncDue.Load() {
			e.resync(n.ctx) // a notice could not be acted on: read everything again
		}
		next := claimEvery
		if e.claim() {
			next = 10 * time.Millisecond
		}
		t.Reset(next)
	}
}

// claim claims up to the workers' free capacity (at least minClaim) and
// adopts what it got; it reports whether the batch was full.
func (e *Engine) claim() bool {
	n := e.nodes
	free := e.cfg.Workers - e.q.Len() - e.executing()
	limit := max(free, minClaim)
	start := time.Now()
	got, err := n.c.ClaimRuns(n.ctx, limit)
	if err != nil {
		if n.ctx.Err() == nil {
			n.logEvery(e, "claim", "claim runs: %v (retrying every %s)", err, claimEvery)
		}
		return false
	}
	n.recovered(e, "claim", "claim runs: the store answers again")
	taken := 0
	for _, cr := range got {
		if cr.TakenFrom != "" {
			taken++
		}
	}
	if n.obs != nil {
		n.obs.RunsClaimed(len(got), taken, time.Since(start))
	}
	for _, cr := range got {
		e.adopt(n.ctx, cr)
	}
	if taken > 0 {
		e.logf("took over %d runs from nodes whose leases expired", taken)
	}
	// Claim again at once only while workers are free: a survivor does
	// not take a dead node's whole backlog in one go.
	return free >= minClaim && len(got) == limit
}

// minClaim is the fewest runs a claim asks for: waiting runs cost no worker.
const minClaim = 8

func (e *Engine) executing() int {
	k := 0
	e.running.Range(func(any, any) bool { k++; return true })
	return k
}

// adopt treats a claimed run as Start treats a pending run on one node.
func (e *Engine) adopt(ctx context.Context, cr ClaimedRun) {
	r := cr.Run
	if cr.TakenFrom == e.nodes.c.Node() {
		if _, ok := e.holds(r.ID); ok {
			e.hold(r.ID, r.FlowID) // its renewal was late; this node still runs it
			return
		}
	}
	// Held before anything is read: a wake noticed from now on is acted on.
	e.hold(r.ID, r.FlowID)
	if e.cancelRequested(ctx, r.ID) {
		// Canceled while its holder was dead (the notice reached no one).
		e.finish(context.WithoutCancel(ctx), &runState{e: e, run: r}, RunCanceled, "canceled")
		return
	}
	if r.Status == RunRunning && cr.TakenFrom != "" {
		// Its node died while executing it.
		r.Interrupted++
		if r.Interrupted >= MaxInterrupted {
			e.finish(context.WithoutCancel(ctx), &runState{e: e, run: r}, RunFailed, interruptedMessage(r))
			return
		}
		if err := e.store.SaveRun(context.WithoutCancel(ctx), r); err != nil {
			if errors.Is(err, ErrLeaseLost) {
				e.leaseLost(r.ID)
				return
			}
			e.logf("run %s: record its interruption: %v", r.ID, err)
		}
	}
	e.schedule(ctx, r)
}

// schedule puts a pending run found in the store where it belongs: a
// timer, nowhere (it waits for a request or a child), or the queue.
func (e *Engine) schedule(ctx context.Context, r *Run) {
	it := &item{runID: r.ID, flowID: r.FlowID, resumed: true}
	switch {
	case r.Status == RunWaiting && r.NextAt != nil && r.NextAt.After(e.now()) && !e.resumable(ctx, r):
		e.timers.add(*r.NextAt, it)
	case r.Status == RunWaiting && r.NextAt == nil && !e.resumable(ctx, r):
		// waits for a request to its resume URL, or its child's end, which wakes it
	default:
		// Noted as woken too: if it still executes here (its lease was
		// dropped and claimed back), the worker queues it when it stops.
		e.wakes.Store(r.ID, r.FlowID)
		e.q.push(it)
	}
}

// renewLoop renews the held runs' leases every Lease()/3. A run missing
// from the answer was taken over by another node and is stopped here. While
// the store does not answer, runs whose lease surely expired stop executing.
func (e *Engine) renewLoop() {
	n := e.nodes
	defer n.renewWG.Done()
	t := time.NewTicker(n.c.Lease() / 3)
	defer t.Stop()
	for {
		select {
		case <-n.renewCtx.Done():
			return
		case <-t.C:
		}
		e.renew()
	}
}

func (e *Engine) renew() {
	n := e.nodes
	n.mu.Lock()
	ids := make([]string, 0, len(n.held))
	for id := range n.held {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	at := time.Now()
	kept, err := n.c.RenewLeases(n.renewCtx, ids)
	if err != nil {
		if n.renewCtx.Err() != nil {
			return
		}
		n.logEvery(e, "renew", "renew the leases of %d runs: %v (retrying every %s)", len(ids), err, n.c.Lease()/3)
		e.dropExpired()
		return
	}
	n.recovered(e, "renew", "renew leases: the store answers again")
	still := make(map[string]bool, len(kept))
	for _, id := range kept {
		still[id] = true
	}
	var lost []string
	n.mu.Lock()
	for _, id := range ids {
		h := n.held[id]
		switch {
		case h == nil:
			// ended or dropped meanwhile
		case still[id]:
			h.at = at
		case h.at.Before(at):
			// Taken over (a run that ends leaves the held set first).
			lost = append(lost, id)
		}
	}
	n.mu.Unlock()
	e.dropAll(lost, "%d runs were taken over by other nodes; this node stopped them")
}

// dropAll drops runs this node lost, counts and logs them (msg has one %d).
func (e *Engine) dropAll(ids []string, msg string) {
	if len(ids) == 0 {
		return
	}
	for _, id := range ids {
		e.drop(id)
	}
	e.logf(msg, len(ids))
	if e.nodes.obs != nil {
		e.nodes.obs.LeasesLost(len(ids))
	}
}

// dropExpired stops the held runs whose lease surely expired (the store
// could not be reached to renew it): another node may be running them.
func (e *Engine) dropExpired() {
	n := e.nodes
	now := time.Now()
	var gone []string
	n.mu.Lock()
	for id, h := range n.held {
		if now.Sub(h.at) > n.c.Lease() {
			gone = append(gone, id)
		}
	}
	n.mu.Unlock()
	e.dropAll(gone, "%d runs' leases expired while the store was unreachable; this node stopped them (a node claims them again)")
}

// drop stops a run this node no longer holds: its execution's context
// ends, its timer goes, and a queued item is skipped by the worker.
func (e *Engine) drop(runID string) {
	e.unhold(runID)
	e.q.forget(runID) // a queued item's in-memory record is stale now
	e.timers.remove(runID)
	e.wakes.Delete(runID)
	e.cancels.Delete(runID)
	if stop, ok := e.running.Load(runID); ok {
		stop.(context.CancelFunc)()
	}
}

// leaseLost handles ErrLeaseLost from a checkpoint: another node runs the
// run now; this one stops quietly.
func (e *Engine) leaseLost(runID string) {
	if _, ok := e.holds(runID); !ok {
		return // dropped already (the renewal saw it first)
	}
	e.drop(runID)
	e.logf("run %s: another node took it over; this node stopped executing it", runID)
	if e.nodes.obs != nil {
		e.nodes.obs.LeasesLost(1)
	}
}

// listenLoop acts on notices from every node until Close.
func (e *Engine) listenLoop() {
	n := e.nodes
	defer n.wg.Done()
	for {
		err := n.c.Listen(n.ctx, e.notice)
		if n.ctx.Err() != nil {
			return
		}
		if err != nil {
			n.logEvery(e, "listen", "listen for notices: %v (retrying every second)", err)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// notice acts on one notice.
func (e *Engine) notice(nt Notice) {
	ctx := e.nodes.ctx
	switch nt.Kind {
	case NoticeFlow:
		e.reloadFlow(ctx, nt.ID)
	case NoticeResync:
		e.nodes.recovered(e, "listen", "listen for notices: connected again")
		e.resync(ctx)
	case NoticeWake:
		if flowID, ok := e.holds(nt.ID); ok {
			e.wake(nt.ID, flowID)
		}
	case NoticeCancel:
		if flowID, ok := e.holds(nt.ID); ok {
			e.cancelHere(nt.ID, flowID)
		}
	case NoticeSecrets:
		e.reloadSecrets(ctx)
	default:
		if e.cfg.OnNotice != nil {
			e.cfg.OnNotice(ctx, nt)
		}
	}
}

// reloadSecrets re-reads the secrets (another node set or deleted one) when
// the engine's Secrets keep them in memory.
func (e *Engine) reloadSecrets(ctx context.Context) {
	r, ok := e.cfg.Secrets.(interface{ Reload(context.Context) error })
	if !ok {
		return
	}
	if err := r.Reload(ctx); err != nil {
		e.nodes.logEvery(e, "secrets", "reload secrets another node changed: %v", err)
	}
}

// reloadFlow installs the stored version of a flow another node saved (a
// version already loaded is left alone: a save on this node installed it).
func (e *Engine) reloadFlow(ctx context.Context, id string) {
	f, err := e.store.GetFlow(ctx, id)
	if errors.Is(err, ErrNotFound) {
		e.removeFlow(id)
		return
	}
	if err != nil {
		e.nodes.logEvery(e, "flow "+id, "flow %s changed on another node; reading it: %v (re-reading every flow every second until it works)", id, err)
		e.nodes.resyncDue.Store(true)
		return
	}
	e.loadFlow(f)
}

// loadFlow compiles and installs f unless its version is the one loaded.
func (e *Engine) loadFlow(f *Flow) {
	e.mu.RLock()
	cur := e.flows[f.ID]
	e.mu.RUnlock()
	if cur != nil && cur.Flow.Version == f.Version {
		return
	}
	c, ps := Compile(f, e.reg)
	if len(ps) > 0 {
		e.mu.Lock()
		delete(e.flows, f.ID)
		e.broken[f.ID] = ps.Err()
		e.mu.Unlock()
		e.q.wakeAll() // no flow, no concurrency limit
		e.stopStarter(f.ID)
		e.logf("flow %s version %d does not compile here and will not run: %v", f.ID, f.Version, ps.Err())
		return
	}
	e.installFlow(c)
}

func (e *Engine) removeFlow(id string) {
	e.mu.Lock()
	delete(e.flows, id)
	delete(e.broken, id)
	e.mu.Unlock()
	e.q.wakeAll() // no flow, no concurrency limit
	e.stopStarter(id)
}

// resync re-reads what notices would have said while the listener was not
// connected: every flow, and whether a held run waiting for a request or a
// child should wake.
func (e *Engine) resync(ctx context.Context) {
	e.reloadSecrets(ctx)
	if e.cfg.OnNotice != nil {
		e.cfg.OnNotice(ctx, Notice{Kind: NoticeResync})
	}
	flows, err := e.store.ListFlows(ctx)
	if err != nil {
		e.nodes.logEvery(e, "resync", "re-read flows after (re)connecting: %v (retrying every second)", err)
		e.nodes.resyncDue.Store(true)
		return
	}
	e.nodes.resyncDue.Store(false)
	stored := make(map[string]bool, len(flows))
	for _, f := range flows {
		stored[f.ID] = true
		e.loadFlow(f)
	}
	e.mu.RLock()
	var gone []string
	for id := range e.flows {
		if !stored[id] {
			gone = append(gone, id)
		}
	}
	for id := range e.broken {
		if !stored[id] {
			gone = append(gone, id)
		}
	}
	e.mu.RUnlock()
	for _, id := range gone {
		e.removeFlow(id)
	}
	n := e.nodes
	n.mu.Lock()
	idle := make([]string, 0)
	for id := range n.held {
		// Runs with a timer too: a `wait` with a timeout has one, and a
		// missed wake must not leave it waiting until the timeout.
		if !e.q.has(id) {
			if _, executing := e.running.Load(id); !executing {
				idle = append(idle, id)
			}
		}
	}
	n.mu.Unlock()
	sort.Strings(idle)
	for _, id := range idle {
		r, err := e.store.GetRun(ctx, id)
		if err != nil || r.Status.Final() {
			continue
		}
		if r.Status == RunWaiting && ((r.NextAt == nil && e.resumable(ctx, r)) || e.waitResumed(ctx, r)) {
			e.wake(r.ID, r.FlowID)
		}
	}
}

// leaderLoop holds StartersLock while it can: the holder runs the
// triggers' starters (schedules, polls, reconciles), one node at a time.
func (e *Engine) leaderLoop() {
	n := e.nodes
	defer n.wg.Done()
	ttl := n.c.Lease()
	var lastOK time.Time
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(ttl / 3)
		start := time.Now()
		ok, err := n.c.TryLock(n.ctx, StartersLock, ttl)
		if err != nil {
			if n.ctx.Err() != nil {
				return
			}
			n.logEvery(e, "lock", "renew the starters lock: %v (retrying every %s)", err, ttl/3)
			if e.isLeader() && time.Since(lastOK) > ttl {
				e.logf("the starters lock expired while the store was unreachable; this node stops the starters")
				e.setLeader(false)
			}
			continue
		}
		n.recovered(e, "lock", "starters lock: the store answers again")
		if ok {
			lastOK = start
		}
		if ok != e.isLeader() {
			if ok {
				e.logf("this node (%s) runs the triggers' starters now", n.c.Node())
			} else {
				e.logf("another node runs the triggers' starters now")
			}
			e.setLeader(ok)
		}
	}
}

// isLeader reports whether this node runs the starters (always on one node).
func (e *Engine) isLeader() bool { return e.leader.Load() }

// setLeader starts or stops every enabled flow's starter.
func (e *Engine) setLeader(on bool) {
	e.startersMu.Lock()
	was := e.leader.Swap(on) // under startersMu: restartStarter checks it there
	if !on {
		for id, cancel := range e.starters {
			cancel()
			delete(e.starters, id)
		}
	}
	e.startersMu.Unlock()
	if was == on || !on {
		return
	}
	e.mu.RLock()
	cs := make([]*Compiled, 0, len(e.flows))
	for _, c := range e.flows {
		cs = append(cs, c)
	}
	e.mu.RUnlock()
	for _, c := range cs {
		e.restartStarter(c)
	}
}

func (e *Engine) stopStarters() {
	e.startersMu.Lock()
	for id, cancel := range e.starters {
		cancel()
		delete(e.starters, id)
	}
	e.startersMu.Unlock()
}

// notify publishes a notice for the holder of a run held elsewhere.
func (e *Engine) notify(ctx context.Context, kind, runID string) error {
	return e.nodes.c.Publish(context.WithoutCancel(ctx), Notice{Kind: kind, ID: runID})
}

// wakeRun wakes a run whose wait ended: here when this node holds it, else
// through a notice to its holder. A run no node holds is found resumable
// by the node that claims it.
func (e *Engine) wakeRun(ctx context.Context, runID, flowID string) {
	if _, ok := e.holds(runID); ok {
		e.wake(runID, flowID)
		return
	}
	if err := e.notify(ctx, NoticeWake, runID); err != nil {
		// The outcome is stored; only the holder's nudge failed. Try again
		// in the background for a while (the holder also checks its
		// waiting runs when its listener reconnects).
		e.logf("run %s: wake it on its node: %v (retrying)", runID, err)
		n := e.nodes
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			for range wakeRetries {
				select {
				case <-n.ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if err := e.notify(n.ctx, NoticeWake, runID); err == nil {
					return
				}
			}
			e.logf("run %s: could not wake it on its node for %d s; it runs when that node next re-reads its waiting runs", runID, wakeRetries)
		}()
	}
}

// wakeRetries is how many seconds a failed wake notice is retried.
const wakeRetries = 120

// Publish sends a notice to every node sharing the store (nothing on a
// single-node store).
func (e *Engine) Publish(ctx context.Context, nt Notice) error {
	c := e.cluster()
	if c == nil {
		return nil
	}
	return c.Publish(context.WithoutCancel(ctx), nt)
}

// ReloadFlows re-reads every flow and compiles again those not loaded (a
// flow that did not compile may now: an app it uses was imported).
func (e *Engine) ReloadFlows(ctx context.Context) {
	flows, err := e.store.ListFlows(ctx)
	if err != nil {
		e.logf("reload flows: %v", err)
		return
	}
	for _, f := range flows {
		e.mu.RLock()
		_, broken := e.broken[f.ID]
		e.mu.RUnlock()
		if broken {
			e.loadFlow(f)
		}
	}
}
