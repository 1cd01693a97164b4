package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

const defaultKVList = 1000

// kvRecord is a stored kv entry.
type kvRecord struct {
	Value     json.RawMessage `json:"value"`
	ExpiresAt *time.Time      `json:"expires_at,omitempty"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func (r *kvRecord) expired(now time.Time) bool {
	return r.ExpiresAt != nil && !now.Before(*r.ExpiresAt)
}

// item decodes the record into a KVItem.
func (r *kvRecord) item(key string) (engine.KVItem, error) {
	it := engine.KVItem{Key: key, ExpiresAt: r.ExpiresAt, UpdatedAt: r.UpdatedAt}
	if len(r.Value) > 0 {
		if err := json.Unmarshal(r.Value, &it.Value); err != nil {
			return it, fmt.Errorf("decode stored value: %w", err)
		}
	}
	return it, nil
}

// liveKV returns the unexpired record at key, or nil.
func liveKV(b *bolt.Bucket, key []byte, now time.Time) (*kvRecord, error) {
	data := b.Get(key)
	if data == nil {
		return nil, nil
	}
	rec := new(kvRecord)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("decode stored record: %w", err)
	}
	if rec.expired(now) {
		return nil, nil
	}
	return rec, nil
}

// expiresAt is now+ttl, or nil for a ttl <= 0.
func expiresAt(now time.Time, ttl time.Duration) *time.Time {
	if ttl <= 0 {
		return nil
	}
	t := now.Add(ttl)
	return &t
}

// KVGet returns an unexpired entry (engine.ErrNotFound when missing or expired).
func (s *Store) KVGet(ctx context.Context, key string) (*engine.KVItem, error) {
	var it engine.KVItem
	err := s.view(func(tx *bolt.Tx) error {
		rec, err := liveKV(tx.Bucket(bKV), []byte(key), time.Now())
		if err != nil {
			return err
		}
		if rec == nil {
			return engine.ErrNotFound
		}
		it, err = rec.item(key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kv get %q: %w", key, err)
	}
	return &it, nil
}

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
	data, err := json.Marshal(kvRecord{Value: val, ExpiresAt: expiresAt(now, ttl), UpdatedAt: now})
	if err != nil {
		return fmt.Errorf("kv set %q: %w", key, err)
	}
	k := []byte(key)
	err = s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bKV).Put(k, data) })
	if err != nil {
		return fmt.Errorf("kv set %q: %w", key, err)
	}
	return nil
}

// KVDelete removes key (engine.ErrNotFound when missing or expired).
func (s *Store) KVDelete(ctx context.Context, key string) error {
	k := []byte(key)
	// Check first with a read, so that a missing key does not fail (and
	// rerun) a write batch.
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		rec, err := liveKV(tx.Bucket(bKV), k, time.Now())
		found = rec != nil
		return err
	})
	if err == nil && !found {
		err = engine.ErrNotFound
	}
	if err == nil {
		err = s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bKV).Delete(k) })
	}
	if err != nil {
		return fmt.Errorf("kv delete %q: %w", key, err)
	}
	return nil
}

// kvModify atomically replaces the value at key with change(old) (old is nil
// when missing or expired). An entry that exists keeps its expiry; a new one
// expires after ttl (never when ttl is 0).
func (s *Store) kvModify(ctx context.Context, key string, ttl time.Duration, change func(old json.RawMessage) (json.RawMessage, error)) error {
	if key == "" {
		return errInvalid("empty key")
	}
	k := []byte(key)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bKV)
		now := time.Now().UTC()
		rec, err := liveKV(b, k, now)
		if err != nil {
			return err
		}
		var old json.RawMessage
		exp := expiresAt(now, ttl)
		if rec != nil {
			old, exp = rec.Value, rec.ExpiresAt
		}
		val, err := change(old)
		if err != nil {
			return err
		}
		data, err := json.Marshal(kvRecord{Value: val, ExpiresAt: exp, UpdatedAt: now})
		if err != nil {
			return err
		}
		return b.Put(k, data)
	})
}

// KVIncrement adds by to the number at key (missing counts as 0) atomically
// and returns the new value. A value that is not a number is an error
// wrapping engine.ErrConflict. An existing entry keeps its expiry; a new one
// expires after ttl.
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
// atomically and returns the new list. A value that is not a list is an error
// wrapping engine.ErrConflict. An existing entry keeps its expiry; a new one
// expires after ttl.
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

// KVList lists unexpired entries whose key starts with prefix, sorted by key,
// at most limit (0: 1000).
func (s *Store) KVList(ctx context.Context, prefix string, limit int) ([]engine.KVItem, error) {
	if limit <= 0 {
		limit = defaultKVList
	}
	out := []engine.KVItem{}
	err := s.view(func(tx *bolt.Tx) error {
		now := time.Now()
		p := []byte(prefix)
		c := tx.Bucket(bKV).Cursor()
		for k, v := c.Seek(p); hasPrefix(k, p) && len(out) < limit; k, v = c.Next() {
			var rec kvRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			if rec.expired(now) {
				continue
			}
			it, err := rec.item(string(k))
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kv list %q: %w", prefix, err)
	}
	return out, nil
}
