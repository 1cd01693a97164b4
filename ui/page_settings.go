package ui

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// settingsPage manages users and API tokens (admins only; others see who they are).
func (s *Server) settingsPage(c *fiber.Ctx) error {
	return s.renderSettings(c, fiber.StatusOK, views.SettingsPage{})
}

func (s *Server) renderSettings(c *fiber.Ctx, code int, p views.SettingsPage) error {
	ctx := c.UserContext()
	p.Page = s.page(c, "Settings", "settings")
	for _, r := range []engine.Role{engine.RoleEditor, engine.RoleViewer, engine.RoleAdmin} {
		p.Roles = append(p.Roles, views.Option{Value: string(r), Label: roleLabel(r)})
	}
	if !p.IsAdmin {
		return s.render(c, code, views.Settings(p))
	}
	me := who(c).User
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		p.Users = append(p.Users, views.UserRow{ID: u.ID, Email: u.Email, Role: string(u.Role),
			Created: u.CreatedAt.UTC().Format("2 Jan 2006"), Self: u.ID == me.ID})
	}
	tokens, err := s.store.ListTokens(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range tokens {
		row := views.TokenRow{ID: t.ID, Name: t.Name, Role: string(t.Role), Created: t.CreatedAt.UTC().Format("2 Jan 2006"), LastUsed: "never"}
		if t.LastUsed != nil {
			row.LastUsed = ago(*t.LastUsed, now)
		}
		p.Tokens = append(p.Tokens, row)
	}
	return s.render(c, code, views.Settings(p))
}

func roleLabel(r engine.Role) string {
	switch r {
	case engine.RoleAdmin:
		return "admin — everything, including users, tokens and secrets"
	case engine.RoleEditor:
		return "editor — build and run flows"
	}
	return "viewer — read only"
}

// usersCreate adds a user.
func (s *Server) usersCreate(c *fiber.Ctx) error {
	email := strings.TrimSpace(c.FormValue("email"))
	u, err := NewUser(email, c.FormValue("password"), engine.Role(c.FormValue("role")))
	if err == nil {
		err = s.store.CreateUser(c.UserContext(), u)
	}
	if err != nil {
		return s.renderSettings(c, statusOf(err), views.SettingsPage{UserError: userError(err), Email: email})
	}
	return redirectFlash(c, "/settings", "ok", "Created "+u.Email+" ("+string(u.Role)+").")
}

// usersDelete removes another user.
func (s *Server) usersDelete(c *fiber.Ctx) error {
	id := c.Params("id")
	if id == who(c).User.ID {
		return redirectFlash(c, "/settings", "error", "You cannot remove yourself.")
	}
	if err := s.store.DeleteUser(c.UserContext(), id); err != nil {
		return redirectFlash(c, "/settings", "error", "Could not remove the user: "+err.Error())
	}
	return redirectFlash(c, "/settings", "ok", "User removed.")
}

// tokensCreate makes an API token and shows its secret once.
func (s *Server) tokensCreate(c *fiber.Ctx) error {
	secret, t, err := NewToken(strings.TrimSpace(c.FormValue("name")), engine.Role(c.FormValue("role")))
	if err == nil {
		err = s.store.CreateToken(c.UserContext(), t)
	}
	if err != nil {
		return s.renderSettings(c, statusOf(err), views.SettingsPage{TokenErr: userError(err)})
	}
	return s.renderSettings(c, fiber.StatusOK, views.SettingsPage{NewToken: secret})
}

// tokensDelete revokes a token.
func (s *Server) tokensDelete(c *fiber.Ctx) error {
	if err := s.store.DeleteToken(c.UserContext(), c.Params("id")); err != nil {
		return redirectFlash(c, "/settings", "error", "Could not revoke the token: "+err.Error())
	}
	return redirectFlash(c, "/settings", "ok", "Token revoked.")
}
