package actions

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAppMailchimp(t *testing.T) {
	e := newAppEnv(t, "mailchimp", requireHeader("Authorization", basicAuth("hookflow", "abc123-us21"), 401,
		`{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"API Key Invalid","status":401,"detail":"Your API key may be invalid, or you've attempted to access the wrong datacenter."}`,
		fakeAPI(t,
			fakeRule{method: "PUT", path: "/3.0/lists/list1/members/ada@example.com",
				check:  want(map[string]any{"email_address": "ada@example.com", "status_if_new": "subscribed", "merge_fields.FNAME": "Ada", "tags.1": "vip"}),
				answer: `{"id":"8f3b","email_address":"ada@example.com","status":"subscribed"}`},
			fakeRule{method: "PUT", path: "/3.0/lists/list1/members/bad", status: 400,
				answer: `{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Invalid Resource","status":400,"detail":"Please provide a valid email address."}`},
		)))
	e.conn("mc", &engine.Credential{Type: engine.ConnBasic, Username: "hookflow", Password: "abc123-us21", Params: map[string]string{"dc": "us21"}})
	runAppCases(t, e, []appCase{
		{name: "upsert", op: "upsert_member", with: `{"connection":"mc","list_id":"list1","email":"ada@example.com","merge_fields":{"FNAME":"Ada"},"tags":"new, vip"}`,
			class: "ok", out: "status", outVal: "subscribed"},
		{name: "invalid", op: "upsert_member", with: `{"connection":"mc","list_id":"list1","email":"bad"}`, class: "permanent", want: "Invalid Resource: Please provide a valid email address."},
	})
	// The data center is part of the host: it may not carry a host of its own.
	e.conn("evil", &engine.Credential{Type: engine.ConnBasic, Username: "x", Password: "y", Params: map[string]string{"dc": "evil.example/x?"}})
	orig, _ := mustApps(t).Get("mailchimp")
	env := map[string]any{"auth": (&engine.Credential{Params: map[string]string{"dc": "evil.example/x?"}}).Values()}
	if _, err := fillPlaceholders(orig.BaseURL, env, true); err == nil {
		t.Error("a data center with / and ? was accepted in the host")
	}
	env = map[string]any{"auth": (&engine.Credential{Params: map[string]string{"dc": "us21"}}).Values()}
	if u, err := fillPlaceholders(orig.BaseURL, env, true); err != nil || u != "https://us21.api.mailchimp.com/3.0" {
		t.Errorf("base URL %q %v", u, err)
	}
}

func mustApps(t *testing.T) *Apps {
	t.Helper()
	c, err := NewApps()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAppTrello(t *testing.T) {
	e := newAppEnv(t, "trello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("key") != "trello-key-1" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(401)
			w.Write([]byte("invalid key"))
			return
		}
		if q.Get("token") != "trello-token-1" {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(401)
			w.Write([]byte("invalid token"))
			return
		}
		fakeAPI(t, fakeRule{method: "POST", path: "/1/cards", check: want(map[string]any{"idList": "list9", "name": "Bug", "absent:pos": true}),
			answer: `{"id":"card1","url":"https://trello.com/c/abc/1-bug","shortUrl":"https://trello.com/c/abc"}`}).ServeHTTP(w, r)
	}))
	e.conn("tr", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "trello-token-1", Params: map[string]string{"key": "trello-key-1"}})
	e.conn("badtok", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "trello-token-x", Params: map[string]string{"key": "trello-key-1"}})
	runAppCases(t, e, []appCase{
		{name: "create", op: "create_card", with: `{"connection":"tr","list_id":"list9","name":"Bug"}`, class: "ok", out: "short_url", outVal: "https://trello.com/c/abc"},
		{name: "bad token", op: "create_card", with: `{"connection":"badtok","list_id":"list9","name":"Bug"}`, class: "permanent", want: "invalid token"},
	})
}

func TestAppJira(t *testing.T) {
	e := newAppEnv(t, "jira", requireHeader("Authorization", basicAuth("ada@example.com", "jira-token-1"), 401, `{"errorMessages":["You are not authenticated."],"errors":{}}`, fakeAPI(t,
		fakeRule{method: "POST", path: "/rest/api/3/issue", reply: func(r *http.Request) (int, string) {
			return 201, `{"id":"10001","key":"OPS-7","self":"https://acme.atlassian.net/rest/api/3/issue/10001"}`
		}, check: func(r *http.Request, b map[string]any) string {
			if dig(b, "fields.project.key") == "NOPE" {
				return ""
			}
			return want(map[string]any{"fields.project.key": "OPS", "fields.summary": "Refund failed", "fields.issuetype.name": "Task",
				"fields.description.type": "doc", "fields.description.version": 1.0, "fields.description.content.0.content.0.text": "line one",
				"fields.description.content.1.content.0.text": "line two", "absent:fields.labels": true})(r, b)
		}},
	)))
	e.conn("j", &engine.Credential{Type: engine.ConnBasic, Username: "ada@example.com", Password: "jira-token-1", Params: map[string]string{"site": "acme"}})
	runAppCases(t, e, []appCase{
		{name: "create", op: "create_issue", with: `{"connection":"j","project":"OPS","summary":"Refund failed","description":"line one\nline two"}`,
			class: "ok", out: "key", outVal: "OPS-7"},
	})
	e2 := newAppEnv(t, "jira", fakeAPI(t, fakeRule{method: "POST", path: "/rest/api/3/issue", status: 400,
		answer: `{"errorMessages":[],"errors":{"project":"valid project is required"}}`}))
	e2.conn("j", &engine.Credential{Type: engine.ConnBasic, Username: "user@example.com", Password: "jira-token-2", Params: map[string]string{"site": "acme"}})
	runAppCases(t, e2, []appCase{{name: "bad project", op: "create_issue", with: `{"connection":"j","project":"NOPE","summary":"x"}`,
		class: "permanent", want: "project: valid project is required"}})
}

