package boltstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// bResumes holds wait steps' outcomes: run id \x00 step id → the request that
// resumed the step, or its timeout. The bucket is made at its first write.
var bResumes = []byte("resumes")

// ClaimResume stores value for (run, step) unless a value is there; see
// engine.ResumeStore. The check and the write are one transaction, so two
// requests racing for one resume URL cannot both win.
func (s *Store) ClaimResume(ctx context.Context, runID, stepID string, value []byte) ([]byte, bool, error) {
	if runID == "" || stepID == "" {
		return nil, false, fmt.Errorf("claim resume: %w", errInvalid("empty run or step id"))
	}
	key := join(runID, stepID)
	v := copyBytes(value)
	var existing []byte
	var won bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		existing, won = nil, false
		b, err := tx.CreateBucketIfNotExists(bResumes)
		if err != nil {
			return err
		}
		if old := b.Get(key); old != nil {
			existing = copyBytes(old)
			return nil
		}
		won = true
		return b.Put(key, v)
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim resume of run %s step %s: %w", runID, stepID, err)
	}
	return existing, won, nil
}

// GetResume returns the stored outcome of (run, step), or engine.ErrNotFound.
func (s *Store) GetResume(ctx context.Context, runID, stepID string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bResumes)
		if b == nil {
			return engine.ErrNotFound
		}
		v := b.Get(join(runID, stepID))
		if v == nil {
			return engine.ErrNotFound
		}
		out = copyBytes(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get resume of run %s step %s: %w", runID, stepID, err)
	}
	return out, nil
}

// DeleteResumes removes every outcome stored for a run.
func (s *Store) DeleteResumes(ctx context.Context, runID string) error {
	p := prefix(runID)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bResumes)
		if b == nil {
			return nil
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			keys = append(keys, copyBytes(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete resumes of run %s: %w", runID, err)
	}
	return nil
}

var _ engine.ResumeStore = (*Store)(nil)
