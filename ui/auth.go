package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"golang.org/x/crypto/bcrypt"
)

const (
	sessionCookie = "hookflow_session"
	sessionTTL    = 7 * 24 * time.Hour
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
	minPassword   = 8
)

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < minPassword {
		return "", fmt.Errorf("password must have at least %d characters: %w", minPassword, engine.ErrInvalid)
	}
	if len(pw) > 72 {
		return "", fmt.Errorf("password must have at most 72 bytes: %w", engine.ErrInvalid)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(b), nil
}

// CheckPassword reports whether pw matches the hash.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// randomString returns n random bytes in lower-case base32 without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// NewToken returns a new API token ("hf_…") and the record to store (hash only).
func NewToken(name string, role engine.Role) (string, *engine.Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", nil, fmt.Errorf("token name is required: %w", engine.ErrInvalid)
	}
	if !engine.ValidRole(role) {
		return "", nil, fmt.Errorf("role must be admin, editor or viewer, got %q: %w", role, engine.ErrInvalid)
	}
	secret := "hf_" + randomString(24)
	return secret, &engine.Token{ID: engine.NewID(), Name: name, Role: role, Hash: TokenHash(secret), CreatedAt: time.Now().UTC()}, nil
}

// TokenHash is the stored form of a token.
func TokenHash(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// principal is who makes a request.
type principal struct {
	User    *engine.User
	Token   *engine.Token
	Session *engine.Session
}

func (p *principal) role() engine.Role {
	switch {
	case p == nil:
		return ""
	case p.User != nil:
		return p.User.Role
	case p.Token != nil:
		return p.Token.Role
	}
	return ""
}

// can reports whether the principal's role reaches need (viewer < editor < admin).
func (p *principal) can(need engine.Role) bool {
	rank := map[engine.Role]int{engine.RoleViewer: 1, engine.RoleEditor: 2, engine.RoleAdmin: 3}
	return rank[p.role()] >= rank[need]
}

func who(c *fiber.Ctx) *principal {
	p, _ := c.Locals("principal").(*principal)
	return p
}

// apiAuth requires a bearer token on /api/v1. GET needs viewer; writes editor.
func (s *Server) apiAuth(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, secret, ok := strings.Cut(h, " ")
	ok = ok && strings.EqualFold(scheme, "bearer")
	if !ok || secret == "" {
		// A logged-in browser may use the API too (the UI's fetches), with CSRF.
		if p := s.sessionPrincipal(c); p != nil {
			if c.Method() != fiber.MethodGet && !s.csrfOK(c, p.Session) {
				return s.jsonError(c, fiber.NewError(fiber.StatusForbidden, "missing or wrong CSRF token"))
			}
			c.Locals("principal", p)
			return c.Next()
		}
		return s.jsonError(c, fiber.NewError(fiber.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token> (create one with `hookflow token create`)"))
	}
	t, err := s.store.GetTokenByHash(c.UserContext(), TokenHash(strings.TrimSpace(secret)))
	if err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			return s.jsonError(c, fiber.NewError(fiber.StatusUnauthorized, "unknown or revoked token"))
		}
		return s.jsonError(c, err)
	}
	if t.LastUsed == nil || time.Since(*t.LastUsed) > time.Minute {
		// At most one write a minute per token, off the request's path.
		go func(id string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.store.TouchToken(ctx, id, time.Now()); err != nil && !errors.Is(err, engine.ErrNotFound) {
				s.Logf("token %s: record last use: %v", id, err)
			}
		}(t.ID)
	}
	c.Locals("principal", &principal{Token: t})
	return c.Next()
}

// need guards a route by role.
func need(role engine.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !who(c).can(role) {
			return fiber.NewError(fiber.StatusForbidden, fmt.Sprintf("this needs the %s role", role))
		}
		return c.Next()
	}
}

