package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

const (
	defaultRunLimit = 50
	maxRunLimit     = 500
	// idSlack widens time bounds taken from run ids, so that a run whose
	// created_at differs a little from its id's time is still examined (the
	// exact bound is then checked on created_at).
	idSlack = time.Minute
	// pruneChunk bounds the runs deleted by one write transaction.
	pruneChunk = 1000
)

// appendFill is how full bbolt packs the pages of the run buckets when it
// splits them (its default is half): their keys are ULIDs, so new runs are
// appended at the end of the bucket (or of the flow's range) and a full
// left page is never written again; half-full pages would double the file.
const appendFill = 0.9

// appendBucket returns a run bucket of tx set to pack its pages.
func appendBucket(tx *bolt.Tx, name []byte) *bolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = appendFill
	return b
}

// pending reports whether a run with this status belongs to runs_pending.
func pending(s engine.RunStatus) bool { return !s.Final() }

// CreateRun stores a new run; see engine.RunStore. An empty r.ID is set to a
// new ULID and a zero r.CreatedAt to now. With a dedupe key, an unexpired
// entry for (flow, key) wins: its run id is returned with dup=true and nothing
// is written; otherwise the run, its indexes and the dedupe entry (expiring
// after window; never when window <= 0) commit in one transaction.
func (s *Store) CreateRun(ctx context.Context, r *engine.Run, key string, window time.Duration) (string, bool, error) {
	if r == nil || r.FlowID == "" {
		return "", false, fmt.Errorf("create run: %w", errInvalid("empty flow id"))
	}
	if r.ID == "" {
		r.ID = engine.NewID()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
	if r.Status == "" {
		r.Status = engine.RunQueued
	}
	if key != "" && r.DedupeKey == "" {
		r.DedupeKey = key
	}
	data, err := encodeRun(r)
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	trig, err := encodeTrigger(&r.Trigger)
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	idx, err := encodeIndex(r)
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	id := []byte(r.ID)
	fkey := join(r.FlowID, r.ID)
	isPending := pending(r.Status)
	var dkey []byte
	if key != "" {
		dkey = dedupeKey(r.FlowID, key)
	}

	var gotID string
	var dup bool
	err = s.update(ctx, func(tx *bolt.Tx) error {
		gotID, dup = r.ID, false
		var dd *bolt.Bucket
		if dkey != nil {
			dd = tx.Bucket(bDedupe)
			now := time.Now()
			if first, ok := parseDedupe(dd.Get(dkey), now.UnixNano()); ok {
				gotID, dup = first, true
				return nil
			}
			if err := dd.Put(dkey, dedupeValue(expiry(now, window), r.ID)); err != nil {
				return err
			}
		}
		runs := appendBucket(tx, bRuns)
		if runs.Get(id) != nil {
			return engine.ErrExists
		}
		if err := runs.Put(id, data); err != nil {
			return err
		}
		if err := appendBucket(tx, bRunTriggers).Put(id, trig); err != nil {
			return err
		}
		if err := appendBucket(tx, bRunsByFlow).Put(fkey, idx); err != nil {
			return err
		}
		if isPending {
			return tx.Bucket(bRunsPending).Put(id, idx)
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	s.lastOK.Store(time.Now().UnixNano())
	return gotID, dup, nil
}

// SaveRun checkpoints an existing run (engine.ErrNotFound when absent) and
// keeps the pending index in step with its status.
func (s *Store) SaveRun(ctx context.Context, r *engine.Run) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("save run: %w", errInvalid("empty run id"))
	}
	data, err := encodeRun(r)
	if err != nil {
		return fmt.Errorf("save run %q: %w", r.ID, err)
	}
	idx, err := encodeIndex(r)
	if err != nil {
		return fmt.Errorf("save run %q: %w", r.ID, err)
	}
	id := []byte(r.ID)
	fkey := join(r.FlowID, r.ID)
	isPending := pending(r.Status)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		runs := appendBucket(tx, bRuns)
		if runs.Get(id) == nil {
			return engine.ErrNotFound
		}
		if err := runs.Put(id, data); err != nil {
			return err
		}
		if r.FlowID != "" {
			if err := appendBucket(tx, bRunsByFlow).Put(fkey, idx); err != nil {
				return err
			}
		}
		if isPending {
			return tx.Bucket(bRunsPending).Put(id, idx)
		}
		return tx.Bucket(bRunsPending).Delete(id)
	})
	if err != nil {
		return fmt.Errorf("save run %q: %w", r.ID, err)
	}
	return nil
}

