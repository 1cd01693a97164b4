package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// Leases are groundwork for several nodes on one database (issue #17, phase
// 2); the engine does not call them yet. A node claims pending runs with a
// lease, renews it while it executes them and releases a run when done; a
// lease that expires (its node died) lets another node take the run over.
// Claims use FOR UPDATE SKIP LOCKED, so nodes claiming at once never get the
// same run. Times are the database's clock (now()), the same for every node.

// Claimed is a run claimed by ClaimRuns.
type Claimed struct {
	Run *engine.Run
	// TakenFrom is the node whose expired lease was taken over ("" for a
	// run no node held).
	TakenFrom string
}

// ClaimRuns leases up to limit pending runs (oldest first) that no node
// holds or whose lease has expired to owner for lease.
func (s *Store) ClaimRuns(ctx context.Context, owner string, lease time.Duration, limit int) ([]Claimed, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("claim runs: %w", errInvalid("empty owner, lease or limit"))
	}
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT r.id, r.lease_owner FROM runs_pending p JOIN runs r USING (id)
			WHERE r.lease_owner IS NULL OR r.lease_expires_at <= now()
			ORDER BY r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED
		)
		UPDATE runs r SET lease_owner = $1, lease_expires_at = now() + $2::interval
		FROM c WHERE r.id = c.id
		RETURNING r.record, r.trigger, coalesce(c.lease_owner, '')`, owner, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", s.fail(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Claimed, error) {
		var rec, trig []byte
		var from string
		if err := row.Scan(&rec, &trig, &from); err != nil {
			return Claimed{}, err
		}
		r, err := decodeRun(rec, trig)
		return Claimed{Run: r, TakenFrom: from}, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", s.fail(err))
	}
	return out, nil
}

// RenewLeases extends owner's leases on ids and returns the ids it still
// holds: a run missing from the result was taken over (or finished) and
// must not be executed further by owner.
func (s *Store) RenewLeases(ctx context.Context, owner string, ids []string, lease time.Duration) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `UPDATE runs SET lease_expires_at = now() + $3::interval
		WHERE id = ANY($2) AND lease_owner = $1 AND EXISTS (SELECT 1 FROM runs_pending p WHERE p.id = runs.id) RETURNING id`, owner, ids, lease)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", s.fail(err))
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", s.fail(err))
	}
	return held, nil
}

// ReleaseRun gives up owner's lease on a run (when it finished or the node
// stops); a run owner does not hold is left alone.
func (s *Store) ReleaseRun(ctx context.Context, owner, id string) error {
	if err := s.exec(ctx, false, "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2", id, owner); err != nil {
		return fmt.Errorf("release run %s: %w", id, err)
	}
	return nil
}
