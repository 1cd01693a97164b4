package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sync/semaphore"
	"log"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Secrets gives the engine decrypted secret values and redaction. The
// implementation (engine/secrets) keeps them encrypted at rest.
type Secrets interface {
	// Values maps names to values for {{ secrets.NAME }}.
	Values() map[string]any
	// RedactString replaces every secret value in s with [redacted].
	RedactString(s string) string
	// RedactValue returns a deep copy of v with secret values replaced.
	RedactValue(v any) any
	// With returns a redaction that also hides extra values: the strings
	// one run derived from secrets.
	With(extra []string) Redaction
}

// Redaction hides secret values in text and JSON-like data.
type Redaction interface {
	RedactString(s string) string
	RedactValue(v any) any
}

// Config wires an Engine.
type Config struct {
	Store    Store
	Registry *Registry
	Secrets  Secrets
	Observer Observer
	// HTTP and Dial are the SSRF-guarded outgoing client and dialer.
	HTTP *http.Client
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Workers bounds runs executing at once (default 256). Most of a run's
	// time is waits — its checkpoints' commits, its calls — so workers are
	// many; what a run holds in memory is bounded apart (heavySlots,
	// Engine.bodies).
	Workers int
	// StepTimeout bounds one attempt of a step without its own timeout (default 30s).
	StepTimeout time.Duration
	// ExprLimits bound each evaluation of an expression or template in a
	// step (zero fields: DefaultLimits).
	ExprLimits Limits
	// Retention bounds every flow's finished runs unless the flow sets its own.
	Retention Retention
	// PruneEvery is how often retention runs (default 10m).
	PruneEvery time.Duration
	// Fault, when set, is called at named points of the write path (crash
	// tests kill the process there): "step.after_side_effect",
	// "run.waiting_delay", "run.waiting_retry".
	Fault func(point string)
	// BaseURL is the server's public URL, for resume_url() (default
	// http://localhost:8080).
	BaseURL string
	// OnNotice, when set, receives the notices from other nodes that the
	// engine does not act on itself (NoticeApps), and NoticeResync after the
	// listener (re)connects.
	OnNotice func(ctx context.Context, n Notice)
	// Now is the clock (default time.Now).
	Now  func() time.Time
	Logf func(format string, args ...any)
}

// Engine runs flows: it accepts events, executes runs durably and resumes
// them after a restart. It is the one entry point the server and the command
// line use for flows and runs.
type Engine struct {
	cfg   Config
	store Store
	reg   *Registry
	obs   Observer
	now   func() time.Time
	logf  func(string, ...any)

	mu       sync.RWMutex
	flows    map[string]*Compiled // current version of each flow
	versions map[string]*Compiled // "id@version" for runs on older versions
	broken   map[string]error     // stored flows that no longer compile

	q       *queue
	timers  *timers
	waiters sync.Map // run id → chan Reply
	cancels sync.Map // run id → struct{}: cancel requested while executing
	running sync.Map // run id → context.CancelFunc of its execution
	listen  sync.Map // flow id → chan *TriggerData
	wakes   sync.Map // run id → flow id: woken (resumed, child ended) while maybe executing

	keyMu sync.Mutex
	rkey  []byte // resume URL key

	connsOnce sync.Once
	conns     *Connections // connections.go; nil when the store or secrets lack support

	startersMu sync.Mutex
	starters   map[string]context.CancelFunc
	// leader: this node runs the starters (always, on one node).
	leader atomic.Bool

	// nodes is the clustering state (nodes.go); nil when the store serves one node.
	nodes *nodes
	// bodies bounds the bytes of big bodies (over bigBody) of the runs
	// executing at once (executingBodyBytes).
	bodies *semaphore.Weighted
	// answers and answerReserve bound the bytes of big answers the
	// executions running hold (see answerRoom.room).
	answers, answerReserve *semaphore.Weighted

	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup // timers, starters
	workers sync.WaitGroup
}

// DefaultWorkers is Config.Workers when unset. Measured on two cores
// (docs/benchmarks.md): with 64 workers blocked on checkpoint commits, runs
// completed at 4,100/s while a fifth of the CPU stayed idle; with 128–256
// they kept pace with ingest (5,100–6,100/s, 256 ahead in turns); with 512
// the CPU went to scheduling them (5,050/s).
const DefaultWorkers = 256

