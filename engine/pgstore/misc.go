package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/jackc/pgx/v5"
)

// getBytes returns the one bytea column of the query's row, or engine.ErrNotFound.
func (s *Store) getBytes(ctx context.Context, sql string, args ...any) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, sql, args...).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, engine.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// exec runs one statement; with mustHit, touching no row is engine.ErrNotFound.
func (s *Store) exec(ctx context.Context, mustHit bool, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return s.fail(err)
	}
	if mustHit && tag.RowsAffected() == 0 {
		return engine.ErrNotFound
	}
	return nil
}

// nonNil keeps an empty value from being stored as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PutSecret stores a sealed secret value under name (replacing it).
func (s *Store) PutSecret(ctx context.Context, name string, sealed []byte) error {
	if name == "" {
		return fmt.Errorf("put secret: %w", errInvalid("empty name"))
	}
	err := s.exec(ctx, false, "INSERT INTO secrets (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed", name, nonNil(sealed))
	if err != nil {
		return fmt.Errorf("put secret %q: %w", name, err)
	}
	return nil
}

// GetSecret returns the sealed value of a secret.
func (s *Store) GetSecret(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getBytes(ctx, "SELECT sealed FROM secrets WHERE name = $1", name)
	if err != nil {
		return nil, fmt.Errorf("get secret %q: %w", name, err)
	}
	return v, nil
}

// ListSecrets returns the secrets' names, sorted.
func (s *Store) ListSecrets(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT name FROM secrets ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", s.fail(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", s.fail(err))
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}

// DeleteSecret removes a secret (engine.ErrNotFound when missing).
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	if err := s.exec(ctx, true, "DELETE FROM secrets WHERE name = $1", name); err != nil {
		return fmt.Errorf("delete secret %q: %w", name, err)
	}
	return nil
}

// GetMeta returns a named value.
func (s *Store) GetMeta(ctx context.Context, name string) ([]byte, error) {
	v, err := s.getBytes(ctx, "SELECT value FROM meta WHERE name = $1", name)
	if err != nil {
		return nil, fmt.Errorf("get meta %q: %w", name, err)
	}
	return v, nil
}

// PutMeta stores a named value.
func (s *Store) PutMeta(ctx context.Context, name string, value []byte) error {
	if name == "" {
		return fmt.Errorf("put meta: %w", errInvalid("empty name"))
	}
	err := s.exec(ctx, false, "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", name, nonNil(value))
	if err != nil {
		return fmt.Errorf("put meta %q: %w", name, err)
	}
	return nil
}

// GetState returns a trigger's named state for a flow.
func (s *Store) GetState(ctx context.Context, flowID, name string) ([]byte, error) {
	v, err := s.getBytes(ctx, "SELECT value FROM trigger_state WHERE flow_id = $1 AND name = $2", flowID, name)
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
	err := s.exec(ctx, false, `INSERT INTO trigger_state (flow_id, name, value) VALUES ($1, $2, $3)
		ON CONFLICT (flow_id, name) DO UPDATE SET value = EXCLUDED.value`, flowID, name, nonNil(value))
	if err != nil {
		return fmt.Errorf("put state %q of flow %q: %w", name, flowID, err)
	}
	return nil
}

// emailKey is the users.email_key column: the trimmed, lower-cased address.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser stores a new user; an empty ID is set to a new id and a zero
// CreatedAt to now. A taken id or email (ignoring case) is engine.ErrExists.
func (s *Store) CreateUser(ctx context.Context, u *engine.User) error {
	if u == nil || strings.TrimSpace(u.Email) == "" {
		return fmt.Errorf("create user: %w", errInvalid("empty email"))
	}
	if u.ID == "" {
		u.ID = engine.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Email, err)
	}
	if err := s.exec(ctx, false, "INSERT INTO users (id, email_key, doc) VALUES ($1, $2, $3)", u.ID, emailKey(u.Email), data); err != nil {
		return fmt.Errorf("create user %q: %w", u.Email, err)
	}
	return nil
}