// Sessions are stored hashed: the cookie holds the raw session id, the store
// keeps sessionKey(id) as the session's ID and TokenHash of its CSRF token, so
// a copy of the database file logs no one in. The CSRF token is derived from
// the raw id (csrfToken), since pages must render it again on every request.
// (Sessions made before this, stored in clear, no longer match: their users
// sign in again.)

// sessionKey is the stored id of the session whose cookie value is raw.
func sessionKey(raw string) string { return TokenHash(raw) }

// csrfToken is the CSRF token of the session whose cookie value is raw: a
// keyed hash, so neither the page's token nor the stored hashes reveal the id.
func csrfToken(raw string) string {
	m := hmac.New(sha256.New, []byte(raw))
	m.Write([]byte("hookflow csrf token"))
	return hex.EncodeToString(m.Sum(nil))
}

// sessionPrincipal returns the logged-in user, or nil. The principal's
// Session is the request's copy: its CSRF field holds the raw token (for
// forms and csrfOK), checked against the stored hash here.
func (s *Server) sessionPrincipal(c *fiber.Ctx) *principal {
	raw := c.Cookies(sessionCookie)
	if raw == "" {
		return nil
	}
	ctx := c.UserContext()
	sess, err := s.store.GetSession(ctx, sessionKey(raw))
	if err != nil || time.Now().After(sess.ExpiresAt) {
		return nil
	}
	csrf := csrfToken(raw)
	if subtle.ConstantTimeCompare([]byte(TokenHash(csrf)), []byte(sess.CSRF)) != 1 {
		return nil
	}
	sess.CSRF = csrf
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil
	}
	return &principal{User: u, Session: sess}
}

// pageAuth requires a session on UI pages; with no user at all it sends the
// visitor to the setup page, else to the login page. Writes need a CSRF token
// and a same-origin request.
func (s *Server) pageAuth(c *fiber.Ctx) error {
	p := s.sessionPrincipal(c)
	if p == nil {
		n, err := s.store.CountUsers(c.UserContext())
		if err != nil {
			return err
		}
		if n == 0 {
			return c.Redirect("/setup", fiber.StatusSeeOther)
		}
		return c.Redirect("/login?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if !s.sameOrigin(c) {
			return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
		}
		if !s.csrfOK(c, p.Session) {
			return fiber.NewError(fiber.StatusForbidden, "missing or wrong CSRF token: reload the page and try again")
		}
	}
	c.Locals("principal", p)
	return c.Next()
}

// csrfOK checks the synchronizer token from the form field or header.
func (s *Server) csrfOK(c *fiber.Ctx, sess *engine.Session) bool {
	got := c.Get(csrfHeader)
	if got == "" {
		got = c.FormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}

// sameOrigin refuses cross-site browser requests (Sec-Fetch-Site, Origin).
func (s *Server) sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return origin == ""
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return u.Host == string(c.Request().Host())
}

// startSession logs a user in with a fresh session id (never reusing one the
// browser sent) and a fresh CSRF token.
func (s *Server) startSession(c *fiber.Ctx, u *engine.User) error {
	if old := c.Cookies(sessionCookie); old != "" {
		_ = s.store.DeleteSession(c.UserContext(), sessionKey(old))
	}
	raw := randomString(32)
	sess := &engine.Session{ID: sessionKey(raw), UserID: u.ID, CSRF: TokenHash(csrfToken(raw)), ExpiresAt: time.Now().Add(sessionTTL)}
	if err := s.store.PutSession(c.UserContext(), sess); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: raw, Path: "/", HTTPOnly: true, SameSite: "Lax",
		Secure: s.secureCookie(c), Expires: sess.ExpiresAt})
	return nil
}

func (s *Server) endSession(c *fiber.Ctx) {
	if raw := c.Cookies(sessionCookie); raw != "" {
		_ = s.store.DeleteSession(c.UserContext(), sessionKey(raw))
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax",
		Secure: s.secureCookie(c), Expires: time.Unix(0, 0)})
}