// bigBody is the body size (JSON and raw text) from which an executing run
// counts against executingBodyBytes; executingBodyBytes bounds what such
// runs hold at once — 64 bodies of the default 1 MiB limit, as when 64
// workers bounded it.
const (
	bigBody            = 64 << 10
	executingBodyBytes = 64 << 20
)

// New returns an engine; call Start to resume runs and start workers.
func New(cfg Config) *Engine {
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fault == nil {
		cfg.Fault = func(string) {}
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = 10 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	e := &Engine{cfg: cfg, store: cfg.Store, reg: cfg.Registry, obs: cfg.Observer, now: cfg.Now, logf: cfg.Logf,
		flows: map[string]*Compiled{}, versions: map[string]*Compiled{}, broken: map[string]error{},
		starters: map[string]context.CancelFunc{}}
	if c, ok := cfg.Store.(Cluster); ok {
		e.nodes = newNodes(c, cfg.Observer)
	}
	e.q = newQueue(e.flowLimit)
	e.bodies = semaphore.NewWeighted(executingBodyBytes)
	e.answers = semaphore.NewWeighted(executingAnswerBytes)
	e.answerReserve = semaphore.NewWeighted(reserveAnswerBytes)
	// A timer can fire while its run is still executing (a 1 ms retry
	// backoff fires before the worker lets the run go): the queue then drops
	// the push, so the wake is also noted for the worker to queue afterwards.
	e.timers = newTimers(cfg.Now, func(it *item) {
		e.wakes.Store(it.runID, it.flowID)
		e.q.push(it)
	})
	return e
}

// Registry returns the kinds registry.
func (e *Engine) Registry() *Registry { return e.reg }

// Store returns the store.
func (e *Engine) Store() Store { return e.store }

// Start loads and compiles every flow, resumes every queued, running and
// waiting run, and starts the workers, the timers and the triggers' starters.
func (e *Engine) Start(ctx context.Context) error {
	e.ctx, e.stop = context.WithCancel(context.Background())
	flows, err := e.store.ListFlows(ctx)
	if err != nil {
		return fmt.Errorf("load flows: %w", err)
	}
	for _, f := range flows {
		c, ps := Compile(f, e.reg)
		if len(ps) > 0 {
			e.broken[f.ID] = ps.Err()
			e.logf("flow %s does not compile and will not run: %v", f.ID, ps.Err())
			continue
		}
		e.flows[f.ID] = c
	}
	if e.nodes != nil {
		// Runs come from claims (the other nodes' runs are theirs), and the
		// starters start when this node takes the starters lock.
		e.startWorkers()
		e.startNodes()
		return nil
	}
	e.leader.Store(true)
	pending, err := e.store.PendingRuns(ctx)
	if err != nil {
		return fmt.Errorf("load pending runs: %w", err)
	}
	// After a stop that was not clean, a run found `running` was executing
	// at the crash. One found so MaxInterrupted starts in a row is failed
	// instead of resumed: a run that kills the server cannot loop it.
	clean, _ := e.store.GetMeta(ctx, cleanStopMeta)
	if err := e.store.PutMeta(ctx, cleanStopMeta, []byte("0")); err != nil {
		return fmt.Errorf("record start: %w", err)
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].ID < pending[j].ID })
	resumed := 0
	for _, r := range pending {
		if r.Status == RunRunning && string(clean) != "1" {
			r.Interrupted++
			if r.Interrupted >= MaxInterrupted {
				e.finish(ctx, &runState{e: e, run: r}, RunFailed, interruptedMessage(r))
				continue
			}
			if err := e.store.SaveRun(ctx, r); err != nil {
				return fmt.Errorf("record interrupted run %s: %w", r.ID, err)
			}
		}
		e.schedule(ctx, r)
		resumed++
	}
	if resumed > 0 {
		e.logf("resuming %d unfinished runs", resumed)
	}
	e.startWorkers()
	for _, c := range e.flows {
		e.restartStarter(c)
	}
	return nil
}

