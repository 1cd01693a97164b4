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
