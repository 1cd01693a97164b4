// Package ui is Hookflow's HTTP server: webhooks, the JSON API, /metrics and
// the server-rendered UI. It is the only package that imports fiber and templ.
package ui

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/alerts"
	"github.com/hookflow/hookflow/triggers"
)

// SecretManager stores secrets encrypted; values are never read back.
type SecretManager interface {
	Set(ctx context.Context, name, value string) error
	Delete(ctx context.Context, name string) error
	Names(ctx context.Context) ([]string, error)
}

// Deps is what the server needs.
type Deps struct {
	Engine  *engine.Engine
	Secrets SecretManager
	// BaseURL builds the public webhook URLs shown in the UI.
	BaseURL string
	// MaxBody is the global body limit (bytes); flows may set less, never more.
	MaxBody int64
	Metrics *Metrics
	Version string
	Logf    func(format string, args ...any)
	// MetricsToken, when set, is the bearer token /metrics requires (flow ids,
	// which are webhook paths, appear in its labels).
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (proxy.go); none by default.
	TrustedProxies []netip.Prefix
	// Fault, when set, is called at "webhook.after_commit": the run is
	// stored, the answer not yet sent (crash tests kill the process there).
	Fault func(point string)
	// LoginLimits bound password guessing on /login (zero: the defaults).
	LoginLimits LoginLimits
	// DeliveryKeep and DeliveryMaxAge bound each flow's delivery records
	// (defaults DefaultDeliveryKeep, DefaultDeliveryMaxAge); a negative
	// DeliveryKeep records none.
	DeliveryKeep   int
	DeliveryMaxAge time.Duration
	// Alerts, when set, backs Settings → Alerts.
	Alerts *alerts.Alerter
	// NetCheck, when set, checks an address as outgoing calls do (the SSRF
	// guard's Check): the editor warns of URLs it refuses.
	NetCheck func(netip.Addr) error
}

// Server holds the fiber app and what its handlers share.
type Server struct {
	Deps
	app      *fiber.App
	eng      *engine.Engine
	store    engine.Store
	limiters *triggers.Limiters
	logins   *loginLimiter
	secure   bool
	// setupMu makes "create the first admin" happen once even when two
	// setup forms are posted at the same moment.
	setupMu sync.Mutex
	// deliveries records webhook deliveries off the answer's path (nil when
	// the store keeps none).
	deliveries *deliveryRecorder
}

// DefaultMaxBody is the global body limit when none is set: 1 MiB, SPEC §2.
const DefaultMaxBody = 1 << 20

// New builds the server and its whole route table.
func New(d Deps) *Server {
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if d.Logf == nil {
		d.Logf = func(string, ...any) {}
	}
	if d.Fault == nil {
		d.Fault = func(string) {}
	}
	d.BaseURL = strings.TrimRight(d.BaseURL, "/")
	s := &Server{Deps: d, eng: d.Engine, store: d.Engine.Store(), limiters: triggers.NewLimiters(),
		secure: strings.HasPrefix(d.BaseURL, "https://")}
	s.logins = newLoginLimiter(d.LoginLimits)
	s.app = fiber.New(fiber.Config{
		AppName:               "hookflow",
		DisableStartupMessage: true,
		// Values from the request (params, queries, headers) are copies, so
		// that strings handed to the engine outlive fasthttp's buffers.
		Immutable: true,
		// The transport limit is above the body limit so that webhooks over
		// their flow's limit still get a JSON 413 from the handler.
		BodyLimit:    int(d.MaxBody) + 64<<10,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,
		ErrorHandler: s.errorHandler,
		// Client address and scheme come from a trusted proxy only (proxy.go);
		// with no trusted proxies, from the connection.
		EnableTrustedProxyCheck: true, TrustedProxies: proxyStrings(d.TrustedProxies),
		ProxyHeader: fiber.HeaderXForwardedFor, EnableIPValidation: true,
	})
	s.startDeliveries()
	s.routes()
	return s
}

// App returns the fiber app (for Listen and tests).
func (s *Server) App() *fiber.App { return s.app }

// Shutdown stops accepting connections and waits for open requests.
func (s *Server) Shutdown(timeout time.Duration) error {
	err := s.app.ShutdownWithTimeout(timeout)
	if s.deliveries != nil {
		s.deliveries.close()
	}
	return err
}