// startWorkers starts the workers, the timers and retention.
func (e *Engine) startWorkers() {
	for i := 0; i < e.cfg.Workers; i++ {
		e.workers.Add(1)
		go e.worker()
	}
	e.wg.Add(1)
	go func() { defer e.wg.Done(); e.timers.loop(e.ctx.Done()) }()
	e.wg.Add(1)
	go e.pruneLoop(e.cfg.PruneEvery)
}

// Close stops the starters and workers. Runs executing finish their current
// step within grace less stopWait; then their context ends (expressions and
// outgoing calls stop) and Close returns within grace, whatever the steps do.
// Whatever is not finished resumes at the next start.
func (e *Engine) Close(grace time.Duration) {
	if e.stop == nil {
		return
	}
	if e.nodes != nil {
		e.closeNodes() // no more claims; another node takes the starters over
	}
	e.stopStarters()
	e.q.close()
	done := make(chan struct{})
	go func() { e.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(max(grace-stopWait, 0)):
	}
	e.stop() // steps still executing see their context end
	stopped := make(chan struct{})
	go func() { <-done; e.wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
		// Every worker left: runs stopped mid-step were not the cause.
		if e.nodes == nil {
			_ = e.store.PutMeta(context.Background(), cleanStopMeta, []byte("1"))
		}
	case <-time.After(stopWait):
		e.logf("stopping: %d runs still executing after %s; they resume at the next start", e.executing(), grace)
	}
	if e.nodes != nil {
		e.releaseRuns() // other nodes claim them now, not when their leases expire
	}
}

// stopWait is how long Close waits, after canceling, for steps to return.
const stopWait = time.Second

// cleanStopMeta records whether the last stop let every worker finish.
const cleanStopMeta = "engine.clean_stop"

// MaxInterrupted is how many starts in a row may find a run executing
// after an unclean stop before it is failed instead of resumed.
const MaxInterrupted = 2

func interruptedMessage(r *Run) string {
	at := "before its first step"
	for _, s := range r.Steps {
		if s.Status == StepRunning || s.Status == StepWaiting || s.Status == "" {
			at = "step " + s.ID
			break
		}
	}
	if at == "before its first step" && len(r.Steps) > 0 {
		at = "after step " + r.Steps[len(r.Steps)-1].ID
	}
	return fmt.Sprintf("stopped: the server stopped %d times in a row while this run executed %s; it is not resumed again (replay it once the cause is fixed)", r.Interrupted, at)
}

// Stats are counts for health pages and metrics.
type Stats struct {
	Queued  int `json:"queued"`
	Waiting int `json:"waiting"`
}

// Stats returns queue depths.
func (e *Engine) Stats() Stats { return Stats{Queued: e.q.Len(), Waiting: e.timers.Len()} }

func (e *Engine) flowLimit(flowID string) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if c := e.flows[flowID]; c != nil {
		return c.Flow.Concurrency
	}
	return 0
}

// Flow returns the compiled current version of a flow.
func (e *Engine) Flow(id string) (*Compiled, error) {
	e.mu.RLock()
	c, ok := e.flows[id]
	bad := e.broken[id]
	e.mu.RUnlock()
	if ok {
		return c, nil
	}
	if bad != nil {
		return nil, fmt.Errorf("flow %q: %w", id, bad)
	}
	return nil, fmt.Errorf("flow %q: %w", id, ErrNotFound)
}

// FlowNames maps each loaded flow's id to its name, from memory (no store read).
func (e *Engine) FlowNames() map[string]string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]string, len(e.flows))
	for id, c := range e.flows {
		out[id] = c.Flow.Name
	}
	return out
}

// flowVersion returns the compiled flow a run executes: the version it recorded.
func (e *Engine) flowVersion(ctx context.Context, id string, version int) (*Compiled, error) {
	c, err := e.Flow(id)
	if err == nil && (version == 0 || c.Flow.Version == version) {
		return c, nil
	}
	key := fmt.Sprintf("%s@%d", id, version)
	e.mu.RLock()
	old := e.versions[key]
	e.mu.RUnlock()
	if old != nil {
		return old, nil
	}
	f, err := e.store.GetFlowVersion(ctx, id, version)
	if errors.Is(err, ErrNotFound) {
		if _, ferr := e.store.GetFlow(ctx, id); errors.Is(ferr, ErrNotFound) {
			return nil, fmt.Errorf("flow %q: %w", id, ErrFlowDeleted)
		}
	}
	if err != nil {
		return nil, err
	}
	old, ps := Compile(f, e.reg)
	if len(ps) > 0 {
		return nil, ps.Err()
	}
	e.mu.Lock()
	e.versions[key] = old
	e.mu.Unlock()
	return old, nil
}

