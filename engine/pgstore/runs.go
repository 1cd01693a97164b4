package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
)

const (
	defaultRunLimit = 50
	maxRunLimit     = 500
	// pruneChunk bounds the runs deleted by one transaction.
	pruneChunk = 1000
	// maxDedupeKey is the longest dedupe key stored as is; longer ones are
	// hashed (the same rule as boltstore, so migrated keys still match).
	maxDedupeKey = 512
	// textScan is how many rows ListRuns reads at a time while a Text
	// filter (matched in Go) drops some.
	textScan = 200
)

// dedupeKey is the stored form of a dedupe key.
func dedupeKey(key string) []byte {
	if len(key) > maxDedupeKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	return []byte(key)
}

// expiry returns the unix-ns expiry of an entry written at now for window
// (never, for a window <= 0).
func expiry(now time.Time, window time.Duration) int64 {
	if window <= 0 {
		return math.MaxInt64
	}
	return now.Add(window).UnixNano()
}

// idTime is the time in a ULID run id, else created.
func idTime(id string, created time.Time) time.Time {
	if len(id) == ulid.EncodedSize {
		if u, err := ulid.ParseStrict(id); err == nil {
			return ulid.Time(u.Time())
		}
	}
	return created
}

// runRecord is a run as stored in runs.record: everything but its trigger,
// which is stored once, at CreateRun, in runs.trigger.
type runRecord struct {
	*engine.Run
	Trigger json.RawMessage `json:"trigger,omitempty"`
}

func encodeRun(r *engine.Run) ([]byte, error) { return json.Marshal(runRecord{Run: r}) }

func decodeRun(record, trigger []byte) (*engine.Run, error) {
	r := new(engine.Run)
	if err := json.Unmarshal(record, &runRecord{Run: r}); err != nil {
		return nil, fmt.Errorf("decode run: %w", err)
	}
	if len(trigger) > 0 {
		if err := json.Unmarshal(trigger, &r.Trigger); err != nil {
			return nil, fmt.Errorf("decode trigger of run %q: %w", r.ID, err)
		}
	}
	return r, nil
}

// The statement that creates a run with a dedupe key: the dedupe row is
// inserted, or an expired one taken over, and the run inserted only then
// (with its runs_pending entry and its lease to this node, $12 for $13,
// while $4, pending); otherwise the first run's id is returned. ON CONFLICT
// on the primary key makes this exact under any concurrency.
const createDedupedSQL = `
WITH d AS (
	INSERT INTO dedupe (flow_id, key, run_id, expires_at) VALUES ($2, $8, $1, $9)
	ON CONFLICT (flow_id, key) DO UPDATE SET run_id = EXCLUDED.run_id, expires_at = EXCLUDED.expires_at
	WHERE dedupe.expires_at <= $10
	RETURNING run_id
), r AS (
	INSERT INTO runs (id, flow_id, status, created_at, id_time, record, trigger, lease_owner, lease_expires_at)
	SELECT $1, $2, $3, $5, $11, $6, $7, CASE WHEN $4::boolean THEN $12 END, CASE WHEN $4::boolean THEN now() + $13::interval END
	WHERE EXISTS (SELECT 1 FROM d)
	RETURNING id
), p AS (
	INSERT INTO runs_pending (id) SELECT id FROM r WHERE $4::boolean
)
SELECT (SELECT id FROM r), (SELECT run_id FROM dedupe WHERE flow_id = $2 AND key = $8)`

// createSQL creates a run without a dedupe key, leased to this node ($9
// for $10) while pending ($4); a taken id inserts nothing (counted 0,
// reported as engine.ErrExists) without aborting the batch's transaction.
const createSQL = `
WITH r AS (
	INSERT INTO runs (id, flow_id, status, created_at, id_time, record, trigger, lease_owner, lease_expires_at)
	VALUES ($1, $2, $3, $5, $8, $6, $7, CASE WHEN $4::boolean THEN $9 END, CASE WHEN $4::boolean THEN now() + $10::interval END)
	ON CONFLICT (id) DO NOTHING
	RETURNING id
), p AS (
	INSERT INTO runs_pending (id) SELECT id FROM r WHERE $4::boolean
)
SELECT count(*) FROM r`