// GetRun returns one run with its steps.
func (s *Store) GetRun(ctx context.Context, id string) (*engine.Run, error) {
	var r *engine.Run
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bRuns).Get([]byte(id))
		if data == nil {
			return engine.ErrNotFound
		}
		var err error
		r, err = decodeRun(tx, []byte(id), data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

// seekBefore positions c on the last key strictly below key.
func seekBefore(c *bolt.Cursor, key []byte) ([]byte, []byte) {
	k, _ := c.Seek(key)
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// isULIDKey reports whether id is a ULID, so that key order is time order.
func isULIDKey(id []byte) bool {
	_, ok := idTime(id)
	return ok
}

// PendingRuns returns every run whose status is queued, running or waiting,
// oldest first, from the pending index.
func (s *Store) PendingRuns(ctx context.Context) ([]*engine.Run, error) {
	var out []*engine.Run
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bRuns)
		return tx.Bucket(bRunsPending).ForEach(func(k, _ []byte) error {
			data := runs.Get(k)
			if data == nil {
				return nil
			}
			r, err := decodeRun(tx, k, data)
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", err)
	}
	return out, nil
}

// MarkSeen records dedupe keys with no run, for window (never expiring when
// window <= 0). Keys already recorded and unexpired are left as they are.
func (s *Store) MarkSeen(ctx context.Context, flowID string, keys []string, window time.Duration) error {
	if flowID == "" {
		return fmt.Errorf("mark seen: %w", errInvalid("empty flow id"))
	}
	dkeys := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			dkeys = append(dkeys, dedupeKey(flowID, k))
		}
	}
	if len(dkeys) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		dd := tx.Bucket(bDedupe)
		now := time.Now()
		val := dedupeValue(expiry(now, window), "")
		for _, k := range dkeys {
			if _, ok := parseDedupe(dd.Get(k), now.UnixNano()); ok {
				continue
			}
			if err := dd.Put(k, val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark seen for flow %q: %w", flowID, err)
	}
	return nil
}

// Seen reports whether (flow, key) is recorded and unexpired, with the run
// recorded for it ("" for keys from MarkSeen).
func (s *Store) Seen(ctx context.Context, flowID, key string) (string, bool, error) {
	var runID string
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		runID, ok = parseDedupe(tx.Bucket(bDedupe).Get(dedupeKey(flowID, key)), time.Now().UnixNano())
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("seen %q for flow %q: %w", key, flowID, err)
	}
	return runID, ok, nil
}

