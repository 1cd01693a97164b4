package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// CreateFlow stores f as version 1 of a new flow and sets f.Version and
// f.UpdatedAt. The id must be unused (engine.ErrExists). Every flow write
// publishes engine.NoticeFlow in its transaction (delivered at the commit).
func (s *Store) CreateFlow(ctx context.Context, f *engine.Flow) error {
	if f == nil || f.ID == "" {
		return fmt.Errorf("create flow: %w", errInvalid("empty flow id"))
	}
	c := *f
	c.Version, c.UpdatedAt = 1, time.Now().UTC()
	data, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("create flow %q: %w", f.ID, err)
	}
	err = s.txn(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO flows (id, version, doc) VALUES ($1, 1, $2) ON CONFLICT (id) DO NOTHING", f.ID, data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return engine.ErrExists
		}
		// Left-over versions of a deleted flow with the same id go first.
		if _, err := tx.Exec(ctx, "DELETE FROM flow_versions WHERE flow_id = $1", f.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO flow_versions (flow_id, version, doc) VALUES ($1, 1, $2)", f.ID, data); err != nil {
			return err
		}
		return notifyFlow(ctx, tx, f.ID)
	})
	if err != nil {
		return fmt.Errorf("create flow %q: %w", f.ID, err)
	}
	f.Version, f.UpdatedAt = c.Version, c.UpdatedAt
	return nil
}

// UpdateFlow stores f as the next version of an existing flow and sets
// f.Version and f.UpdatedAt; older versions stay readable.
func (s *Store) UpdateFlow(ctx context.Context, f *engine.Flow) error {
	if f == nil || f.ID == "" {
		return fmt.Errorf("update flow: %w", errInvalid("empty flow id"))
	}
	c := *f
	c.UpdatedAt = time.Now().UTC()
	err := s.txn(ctx, func(tx pgx.Tx) error {
		var prev int
		err := tx.QueryRow(ctx, "SELECT version FROM flows WHERE id = $1 FOR UPDATE", f.ID).Scan(&prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		c.Version = prev + 1
		data, err := json.Marshal(&c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE flows SET version = $2, doc = $3 WHERE id = $1", f.ID, c.Version, data); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO flow_versions (flow_id, version, doc) VALUES ($1, $2, $3)", f.ID, c.Version, data); err != nil {
			return err
		}
		return notifyFlow(ctx, tx, f.ID)
	})
	if err != nil {
		return fmt.Errorf("update flow %q: %w", f.ID, err)
	}
	f.Version, f.UpdatedAt = c.Version, c.UpdatedAt
	return nil
}

// getDoc decodes the one bytea column the query returns into v, or returns
// engine.ErrNotFound.
func (s *Store) getDoc(ctx context.Context, v any, sql string, args ...any) error {
	var data []byte
	err := s.pool.QueryRow(ctx, sql, args...).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.ErrNotFound
	}
	if err != nil {
		return s.fail(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode stored record: %w", err)
	}
	return nil
}

// GetFlow returns the current version of a flow.
func (s *Store) GetFlow(ctx context.Context, id string) (*engine.Flow, error) {
	f := new(engine.Flow)
	if err := s.getDoc(ctx, f, "SELECT doc FROM flows WHERE id = $1", id); err != nil {
		return nil, fmt.Errorf("get flow %q: %w", id, err)
	}
	return f, nil
}

// GetFlowVersion returns one saved version of a flow.
func (s *Store) GetFlowVersion(ctx context.Context, id string, version int) (*engine.Flow, error) {
	f := new(engine.Flow)
	if err := s.getDoc(ctx, f, "SELECT doc FROM flow_versions WHERE flow_id = $1 AND version = $2", id, version); err != nil {
		return nil, fmt.Errorf("get flow %q version %d: %w", id, version, err)
	}
	return f, nil
}

// ListFlowVersions lists a flow's saved versions, oldest first.
func (s *Store) ListFlowVersions(ctx context.Context, id string) ([]engine.FlowVersion, error) {
	var out []engine.FlowVersion
	err := s.txn(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, "SELECT 1 FROM flows WHERE id = $1", id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return engine.ErrNotFound
		} else if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT version, doc FROM flow_versions WHERE flow_id = $1 ORDER BY version", id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ver int
			var data []byte
			if err := rows.Scan(&ver, &data); err != nil {
				return err
			}
			var f struct {
				Name      string    `json:"name"`
				UpdatedAt time.Time `json:"updated_at"`
			}
			if err := json.Unmarshal(data, &f); err != nil {
				return fmt.Errorf("decode stored record: %w", err)
			}
			out = append(out, engine.FlowVersion{Version: ver, Name: f.Name, UpdatedAt: f.UpdatedAt})
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list flow %q versions: %w", id, err)
	}
	return out, nil
}

// ListFlows returns the current version of every flow, sorted by id.
func (s *Store) ListFlows(ctx context.Context) ([]*engine.Flow, error) {
	out := []*engine.Flow{}
	err := s.eachDoc(ctx, "SELECT doc FROM flows ORDER BY id", nil, func() any {
		f := new(engine.Flow)
		out = append(out, f)
		return f
	})
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return out, nil
}

// eachDoc decodes the bytea column of every row of the query into a value
// that next returns.
func (s *Store) eachDoc(ctx context.Context, sql string, args []any, next func() any) error {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return s.fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return s.fail(err)
		}
		if err := json.Unmarshal(data, next()); err != nil {
			return fmt.Errorf("decode stored record: %w", err)
		}
	}
	return s.fail(rows.Err())
}

// DeleteFlow removes a flow with its versions, sample and trigger state. Its
// runs stay.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	err := s.txn(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM flows WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return engine.ErrNotFound
		}
		for _, q := range []string{
			"DELETE FROM flow_versions WHERE flow_id = $1",
			"DELETE FROM samples WHERE flow_id = $1",
			"DELETE FROM trigger_state WHERE flow_id = $1",
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		return notifyFlow(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("delete flow %q: %w", id, err)
	}
	return nil
}

// PutSample stores the flow's sample event.
func (s *Store) PutSample(ctx context.Context, flowID string, t *engine.TriggerData) error {
	if flowID == "" || t == nil {
		return fmt.Errorf("put sample: %w", errInvalid("empty flow id or sample"))
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("put sample of flow %q: %w", flowID, err)
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO samples (flow_id, doc) VALUES ($1, $2) ON CONFLICT (flow_id) DO UPDATE SET doc = EXCLUDED.doc", flowID, data)
	if err != nil {
		return fmt.Errorf("put sample of flow %q: %w", flowID, s.fail(err))
	}
	return nil
}

// GetSample returns the flow's sample event.
func (s *Store) GetSample(ctx context.Context, flowID string) (*engine.TriggerData, error) {
	t := new(engine.TriggerData)
	if err := s.getDoc(ctx, t, "SELECT doc FROM samples WHERE flow_id = $1", flowID); err != nil {
		return nil, fmt.Errorf("get sample of flow %q: %w", flowID, err)
	}
	return t, nil
}
