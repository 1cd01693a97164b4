package engine

import "testing"

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
