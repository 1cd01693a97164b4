package engine

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestQueueForget: a queued item whose record went stale (its node lost the
// run and claimed it back) reads the run from the store; others keep theirs.
func TestQueueForget(t *testing.T) {
	q := newQueue(func(string) int { return 0 })
	stale := &item{runID: "a", flowID: "f", run: &Run{ID: "a"}}
	kept := &item{runID: "b", flowID: "f", run: &Run{ID: "b"}}
	q.push(stale)
	q.push(kept)
	q.forget("a")
	q.forget("missing") // not queued: nothing happens
	first, second := q.pop(), q.pop()
	if first.runID != "a" || first.run != nil {
		t.Fatalf("forgotten item: %+v", first)
	}
	if second.runID != "b" || second.run == nil {
		t.Fatalf("other item lost its record: %+v", second)
	}
}

// TestQueueMemoryBound: queued runs keep their decoded records within a
// count and a byte bound; beyond, light items within their byte bound, then
// ids only; and what leaves the queue is uncounted.
func TestQueueMemoryBound(t *testing.T) {
	q := newQueue(func(string) int { return 0 })
	big := make([]byte, 1<<20) // a 1 MiB body: eight fit the full items' bytes
	for i := range 20 {
		id := string(rune('a' + i))
		q.push(&item{runID: id, flowID: "f", run: &Run{ID: id, Trigger: TriggerData{BodyJSON: big, Body: map[string]any{}}}})
	}
	if q.full != 8 || q.fullBytes != 8<<20 || q.bodyBytes != 8<<20 {
		t.Fatalf("full %d (%d bytes), light %d bytes", q.full, q.fullBytes, q.bodyBytes)
	}
	var full, light, ids int
	for range 20 {
		it := q.pop()
		switch {
		case it.light:
			light++
			if it.run.Trigger.Body != nil {
				t.Fatal("a light item kept its decoded body")
			}
		case it.run != nil:
			full++
		default:
			ids++
		}
		q.done(it)
	}
	if full != 8 || light != 8 || ids != 4 {
		t.Fatalf("full %d, light %d, ids %d; want 8, 8, 4", full, light, ids)
	}
	if q.full != 0 || q.fullBytes != 0 || q.bodyBytes != 0 {
		t.Fatalf("after the queue emptied: full %d (%d bytes), light %d bytes", q.full, q.fullBytes, q.bodyBytes)
	}
	// Small bodies: the count bounds the full items.
	small := []byte(`{"a":1}`)
	for i := range maxQueuedInMemory + 1 {
		id := "s" + string(rune(i))
		q.push(&item{runID: id, flowID: "f", run: &Run{ID: id, Trigger: TriggerData{BodyJSON: small}}})
	}
	if q.full != maxQueuedInMemory || q.bodyBytes != len(small) {
		t.Fatalf("full %d, light bytes %d", q.full, q.bodyBytes)
	}
	q.forget("s" + string(rune(0)))
	if q.full != maxQueuedInMemory-1 {
		t.Fatalf("a forgotten full item is still counted: %d", q.full)
	}
}

// TestQueueWakeUps: with waiters woken one at a time (a push wakes one, a
// finished run wakes one only for its own flow's queued runs), no queued run
// is left waiting while a worker idles, and a flow's concurrency holds.
func TestQueueWakeUps(t *testing.T) {
	q := newQueue(func(flow string) int {
		if flow == "one-at-a-time" {
			return 1
		}
		return 0
	})
	const perFlow = 300
	var mu sync.Mutex
	running, most, seen := 0, 0, 0
	all := make(chan struct{})
	var workers sync.WaitGroup
	for range 8 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for it := q.pop(); it != nil; it = q.pop() {
				mu.Lock()
				if it.flowID == "one-at-a-time" {
					running++
					most = max(most, running)
				}
				mu.Unlock()
				runtime.Gosched()
				mu.Lock()
				if it.flowID == "one-at-a-time" {
					running--
				}
				seen++
				if seen == 2*perFlow {
					close(all)
				}
				mu.Unlock()
				q.done(it)
			}
		}()
	}
	for i := range perFlow {
		q.push(&item{runID: fmt.Sprint("a", i), flowID: "one-at-a-time"})
		q.push(&item{runID: fmt.Sprint("b", i), flowID: "any"})
	}
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d runs executed; %d still queued: a wake-up was lost", seen, 2*perFlow, q.Len())
	}
	q.close()
	workers.Wait()
	if most != 1 {
		t.Fatalf("flow with concurrency 1 had %d runs at once", most)
	}
}

// TestQueueDoneWakesAWaiter: a worker waiting while the only queued run's
// flow is at its concurrency is woken when that flow's running run is done,
// even though the worker that finished it takes nothing more.
func TestQueueDoneWakesAWaiter(t *testing.T) {
	q := newQueue(func(string) int { return 1 })
	q.push(&item{runID: "1", flowID: "f"})
	q.push(&item{runID: "2", flowID: "f"})
	first := q.pop()
	got := make(chan *item, 1)
	go func() { got <- q.pop() }()
	select {
	case it := <-got:
		t.Fatalf("run %s executed while the flow's concurrency was taken", it.runID)
	case <-time.After(50 * time.Millisecond):
	}
	q.done(first)
	select {
	case it := <-got:
		if it.runID != "2" {
			t.Fatalf("woke with run %s, want 2", it.runID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting worker was not woken when the flow's run was done")
	}
	q.close()
}

// TestQueueWakeAll: when a flow's concurrency rises, every worker waiting
// for it is woken, not one per finished run.
func TestQueueWakeAll(t *testing.T) {
	var mu sync.Mutex
	limit := 1
	q := newQueue(func(string) int { mu.Lock(); defer mu.Unlock(); return limit })
	for i := range 4 {
		q.push(&item{runID: fmt.Sprint(i), flowID: "f"})
	}
	first := q.pop()
	got := make(chan *item, 3)
	for range 3 {
		go func() { got <- q.pop() }()
	}
	time.Sleep(50 * time.Millisecond) // let them wait
	mu.Lock()
	limit = 4
	mu.Unlock()
	q.wakeAll()
	for range 3 {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("a worker still waits for runs the raised concurrency allows")
		}
	}
	q.done(first)
	q.close()
}
