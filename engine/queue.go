package engine

import (
	"container/heap"
	"sync"
	"time"
)

// queue holds runs ready to execute, one FIFO per flow, served round-robin
// so that one busy flow cannot starve the others, and capped per flow by the
// flow's concurrency.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	flows   map[string]*flowQueue
	ring    []string // flows with queued runs, in arrival order
	next    int
	queued  map[string]bool // run ids queued or executing: a run is never executed twice at once
	limit   func(flowID string) int
	closed  bool
	pending int
	// full counts the queued items that keep their decoded record;
	// fullBytes and bodyBytes are what the full and the light items' bodies
	// hold (body JSON and raw text).
	full      int
	fullBytes int
	bodyBytes int
}

type flowQueue struct {
	items   []*item
	running int
	inRing  bool
}

// Queued runs keep their decoded record in memory while there are fewer
// than maxQueuedInMemory such items whose bodies hold at most
// maxQueuedFullBytes (a decoded body takes a few times its JSON: the bytes
// bound the memory, the count the small bodies). Beyond, a run with a JSON
// body, while the light items' bodies hold at most maxQueuedBodyBytes, keeps
// its record without the decoded body (a light item: the worker decodes the
// body JSON again, which costs a fraction of reading the run back from
// disk); any other is only its id (its record is on disk).
//
// Measured (docs/benchmarks.md): at 64 clients ingest outruns execution and
// runs queue by the ten thousand; with 2,048 full items most of them were
// decoded a second time (≈ 15 µs each).
const (
	maxQueuedInMemory  = 8192
	maxQueuedFullBytes = 8 << 20
	maxQueuedBodyBytes = 8 << 20
)

type item struct {
	runID  string
	flowID string
	run    *Run // nil: load from the store
	// resumed: loaded at start, unfinished when the server last stopped.
	resumed bool
	// light: run's Trigger.Body is to be decoded from Trigger.BodyJSON;
	// bodyBytes is what the item counts against maxQueuedBodyBytes (light)
	// or maxQueuedFullBytes (a full item: run set, not light).
	light     bool
	bodyBytes int
	// size is the run's body (JSON and raw text) when it was queued with its
	// record; 0 when unknown (see Engine.bodies).
	size int
}

func newQueue(limit func(string) int) *queue {
	q := &queue{flows: map[string]*flowQueue{}, queued: map[string]bool{}, limit: limit}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// push adds a run unless it is already queued or executing.
func (q *queue) push(it *item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[it.runID] || q.closed {
		return
	}
	q.queued[it.runID] = true
	if it.run != nil {
		// Memory stays bounded under a burst: beyond the full items the
		// worker decodes the body again, or reloads the run.
		n := len(it.run.Trigger.BodyJSON) + len(it.run.Trigger.Raw)
		it.size = n
		switch {
		case q.full < maxQueuedInMemory && q.fullBytes+n <= maxQueuedFullBytes:
			it.bodyBytes = n
			q.full++
			q.fullBytes += n
		case len(it.run.Trigger.BodyJSON) > 0 && q.bodyBytes+n <= maxQueuedBodyBytes:
			light := *it.run // a copy: whoever created the run may still read it
			light.Trigger.Body = nil
			it.run, it.light, it.bodyBytes = &light, true, n
			q.bodyBytes += n
		default:
			it.run = nil
		}
	}
	fq := q.flows[it.flowID]
	if fq == nil {
		fq = &flowQueue{}
		q.flows[it.flowID] = fq
	}
	fq.items = append(fq.items, it)
	q.pending++
	if !fq.inRing {
		fq.inRing = true
		q.ring = append(q.ring, it.flowID)
	}
	q.cond.Signal()
}

// pop blocks until a run may execute, or returns nil when the queue closes.
func (q *queue) pop() *item {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.closed {
			return nil
		}
		if it := q.take(); it != nil {
			return it
		}
		q.cond.Wait()
	}
}

func (q *queue) take() *item {
	n := len(q.ring)
	for i := 0; i < n; i++ {
		idx := (q.next + i) % n
		id := q.ring[idx]
		fq := q.flows[id]
		lim := q.limit(id)
		if len(fq.items) == 0 || (lim > 0 && fq.running >= lim) {
			continue
		}
		it := fq.items[0]
		fq.items[0] = nil
		fq.items = fq.items[1:]
		fq.running++
		q.pending--
		q.release(it)
		if len(fq.items) == 0 {
			fq.inRing = false
			q.ring = append(q.ring[:idx], q.ring[idx+1:]...)
			if len(q.ring) > 0 {
				q.next = idx % len(q.ring)
			} else {
				q.next = 0
			}
		} else {
			q.next = (idx + 1) % n
		}
		return it
	}
	return nil
}

