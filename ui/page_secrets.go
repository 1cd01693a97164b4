package ui

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/ui/views"
)

// secretsPage lists secret names (admins only see and change them).
func (s *Server) secretsPage(c *fiber.Ctx) error {
	return s.renderSecrets(c, fiber.StatusOK, "", "")
}

func (s *Server) renderSecrets(c *fiber.Ctx, code int, name, msg string) error {
	p := views.SecretsPage{Page: s.page(c, "Secrets", "secrets"), Available: s.Secrets != nil, Name: name, Error: msg}
	if p.Available && p.IsAdmin {
		names, err := s.Secrets.Names(c.UserContext())
		if err != nil {
			return err
		}
		p.Names = names
	}
	return s.render(c, code, views.Secrets(p))
}

// secretsSet stores a secret's value (write-only).
func (s *Server) secretsSet(c *fiber.Ctx) error {
	if s.Secrets == nil {
		return fiber.NewError(fiber.StatusNotFound, "secrets are not configured on this server")
	}
	name := strings.TrimSpace(c.FormValue("name"))
	value := c.FormValue("value")
	switch {
	case !SecretNameRe.MatchString(name):
		return s.renderSecrets(c, fiber.StatusUnprocessableEntity, name, "A name uses letters, digits and underscores and does not start with a digit, e.g. STRIPE_WHSEC.")
	case value == "":
		return s.renderSecrets(c, fiber.StatusUnprocessableEntity, name, "Enter the secret's value.")
	}
	if err := s.Secrets.Set(c.UserContext(), name, value); err != nil {
		return s.renderSecrets(c, statusOf(err), name, "Could not save the secret: "+err.Error())
	}
	return redirectFlash(c, "/secrets", "ok", "Saved secret "+name+". Use it as {{ secrets."+name+" }}.")
}

// secretsDelete removes a secret.
func (s *Server) secretsDelete(c *fiber.Ctx) error {
	if s.Secrets == nil {
		return fiber.NewError(fiber.StatusNotFound, "secrets are not configured on this server")
	}
	name := c.Params("name")
	if err := s.Secrets.Delete(c.UserContext(), name); err != nil {
		return redirectFlash(c, "/secrets", "error", "Could not delete "+name+": "+err.Error())
	}
	return redirectFlash(c, "/secrets", "ok", "Deleted secret "+name+".")
}