// saveSQL checkpoints a run, fenced by its lease, and keeps runs_pending
// in step with its status ($3: pending). The fence: the save is refused
// only while another node holds a live lease on the run. A run no node
// holds (released, imported) or whose lease expired unclaimed — this
// node's or another's — is saved, and this node (re)takes its lease: no
// other node is executing it then, and whoever claims it later sees this
// checkpoint. Every save of a pending run extends the lease ($5 for $6);
// the save that ends a run clears it, with its runs_pending entry (written
// "id = $1 … AND EXISTS (SELECT 1 FROM u)": "id IN (SELECT id FROM u)"
// cost about 15 µs more per statement).
// Under READ COMMITTED an UPDATE waiting for a concurrent claim's row lock
// re-checks the fence on the claimed row, so the fence is exact.
//
// It returns the runs updated (1, or 0) and, only after 0 (no lookup on
// the common path), from the statement's snapshot the lease owner of a run
// that exists (empty for none, NULL when the run does not exist): 0 with
// an owner is a lost lease, 0 with NULL not found.
const saveSQL = `
WITH u AS (
	UPDATE runs SET status = $2, record = $4,
		lease_owner = CASE WHEN $3::boolean THEN $5 END,
		lease_expires_at = CASE WHEN $3::boolean THEN now() + $6::interval END
	WHERE id = $1 AND (lease_owner IS NULL OR lease_owner = $5 OR lease_expires_at <= now())
	RETURNING id
), ins AS (
	INSERT INTO runs_pending (id) SELECT id FROM u WHERE $3::boolean ON CONFLICT DO NOTHING
), del AS (
	DELETE FROM runs_pending WHERE id = $1 AND NOT $3::boolean AND EXISTS (SELECT 1 FROM u)
)
SELECT n, CASE WHEN n = 0 THEN (SELECT coalesce(lease_owner, '') FROM runs WHERE id = $1) END
FROM (SELECT count(*) AS n FROM u) c`

// CreateRun stores a new run; see engine.RunStore. An empty r.ID is set to a
// new ULID and a zero r.CreatedAt to now. Concurrent calls are committed
// together by the writer.
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
	trig, err := json.Marshal(&r.Trigger)
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	idt := idTime(r.ID, r.CreatedAt)
	var gotID string
	var dup bool
	var taken error
	var queue func(b *pgx.Batch)
	var read func(br pgx.BatchResults) error
	if key == "" {
		queue = func(b *pgx.Batch) {
			b.Queue(createSQL, r.ID, r.FlowID, string(r.Status), !r.Status.Final(), r.CreatedAt, data, trig, idt, s.node, s.lease)
		}
		read = func(br pgx.BatchResults) error {
			gotID, dup, taken = r.ID, false, nil
			var n int
			err := br.QueryRow().Scan(&n)
			if err == nil && n == 0 {
				taken = engine.ErrExists
			}
			return err
		}
	} else {
		dk := dedupeKey(key)
		queue = func(b *pgx.Batch) {
			now := time.Now()
			b.Queue(createDedupedSQL, r.ID, r.FlowID, string(r.Status), !r.Status.Final(), r.CreatedAt, data, trig,
				dk, expiry(now, window), now.UnixNano(), idt, s.node, s.lease)
		}
		read = func(br pgx.BatchResults) error {
			var created, first *string
			if err := br.QueryRow().Scan(&created, &first); err != nil {
				return err
			}
			switch {
			case created != nil:
				gotID, dup = *created, false
			case first != nil:
				gotID, dup = *first, true
			default:
				// Another transaction recorded the key after this statement's
				// snapshot: read it in a statement of its own (below).
				gotID, dup = "", true
			}
			return nil
		}
	}
	err = s.submit(ctx, queue, read)
	if err == nil {
		err = taken
	}
	if err != nil {
		return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
	}
	if dup && gotID == "" {
		id, ok, err := s.Seen(ctx, r.FlowID, key)
		if err != nil {
			return "", false, fmt.Errorf("create run %q: %w", r.ID, err)
		}
		if !ok {
			return "", false, fmt.Errorf("create run %q: dedupe entry vanished: %w", r.ID, engine.ErrConflict)
		}
		gotID = id
	}
	if !dup {
		s.lastOK.Store(time.Now().UnixNano())
	}
	return gotID, dup, nil
}

