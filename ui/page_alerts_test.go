package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hookflow/hookflow/engine/alerts"
	"github.com/hookflow/hookflow/engine/netguard"
	"github.com/hookflow/hookflow/ui"
)

func TestAlertsPage(t *testing.T) {
	var got atomic.Int64
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/ok" {
			w.WriteHeader(404)
			io.WriteString(w, "no_service")
			return
		}
		got.Add(1)
		io.WriteString(w, "ok")
	}))
	defer slack.Close()
	e := newUIEnv(t, func(d *ui.Deps) {
		allow, _ := netguard.ParseAllowList("127.0.0.0/8")
		g := netguard.New(allow)
		d.Alerts = alerts.New(alerts.Config{Store: d.Engine.Store().(alerts.Store), Registry: d.Engine.Registry(), HTTP: g.HTTPClient(), Dial: g.DialContext,
			Secrets: d.Engine.SecretValues, Redact: d.Engine.Redact, FlowNames: d.Engine.FlowNames, BaseURL: d.BaseURL})
	})
	csrf := e.setup()
	e.flow(`{"id":"orders","name":"Orders","trigger":{"type":"webhook"},"steps":[]}`)
	form := func(kv ...string) url.Values {
		v := url.Values{"_csrf": {csrf}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	steps := []struct {
		name     string
		path     string
		form     url.Values
		code     int
		flash    string // on the page after the redirect
		pageHas  []string
		testidIn string
	}{
		{"add slack", "/settings/alerts/targets", form("name", "chat", "kind", "slack", "with", `{"webhook_url":"`+slack.URL+`/services/ok"}`), 303, "Alerts now go to chat", nil, "alert-target-chat"},
		{"bad JSON refused", "/settings/alerts/targets", form("name", "x", "kind", "slack", "with", `{"webhook_url":`), 422, "", []string{"must be a JSON object"}, "alerts-error"},
		{"a field missing refused", "/settings/alerts/targets", form("name", "x", "kind", "email", "with", `{"host":"127.0.0.1"}`), 422, "", []string{"targets[1].with"}, "alerts-error"},
		{"add broken", "/settings/alerts/targets", form("name", "broken", "kind", "slack", "with", `{"webhook_url":"`+slack.URL+`/services/gone"}`), 303, "", nil, "alert-target-broken"},
		{"watch a flow", "/settings/alerts/silence", form("flow", "orders", "after", "2h"), 303, "Saved", []string{"no delivery for 2h0m0s"}, "alert-silence-orders"},
		{"not a duration", "/settings/alerts/silence", form("flow", "orders", "after", "soon"), 422, "", []string{"not a duration"}, "alerts-error"},
		{"interval", "/settings/alerts/interval", form("interval", "5m"), 303, "Interval saved", []string{">5m0s<"}, "alert-interval"},
		{"test alert: one destination fails", "/settings/alerts/test", form(), 303, "1 of 2 destinations failed", []string{"no_service"}, "alert-failures"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p := e.post(st.path, st.form)
			if p.code != st.code {
				t.Fatalf("%d %s", p.code, p.body)
			}
			if p.code == 303 {
				p = e.get(p.location)
			}
			if st.flash != "" && !strings.Contains(p.body, st.flash) {
				t.Errorf("no flash %q", st.flash)
			}
			for _, s := range st.pageHas {
				if !strings.Contains(p.body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			mustTestID(t, p, st.testidIn)
		})
	}
	if got.Load() != 1 {
		t.Fatalf("slack got %d test alerts", got.Load())
	}
	// Removing a destination and a watch.
	e.post("/settings/alerts/targets/delete", form("name", "broken"))
	e.post("/settings/alerts/silence", form("flow", "orders", "after", ""))
	p := e.get("/settings/alerts")
	if byTestID(p.doc, "alert-target-broken") != nil || byTestID(p.doc, "alert-silence-orders") != nil {
		t.Fatal("removed entries still listed")
	}
	mustTestID(t, e.get("/settings"), "alerts-link")
}
