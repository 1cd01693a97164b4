package ui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// setupPage shows the first-run form while no user exists.
func (s *Server) setupPage(c *fiber.Ctx) error {
	n, err := s.store.CountUsers(c.UserContext())
	if err != nil {
		return err
	}
	if n > 0 {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, views.Auth(views.AuthPage{Title: "Set up Hookflow", Setup: true}))
}

// setupPost creates the first admin and signs them in.
func (s *Server) setupPost(c *fiber.Ctx) error {
	if !s.sameOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
	}
	ctx := c.UserContext()
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return c.Redirect("/login", fiber.StatusSeeOther)
	}
	email := strings.TrimSpace(c.FormValue("email"))
	form := views.AuthPage{Title: "Set up Hookflow", Setup: true, Email: email}
	u, err := NewUser(email, c.FormValue("password"), engine.RoleAdmin)
	if err == nil {
		err = s.store.CreateUser(ctx, u)
	}
	if err != nil {
		form.Error = userError(err)
		return s.render(c, statusOf(err), views.Auth(form))
	}
	if err := s.startSession(c, u); err != nil {
		return err
	}
	welcome := "Welcome! Create your first flow."
	if n := len(s.eng.FlowNames()); n > 0 { // imported before the first sign-in
		welcome = fmt.Sprintf("Welcome! Your %s %s below.", views.Plural(n, "flow"), map[bool]string{true: "is", false: "are"}[n == 1])
	}
	return redirectFlash(c, "/flows", "ok", welcome)
}

// loginPage shows the sign-in form (or setup when no user exists yet).
func (s *Server) loginPage(c *fiber.Ctx) error {
	n, err := s.store.CountUsers(c.UserContext())
	if err != nil {
		return err
	}
	if n == 0 {
		return c.Redirect("/setup", fiber.StatusSeeOther)
	}
	if p := s.sessionPrincipal(c); p != nil {
		return c.Redirect(localPath(c.Query("next")), fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, views.Auth(views.AuthPage{Title: "Sign in", Next: c.Query("next")}))
}

// loginPost checks the password and starts a fresh session, when the login
// limits admit the attempt (else 429 with Retry-After).
func (s *Server) loginPost(c *fiber.Ctx) error {
	if !s.sameOrigin(c) {
		return fiber.NewError(fiber.StatusForbidden, "cross-origin request refused")
	}
	email := strings.TrimSpace(c.FormValue("email"))
	next := c.FormValue("next")
	addr, account := clientKey(c.IP()), accountKey(email)
	if wait := s.logins.begin(addr, account); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return s.render(c, fiber.StatusTooManyRequests, views.Auth(views.AuthPage{Title: "Sign in", Email: email, Next: next,
			Error: fmt.Sprintf("Too many failed sign-ins. Try again in %s.", time.Duration(secs)*time.Second)}))
	}
	u, err := s.store.GetUserByEmail(c.UserContext(), email)
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if u == nil {
		// Spend the same time as a wrong password, so that answers do not
		// tell which emails have accounts.
		CheckPassword(timingHash, c.FormValue("password"))
	}
	if u == nil || !CheckPassword(u.PasswordHash, c.FormValue("password")) {
		return s.render(c, fiber.StatusUnauthorized, views.Auth(views.AuthPage{Title: "Sign in", Email: email, Next: next,
			Error: "Wrong email or password."}))
	}
	s.logins.succeeded(addr, account)
	if err := s.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(localPath(next), fiber.StatusSeeOther)
}

// logoutPost ends the session.
func (s *Server) logoutPost(c *fiber.Ctx) error {
	s.endSession(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// newUser checks an email and password and returns the record to store.
// NewUser checks a new account's email, password and role and returns the
// record to store (the email lower-cased, the password hashed).
func NewUser(email, password string, role engine.Role) (*engine.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\r\n") {
		return nil, fmt.Errorf("enter a valid email address: %w", engine.ErrInvalid)
	}
	if !engine.ValidRole(role) {
		return nil, fmt.Errorf("choose a role: admin, editor or viewer: %w", engine.ErrInvalid)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return &engine.User{ID: engine.NewID(), Email: email, Role: role, PasswordHash: hash,
		CreatedAt: time.Now().UTC()}, nil
}

// userError is a sentence for a failed user creation.
func userError(err error) string {
	switch {
	case errors.Is(err, engine.ErrExists):
		return "A user with this email already exists."
	case errors.Is(err, engine.ErrInvalid):
		msg := strings.TrimSuffix(err.Error(), ": "+engine.ErrInvalid.Error())
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	msg := err.Error()
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// timingHash is a bcrypt hash checked for unknown emails (its password is random).
var timingHash, _ = HashPassword(randomString(16))
