package triggers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/netguard"
)

// fakeClock is a clock tests move by hand: After returns channels that fire
// when Advance or Set passes their time. Nothing sleeps.
type fakeClock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	c := &fakeClock{now: now}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	c.cond.Broadcast()
	return ch
}

// Set moves the clock to t and fires every waiter due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
		} else {
			w.ch <- t
		}
	}
	c.waiters = kept
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// BlockUntil waits until n goroutines wait on the clock (or fails after 10s
// of real time: a watchdog, not a sleep).
func (c *fakeClock) BlockUntil(t *testing.T, n int) {
	t.Helper()
	timedOut := false
	stop := time.AfterFunc(10*time.Second, func() {
		c.mu.Lock()
		timedOut = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer stop.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) < n && !timedOut {
		c.cond.Wait()
	}
	if timedOut {
		t.Fatalf("clock: %d waiters after 10s, want %d", len(c.waiters), n)
	}
}

// memState is an in-memory engine.StateStore.
type memState struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemState() *memState { return &memState{m: map[string][]byte{}} }

func (s *memState) GetState(_ context.Context, flowID, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[flowID+"/"+name]
	if !ok {
		return nil, fmt.Errorf("state %s: %w", name, engine.ErrNotFound)
	}
	return v, nil
}

func (s *memState) PutState(_ context.Context, flowID, name string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[flowID+"/"+name] = v
	return nil
}

func (s *memState) get(flowID, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.m[flowID+"/"+name])
}

// memSink is an in-memory engine.Sink with the dedupe of the real one
// (without expiry); it also serves MarkSeen and Seen.
type memSink struct {
	mu     sync.Mutex
	seen   map[string]string // key → run id ("" from MarkSeen)
	events []*engine.Event
	dups   int
	failN  int // refuse this many Accept calls first
	got    chan *engine.Event
}

func newMemSink() *memSink {
	return &memSink{seen: map[string]string{}, got: make(chan *engine.Event, 1000)}
}

func (s *memSink) Accept(_ context.Context, _ string, ev *engine.Event) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failN > 0 {
		s.failN--
		return "", false, errStoreDown
	}
	if id, ok := s.seen[ev.DedupeKey]; ok && ev.DedupeKey != "" {
		s.dups++
		return id, true, nil
	}
	id := fmt.Sprintf("run-%d", len(s.events)+1)
	if ev.DedupeKey != "" {
		s.seen[ev.DedupeKey] = id
	}
	s.events = append(s.events, ev)
	s.got <- ev
	return id, false, nil
}

func (s *memSink) markSeen(_ context.Context, keys []string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if _, ok := s.seen[k]; !ok && k != "" {
			s.seen[k] = ""
		}
	}
	return nil
}

func (s *memSink) isSeen(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seen[key]
	return ok, nil
}

func (s *memSink) count() (runs, dups int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events), s.dups
}

func (s *memSink) bodies() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]any, len(s.events))
	for i, ev := range s.events {
		out[i] = ev.Trigger.Body
	}
	return out
}

// next returns the next accepted event (failing after 10s).
func (s *memSink) next(t *testing.T) *engine.Event {
	t.Helper()
	select {
	case ev := <-s.got:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event accepted within 10s")
		return nil
	}
}

// pollResult is one sc.PollResult report.
type pollResult struct {
	kind    string
	err     error
	started int
}

// harness wires a StartContext to the fakes.
type harness struct {
	clk     *fakeClock
	state   *memState
	sink    *memSink
	sc      *engine.StartContext
	results chan pollResult
	logs    chan string
}

func newHarness(t *testing.T, flowID string, now time.Time) *harness {
	h := &harness{clk: newFakeClock(now), state: newMemState(), sink: newMemSink(),
		results: make(chan pollResult, 100), logs: make(chan string, 1000)}
	h.sc = &engine.StartContext{
		Flow:     &engine.Flow{ID: flowID, Name: flowID, Enabled: true},
		Sink:     h.sink,
		State:    h.state,
		MarkSeen: h.sink.markSeen,
		Seen:     h.sink.isSeen,
		HTTP:     localClient(t),
		Secrets:  func() map[string]any { return map[string]any{"TOKEN": "s3cr3t-token"} },
		Now:      h.clk.Now,
		After:    h.clk.After,
		Logf: func(format string, args ...any) {
			select {
			case h.logs <- fmt.Sprintf(format, args...):
			default:
			}
		},
		PollResult: func(kind string, err error, started int) { h.results <- pollResult{kind, err, started} },
	}
	return h
}

// result returns the next PollResult report (failing after 10s).
func (h *harness) result(t *testing.T) pollResult {
	t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no poll result within 10s")
		return pollResult{}
	}
}

// start runs st.Start in a goroutine; the returned stop cancels it and
// waits for it to return.
func start(t *testing.T, st engine.Starter, sc *engine.StartContext) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Start(ctx, sc) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// localClient is the SSRF-guarded client with 127.0.0.0/8 allowed, as the
// server builds it with --allow-nets.
func localClient(t testing.TB) *http.Client {
	t.Helper()
	return netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).HTTPClient()
}

// newEngine returns a real engine over a bbolt store in t.TempDir(), with
// every trigger and action kind registered. Its workers are not started:
// runs stay queued, which is all the tests count.
func newEngine(t *testing.T) (*engine.Engine, *boltstore.Store) {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := engine.NewRegistry()
	Register(reg)
	actions.Register(reg)
	eng := engine.New(engine.Config{Store: st, Registry: reg, HTTP: localClient(t), Logf: t.Logf})
	return eng, st
}

// engineContext is the StartContext the engine gives a flow's starter,
// with the fake clock.
func engineContext(t *testing.T, eng *engine.Engine, st *boltstore.Store, f *engine.Flow, clk *fakeClock, secrets map[string]any, results chan pollResult) *engine.StartContext {
	return &engine.StartContext{
		Flow:  f,
		Sink:  eng,
		State: st,
		MarkSeen: func(ctx context.Context, keys []string, window time.Duration) error {
			return st.MarkSeen(ctx, f.ID, keys, window)
		},
		Seen: func(ctx context.Context, key string) (bool, error) {
			_, ok, err := st.Seen(ctx, f.ID, key)
			return ok, err
		},
		HTTP:    localClient(t),
		Secrets: func() map[string]any { return secrets },
		Now:     clk.Now,
		After:   clk.After,
		Logf:    t.Logf,
		PollResult: func(kind string, err error, started int) {
			if results != nil {
				results <- pollResult{kind, err, started}
			}
		},
	}
}

// allRuns lists every run of a flow.
func allRuns(t *testing.T, st *boltstore.Store, flowID string) []*engine.Run {
	t.Helper()
	var out []*engine.Run
	q := engine.RunQuery{FlowID: flowID, Limit: 500}
	for {
		runs, next, err := st.ListRuns(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, runs...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
}

var errStoreDown = errors.New("store unavailable for the test")
