package boltstore

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// History reads never hold a read transaction for long: bbolt's writer must
// wait for every reader before it can remap a growing file, so a search over
// a million runs in one transaction would stall webhook acknowledgements.
// A list request scans in chunks of at most chunkKeys index entries or about
// chunkTime, each in its own read transaction, reopened just below the last
// run examined; and a request stops after listBudget (once it has examined
// listMinScan entries) or listMaxScan entries, returning what it found with a
// cursor to continue. Tests lower them.
var (
	// scanSlots bounds the chunks that run at once to half the cores (at
	// least one), and a slot rests after each chunk as long as the chunk took:
	// however many clients search, scans use at most a quarter of the CPU
	// and the rest is left to webhooks and runs. Concurrent searches take
	// turns chunk by chunk.
	scanSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

	chunkKeys   = 2000
	chunkTime   = 2 * time.Millisecond
	listBudget  = 50 * time.Millisecond
	listMaxScan = 200_000
	// listMinScan runs are examined whatever the time: a small history is
	// always answered whole, however slow the machine.
	listMinScan = 256
)

// runScan is one list request's progress.
type runScan struct {
	q      engine.RunQuery
	limit  int
	match  *engine.TextMatcher
	bucket []byte
	// prefixes are the key ranges merged newest first (nil: every flow's
	// range in runs_by_flow, so that runs of all flows come in id order).
	prefixes [][]byte
	// from is the last run examined: the next chunk starts strictly below it
	// (nil: at the start).
	from  []byte
	stop  []byte // ids below it are older than Since (with slack)
	since int64
	until int64

	found     []*engine.RunSummary
	scanned   int
	exhausted bool
	buf       []byte // decompression and lower-casing buffer, reused
	lower     []byte
}

func newRunScan(q engine.RunQuery) *runScan {
	sc := &runScan{q: q, limit: q.Limit, match: engine.NewTextMatcher(q.Text), bucket: bRunsByFlow}
	if sc.limit <= 0 {
		sc.limit = defaultRunLimit
	}
	sc.limit = min(sc.limit, maxRunLimit)
	switch {
	case q.Status != "" && pending(q.Status):
		sc.bucket, sc.prefixes = bRunsPending, [][]byte{{}} // a few runs, whatever their flow
	case q.FlowID != "":
		sc.prefixes = [][]byte{prefix(q.FlowID)}
	}
	switch {
	case q.Cursor != "":
		sc.from = []byte(q.Cursor)
	case !q.Until.IsZero():
		sc.from = []byte(ulidKey(q.Until.Add(idSlack)))
	}
	if !q.Since.IsZero() {
		sc.stop = []byte(ulidKey(q.Since.Add(-idSlack)))
		sc.since = q.Since.UnixNano()
	}
	if !q.Until.IsZero() {
		sc.until = q.Until.UnixNano()
	}
	return sc
}

// scanRuns runs one list request: chunks until the page is full, the runs
// are exhausted or the budget is spent.
func (s *Store) scanRuns(ctx context.Context, q engine.RunQuery) (engine.RunPage, error) {
	sc := newRunScan(q)
	start := time.Now()
	partial := false
	for {
		select {
		case scanSlots <- struct{}{}:
		case <-ctx.Done():
			return engine.RunPage{}, fmt.Errorf("list runs: %w", ctx.Err())
		}
		c0 := time.Now()
		err := s.view(func(tx *bolt.Tx) error { return sc.chunk(ctx, tx) })
		if !sc.exhausted && len(sc.found) <= sc.limit {
			time.Sleep(time.Since(c0)) // a slot scans half the time at most
		}
		<-scanSlots
		if err != nil {
			return engine.RunPage{}, fmt.Errorf("list runs: %w", err)
		}
		if sc.exhausted || len(sc.found) > sc.limit {
			break
		}
		if (time.Since(start) >= listBudget && sc.scanned >= listMinScan) || sc.scanned >= listMaxScan {
			partial = true
			break
		}
	}
	page := engine.RunPage{Runs: sc.found, Scanned: sc.scanned, Partial: partial}
	switch {
	case len(sc.found) > sc.limit:
		page.Runs = sc.found[:sc.limit]
		page.Next = page.Runs[sc.limit-1].ID
		page.Partial = false
	case partial:
		page.Next = string(sc.from)
	}
	return page, nil
}

// head is one key range's position in a chunk's merge.
type head struct {
	p    []byte
	c    *bolt.Cursor
	k, v []byte
}

func (h *head) id() []byte { return h.k[len(h.p):] }

// heads is a max-heap of ranges by their current run id.
type heads []*head

