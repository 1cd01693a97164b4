package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepSink records every call (path, idempotency key, body). Calls to
// /block wait until released (or until the caller goes away).
type stepSink struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []stepCall
	release chan struct{}
}

type stepCall struct {
	path, key, body string
}

func newStepSink(t *testing.T) *stepSink {
	s := &stepSink{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, stepCall{path: r.URL.Path, key: r.Header.Get("Idempotency-Key"), body: string(b)})
		s.mu.Unlock()
		if r.URL.Path == "/block" {
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"path":"` + r.URL.Path + `"}`))
	}))
	t.Cleanup(func() {
		s.unblock()
		s.Close()
	})
	return s
}

func (s *stepSink) unblock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

func (s *stepSink) got() []stepCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stepCall(nil), s.calls...)
}

// keys counts the calls per idempotency key's step id (the part after the run id).
func (s *stepSink) keys() map[string]int {
	n := map[string]int{}
	for _, c := range s.got() {
		_, step, _ := strings.Cut(c.key, ":")
		n[step]++
	}
	return n
}

// flowStepsSetup makes a data dir with a token and the given flows imported.
func flowStepsSetup(t *testing.T, sink *stepSink, flows ...string) (data, tok string) {
	t.Helper()
	data = t.TempDir()
	tok, _, _ = cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	for i, doc := range flows {
		path := filepath.Join(t.TempDir(), "f.json")
		os.WriteFile(path, []byte(strings.ReplaceAll(doc, "SINK", sink.URL)), 0o600)
		if out, errOut, code := cli(t, data, "", "flows", "import", path); code != 0 {
			t.Fatalf("import flow %d: %s %s", i, out, errOut)
		}
	}
	return data, tok
}

// runUntil polls a run through the API until cond holds (bounded).
func runUntil(t *testing.T, srv *server, tok, id, what string, cond func(run map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, run := srv.api("GET", "/api/v1/runs/"+id, tok, nil)
		if code == 200 && cond(run) {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %s did not happen: %d %v\n%s", id, what, code, run, srv.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func stepOf(run map[string]any, id string) map[string]any {
	steps, _ := run["steps"].([]any)
	for _, s := range steps {
		if m := s.(map[string]any); m["id"] == id {
			return m
		}
	}
	return nil
}

func postHook(t *testing.T, addr, flow, body string) string {
	t.Helper()
	id := sendHook(t, addr, flow, body)
	if id == "" {
		t.FailNow()
	}
	return id
}

func succeeded(run map[string]any) bool { return run["status"] == "succeeded" }

// TestWaitSurvivesKill: a run waiting in a wait step is killed with the
// server; after a restart its resume URL (sent before the wait) resumes it
// once, and nothing before the wait runs again.
func TestWaitSurvivesKill(t *testing.T) {
	sink := newStepSink(t)
	data, tok := flowStepsSetup(t, sink, `{"id":"approve","name":"Approve","trigger":{"type":"webhook"},"steps":[
	  {"id":"mail","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/mail","body":{"approve":"{{ resume_url('approval') }}?decision=approve"}}},
	  {"id":"approval","type":"wait","with":{"timeout":"72h"}},
	  {"id":"after","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/after","body":{"decision":"{{ steps.approval.output.query.decision }}"}}}]}`)
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	id := postHook(t, addr, "approve", `{}`)
	runUntil(t, srv, tok, id, "waiting", func(r map[string]any) bool { return r["status"] == "waiting" })
	srv.kill()

	var mail struct{ Approve string }
	calls := sink.got()
	if len(calls) != 1 || json.Unmarshal([]byte(calls[0].body), &mail) != nil || !strings.HasPrefix(mail.Approve, "http://"+addr+"/resume/") {
		t.Fatalf("the mail step sent %+v", calls)
	}
	srv = startServer(t, data, addr)
	defer srv.stop()
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(mail.Approve[:len(mail.Approve)-len("?decision=approve")-2] + "zz"); code != 404 {
		t.Errorf("a forged resume URL: %d, want 404", code)
	}
	if code := get(mail.Approve); code != 200 {
		t.Fatalf("resume after the restart: %d\n%s", code, srv.logs)
	}
	if code := get(mail.Approve); code != 410 {
		t.Errorf("the resume URL used again: %d, want 410", code)
	}
	run := runUntil(t, srv, tok, id, "succeeded", succeeded)
	if d := stepOf(run, "approval")["output"].(map[string]any)["query"].(map[string]any)["decision"]; d != "approve" {
		t.Errorf("decision %v", d)
	}
	if n := sink.keys(); n["mail"] != 1 || n["after"] != 1 {
		t.Errorf("calls per step %v, want mail and after once each", n)
	}
}

// TestCallSurvivesKill: the server dies while a child run executes under a
// parent's call step (right after the child's side effect); after a restart
// the child finishes, wakes the parent, and the parent finishes with its
// output. One child run; the parent's own steps run once.
func TestCallSurvivesKill(t *testing.T) {
	sink := newStepSink(t)
	data, tok := flowStepsSetup(t, sink,
		`{"id":"child","name":"Child","trigger":{"type":"manual"},"steps":[
		  {"id":"work","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/child","body":"{{ trigger.body }}"}}]}`,
		`{"id":"parent","name":"Parent","trigger":{"type":"webhook"},"steps":[
		  {"id":"sub","type":"call","with":{"flow":"child","body":{"order":"{{ trigger.body.order }}"}}},
		  {"id":"after","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/after","body":{"child":"{{ steps.sub.output.output.body.path }}"}}}]}`)
	addr := freeAddr(t)
	srv := startServer(t, data, addr, "HOOKFLOW_FAULT=step.after_side_effect")
	id := postHook(t, addr, "parent", `{"order":"A-1"}`)
	srv.exited(t)

	srv = startServer(t, data, addr)
	defer srv.stop()
	run := runUntil(t, srv, tok, id, "succeeded", succeeded)
	sub := stepOf(run, "sub")["output"].(map[string]any)
	childID, _ := sub["run_id"].(string)
	if sub["status"] != "succeeded" || childID == "" {
		t.Fatalf("call output %v", sub)
	}
	code, child := srv.api("GET", "/api/v1/runs/"+childID, tok, nil)
	if code != 200 || child["parent_run_id"] != id || child["trigger"].(map[string]any)["type"] != "call" {
		t.Errorf("child run %d %v", code, child)
	}
	if _, list := srv.api("GET", "/api/v1/runs?flow=child", tok, nil); len(list["runs"].([]any)) != 1 {
		t.Errorf("%d child runs, want 1", len(list["runs"].([]any)))
	}
	calls := sink.got()
	var childKeys []string
	for _, c := range calls {
		if c.path == "/child" {
			childKeys = append(childKeys, c.key)
		}
	}
	if len(childKeys) != 2 || childKeys[0] != childKeys[1] || !strings.HasPrefix(childKeys[0], childID+":") {
		t.Errorf("want the child's interrupted step again once with the same key, got %v", childKeys)
	}
	if n := sink.keys(); n["after"] != 1 {
		t.Errorf("the parent's next step ran %d times", n["after"])
	}
}

// TestParallelSurvivesKill: the server dies in the middle of a parallel step
// — one branch finished, another's call in flight — or right after a
// branch's side effect; after a restart each branch goes on where it was: a
// finished branch does not run again, the interrupted step runs again with
// its idempotency key, and the steps after the parallel step run once.
func TestParallelSurvivesKill(t *testing.T) {
	flow := `{"id":"par","name":"Par","trigger":{"type":"webhook"},"steps":[
	  {"id":"both","type":"parallel","branches":[
	    {"name":"crm","steps":[{"id":"a1","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/a1"}},{"id":"a2","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/a2"}}]},
	    {"name":"chat","steps":[{"id":"b1","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/BPATH"}}]}]},
	  {"id":"after","type":"http","with":{"idempotency":true,"method":"POST","url":"SINK/after","body":{"crm":"{{ steps.both.output.crm.body.path }}","chat":"{{ steps.both.output.chat.body.path }}"}}}]}`
	cases := []struct {
		name  string
		bpath string
		fault string
		// kill waits for the moment to kill and does it.
		kill  func(t *testing.T, srv *server, tok, id string, sink *stepSink)
		check func(t *testing.T, n map[string]int)
	}{
		{name: "one branch done, another in flight", bpath: "block",
			kill: func(t *testing.T, srv *server, tok, id string, sink *stepSink) {
				runUntil(t, srv, tok, id, "crm branch stored and chat in flight", func(r map[string]any) bool {
					a2 := stepOf(r, "a2")
					return a2 != nil && a2["status"] == "succeeded" && sink.keys()["b1"] == 1
				})
				srv.kill()
				sink.unblock()
			},
			check: func(t *testing.T, n map[string]int) {
				if n["a1"] != 1 || n["a2"] != 1 || n["b1"] != 2 || n["after"] != 1 {
					t.Errorf("calls per step %v: want a1, a2, after once and the interrupted b1 twice", n)
				}
			}},
		{name: "fault right after a side effect", bpath: "b1", fault: "step.after_side_effect",
			kill: func(t *testing.T, srv *server, tok, id string, sink *stepSink) { srv.exited(t) },
			check: func(t *testing.T, n map[string]int) {
				for _, s := range []string{"a1", "a2", "b1"} {
					if n[s] < 1 || n[s] > 2 {
						t.Errorf("step %s ran %d times, want once, or twice when the kill interrupted it", s, n[s])
					}
				}
				if n["after"] != 1 {
					t.Errorf("after ran %d times", n["after"])
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := newStepSink(t)
			data, tok := flowStepsSetup(t, sink, strings.ReplaceAll(flow, "BPATH", tc.bpath))
			addr := freeAddr(t)
			var env []string
			if tc.fault != "" {
				env = append(env, "HOOKFLOW_FAULT="+tc.fault)
			}
			srv := startServer(t, data, addr, env...)
			id := postHook(t, addr, "par", `{}`)
			tc.kill(t, srv, tok, id, sink)

			srv = startServer(t, data, addr)
			defer srv.stop()
			run := runUntil(t, srv, tok, id, "succeeded", succeeded)
			out := stepOf(run, "both")["output"].(map[string]any)
			if out["crm"].(map[string]any)["body"].(map[string]any)["path"] != "/a2" || out["chat"].(map[string]any)["body"].(map[string]any)["path"] != "/"+tc.bpath {
				t.Errorf("parallel output %v", out)
			}
			seen := map[string]string{}
			for _, c := range sink.got() {
				_, step, _ := strings.Cut(c.key, ":")
				if k, ok := seen[step]; ok && k != c.key {
					t.Errorf("step %s ran again with another idempotency key: %s then %s", step, k, c.key)
				}
				seen[step] = c.key
			}
			tc.check(t, sink.keys())
		})
	}
}