// CreateFlow validates and stores a new flow (ErrExists when the id is taken).
func (e *Engine) CreateFlow(ctx context.Context, f *Flow) (*Flow, error) {
	f.WebhookURL = ""
	c, ps := Compile(f, e.reg)
	if len(ps) > 0 {
		return nil, ps.Err()
	}
	if err := e.store.CreateFlow(ctx, f); err != nil {
		return nil, err
	}
	e.installFlow(c)
	return f, nil
}

// UpdateFlow validates and stores a new version of a flow.
func (e *Engine) UpdateFlow(ctx context.Context, f *Flow) (*Flow, error) {
	f.WebhookURL = ""
	c, ps := Compile(f, e.reg)
	if len(ps) > 0 {
		return nil, ps.Err()
	}
	if cur, err := e.store.GetFlow(ctx, f.ID); err == nil && sameDocument(cur, f) {
		return cur, nil // nothing changed: no new version
	}
	if err := e.store.UpdateFlow(ctx, f); err != nil {
		return nil, err
	}
	e.installFlow(c)
	return f, nil
}

// sameDocument reports whether two flows differ only in what the store sets.
func sameDocument(a, b *Flow) bool {
	x, y := *a, *b
	x.Version, y.Version = 0, 0
	x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}
	x.WebhookURL, y.WebhookURL = "", ""
	ja, err1 := json.Marshal(&x)
	jb, err2 := json.Marshal(&y)
	// json.Marshal compacts the raw `with` settings, so layout does not count.
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// PutFlow creates or replaces a flow (import).
func (e *Engine) PutFlow(ctx context.Context, f *Flow) (*Flow, error) {
	if _, err := e.store.GetFlow(ctx, f.ID); errors.Is(err, ErrNotFound) {
		return e.CreateFlow(ctx, f)
	}
	return e.UpdateFlow(ctx, f)
}

// RestoreFlowVersion saves an earlier version as the newest.
func (e *Engine) RestoreFlowVersion(ctx context.Context, id string, version int) (*Flow, error) {
	f, err := e.store.GetFlowVersion(ctx, id, version)
	if errors.Is(err, ErrNotFound) {
		if _, ferr := e.store.GetFlow(ctx, id); errors.Is(ferr, ErrNotFound) {
			return nil, fmt.Errorf("flow %q: %w", id, ErrFlowDeleted)
		}
	}
	if err != nil {
		return nil, err
	}
	return e.UpdateFlow(ctx, f)
}

// SetEnabled switches a flow on or off (a new version).
func (e *Engine) SetEnabled(ctx context.Context, id string, on bool) (*Flow, error) {
	f, err := e.store.GetFlow(ctx, id)
	if err != nil {
		return nil, err
	}
	f.Enabled = on
	return e.UpdateFlow(ctx, f)
}

// DeleteFlow removes a flow; its runs stay in history.
func (e *Engine) DeleteFlow(ctx context.Context, id string) error {
	if err := e.store.DeleteFlow(ctx, id); err != nil {
		return err
	}
	e.removeFlow(id)
	return nil
}

func (e *Engine) installFlow(c *Compiled) {
	e.mu.Lock()
	e.flows[c.Flow.ID] = c
	delete(e.broken, c.Flow.ID)
	e.mu.Unlock()
	e.q.wakeAll() // its concurrency may have risen
	if e.ctx != nil {
		e.restartStarter(c)
	}
}

func (e *Engine) stopStarter(id string) {
	e.startersMu.Lock()
	defer e.startersMu.Unlock()
	if cancel := e.starters[id]; cancel != nil {
		cancel()
		delete(e.starters, id)
	}
}

