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

const defaultKVList = 1000

// expiresAt is now+ttl, or nil for a ttl <= 0.
func expiresAt(now time.Time, ttl time.Duration) *time.Time {
	if ttl <= 0 {
		return nil
	}
	t := now.Add(ttl)
	return &t
}

// kvItem builds a KVItem from a stored row.
func kvItem(key string, value []byte, exp *time.Time, updated time.Time) (engine.KVItem, error) {
	it := engine.KVItem{Key: key, UpdatedAt: updated.UTC()}
	if exp != nil {
		e := exp.UTC()
		it.ExpiresAt = &e
	}
	if len(value) > 0 {
		if err := json.Unmarshal(value, &it.Value); err != nil {
			return it, fmt.Errorf("decode stored value: %w", err)
		}
	}
	return it, nil
}

// KVGet returns an unexpired entry (engine.ErrNotFound when missing or expired).
func (s *Store) KVGet(ctx context.Context, key string) (*engine.KVItem, error) {
	var value []byte
	var exp *time.Time
	var updated time.Time
	err := s.pool.QueryRow(ctx, "SELECT value, expires_at, updated_at FROM kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)",
		[]byte(key), time.Now()).Scan(&value, &exp, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kv get %q: %w", key, s.fail(err))
	}
	it, err := kvItem(key, value, exp, updated)
	if err != nil {
		return nil, fmt.Errorf("kv get %q: %w", key, err)
	}
	return &it, nil
}

const kvUpsert = `INSERT INTO kv (key, value, expires_at, updated_at) VALUES ($1, $2, $3, $4)
	ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at`

// KVSet stores value at key, expiring after ttl (never when ttl is 0).
func (s *Store) KVSet(ctx context.Context, key string, value any, ttl time.Duration) error {
	if key == "" {
		return fmt.Errorf("kv set: %w", errInvalid("empty key"))
	}
	val, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("kv set %q: %w", key, err)
	}
	now := time.Now().UTC()
	if _, err := s.pool.Exec(ctx, kvUpsert, []byte(key), val, expiresAt(now, ttl), now); err != nil {
		return fmt.Errorf("kv set %q: %w", key, s.fail(err))
	}
	return nil
}

// KVDelete removes key (engine.ErrNotFound when missing or expired).
func (s *Store) KVDelete(ctx context.Context, key string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM kv WHERE key = $1 AND (expires_at IS NULL OR expires_at > $2)", []byte(key), time.Now())
	if err == nil && tag.RowsAffected() == 0 {
		err = engine.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("kv delete %q: %w", key, s.fail(err))
	}
	return nil
}

// kvModify atomically replaces the value at key with change(old) (old is nil
// when missing or expired). An entry that exists keeps its expiry; a new one
// expires after ttl. The row is locked for the transaction: a placeholder
// row is inserted first when the key is missing, so that concurrent
// modifications of a new key queue behind each other.
func (s *Store) kvModify(ctx context.Context, key string, ttl time.Duration, change func(old json.RawMessage) (json.RawMessage, error)) error {
	if key == "" {
		return errInvalid("empty key")
	}
	k := []byte(key)
	return s.txn(ctx, func(tx pgx.Tx) error {
		now := time.Now().UTC()
		if _, err := tx.Exec(ctx, "INSERT INTO kv (key, value, expires_at, updated_at) VALUES ($1, NULL, $2, $2) ON CONFLICT (key) DO NOTHING", k, now); err != nil {
			return err
		}
		var old []byte
		var exp *time.Time
		if err := tx.QueryRow(ctx, "SELECT value, expires_at FROM kv WHERE key = $1 FOR UPDATE", k).Scan(&old, &exp); err != nil {
			return err
		}
		if old == nil || (exp != nil && !now.Before(*exp)) { // placeholder or expired: missing
			old, exp = nil, expiresAt(now, ttl)
		}
		val, err := change(old)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE kv SET value = $2, expires_at = $3, updated_at = $4 WHERE key = $1", k, []byte(val), exp, now)
		return err
	})
}

// KVIncrement adds by to the number at key (missing counts as 0) atomically
// and returns the new value; a value that is not a number is engine.ErrConflict.
func (s *Store) KVIncrement(ctx context.Context, key string, by float64, ttl time.Duration) (float64, error) {
	var result float64
	err := s.kvModify(ctx, key, ttl, func(old json.RawMessage) (json.RawMessage, error) {
		data, n, err := engine.KVAddNumber(old, by)
		result = n
		return data, err
	})
	if err != nil {
		return 0, fmt.Errorf("kv increment %q: %w", key, err)
	}
	return result, nil
}

// KVAppend appends value to the list at key (missing counts as empty)
// atomically and returns the new list; a value that is not a list is
// engine.ErrConflict.
func (s *Store) KVAppend(ctx context.Context, key string, value any, ttl time.Duration) ([]any, error) {
	elem, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("kv append %q: %w", key, err)
	}
	var result []any
	err = s.kvModify(ctx, key, ttl, func(old json.RawMessage) (json.RawMessage, error) {
		data, list, err := engine.KVAppendValue(old, elem)
		result = list
		return data, err
	})
	if err != nil {
		return nil, fmt.Errorf("kv append %q: %w", key, err)
	}
	return result, nil
}

// prefixEnd is the smallest byte string above every string starting with p
// (nil: none, p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// KVList lists unexpired entries whose key starts with prefix, sorted by key
// (bytewise), at most limit (0: 1000).
func (s *Store) KVList(ctx context.Context, prefix string, limit int) ([]engine.KVItem, error) {
	if limit <= 0 {
		limit = defaultKVList
	}
	p := []byte(prefix)
	rows, err := s.pool.Query(ctx, `SELECT key, value, expires_at, updated_at FROM kv
		WHERE key >= $1 AND ($2::bytea IS NULL OR key < $2) AND value IS NOT NULL AND (expires_at IS NULL OR expires_at > $3)
		ORDER BY key LIMIT $4`, p, prefixEnd(p), time.Now(), limit)
	if err != nil {
		return nil, fmt.Errorf("kv list %q: %w", prefix, s.fail(err))
	}
	defer rows.Close()
	out := []engine.KVItem{}
	for rows.Next() {
		var k, value []byte
		var exp *time.Time
		var updated time.Time
		if err := rows.Scan(&k, &value, &exp, &updated); err != nil {
			return nil, fmt.Errorf("kv list %q: %w", prefix, s.fail(err))
		}
		it, err := kvItem(string(k), value, exp, updated)
		if err != nil {
			return nil, fmt.Errorf("kv list %q: %w", prefix, err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kv list %q: %w", prefix, s.fail(err))
	}
	return out, nil
}
