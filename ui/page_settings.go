package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/alerts"
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

// alertsPage is Settings → Alerts.
func (s *Server) alertsPage(c *fiber.Ctx) error {
	return s.renderAlerts(c, fiber.StatusOK, views.AlertsPage{})
}

func (s *Server) renderAlerts(c *fiber.Ctx, code int, p views.AlertsPage) error {
	p.Page = s.page(c, "Alerts", "settings")
	if s.Alerts == nil {
		return s.render(c, code, views.Alerts(p))
	}
	p.Enabled = true
	st, err := s.Alerts.Settings(c.UserContext())
	if err != nil {
		return err
	}
	for _, t := range st.Targets {
		p.Targets = append(p.Targets, views.AlertTarget{Name: t.Name, Kind: t.Kind, With: string(t.With)})
	}
	for _, k := range alerts.Kinds {
		p.Kinds = append(p.Kinds, views.Option{Value: k, Label: k, Selected: k == p.NewKind})
	}
	p.Interval = alerts.DefaultInterval.String()
	if st.Interval > 0 {
		p.Interval = st.Interval.D().String()
	}
	names := s.eng.FlowNames()
	for _, id := range sortedNames(names) {
		p.Flows = append(p.Flows, views.Option{Value: id, Label: names[id] + " (" + id + ")"})
	}
	for _, id := range sortedNames(st.Silence) {
		p.Silences = append(p.Silences, views.AlertSilence{FlowID: id, FlowName: nameOr(names, id), After: st.Silence[id].D().String()})
	}
	now := time.Now()
	for _, f := range s.Alerts.Failures() {
		p.Failures = append(p.Failures, views.AlertFailure{Ago: ago(f.At, now), At: stamp(f.At), Target: f.Target, Subject: f.Subject, Error: f.Error})
	}
	return s.render(c, code, views.Alerts(p))
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// changeAlerts applies change to the stored settings and saves them; a
// refused change re-renders the page with the problem.
func (s *Server) changeAlerts(c *fiber.Ctx, form views.AlertsPage, change func(*alerts.Settings) error, done string) error {
	if s.Alerts == nil {
		return fiber.NewError(fiber.StatusNotFound, "alerts are not enabled on this server")
	}
	ctx := c.UserContext()
	st, err := s.Alerts.Settings(ctx)
	if err == nil {
		err = change(st)
	}
	if err == nil {
		err = s.Alerts.SaveSettings(ctx, st)
	}
	if err != nil {
		form.Error = problemText(err)
		return s.renderAlerts(c, statusOf(err), form)
	}
	return redirectFlash(c, "/settings/alerts", "ok", done)
}

// problemText is an error for people: a validation error's problems in one line.
func problemText(err error) string {
	var pe *engine.ProblemsError
	if errors.As(err, &pe) {
		parts := make([]string, 0, len(pe.Problems))
		for _, p := range pe.Problems {
			parts = append(parts, p.Path+": "+p.Message)
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

func (s *Server) alertTargetAdd(c *fiber.Ctx) error {
	t := alerts.Target{Name: strings.TrimSpace(c.FormValue("name")), Kind: c.FormValue("kind"), With: json.RawMessage(strings.TrimSpace(c.FormValue("with")))}
	form := views.AlertsPage{NewName: t.Name, NewKind: t.Kind, NewWith: string(t.With)}
	return s.changeAlerts(c, form, func(st *alerts.Settings) error {
		if !json.Valid(t.With) {
			return fmt.Errorf("settings must be a JSON object, e.g. {\"webhook_url\": \"{{ secrets.SLACK_URL }}\"}: %w", engine.ErrInvalid)
		}
		st.Targets = append(st.Targets, t)
		return nil
	}, "Alerts now go to "+t.Name+" too.")
}

func (s *Server) alertTargetDelete(c *fiber.Ctx) error {
	name := c.FormValue("name")
	return s.changeAlerts(c, views.AlertsPage{}, func(st *alerts.Settings) error {
		kept := st.Targets[:0]
		for _, t := range st.Targets {
			if t.Name != name {
				kept = append(kept, t)
			}
		}
		st.Targets = kept
		return nil
	}, "Removed "+name+".")
}

func (s *Server) alertInterval(c *fiber.Ctx) error {
	return s.changeAlerts(c, views.AlertsPage{}, func(st *alerts.Settings) error {
		d, err := time.ParseDuration(strings.TrimSpace(c.FormValue("interval")))
		if err != nil || d < time.Minute {
			return fmt.Errorf("the interval must be a duration of at least 1m, like 15m or 1h: %w", engine.ErrInvalid)
		}
		st.Interval = engine.Duration(d)
		return nil
	}, "Interval saved.")
}

func (s *Server) alertSilence(c *fiber.Ctx) error {
	flow, after := c.FormValue("flow"), strings.TrimSpace(c.FormValue("after"))
	return s.changeAlerts(c, views.AlertsPage{}, func(st *alerts.Settings) error {
		if after == "" {
			delete(st.Silence, flow)
			return nil
		}
		if _, err := s.store.GetFlow(c.UserContext(), flow); err != nil {
			return err
		}
		d, err := time.ParseDuration(after)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 30m or 2h): %w", after, engine.ErrInvalid)
		}
		if st.Silence == nil {
			st.Silence = map[string]engine.Duration{}
		}
		st.Silence[flow] = engine.Duration(d)
		return nil
	}, "Saved.")
}

// alertTest sends a test message to every destination.
func (s *Server) alertTest(c *fiber.Ctx) error {
	if s.Alerts == nil {
		return fiber.NewError(fiber.StatusNotFound, "alerts are not enabled on this server")
	}
	st, err := s.Alerts.Settings(c.UserContext())
	if err != nil {
		return err
	}
	m := alerts.Message{Event: "test", Subject: "Hookflow: test alert", Text: "Hookflow: test alert from " + s.BaseURL + "/settings/alerts",
		Data: map[string]any{"event": "test"}}
	before := len(s.Alerts.Failures())
	s.Alerts.Send(c.UserContext(), st, m)
	if n := len(s.Alerts.Failures()) - before; n > 0 {
		return redirectFlash(c, "/settings/alerts", "error", fmt.Sprintf("%d of %d destinations failed: see below.", n, len(st.Targets)))
	}
	return redirectFlash(c, "/settings/alerts", "ok", "Test alert sent.")
}

// passwordChange sets the signed-in user's password after checking the current one.
func (s *Server) passwordChange(c *fiber.Ctx) error {
	u := who(c).User
	if u == nil || !CheckPassword(u.PasswordHash, c.FormValue("current")) {
		return redirectFlash(c, "/settings", "error", "The current password is not right; nothing changed.")
	}
	hash, err := HashPassword(c.FormValue("password"))
	if err != nil {
		return redirectFlash(c, "/settings", "error", userError(err))
	}
	nu := *u
	nu.PasswordHash = hash
	if err := s.store.UpdateUser(c.UserContext(), &nu); err != nil {
		return err
	}
	return redirectFlash(c, "/settings", "ok", "Password changed.")
}

// usersRole changes another user's role.
func (s *Server) usersRole(c *fiber.Ctx) error {
	id, role := c.Params("id"), engine.Role(c.FormValue("role"))
	if id == who(c).User.ID {
		return redirectFlash(c, "/settings", "error", "You cannot change your own role (ask another admin).")
	}
	if !engine.ValidRole(role) {
		return redirectFlash(c, "/settings", "error", "Choose a role: admin, editor or viewer.")
	}
	u, err := s.store.GetUser(c.UserContext(), id)
	if err != nil {
		return err
	}
	u.Role = role
	if err := s.store.UpdateUser(c.UserContext(), u); err != nil {
		return err
	}
	return redirectFlash(c, "/settings", "ok", u.Email+" is now "+string(role)+".")
}