// UpdateUser replaces an existing user (engine.ErrNotFound when absent); a
// new email must not belong to another user (engine.ErrExists).
func (s *Store) UpdateUser(ctx context.Context, u *engine.User) error {
	if u == nil || u.ID == "" || strings.TrimSpace(u.Email) == "" {
		return fmt.Errorf("update user: %w", errInvalid("empty id or email"))
	}
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.ID, err)
	}
	if err := s.exec(ctx, true, "UPDATE users SET email_key = $2, doc = $3 WHERE id = $1", u.ID, emailKey(u.Email), data); err != nil {
		return fmt.Errorf("update user %q: %w", u.ID, err)
	}
	return nil
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (*engine.User, error) {
	u := new(engine.User)
	if err := s.getDoc(ctx, u, "SELECT doc FROM users WHERE id = $1", id); err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail returns a user by email, compared ignoring case.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*engine.User, error) {
	u := new(engine.User)
	if err := s.getDoc(ctx, u, "SELECT doc FROM users WHERE email_key = $1", emailKey(email)); err != nil {
		return nil, fmt.Errorf("get user by email %q: %w", email, err)
	}
	return u, nil
}

// ListUsers returns every user, by id.
func (s *Store) ListUsers(ctx context.Context) ([]*engine.User, error) {
	out := []*engine.User{}
	err := s.eachDoc(ctx, "SELECT doc FROM users ORDER BY id", nil, func() any {
		u := new(engine.User)
		out = append(out, u)
		return u
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser removes a user and its sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	err := s.txn(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return engine.ErrNotFound
		}
		_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE user_id = $1", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", s.fail(err))
	}
	return n, nil
}

// CreateToken stores a new API token; an empty ID is set to a new id and a
// zero CreatedAt to now. A taken id or hash is engine.ErrExists.
func (s *Store) CreateToken(ctx context.Context, t *engine.Token) error {
	if t == nil || t.Hash == "" {
		return fmt.Errorf("create token: %w", errInvalid("empty hash"))
	}
	if t.ID == "" {
		t.ID = engine.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC()
	}
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	if err := s.exec(ctx, false, "INSERT INTO tokens (id, hash, doc) VALUES ($1, $2, $3)", t.ID, t.Hash, data); err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// GetTokenByHash returns the token whose SHA-256 hash is hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (*engine.Token, error) {
	t := new(engine.Token)
	if err := s.getDoc(ctx, t, "SELECT doc FROM tokens WHERE hash = $1", hash); err != nil {
		return nil, fmt.Errorf("get token by hash: %w", err)
	}
	return t, nil
}

// TouchToken records when a token was last used (ErrNotFound when revoked).
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	err := s.txn(ctx, func(tx pgx.Tx) error {
		var data []byte
		err := tx.QueryRow(ctx, "SELECT doc FROM tokens WHERE id = $1 FOR UPDATE", id).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		t := new(engine.Token)
		if err := json.Unmarshal(data, t); err != nil {
			return fmt.Errorf("decode stored record: %w", err)
		}
		at := at.UTC()
		t.LastUsed = &at
		if data, err = json.Marshal(t); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE tokens SET doc = $2 WHERE id = $1", id, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch token %q: %w", id, err)
	}
	return nil
}

// ListTokens returns every token, by id.
func (s *Store) ListTokens(ctx context.Context) ([]*engine.Token, error) {
	out := []*engine.Token{}
	err := s.eachDoc(ctx, "SELECT doc FROM tokens ORDER BY id", nil, func() any {
		t := new(engine.Token)
		out = append(out, t)
		return t
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes a token.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	if err := s.exec(ctx, true, "DELETE FROM tokens WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete token %q: %w", id, err)
	}
	return nil
}

// PutSession stores (creates or replaces) a session.
func (s *Store) PutSession(ctx context.Context, se *engine.Session) error {
	if se == nil || se.ID == "" {
		return fmt.Errorf("put session: %w", errInvalid("empty session id"))
	}
	data, err := json.Marshal(se)
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	err = s.exec(ctx, false, `INSERT INTO sessions (id, user_id, doc) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, doc = EXCLUDED.doc`, se.ID, se.UserID, data)
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// GetSession returns a session; an expired session is engine.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (*engine.Session, error) {
	se := new(engine.Session)
	err := s.getDoc(ctx, se, "SELECT doc FROM sessions WHERE id = $1", id)
	if err == nil && !se.ExpiresAt.IsZero() && !time.Now().Before(se.ExpiresAt) {
		err = engine.ErrNotFound
	}
	if err != nil {
		// The id is a credential: never put it in an error.
		return nil, fmt.Errorf("get session: %w", err)
	}
	return se, nil
}

// DeleteSession removes a session; a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := s.exec(ctx, false, "DELETE FROM sessions WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
