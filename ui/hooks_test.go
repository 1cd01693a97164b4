package ui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/netguard"
	"github.com/hookflow/hookflow/engine/secrets"
	"github.com/hookflow/hookflow/triggers"
	"github.com/hookflow/hookflow/ui"
)

// hookEnv is a real server (bbolt store, engine, vault) on 127.0.0.1.
type hookEnv struct {
	t     testing.TB
	url   string
	eng   *engine.Engine
	store *boltstore.Store
	vault *secrets.Vault
	token string
}

func newHookEnv(t testing.TB, opts ...func(*ui.Deps)) *hookEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key, err := secrets.LoadKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secrets.NewKeyring(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	vault, err := secrets.NewVault(ctx, st, kr)
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry()
	triggers.Register(reg)
	actions.Register(reg)
	allow, _ := netguard.ParseAllowList("127.0.0.0/8")
	g := netguard.New(allow)
	metrics := ui.NewMetrics()
	eng := engine.New(engine.Config{Store: st, Registry: reg, Secrets: vault, Observer: metrics, HTTP: g.HTTPClient(), Dial: g.DialContext, Workers: 8, Logf: t.Logf})
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	deps := ui.Deps{Engine: eng, Secrets: vault, BaseURL: base, Metrics: metrics}
	for _, o := range opts {
		o(&deps)
	}
	srv := ui.New(deps)
	go srv.App().Listener(ln)
	secret, tok, err := ui.NewToken("test", engine.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown(time.Second)
		eng.Close(time.Second)
		st.Close()
	})
	return &hookEnv{t: t, url: base, eng: eng, store: st, vault: vault, token: secret}
}

