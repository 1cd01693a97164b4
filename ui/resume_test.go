package ui_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"golang.org/x/net/html"
)

// TestResumeURL drives /resume/{token} over HTTP: refused requests leave the
// run waiting; the first good one resumes it with the parsed request; every
// later one gets 410.
func TestResumeURL(t *testing.T) {
	h := newHookEnv(t)
	ctx := context.Background()
	f, err := engine.DecodeFlow([]byte(`{"id":"appr","name":"Approve","trigger":{"type":"manual"},"steps":[
	  {"id":"approval","type":"wait","with":{"timeout":"72h"}},
	  {"id":"said","type":"log","with":{"message":"{{ steps.approval.output.query.decision }} {{ steps.approval.output.body.note }}"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	runID, err := h.eng.RunManual(ctx, "appr", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	waiting := func() bool {
		r, err := h.store.GetRun(ctx, runID)
		return err == nil && r.Status == engine.RunWaiting
	}
	for deadline := time.Now().Add(10 * time.Second); !waiting(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the run never waited")
		}
	}
	u, err := h.eng.ResumeURL(ctx, runID, "approval")
	if err != nil {
		t.Fatal(err)
	}
	path := u[strings.Index(u, "/resume/"):]
	send := func(method, path, ctype string, body []byte) answer {
		req, _ := http.NewRequest(method, h.url+path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return h.do(req)
	}
	cases := []struct {
		name, method, path, ctype string
		body                      []byte
		code                      int
		stillWaiting              bool
	}{
		{name: "method not allowed", method: "PUT", path: path, code: 405, stillWaiting: true},
		{name: "body over the limit", method: "POST", path: path, ctype: "text/plain", body: bytes.Repeat([]byte("x"), 1<<20+1), code: 413, stillWaiting: true},
		{name: "body that does not parse", method: "POST", path: path, ctype: "application/json", body: []byte(`{"note":`), code: 400, stillWaiting: true},
		{name: "forged token", method: "GET", path: path[:len(path)-3] + "abc", code: 404, stillWaiting: true},
		{name: "unknown token", method: "GET", path: "/resume/nothing", code: 404, stillWaiting: true},
		{name: "first request resumes", method: "POST", path: path + "?decision=approve", ctype: "application/x-www-form-urlencoded", body: []byte("note=ok"), code: 200},
		{name: "replayed", method: "GET", path: path + "?decision=deny", code: 410},
		{name: "replayed as POST", method: "POST", path: path, ctype: "application/json", body: []byte(`{}`), code: 410},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := send(tc.method, tc.path, tc.ctype, tc.body)
			if a.code != tc.code || a.body["error"] == nil && tc.code != 200 {
				t.Fatalf("%s %s: %d %s, want %d with an error", tc.method, tc.name, a.code, a.raw, tc.code)
			}
			if tc.code == 200 && (a.body["run_id"] != runID || a.body["resumed"] != true) {
				t.Errorf("answer %s", a.raw)
			}
			if tc.stillWaiting && !waiting() {
				t.Errorf("the run stopped waiting after a refused request")
			}
		})
	}
	var r *engine.Run
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if r, _ = h.store.GetRun(ctx, runID); r.Status.Final() || time.Now().After(deadline) {
			break
		}
	}
	if r.Status != engine.RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	out := r.Step("approval").Output.(map[string]any)
	if out["method"] != "POST" || out["body"].(map[string]any)["note"] != "ok" || out["query"].(map[string]any)["decision"] != "approve" {
		t.Errorf("step output %v", out)
	}
	if msg := r.Step("said").Output.(map[string]any)["message"]; msg != "approve ok" {
		t.Errorf("next step saw %v", msg)
	}
}

// TestRunPageWaitAndCall: a waiting run's page shows its resume URL with a
// copy button and "Resume now"; a call step links parent and child runs.
func TestRunPageWaitAndCall(t *testing.T) {
	e := newUIEnv(t)
	csrf := e.setup()
	e.flow(`{"id":"child","name":"Child","trigger":{"type":"manual"},"steps":[{"id":"approval","type":"wait"}]}`)
	e.flow(`{"id":"parent","name":"Parent","trigger":{"type":"manual"},"steps":[{"id":"sub","type":"call","with":{"flow":"child"}}]}`)
	ctx := context.Background()
	parentID, err := e.eng.RunManual(ctx, "parent", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var childID string
	for deadline := time.Now().Add(10 * time.Second); childID == ""; time.Sleep(5 * time.Millisecond) {
		runs, _, _ := e.store.ListRuns(ctx, engine.RunQuery{FlowID: "child"})
		if len(runs) == 1 && runs[0].Status == engine.RunWaiting {
			childID = runs[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never waited")
		}
	}
	p := e.get("/runs/" + childID)
	want, _ := e.eng.ResumeURL(ctx, childID, "approval")
	if got := attr(mustTestID(t, p, "resume-url"), "value"); got != want {
		t.Errorf("resume URL shown %q, want %q", got, want)
	}
	mustTestID(t, p, "copy-resume-url")
	mustTestID(t, p, "cancel")
	if got := attr(mustTestID(t, p, "parent-run"), "href"); got != "/runs/"+parentID {
		t.Errorf("parent link %q", got)
	}
	if got := attr(mustTestID(t, e.get("/runs/"+parentID), "child-run"), "href"); got != "/runs/"+childID {
		t.Errorf("child link %q", got)
	}
	if r := e.post("/runs/"+childID+"/resume/approval", url.Values{"_csrf": {csrf}}); r.code != http.StatusSeeOther {
		t.Fatalf("resume now: %d %s", r.code, r.body)
	}
	if r := e.waitRun(parentID); r.Status != engine.RunSucceeded {
		t.Fatalf("parent %s: %s", r.Status, r.Error)
	}
	if byTestID(e.get("/runs/"+childID).doc, "resume-url") != nil {
		t.Error("an ended run still shows its resume URL")
	}
}

// TestEditorFlowPicker: a call step's flow field lists the callable flows
// (enabled, not this one) and keeps the current choice.
func TestEditorFlowPicker(t *testing.T) {
	e := newUIEnv(t)
	e.setup()
	e.flow(`{"id":"lib-a","name":"A","trigger":{"type":"manual"},"steps":[]}`)
	e.flow(`{"id":"lib-off","name":"Off","enabled":false,"trigger":{"type":"manual"},"steps":[]}`)
	e.flow(`{"id":"main","name":"Main","trigger":{"type":"manual"},"steps":[{"id":"sub","type":"call","with":{"flow":"lib-a"}}]}`)
	p := e.get("/flows/main")
	sel := mustTestID(t, p, "input-steps[0].with.flow")
	var opts, chosen []string
	for _, o := range findAll(sel, func(n *html.Node) bool { return n.Data == "option" }) {
		opts = append(opts, attr(o, "value"))
		for _, a := range o.Attr {
			if a.Key == "selected" {
				chosen = append(chosen, attr(o, "value"))
			}
		}
	}
	if strings.Join(opts, ",") != ",lib-a" || strings.Join(chosen, ",") != "lib-a" {
		t.Errorf("flow picker options %v, selected %v; want lib-a only (not the disabled flow, not main itself)", opts, chosen)
	}
}
