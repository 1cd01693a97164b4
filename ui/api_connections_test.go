package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/oauthtest"
)

const oauthSecret = "oauth-client-secret-CANARY-77"

// consentVia follows an authorize URL as a browser would, up to the
// callback, and returns the callback path with its query.
func consentVia(t *testing.T, authorizeURL string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Path != "/oauth/callback" {
		t.Fatalf("provider redirected to %q", resp.Header.Get("Location"))
	}
	return loc.RequestURI()
}

func TestAPIConnectionsOAuth(t *testing.T) {
	h := newHookEnv(t)
	prov := oauthtest.New("hookflow-client", oauthSecret)
	defer prov.Close()

	a := h.api("POST", "/api/v1/connections", h.token, fmt.Sprintf(
		`{"name":"crm","type":"oauth2","auth_url":%q,"token_url":%q,"client_id":"hookflow-client","client_secret":%q,"scopes":["contacts"]}`,
		prov.AuthURL(), prov.TokenURL(), oauthSecret))
	if a.code != 201 || a.body["status"] != "needs_authorization" || a.body["name"] != "crm" || a.body["type"] != "oauth2" {
		t.Fatalf("create: %d %s", a.code, a.raw)
	}
	authURL, _ := a.body["authorize_url"].(string)
	if !strings.Contains(authURL, "state=") || !strings.Contains(authURL, "code_challenge=") ||
		!strings.Contains(authURL, url.QueryEscape(h.url+"/oauth/callback")) || strings.Contains(a.raw, oauthSecret) {
		t.Fatalf("create answer: %s", a.raw)
	}
	if g := h.api("GET", "/api/v1/connections/crm", h.token, ""); g.body["authorize_url"] != authURL {
		t.Errorf("GET shows another authorize_url than POST: %s", g.raw)
	}

	cb := consentVia(t, authURL)
	cbURL, _ := url.Parse(cb)
	q := cbURL.Query()
	wrong := url.Values{"code": {q.Get("code")}, "state": {"forged-" + q.Get("state")}}
	for _, bad := range []string{"/oauth/callback?" + wrong.Encode(), "/oauth/callback?code=x"} {
		if r := h.api("GET", bad, "", ""); r.code != 400 {
			t.Errorf("callback %s: %d", bad, r.code)
		}
	}
	if g := h.api("GET", "/api/v1/connections/crm", h.token, ""); g.body["status"] != "needs_authorization" {
		t.Fatalf("a wrong state changed the connection: %s", g.raw)
	}
	r := h.api("GET", cb, "", "")
	if r.code != 303 || r.header.Get("Location") != "/connections" {
		t.Fatalf("callback: %d %s", r.code, r.header.Get("Location"))
	}
	if r := h.api("GET", cb, "", ""); r.code != 400 {
		t.Errorf("reused state: %d", r.code)
	}
	g := h.api("GET", "/api/v1/connections/crm", h.token, "")
	if g.body["status"] != "connected" || g.body["authorize_url"] != nil {
		t.Fatalf("after callback: %s", g.raw)
	}

	h.flow(`{"id":"uses-crm","name":"CRM","trigger":{"type":"webhook"},"steps":[
		{"id":"me","type":"http","with":{"url":"` + prov.URL + `/api/me","connection":"crm"}}]}`)
	runOnce := func() *engine.Run {
		a := h.post("/hooks/uses-crm", "application/json", []byte(`{}`), nil)
		return h.run(fmt.Sprint(a.body["run_id"]))
	}
	if run := runOnce(); run.Status != engine.RunSucceeded {
		t.Fatalf("run with the connection: %s %s", run.Status, run.Error)
	}
	prov.Revoke() // the API now refuses the token: one refresh, then success
	if run := runOnce(); run.Status != engine.RunSucceeded {
		t.Fatalf("run after revocation: %s %s", run.Status, run.Error)
	}
	if _, refreshes, _ := prov.Counts(); refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", refreshes)
	}
	prov.Revoke()
	prov.FailRefresh(true)
	run := runOnce()
	if run.Status != engine.RunFailed || !strings.Contains(run.Steps[0].Error, "reconnect crm") {
		t.Fatalf("run after a failed refresh: %s %q", run.Status, run.Steps[0].Error)
	}
	g = h.api("GET", "/api/v1/connections/crm", h.token, "")
	if g.body["status"] != "reconnect_needed" || !strings.Contains(fmt.Sprint(g.body["error"]), "invalid_grant") {
		t.Fatalf("connection after a failed refresh: %s", g.raw)
	}
	if used, _ := g.body["used_by"].([]any); len(used) != 1 || used[0] != "uses-crm" {
		t.Errorf("used_by: %s", g.raw)
	}
	// Reconnect, then the failed run's step is retryable.
	prov.FailRefresh(false)
	if r := h.api("GET", consentVia(t, fmt.Sprint(g.body["authorize_url"])), "", ""); r.code != 303 {
		t.Fatalf("reconnect callback: %d", r.code)
	}
	rp := h.api("POST", "/api/v1/runs/"+run.ID+"/replay", h.token, `{"from":"failed_step"}`)
	if again := h.run(fmt.Sprint(rp.body["run_id"])); again.Status != engine.RunSucceeded {
		t.Fatalf("replay after reconnecting: %s %s", again.Status, again.Error)
	}

	// A provider error during the token exchange shows on the connection.
	h.api("POST", "/api/v1/connections", h.token, fmt.Sprintf(
		`{"name":"bad","type":"oauth2","auth_url":%q,"token_url":%q,"client_id":"hookflow-client","client_secret":"not-the-secret"}`,
		prov.AuthURL(), prov.TokenURL()))
	g = h.api("GET", "/api/v1/connections/bad", h.token, "")
	if r := h.api("GET", consentVia(t, fmt.Sprint(g.body["authorize_url"])), "", ""); r.code != 303 {
		t.Fatalf("callback with a token error: %d", r.code)
	}
	g = h.api("GET", "/api/v1/connections/bad", h.token, "")
	if g.body["status"] != "needs_authorization" || !strings.Contains(fmt.Sprint(g.body["error"]), "invalid_client") {
		t.Fatalf("token exchange error not shown: %s", g.raw)
	}

	// Nothing secret in any answer or in the database file.
	tokCred, err := h.eng.Connections().Credential(context.Background(), "crm")
	if err != nil {
		t.Fatal(err)
	}
	list := h.api("GET", "/api/v1/connections", h.token, "")
	runs := h.api("GET", "/api/v1/runs?flow=uses-crm", h.token, "")
	var dump bytes.Buffer
	if _, err := h.store.Backup(context.Background(), &dump); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{oauthSecret, tokCred.Token} {
		for where, text := range map[string]string{"list": list.raw, "runs": runs.raw, "db": dump.String()} {
			if strings.Contains(text, v) {
				t.Errorf("%s shows %q", where, v)
			}
		}
	}
}