func (h *hookEnv) flow(doc string) {
	h.t.Helper()
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.eng.PutFlow(context.Background(), f); err != nil {
		h.t.Fatal(err)
	}
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func (h *hookEnv) do(req *http.Request) answer {
	h.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func (h *hookEnv) post(path, ctype string, body []byte, headers map[string]string) answer {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return h.do(req)
}

func (h *hookEnv) run(id string) *engine.Run {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := h.store.GetRun(context.Background(), id)
		if err == nil && r.Status.Final() {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %s did not end (%v)", id, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stripeSig(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", t, body)
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(m.Sum(nil)))
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestWebhookAnswers(t *testing.T) {
	h := newHookEnv(t)
	if err := h.vault.Set(context.Background(), "WHSEC", "whsec_test"); err != nil {
		t.Fatal(err)
	}
	h.flow(`{"id":"plain","name":"Plain","trigger":{"type":"webhook","with":{"body_limit":1024}},"steps":[{"id":"l","type":"log","with":{"message":"hi {{ trigger.body.name }}"}}]}`)
	h.flow(`{"id":"off","name":"Off","enabled":false,"trigger":{"type":"webhook"},"steps":[]}`)
	h.flow(`{"id":"stripe","name":"Stripe","trigger":{"type":"webhook","with":{"verify":{"scheme":"stripe","secret":"{{ secrets.WHSEC }}"}}},"steps":[]}`)
	h.flow(`{"id":"limited","name":"Limited","trigger":{"type":"webhook","with":{"rate_limit":{"requests":2,"per":"1m"}}},"steps":[]}`)
	h.flow(`{"id":"sched","name":"Manual","trigger":{"type":"manual"},"steps":[]}`)

	now := time.Now().Unix()
	evt := []byte(`{"id":"evt_1","type":"payment_intent.succeeded"}`)
	big := bytes.Repeat([]byte("a"), 2048)
	cases := []struct {
		name    string
		method  string
		path    string
		ctype   string
		body    []byte
		headers map[string]string
		code    int
		errHas  string
	}{
		{name: "json accepted", path: "/hooks/plain", ctype: "application/json", body: []byte(`{"name":"Ann"}`), code: 202},
		{name: "empty body accepted", path: "/hooks/plain", code: 202},
		{name: "path suffix accepted", path: "/hooks/plain/orders/7", ctype: "application/json", body: []byte(`{}`), code: 202},
		{name: "malformed json", path: "/hooks/plain", ctype: "application/json", body: []byte(`{"name":`), code: 400, errHas: "offset"},
		{name: "unknown flow", path: "/hooks/nope", ctype: "application/json", body: []byte(`{}`), code: 404, errHas: "no flow"},
		{name: "disabled flow", path: "/hooks/off", body: []byte(`{}`), code: 404, errHas: "disabled"},
		{name: "manual flow takes no webhooks", path: "/hooks/sched", code: 404, errHas: "manual trigger"},
		{name: "wrong method", method: "PUT", path: "/hooks/plain", code: 405, errHas: "method PUT not allowed"},
		{name: "over the flow's limit", path: "/hooks/plain", ctype: "text/plain", body: big, code: 413, errHas: "limit"},
		{name: "gzip inflated within the limit", path: "/hooks/plain", ctype: "application/json", body: gz([]byte(`{"name":"Zed"}`)), headers: map[string]string{"Content-Encoding": "gzip"}, code: 202},
		{name: "gzip bomb refused", path: "/hooks/plain", ctype: "text/plain", body: gz(bytes.Repeat([]byte("0"), 1<<20)), headers: map[string]string{"Content-Encoding": "gzip"}, code: 413},
		{name: "unknown encoding", path: "/hooks/plain", ctype: "application/json", body: []byte(`{}`), headers: map[string]string{"Content-Encoding": "br"}, code: 415},
		{name: "stripe signature ok", path: "/hooks/stripe", ctype: "application/json", body: evt, headers: map[string]string{"Stripe-Signature": stripeSig("whsec_test", now, evt)}, code: 202},
		{name: "stripe duplicate", path: "/hooks/stripe", ctype: "application/json", body: evt, headers: map[string]string{"Stripe-Signature": stripeSig("whsec_test", now, evt)}, code: 200},
		{name: "stripe wrong secret", path: "/hooks/stripe", ctype: "application/json", body: evt, headers: map[string]string{"Stripe-Signature": stripeSig("whsec_other", now, evt)}, code: 401, errHas: "no signature matched"},
		{name: "stripe missing header, junk body", path: "/hooks/stripe", ctype: "application/json", body: []byte(`{{{`), code: 401, errHas: "Stripe-Signature"},
		{name: "stripe: undecodable body fails verification", path: "/hooks/stripe", ctype: "application/json", body: []byte("not gzip"), headers: map[string]string{"Content-Encoding": "gzip", "Stripe-Signature": "t=1,v1=00"}, code: 401, errHas: "cannot verify"},
		{name: "stripe: unknown encoding fails verification", path: "/hooks/stripe", ctype: "application/json", body: evt, headers: map[string]string{"Content-Encoding": "br"}, code: 401},
		{name: "stripe too old", path: "/hooks/stripe", ctype: "application/json", body: evt, headers: map[string]string{"Stripe-Signature": stripeSig("whsec_test", now-3600, evt)}, code: 401, errHas: "tolerance"},
		{name: "rate limit 1", path: "/hooks/limited", code: 202},
		{name: "rate limit 2", path: "/hooks/limited", code: 202},
		{name: "rate limit 3", path: "/hooks/limited", code: 429},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.method
			if m == "" {
				m = http.MethodPost
			}
			req, _ := http.NewRequest(m, h.url+tc.path, bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			a := h.do(req)
			if a.code != tc.code {
				t.Fatalf("status %d, want %d: %s", a.code, tc.code, a.raw)
			}
			switch {
			case tc.code == 202:
				if a.body["status"] != "queued" || a.body["run_id"] == nil || a.body["run_id"] == "" {
					t.Errorf("body %s", a.raw)
				}
			case tc.code == 200:
				if a.body["duplicate"] != true {
					t.Errorf("body %s", a.raw)
				}
			default:
				if e, _ := a.body["error"].(string); e == "" || !strings.Contains(e, tc.errHas) {
					t.Errorf("error %q, want it to contain %q", a.raw, tc.errHas)
				}
				if strings.Contains(a.raw, "whsec_test") {
					t.Error("answer leaks the secret")
				}
			}
			if tc.code == 429 && a.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if tc.code == 405 && a.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q", a.header.Get("Allow"))
			}
		})
	}
	// Failed requests created no run; accepted ones did.
	runs, _, err := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "plain"})
	if err != nil || len(runs) != 4 {
		t.Errorf("plain flow has %d runs, want 4 (%v)", len(runs), err)
	}
	for _, r := range runs {
		if r.Trigger.Path == "/orders/7" {
			return
		}
	}
	t.Error("no run recorded the path suffix /orders/7")
}