// restartStarter (re)starts the trigger's own producer (schedule, poll, reconcile).
func (e *Engine) restartStarter(c *Compiled) {
	st, ok := c.Trigger.(Starter)
	// One hold of startersMu for the check, the stop and the start: a
	// leadership change (stopStarters) or a second restart of the same flow
	// (a save here and its notice) cannot slip in between and leave two
	// starters, or one on a node that is no longer the leader.
	e.startersMu.Lock()
	if cancel := e.starters[c.Flow.ID]; cancel != nil {
		cancel()
		delete(e.starters, c.Flow.ID)
	}
	if !ok || !c.Flow.Enabled || !e.isLeader() {
		e.startersMu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	e.starters[c.Flow.ID] = cancel
	e.startersMu.Unlock()
	flowID := c.Flow.ID
	sc := &StartContext{
		Flow:  c.Flow,
		Sink:  e,
		State: e.store,
		MarkSeen: func(ctx context.Context, keys []string, window time.Duration) error {
			return e.store.MarkSeen(ctx, flowID, keys, window)
		},
		Seen: func(ctx context.Context, key string) (bool, error) {
			_, ok, err := e.store.Seen(ctx, flowID, key)
			return ok, err
		},
		HTTP:    e.cfg.HTTP,
		Secrets: e.SecretValues,
		Now:     e.now,
		After:   time.After,
		Logf: func(format string, args ...any) {
			e.logf("flow %s: %s", flowID, e.redact(fmt.Sprintf(format, args...)))
		},
		PollResult: func(kind string, err error, started int) {
			e.obs.PollDone(flowID, kind, err)
			e.recordPoll(flowID, kind, err, started)
		},
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		if err := st.Start(ctx, sc); err != nil && ctx.Err() == nil {
			e.logf("flow %s: trigger stopped: %s", flowID, e.redact(err.Error()))
		}
	}()
}

// PollStatus is the outcome of a flow's last poll or reconcile cycle.
type PollStatus struct {
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	Error   string    `json:"error,omitempty"`
	Started int       `json:"started"`
}

// recordPoll keeps the last cycle's outcome for the UI (state "last_<kind>").
func (e *Engine) recordPoll(flowID, kind string, err error, started int) {
	ps := PollStatus{At: e.now().UTC(), OK: err == nil, Started: started}
	if err != nil {
		ps.Error = e.redact(err.Error())
	}
	b, _ := json.Marshal(ps)
	if werr := e.store.PutState(e.ctx, flowID, "last_"+kind, b); werr != nil {
		e.logf("flow %s: record %s result: %v", flowID, kind, werr)
	}
}

// LastPoll returns the outcome of the flow's last "poll" or "reconcile" cycle.
func (e *Engine) LastPoll(ctx context.Context, flowID, kind string) (*PollStatus, error) {
	b, err := e.store.GetState(ctx, flowID, "last_"+kind)
	if err != nil {
		return nil, err
	}
	var ps PollStatus
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("decode last %s of %s: %w", kind, flowID, err)
	}
	return &ps, nil
}

// SecretValues returns the decrypted secrets for {{ secrets.NAME }}.
func (e *Engine) SecretValues() map[string]any {
	if e.cfg.Secrets == nil {
		return map[string]any{}
	}
	return e.cfg.Secrets.Values()
}

// Redact replaces secret values in s (for errors and logs).
func (e *Engine) Redact(s string) string { return e.redact(s) }

// Unwait drops the waiter of a wait-mode request that stopped waiting.
func (e *Engine) Unwait(runID string) { e.waiters.Delete(runID) }

func (e *Engine) redact(s string) string {
	if e.cfg.Secrets == nil {
		return s
	}
	return e.cfg.Secrets.RedactString(s)
}

func (e *Engine) redactValue(v any) any {
	if e.cfg.Secrets == nil || v == nil {
		return v
	}
	return e.cfg.Secrets.RedactValue(v)
}

// Accept stores a new queued run for the event durably, then queues it for a
// worker (Sink). A duplicate returns the first run's id and dup=true.
func (e *Engine) Accept(ctx context.Context, flowID string, ev *Event) (string, bool, error) {
	id, dup, _, err := e.accept(ctx, flowID, ev, false)
	return id, dup, err
}

// AcceptWait is Accept for respond mode `wait`: the returned channel receives
// the respond step's answer, or the run's end.
func (e *Engine) AcceptWait(ctx context.Context, flowID string, ev *Event) (string, bool, <-chan Reply, error) {
	return e.accept(ctx, flowID, ev, true)
}

