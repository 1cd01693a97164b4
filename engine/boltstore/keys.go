package boltstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
)

// maxDedupeKey is the longest dedupe key stored as is; longer ones are hashed.
const maxDedupeKey = 512

// join builds a compound key: a 0x00 b.
func join(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// prefix is a compound key's first part with its separator.
func prefix(a string) []byte { return join(a, "") }

// versionKey is a flow_versions key.
func versionKey(flowID string, version int) []byte {
	k := prefix(flowID)
	return binary.BigEndian.AppendUint32(k, uint32(version))
}

// dedupeKey is a dedupe key; long keys are hashed to fit bbolt's key limit.
func dedupeKey(flowID, key string) []byte {
	if len(key) > maxDedupeKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	return join(flowID, key)
}

// dedupeValue encodes a dedupe entry: expiry (unix ns) then the run id.
func dedupeValue(expires int64, runID string) []byte {
	v := make([]byte, 8, 8+len(runID))
	binary.BigEndian.PutUint64(v, uint64(expires))
	return append(v, runID...)
}

// parseDedupe decodes a dedupe entry; ok is false when it is absent or expired at now.
func parseDedupe(v []byte, now int64) (runID string, ok bool) {
	if len(v) < 8 {
		return "", false
	}
	if int64(binary.BigEndian.Uint64(v)) <= now {
		return "", false
	}
	return string(v[8:]), true
}

// expiry returns the unix-ns expiry of an entry written at now for window
// (never, for a window <= 0).
func expiry(now time.Time, window time.Duration) int64 {
	if window <= 0 {
		return math.MaxInt64
	}
	return now.Add(window).UnixNano()
}

// ulidKey returns the smallest ULID string of the millisecond of t: every id
// created at or after t sorts at or after it.
func ulidKey(t time.Time) string {
	var u ulid.ULID
	if t.Before(time.UnixMilli(0)) {
		t = time.UnixMilli(0)
	}
	if err := u.SetTime(ulid.Timestamp(t)); err != nil {
		_ = u.SetTime(ulid.MaxTime())
	}
	return u.String()
}

// idTime returns the creation time encoded in a ULID run id.
func idTime(id []byte) (time.Time, bool) {
	if len(id) != ulid.EncodedSize {
		return time.Time{}, false
	}
	u, err := ulid.ParseStrict(string(id))
	if err != nil {
		return time.Time{}, false
	}
	return ulid.Time(u.Time()), true
}

// runCreated returns when the run with id was created: from the ULID, else
// from the stored record.
func runCreated(runs *bolt.Bucket, id []byte) time.Time {
	if t, ok := idTime(id); ok {
		return t
	}
	if v := runs.Get(id); v != nil {
		return recordCreated(id, v)
	}
	return time.Time{}
}

// hasPrefix reports whether k is non-nil and starts with p.
func hasPrefix(k, p []byte) bool { return k != nil && bytes.HasPrefix(k, p) }

// get decodes the JSON value at key into v, or returns ErrNotFound.
func get(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return engine.ErrNotFound
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode stored record: %w", err)
	}
	return nil
}

// copyBytes returns a copy of b (bbolt's slices are only valid inside the tx).
func copyBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// errInvalid reports a bad argument.
func errInvalid(what string) error { return fmt.Errorf("%s: %w", what, engine.ErrInvalid) }
