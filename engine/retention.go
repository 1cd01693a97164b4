package engine

import (
	"context"
	"sync"
	"time"
)

// MaxStepOutput is the largest step output (as JSON) kept in a run's history;
// a larger one is replaced by a note with its size and the start of the data.
const MaxStepOutput = 256 << 10

var outputBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// truncateOutput keeps step outputs within MaxStepOutput.
func truncateOutput(v any) (any, bool) {
	if v == nil {
		return nil, false
	}
	// Measured with AppendJSON (encoding/json's bytes) into a reused buffer:
	// most outputs are small, and this runs for every step.
	bp := outputBufs.Get().(*[]byte)
	b, err := AppendJSON((*bp)[:0], v)
	defer func() {
		if cap(b) <= 64<<10 { // a huge one is not kept
			*bp = b[:0]
			outputBufs.Put(bp)
		}
	}()
	if err != nil || len(b) <= MaxStepOutput {
		return v, false
	}
	return map[string]any{
		"truncated": true,
		"size":      len(b),
		"note":      "the output was larger than 256 KiB and is truncated in history; the steps after it in the same execution saw it whole",
		"preview":   string(b[:4096]),
	}, true
}

// pruneLoop deletes finished runs beyond each flow's retention (or the
// global one) every interval, one flow at a time so that ingest never waits
// behind a large delete.
func (e *Engine) pruneLoop(every time.Duration) {
	defer e.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			if e.isLeader() { // one node prunes for all
				e.Prune(e.ctx)
			}
		}
	}
}

// expiryPurger is a store that can delete expired dedupe and data entries
// (they already read as missing; this gives their space back).
type expiryPurger interface {
	PurgeExpired(ctx context.Context) (int, error)
}

// Prune applies retention to every flow now, purges expired dedupe and data
// entries, and returns the runs deleted.
func (e *Engine) Prune(ctx context.Context) int {
	if p, ok := e.store.(expiryPurger); ok {
		if _, err := p.PurgeExpired(ctx); err != nil {
			e.logf("purge expired entries: %v", err)
		}
	}
	e.mu.RLock()
	flows := make([]*Flow, 0, len(e.flows))
	for _, c := range e.flows {
		flows = append(flows, c.Flow)
	}
	e.mu.RUnlock()
	total := 0
	for _, f := range flows {
		age, keep := e.cfg.Retention.MaxAge.D(), e.cfg.Retention.MaxRuns
		if f.Retention != nil {
			if f.Retention.MaxAge > 0 {
				age = f.Retention.MaxAge.D()
			}
			if f.Retention.MaxRuns > 0 {
				keep = f.Retention.MaxRuns
			}
		}
		if age <= 0 && keep <= 0 {
			continue
		}
		var before time.Time
		if age > 0 {
			before = e.now().Add(-age)
		}
		n, err := e.store.PruneRuns(ctx, f.ID, before, keep)
		if err != nil {
			e.logf("prune runs of %s: %v", f.ID, err)
			continue
		}
		total += n
	}
	return total
}