func (h heads) Len() int           { return len(h) }
func (h heads) Less(i, j int) bool { return bytes.Compare(h[i].id(), h[j].id()) > 0 }
func (h heads) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heads) Push(x any)        { *h = append(*h, x.(*head)) }
func (h *heads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// chunk examines up to chunkKeys entries (or about chunkTime) in tx.
func (sc *runScan) chunk(ctx context.Context, tx *bolt.Tx) error {
	b := tx.Bucket(sc.bucket)
	prefixes := sc.prefixes
	if prefixes == nil {
		prefixes = flowPrefixes(b)
	}
	h := make(heads, 0, len(prefixes))
	for _, p := range prefixes {
		c := b.Cursor()
		start := append(copyBytes(p), 0xff)
		if sc.from != nil {
			start = append(copyBytes(p), sc.from...)
		}
		if k, v := seekBefore(c, start); sc.inRange(k, p) {
			h = append(h, &head{p: p, c: c, k: k, v: v})
		}
	}
	heap.Init(&h)
	t0 := time.Now()
	for n := 0; len(h) > 0; n++ {
		if n%16 == 15 {
			if time.Since(t0) > chunkTime {
				return nil
			}
			runtime.Gosched() // let waiting goroutines (acknowledgements) run first
		}
		if n >= chunkKeys || sc.scanned >= listMaxScan {
			return nil
		}
		if n%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := h[0]
		id := top.id()
		sc.scanned++
		sc.from = append(sc.from[:0], id...)
		if err := sc.consider(tx, id, top.v); err != nil {
			return err
		}
		if len(sc.found) > sc.limit {
			return nil
		}
		if top.k, top.v = top.c.Prev(); sc.inRange(top.k, top.p) {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	sc.exhausted = true
	return nil
}

// inRange reports whether k is in the range of prefix p and not older than
// Since (with slack; ids that are not ULIDs are always examined).
func (sc *runScan) inRange(k, p []byte) bool {
	if !hasPrefix(k, p) {
		return false
	}
	id := k[len(p):]
	return sc.stop == nil || bytes.Compare(id, sc.stop) >= 0 || !isULIDKey(id)
}

// flowPrefixes lists the flow prefixes present in runs_by_flow, one seek each.
func flowPrefixes(b *bolt.Bucket) [][]byte {
	var out [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil; {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			k, _ = c.Next()
			continue
		}
		out = append(out, copyBytes(k[:i+1]))
		k, _ = c.Seek(append(copyBytes(k[:i]), 1))
	}
	return out
}

// consider adds the run to the page when it passes every filter. Filters
// read the index entry first; the trigger is read only for a text search.
func (sc *runScan) consider(tx *bolt.Tx, id, v []byte) error {
	q := sc.q
	e := parseIndex(v)
	var sum *engine.RunSummary
	if e.ok {
		if (q.Status != "" && string(e.status) != string(q.Status)) ||
			(sc.since != 0 && e.created < sc.since) || (sc.until != 0 && e.created > sc.until) {
			return nil
		}
	} else { // an entry written before summaries: read the run
		data := tx.Bucket(bRuns).Get(id)
		if data == nil {
			return nil
		}
		var err error
		if sum, err = legacySummary(tx, id, data); err != nil {
			return err
		}
		if (q.Status != "" && sum.Status != q.Status) ||
			(!q.Since.IsZero() && sum.CreatedAt.Before(q.Since)) || (!q.Until.IsZero() && sum.CreatedAt.After(q.Until)) {
			return nil
		}
	}
	if sc.match != nil {
		ok, err := sc.textMatch(tx, id)
		if err != nil || !ok {
			return err
		}
	}
	if sum == nil {
		var err error
		if sum, err = e.decodeSummary(id); err != nil {
			return err
		}
	}
	if q.FlowID != "" && sum.FlowID != q.FlowID { // runs_pending holds every flow
		return nil
	}
	sc.found = append(sc.found, sum)
	return nil
}

// legacySummary builds the summary of a run whose index entry has none,
// from its record and its trigger's type and time.
func legacySummary(tx *bolt.Tx, id, data []byte) (*engine.RunSummary, error) {
	r, trig, err := decodeRunRecord(id, data)
	if err != nil {
		return nil, err
	}
	if trig == nil {
		trig = tx.Bucket(bRunTriggers).Get(id)
	}
	meta := trig
	if trig != nil && !legacyJSON(trig) {
		if _, _, _, meta, _, err = triggerParts(trig, nil); err != nil {
			return nil, fmt.Errorf("decode trigger of run %q: %w", id, err)
		}
	}
	if meta != nil {
		var head engine.TriggerSummary // the same field names as TriggerData
		if err := json.Unmarshal(meta, &head); err != nil {
			return nil, fmt.Errorf("decode trigger of run %q: %w", id, err)
		}
		r.Trigger.Type, r.Trigger.Method, r.Trigger.ReceivedAt = head.Type, head.Method, head.ReceivedAt
	}
	return r.Summary(), nil
}

// textMatch reports whether the run's trigger body holds the search text.
func (sc *runScan) textMatch(tx *bolt.Tx, id []byte) (bool, error) {
	v := tx.Bucket(bRunTriggers).Get(id)
	if v == nil { // a run from before triggers had their own bucket
		data := tx.Bucket(bRuns).Get(id)
		if data == nil {
			return false, nil
		}
		_, trig, err := decodeRunRecord(id, data)
		if err != nil || trig == nil {
			return false, err
		}
		v = trig
	}
	text, scratch, err := triggerText(v, sc.buf)
	sc.buf = scratch
	if err != nil {
		return false, fmt.Errorf("decode trigger of run %q: %w", id, err)
	}
	var found bool
	found, sc.lower = sc.match.In(text, sc.lower)
	return found, nil
}
