package boltstore

import (
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

func TestUsers(t *testing.T) {
	s, _ := openTest(t, Options{})
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Fatalf("CountUsers = %d on a new store", n)
	}
	ada := &engine.User{Email: "Ada@Example.com", Role: engine.RoleAdmin, PasswordHash: "h"}
	mustNil(t, s.CreateUser(ctx, ada))
	if ada.ID == "" || ada.CreatedAt.IsZero() {
		t.Fatalf("CreateUser did not set id and time: %+v", ada)
	}
	bob := &engine.User{Email: "bob@example.com", Role: engine.RoleViewer}
	mustNil(t, s.CreateUser(ctx, bob))

	tests := []struct {
		name    string
		user    *engine.User
		wantErr error
	}{
		{"taken email, other case", &engine.User{Email: "ada@example.COM"}, engine.ErrExists},
		{"taken id", &engine.User{ID: ada.ID, Email: "new@example.com"}, engine.ErrExists},
		{"empty email", &engine.User{Email: " "}, engine.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, s.CreateUser(ctx, tc.user), tc.wantErr) })
	}

	got, err := s.GetUserByEmail(ctx, "ADA@example.com")
	mustNil(t, err)
	if got.ID != ada.ID || got.Role != engine.RoleAdmin {
		t.Fatalf("by email = %+v", got)
	}
	if n, _ := s.CountUsers(ctx); n != 2 {
		t.Fatalf("CountUsers = %d", n)
	}

	// Changing the email moves the index entry; another user's email is refused.
	ada.Email = "ada@new.example"
	mustNil(t, s.UpdateUser(ctx, ada))
	_, err = s.GetUserByEmail(ctx, "ada@example.com")
	wantErr(t, err, engine.ErrNotFound)
	if got, err := s.GetUserByEmail(ctx, "ada@new.example"); err != nil || got.ID != ada.ID {
		t.Fatalf("by new email = %+v, %v", got, err)
	}
	ada.Email = "bob@example.com"
	wantErr(t, s.UpdateUser(ctx, ada), engine.ErrExists)
	wantErr(t, s.UpdateUser(ctx, &engine.User{ID: "nope", Email: "x@y.z"}), engine.ErrNotFound)

	mustNil(t, s.PutSession(ctx, &engine.Session{ID: "s1", UserID: bob.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	mustNil(t, s.DeleteUser(ctx, bob.ID))
	wantErr(t, s.DeleteUser(ctx, bob.ID), engine.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "bob@example.com")
	wantErr(t, err, engine.ErrNotFound)
	_, err = s.GetSession(ctx, "s1")
	wantErr(t, err, engine.ErrNotFound)
	users, err := s.ListUsers(ctx)
	mustNil(t, err)
	if len(users) != 1 || users[0].ID != ada.ID {
		t.Fatalf("ListUsers = %v", users)
	}
}

func TestTokens(t *testing.T) {
	s, _ := openTest(t, Options{})
	tok := &engine.Token{Name: "ci", Role: engine.RoleEditor, Hash: "abc"}
	mustNil(t, s.CreateToken(ctx, tok))
	wantErr(t, s.CreateToken(ctx, &engine.Token{Name: "again", Hash: "abc"}), engine.ErrExists)
	wantErr(t, s.CreateToken(ctx, &engine.Token{Name: "nohash"}), engine.ErrInvalid)
	got, err := s.GetTokenByHash(ctx, "abc")
	mustNil(t, err)
	if got.ID != tok.ID || got.Name != "ci" || got.Role != engine.RoleEditor {
		t.Fatalf("token = %+v", got)
	}
	list, err := s.ListTokens(ctx)
	mustNil(t, err)
	if len(list) != 1 {
		t.Fatalf("ListTokens = %v", list)
	}
	mustNil(t, s.DeleteToken(ctx, tok.ID))
	wantErr(t, s.DeleteToken(ctx, tok.ID), engine.ErrNotFound)
	_, err = s.GetTokenByHash(ctx, "abc")
	wantErr(t, err, engine.ErrNotFound)
}

func TestSessions(t *testing.T) {
	s, _ := openTest(t, Options{})
	tests := []struct {
		name    string
		expires time.Time
		wantErr error
	}{
		{"live", time.Now().Add(time.Hour), nil},
		{"expired", time.Now().Add(-time.Second), engine.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustNil(t, s.PutSession(ctx, &engine.Session{ID: tc.name, UserID: "u", CSRF: "c", ExpiresAt: tc.expires}))
			got, err := s.GetSession(ctx, tc.name)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr)
				return
			}
			mustNil(t, err)
			if got.UserID != "u" || got.CSRF != "c" {
				t.Fatalf("session = %+v", got)
			}
		})
	}
	mustNil(t, s.DeleteSession(ctx, "live"))
	mustNil(t, s.DeleteSession(ctx, "live"))
	_, err := s.GetSession(ctx, "live")
	wantErr(t, err, engine.ErrNotFound)
}
