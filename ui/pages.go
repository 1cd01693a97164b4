package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui/views"
)

// pageRoutes registers the UI pages (the page half of the route table).
// Everything but setup, login and the static files needs a session; writes
// need the session's CSRF token (checked by pageAuth) and a role.
func (s *Server) pageRoutes(app *fiber.App) {
	auth := s.pageAuth
	editor := need(engine.RoleEditor)
	admin := need(engine.RoleAdmin)

	app.Get("/static/*", s.static)
	app.Get("/setup", s.setupPage)
	app.Post("/setup", s.setupPost)
	app.Get("/login", s.loginPage)
	app.Post("/login", s.loginPost)
	app.Post("/logout", auth, s.logoutPost)

	app.Get("/", auth, func(c *fiber.Ctx) error { return c.Redirect("/flows", fiber.StatusSeeOther) })

	app.Get("/flows", auth, s.flowsPage)
	app.Get("/flows/export", auth, s.flowsExport)
	app.Post("/flows/new", auth, editor, s.flowsNew)
	app.Post("/flows/import", auth, editor, s.flowsImport)
	app.Get("/flows/:id", auth, s.editorPage)
	app.Post("/flows/:id", auth, editor, s.editorPost)
	app.Get("/flows/:id/export", auth, s.flowExport)
	app.Post("/flows/:id/duplicate", auth, editor, s.flowDuplicate)
	app.Post("/flows/:id/delete", auth, editor, s.flowDelete)
	app.Post("/flows/:id/enabled", auth, editor, s.flowEnabled)
	app.Post("/flows/:id/listen", auth, editor, s.listenStart)
	app.Post("/flows/:id/listen/stop", auth, editor, s.listenStop)
	app.Get("/flows/:id/sample", auth, s.listenPoll)
	app.Get("/flows/:id/picker", auth, s.pickerFragment)
	app.Post("/flows/:id/preview", auth, s.previewPost)
	app.Post("/flows/:id/steptest", auth, editor, s.stepTestPost)
	app.Post("/flows/:id/pin", auth, editor, s.pinPost)
	app.Get("/flows/:id/versions", auth, s.versionsPage)
	app.Get("/flows/:id/deliveries", auth, s.deliveriesPage)
	app.Get("/flows/:id/deliveries/rows", auth, s.deliveryRowsFragment)
	app.Get("/flows/:id/versions/:version", auth, s.versionsPage)
	app.Post("/flows/:id/versions/:version/restore", auth, editor, s.versionRestore)

	app.Get("/runs", auth, s.runsPage)
	app.Get("/runs/rows", auth, s.runsRows)
	app.Get("/runs/:id", auth, s.runPage)
	app.Get("/runs/:id/timeline", auth, s.runTimeline)
	app.Post("/runs/:id/replay", auth, editor, s.runReplay)
	app.Post("/runs/:id/cancel", auth, editor, s.runCancel)

	app.Get("/secrets", auth, s.secretsPage)
	app.Post("/secrets", auth, admin, s.secretsSet)
	app.Post("/secrets/:name/delete", auth, admin, s.secretsDelete)

	app.Get("/connections", auth, s.connectionsPage)
	app.Post("/connections", auth, editor, s.connectionsCreate)
	app.Post("/connections/:name/connect", auth, editor, s.connectionConnect)
	app.Post("/connections/:name/delete", auth, editor, s.connectionDelete)
	app.Post("/connections/apps/import", auth, editor, s.appsImport)
	app.Post("/connections/apps/:id/delete", auth, editor, s.appsDelete)

	app.Get("/store", auth, s.storePage)
	app.Post("/store", auth, editor, s.storeSet)
	app.Post("/store/delete", auth, editor, s.storeDelete)

	app.Get("/settings", auth, s.settingsPage)
	app.Post("/settings/users", auth, admin, s.usersCreate)
	app.Post("/settings/users/:id/delete", auth, admin, s.usersDelete)
	app.Post("/settings/users/:id/role", auth, admin, s.usersRole)
	app.Post("/settings/password", auth, s.passwordChange)
	app.Post("/settings/tokens", auth, admin, s.tokensCreate)
	app.Post("/settings/tokens/:id/delete", auth, admin, s.tokensDelete)
	app.Get("/settings/alerts", auth, s.alertsPage)
	app.Post("/settings/alerts/targets", auth, admin, s.alertTargetAdd)
	app.Post("/settings/alerts/targets/delete", auth, admin, s.alertTargetDelete)
	app.Post("/settings/alerts/interval", auth, admin, s.alertInterval)
	app.Post("/settings/alerts/silence", auth, admin, s.alertSilence)
	app.Post("/settings/alerts/test", auth, admin, s.alertTest)
}