// SaveRun checkpoints an existing run: engine.ErrNotFound when absent,
// engine.ErrLeaseLost while another node holds its lease (see saveSQL).
func (s *Store) SaveRun(ctx context.Context, r *engine.Run) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("save run: %w", errInvalid("empty run id"))
	}
	data, err := encodeRun(r)
	if err != nil {
		return fmt.Errorf("save run %q: %w", r.ID, err)
	}
	var saved bool
	var holder *string
	err = s.submit(ctx, func(b *pgx.Batch) {
		b.Queue(saveSQL, r.ID, string(r.Status), !r.Status.Final(), data, s.node, s.lease)
	}, func(br pgx.BatchResults) error {
		var n int
		err := br.QueryRow().Scan(&n, &holder)
		saved = n == 1
		return err
	})
	switch {
	case err != nil || saved:
	case holder == nil:
		err = engine.ErrNotFound
	default:
		err = fmt.Errorf("%w (%s)", engine.ErrLeaseLost, *holder)
	}
	if err != nil {
		return fmt.Errorf("save run %q: %w", r.ID, err)
	}
	return nil
}

// GetRun returns one run with its steps.
func (s *Store) GetRun(ctx context.Context, id string) (*engine.Run, error) {
	var rec, trig []byte
	err := s.pool.QueryRow(ctx, "SELECT record, trigger FROM runs WHERE id = $1", id).Scan(&rec, &trig)
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, s.fail(err))
	}
	r, err := decodeRun(rec, trig)
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

