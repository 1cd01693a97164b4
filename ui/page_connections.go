package ui

import (
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// connectionsPage lists connections with a form per type.
func (s *Server) connectionsPage(c *fiber.Ctx) error {
	return s.renderConnections(c, fiber.StatusOK, "", "")
}

func (s *Server) renderConnections(c *fiber.Ctx, code int, form, msg string) error {
	m := s.eng.Connections()
	p := views.ConnectionsPage{Page: s.page(c, "Connections", "connections"), Available: m != nil,
		RedirectURL: s.callbackURL(), Error: msg, Form: form, OAuthApps: s.oauthAppIDs()}
	for _, a := range s.appViews() {
		types := make([]string, len(a.Connection))
		for i, t := range a.Connection {
			types[i] = string(t)
		}
		p.Apps = append(p.Apps, views.AppRow{ID: a.ID, Name: a.Name, Icon: a.Icon, Summary: a.Summary, Builtin: a.Builtin,
			Types: strings.Join(types, ", "), Operations: a.Operations})
	}
	if m != nil {
		list, err := m.List(c.UserContext())
		if err != nil {
			return err
		}
		flows, err := s.store.ListFlows(c.UserContext())
		if err != nil {
			return err
		}
		for _, x := range list {
			p.Rows = append(p.Rows, views.ConnectionRow{Name: x.Name, Type: string(x.Type), App: x.App, Status: string(x.Status),
				Error: x.Error, Detail: connDetail(x), OAuth: x.Type == engine.ConnOAuth2, UsedBy: engine.UsesConnection(flows, x.Name)})
		}
	}
	return s.render(c, code, views.Connections(p))
}

// connDetail is a public summary of what a connection holds.
func connDetail(x *engine.Connection) string {
	switch x.Type {
	case engine.ConnAPIKey:
		return x.In + " " + x.KeyName
	case engine.ConnBasic:
		return x.Username
	case engine.ConnOAuth2, engine.ConnOAuth2Client:
		return "client " + x.ClientID
	}
	return ""
}

// splitList splits "a b, c" on commas and spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// parseParams reads "k=v, k2=v2".
func parseParams(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, errors.New("extra values are name=value pairs separated by commas, e.g. subdomain=acme")
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// connectionsCreate stores a connection from one of the page's forms; an
// OAuth 2.0 connection is sent to the provider's consent page at once.
func (s *Server) connectionsCreate(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return errNoConnections
	}
	typ := c.FormValue("type")
	in := engine.ConnectionInput{Name: strings.TrimSpace(c.FormValue("name")), Type: engine.ConnectionType(typ),
		App: c.FormValue("app"), In: c.FormValue("in"), KeyName: strings.TrimSpace(c.FormValue("key_name")), Prefix: c.FormValue("prefix"),
		APIKey: c.FormValue("api_key"), Token: c.FormValue("token"), Username: c.FormValue("username"), Password: c.FormValue("password"),
		AuthURL: strings.TrimSpace(c.FormValue("auth_url")), TokenURL: strings.TrimSpace(c.FormValue("token_url")),
		ClientID: strings.TrimSpace(c.FormValue("client_id")), Secret: c.FormValue("client_secret"), Scopes: splitList(c.FormValue("scopes"))}
	params, err := parseParams(c.FormValue("params"))
	if err != nil {
		return s.renderConnections(c, fiber.StatusUnprocessableEntity, typ, err.Error())
	}
	in.Params = params
	if in.Type == engine.ConnOAuth2 && in.App != "" {
		s.applyOAuthPreset(&in)
	}
	if _, err := m.Create(c.UserContext(), &in); err != nil {
		var pe *engine.ProblemsError
		msg := err.Error()
		if errors.As(err, &pe) {
			var parts []string
			for _, p := range pe.Problems {
				parts = append(parts, p.Path+": "+p.Message)
			}
			sort.Strings(parts)
			msg = strings.Join(parts, "; ")
		}
		return s.renderConnections(c, statusOf(err), typ, "Could not save the connection: "+msg)
	}
	if in.Type == engine.ConnOAuth2 {
		return s.connectRedirect(c, m, in.Name)
	}
	return redirectFlash(c, "/connections", "ok", "Saved connection "+in.Name+". Use it in a step as \"connection\": \""+in.Name+"\".")
}

// connectionConnect sends the browser to the provider's consent page.
func (s *Server) connectionConnect(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return errNoConnections
	}
	return s.connectRedirect(c, m, c.Params("name"))
}

