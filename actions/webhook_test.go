package actions

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestSignWebhookVector(t *testing.T) {
	// standard-webhooks libraries/go/webhook_test.go TestWebhookSign (REFERENCE.md §1).
	key, err := webhookKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := signWebhook(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestWebhook(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			w.WriteHeader(401)
			io.WriteString(w, "signature: "+err.Error())
			return
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		mu.Unlock()
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(503)
			return
		case "/gone":
			w.WriteHeader(410)
			io.WriteString(w, "endpoint disabled")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"received": string(body), "tenant": r.Header.Get("X-Tenant"), "type": r.Header.Get("Content-Type")})
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		with    string
		key     string
		attempt int
		class   string
		errHas  string
		body    string // expected "received" in the answer
	}{
		{name: "object body", with: `{"url":"` + srv.URL + `/in","secret":"` + secret + `","body":{"type":"order.paid","id":42},"headers":{"X-Tenant":"t1"}}`,
			key: "run_1:step_1", class: "ok", body: `{"id":42,"type":"order.paid"}`},
		{name: "re-run sends the same id", with: `{"url":"` + srv.URL + `/in","secret":"` + secret + `","body":{"type":"order.paid","id":42}}`,
			key: "run_1:step_1", class: "ok", body: `{"id":42,"type":"order.paid"}`},
		{name: "retry sends the same id", with: `{"url":"` + srv.URL + `/in","secret":"` + secret + `","body":{"type":"order.paid","id":42}}`,
			key: "run_1:step_1", attempt: 2, class: "ok", body: `{"id":42,"type":"order.paid"}`},
		{name: "text body as is", with: `{"url":"` + srv.URL + `/in","secret":"` + secret + `","body":"{\"raw\": true}"}`,
			key: "run_2:step_1", class: "ok", body: `{"raw": true}`},
		{name: "wrong secret is refused by the receiver", with: `{"url":"` + srv.URL + `/in","secret":"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","body":{"a":1}}`,
			key: "run_3:step_1", class: "permanent", errHas: "HTTP 401 Unauthorized: signature"},
		{name: "receiver busy", with: `{"url":"` + srv.URL + `/busy","secret":"` + secret + `","body":{"a":1}}`,
			key: "run_4:step_1", class: "retryable", errHas: "HTTP 503"},
		{name: "receiver gone", with: `{"url":"` + srv.URL + `/gone","secret":"` + secret + `","body":{"a":1}}`,
			key: "run_5:step_1", class: "permanent", errHas: "HTTP 410 Gone: endpoint disabled"},
		{name: "bad secret", with: `{"url":"` + srv.URL + `/in","secret":"whsec_%%%","body":{"a":1}}`,
			class: "permanent", errHas: "secret must be whsec_ followed by base64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := testSC(t)
			sc.IdempotencyKey = tc.key
			sc.Attempt = max(tc.attempt, 1)
			out, err := run(t, webhookKind, sc, tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if err != nil && strings.Contains(err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
				t.Fatalf("error shows the secret: %v", err)
			}
			if tc.class != "ok" {
				return
			}
			o := asJSON(t, out)
			if want := webhookID(messageKey(sc)); o["id"] != want || strings.Contains(want, ".") {
				t.Fatalf("id %v, want %s", o["id"], want)
			}
			b := o["body"].(map[string]any)
			if b["received"] != tc.body || b["type"] != "application/json" {
				t.Fatalf("answer %v", b)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) < 4 || ids[0] != ids[1] || ids[1] != ids[2] || ids[2] == ids[3] {
		t.Fatalf("ids %v: a re-run and a retry must send the same webhook-id, another run another", ids)
	}
}

func TestWebhookTimestamp(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("webhook-timestamp")
	}))
	defer srv.Close()
	sc := testSC(t)
	sc.Now = func() time.Time { return time.Unix(1700000000, 0) }
	if _, err := run(t, webhookKind, sc, `{"url":"`+srv.URL+`","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","body":{}}`); err != nil {
		t.Fatal(err)
	}
	if ts := <-got; ts != "1700000000" {
		t.Fatalf("webhook-timestamp %q", ts)
	}
}