func TestAPIConnectionsStatic(t *testing.T) {
	h := newHookEnv(t)
	const tok = "bearer-CANARY-4242"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"auth":%q}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	tests := []struct {
		name string
		body string
		code int
		want string
	}{
		{name: "bearer", body: `{"name":"api","type":"bearer","token":"` + tok + `"}`, code: 201, want: `"status":"connected"`},
		{name: "taken", body: `{"name":"api","type":"bearer","token":"x"}`, code: 409},
		{name: "missing token", body: `{"name":"api2","type":"bearer"}`, code: 422, want: `"path":"token"`},
		{name: "unknown field", body: `{"name":"api3","type":"bearer","token":"x","tokn":"y"}`, code: 400, want: "tokn"},
		{name: "unknown type", body: `{"name":"api4","type":"magic"}`, code: 422, want: "unknown connection type"},
		{name: "empty", body: ``, code: 400},
		{name: "oauth2 preset from an app", body: `{"name":"at","type":"oauth2","app":"airtable","client_id":"cid","client_secret":"csecret-123"}`,
			code: 201, want: "https://airtable.com/oauth2/v1/authorize?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := h.api("POST", "/api/v1/connections", h.token, tc.body)
			if a.code != tc.code || !strings.Contains(a.raw, tc.want) || strings.Contains(a.raw, tok) {
				t.Fatalf("%d %s", a.code, a.raw)
			}
		})
	}
	h.flow(`{"id":"echo","name":"E","trigger":{"type":"webhook"},"steps":[
		{"id":"call","type":"http","with":{"url":"` + echo.URL + `","connection":"api"}},
		{"id":"say","type":"log","with":{"message":"{{ steps.call.output.body.auth }}"}}]}`)
	a := h.post("/hooks/echo", "application/json", []byte(`{}`), nil)
	run := h.run(fmt.Sprint(a.body["run_id"]))
	if run.Status != engine.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Error)
	}
	r := h.api("GET", "/api/v1/runs/"+run.ID, h.token, "")
	if strings.Contains(r.raw, tok) || !strings.Contains(r.raw, "Bearer [redacted]") {
		t.Errorf("run record: %.500s", r.raw)
	}
	if a := h.api("DELETE", "/api/v1/connections/api", h.token, ""); a.code != 204 {
		t.Fatalf("delete: %d", a.code)
	}
	if a := h.api("GET", "/api/v1/connections/api", h.token, ""); a.code != 404 {
		t.Errorf("deleted connection: %d", a.code)
	}
	if a := h.api("DELETE", "/api/v1/connections/api", h.token, ""); a.code != 404 {
		t.Errorf("second delete: %d", a.code)
	}
}