// errorPage renders an error as an HTML page: inside the layout for a
// signed-in user, on its own otherwise. htmx requests get the message as text
// (app.js shows it).
func (s *Server) errorPage(c *fiber.Ctx, code int, msg string) error {
	if isHTMX(c) {
		c.Set("HX-Reswap", "none")
		return c.Status(code).SendString(msg)
	}
	p := who(c)
	if p == nil {
		p = s.sessionPrincipal(c)
		if p != nil {
			c.Locals("principal", p)
		}
	}
	if p == nil || p.User == nil {
		return s.render(c, code, views.BareError(code, msg))
	}
	return s.render(c, code, views.Error(views.ErrorPage{Page: s.page(c, "Error", ""), Code: code, Message: msg}))
}

// render writes a templ component as the HTML answer.
func (s *Server) render(c *fiber.Ctx, code int, comp templ.Component) error {
	c.Status(code)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return comp.Render(c.UserContext(), c.Response().BodyWriter())
}

// page is the layout model for the signed-in user, with the pending flash.
func (s *Server) page(c *fiber.Ctx, title, active string) views.Page {
	pg := views.Page{Title: title, Active: active, Version: s.Version}
	if p := who(c); p != nil && p.User != nil {
		pg.User = p.User.Email
		pg.Role = string(p.User.Role)
		pg.IsAdmin = p.can(engine.RoleAdmin)
		pg.CanEdit = p.can(engine.RoleEditor)
		if p.Session != nil {
			pg.CSRF = p.Session.CSRF
		}
	}
	pg.Flash = takeFlash(c)
	return pg
}

const flashCookie = "hookflow_flash"

// redirectFlash answers 303 to target and shows text there once.
func redirectFlash(c *fiber.Ctx, target, kind, text string) error {
	if text != "" {
		c.Cookie(&fiber.Cookie{Name: flashCookie, Value: url.QueryEscape(kind + ":" + text), Path: "/",
			HTTPOnly: true, SameSite: "Lax", Expires: time.Now().Add(time.Minute)})
	}
	return c.Redirect(target, fiber.StatusSeeOther)
}

// takeFlash reads and clears the flash message.
func takeFlash(c *fiber.Ctx) *views.Flash {
	v := c.Cookies(flashCookie)
	if v == "" {
		return nil
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: "Lax", Expires: time.Unix(0, 0)})
	raw, err := url.QueryUnescape(v)
	if err != nil {
		return nil
	}
	kind, text, ok := strings.Cut(raw, ":")
	if !ok || (kind != "ok" && kind != "error" && kind != "info") || text == "" {
		return nil
	}
	return &views.Flash{Kind: kind, Text: text}
}

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// problemsOf returns the validation problems carried by err, or err's text as one problem.
func problemsOf(err error) engine.Problems {
	var pe *engine.ProblemsError
	if errors.As(err, &pe) {
		return pe.Problems
	}
	return engine.Problems{{Path: "", Message: errorText(err, statusOf(err))}}
}

// pretty is v as indented JSON, cut at 64 KiB.
func pretty(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	const max = 64 << 10
	if len(b) > max {
		return string(b[:max]) + "\n… (cut: " + fmt.Sprint(len(b)) + " bytes in all)"
	}
	return string(b)
}

// ago says how long before now t was, the way people say it.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%d d ago", int(d.Hours()/24))
	}
	return t.UTC().Format("2 Jan 2006")
}

// stamp is an absolute UTC time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// took formats a duration for people: 85 ms, 1.2 s, 3m10s.
func took(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// localPath keeps a "next" target on this site.
func localPath(next string) string {
	// Only a plain path on this site: no scheme or host, no control
	// characters (header injection; browsers drop tabs, turning "/\t/x" into
	// "//x"), no backslashes.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\x00\r\n\t") || strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return "/flows"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/flows"
	}
	return next
}
