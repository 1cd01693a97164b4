package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// emailKey is the users_email key: the trimmed, lower-cased address.
func emailKey(email string) []byte { return []byte(strings.ToLower(strings.TrimSpace(email))) }

// CreateUser stores a new user; an empty ID is set to a new id and a zero
// CreatedAt to now. A taken id or email (compared ignoring case) is an error
// wrapping engine.ErrExists.
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
	id, ek := []byte(u.ID), emailKey(u.Email)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		users, byEmail := tx.Bucket(bUsers), tx.Bucket(bUsersEmail)
		if users.Get(id) != nil || byEmail.Get(ek) != nil {
			return engine.ErrExists
		}
		if err := users.Put(id, data); err != nil {
			return err
		}
		return byEmail.Put(ek, id)
	})
	if err != nil {
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
	id, ek := []byte(u.ID), emailKey(u.Email)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		users, byEmail := tx.Bucket(bUsers), tx.Bucket(bUsersEmail)
		var old engine.User
		if err := get(users, id, &old); err != nil {
			return err
		}
		if owner := byEmail.Get(ek); owner != nil && !bytes.Equal(owner, id) {
			return engine.ErrExists
		}
		if oek := emailKey(old.Email); !bytes.Equal(oek, ek) {
			if err := byEmail.Delete(oek); err != nil {
				return err
			}
		}
		if err := users.Put(id, data); err != nil {
			return err
		}
		return byEmail.Put(ek, id)
	})
	if err != nil {
		return fmt.Errorf("update user %q: %w", u.ID, err)
	}
	return nil
}

// GetUser returns a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (*engine.User, error) {
	u := new(engine.User)
	err := s.view(func(tx *bolt.Tx) error { return get(tx.Bucket(bUsers), []byte(id), u) })
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail returns a user by email, compared ignoring case.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*engine.User, error) {
	u := new(engine.User)
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bUsersEmail).Get(emailKey(email))
		if id == nil {
			return engine.ErrNotFound
		}
		return get(tx.Bucket(bUsers), id, u)
	})
	if err != nil {
		return nil, fmt.Errorf("get user by email %q: %w", email, err)
	}
	return u, nil
}

// ListUsers returns every user, by id (creation order for generated ids).
func (s *Store) ListUsers(ctx context.Context) ([]*engine.User, error) {
	out := []*engine.User{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, v []byte) error {
			u := new(engine.User)
			if err := json.Unmarshal(v, u); err != nil {
				return fmt.Errorf("decode user %q: %w", k, err)
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser removes a user, its email index entry and its sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if _, err := s.GetUser(ctx, id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	key := []byte(id)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		users := tx.Bucket(bUsers)
		var u engine.User
		if err := get(users, key, &u); err != nil {
			return err
		}
		if err := users.Delete(key); err != nil {
			return err
		}
		byEmail := tx.Bucket(bUsersEmail)
		if ek := emailKey(u.Email); bytes.Equal(byEmail.Get(ek), key) {
			if err := byEmail.Delete(ek); err != nil {
				return err
			}
		}
		sessions := tx.Bucket(bSessions)
		var victims [][]byte
		err := sessions.ForEach(func(k, v []byte) error {
			var se struct {
				UserID string `json:"user_id"`
			}
			if json.Unmarshal(v, &se) == nil && se.UserID == id {
				victims = append(victims, copyBytes(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range victims {
			if err := sessions.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bUsers).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateToken stores a new API token; an empty ID is set to a new id and a
// zero CreatedAt to now. A taken id or hash is an error wrapping
// engine.ErrExists.
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
	id, hk := []byte(t.ID), []byte(t.Hash)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		tokens, byHash := tx.Bucket(bTokens), tx.Bucket(bTokensHash)
		if tokens.Get(id) != nil || byHash.Get(hk) != nil {
			return engine.ErrExists
		}
		if err := tokens.Put(id, data); err != nil {
			return err
		}
		return byHash.Put(hk, id)
	})
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

// GetTokenByHash returns the token whose SHA-256 hash is hash.
func (s *Store) GetTokenByHash(ctx context.Context, hash string) (*engine.Token, error) {
	t := new(engine.Token)
	err := s.view(func(tx *bolt.Tx) error {
		id := tx.Bucket(bTokensHash).Get([]byte(hash))
		if id == nil {
			return engine.ErrNotFound
		}
		return get(tx.Bucket(bTokens), id, t)
	})
	if err != nil {
		return nil, fmt.Errorf("get token by hash: %w", err)
	}
	return t, nil
}

// TouchToken records when a token was last used (ErrNotFound when revoked).
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		t := new(engine.Token)
		if err := get(b, []byte(id), t); err != nil {
			return err
		}
		at := at.UTC()
		t.LastUsed = &at
		data, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), data)
	})
	if err != nil {
		return fmt.Errorf("touch token %q: %w", id, err)
	}
	return nil
}

// ListTokens returns every token, by id.
func (s *Store) ListTokens(ctx context.Context) ([]*engine.Token, error) {
	out := []*engine.Token{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
			t := new(engine.Token)
			if err := json.Unmarshal(v, t); err != nil {
				return fmt.Errorf("decode token %q: %w", k, err)
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken removes a token and its hash index entry.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	key := []byte(id)
	if _, err := s.getBytes(bTokens, key); err != nil {
		return fmt.Errorf("delete token %q: %w", id, err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bTokens)
		var t engine.Token
		if err := get(tokens, key, &t); err != nil {
			return err
		}
		if err := tokens.Delete(key); err != nil {
			return err
		}
		byHash := tx.Bucket(bTokensHash)
		if bytes.Equal(byHash.Get([]byte(t.Hash)), key) {
			return byHash.Delete([]byte(t.Hash))
		}
		return nil
	})
	if err != nil {
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
	key := []byte(se.ID)
	err = s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bSessions).Put(key, data) })
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// GetSession returns a session; an expired session is engine.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (*engine.Session, error) {
	se := new(engine.Session)
	err := s.view(func(tx *bolt.Tx) error { return get(tx.Bucket(bSessions), []byte(id), se) })
	if err == nil && !se.ExpiresAt.IsZero() && !time.Now().Before(se.ExpiresAt) {
		err = engine.ErrNotFound
	}
	if err != nil {
		// The id is a credential: never put it in an error.
		return nil, fmt.Errorf("get session: %w", err)
	}
	return se, nil
}

// DeleteSession removes a session; a missing one is not an error (logout is
// idempotent).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	key := []byte(id)
	if len(key) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) error { return tx.Bucket(bSessions).Delete(key) })
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