func (s *Server) routes() {
	app := s.app
	app.Use(recover.New())
	app.Use(s.forwardedFor)
	app.Use(securityHeaders)
	app.Use(identityEncodingOnly)

	// Webhooks: outside sessions and CSRF; every method reaches the handler,
	// which answers 405 for methods the flow does not take.
	app.All("/hooks/:flow", s.hook)
	app.All("/hooks/:flow/*", s.hook)

	app.Get("/healthz", s.healthz)
	app.Get("/metrics", s.metrics)
	app.Get("/oauth/callback", s.oauthCallback) // no session: the state authenticates it

	api := app.Group("/api/v1", s.apiAuth)
	api.Get("/flows", s.apiListFlows)
	api.Post("/flows", need(engine.RoleEditor), s.apiCreateFlow)
	api.Get("/flows/:id", s.apiGetFlow)
	api.Put("/flows/:id", need(engine.RoleEditor), s.apiPutFlow)
	api.Delete("/flows/:id", need(engine.RoleEditor), s.apiDeleteFlow)
	api.Post("/flows/:id/run", need(engine.RoleEditor), s.apiRunFlow)
	api.Post("/flows/:id/listen", need(engine.RoleEditor), s.apiListen)
	api.Get("/flows/:id/sample", s.apiSample)
	api.Get("/flows/:id/versions", s.apiFlowVersions)
	api.Get("/flows/:id/deliveries", s.apiDeliveries)
	api.Get("/flows/:id/versions/:version", s.apiFlowVersion)
	api.Post("/flows/:id/versions/:version/restore", need(engine.RoleEditor), s.apiRestoreVersion)
	api.Post("/flows/validate", s.apiValidateFlow)
	api.Get("/runs", s.apiListRuns)
	api.Post("/runs/replay", need(engine.RoleEditor), s.apiBulkReplay)
	api.Get("/runs/:id", s.apiGetRun)
	api.Post("/runs/:id/replay", need(engine.RoleEditor), s.apiReplay)
	api.Post("/runs/:id/cancel", need(engine.RoleEditor), s.apiCancel)
	api.Get("/secrets", need(engine.RoleAdmin), s.apiListSecrets)
	api.Put("/secrets/:name", need(engine.RoleAdmin), s.apiPutSecret)
	api.Delete("/secrets/:name", need(engine.RoleAdmin), s.apiDeleteSecret)
	api.Get("/store", s.apiListKV)
	api.Put("/store/:key", need(engine.RoleEditor), s.apiPutKV)
	api.Delete("/store/:key", need(engine.RoleEditor), s.apiDeleteKV)
	api.Get("/kinds", s.apiKinds)
	api.Get("/connections", s.apiListConnections)
	api.Post("/connections", need(engine.RoleEditor), s.apiCreateConnection)
	api.Get("/connections/:name", s.apiGetConnection)
	api.Delete("/connections/:name", need(engine.RoleEditor), s.apiDeleteConnection)
	api.Get("/apps", s.apiListApps)
	api.Post("/apps", need(engine.RoleEditor), s.apiImportApp)
	api.Delete("/apps/:id", need(engine.RoleEditor), s.apiDeleteApp)
	api.Use(func(c *fiber.Ctx) error {
		return s.jsonError(c, fiber.NewError(fiber.StatusNotFound, "no such API route: "+c.Method()+" "+c.Path()))
	})

	s.resumeRoutes(app)
	s.pageRoutes(app)
}

func securityHeaders(c *fiber.Ctx) error {
	c.Locals(routedKey{}, true) // see errorHandler: the request reached the router
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(c.Path(), "/hooks/") {
		c.Set("X-Frame-Options", "DENY")
	}
	return c.Next()
}

// identityEncodingOnly refuses compressed request bodies everywhere but
// /hooks/* (which inflates them within the flow's limit): fasthttp's form
// parsing would inflate them without a limit.
func identityEncodingOnly(c *fiber.Ctx) error {
	if strings.HasPrefix(c.Path(), "/hooks/") {
		return c.Next()
	}
	switch strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding))) {
	case "", "identity":
		return c.Next()
	}
	return fiber.NewError(fiber.StatusUnsupportedMediaType, "compressed request bodies are accepted only by webhooks")
}

// healthz answers 200 when the store takes a durable write, else 503.
func (s *Server) healthz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		c.Set(fiber.HeaderRetryAfter, "5")
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "error": err.Error()})
	}
	st := s.eng.Stats()
	return c.JSON(fiber.Map{"status": "ok", "queued": st.Queued, "waiting": st.Waiting, "version": s.Version})
}

// webhookURL is the public URL of a flow's webhook.
func (s *Server) webhookURL(flowID string) string { return s.BaseURL + "/hooks/" + flowID }