func TestAppLinear(t *testing.T) {
	e := newAppEnv(t, "linear", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Header.Get("Authorization") {
		case "lin_api_KEY1", "Bearer lin_oauth_TOKEN":
		default: // Linear answers auth errors as GraphQL errors
			w.Write([]byte(`{"errors":[{"message":"Authentication required, not authenticated","extensions":{"code":"AUTHENTICATION_ERROR"}}]}`))
			return
		}
		fakeAPI(t, fakeRule{method: "POST", path: "/graphql", check: func(r *http.Request, b map[string]any) string {
			if dig(b, "variables.input.title") == "slow" {
				return ""
			}
			return want(map[string]any{"variables.input.teamId": "team1", "variables.input.title": "Bug", "absent:variables.input.priority": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			if r.ContentLength > 0 && dig(mustJSON(r), "variables.input.title") == "slow" {
				return 200, `{"errors":[{"message":"Rate limit exceeded","extensions":{"code":"RATELIMITED"}}]}`
			}
			return 200, `{"data":{"issueCreate":{"success":true,"issue":{"id":"iss1","identifier":"ENG-12","url":"https://linear.app/acme/issue/ENG-12"}}}}`
		}}).ServeHTTP(w, r)
	}))
	e.conn("key", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "lin_api_KEY1"})
	e.conn("oauth", &engine.Credential{Type: engine.ConnOAuth2, Token: "lin_oauth_TOKEN"})
	e.conn("bad", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "lin_api_BAD"})
	runAppCases(t, e, []appCase{
		{name: "api key without Bearer", op: "create_issue", with: `{"connection":"key","team_id":"team1","title":"Bug"}`, class: "ok", out: "identifier", outVal: "ENG-12"},
		{name: "oauth with Bearer", op: "create_issue", with: `{"connection":"oauth","team_id":"team1","title":"Bug"}`, class: "ok", out: "identifier", outVal: "ENG-12"},
		{name: "graphql error with 200", op: "create_issue", with: `{"connection":"bad","team_id":"team1","title":"Bug"}`, class: "permanent", want: "Authentication required"},
		{name: "rate limited is retried", op: "create_issue", with: `{"connection":"key","team_id":"team1","title":"slow"}`, class: "retryable", want: "Rate limit exceeded"},
	})
}

func TestAppAsanaAndZendesk(t *testing.T) {
	as := newAppEnv(t, "asana", requireHeader("Authorization", "Bearer asana-pat-1", 401, `{"errors":[{"message":"Not Authorized"}]}`, fakeAPI(t,
		fakeRule{method: "POST", path: "/api/1.0/tasks", check: func(r *http.Request, b map[string]any) string {
			if dig(b, "data.projects") == nil && dig(b, "data.workspace") == nil {
				return ""
			}
			return want(map[string]any{"data.name": "Call Ada", "data.projects.0": "proj1", "absent:data.workspace": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			if dig(mustJSON(r), "data.projects") == nil {
				return 400, `{"errors":[{"message":"You should specify one of workspace, parent, projects","help":"For more information…"}]}`
			}
			return 201, `{"data":{"gid":"12345","name":"Call Ada","permalink_url":"https://app.asana.com/0/proj1/12345"}}`
		}})))
	as.conn("a", &engine.Credential{Type: engine.ConnBearer, Token: "asana-pat-1"})
	runAppCases(t, as, []appCase{
		{name: "create", op: "create_task", with: `{"connection":"a","name":"Call Ada","project":"proj1"}`, class: "ok", out: "gid", outVal: "12345"},
		{name: "no project", op: "create_task", with: `{"connection":"a","name":"Call Ada"}`, class: "permanent", want: "You should specify one of workspace"},
	})

	zd := newAppEnv(t, "zendesk", requireHeader("Authorization", basicAuth("ada@example.com/token", "zd-token-1"), 401, `{"error":"Couldn't authenticate you"}`, fakeAPI(t,
		fakeRule{method: "POST", path: "/api/v2/tickets.json", check: func(r *http.Request, b map[string]any) string {
			return want(map[string]any{"ticket.comment.body": "Help", "ticket.requester.email": "bob@example.com", "ticket.requester.name": "bob@example.com"})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			if dig(mustJSON(r), "ticket.subject") == "" {
				return 422, `{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Subject: cannot be blank"}]}}`
			}
			return 201, `{"ticket":{"id":35436,"status":"new","url":"https://acme.zendesk.com/api/v2/tickets/35436.json"}}`
		}})))
	zd.conn("z", &engine.Credential{Type: engine.ConnBasic, Username: "ada@example.com/token", Password: "zd-token-1", Params: map[string]string{"subdomain": "acme"}})
	runAppCases(t, zd, []appCase{
		{name: "create", op: "create_ticket", with: `{"connection":"z","subject":"Printer","body":"Help","requester_email":"bob@example.com"}`, class: "ok", out: "id", outVal: 35436},
		{name: "invalid", op: "create_ticket", with: `{"connection":"z","subject":"","body":"Help","requester_email":"bob@example.com"}`, class: "permanent", want: "RecordInvalid: Record validation errors"},
	})
}
