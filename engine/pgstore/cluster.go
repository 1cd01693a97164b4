package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// Several nodes on one database (engine.Cluster, the holder model of
// engine/cluster.go). Every pending run carries a lease in runs.lease_owner
// and runs.lease_expires_at: CreateRun leases a new pending run to its node
// in the statement that inserts it, SaveRun is fenced by it (runs.go), and
// a run whose lease expired is claimed by another node with FOR UPDATE SKIP
// LOCKED, so nodes claiming at once never get the same run. Cluster-wide
// locks are rows of locks. Times are the database's clock (now()), the same
// for every node. The lease columns are not indexed, so that checkpoints
// stay HOT updates.
//
// Notices travel on one LISTEN/NOTIFY channel as "kind:id".

const (
	defaultLease = 15 * time.Second
	// channel is the LISTEN/NOTIFY channel of notices.
	channel = "hookflow"
	// maxNotice bounds a notice's payload (PostgreSQL's limit is 8000 bytes).
	maxNotice = 7999
	// listenBackoffMax caps the wait between the listener's reconnections.
	listenBackoffMax = 2 * time.Second
	// defaultListenQuiet and defaultListenPing: see Options.listenQuiet.
	defaultListenQuiet = 10 * time.Second
	defaultListenPing  = 5 * time.Second
)

// defaultNode is hostname-pid-random: unique per process, readable in logs.
func defaultNode() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Node names this process in leases and locks.
func (s *Store) Node() string { return s.node }

// Lease is how long a lease lasts unrenewed.
func (s *Store) Lease() time.Duration { return s.lease }

// ClaimRuns leases to this node up to limit pending runs (oldest first) that
// no node holds or whose lease has expired.
func (s *Store) ClaimRuns(ctx context.Context, limit int) ([]engine.ClaimedRun, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("claim runs: %w", errInvalid("limit must be positive"))
	}
	rows, err := s.pool.Query(ctx, `WITH c AS (
			SELECT r.id, r.lease_owner FROM runs_pending p JOIN runs r USING (id)
			WHERE r.lease_owner IS NULL OR r.lease_expires_at <= now()
			ORDER BY r.id LIMIT $3 FOR UPDATE OF r SKIP LOCKED
		)
		UPDATE runs r SET lease_owner = $1, lease_expires_at = now() + $2::interval
		FROM c WHERE r.id = c.id
		RETURNING r.record, r.trigger, coalesce(c.lease_owner, '')`, s.node, s.lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", s.fail(err))
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (engine.ClaimedRun, error) {
		var rec, trig []byte
		var from string
		if err := row.Scan(&rec, &trig, &from); err != nil {
			return engine.ClaimedRun{}, err
		}
		r, err := decodeRun(rec, trig)
		return engine.ClaimedRun{Run: r, TakenFrom: from}, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim runs: %w", s.fail(err))
	}
	// RETURNING follows the update's order, not the claim's: oldest first.
	sortClaimed(out)
	return out, nil
}

// sortClaimed orders claimed runs by id (creation order).
func sortClaimed(cs []engine.ClaimedRun) {
	slices.SortFunc(cs, func(a, b engine.ClaimedRun) int { return strings.Compare(a.Run.ID, b.Run.ID) })
}

// renewSQL extends $1's leases on the pending runs of $2 and returns the
// ids it holds. It never waits for a row lock: a run whose row a
// checkpoint of this node is writing (in a group-commit batch that may lock
// other runs too, in another order) is skipped, and counted held when the
// statement's snapshot shows this node's live lease on it — a live lease
// cannot be claimed, and that checkpoint extends it. (A lease expiring in
// the instant between the two statements' clocks may be claimed all the
// same; the fence then refuses this node's next checkpoint.) So a renewal
// and a batch never deadlock.
const renewSQL = `
WITH cand AS (
	SELECT r.id, r.lease_expires_at > now() AS live FROM runs r JOIN runs_pending p USING (id)
	WHERE r.id = ANY($2) AND r.lease_owner = $1
), locked AS (
	SELECT id FROM runs WHERE id IN (SELECT id FROM cand) FOR UPDATE SKIP LOCKED
), u AS (
	UPDATE runs r SET lease_expires_at = now() + $3::interval FROM locked
	WHERE r.id = locked.id AND r.lease_owner = $1
	RETURNING r.id
)
SELECT id FROM u UNION ALL SELECT id FROM cand WHERE live AND id NOT IN (SELECT id FROM locked)`