func (s *Server) connectRedirect(c *fiber.Ctx, m *engine.Connections, name string) error {
	x, err := m.Reauthorize(c.UserContext(), name, s.callbackURL())
	if err != nil {
		return redirectFlash(c, "/connections", "error", "Could not start the authorization of "+name+": "+err.Error())
	}
	return c.Redirect(x.AuthorizeURL, fiber.StatusSeeOther)
}

// connectionDelete removes a connection.
func (s *Server) connectionDelete(c *fiber.Ctx) error {
	m := s.eng.Connections()
	if m == nil {
		return errNoConnections
	}
	name := c.Params("name")
	if err := m.Delete(c.UserContext(), name); err != nil {
		return redirectFlash(c, "/connections", "error", "Could not delete "+name+": "+err.Error())
	}
	return redirectFlash(c, "/connections", "ok", "Deleted connection "+name+".")
}

// oauthAppIDs lists the apps that ship OAuth 2.0 endpoints.
func (s *Server) oauthAppIDs() []string {
	var out []string
	if apps := actions.AppsOf(s.eng.Registry()); apps != nil {
		for _, a := range apps.List() {
			if a.Auth.OAuth2 != nil {
				out = append(out, a.ID)
			}
		}
	}
	return out
}

// applyOAuthPreset fills an oauth2 connection's empty URLs and scopes from
// its app, so the user pastes only the client id and secret.
func (s *Server) applyOAuthPreset(in *engine.ConnectionInput) {
	apps := actions.AppsOf(s.eng.Registry())
	if apps == nil {
		return
	}
	a, ok := apps.Get(in.App)
	if !ok || a.Auth.OAuth2 == nil {
		return
	}
	o := a.Auth.OAuth2
	if in.AuthURL == "" {
		in.AuthURL = o.AuthURL
	}
	if in.TokenURL == "" {
		in.TokenURL = o.TokenURL
	}
	if len(in.Scopes) == 0 {
		in.Scopes = o.Scopes
	}
	if in.ClientAuth == "" {
		in.ClientAuth = o.ClientAuth
	}
	if len(in.AuthParams) == 0 {
		in.AuthParams = o.AuthParams
	}
}

// appsImport adds an app file pasted or uploaded on the Connections page.
func (s *Server) appsImport(c *fiber.Ctx) error {
	data := []byte(c.FormValue("file"))
	if fh, err := c.FormFile("upload"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, 1<<20)); err != nil {
			return err
		}
	}
	a, err := s.importApp(c.UserContext(), data)
	if err != nil {
		return s.renderConnections(c, statusOf(err), "app", "Could not import the app file: "+err.Error())
	}
	return redirectFlash(c, "/connections", "ok", "Imported app "+a.Name+": its operations are in the editor's palette.")
}

// appsDelete removes an imported app.
func (s *Server) appsDelete(c *fiber.Ctx) error {
	id := c.Params("id")
	apps, cs := actions.AppsOf(s.eng.Registry()), s.connStore()
	if apps == nil || cs == nil {
		return errNoConnections
	}
	if err := apps.Remove(id); err != nil {
		return redirectFlash(c, "/connections", "error", "Could not remove app "+id+": "+err.Error())
	}
	if err := cs.DeleteAppFile(c.UserContext(), id); err != nil {
		return err
	}
	return redirectFlash(c, "/connections", "ok", "Removed app "+id+".")
}
