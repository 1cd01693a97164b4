package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/ui"
)

func (h *hookEnv) api(method, path, token string, body string) answer {
	h.t.Helper()
	var rd *bytes.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	return h.do(req)
}

func TestAPIFlows(t *testing.T) {
	h := newHookEnv(t)
	doc := `{"id":"pay","name":"Pay","trigger":{"type":"webhook"},"steps":[{"id":"l","type":"log","with":{"message":"x"}}]}`
	cases := []struct {
		name, method, path, body string
		code                     int
		check                    func(t *testing.T, a answer)
	}{
		{name: "create", method: "POST", path: "/api/v1/flows", body: doc, code: 201, check: func(t *testing.T, a answer) {
			if a.body["version"] != 1.0 || !strings.HasSuffix(fmt.Sprint(a.body["webhook_url"]), "/hooks/pay") {
				t.Errorf("created: %s", a.raw)
			}
		}},
		{name: "create again conflicts", method: "POST", path: "/api/v1/flows", body: doc, code: 409},
		{name: "unknown field", method: "POST", path: "/api/v1/flows", body: `{"id":"x","name":"X","trigger":{"type":"webhook"},"steps":[],"colour":1}`, code: 422},
		{name: "problems with paths", method: "POST", path: "/api/v1/flows",
			body: `{"id":"x","name":"X","trigger":{"type":"webhook"},"steps":[{"id":"a","type":"filter","when":"1 +"},{"id":"b","type":"http","with":{"url":"{{ nope }}"}}]}`,
			code: 422, check: func(t *testing.T, a answer) {
				ps, _ := a.body["problems"].([]any)
				paths := []string{}
				for _, p := range ps {
					paths = append(paths, fmt.Sprint(p.(map[string]any)["path"]))
				}
				if strings.Join(paths, ",") != "steps[0].when,steps[1].with.url" {
					t.Errorf("problem paths = %v (%s)", paths, a.raw)
				}
			}},
		{name: "malformed body", method: "POST", path: "/api/v1/flows", body: `{"id":`, code: 422},
		{name: "get", method: "GET", path: "/api/v1/flows/pay", code: 200},
		{name: "get missing", method: "GET", path: "/api/v1/flows/nope", code: 404},
		{name: "replace", method: "PUT", path: "/api/v1/flows/pay", body: strings.Replace(doc, `"Pay"`, `"Pay v2"`, 1), code: 200, check: func(t *testing.T, a answer) {
			if a.body["version"] != 2.0 || a.body["name"] != "Pay v2" {
				t.Errorf("replaced: %s", a.raw)
			}
		}},
		{name: "replace with another id", method: "PUT", path: "/api/v1/flows/pay", body: strings.Replace(doc, `"pay"`, `"other"`, 1), code: 422},
		{name: "versions", method: "GET", path: "/api/v1/flows/pay/versions", code: 200, check: func(t *testing.T, a answer) {
			if vs, _ := a.body["versions"].([]any); len(vs) != 2 {
				t.Errorf("versions: %s", a.raw)
			}
		}},
		{name: "restore version 1", method: "POST", path: "/api/v1/flows/pay/versions/1/restore", code: 200, check: func(t *testing.T, a answer) {
			if a.body["name"] != "Pay" || a.body["version"] != 3.0 {
				t.Errorf("restored: %s", a.raw)
			}
		}},
		{name: "list", method: "GET", path: "/api/v1/flows", code: 200, check: func(t *testing.T, a answer) {
			if fs, _ := a.body["flows"].([]any); len(fs) != 1 {
				t.Errorf("list: %s", a.raw)
			}
		}},
		{name: "kinds", method: "GET", path: "/api/v1/kinds", code: 200, check: func(t *testing.T, a answer) {
			if !strings.Contains(a.raw, `"kind":"http"`) || !strings.Contains(a.raw, `"kind":"webhook"`) {
				t.Errorf("kinds: %.200s", a.raw)
			}
		}},
		{name: "put creates", method: "PUT", path: "/api/v1/flows/fresh", body: strings.Replace(doc, `"pay"`, `"fresh"`, 1), code: 201},
		{name: "minimal flow: name defaults to the id", method: "POST", path: "/api/v1/flows", body: `{"id":"tiny","trigger":{"type":"manual"},"steps":[]}`, code: 201, check: func(t *testing.T, a answer) {
			if a.body["name"] != "tiny" {
				t.Errorf("name = %v", a.body["name"])
			}
		}},
		{name: "delete", method: "DELETE", path: "/api/v1/flows/pay", code: 204},
		{name: "deleted", method: "GET", path: "/api/v1/flows/pay", code: 404},
		{name: "unknown route", method: "GET", path: "/api/v1/nothing", code: 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := h.api(tc.method, tc.path, h.token, tc.body)
			if a.code != tc.code {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, a.code, tc.code, a.raw)
			}
			if a.code >= 400 && a.body["error"] == nil {
				t.Errorf("error answer without {\"error\"}: %s", a.raw)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func TestAPIAuth(t *testing.T) {
	h := newHookEnv(t)
	viewer, tok, _ := ui.NewToken("v", engine.RoleViewer)
	h.store.CreateToken(context.Background(), tok)
	editor, tok2, _ := ui.NewToken("e", engine.RoleEditor)
	h.store.CreateToken(context.Background(), tok2)
	doc := `{"id":"a","name":"A","trigger":{"type":"manual"},"steps":[]}`
	cases := []struct {
		name, token, method, path, body string
		code                            int
	}{
		{"no token", "", "GET", "/api/v1/flows", "", 401},
		{"bad token", "hf_nope", "GET", "/api/v1/flows", "", 401},
		{"viewer reads", viewer, "GET", "/api/v1/flows", "", 200},
		{"viewer cannot write", viewer, "POST", "/api/v1/flows", doc, 403},
		{"editor writes", editor, "POST", "/api/v1/flows", doc, 201},
		{"editor cannot manage secrets", editor, "PUT", "/api/v1/secrets/X", `{"value":"v"}`, 403},
		{"admin manages secrets", h.token, "PUT", "/api/v1/secrets/X", `{"value":"v"}`, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if a := h.api(tc.method, tc.path, tc.token, tc.body); a.code != tc.code {
				t.Errorf("%d, want %d: %s", a.code, tc.code, a.raw)
			}
		})
	}
	req, _ := http.NewRequest("GET", h.url+"/api/v1/flows", nil)
	req.Header.Set("Authorization", "bearer "+viewer)
	if a := h.do(req); a.code != 200 {
		t.Errorf("lower-case bearer scheme: %d", a.code)
	}
	// A used token records when (shown in Settings).
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := h.store.GetTokenByHash(context.Background(), ui.TokenHash(viewer))
		if err == nil && got.LastUsed != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the token's last use was never recorded")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAPIFlowRoundTrip: a flow read from the API saves back as it is.
func TestAPIFlowRoundTrip(t *testing.T) {
	h := newHookEnv(t)
	if a := h.api("POST", "/api/v1/flows", h.token, `{"id":"rt","name":"RT","trigger":{"type":"webhook"},"steps":[]}`); a.code != 201 {
		t.Fatal(a.raw)
	}
	got := h.api("GET", "/api/v1/flows/rt", h.token, "")
	if !strings.Contains(got.raw, `"webhook_url"`) {
		t.Fatalf("no webhook_url: %s", got.raw)
	}
	// Saving it back unchanged makes no new version; a change does.
	if a := h.api("PUT", "/api/v1/flows/rt", h.token, got.raw); a.code != 200 || a.body["version"] != 1.0 {
		t.Errorf("PUT of the GET answer: %d %s", a.code, a.raw)
	}
	changed := strings.Replace(got.raw, `"name":"RT"`, `"name":"RT 2"`, 1)
	if a := h.api("PUT", "/api/v1/flows/rt", h.token, changed); a.code != 200 || a.body["version"] != 2.0 {
		t.Errorf("PUT of a changed flow: %d %s", a.code, a.raw)
	}
}

// TestAPIRunsAndSecrets: runs list and page newest first; replay works; a
// secret used by a step never appears in the run, the API or the database.
func TestAPIRunsAndSecrets(t *testing.T) {
	h := newHookEnv(t)
	const canary = "sk_live_CANARY_9f8e7d6c"
	var authMu sync.Mutex // the five runs call the sink concurrently
	var gotAuth string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authMu.Lock()
		gotAuth = r.Header.Get("Authorization")
		authMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%q}`, r.Header.Get("Authorization"))
	}))
	defer sink.Close()
	if a := h.api("PUT", "/api/v1/secrets/API_KEY", h.token, `{"value":"`+canary+`"}`); a.code != 200 {
		t.Fatalf("put secret: %d %s", a.code, a.raw)
	}
	if a := h.api("GET", "/api/v1/secrets", h.token, ""); a.code != 200 || strings.Contains(a.raw, canary) || !strings.Contains(a.raw, "API_KEY") {
		t.Errorf("secrets list: %s", a.raw)
	}
	h.flow(`{"id":"s","name":"S","trigger":{"type":"webhook"},"steps":[
		{"id":"keep","type":"set","with":{"vars":{"tok":"{{ secrets.API_KEY }}"}}},
		{"id":"call","type":"http","with":{"url":"` + sink.URL + `","headers":{"authorization":"Bearer {{ vars.tok }}"}}},
		{"id":"echo","type":"log","with":{"message":"token {{ vars.tok }}"}}]}`)
	var ids []string
	for i := 0; i < 5; i++ {
		a := h.post("/hooks/s", "application/json", []byte(fmt.Sprintf(`{"i":%d}`, i)), nil)
		ids = append(ids, fmt.Sprint(a.body["run_id"]))
	}
	for _, id := range ids {
		if r := h.run(id); r.Status != engine.RunSucceeded {
			t.Fatalf("run %s: %s %s", id, r.Status, r.Error)
		}
	}
	authMu.Lock()
	if gotAuth != "Bearer "+canary {
		t.Errorf("the sink got %q: the secret did not reach the request", gotAuth)
	}
	authMu.Unlock()
	a := h.api("GET", "/api/v1/runs/"+ids[0], h.token, "")
	if a.code != 200 || strings.Contains(a.raw, canary) || !strings.Contains(a.raw, "[redacted]") {
		t.Errorf("run record leaks or lacks redaction: %.400s", a.raw)
	}
	a = h.api("GET", "/api/v1/runs?flow=s&limit=2", h.token, "")
	runs, _ := a.body["runs"].([]any)
	if len(runs) != 2 || runs[0].(map[string]any)["id"] != ids[4] || a.body["next_cursor"] == nil {
		t.Fatalf("page 1: %.300s", a.raw)
	}
	seen := 2
	cursor := fmt.Sprint(a.body["next_cursor"])
	for cursor != "" {
		a = h.api("GET", "/api/v1/runs?flow=s&limit=2&cursor="+cursor, h.token, "")
		rs, _ := a.body["runs"].([]any)
		seen += len(rs)
		cursor = ""
		if c, ok := a.body["next_cursor"].(string); ok {
			cursor = c
		}
	}
	if seen != 5 {
		t.Errorf("paging saw %d runs, want 5", seen)
	}
	if a := h.api("GET", "/api/v1/runs?status=bogus", h.token, ""); a.code != 422 {
		t.Errorf("bad status filter: %d", a.code)
	}
	a = h.api("POST", "/api/v1/runs/"+ids[0]+"/replay", h.token, `{"from":"start"}`)
	if a.code != 202 {
		t.Fatalf("replay: %d %s", a.code, a.raw)
	}
	if r := h.run(fmt.Sprint(a.body["run_id"])); r.ReplayOf != ids[0] || r.Status != engine.RunSucceeded {
		t.Errorf("replayed run: %+v", r)
	}
	if a := h.api("POST", "/api/v1/runs/"+ids[0]+"/replay", h.token, `{"from":"middle"}`); a.code != 422 {
		t.Errorf("bad replay option: %d %s", a.code, a.raw)
	}
	a = h.api("POST", "/api/v1/runs/replay", h.token, `{"flow":"s","status":"succeeded"}`)
	if ids, _ := a.body["run_ids"].([]any); a.code != 202 || len(ids) != 6 {
		t.Errorf("bulk replay: %d %s", a.code, a.raw)
	}
	if a := h.api("POST", "/api/v1/runs/"+ids[1]+"/cancel", h.token, ""); a.code != 409 {
		t.Errorf("cancel finished run: %d %s", a.code, a.raw)
	}
	var dump bytes.Buffer
	if _, err := h.store.Backup(context.Background(), &dump); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(dump.Bytes(), []byte(canary)) {
		t.Error("the secret value is in the database file in clear text")
	}
	// Every run above has ended: nothing is left queued or waiting.
	if st := h.eng.Stats(); st.Queued != 0 || st.Waiting != 0 {
		t.Errorf("stats after all runs ended: %+v", st)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	h := newHookEnv(t)
	h.flow(`{"id":"m","name":"M","trigger":{"type":"webhook"},"steps":[{"id":"l","type":"log","with":{"message":"x"}}]}`)
	h.run(fmt.Sprint(h.post("/hooks/m", "application/json", []byte(`{}`), nil).body["run_id"]))
	if a := h.api("GET", "/healthz", "", ""); a.code != 200 || a.body["status"] != "ok" {
		t.Errorf("healthz: %d %s", a.code, a.raw)
	}
	a := h.api("GET", "/metrics", "", "")
	for _, want := range []string{`hookflow_webhooks_received_total{code="202",flow="m"} 1`, `hookflow_runs_finished_total{flow="m",status="succeeded"} 1`,
		"hookflow_store_commit_batch_size_bucket", "hookflow_store_commit_seconds_bucket", "hookflow_step_duration_seconds"} {
		if !strings.Contains(a.raw, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestMetricsToken(t *testing.T) {
	h := newHookEnv(t)
	app := ui.New(ui.Deps{Engine: h.eng, Secrets: h.vault, BaseURL: "http://x", MetricsToken: "m3trics"}).App()
	for _, tc := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer nope", 401}, {"Bearer m3trics", 200}} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := app.Test(req)
		if err != nil || resp.StatusCode != tc.code {
			t.Errorf("%q: %v %v, want %d", tc.auth, resp.StatusCode, err, tc.code)
		}
	}
}