// release uncounts what a queued item holds in memory.
func (q *queue) release(it *item) {
	switch {
	case it.light:
		q.bodyBytes -= it.bodyBytes
	case it.run != nil:
		q.full--
		q.fullBytes -= it.bodyBytes
	}
	it.bodyBytes = 0
}

// done marks a popped run as no longer executing.
func (q *queue) done(it *item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.queued, it.runID)
	fq := q.flows[it.flowID]
	if fq == nil {
		return
	}
	fq.running--
	if fq.running == 0 && len(fq.items) == 0 {
		delete(q.flows, it.flowID)
	}
	// Only this flow's runs can have waited for this one (its concurrency):
	// wake one worker for them. Every other queued run woke one when it was
	// pushed, and a changed concurrency wakes all (wakeAll). Waking all
	// idle workers here (256 of them by default) cost up to 255 futile
	// wake-ups per run and filled the run queues.
	if len(fq.items) > 0 {
		q.cond.Signal()
	}
}

// wakeAll lets every waiting worker look again: a flow's concurrency
// changed, so runs that waited for it may now execute.
func (q *queue) wakeAll() {
	// Under the lock: a worker that read the old limit in take is either
	// waiting already or will read the new one.
	q.mu.Lock()
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// forget makes a queued run's item read the run from the store when it
// executes: the record it carries is stale (another node may have moved the
// run on since). Only several nodes need it: O(items of all flows).
func (q *queue) forget(runID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.queued[runID] {
		return
	}
	for _, fq := range q.flows {
		for _, it := range fq.items {
			if it.runID == runID && it.run != nil {
				q.release(it)
				it.run, it.light = nil, false
			}
		}
	}
}

// has reports whether a run is queued or executing.
func (q *queue) has(runID string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued[runID]
}

// Len returns how many runs wait for a worker.
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending
}

// timers wakes waiting runs at their next_at. The records are durable (the
// run's status and next_at); this heap is only the in-memory index of them,
// rebuilt from the store at start.
type timers struct {
	mu    sync.Mutex
	h     timerHeap
	kick  chan struct{}
	fire  func(*item)
	now   func() time.Time
	index map[string]*timer
}

type timer struct {
	at  time.Time
	it  *item
	pos int
}

type timerHeap []*timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].pos = i; h[j].pos = j }
func (h *timerHeap) Push(x any)        { t := x.(*timer); t.pos = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

func newTimers(now func() time.Time, fire func(*item)) *timers {
	return &timers{kick: make(chan struct{}, 1), fire: fire, now: now, index: map[string]*timer{}}
}

func (t *timers) add(at time.Time, it *item) {
	t.mu.Lock()
	if old := t.index[it.runID]; old != nil {
		heap.Remove(&t.h, old.pos)
	}
	tm := &timer{at: at, it: it}
	t.index[it.runID] = tm
	heap.Push(&t.h, tm)
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

func (t *timers) remove(runID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.index[runID]; old != nil {
		heap.Remove(&t.h, old.pos)
		delete(t.index, runID)
	}
}

// has reports whether a run waits for a timer.
func (t *timers) has(runID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.index[runID] != nil
}

// Len returns how many runs are waiting for a timer.
func (t *timers) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.h)
}

func (t *timers) loop(done <-chan struct{}) {
	tm := time.NewTimer(time.Hour)
	defer tm.Stop()
	for {
		t.mu.Lock()
		now := t.now()
		var due []*item
		for len(t.h) > 0 && !t.h[0].at.After(now) {
			x := heap.Pop(&t.h).(*timer)
			delete(t.index, x.it.runID)
			due = append(due, x.it)
		}
		wait := time.Hour
		if len(t.h) > 0 {
			wait = t.h[0].at.Sub(now)
		}
		t.mu.Unlock()
		for _, it := range due {
			t.fire(it)
		}
		if !tm.Stop() {
			select {
			case <-tm.C:
			default:
			}
		}
		tm.Reset(wait)
		select {
		case <-done:
			return
		case <-t.kick:
		case <-tm.C:
		}
	}
}
