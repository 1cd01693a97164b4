package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// The Import methods write records as they are, keeping their ids, versions
// and times, for `hookflow store migrate` (copying a bbolt installation into
// an empty database). They are not part of engine.Store.

// Counts returns how many rows each table holds.
func (s *Store) Counts(ctx context.Context) (map[string]int, error) {
	tables := []string{"flows", "flow_versions", "samples", "runs", "runs_pending", "dedupe", "kv", "secrets", "meta", "trigger_state", "users", "tokens", "sessions", "connections", "app_files"}
	out := make(map[string]int, len(tables))
	for _, t := range tables {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, s.fail(err))
		}
		out[t] = n
	}
	return out, nil
}

// ImportFlow stores a flow's versions (each with its own version number and
// time) and its current document.
func (s *Store) ImportFlow(ctx context.Context, current *engine.Flow, versions []*engine.Flow) error {
	cur, err := json.Marshal(current)
	if err != nil {
		return fmt.Errorf("import flow %q: %w", current.ID, err)
	}
	err = s.txn(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO flows (id, version, doc) VALUES ($1, $2, $3)", current.ID, current.Version, cur); err != nil {
			return err
		}
		for _, v := range versions {
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO flow_versions (flow_id, version, doc) VALUES ($1, $2, $3)", current.ID, v.Version, data); err != nil {
				return err
			}
		}
		return notifyFlow(ctx, tx, current.ID)
	})
	if err != nil {
		return fmt.Errorf("import flow %q: %w", current.ID, err)
	}
	return nil
}

// ImportRuns stores runs as they are, in one COPY.
func (s *Store) ImportRuns(ctx context.Context, runs []*engine.Run) error {
	rows := make([][]any, 0, len(runs))
	var pending [][]any
	for _, r := range runs {
		data, err := encodeRun(r)
		if err != nil {
			return fmt.Errorf("import run %q: %w", r.ID, err)
		}
		trig, err := json.Marshal(&r.Trigger)
		if err != nil {
			return fmt.Errorf("import run %q: %w", r.ID, err)
		}
		rows = append(rows, []any{r.ID, r.FlowID, string(r.Status), r.CreatedAt, idTime(r.ID, r.CreatedAt), data, trig})
		if !r.Status.Final() {
			pending = append(pending, []any{r.ID})
		}
	}
	err := s.txn(ctx, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"runs"},
			[]string{"id", "flow_id", "status", "created_at", "id_time", "record", "trigger"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"runs_pending"}, []string{"id"}, pgx.CopyFromRows(pending))
		return err
	})
	if err != nil {
		return fmt.Errorf("import %d runs: %w", len(runs), err)
	}
	return nil
}

// DedupeEntry is one dedupe record: the key as stored, the run recorded
// for it ("" for MarkSeen keys) and its expiry in unix ns.
type DedupeEntry struct {
	FlowID, Key, RunID string
	Expires            int64
}

// ImportDedupe stores dedupe entries as they are, in one COPY.
func (s *Store) ImportDedupe(ctx context.Context, entries []DedupeEntry) error {
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{e.FlowID, dedupeKey(e.Key), e.RunID, e.Expires}
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"dedupe"}, []string{"flow_id", "key", "run_id", "expires_at"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("import %d dedupe entries: %w", len(entries), s.fail(err))
	}
	return nil
}

// ImportKV stores a data store entry with its expiry and update time.
func (s *Store) ImportKV(ctx context.Context, it engine.KVItem) error {
	val, err := json.Marshal(it.Value)
	if err != nil {
		return fmt.Errorf("import kv %q: %w", it.Key, err)
	}
	updated := it.UpdatedAt
	if updated.IsZero() {
		updated = time.Now()
	}
	if err := s.exec(ctx, false, kvUpsert, []byte(it.Key), val, it.ExpiresAt, updated); err != nil {
		return fmt.Errorf("import kv %q: %w", it.Key, err)
	}
	return nil
}