// Reply is what a waiting webhook request is answered with.
type Reply struct {
	// Final is true when the run ended without a respond step.
	Final   bool
	Status  int
	Headers map[string]string
	Body    any
	Run     *Run
}

func (e *Engine) accept(ctx context.Context, flowID string, ev *Event, wait bool) (string, bool, <-chan Reply, error) {
	c, err := e.Flow(flowID)
	if err != nil {
		return "", false, nil, err
	}
	r := e.newRun(c, ev.Trigger)
	var ch chan Reply
	if wait {
		ch = make(chan Reply, 1)
		e.waiters.Store(r.ID, ch)
	}
	id, dup, err := e.store.CreateRun(ctx, r, ev.DedupeKey, ev.DedupeWindow)
	if err != nil || dup {
		if wait {
			e.waiters.Delete(r.ID)
		}
		return id, dup, nil, err
	}
	e.hold(r.ID, flowID) // the store leased it to this node as it created it
	e.q.push(&item{runID: r.ID, flowID: flowID, run: r})
	return id, false, ch, nil
}

func (e *Engine) newRun(c *Compiled, t TriggerData) *Run {
	if t.ReceivedAt.IsZero() {
		t.ReceivedAt = e.now().UTC()
	}
	if t.Headers == nil {
		t.Headers = map[string]string{}
	}
	if t.Query == nil {
		t.Query = map[string]any{}
	}
	if t.Files == nil {
		t.Files = []File{}
	}
	return &Run{ID: NewID(), FlowID: c.Flow.ID, FlowVersion: c.Flow.Version, Status: RunQueued,
		Trigger: t, Steps: []*StepRun{}, CreatedAt: e.now().UTC()}
}

// RunManual starts a run with body as trigger.body (manual trigger, "Test flow").
// With a nil body the flow's sample event is used when there is one.
func (e *Engine) RunManual(ctx context.Context, flowID string, body any) (string, error) {
	c, err := e.Flow(flowID)
	if err != nil {
		return "", err
	}
	t := TriggerData{Type: "manual", Body: body}
	if body == nil {
		if s, err := e.store.GetSample(ctx, flowID); err == nil {
			t = *s // the captured request, started by hand
			t.Type = "manual"
			t.ReceivedAt = time.Time{}
		}
	}
	r := e.newRun(c, t)
	if _, _, err := e.store.CreateRun(ctx, r, "", 0); err != nil {
		return "", err
	}
	e.hold(r.ID, flowID)
	e.q.push(&item{runID: r.ID, flowID: flowID, run: r})
	return r.ID, nil
}

// Listen arms a flow to capture its next webhook as the sample event instead
// of running it. The returned channel receives the capture; stop disarms.
func (e *Engine) Listen(flowID string) (<-chan *TriggerData, func()) {
	ch := make(chan *TriggerData, 1)
	e.listen.Store(flowID, ch)
	return ch, func() { e.listen.CompareAndDelete(flowID, ch) }
}

// Listening reports whether the flow is armed to capture a sample.
func (e *Engine) Listening(flowID string) bool {
	_, ok := e.listen.Load(flowID)
	return ok
}

// Capture stores t as the flow's sample if the flow is listening; it reports
// whether it did (then no run is started).
func (e *Engine) Capture(ctx context.Context, flowID string, t *TriggerData) (bool, error) {
	v, ok := e.listen.LoadAndDelete(flowID)
	if !ok {
		return false, nil
	}
	if err := e.store.PutSample(ctx, flowID, t); err != nil {
		return false, err
	}
	select {
	case v.(chan *TriggerData) <- t:
	default:
	}
	return true, nil
}

// ReplayOptions choose where a replay starts and on which flow version.
type ReplayOptions struct {
	// From is "start" (default) or "failed_step" (reuse the outputs of the steps that succeeded).
	From string `json:"from"`
	// Version is "current" (default) or "original".
	Version string `json:"version"`
}

