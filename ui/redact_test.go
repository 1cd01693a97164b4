package ui_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// TestDerivedSecretsRedacted: a value computed from a secret — base64 of
// "user:" + secret, upper-cased, replaced, split — is redacted wherever it
// lands: step input, output, vars, logs, errors and the database file.
func TestDerivedSecretsRedacted(t *testing.T) {
	h := newHookEnv(t)
	const canary = "pw-CANARY-7c1d"
	basic := base64.StdEncoding.EncodeToString([]byte("svc:" + canary))
	var got []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%q,"x":%q}`, r.Header.Get("Authorization"), r.Header.Get("X-Key"))
	}))
	defer sink.Close()
	if a := h.api("PUT", "/api/v1/secrets/PW", h.token, `{"value":"`+canary+`"}`); a.code != 200 {
		t.Fatalf("put secret: %d %s", a.code, a.raw)
	}
	h.flow(`{"id":"d","name":"D","trigger":{"type":"webhook"},"steps":[
		{"id":"keep","type":"set","with":{"vars":{"up":"{{ upper(secrets.PW) }}","parts":"{{ split(secrets.PW, '-') }}"}}},
		{"id":"call","type":"http","with":{"url":"` + sink.URL + `","headers":{
			"authorization":"Basic {{ base64('svc:' + secrets.PW) }}",
			"x-key":"{{ replace(secrets.PW, 'CANARY', 'canary') }}"}}},
		{"id":"echo","type":"log","with":{"message":"up={{ vars.up }}"}},
		{"id":"boom","type":"fail","with":{"message":"bad key {{ lower(secrets.PW) }}"}}]}`)
	a := h.post("/hooks/d", "application/json", []byte(`{}`), nil)
	r := h.run(fmt.Sprint(a.body["run_id"]))
	if r.Status != engine.RunFailed {
		t.Fatalf("run: %s %s", r.Status, r.Error)
	}
	if len(got) != 1 || got[0] != "Basic "+basic {
		t.Fatalf("the sink got %q: the derived value did not reach the request", got)
	}
	derived := []string{canary, basic, strings.ToUpper(canary), strings.ToLower(canary), "pw-canary-7c1d", "7c1d"}
	rec := h.api("GET", "/api/v1/runs/"+r.ID, h.token, "")
	for _, d := range derived[:5] {
		if strings.Contains(rec.raw, d) {
			t.Errorf("the run record shows %q: %.600s", d, rec.raw)
		}
	}
	if !strings.Contains(rec.raw, "[redacted]") {
		t.Errorf("nothing redacted: %.400s", rec.raw)
	}
	var dump bytes.Buffer
	if _, err := h.store.Backup(context.Background(), &dump); err != nil {
		t.Fatal(err)
	}
	for _, d := range derived[:5] {
		if bytes.Contains(dump.Bytes(), []byte(d)) {
			t.Errorf("the database file holds %q in clear", d)
		}
	}
}

// TestRunOfDeletedFlowPage: the page of a run whose flow was deleted says so
// and offers no replay.
func TestRunOfDeletedFlowPage(t *testing.T) {
	h := newUIEnv(t)
	h.setup()
	h.flow(`{"id":"gone","name":"Gone","trigger":{"type":"manual"},"steps":[{"id":"l","type":"log","with":{"message":"x"}}]}`)
	id, err := h.eng.RunManual(context.Background(), "gone", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, h, id)
	if err := h.eng.DeleteFlow(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	page := h.get("/runs/" + id)
	if page.code != 200 || !strings.Contains(page.body, `data-testid="flow-deleted"`) || strings.Contains(page.body, `data-testid="replay"`) {
		t.Fatalf("run page of a deleted flow: %d %.2000s", page.code, page.body)
	}
}

// TestRunPageShowsStepLogs: console.log lines of a code step are on its card.
func TestRunPageShowsStepLogs(t *testing.T) {
	h := newUIEnv(t)
	h.setup()
	h.flow(`{"id":"js","name":"JS","trigger":{"type":"manual"},"steps":[{"id":"c","type":"code","with":{"source":"console.log('hello from code'); return 1"}}]}`)
	id, err := h.eng.RunManual(context.Background(), "js", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, h, id)
	page := h.get("/runs/" + id)
	if !strings.Contains(page.body, `data-testid="step-logs"`) || !strings.Contains(page.body, "hello from code") {
		t.Fatalf("run page: %.3000s", page.body)
	}
}

// waitEnded polls the store until the run has ended (bounded).
func waitEnded(t *testing.T, h *uiEnv, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if r, err := h.store.GetRun(context.Background(), id); err == nil && r.Status.Final() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not end")
		}
	}
}