func TestWebhookDuplicatesAtOnce(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"d","name":"D","trigger":{"type":"webhook","with":{"dedupe":"trigger.body.id"}},"steps":[]}`)
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	ids := make(chan string, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := h.post("/hooks/d", "application/json", []byte(`{"id":"same"}`), nil)
			codes <- a.code
			ids <- fmt.Sprint(a.body["run_id"])
		}()
	}
	wg.Wait()
	close(codes)
	close(ids)
	n202 := 0
	for c := range codes {
		if c == 202 {
			n202++
		} else if c != 200 {
			t.Errorf("status %d", c)
		}
	}
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Errorf("duplicate answered another run id: %s vs %s", id, first)
		}
	}
	if n202 != 1 {
		t.Errorf("%d requests got 202, want exactly 1", n202)
	}
}

func TestRespondModes(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"ask","name":"Ask","trigger":{"type":"webhook","with":{"respond":{"mode":"wait","timeout":"5s"}}},"steps":[
		{"id":"r","type":"respond","with":{"status":201,"headers":{"x-order":"{{ trigger.body.id }}"},"body":{"ok":true,"id":"{{ trigger.body.id }}"}}},
		{"id":"after","type":"log","with":{"message":"still runs"}}]}`)
	h.flow(`{"id":"end","name":"End","trigger":{"type":"webhook","with":{"respond":{"mode":"wait"}}},"steps":[{"id":"l","type":"log","with":{"message":"done {{ trigger.body.id }}"}}]}`)
	h.flow(`{"id":"slow","name":"Slow","trigger":{"type":"webhook","with":{"respond":{"mode":"wait","timeout":"200ms"}}},"steps":[{"id":"w","type":"delay","with":{"for":"1h"}}]}`)
	h.flow(`{"id":"form","name":"Form","trigger":{"type":"webhook","with":{"respond":{"mode":"redirect","url":"https://example.com/thanks?name={{ trigger.body.name }}"}}},"steps":[]}`)

	h.flow(`{"id":"page","name":"Page","trigger":{"type":"webhook","with":{"methods":["GET"],"respond":{"mode":"wait"}}},"steps":[
		{"id":"r","type":"respond","with":{"headers":{"content-type":"text/html","set-cookie":"hookflow_session=x"},"body":"<h1>Thanks {{ trigger.query.name }}</h1>"}}]}`)
	req, _ := http.NewRequest(http.MethodGet, h.url+"/hooks/page?name=%3Cscript%3Ealert(1)%3C/script%3E", nil)
	if a := h.do(req); a.header.Get("Set-Cookie") != "" || a.header.Get("Content-Security-Policy") != "sandbox" {
		t.Errorf("a flow's HTML answer must run sandboxed and set no cookie: %v", a.header)
	}
	a := h.post("/hooks/ask", "application/json", []byte(`{"id":"o-9"}`), nil)
	if a.code != 201 || a.header.Get("X-Order") != "o-9" || a.body["id"] != "o-9" {
		t.Errorf("respond step answer: %d %v %s", a.code, a.header, a.raw)
	}
	a = h.post("/hooks/end", "application/json", []byte(`{"id":"x"}`), nil)
	if a.code != 200 || a.body["status"] != "succeeded" || a.body["run_id"] == nil {
		t.Errorf("flow-end answer: %d %s", a.code, a.raw)
	}
	a = h.post("/hooks/slow", "application/json", []byte(`{}`), nil)
	if a.code != 202 || a.body["run_id"] == nil {
		t.Errorf("timeout answer: %d %s", a.code, a.raw)
	}

	// A real HTML form, urlencoded and multipart, lands on the thank-you page.
	form := url.Values{"name": {"Ann Lee"}, "tags": {"a", "b"}}
	a = h.post("/hooks/form", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if a.code != 303 || a.header.Get("Location") != "https://example.com/thanks?name=Ann Lee" {
		t.Errorf("redirect: %d %q", a.code, a.header.Get("Location"))
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "Bo")
	fw, _ := mw.CreateFormFile("cv", "cv.txt")
	fw.Write([]byte("hello"))
	mw.Close()
	a = h.post("/hooks/form", mw.FormDataContentType(), buf.Bytes(), nil)
	if a.code != 303 || !strings.HasSuffix(a.header.Get("Location"), "name=Bo") {
		t.Errorf("multipart redirect: %d %q", a.code, a.header.Get("Location"))
	}
	runs, _, _ := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "form"})
	if len(runs) != 2 {
		t.Fatalf("form runs = %d", len(runs))
	}
	mp := runs[0] // newest first: the multipart one
	if len(mp.Trigger.Files) != 1 || mp.Trigger.Files[0].Size != 5 || mp.Trigger.Files[0].Filename != "cv.txt" {
		t.Errorf("files = %+v", mp.Trigger.Files)
	}
	if tags := runs[1].Trigger.Body.(map[string]any)["tags"]; fmt.Sprint(tags) != "[a b]" {
		t.Errorf("repeated form field = %v", tags)
	}
}