// PruneRuns deletes the flow's finished runs that were created before
// olderThan (zero: no age limit) or are beyond its newest keep runs (0: no
// count limit), with their index entries. Queued, running and waiting runs
// are never deleted, but count towards keep. With both limits off nothing is
// deleted. Large prunes commit in chunks so that other writes keep flowing.
func (s *Store) PruneRuns(ctx context.Context, flowID string, olderThan time.Time, keep int) (int, error) {
	if flowID == "" {
		return 0, fmt.Errorf("prune runs: %w", errInvalid("empty flow id"))
	}
	if olderThan.IsZero() && keep <= 0 {
		return 0, nil
	}
	p := prefix(flowID)
	total := 0
	for {
		n := 0
		err := s.update(ctx, func(tx *bolt.Tx) error {
			n = 0
			runs, byFlow, pend := tx.Bucket(bRuns), tx.Bucket(bRunsByFlow), tx.Bucket(bRunsPending)
			// Both limits select an oldest part of the newest-first order: skip
			// the newest keep runs (stopping early at one older than olderThan),
			// or start at olderThan.
			c := byFlow.Cursor()
			var k []byte
			if keep > 0 {
				k, _ = seekBefore(c, append(copyBytes(p), 0xff))
				for i := 0; i < keep && hasPrefix(k, p); i++ {
					if !olderThan.IsZero() && runCreated(runs, k[len(p):]).Before(olderThan) {
						break
					}
					k, _ = c.Prev()
				}
			} else {
				k, _ = seekBefore(c, append(copyBytes(p), ulidKey(olderThan.Add(idSlack))...))
			}
			var victims [][]byte
			for ; hasPrefix(k, p) && len(victims) < pruneChunk; k, _ = c.Prev() {
				id := k[len(p):]
				if keep <= 0 && !runCreated(runs, id).Before(olderThan) {
					continue
				}
				if pend.Get(id) != nil {
					continue
				}
				victims = append(victims, copyBytes(k))
			}
			for _, k := range victims {
				if err := runs.Delete(k[len(p):]); err != nil {
					return err
				}
				if err := tx.Bucket(bRunTriggers).Delete(k[len(p):]); err != nil {
					return err
				}
				if err := byFlow.Delete(k); err != nil {
					return err
				}
			}
			n = len(victims)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("prune runs of flow %q: %w", flowID, err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// CountRuns counts the flow's runs created at or after since (all when zero),
// walking its index from the newest run and stopping at since.
func (s *Store) CountRuns(ctx context.Context, flowID string, since time.Time) (int, error) {
	p := prefix(flowID)
	sinceMS := since.UnixMilli()
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bRuns)
		c := tx.Bucket(bRunsByFlow).Cursor()
		for k, _ := seekBefore(c, append(copyBytes(p), 0xff)); hasPrefix(k, p); k, _ = c.Prev() {
			if !since.IsZero() {
				id := k[len(p):]
				if t, ok := idTime(id); ok {
					if t.UnixMilli() < sinceMS {
						break
					}
				} else if runCreated(runs, id).Before(since) {
					continue
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count runs of flow %q: %w", flowID, err)
	}
	return n, nil
}

// PurgeExpired deletes expired dedupe and kv entries (they already read as
// missing) and returns how many it removed. Call it now and then to keep the
// file from growing; it commits in chunks.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	total := 0
	for _, bucket := range [][]byte{bDedupe, bKV} {
		after := []byte(nil)
		for {
			n, more := 0, false
			var last []byte
			err := s.update(ctx, func(tx *bolt.Tx) error {
				n, more, last = 0, false, nil
				b := tx.Bucket(bucket)
				now := time.Now()
				var victims [][]byte
				c := b.Cursor()
				k, v := c.First()
				if after != nil {
					k, v = c.Seek(after)
				}
				scanned := 0
				for ; k != nil; k, v = c.Next() {
					if scanned++; scanned > 10*pruneChunk {
						more, last = true, copyBytes(k)
						break
					}
					if expired(bucket, v, now) {
						victims = append(victims, copyBytes(k))
					}
				}
				for _, k := range victims {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n = len(victims)
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("purge expired: %w", err)
			}
			total += n
			if !more {
				break
			}
			after = last
		}
	}
	return total, nil
}

// expired reports whether a stored dedupe or kv entry has expired at now.
func expired(bucket, v []byte, now time.Time) bool {
	if string(bucket) == string(bDedupe) {
		_, ok := parseDedupe(v, now.UnixNano())
		return !ok
	}
	var rec kvRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return false
	}
	return rec.expired(now)
}

// ListRunSummaries returns one page of run summaries, newest first, that
// match every filter of q: see engine.RunPage. A run's creation time is its
// created_at; Text matches, ignoring case, inside the JSON of its trigger
// body (a text body: its text). The page reads index entries only, except for
// a text search (each candidate's trigger) and runs stored before summaries.
func (s *Store) ListRunSummaries(ctx context.Context, q engine.RunQuery) (engine.RunPage, error) {
	page, err := s.scanRuns(ctx, q)
	if err != nil {
		return page, err
	}
	if page.Runs == nil {
		page.Runs = []*engine.RunSummary{}
	}
	return page, nil
}

// ListRuns is ListRunSummaries with each run read whole (in its own read
// transaction); nextCursor is set when more runs may match, so a page may
// hold fewer than q.Limit runs before the last one.
func (s *Store) ListRuns(ctx context.Context, q engine.RunQuery) ([]*engine.Run, string, error) {
	page, err := s.scanRuns(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]*engine.Run, 0, len(page.Runs))
	for _, sum := range page.Runs {
		r, err := s.GetRun(ctx, sum.ID)
		if errors.Is(err, engine.ErrNotFound) {
			continue // pruned since
		}
		if err != nil {
			return nil, "", fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, page.Next, nil
}
