package ui

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// oauthCallback completes an OAuth 2.0 authorization: the provider sends the
// browser here with code and state (or error). No session is needed: the
// state, taken once, authenticates the request. A wrong, expired or reused
// state answers 400 and changes nothing; otherwise 303 to /connections,
// where the connection shows connected or the provider's message.
func (s *Server) oauthCallback(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return errNoConnections
	}
	perr := c.Query("error")
	if d := c.Query("error_description"); d != "" {
		perr += ": " + d
	}
	name, err := m.Callback(c.UserContext(), c.Query("state"), c.Query("code"), perr, s.callbackURL())
	switch {
	case errors.Is(err, engine.ErrBadState):
		return fiber.NewError(fiber.StatusBadRequest, "This authorization link is unknown, expired or already used. Start again with Connect on the Connections page.")
	case err != nil && name != "":
		return redirectFlash(c, "/connections", "error", "Connection "+name+" was not authorized: "+s.eng.Redact(err.Error()))
	case err != nil:
		return err
	}
	return redirectFlash(c, "/connections", "ok", "Connected "+name+".")
}