// Replay starts a new run with the trigger data of an earlier one.
func (e *Engine) Replay(ctx context.Context, runID string, o ReplayOptions) (string, error) {
	old, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return "", err
	}
	var c *Compiled
	switch o.Version {
	case "", "current":
		c, err = e.Flow(old.FlowID)
	case "original":
		c, err = e.flowVersion(ctx, old.FlowID, old.FlowVersion)
	default:
		return "", &ProblemsError{Problems: Problems{{Path: "version", Message: `must be "current" or "original"`}}}
	}
	if err != nil {
		return "", err
	}
	r := e.newRun(c, old.Trigger)
	r.ReplayOf = old.ID
	switch o.From {
	case "", "start":
	case "failed_step":
		for _, s := range old.Steps {
			if s.Status == StepSucceeded || s.Status == StepSkipped {
				cp := *s
				r.Steps = append(r.Steps, &cp)
			}
		}
		r.Vars = old.Vars
	default:
		return "", &ProblemsError{Problems: Problems{{Path: "from", Message: `must be "start" or "failed_step"`}}}
	}
	if _, _, err := e.store.CreateRun(ctx, r, "", 0); err != nil {
		return "", err
	}
	e.hold(r.ID, r.FlowID)
	e.q.push(&item{runID: r.ID, flowID: r.FlowID, run: r})
	return r.ID, nil
}

// BulkReplay replays every run of a flow with the status created in [since, until).
type BulkReplay struct {
	Flow   string    `json:"flow"`
	Status RunStatus `json:"status"`
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	ReplayOptions
}

// ReplayMany replays the runs a BulkReplay selects (at most 10,000).
func (e *Engine) ReplayMany(ctx context.Context, b BulkReplay) ([]string, error) {
	if b.Flow == "" {
		return nil, fmt.Errorf("bulk replay: flow is required: %w", ErrInvalid)
	}
	if b.Status == "" {
		b.Status = RunFailed
	}
	ids := []string{}
	q := RunQuery{FlowID: b.Flow, Status: b.Status, Since: b.Since, Until: b.Until, Limit: 500}
	for len(ids) < 10000 {
		page, err := e.store.ListRunSummaries(ctx, q) // Replay reads each run itself
		if err != nil {
			return ids, err
		}
		next := page.Next
		for _, r := range page.Runs {
			id, err := e.Replay(ctx, r.ID, b.ReplayOptions)
			if err != nil {
				return ids, err
			}
			ids = append(ids, id)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	return ids, nil
}

// Cancel stops a queued, running or waiting run. A step executing now is
// stopped (its expressions and outgoing calls see their context end); the
// run then ends canceled. A run another node holds is canceled there.
func (e *Engine) Cancel(ctx context.Context, runID string) error {
	r, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	if r.Status.Final() {
		return fmt.Errorf("cancel run %s: it already ended %s: %w", runID, r.Status, ErrConflict)
	}
	if _, ok := e.holds(runID); !ok {
		// Recorded first, so that a holder that died before the notice
		// reaches it does not lose the cancel: the node that takes the
		// run over finds the mark (adopt).
		if rs, err := e.resumes(); err == nil {
			if _, _, err := rs.ClaimResume(ctx, runID, cancelMark, []byte(`{}`)); err != nil {
				return fmt.Errorf("cancel run %s: record the request: %w", runID, err)
			}
		}
		if err := e.notify(ctx, NoticeCancel, runID); err != nil {
			return fmt.Errorf("cancel run %s on the node that runs it: %w", runID, err)
		}
		return nil
	}
	e.cancelHere(runID, r.FlowID)
	return nil
}

// cancelMark is the wait-outcome key (ResumeStore) under which a cancel
// of a run held by another node is recorded; step ids cannot contain "!".
const cancelMark = "!cancel"

// cancelRequested reports whether a cancel of the run was recorded by a
// node that did not hold it.
func (e *Engine) cancelRequested(ctx context.Context, runID string) bool {
	rs, err := e.resumes()
	if err != nil {
		return false
	}
	_, err = rs.GetResume(ctx, runID, cancelMark)
	return err == nil
}

// cancelHere is Cancel of a run this node holds.
func (e *Engine) cancelHere(runID, flowID string) {
	e.cancels.Store(runID, struct{}{})
	if stop, ok := e.running.Load(runID); ok {
		stop.(context.CancelFunc)() // a step evaluating or calling out stops now
	}
	e.timers.remove(runID)
	e.q.push(&item{runID: runID, flowID: flowID})
}
