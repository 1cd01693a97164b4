package actions

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// fakeSlack answers like a Slack incoming webhook: 200 "ok", or a plain-text
// error code. The path picks the channel's state.
func fakeSlack(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(400)
			io.WriteString(w, "invalid_payload")
			return
		}
		var in struct {
			Text      string `json:"text"`
			Blocks    []any  `json:"blocks"`
			Username  string `json:"username"`
			IconEmoji string `json:"icon_emoji"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || (in.Text == "" && len(in.Blocks) == 0) {
			w.WriteHeader(400)
			io.WriteString(w, "invalid_payload")
			return
		}
		switch r.URL.Path {
		case "/services/T0/B0/archived":
			w.WriteHeader(410)
			io.WriteString(w, "channel_is_archived")
		case "/services/T0/B0/gone":
			w.WriteHeader(404)
			io.WriteString(w, "no_service")
		case "/services/T0/B0/limited":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
			io.WriteString(w, "rate_limited")
		case "/services/T0/B0/down":
			w.WriteHeader(503)
		default:
			if in.Username != "" && in.Username != "Hookflow" || in.IconEmoji != "" && in.IconEmoji != ":rocket:" {
				w.WriteHeader(400)
				io.WriteString(w, "invalid_payload")
				return
			}
			io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSlack(t *testing.T) {
	u := fakeSlack(t).URL + "/services/T0/B0/"
	tests := []struct {
		name   string
		with   string
		class  string
		errHas string
		status int
		after  time.Duration
	}{
		{name: "text", with: `{"webhook_url":"` + u + `ok","text":"hi *there*"}`, class: "ok", status: 200},
		{name: "blocks and overrides", with: `{"webhook_url":"` + u + `ok","text":"fallback","username":"Hookflow","icon_emoji":":rocket:",` +
			`"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*Order 42*"}}]}`, class: "ok", status: 200},
		{name: "archived channel", with: `{"webhook_url":"` + u + `archived","text":"hi"}`, class: "permanent", errHas: "HTTP 410 Gone: channel_is_archived", status: 410},
		{name: "no service", with: `{"webhook_url":"` + u + `gone","text":"hi"}`, class: "permanent", errHas: "HTTP 404 Not Found: no_service", status: 404},
		{name: "rate limited", with: `{"webhook_url":"` + u + `limited","text":"hi"}`, class: "retryable", errHas: "HTTP 429", status: 429, after: 3 * time.Second},
		{name: "server error", with: `{"webhook_url":"` + u + `down","text":"hi"}`, class: "retryable", errHas: "HTTP 503", status: 503},
		{name: "nothing to post", with: `{"webhook_url":"` + u + `ok"}`, class: "permanent", errHas: "text or blocks is required"},
		{name: "blocks not a list", with: `{"webhook_url":"` + u + `ok","blocks":{"type":"divider"}}`, class: "permanent", errHas: "blocks must be a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, slackKind, testSC(t), tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), "/services/T0/B0") {
				t.Fatalf("error shows the webhook URL: %v", err)
			}
			if tc.after != 0 && engine.RetryAfter(err) != tc.after {
				t.Fatalf("retry after %v, want %v", engine.RetryAfter(err), tc.after)
			}
			if tc.status == 0 {
				return
			}
			o := asJSON(t, out)
			if o["status"] != float64(tc.status) || o["ok"] != (tc.class == "ok") {
				t.Fatalf("output %v", o)
			}
		})
	}
}

// fakeDiscord answers like a Discord webhook: 204 without ?wait, JSON errors.
func fakeDiscord(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasPrefix(r.URL.Path, "/api/webhooks/123/") {
			w.WriteHeader(404)
			io.WriteString(w, `{"message": "Unknown Webhook", "code": 10015}`)
			return
		}
		var in struct {
			Content   string           `json:"content"`
			Embeds    []map[string]any `json:"embeds"`
			Username  string           `json:"username"`
			AvatarURL string           `json:"avatar_url"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || (in.Content == "" && len(in.Embeds) == 0) {
			w.WriteHeader(400)
			io.WriteString(w, `{"message": "Cannot send an empty message", "code": 50006}`)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/limited") {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			io.WriteString(w, `{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}`)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDiscord(t *testing.T) {
	u := fakeDiscord(t).URL
	tests := []struct {
		name   string
		with   string
		class  string
		errHas string
		status int
		after  time.Duration
	}{
		{name: "text becomes content", with: `{"webhook_url":"` + u + `/api/webhooks/123/tok","text":"hi **there**","username":"Hookflow"}`, class: "ok", status: 204},
		{name: "embeds", with: `{"webhook_url":"` + u + `/api/webhooks/123/tok","embeds":[{"title":"Order 42","color":5814783}]}`, class: "ok", status: 204},
		{name: "unknown webhook", with: `{"webhook_url":"` + u + `/api/webhooks/999/tok","text":"hi"}`, class: "permanent", errHas: "HTTP 404 Not Found: {\"message\": \"Unknown Webhook\"", status: 404},
		{name: "rate limited", with: `{"webhook_url":"` + u + `/api/webhooks/123/limited","text":"hi"}`, class: "retryable", errHas: "HTTP 429", status: 429, after: 2 * time.Second},
		{name: "too long", with: `{"webhook_url":"` + u + `/api/webhooks/123/tok","text":"` + strings.Repeat("é", 2001) + `"}`, class: "permanent", errHas: "at most 2000"},
		{name: "nothing to post", with: `{"webhook_url":"` + u + `/api/webhooks/123/tok"}`, class: "permanent", errHas: "text or embeds is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, discordKind, testSC(t), tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), "/api/webhooks/") {
				t.Fatalf("error shows the webhook URL: %v", err)
			}
			if tc.after != 0 && engine.RetryAfter(err) != tc.after {
				t.Fatalf("retry after %v, want %v", engine.RetryAfter(err), tc.after)
			}
			if tc.status == 0 {
				return
			}
			o := asJSON(t, out)
			if o["status"] != float64(tc.status) || o["ok"] != (tc.class == "ok") {
				t.Fatalf("output %v", o)
			}
		})
	}
}
