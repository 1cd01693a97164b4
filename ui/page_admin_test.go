package ui_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

func TestSecretsPage(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	if p := e.get("/secrets"); byTestID(p.doc, "secrets-empty") == nil {
		t.Errorf("no empty state")
	}
	cases := []struct {
		name, secret, value string
		code                int
	}{
		{name: "bad name", secret: "1-bad", value: "x", code: http.StatusUnprocessableEntity},
		{name: "no value", secret: "STRIPE_WHSEC", value: "", code: http.StatusUnprocessableEntity},
		{name: "stored", secret: "STRIPE_WHSEC", value: "whsec_top_secret", code: http.StatusSeeOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.post("/secrets", url.Values{"_csrf": {csrf}, "name": {tc.secret}, "value": {tc.value}})
			if p.code != tc.code {
				t.Errorf("status %d, want %d", p.code, tc.code)
			}
		})
	}
	p := e.get("/secrets")
	mustTestID(t, p, "secret-STRIPE_WHSEC")
	if strings.Contains(p.body, "whsec_top_secret") {
		t.Errorf("the secret's value is shown")
	}
	if p := e.post("/secrets/STRIPE_WHSEC/delete", url.Values{"_csrf": {csrf}}); p.code != http.StatusSeeOther {
		t.Errorf("delete: %d", p.code)
	}
	if names, _ := e.secrets.Names(context.Background()); len(names) != 0 {
		t.Errorf("names after delete: %v", names)
	}
}

func TestStorePage(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	if p := e.get("/store"); byTestID(p.doc, "kv-empty") == nil {
		t.Errorf("no empty state")
	}
	cases := []struct {
		name, key, value, ttl string
		code                  int
	}{
		{name: "json number", key: "orders:count", value: "3", code: http.StatusSeeOther},
		{name: "text with ttl", key: "greeting", value: "hello there", ttl: "24h", code: http.StatusSeeOther},
		{name: "bad ttl", key: "x", value: "1", ttl: "soon", code: http.StatusUnprocessableEntity},
		{name: "no key", key: " ", value: "1", code: http.StatusUnprocessableEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.post("/store", url.Values{"_csrf": {csrf}, "key": {tc.key}, "value": {tc.value}, "ttl": {tc.ttl}})
			if p.code != tc.code {
				t.Errorf("status %d, want %d: %s", p.code, tc.code, text(byTestID(p.doc, "kv-error")))
			}
		})
	}
	it, err := e.store.KVGet(context.Background(), "orders:count")
	if err != nil || it.Value != 3.0 {
		t.Errorf("orders:count = %+v %v", it, err)
	}
	p := e.get("/store?prefix=gre")
	if byTestID(p.doc, "kv-greeting") == nil || byTestID(p.doc, "kv-orders:count") != nil {
		t.Errorf("prefix search: %s", text(byTestID(p.doc, "kv-list")))
	}
	if !strings.Contains(text(byTestID(p.doc, "kv-greeting")), "expires") {
		t.Errorf("no expiry shown")
	}
	e.post("/store/delete", url.Values{"_csrf": {csrf}, "key": {"greeting"}})
	if _, err := e.store.KVGet(context.Background(), "greeting"); err == nil {
		t.Errorf("key not deleted")
	}
}

func TestSettingsAndRoles(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()

	p := e.post("/settings/users", url.Values{"_csrf": {csrf}, "email": {"ed@example.com"}, "password": {"editor password"}, "role": {"editor"}})
	if p.code != http.StatusSeeOther {
		t.Fatalf("create user: %d %s", p.code, text(byTestID(p.doc, "user-error")))
	}
	if p := e.post("/settings/users", url.Values{"_csrf": {csrf}, "email": {"ed@example.com"}, "password": {"editor password"}, "role": {"editor"}}); p.code != http.StatusConflict ||
		!strings.Contains(text(mustTestID(t, p, "user-error")), "already exists") {
		t.Errorf("duplicate user: %d", p.code)
	}
	p = e.post("/settings/tokens", url.Values{"_csrf": {csrf}, "name": {"deploy"}, "role": {"viewer"}})
	secret := attr(mustTestID(t, p, "new-token"), "value")
	if !strings.HasPrefix(secret, "hf_") {
		t.Fatalf("token secret = %q", secret)
	}
	p = e.get("/settings")
	mustTestID(t, p, "user-ed@example.com")
	mustTestID(t, p, "token-deploy")
	if strings.Contains(p.body, secret) {
		t.Errorf("the token is shown again")
	}
	// The token works on the API.
	req, _ := http.NewRequest(http.MethodGet, e.base+"/api/v1/flows", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("API with the new token: %v %v", resp, err)
	}

	// An editor edits flows but does not manage secrets, users or tokens.
	ed := *e
	jar, _ := cookiejar.New(nil)
	ed.client = &http.Client{Jar: jar, CheckRedirect: e.client.CheckRedirect}
	if p := ed.post("/login", url.Values{"email": {"ed@example.com"}, "password": {"editor password"}}); p.code != http.StatusSeeOther {
		t.Fatalf("editor login: %d", p.code)
	}
	edCSRF := ed.csrf()
	if p := ed.get("/settings"); byTestID(p.doc, "users-list") != nil {
		t.Errorf("an editor sees the users")
	}
	if p := ed.get("/secrets"); byTestID(p.doc, "secrets-admin-only") == nil {
		t.Errorf("an editor is not told secrets are for admins")
	}
	for _, path := range []string{"/secrets", "/settings/users", "/settings/tokens"} {
		if p := ed.post(path, url.Values{"_csrf": {edCSRF}, "name": {"X"}, "value": {"y"}}); p.code != http.StatusForbidden {
			t.Errorf("editor POST %s: %d", path, p.code)
		}
	}
	if p := ed.post("/flows/new", url.Values{"_csrf": {edCSRF}, "name": {"Editor flow"}}); p.code != http.StatusSeeOther {
		t.Errorf("editor cannot create a flow: %d", p.code)
	}

	// Revoke the token, remove the user; the admin cannot remove themself.
	var tokenID string
	if ts, _ := e.store.ListTokens(context.Background()); len(ts) == 1 {
		tokenID = ts[0].ID
	}
	e.post("/settings/tokens/"+tokenID+"/delete", url.Values{"_csrf": {csrf}})
	if ts, _ := e.store.ListTokens(context.Background()); len(ts) != 0 {
		t.Errorf("token not revoked")
	}
	u, _ := e.store.GetUserByEmail(context.Background(), "ed@example.com")
	e.post("/settings/users/"+u.ID+"/delete", url.Values{"_csrf": {csrf}})
	if _, err := e.store.GetUserByEmail(context.Background(), "ed@example.com"); err == nil {
		t.Errorf("user not removed")
	}
	me, _ := e.store.GetUserByEmail(context.Background(), "admin@example.com")
	e.post("/settings/users/"+me.ID+"/delete", url.Values{"_csrf": {csrf}})
	if _, err := e.store.GetUserByEmail(context.Background(), "admin@example.com"); err != nil {
		t.Errorf("the admin removed themself")
	}
}