// ListRuns returns one page of runs, newest first (by id), that match every
// filter of q; nextCursor is the id of the page's last run, or "" on the
// last page. Text matches, ignoring case, inside the JSON of the trigger body.
func (s *Store) ListRuns(ctx context.Context, q engine.RunQuery) ([]*engine.Run, string, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultRunLimit
	}
	if limit > maxRunLimit {
		limit = maxRunLimit
	}
	match := engine.NewTextMatcher(q.Text)
	var since, until *time.Time
	if !q.Since.IsZero() {
		since = &q.Since
	}
	if !q.Until.IsZero() {
		until = &q.Until
	}
	const sql = `SELECT record, trigger, id FROM runs
		WHERE ($1 = '' OR flow_id = $1) AND ($2 = '' OR status = $2)
		  AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at <= $4)
		  AND ($5 = '' OR id < $5)
		ORDER BY id DESC LIMIT $6`
	out := make([]*engine.Run, 0, min(limit+1, 64))
	cursor := q.Cursor
	for {
		n := limit + 1
		if match != nil {
			n = textScan
		}
		rows, err := s.pool.Query(ctx, sql, q.FlowID, string(q.Status), since, until, cursor, n)
		if err != nil {
			return nil, "", fmt.Errorf("list runs: %w", s.fail(err))
		}
		seen := 0
		for rows.Next() {
			var rec, trig []byte
			var id string
			if err := rows.Scan(&rec, &trig, &id); err != nil {
				rows.Close()
				return nil, "", fmt.Errorf("list runs: %w", s.fail(err))
			}
			seen++
			cursor = id
			if len(out) > limit {
				continue
			}
			r, err := decodeRun(rec, trig)
			if err != nil {
				rows.Close()
				return nil, "", fmt.Errorf("list runs: %w", err)
			}
			if matchBody(match, r.Trigger.Body) {
				out = append(out, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, "", fmt.Errorf("list runs: %w", s.fail(err))
		}
		if len(out) > limit || seen < n {
			break
		}
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// matchBody reports whether the text occurs in the JSON of body (nil
// matcher: true), by the rule every store's search uses.
func matchBody(m *engine.TextMatcher, body any) bool {
	if m == nil {
		return true
	}
	if body == nil {
		return false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return false
	}
	found, _ := m.In(buf.Bytes(), nil)
	return found
}

// PendingRuns returns every run whose status is queued, running or waiting,
// oldest first.
func (s *Store) PendingRuns(ctx context.Context) ([]*engine.Run, error) {
	rows, err := s.pool.Query(ctx, "SELECT r.record, r.trigger FROM runs_pending p JOIN runs r USING (id) ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", s.fail(err))
	}
	defer rows.Close()
	var out []*engine.Run
	for rows.Next() {
		var rec, trig []byte
		if err := rows.Scan(&rec, &trig); err != nil {
			return nil, fmt.Errorf("pending runs: %w", s.fail(err))
		}
		r, err := decodeRun(rec, trig)
		if err != nil {
			return nil, fmt.Errorf("pending runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending runs: %w", s.fail(err))
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
			dkeys = append(dkeys, dedupeKey(k))
		}
	}
	if len(dkeys) == 0 {
		return nil
	}
	now := time.Now()
	_, err := s.pool.Exec(ctx, `INSERT INTO dedupe (flow_id, key, run_id, expires_at)
		SELECT $1, k, '', $3 FROM unnest($2::bytea[]) AS k
		ON CONFLICT (flow_id, key) DO UPDATE SET run_id = '', expires_at = EXCLUDED.expires_at
		WHERE dedupe.expires_at <= $4`, flowID, dkeys, expiry(now, window), now.UnixNano())
	if err != nil {
		return fmt.Errorf("mark seen for flow %q: %w", flowID, s.fail(err))
	}
	return nil
}

// Seen reports whether (flow, key) is recorded and unexpired, with the run
// recorded for it ("" for keys from MarkSeen).
func (s *Store) Seen(ctx context.Context, flowID, key string) (string, bool, error) {
	var runID string
	err := s.pool.QueryRow(ctx, "SELECT run_id FROM dedupe WHERE flow_id = $1 AND key = $2 AND expires_at > $3",
		flowID, dedupeKey(key), time.Now().UnixNano()).Scan(&runID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("seen %q for flow %q: %w", key, flowID, s.fail(err))
	}
	return runID, true, nil
}

// PruneRuns deletes the flow's finished runs created before olderThan (zero:
// no age limit) or beyond its newest keep runs (0: no count limit), as
// boltstore does: pending runs are never deleted but count towards keep.
// Large prunes commit in chunks.
func (s *Store) PruneRuns(ctx context.Context, flowID string, olderThan time.Time, keep int) (int, error) {
	if flowID == "" {
		return 0, fmt.Errorf("prune runs: %w", errInvalid("empty flow id"))
	}
	if olderThan.IsZero() && keep <= 0 {
		return 0, nil
	}
	var older *time.Time
	if !olderThan.IsZero() {
		older = &olderThan
	}
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `WITH ranked AS (
				SELECT id, id_time, row_number() OVER (ORDER BY id DESC) AS rn FROM runs WHERE flow_id = $1
			), victims AS (
				SELECT id FROM ranked WHERE NOT EXISTS (SELECT 1 FROM runs_pending p WHERE p.id = ranked.id)
				  AND (($2 > 0 AND rn > $2) OR ($3::timestamptz IS NOT NULL AND id_time < $3))
				LIMIT $4
			)
			DELETE FROM runs WHERE id IN (SELECT id FROM victims)`, flowID, keep, older, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune runs of flow %q: %w", flowID, s.fail(err))
		}
		n := int(tag.RowsAffected())
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// CountRuns counts the flow's runs created at or after since (all when zero),
// to the millisecond of their ids.
func (s *Store) CountRuns(ctx context.Context, flowID string, since time.Time) (int, error) {
	var n int
	var from *time.Time
	if !since.IsZero() {
		t := time.UnixMilli(since.UnixMilli())
		from = &t
	}
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM runs WHERE flow_id = $1 AND ($2::timestamptz IS NULL OR id_time >= $2)",
		flowID, from).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count runs of flow %q: %w", flowID, s.fail(err))
	}
	return n, nil
}

// PurgeExpired deletes expired dedupe and kv entries (they already read as
// missing) and returns how many it removed.
func (s *Store) PurgeExpired(ctx context.Context) (int, error) {
	now := time.Now()
	a, err := s.pool.Exec(ctx, "DELETE FROM dedupe WHERE expires_at <= $1", now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("purge expired: %w", s.fail(err))
	}
	b, err := s.pool.Exec(ctx, "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= $1", now)
	if err != nil {
		return int(a.RowsAffected()), fmt.Errorf("purge expired: %w", s.fail(err))
	}
	return int(a.RowsAffected() + b.RowsAffected()), nil
}
