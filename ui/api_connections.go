package ui

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// errNoConnections: the store or the secrets cannot hold connections.
var errNoConnections = fiber.NewError(fiber.StatusNotFound, "connections are not available on this server")

// connectionView is a connection as the API shows it: never a secret part.
type connectionView struct {
	*engine.Connection
	// RedirectURL is what to register at the provider (oauth2).
	RedirectURL string `json:"redirect_url,omitempty"`
	// UsedBy lists the flows whose steps name the connection (GET one).
	UsedBy []string `json:"used_by,omitempty"`
}

// callbackURL is the one OAuth redirect URI: {base-url}/oauth/callback.
func (s *Server) callbackURL() string { return s.BaseURL + "/oauth/callback" }

func (s *Server) connView(c *engine.Connection) connectionView {
	v := connectionView{Connection: c}
	if c.Type == engine.ConnOAuth2 {
		v.RedirectURL = s.callbackURL()
	}
	return v
}

func (s *Server) apiListConnections(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return s.jsonError(c, errNoConnections)
	}
	list, err := m.List(c.UserContext())
	if err != nil {
		return s.jsonError(c, err)
	}
	out := make([]connectionView, 0, len(list))
	for _, x := range list {
		out = append(out, s.connView(x))
	}
	return c.JSON(fiber.Map{"connections": out})
}

func (s *Server) apiCreateConnection(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return s.jsonError(c, errNoConnections)
	}
	var in engine.ConnectionInput
	if len(c.Request().Body()) == 0 {
		return s.jsonError(c, fmt.Errorf(`body must be a connection, e.g. {"name":"crm","type":"bearer","token":"…"}: %w`, engine.ErrBadBody))
	}
	if err := decodeOptional(c, &in); err != nil {
		return s.jsonError(c, err)
	}
	if _, err := m.Create(c.UserContext(), &in); err != nil {
		return s.jsonError(c, err)
	}
	got, err := m.Get(c.UserContext(), in.Name, s.callbackURL())
	if err != nil {
		return s.jsonError(c, err)
	}
	return c.Status(fiber.StatusCreated).JSON(s.connView(got))
}

func (s *Server) apiGetConnection(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return s.jsonError(c, errNoConnections)
	}
	got, err := m.Get(c.UserContext(), c.Params("name"), s.callbackURL())
	if err != nil {
		return s.jsonError(c, err)
	}
	v := s.connView(got)
	if v.UsedBy, err = m.UsedBy(c.UserContext(), got.Name); err != nil {
		return s.jsonError(c, err)
	}
	return c.JSON(v)
}

func (s *Server) apiDeleteConnection(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return s.jsonError(c, errNoConnections)
	}
	if err := m.Delete(c.UserContext(), c.Params("name")); err != nil {
		return s.jsonError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}