func TestListenForTestEvent(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"l","name":"L","trigger":{"type":"webhook"},"steps":[{"id":"x","type":"log","with":{"message":"ran"}}]}`)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/flows/l/listen", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	if a := h.do(req); a.code != 202 || a.body["listening"] != true {
		t.Fatalf("listen: %d %s", a.code, a.raw)
	}
	a := h.post("/hooks/l", "application/json", []byte(`{"sample":true}`), nil)
	if a.code != 200 || a.body["captured"] != true {
		t.Fatalf("capture: %d %s", a.code, a.raw)
	}
	runs, _, _ := h.store.ListRuns(context.Background(), engine.RunQuery{FlowID: "l"})
	if len(runs) != 0 {
		t.Errorf("capturing a sample started %d runs", len(runs))
	}
	// The next request runs the flow; a manual run without a body uses the sample.
	if a := h.post("/hooks/l", "application/json", []byte(`{}`), nil); a.code != 202 {
		t.Errorf("after capture: %d", a.code)
	}
	req, _ = http.NewRequest(http.MethodPost, h.url+"/api/v1/flows/l/run", nil)
	req.Header.Set("Authorization", "Bearer "+h.token)
	a = h.do(req)
	if a.code != 202 {
		t.Fatalf("manual run: %d %s", a.code, a.raw)
	}
	r := h.run(a.body["run_id"].(string))
	if fmt.Sprint(r.Trigger.Body) != "map[sample:true]" {
		t.Errorf("manual run body = %v, want the sample", r.Trigger.Body)
	}
}

// TestFullStore: when the store cannot grow, webhooks get 503 with
// Retry-After — never a 2xx — and /healthz fails.
func TestFullStore(t *testing.T) {
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, "hookflow.db"), boltstore.Options{MaxSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := engine.NewRegistry()
	triggers.Register(reg)
	actions.Register(reg)
	eng := engine.New(engine.Config{Store: st, Registry: reg, Workers: 2, Logf: t.Logf})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(time.Second)
	f, _ := engine.DecodeFlow([]byte(`{"id":"full","name":"Full","trigger":{"type":"webhook","with":{"body_limit":600000}},"steps":[]}`))
	if _, err := eng.CreateFlow(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	app := ui.New(ui.Deps{Engine: eng, Secrets: nil, BaseURL: "http://x"}).App()
	body := make([]byte, 250000) // random hex: the store compresses repetitive bodies to nothing
	rand.Read(body)
	body = []byte(hex.EncodeToString(body))
	got503 := false
	for i := 0; i < 40 && !got503; i++ {
		req, _ := http.NewRequest(http.MethodPost, "/hooks/full", bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		resp, err := app.Test(req, 5000)
		if err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case 202:
		case 503:
			got503 = true
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
		resp.Body.Close()
	}
	if !got503 {
		t.Fatal("a full store never answered 503")
	}
	req, _ := http.NewRequest(http.MethodGet, "/healthz", nil)
	resp, _ := app.Test(req, 5000)
	if resp.StatusCode != 503 {
		t.Errorf("/healthz = %d on a full store", resp.StatusCode)
	}
}
