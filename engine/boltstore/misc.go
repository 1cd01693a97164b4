package boltstore

import (
	"context"
	"fmt"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// getBytes returns a copy of the value at key, or engine.ErrNotFound.
func (s *Store) getBytes(bucket, key []byte) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucket).Get(key)
		if v == nil {
			return engine.ErrNotFound
		}
		out = copyBytes(v)
		return nil
	})
	return out, err
}

// putBytes stores a copy of value at key.
func (s *Store) putBytes(ctx context.Context, bucket, key, value []byte) error {
	if len(key) == 0 {
		return errInvalid("empty name")
	}
	v := copyBytes(value)
	if v == nil {
		v = []byte{}
	}
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, v) })
}

// PutSecret stores a sealed secret value under name (replacing it).
func (s *Store) PutSecret(ctx context.Context, name string, sealed []byte) error {
	if err := s.putBytes(ctx, bSecrets, []byte(name), sealed); err != nil {
		return fmt.Errorf("put secret %q: %w", name, err)
	}
	return nil
}

// GetSecret returns the sealed value of a secret.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getBytes(bSecrets, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	return v, nil
}

// ListSecrets returns the secrets' names, sorted.
func (s *Store) ListSecrets(ctx context.Context) ([]string, error) {
	names := []string{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bSecrets).ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	return names, nil
}

// DeleteSecret removes a secret (engine.ErrNotFound when missing).
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	if err := s.deleteExisting(ctx, bSecrets, []byte(name)); err != nil {
		return fmt.Errorf("delete secret %q: %w", name, err)
	}
	return nil
}

// deleteExisting deletes key, or returns engine.ErrNotFound when it is absent.
func (s *Store) deleteExisting(ctx context.Context, bucket, key []byte) error {
	if _, err := s.getBytes(bucket, key); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete(key) })
}

// GetMeta returns a named value.
func (s *Store) GetMeta(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getBytes(bMeta, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("get meta %q: %w", name, err)
	}
	return v, nil
}

// PutMeta stores a named value.
func (s *Store) PutMeta(ctx context.Context, name string, value []byte) error {
	if err := s.putBytes(ctx, bMeta, []byte(name), value); err != nil {
		return fmt.Errorf("put meta %q: %w", name, err)
	}
	return nil
}

// GetState returns a trigger's named state for a flow.
func (s *Store) GetState(ctx context.Context, flowID, name string) ([]byte, error) {
	v, err := s.getBytes(bState, join(flowID, name))
	if err != nil {
		return nil, fmt.Errorf("get state %q of flow %q: %w", name, flowID, err)
	}
	return v, nil
}

// PutState stores a trigger's named state for a flow.
func (s *Store) PutState(ctx context.Context, flowID, name string, value []byte) error {
	if flowID == "" || name == "" {
		return fmt.Errorf("put state: %w", errInvalid("empty flow id or name"))
	}
	if err := s.putBytes(ctx, bState, join(flowID, name), value); err != nil {
		return fmt.Errorf("put state %q of flow %q: %w", name, flowID, err)
	}
	return nil
}
