package ui

import (
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/hookflow/hookflow/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the Prometheus side of engine.Observer, served at /metrics.
type Metrics struct {
	reg      *prometheus.Registry
	webhooks *prometheus.CounterVec
	runs     *prometheus.CounterVec
	steps    *prometheus.HistogramVec
	batch    prometheus.Histogram
	fsync    prometheus.Histogram
	polls    *prometheus.CounterVec
	claimed  prometheus.Counter
	takeover prometheus.Counter
	claim    prometheus.Histogram
	lost     prometheus.Counter
	handler  fiber.Handler
}

// NewMetrics registers Hookflow's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookflow_webhooks_received_total",
		Help: "Webhook requests by flow and HTTP status code answered."}, []string{"flow", "code"})
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookflow_runs_finished_total",
		Help: "Runs that ended, by flow and final status."}, []string{"flow", "status"})
	m.steps = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hookflow_step_duration_seconds",
		Help: "Step execution time by step type and status.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)},
		[]string{"type", "status"})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookflow_store_commit_batch_size",
		Help: "Writes committed together in one fsynced transaction (group commit).", Buckets: prometheus.ExponentialBuckets(1, 2, 12)})
	m.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookflow_store_commit_seconds",
		Help: "Duration of one store commit including its fsyncs.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.polls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hookflow_polls_total",
		Help: "Poll and reconcile cycles by flow, kind and result."}, []string{"flow", "kind", "result"})
	m.claimed = prometheus.NewCounter(prometheus.CounterOpts{Name: "hookflow_runs_claimed_total",
		Help: "Runs this node claimed from the shared store (several nodes)."})
	m.takeover = prometheus.NewCounter(prometheus.CounterOpts{Name: "hookflow_lease_takeovers_total",
		Help: "Claimed runs whose lease had expired on another node (it died or stalled)."})
	m.claim = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hookflow_claim_seconds",
		Help: "Duration of one claim of runs from the shared store.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.lost = prometheus.NewCounter(prometheus.CounterOpts{Name: "hookflow_leases_lost_total",
		Help: "Runs this node stopped because another node took their lease over."})
	m.reg.MustRegister(m.webhooks, m.runs, m.steps, m.batch, m.fsync, m.polls, m.claimed, m.takeover, m.claim, m.lost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return m
}

// WebhookReceived counts a webhook answer.
func (m *Metrics) WebhookReceived(flowID string, code int) {
	m.webhooks.WithLabelValues(flowID, strconv.Itoa(code)).Inc()
}

// RunFinished counts an ended run.
func (m *Metrics) RunFinished(flowID string, status engine.RunStatus) {
	m.runs.WithLabelValues(flowID, string(status)).Inc()
}

// StepFinished observes a step's duration.
func (m *Metrics) StepFinished(_ string, kind string, status engine.StepStatus, d time.Duration) {
	m.steps.WithLabelValues(kind, string(status)).Observe(d.Seconds())
}

// Commit observes one group commit.
func (m *Metrics) Commit(batch int, d time.Duration) {
	m.batch.Observe(float64(batch))
	m.fsync.Observe(d.Seconds())
}

// PollDone counts a poll or reconcile cycle.
func (m *Metrics) PollDone(flowID, kind string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.polls.WithLabelValues(flowID, kind, result).Inc()
}

// RunsClaimed counts one claim of runs (engine.ClusterObserver).
func (m *Metrics) RunsClaimed(n, takenOver int, d time.Duration) {
	m.claimed.Add(float64(n))
	m.takeover.Add(float64(takenOver))
	m.claim.Observe(d.Seconds())
}

// LeasesLost counts runs stopped because another node took them over.
func (m *Metrics) LeasesLost(n int) { m.lost.Add(float64(n)) }

var (
	_ engine.Observer        = (*Metrics)(nil)
	_ engine.ClusterObserver = (*Metrics)(nil)
)

func (s *Server) metrics(c *fiber.Ctx) error {
	if s.MetricsToken != "" {
		got := strings.TrimSpace(strings.TrimPrefix(c.Get(fiber.HeaderAuthorization), "Bearer"))
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.MetricsToken)) != 1 {
			return fiber.NewError(fiber.StatusUnauthorized, "metrics need Authorization: Bearer <HOOKFLOW_METRICS_TOKEN>")
		}
	}
	return s.Metrics.handler(c)
}
