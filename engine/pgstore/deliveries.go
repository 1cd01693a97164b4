// This file implements engine.DeliveryStore (the webhook delivery log, which
// alerts and the UI need).

package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
)

const (
	defaultDeliveryLimit = 50
	maxDeliveryLimit     = 500
)

// AddDeliveries stores a batch of deliveries in one transaction, then trims
// each flow it names to its newest keep and to none received before olderThan.
func (s *Store) AddDeliveries(ctx context.Context, ds []*engine.Delivery, keep int, olderThan time.Time) error {
	if len(ds) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	flows := map[string]bool{}
	for _, d := range ds {
		if d.FlowID == "" || d.ID == "" {
			return errInvalid("add deliveries: a delivery needs a flow and an id")
		}
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("add deliveries: %w", err)
		}
		b.Queue(`INSERT INTO deliveries (flow_id, id, outcome, doc) VALUES ($1, $2, $3, $4)
			ON CONFLICT (flow_id, id) DO UPDATE SET outcome = EXCLUDED.outcome, doc = EXCLUDED.doc`, d.FlowID, d.ID, string(d.Outcome), v)
		flows[d.FlowID] = true
	}
	for f := range flows {
		queueTrim(b, f, keep, olderThan)
	}
	if err := s.txn(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() }); err != nil {
		return fmt.Errorf("add deliveries: %w", err)
	}
	return nil
}

// queueTrim deletes a flow's deliveries beyond its newest keep (0: no count
// bound) and those received before olderThan (zero: no age bound).
func queueTrim(b *pgx.Batch, flowID string, keep int, olderThan time.Time) {
	var stop *string
	if !olderThan.IsZero() {
		var u ulid.ULID
		_ = u.SetTime(ulid.Timestamp(olderThan))
		k := u.String()
		stop = &k
	}
	b.Queue(`DELETE FROM deliveries WHERE flow_id = $1 AND (
		($3::text IS NOT NULL AND id < $3) OR
		($2 > 0 AND id IN (SELECT id FROM deliveries WHERE flow_id = $1 ORDER BY id DESC OFFSET $2)))`, flowID, keep, stop)
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
	err := s.eachDoc(ctx, `SELECT doc FROM deliveries WHERE flow_id = $1 AND ($2 = '' OR outcome = $2) AND ($3 = '' OR id < $3)
		ORDER BY id DESC LIMIT $4`, []any{q.FlowID, string(q.Outcome), q.Cursor, limit + 1}, func() any {
		d := new(engine.Delivery)
		out = append(out, d)
		return d
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
// AddDeliveries.
func (s *Store) PruneDeliveries(ctx context.Context, keep int, olderThan time.Time) (int, error) {
	rows, err := s.pool.Query(ctx, "SELECT DISTINCT flow_id FROM deliveries")
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", s.fail(err))
	}
	flows, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", s.fail(err))
	}
	deleted := 0
	for _, f := range flows {
		b := &pgx.Batch{}
		queueTrim(b, f, keep, olderThan)
		br := s.pool.SendBatch(ctx, b)
		tag, err := br.Exec()
		cerr := br.Close()
		if err == nil {
			err = cerr
		}
		if err != nil {
			return deleted, fmt.Errorf("prune deliveries: %w", s.fail(err))
		}
		deleted += int(tag.RowsAffected())
	}
	return deleted, nil
}

var _ engine.DeliveryStore = (*Store)(nil)