// RenewLeases extends this node's leases on ids and returns the pending ones
// it still holds (its own expired lease that no node claimed is renewed too:
// it is still the owner).
func (s *Store) RenewLeases(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, renewSQL, s.node, ids, s.lease)
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", s.fail(err))
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("renew leases: %w", s.fail(err))
	}
	return held, nil
}

// ReleaseRuns gives up this node's leases on ids; runs another node holds
// are left alone.
func (s *Store) ReleaseRuns(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.exec(ctx, false, "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ANY($1) AND lease_owner = $2", ids, s.node); err != nil {
		return fmt.Errorf("release %d runs: %w", len(ids), err)
	}
	return nil
}

// TryLock takes the named lock for ttl when it is free, expired or already
// this node's (then renewing it), in one statement: exact under concurrency.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if name == "" || ttl <= 0 {
		return false, fmt.Errorf("lock %q: %w", name, errInvalid("empty name or ttl not positive"))
	}
	var owner string
	err := s.pool.QueryRow(ctx, `INSERT INTO locks (name, owner, expires_at) VALUES ($1, $2, now() + $3::interval)
		ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
		WHERE locks.owner = EXCLUDED.owner OR locks.expires_at <= now()
		RETURNING owner`, name, s.node, ttl).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %q: %w", name, s.fail(err))
	}
	return true, nil
}

// Unlock gives up the named lock if this node holds it.
func (s *Store) Unlock(ctx context.Context, name string) error {
	if err := s.exec(ctx, false, "DELETE FROM locks WHERE name = $1 AND owner = $2", name, s.node); err != nil {
		return fmt.Errorf("unlock %q: %w", name, err)
	}
	return nil
}

// noticePayload encodes a notice as "kind:id".
func noticePayload(n engine.Notice) (string, error) {
	if n.Kind == "" || strings.Contains(n.Kind, ":") {
		return "", errInvalid(fmt.Sprintf("notice kind %q (want a kind without ':')", n.Kind))
	}
	p := n.Kind + ":" + n.ID
	if len(p) > maxNotice {
		return "", errInvalid(fmt.Sprintf("notice of %d bytes (at most %d)", len(p), maxNotice))
	}
	return p, nil
}

// parseNotice decodes "kind:id" (an unknown shape: kind only).
func parseNotice(p string) engine.Notice {
	kind, id, _ := strings.Cut(p, ":")
	return engine.Notice{Kind: kind, ID: id}
}

// notifySQL sends a notice; inside a transaction PostgreSQL delivers it at
// the commit (and drops it at a rollback).
const notifySQL = "SELECT pg_notify('" + channel + "', $1)"

// Publish sends a notice to every node listening, this one included.
func (s *Store) Publish(ctx context.Context, n engine.Notice) error {
	p, err := noticePayload(n)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if _, err := s.pool.Exec(ctx, notifySQL, p); err != nil {
		return fmt.Errorf("publish %s: %w", p, s.fail(err))
	}
	return nil
}

// notifyFlow publishes NoticeFlow for id in tx (delivered at its commit).
func notifyFlow(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, notifySQL, engine.NoticeFlow+":"+id)
	return err
}

// Listen calls fn with every notice until ctx ends or the store closes, then
// returns nil. It listens on a connection of its own, outside the pool;
// when that connection fails (or stops answering a ping, see receive) it
// reconnects (backing off up to 2 s) and, after every connection including
// the first, calls fn with NoticeResync.
func (s *Store) Listen(ctx context.Context, fn func(engine.Notice)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stopped, cancel)()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := s.listenConn(ctx)
		if err == nil {
			backoff = 50 * time.Millisecond
			fn(engine.Notice{Kind: engine.NoticeResync})
			s.receive(ctx, conn, fn)
			closeCtx, done := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			done()
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
	return nil
}

// receive passes conn's notices to fn until ctx ends or the connection
// fails. A connection that fails silently (the database's host gone, a
// partition) delivers nothing and reports no error, so after listenQuiet
// without a notice it is pinged, and given up when the ping fails. A
// timeout leaves a pgx connection usable.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn, fn func(engine.Notice)) {
	for {
		wait, cancel := context.WithTimeout(ctx, s.timeouts.listenQuiet)
		n, err := conn.WaitForNotification(wait)
		quiet := wait.Err() != nil
		cancel()
		switch {
		case err == nil:
			fn(parseNotice(n.Payload))
			continue
		case ctx.Err() != nil || !quiet:
			return
		}
		ping, cancel := context.WithTimeout(ctx, s.timeouts.listenPing)
		err = conn.Ping(ping)
		cancel()
		if err != nil {
			return
		}
	}
}

// listenConn opens a connection with the pool's settings and listens on channel.
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

var _ engine.Cluster = (*Store)(nil)
