package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The Export methods read what the engine.Store interface cannot list, for
// `hookflow store migrate` (copying an installation to another backend).
// Each reads one consistent transaction; fn must not call back into the store.

// ExportDedupe calls fn for every unexpired dedupe entry: its flow, its key
// as stored (keys longer than 512 bytes are already "sha256:" + hex), the
// run recorded for it ("" for MarkSeen keys) and its expiry in unix
// nanoseconds (math.MaxInt64: never).
func (s *Store) ExportDedupe(now int64, fn func(flowID, key, runID string, expires int64) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bDedupe).ForEach(func(k, v []byte) error {
			runID, ok := parseDedupe(v, now)
			if !ok {
				return nil
			}
			flow, key, found := bytes.Cut(k, []byte{0})
			if !found {
				return fmt.Errorf("dedupe entry %q has no flow id", k)
			}
			return fn(string(flow), string(key), runID, int64(binary.BigEndian.Uint64(v)))
		})
	})
}

// ExportMeta calls fn for every meta entry (value is a copy).
func (s *Store) ExportMeta(fn func(name string, value []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).ForEach(func(k, v []byte) error { return fn(string(k), copyBytes(v)) })
	})
}

// ExportState calls fn for every trigger state entry (value is a copy).
func (s *Store) ExportState(fn func(flowID, name string, value []byte) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bState).ForEach(func(k, v []byte) error {
			flow, name, found := bytes.Cut(k, []byte{0})
			if !found {
				return fmt.Errorf("trigger state %q has no flow id", k)
			}
			return fn(string(flow), string(name), copyBytes(v))
		})
	})
}
