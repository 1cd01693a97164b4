package boltstore

import (
	"context"
	"fmt"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// Connections, OAuth states and imported app files live in buckets created on
// first write, so that Open and older data dirs are untouched.
var (
	bConnections = []byte("connections")
	bOAuthStates = []byte("oauth_states")
	bAppFiles    = []byte("app_files")
)

// putIn stores a copy of value at key in bucket, creating the bucket.
func (s *Store) putIn(ctx context.Context, bucket []byte, key string, value []byte) error {
	if key == "" {
		return errInvalid("empty name")
	}
	v := copyBytes(value)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
}

// getIn returns a copy of the value at key, or engine.ErrNotFound.
func (s *Store) getIn(bucket []byte, key string) ([]byte, error) {
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return engine.ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return engine.ErrNotFound
		}
		out = copyBytes(v)
		return nil
	})
	return out, err
}

// takeIn returns and deletes the value at key in one transaction.
func (s *Store) takeIn(ctx context.Context, bucket []byte, key string) ([]byte, error) {
	var out []byte
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return engine.ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return engine.ErrNotFound
		}
		out = copyBytes(v)
		return b.Delete([]byte(key))
	})
	return out, err
}

// eachIn calls fn for every entry of bucket (none when it does not exist yet).
func (s *Store) eachIn(bucket []byte, fn func(k, v []byte)) error {
	return s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			fn(k, v)
			return nil
		})
	})
}

// PutConnection stores a connection record (its secret parts sealed by the caller).
func (s *Store) PutConnection(ctx context.Context, name string, record []byte) error {
	if err := s.putIn(ctx, bConnections, name, record); err != nil {
		return fmt.Errorf("put connection %q: %w", name, err)
	}
	return nil
}

// GetConnection returns a connection record.
func (s *Store) GetConnection(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getIn(bConnections, name)
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", name, err)
	}
	return v, nil
}

// ListConnections returns every connection record, by name.
func (s *Store) ListConnections(ctx context.Context) ([][]byte, error) {
	out := [][]byte{}
	if err := s.eachIn(bConnections, func(_, v []byte) { out = append(out, copyBytes(v)) }); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return out, nil
}

// DeleteConnection removes a connection record (engine.ErrNotFound when missing).
func (s *Store) DeleteConnection(ctx context.Context, name string) error {
	if _, err := s.takeIn(ctx, bConnections, name); err != nil {
		return fmt.Errorf("delete connection %q: %w", name, err)
	}
	return nil
}

// PutOAuthState maps a state's hash to its connection.
func (s *Store) PutOAuthState(ctx context.Context, hash, name string) error {
	if err := s.putIn(ctx, bOAuthStates, hash, []byte(name)); err != nil {
		return fmt.Errorf("put oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState returns and deletes a state's mapping in one transaction.
func (s *Store) TakeOAuthState(ctx context.Context, hash string) (string, error) {
	v, err := s.takeIn(ctx, bOAuthStates, hash)
	if err != nil {
		return "", fmt.Errorf("take oauth state: %w", err)
	}
	return string(v), nil
}

// PutAppFile stores an imported app file under its id (replacing it).
func (s *Store) PutAppFile(ctx context.Context, id string, data []byte) error {
	if err := s.putIn(ctx, bAppFiles, id, data); err != nil {
		return fmt.Errorf("put app file %q: %w", id, err)
	}
	return nil
}

// ListAppFiles returns every imported app file by id.
func (s *Store) ListAppFiles(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	if err := s.eachIn(bAppFiles, func(k, v []byte) { out[string(k)] = copyBytes(v) }); err != nil {
		return nil, fmt.Errorf("list app files: %w", err)
	}
	return out, nil
}

// DeleteAppFile removes an imported app file (engine.ErrNotFound when missing).
func (s *Store) DeleteAppFile(ctx context.Context, id string) error {
	if _, err := s.takeIn(ctx, bAppFiles, id); err != nil {
		return fmt.Errorf("delete app file %q: %w", id, err)
	}
	return nil
}

var _ engine.ConnectionStore = (*Store)(nil)
