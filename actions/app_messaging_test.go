package actions

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// appCase is one operation run against an app's fake.
type appCase struct {
	name, op, with string
	class, want    string
	out            string // a path in the output
	outVal         any
}

func runAppCases(t *testing.T, e *appEnv, tests []appCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.run(tc.op, tc.with)
			checkErr(t, err, tc.class, tc.want)
			for _, c := range e.conns.creds {
				for _, s := range c.Secrets() {
					if s != "" && err != nil && strings.Contains(err.Error(), s) {
						t.Errorf("error shows a credential: %v", err)
					}
				}
			}
			if tc.out != "" {
				if got := fmt.Sprint(dig(out, tc.out)); got != fmt.Sprint(tc.outVal) {
					t.Errorf("output %s = %v, want %v (output %v)", tc.out, got, tc.outVal, out)
				}
			}
		})
	}
}

// requireHeader answers 401 with body unless header h equals v.
func requireHeader(h, v string, status int, body string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(h) != v {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestAppNotion(t *testing.T) {
	page := `{"object":"page","id":"pg-1","url":"https://www.notion.so/pg1","created_time":"2026-01-01T00:00:00.000Z","last_edited_time":"2026-01-02T00:00:00.000Z"}`
	e := newAppEnv(t, "notion", requireHeader("Authorization", "Bearer secret_NOTION1", 401,
		`{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}`,
		requireHeader("Notion-Version", "2022-06-28", 400, `{"object":"error","status":400,"code":"missing_version","message":"Notion-Version header failed validation"}`,
			fakeAPI(t,
				fakeRule{method: "POST", path: "/v1/pages", answer: page, check: func(r *http.Request, b map[string]any) string {
					if dig(b, "parent.database_id") == "missing-db" {
						return "notfound"
					}
					return want(map[string]any{"parent.database_id": "db1", "properties.title.title.0.text.content": "Hello",
						"properties.Status.select.name": "New"})(r, b)
				}},
				fakeRule{method: "PATCH", path: "/v1/pages/pg-1", answer: page, check: want(map[string]any{"properties.Status.select.name": "Done", "absent:archived": true})},
				fakeRule{method: "PATCH", path: "/v1/pages/busy", status: 409, answer: `{"object":"error","status":409,"code":"conflict_error","message":"Conflict occurred while saving."}`},
				fakeRule{method: "PATCH", path: "/v1/pages/gone", status: 404, answer: `{"object":"error","status":404,"code":"object_not_found","message":"Could not find page with ID: gone."}`},
			))))
	e.conn("n", &engine.Credential{Type: engine.ConnBearer, Token: "secret_NOTION1"})
	e.conn("bad", &engine.Credential{Type: engine.ConnBearer, Token: "secret_WRONG1"})
	runAppCases(t, e, []appCase{
		{name: "create page", op: "create_page", with: `{"connection":"n","database_id":"db1","title":"Hello","properties":{"Status":{"select":{"name":"New"}}}}`,
			class: "ok", out: "url", outVal: "https://www.notion.so/pg1"},
		{name: "update page", op: "update_page", with: `{"connection":"n","page_id":"pg-1","properties":{"Status":{"select":{"name":"Done"}}}}`,
			class: "ok", out: "id", outVal: "pg-1"},
		{name: "409 conflict is retried", op: "update_page", with: `{"connection":"n","page_id":"busy","properties":{}}`, class: "retryable", want: "conflict_error"},
		{name: "404 is permanent", op: "update_page", with: `{"connection":"n","page_id":"gone","properties":{}}`, class: "permanent", want: "object_not_found"},
		{name: "bad token", op: "update_page", with: `{"connection":"bad","page_id":"pg-1","properties":{}}`, class: "permanent", want: "unauthorized: API token is invalid"},
	})
}

func TestAppTelegram(t *testing.T) {
	e := newAppEnv(t, "telegram", fakeAPI(t,
		fakeRule{method: "POST", path: "/bot123456:ABC-def/sendMessage", check: func(r *http.Request, b map[string]any) string {
			if b["chat_id"] == "blocked" {
				return ""
			}
			return want(map[string]any{"chat_id": "-100200", "text": "Hi *there*", "parse_mode": "MarkdownV2", "absent:disable_notification": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			return 200, `{"ok":true,"result":{"message_id":7,"chat":{"id":-100200},"text":"Hi there"}}`
		}},
		fakeRule{method: "POST", path: "/bot123456:ABC-def/sendMessage2"},
		fakeRule{method: "POST", path: "/botBAD:token/sendMessage", status: 401, answer: `{"ok":false,"error_code":401,"description":"Unauthorized"}`},
	))
	e.conn("bot", &engine.Credential{Type: engine.ConnBearer, Token: "123456:ABC-def"})
	e.conn("badbot", &engine.Credential{Type: engine.ConnBearer, Token: "BAD:token"})
	e.conn("evil", &engine.Credential{Type: engine.ConnBearer, Token: "x/../../evil"})
	runAppCases(t, e, []appCase{
		{name: "send", op: "send_message", with: `{"connection":"bot","chat_id":"-100200","text":"Hi *there*","parse_mode":"MarkdownV2"}`,
			class: "ok", out: "message_id", outVal: 7},
		{name: "bad token", op: "send_message", with: `{"connection":"badbot","chat_id":"1","text":"x"}`, class: "permanent", want: "Unauthorized"},
		{name: "a token cannot move the request", op: "send_message", with: `{"connection":"evil","chat_id":"1","text":"x"}`, class: "permanent", want: "may hold only"},
		{name: "bad parse mode refused", op: "send_message", with: `{"connection":"bot","chat_id":"1","text":"x","parse_mode":"BBCode"}`, class: "permanent", want: "must be one of"},
	})
	// ok:false with HTTP 200 (as Telegram's proxies do) is an error too.
	e2 := newAppEnv(t, "telegram", fakeAPI(t, fakeRule{method: "POST", path: "/bot1:xyzw/sendMessage",
		answer: `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`}))
	e2.conn("bot", &engine.Credential{Type: engine.ConnBearer, Token: "1:xyzw"})
	runAppCases(t, e2, []appCase{{name: "ok false", op: "send_message", with: `{"connection":"bot","chat_id":"1","text":"x"}`, class: "permanent", want: "chat not found"}})
}

func TestAppTwilio(t *testing.T) {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("AC123:authtok-999"))
	e := newAppEnv(t, "twilio", requireHeader("Authorization", auth, 401, `{"code":20003,"message":"Authenticate","status":401}`, fakeAPI(t,
		fakeRule{method: "POST", path: "/2010-04-01/Accounts/AC123/Messages.json", check: func(r *http.Request, b map[string]any) string {
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				return "not a form"
			}
			if b["Body"] == "" || b["Body"] == nil {
				return "body"
			}
			return want(map[string]any{"To": "+15558675310", "From": "+15017122661", "absent:MessagingServiceSid": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			if r.PostFormValue("Body") == "spam" {
				return 429, `{"code":20429,"message":"Too Many Requests","status":429}`
			}
			return 201, `{"sid":"SM1","status":"queued","to":"+15558675310"}`
		}},
	)))
	e.conn("tw", &engine.Credential{Type: engine.ConnBasic, Username: "AC123", Password: "authtok-999"})
	runAppCases(t, e, []appCase{
		{name: "send", op: "send_sms", with: `{"connection":"tw","to":"+15558675310","from":"+15017122661","body":"Code 1234"}`, class: "ok", out: "sid", outVal: "SM1"},
		{name: "429", op: "send_sms", with: `{"connection":"tw","to":"+15558675310","from":"+15017122661","body":"spam"}`, class: "retryable", want: "20429: Too Many Requests"},
	})
}

func TestAppSendGridAndPostmark(t *testing.T) {
	sg := newAppEnv(t, "sendgrid", requireHeader("Authorization", "Bearer SG.key-1", 401, `{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked"}]}`,
		fakeAPI(t, fakeRule{method: "POST", path: "/v3/mail/send", check: func(r *http.Request, b map[string]any) string {
			if dig(b, "from.email") == "unverified@example.com" {
				return ""
			}
			return want(map[string]any{"personalizations.0.to.0.email": "ada@example.com", "from.email": "shop@example.com",
				"subject": "Hi", "content.0.type": "text/plain", "content.0.value": "Hello", "absent:content.1": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			return 202, ``
		}, header: map[string]string{"X-Message-Id": "msg-1"}})))
	sg.conn("sg", &engine.Credential{Type: engine.ConnBearer, Token: "SG.key-1"})
	runAppCases(t, sg, []appCase{
		{name: "send", op: "send_email", with: `{"connection":"sg","from":"shop@example.com","to":"ada@example.com","subject":"Hi","text":"Hello"}`,
			class: "ok", out: "message_id", outVal: "msg-1"},
	})
	sg2 := newAppEnv(t, "sendgrid", fakeAPI(t, fakeRule{method: "POST", path: "/v3/mail/send", status: 403,
		answer: `{"errors":[{"field":"from","message":"The from address does not match a verified Sender Identity."}]}`}))
	sg2.conn("sg", &engine.Credential{Type: engine.ConnBearer, Token: "SG.key-1"})
	runAppCases(t, sg2, []appCase{{name: "unverified sender", op: "send_email",
		with: `{"connection":"sg","from":"x@example.com","to":"a@example.com","subject":"s","html":"<p>h</p>"}`, class: "permanent", want: "from The from address does not match"}})

	pm := newAppEnv(t, "postmark", requireHeader("X-Postmark-Server-Token", "pm-token-1", 401, `{"ErrorCode":10,"Message":"No Account or Server API tokens were supplied in the HTTP headers."}`,
		fakeAPI(t, fakeRule{method: "POST", path: "/email", check: func(r *http.Request, b map[string]any) string {
			if b["To"] == "inactive@example.com" {
				return ""
			}
			return want(map[string]any{"From": "shop@example.com", "To": "ada@example.com", "Subject": "Receipt", "TextBody": "Thanks", "MessageStream": "outbound", "absent:HtmlBody": true})(r, b)
		}, reply: func(r *http.Request) (int, string) {
			if strings.Contains(readAllString(r), "inactive") {
				return 422, `{"ErrorCode":406,"Message":"You tried to send to a recipient that has been marked as inactive."}`
			}
			return 200, `{"To":"ada@example.com","SubmittedAt":"2026-01-01T00:00:00Z","MessageID":"b7bc2f4a","ErrorCode":0,"Message":"OK"}`
		}})))
	pm.conn("pm", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "pm-token-1"})
	pm.conn("pmbad", &engine.Credential{Type: engine.ConnAPIKey, APIKey: "pm-wrong"})
	runAppCases(t, pm, []appCase{
		{name: "send", op: "send_email", with: `{"connection":"pm","from":"shop@example.com","to":"ada@example.com","subject":"Receipt","text":"Thanks"}`,
			class: "ok", out: "message_id", outVal: "b7bc2f4a"},
		{name: "bad token", op: "send_email", with: `{"connection":"pmbad","from":"shop@example.com","to":"ada@example.com","subject":"Receipt","text":"Thanks"}`,
			class: "permanent", want: "ErrorCode 10"},
	})
}

func readAllString(r *http.Request) string {
	r.ParseForm()
	return fmt.Sprint(r.Form)
}

func TestAppTeamsAndSlack(t *testing.T) {
	teams := newAppEnv(t, "teams", fakeAPI(t, fakeRule{method: "POST", path: "/workflows/abc/triggers/manual/paths/invoke",
		check: want(map[string]any{"type": "message", "attachments.0.contentType": "application/vnd.microsoft.card.adaptive",
			"attachments.0.content.type": "AdaptiveCard", "attachments.0.content.body.0.text": "New lead", "attachments.0.content.body.1.text": "Ada"}),
		status: 202}))
	hook := teams.srv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=SIGNATURE"
	runAppCases(t, teams, []appCase{
		{name: "post", op: "post_message", with: `{"webhook_url":"` + hook + `","title":"New lead","text":"Ada"}`, class: "ok", out: "status", outVal: 202},
		{name: "not a URL", op: "post_message", with: `{"webhook_url":"ftp://x","text":"Ada"}`, class: "permanent", want: "http:// or https://"},
	})

	slack := newAppEnv(t, "slack", fakeAPI(t, fakeRule{method: "POST", path: "/api/chat.postMessage", reply: func(r *http.Request) (int, string) {
		if r.Header.Get("Authorization") != "Bearer xoxb-1" {
			return 200, `{"ok":false,"error":"invalid_auth"}`
		}
		return 200, `{"ok":true,"channel":"C1","ts":"1700000000.000100","message":{"text":"hi"}}`
	}, check: func(r *http.Request, b map[string]any) string {
		if b["channel"] == "#limits" {
			return ""
		}
		return want(map[string]any{"channel": "C1", "text": "hi", "absent:thread_ts": true})(r, b)
	}}))
	slack.conn("sl", &engine.Credential{Type: engine.ConnBearer, Token: "xoxb-1"})
	slack.conn("bad", &engine.Credential{Type: engine.ConnBearer, Token: "xoxb-bad"})
	runAppCases(t, slack, []appCase{
		{name: "post", op: "post_message", with: `{"connection":"sl","channel":"C1","text":"hi"}`, class: "ok", out: "ts", outVal: "1700000000.000100"},
		{name: "ok false", op: "post_message", with: `{"connection":"bad","channel":"C1","text":"hi"}`, class: "permanent", want: "invalid_auth"},
	})
}
