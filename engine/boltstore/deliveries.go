package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// Deliveries live in their own bucket, created on first write:
//
//	deliveries     flowID 0x00 deliveryID  → Delivery JSON
//
// Delivery ids are ULIDs, so within a flow key order is time order: the
// oldest are at the front of the flow's prefix, which is where trimming cuts.
var bDeliveries = []byte("deliveries")

const (
	defaultDeliveryLimit = 50
	maxDeliveryLimit     = 500
)

// AddDeliveries stores a batch of deliveries in one commit, then trims each
// flow it names to its newest keep and to none received before olderThan.
func (s *Store) AddDeliveries(ctx context.Context, ds []*engine.Delivery, keep int, olderThan time.Time) error {
	if len(ds) == 0 {
		return nil
	}
	type rec struct {
		key, val []byte
	}
	recs := make([]rec, 0, len(ds))
	flows := map[string]bool{}
	for _, d := range ds {
		if d.FlowID == "" || d.ID == "" {
			return errInvalid("add deliveries: a delivery needs a flow and an id")
		}
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("add deliveries: %w", err)
		}
		recs = append(recs, rec{join(d.FlowID, d.ID), v})
		flows[d.FlowID] = true
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bDeliveries)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := b.Put(r.key, r.val); err != nil {
				return err
			}
		}
		for flowID := range flows {
			if _, err := trimDeliveries(b, flowID, keep, olderThan); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add deliveries: %w", err)
	}
	return nil
}

// trimDeliveries deletes a flow's deliveries older than olderThan and all but
// its newest keep: it counts the flow's keys, then deletes from the oldest.
func trimDeliveries(b *bolt.Bucket, flowID string, keep int, olderThan time.Time) (int, error) {
	p := prefix(flowID)
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
		n++
	}
	drop := 0
	if keep > 0 && n > keep {
		drop = n - keep
	}
	var stop []byte
	if !olderThan.IsZero() {
		stop = append(copyBytes(p), ulidKey(olderThan)...)
	}
	var doomed [][]byte
	for k, _ := c.Seek(p); hasPrefix(k, p); k, _ = c.Next() {
		if len(doomed) >= drop && (stop == nil || bytes.Compare(k, stop) >= 0) {
			break
		}
		doomed = append(doomed, copyBytes(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	deleted := len(doomed)
	return deleted, nil
}

// ListDeliveries returns one page of a flow's deliveries, newest first;
// nextCursor is the id of the page's last delivery, or "" on the last page.
func (s *Store) ListDeliveries(ctx context.Context, q engine.DeliveryQuery) ([]*engine.Delivery, string, error) {
	if q.FlowID == "" {
		return nil, "", errInvalid("list deliveries: a flow id is needed")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultDeliveryLimit
	}
	limit = min(limit, maxDeliveryLimit)
	out := make([]*engine.Delivery, 0, min(limit+1, 64))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDeliveries)
		if b == nil {
			return nil
		}
		p := prefix(q.FlowID)
		c := b.Cursor()
		var k, v []byte
		if q.Cursor != "" {
			k, v = seekBefore(c, append(copyBytes(p), q.Cursor...))
		} else {
			k, v = seekBefore(c, append(copyBytes(p), 0xff))
		}
		for ; hasPrefix(k, p); k, v = c.Prev() {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := new(engine.Delivery)
			if err := json.Unmarshal(v, d); err != nil {
				return fmt.Errorf("decode delivery %q: %w", k[len(p):], err)
			}
			if q.Outcome != "" && d.Outcome != q.Outcome {
				continue
			}
			out = append(out, d)
			if len(out) > limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// PruneDeliveries trims every flow's deliveries to the same bounds as
// AddDeliveries (for flows that stopped receiving).
func (s *Store) PruneDeliveries(ctx context.Context, keep int, olderThan time.Time) (int, error) {
	var flows []string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bDeliveries)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				k, _ = c.Next()
				continue
			}
			flows = append(flows, string(k[:i]))
			k, _ = c.Seek(append(copyBytes(k[:i]), 1)) // past this flow's prefix
		}
		return nil
	})
	if err != nil || len(flows) == 0 {
		return 0, err
	}
	var deleted int
	err = s.update(ctx, func(tx *bolt.Tx) error {
		deleted = 0
		b := tx.Bucket(bDeliveries)
		if b == nil {
			return nil
		}
		for _, f := range flows {
			n, err := trimDeliveries(b, f, keep, olderThan)
			if err != nil {
				return err
			}
			deleted += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return deleted, nil
}

var _ engine.DeliveryStore = (*Store)(nil)
