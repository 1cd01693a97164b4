package ui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

func TestConnectionsPage(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	const key = "pm-server-token-CANARY"
	tests := []struct {
		name     string
		form     url.Values
		code     int
		location string
		want     string
	}{
		{name: "api key for an app", form: url.Values{"type": {"api_key"}, "name": {"postmark"}, "app": {"postmark"}, "api_key": {key}},
			code: 303, location: "/connections"},
		{name: "basic with extra values", form: url.Values{"type": {"basic"}, "name": {"jira"}, "username": {"ada@example.com"}, "password": {"jira-api-token"}, "params": {"site=acme"}},
			code: 303, location: "/connections"},
		{name: "bad extra values", form: url.Values{"type": {"basic"}, "name": {"jira2"}, "username": {"a"}, "params": {"site"}},
			code: 422, want: "name=value pairs"},
		{name: "missing token", form: url.Values{"type": {"bearer"}, "name": {"tok"}}, code: 422, want: "token: required"},
		{name: "taken name", form: url.Values{"type": {"bearer"}, "name": {"postmark"}, "token": {"x"}}, code: 409, want: "already exists"},
		{name: "no CSRF", form: url.Values{"type": {"bearer"}, "name": {"t2"}, "token": {"x"}}, code: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			if tc.name != "no CSRF" {
				f.Set("_csrf", csrf)
			}
			p := e.post("/connections", f)
			if p.code != tc.code || p.location != tc.location || !strings.Contains(p.body, tc.want) {
				t.Fatalf("%d %q %.300s", p.code, p.location, p.body)
			}
		})
	}
	c, err := e.eng.Connections().Credential(context.Background(), "jira")
	if err != nil || c.Params["site"] != "acme" || c.Password != "jira-api-token" {
		t.Fatalf("jira connection: %+v %v", c, err)
	}
	e.flow(`{"id":"mails","name":"Mails","trigger":{"type":"manual"},"steps":[{"id":"m","type":"postmark.send_email","with":{"connection":"postmark","from":"a@example.com","to":"b@example.com","subject":"s","text":"t"}}]}`)
	p := e.get("/connections")
	for _, want := range []string{`data-testid="connection-postmark"`, "connected", "mails", `data-testid="app-airtable"`, "airtable.create_record", "/oauth/callback"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(p.body, key) || strings.Contains(p.body, "jira-api-token") {
		t.Error("the page shows a secret")
	}
	// Import an app through the page, then remove it.
	app := `{"id":"pinger","name":"Pinger","icon":"📡","summary":"Ping.","base_url":"https://ping.example","auth":{},
	  "operations":[{"id":"ping","title":"Ping","summary":"Ping it.","fields":[],"example":{},"request":{"method":"POST","path":"/ping"}}]}`
	if p := e.post("/connections/apps/import", url.Values{"_csrf": {csrf}, "file": {`{"id":"x"}`}}); p.code != 422 || !strings.Contains(p.body, "invalid app file") {
		t.Errorf("bad import: %d %.300s", p.code, p.body)
	}
	if p := e.post("/connections/apps/import", url.Values{"_csrf": {csrf}, "file": {app}}); p.code != 303 {
		t.Fatalf("import: %d %.300s", p.code, p.body)
	}
	if _, ok := e.eng.Registry().ActionFor("pinger.ping", nil); !ok {
		t.Error("imported operation is not a step type")
	}
	if p := e.post("/connections/apps/pinger/delete", url.Values{"_csrf": {csrf}}); p.code != 303 {
		t.Fatalf("remove: %d", p.code)
	}
	if _, ok := e.eng.Registry().ActionFor("pinger.ping", nil); ok {
		t.Error("removed operation is still a step type")
	}
	if p := e.post("/connections/postmark/delete", url.Values{"_csrf": {csrf}}); p.code != 303 {
		t.Fatalf("delete: %d", p.code)
	}
	if _, err := e.eng.Connections().Credential(context.Background(), "postmark"); err == nil {
		t.Error("deleted connection still resolves")
	}
}
