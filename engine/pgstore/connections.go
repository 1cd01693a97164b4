package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// Connections, OAuth states and imported app files (engine.ConnectionStore),
// in the tables of migrations/006_connections.sql.

// PutConnection stores a connection record (its secret parts sealed by the caller).
func (s *Store) PutConnection(ctx context.Context, name string, record []byte) error {
	if name == "" {
		return fmt.Errorf("put connection: %w", errInvalid("empty name"))
	}
	if err := s.exec(ctx, false, "INSERT INTO connections (name, record) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record",
		name, nonNil(record)); err != nil {
		return fmt.Errorf("put connection %q: %w", name, err)
	}
	return nil
}

// GetConnection returns a connection record.
func (s *Store) GetConnection(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getBytes(ctx, "SELECT record FROM connections WHERE name = $1", name)
	if err != nil {
		return nil, fmt.Errorf("get connection %q: %w", name, err)
	}
	return v, nil
}

// ListConnections returns every connection record, by name.
func (s *Store) ListConnections(ctx context.Context) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, "SELECT record FROM connections ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", s.fail(err))
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", s.fail(err))
	}
	if out == nil {
		out = [][]byte{}
	}
	return out, nil
}

// DeleteConnection removes a connection record (engine.ErrNotFound when missing).
func (s *Store) DeleteConnection(ctx context.Context, name string) error {
	if err := s.exec(ctx, true, "DELETE FROM connections WHERE name = $1", name); err != nil {
		return fmt.Errorf("delete connection %q: %w", name, err)
	}
	return nil
}

// PutOAuthState maps a state's hash to its connection.
func (s *Store) PutOAuthState(ctx context.Context, hash, name string) error {
	if hash == "" {
		return fmt.Errorf("put oauth state: %w", errInvalid("empty hash"))
	}
	if err := s.exec(ctx, false, "INSERT INTO oauth_states (hash, name) VALUES ($1, $2) ON CONFLICT (hash) DO UPDATE SET name = EXCLUDED.name, created_at = now()",
		hash, name); err != nil {
		return fmt.Errorf("put oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState returns and deletes a state's mapping in one statement:
// of callers taking one state at once, one gets it, the others
// engine.ErrNotFound.
func (s *Store) TakeOAuthState(ctx context.Context, hash string) (string, error) {
	var name string
	err := s.pool.QueryRow(ctx, "DELETE FROM oauth_states WHERE hash = $1 RETURNING name", hash).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("take oauth state: %w", s.fail(err))
	}
	return name, nil
}

// PutAppFile stores an imported app file under its id (replacing it).
func (s *Store) PutAppFile(ctx context.Context, id string, data []byte) error {
	if id == "" {
		return fmt.Errorf("put app file: %w", errInvalid("empty id"))
	}
	if err := s.exec(ctx, false, "INSERT INTO app_files (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
		id, nonNil(data)); err != nil {
		return fmt.Errorf("put app file %q: %w", id, err)
	}
	return nil
}

// ListAppFiles returns every imported app file by id.
func (s *Store) ListAppFiles(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, "SELECT id, data FROM app_files")
	if err != nil {
		return nil, fmt.Errorf("list app files: %w", s.fail(err))
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("list app files: %w", s.fail(err))
		}
		out[id] = nonNil(data)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list app files: %w", s.fail(err))
	}
	return out, nil
}

// DeleteAppFile removes an imported app file (engine.ErrNotFound when missing).
func (s *Store) DeleteAppFile(ctx context.Context, id string) error {
	if err := s.exec(ctx, true, "DELETE FROM app_files WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete app file %q: %w", id, err)
	}
	return nil
}

var _ engine.ConnectionStore = (*Store)(nil)
