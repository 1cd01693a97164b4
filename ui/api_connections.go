package ui

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/actions"
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
	if in.Type == engine.ConnOAuth2 && in.App != "" {
		s.applyOAuthPreset(&in)
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

// appView is an app as GET /api/v1/apps lists it.
type appView struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Icon       string                  `json:"icon,omitempty"`
	Summary    string                  `json:"summary,omitempty"`
	Builtin    bool                    `json:"builtin"`
	Connection []engine.ConnectionType `json:"connection_types"`
	Operations []string                `json:"operations"`
}

func (s *Server) appViews() []appView {
	apps := actions.AppsOf(s.eng.Registry())
	if apps == nil {
		return nil
	}
	out := []appView{}
	for _, a := range apps.List() {
		v := appView{ID: a.ID, Name: a.Name, Icon: a.Icon, Summary: a.Summary, Builtin: apps.Builtin(a.ID),
			Connection: append([]engine.ConnectionType{}, a.Auth.Types...)}
		for i := range a.Operations {
			v.Operations = append(v.Operations, a.Kind(&a.Operations[i]))
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) apiListApps(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"apps": s.appViews()})
}

// importApp validates an app file, stores it and adds it to the catalogue.
func (s *Server) importApp(ctx context.Context, data []byte) (*actions.App, error) {
	apps, cs := actions.AppsOf(s.eng.Registry()), s.connStore()
	if apps == nil || cs == nil {
		return nil, fiber.NewError(fiber.StatusNotFound, "app files are not available on this server")
	}
	if _, ps := actions.ParseApp(data); len(ps) > 0 {
		return nil, engine.Invalid("app file", ps)
	}
	a, err := apps.Import(data)
	if err != nil {
		return nil, err
	}
	if err := cs.PutAppFile(ctx, a.ID, data); err != nil {
		_ = apps.Remove(a.ID)
		return nil, err
	}
	s.appsChanged(ctx, a.ID)
	return a, nil
}

func (s *Server) connStore() engine.ConnectionStore {
	cs, _ := s.store.(engine.ConnectionStore)
	return cs
}

func (s *Server) apiImportApp(c *fiber.Ctx) error {
	a, err := s.importApp(c.UserContext(), c.Request().Body())
	if err != nil {
		return s.jsonError(c, err)
	}
	for _, v := range s.appViews() {
		if v.ID == a.ID {
			return c.Status(fiber.StatusCreated).JSON(v)
		}
	}
	return c.SendStatus(fiber.StatusCreated)
}

func (s *Server) apiDeleteApp(c *fiber.Ctx) error {
	apps, cs := actions.AppsOf(s.eng.Registry()), s.connStore()
	if apps == nil || cs == nil {
		return s.jsonError(c, fiber.NewError(fiber.StatusNotFound, "app files are not available on this server"))
	}
	id := c.Params("id")
	if err := apps.Remove(id); err != nil {
		return s.jsonError(c, err)
	}
	if err := cs.DeleteAppFile(c.UserContext(), id); err != nil {
		return s.jsonError(c, err)
	}
	s.appsChanged(c.UserContext(), id)
	return c.SendStatus(fiber.StatusNoContent)
}

// appsChanged tells the other nodes sharing the store to re-read the
// imported apps (the change is stored; a lost notice is caught up at their
// next reconnect).
func (s *Server) appsChanged(ctx context.Context, id string) {
	if err := s.eng.Publish(ctx, engine.Notice{Kind: engine.NoticeApps, ID: id}); err != nil {
		s.Logf("app %s is stored, but the other nodes were not told: %v", id, err)
	}
}
