package alerts_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/alerts"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/netguard"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slackServer is a fake Slack incoming webhook that keeps each message's text.
type slackServer struct {
	*httptest.Server
	mu    sync.Mutex
	texts []string
}

func newSlack(t *testing.T) *slackServer {
	s := &slackServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Text string `json:"text"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Text == "" || r.URL.Path == "/services/gone" {
			w.WriteHeader(404)
			io.WriteString(w, "no_service")
			return
		}
		s.mu.Lock()
		s.texts = append(s.texts, in.Text)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *slackServer) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.texts...)
}

// mailServer is a real SMTP server (go-smtp) on 127.0.0.1 keeping each message.
type mailServer struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

type mailSession struct{ m *mailServer }

func (m *mailServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{m}, nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error       { return nil }
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error       { return nil }
func (s *mailSession) Reset()                                     {}
func (s *mailSession) Logout() error                              { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.mu.Lock()
	s.m.msgs = append(s.m.msgs, string(b))
	s.m.mu.Unlock()
	return nil
}

func newMail(t *testing.T) *mailServer {
	m := &mailServer{}
	srv := smtp.NewServer(m)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m
}

func (m *mailServer) got() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

type env struct {
	store *boltstore.Store
	a     *alerts.Alerter
	clk   *clock
}

func newEnv(t *testing.T) *env {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := engine.NewRegistry()
	actions.Register(reg)
	allow, _ := netguard.ParseAllowList("127.0.0.0/8")
	g := netguard.New(allow)
	clk := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a := alerts.New(alerts.Config{Store: st, Registry: reg, HTTP: g.HTTPClient(), Dial: g.DialContext, Now: clk.now,
		BaseURL: "https://hooks.example.com/", Secrets: func() map[string]any { return map[string]any{"SLACK_PATH": "/services/T/B/x"} },
		Redact:    func(s string) string { return strings.ReplaceAll(s, "/services/T/B/x", "[redacted]") },
		FlowNames: func() map[string]string { return map[string]string{"shop": "Shop orders"} }})
	return &env{store: st, a: a, clk: clk}
}

// failRun stores a failed run of the flow, as the executor leaves it.
func (e *env) failRun(t *testing.T, flow, step, msg string) string {
	now := time.Now()
	r := &engine.Run{ID: engine.NewID(), FlowID: flow, FlowVersion: 1, Status: engine.RunFailed, Error: msg,
		Trigger: engine.TriggerData{Type: "webhook", Headers: map[string]string{}, Query: map[string]any{}, Files: []engine.File{}},
		Steps:   []*engine.StepRun{{ID: step, Type: "http", Status: engine.StepFailed, Error: msg, Attempts: 1}}, CreatedAt: now, FinishedAt: &now}
	if _, _, err := e.store.CreateRun(context.Background(), r, "", 0); err != nil {
		t.Fatal(err)
	}
	e.a.RunFailed(flow)
	return r.ID
}

func target(name, kind, with string) alerts.Target {
	return alerts.Target{Name: name, Kind: kind, With: json.RawMessage(with)}
}

func TestFailedRunsThrottledToSlackAndEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	slack, mail := newSlack(t), newMail(t)
	host, port, _ := net.SplitHostPort(mail.addr)
	err := e.a.SaveSettings(ctx, &alerts.Settings{Interval: engine.Duration(10 * time.Minute), Targets: []alerts.Target{
		target("team chat", "slack", `{"webhook_url":"`+slack.URL+`{{ secrets.SLACK_PATH }}"}`),
		target("on-call", "email", `{"host":"`+host+`","port":`+port+`,"tls":"none","from":"hookflow@example.com","to":"oncall@example.com"}`),
	}})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name      string
		fails     int           // failed runs before the check
		advance   time.Duration // clock moved before the check
		wantSlack int           // messages received so far
		wantHas   string        // in the newest message
	}{
		{"first failure is told at once", 1, 0, 1, `a run of "Shop orders" failed`},
		{"more within the interval wait", 3, 5 * time.Minute, 1, ""},
		{"after the interval one message counts them", 0, 5 * time.Minute, 2, `3 runs of "Shop orders" failed`},
		{"nothing new, nothing sent", 0, 20 * time.Minute, 2, ""},
	}
	var lastRun string
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			for range st.fails {
				lastRun = e.failRun(t, "shop", "charge", "http: 502 Bad Gateway")
			}
			e.clk.add(st.advance)
			e.a.Check(ctx)
			got := slack.got()
			if len(got) != st.wantSlack {
				t.Fatalf("%d slack messages, want %d: %q", len(got), st.wantSlack, got)
			}
			if st.wantHas != "" {
				msg := got[len(got)-1]
				for _, want := range []string{st.wantHas, `step "charge": http: 502 Bad Gateway`, "https://hooks.example.com/runs/" + lastRun} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
			}
			if mails := mail.got(); len(mails) != st.wantSlack {
				t.Fatalf("%d emails, want %d", len(mails), st.wantSlack)
			}
		})
	}
	if m := mail.got()[1]; !strings.Contains(m, "3 runs of") || !strings.Contains(m, "oncall@example.com") {
		t.Errorf("email: %s", m)
	}
	if f := e.a.Failures(); len(f) != 0 {
		t.Errorf("failures: %+v", f)
	}
}

func TestSilenceAlertAndFailuresShown(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	slack := newSlack(t)
	err := e.a.SaveSettings(ctx, &alerts.Settings{
		Silence: map[string]engine.Duration{"shop": engine.Duration(time.Hour)},
		Targets: []alerts.Target{
			target("chat", "slack", `{"webhook_url":"`+slack.URL+`/services/ok"}`),
			target("broken", "slack", `{"webhook_url":"`+slack.URL+`/services/gone"}`),
		}})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func() {
		now := e.clk.now()
		d := &engine.Delivery{ID: engine.NewID(), FlowID: "shop", ReceivedAt: now, Method: "POST", Status: 202, Outcome: engine.DeliveryRun}
		if err := e.store.AddDeliveries(ctx, []*engine.Delivery{d}, 0, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		deliver bool
		advance time.Duration
		want    int
	}{
		{"quiet less than the limit", false, 59 * time.Minute, 0},
		{"an hour without any delivery", false, 2 * time.Minute, 1},
		{"told once per silence", false, 3 * time.Hour, 1},
		{"a delivery resets it", true, 30 * time.Minute, 1},
		{"silent again an hour after it", false, 31 * time.Minute, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.deliver {
				deliver()
			}
			e.clk.add(st.advance)
			e.a.Check(ctx)
			if got := slack.got(); len(got) != st.want {
				t.Fatalf("%d messages, want %d: %q", len(got), st.want, got)
			} else if st.want > 0 && !strings.Contains(got[len(got)-1], `no delivery to "Shop orders" for 1h0m0s`) {
				t.Fatalf("message %q", got[len(got)-1])
			}
		})
	}
	// The broken target failed each time; its failures are listed, newest first.
	f := e.a.Failures()
	if len(f) != 2 || f[0].Target != "broken" || !strings.Contains(f[0].Error, "404") || !f[0].At.After(f[1].At) {
		t.Fatalf("failures: %+v", f)
	}
}

func TestSettingsChecked(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		s       alerts.Settings
		problem string
	}{
		{"unknown kind", alerts.Settings{Targets: []alerts.Target{target("x", "http", `{"url":"https://x"}`)}}, "targets[0].with"},
		{"missing url", alerts.Settings{Targets: []alerts.Target{target("x", "slack", `{}`)}}, "targets[0].with"},
		{"no name", alerts.Settings{Targets: []alerts.Target{target("", "slack", `{"webhook_url":"https://x.example"}`)}}, "targets[0].name"},
		{"bad template", alerts.Settings{Targets: []alerts.Target{target("x", "slack", `{"webhook_url":"{{ nope( }}"}`)}}, "targets[0].with"},
		{"silence too short", alerts.Settings{Silence: map[string]engine.Duration{"shop": engine.Duration(time.Second)}}, "silence.shop"},
		{"fine", alerts.Settings{Targets: []alerts.Target{target("x", "discord", `{"webhook_url":"https://discord.example/api/webhooks/1/a"}`)}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.a.SaveSettings(context.Background(), &tc.s)
			var pe *engine.ProblemsError
			switch {
			case tc.problem == "" && err != nil:
				t.Fatal(err)
			case tc.problem != "" && (!errors.As(err, &pe) || pe.Problems[0].Path != tc.problem):
				t.Fatalf("err %v, want a problem at %s", err, tc.problem)
			}
		})
	}
	s, err := e.a.Settings(context.Background())
	if err != nil || len(s.Targets) != 1 || s.Targets[0].Kind != "discord" {
		t.Fatalf("stored: %+v %v", s, err)
	}
}

// TestObserverCountsFailedRuns: the Observer wrapper passes measurements on
// and counts failed runs only.
func TestObserverCountsFailedRuns(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	slack := newSlack(t)
	if err := e.a.SaveSettings(ctx, &alerts.Settings{Targets: []alerts.Target{target("chat", "slack", `{"webhook_url":"`+slack.URL+`/services/ok"}`)}}); err != nil {
		t.Fatal(err)
	}
	o := alerts.Observer{Observer: engine.NopObserver{}, Alerts: e.a}
	for _, st := range []engine.RunStatus{engine.RunSucceeded, engine.RunFiltered, engine.RunCanceled} {
		o.RunFinished("shop", st)
	}
	if e.a.Check(ctx); len(slack.got()) != 0 {
		t.Fatalf("alerts for runs that did not fail: %q", slack.got())
	}
	o.RunFinished("shop", engine.RunFailed)
	o.RunFinished("shop", engine.RunFailed)
	if e.a.Check(ctx); len(slack.got()) != 1 || !strings.Contains(slack.got()[0], "2 runs") {
		t.Fatalf("messages: %q", slack.got())
	}
}

// clusterCounts is an Observer that also measures clustering.
type clusterCounts struct {
	engine.NopObserver
	claimed, taken, lost int
}

func (c *clusterCounts) RunsClaimed(n, takenOver int, _ time.Duration) {
	c.claimed += n
	c.taken += takenOver
}
func (c *clusterCounts) LeasesLost(n int) { c.lost += n }

// TestObserverPassesClusterMeasurements: the alerts wrapper the server puts
// around its metrics does not hide the cluster's measurements.
func TestObserverPassesClusterMeasurements(t *testing.T) {
	inner := &clusterCounts{}
	var o engine.Observer = alerts.Observer{Observer: inner}
	co, ok := o.(engine.ClusterObserver)
	if !ok {
		t.Fatal("the alerts Observer hides engine.ClusterObserver")
	}
	co.RunsClaimed(3, 2, time.Millisecond)
	co.LeasesLost(1)
	if inner.claimed != 3 || inner.taken != 2 || inner.lost != 1 {
		t.Fatalf("passed on: claimed %d taken %d lost %d", inner.claimed, inner.taken, inner.lost)
	}
	alerts.Observer{Observer: engine.NopObserver{}}.RunsClaimed(1, 1, 0) // an inner Observer without them: nothing, no panic
}
