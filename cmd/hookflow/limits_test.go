package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rssWatch samples a process's resident memory until stopped and reports the peak.
func rssWatch(pid int) (stop func() int64) {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if kb := vmRSS(pid); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() int64 { close(done); wg.Wait(); return peak.Load() * 1024 }
}

func vmRSS(pid int) int64 { // anonymous memory: the heap, not bbolt's file pages
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func importFlows(t *testing.T, data string, docs ...string) {
	t.Helper()
	var files []string
	for i, d := range docs {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("f%d.json", i))
		if err := os.WriteFile(p, []byte(d), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if out, errOut, code := cli(t, data, "", append([]string{"flows", "import"}, files...)...); code != 0 {
		t.Fatalf("import: %s %s", out, errOut)
	}
}

func waitRun(t *testing.T, srv *server, tok, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, run := srv.api("GET", "/api/v1/runs/"+id, tok, nil)
		if code == 200 {
			switch run["status"] {
			case "succeeded", "failed", "filtered", "canceled":
				return run
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not end within %s: %d %v", id, within, code, run["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHostileFlowsCannotHurtOthers runs the bombs issue #12 found against the
// real binary at once, with plain flows beside them: every bomb fails its own
// step naming the bound, every plain run succeeds, the server stays up and its
// resident memory stays under 256 MiB.
func TestHostileFlowsCannotHurtOthers(t *testing.T) {
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	bomb := func(id, when string) string {
		return fmt.Sprintf(`{"id":%q,"name":%q,"trigger":{"type":"webhook"},"steps":[{"id":"f","type":"filter","when":%q},{"id":"l","type":"log","with":{"message":"passed"}}]}`, id, id, when)
	}
	importFlows(t, data,
		bomb("doubling", `len(reduce(1..40, #acc + #acc, 'x')) > 0`),
		bomb("repeat", `len(repeat(trigger.raw, 10000)) > 0`),
		bomb("serialize", `len(toJSON(map(1..10000, trigger.raw))) > 0`),
		bomb("loops", `sum(trigger.body.items, {sum(1..10000, {#})}) > 0`),
		`{"id":"plain","name":"Plain","trigger":{"type":"webhook"},"steps":[{"id":"l","type":"log","with":{"message":"{{ trigger.body.n }}"}}]}`)

	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	defer srv.stop()
	peak := rssWatch(srv.cmd.Process.Pid)

	// Refused at save: a loop over the body inside a loop over the body.
	code, out := srv.api("PUT", "/api/v1/flows/square", tok, map[string]any{"id": "square", "name": "Sq",
		"trigger": map[string]any{"type": "webhook"},
		"steps":   []any{map[string]any{"id": "f", "type": "filter", "when": "sum(trigger.body, {sum(trigger.body, {#})}) > 0"}}})
	if code != 422 || !strings.Contains(fmt.Sprint(out), "square of the input") {
		t.Errorf("nested loop over the body: %d %v", code, out)
	}

	big := `{"pad":"` + strings.Repeat("x", 50_000) + `","items":[` + strings.TrimSuffix(strings.Repeat("1,", 20000), ",") + `]}`
	type sent struct{ flow, id string }
	var mu sync.Mutex
	var runs []sent
	var wg sync.WaitGroup
	post := func(flow, body string) {
		defer wg.Done()
		id := sendHook(t, addr, flow, body)
		if id == "" {
			return
		}
		mu.Lock()
		runs = append(runs, sent{flow, id})
		mu.Unlock()
	}
	for i := 0; i < 20; i++ {
		for _, f := range []string{"doubling", "repeat", "serialize", "loops"} {
			wg.Add(1)
			go post(f, big)
		}
		wg.Add(1)
		go post("plain", fmt.Sprintf(`{"n":%d}`, i))
	}
	wg.Wait()
	for _, r := range runs {
		run := waitRun(t, srv, tok, r.id, 60*time.Second)
		if r.flow == "plain" {
			if run["status"] != "succeeded" {
				t.Errorf("plain run %s: %v %v", r.id, run["status"], run["error"])
			}
			continue
		}
		if e := fmt.Sprint(run["error"]); run["status"] != "failed" || !strings.Contains(e, "limit") || !strings.Contains(e, "expression `") {
			t.Errorf("%s run: %v %q", r.flow, run["status"], e)
		}
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after the bombs: %v", err)
	}
	if p := peak(); p > 256<<20 || p == 0 {
		t.Errorf("peak anonymous RSS %d MiB (want under 256)", p>>20)
	} else {
		t.Logf("peak anonymous RSS %d MiB over %d runs", p>>20, len(runs))
	}
}

// TestCancelAndShutdownStopSteps: on the real binary a cancel stops a step
// that waits on a slow API within a second or so, and SIGTERM ends the
// server within 10 s while another such step is running; that run resumes
// after the restart.
func TestCancelAndShutdownStopSteps(t *testing.T) {
	var hits atomic.Int32
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(60 * time.Second):
			}
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer slow.Close()
	defer close(release)
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	importFlows(t, data, `{"id":"slow","name":"Slow","trigger":{"type":"webhook"},"steps":[{"id":"call","type":"http","timeout":"60s","with":{"method":"POST","url":"`+slow.URL+`"}}]}`)
	addr := freeAddr(t)
	srv := startServer(t, data, addr)

	postRun := func() string {
		resp, err := http.Post("http://"+addr+"/hooks/slow", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = jsonDecode(resp, &m)
		return fmt.Sprint(m["run_id"])
	}
	waitHits := func(n int32) {
		for deadline := time.Now().Add(10 * time.Second); hits.Load() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the slow API was called %d times, want %d", hits.Load(), n)
			}
		}
	}

	id := postRun()
	waitHits(1)
	asked := time.Now()
	if code, out := srv.api("POST", "/api/v1/runs/"+id+"/cancel", tok, nil); code != 202 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	run := waitRun(t, srv, tok, id, 10*time.Second)
	if run["status"] != "canceled" {
		t.Fatalf("canceled run: %v %v", run["status"], run["error"])
	}
	t.Logf("cancel took %s", time.Since(asked))

	id = postRun()
	waitHits(2)
	asked = time.Now()
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = srv.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
		t.Logf("SIGTERM to exit: %s", time.Since(asked))
	case <-time.After(12 * time.Second):
		srv.kill()
		t.Fatalf("the server did not stop within 10 s of SIGTERM:\n%s", srv.logs)
	}
	srv = startServer(t, data, addr)
	defer srv.stop()
	if run := waitRun(t, srv, tok, id, 20*time.Second); run["status"] != "succeeded" {
		t.Fatalf("the run interrupted by shutdown: %v %v", run["status"], run["error"])
	}
}

// TestCrashLoopStops: a run whose step kills the server is failed at the
// third start instead of killing it again; the server stays up.
func TestCrashLoopStops(t *testing.T) {
	sink := newSink(t, 0)
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	importFlows(t, data, `{"id":"boom","name":"Boom","trigger":{"type":"webhook"},"steps":[{"id":"call","type":"http","with":{"method":"POST","url":"`+sink.URL+`","idempotency":true}}]}`)
	addr := freeAddr(t)
	// The fault point stands in for a step that takes the process down.
	srv := startServer(t, data, addr, "HOOKFLOW_FAULT=step.after_side_effect")
	resp, err := http.Post("http://"+addr+"/hooks/boom", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = jsonDecode(resp, &m)
	resp.Body.Close()
	id := fmt.Sprint(m["run_id"])
	srv.exited(t)
	// Second start: the run was executing at the crash; resumed, it kills again.
	srv = startServerNoWait(t, data, addr, "HOOKFLOW_FAULT=step.after_side_effect")
	srv.exited(t)
	// Third start: found executing at two starts in a row, it is failed.
	srv = startServer(t, data, addr, "HOOKFLOW_FAULT=step.after_side_effect")
	defer srv.stop()
	run := waitRun(t, srv, tok, id, 10*time.Second)
	if e := fmt.Sprint(run["error"]); run["status"] != "failed" || !strings.Contains(e, "stopped 2 times in a row while this run executed step call") {
		t.Fatalf("run: %v %q", run["status"], e)
	}
	if n := len(sink.got()); n != 2 {
		t.Errorf("the step ran %d times, want 2 (the first run and one resume)", n)
	}
	time.Sleep(200 * time.Millisecond)
	if r, err := http.Get("http://" + addr + "/healthz"); err != nil || r.StatusCode != 200 {
		t.Fatalf("server down after failing the run: %v", err)
	}
}

// startServerNoWait starts the binary without waiting for it to be healthy
// (it may die at once).
func startServerNoWait(t *testing.T, data, addr string, env ...string) *server {
	t.Helper()
	s := &server{t: t, addr: addr, logs: &bytes.Buffer{}}
	s.cmd = exec.Command(binary, "serve", "--addr", addr, "--base-url", "http://"+addr, "--allow-nets", "127.0.0.0/8")
	s.cmd.Env = append(append(os.Environ(), "HOOKFLOW_DATA="+data), env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

// sendHook posts a JSON webhook to a flow and returns the run id of its 202
// answer; anything else is a test error, and "" (safe in goroutines).
func sendHook(t *testing.T, addr, flow, body string) string {
	resp, err := http.Post("http://"+addr+"/hooks/"+flow, "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = jsonDecode(resp, &m)
	id, _ := m["run_id"].(string)
	if resp.StatusCode != 202 || id == "" {
		t.Errorf("webhook to %s: %d %v", flow, resp.StatusCode, m)
		return ""
	}
	return id
}

// slowAPI is an API on 127.0.0.1 that answers {"ok":true} after 300 ms;
// most is the most calls it served at once.
func slowAPI(t *testing.T) (url string, most *atomic.Int32) {
	var now atomic.Int32
	most = new(atomic.Int32)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(300 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(slow.Close)
	return slow.URL, most
}

// sendHooks posts n webhooks to a flow, 24 at a time, body(i) each, and
// returns their run ids ("" for one that failed: a test error).
func sendHooks(t *testing.T, addr, flow string, n int, body func(i int) string) []string {
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ids[i] = sendHook(t, addr, flow, body(i))
		}()
	}
	wg.Wait()
	return ids
}

// waitSucceeded waits for each run (ids from sendHooks; "" skipped) to
// end and reports any that did not succeed.
func waitSucceeded(t *testing.T, srv *server, tok string, ids []string, within time.Duration) {
	for i, id := range ids {
		if id == "" {
			continue
		}
		if run := waitRun(t, srv, tok, id, within); run["status"] != "succeeded" {
			t.Errorf("run %d: %v %v", i, run["status"], run["error"])
		}
	}
}

// TestBigBodiesStayBounded: on the real binary, with the default 256
// workers, runs whose bodies are big (900 KB) and whose step waits on a
// slow API do not all execute at once: their bodies share 64 MiB, so about
// 35 run side by side, every run completes, and anonymous memory stays under
// 256 MiB.
func TestBigBodiesStayBounded(t *testing.T) {
	slow, most := slowAPI(t)
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	importFlows(t, data, `{"id":"big","name":"Big","trigger":{"type":"webhook"},"steps":[{"id":"call","type":"http","with":{"method":"POST","url":"`+slow+`","body":{"n":"{{ trigger.body.n }}"}}}]}`)
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	defer srv.stop()
	peak := rssWatch(srv.cmd.Process.Pid)

	pad := strings.Repeat("x", 900_000)
	const runs = 120
	ids := sendHooks(t, addr, "big", runs, func(i int) string { return fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pad) })
	waitSucceeded(t, srv, tok, ids, 60*time.Second)
	p := peak()
	if m := most.Load(); m > 40 || m < 2 {
		t.Errorf("%d calls at once to the slow API (want about 35: 64 MiB of 1.8 MB bodies)", m)
	} else {
		t.Logf("%d calls at once; peak anonymous RSS %d MiB over %d runs of 900 KB", m, p>>20, runs)
	}
	if p > 256<<20 || p == 0 {
		t.Errorf("peak anonymous RSS %d MiB (want under 256)", p>>20)
	}
}

// TestBigAnswersStayBounded: runs whose http step reads a large answer (a
// 1 MiB JSON list of objects, half of them without a Content-Length) and then
// waits on a slow API: the answers the executions hold stay within their
// bound (24 MiB), so about 20 runs hold theirs at once, not all 120 (256
// workers; 49 at once and 874 MiB without the bound), and the server's
// memory stays bounded.
func TestBigAnswersStayBounded(t *testing.T) {
	var list strings.Builder
	list.WriteString(`{"items":[`)
	for i := 0; list.Len() < 1<<20; i++ {
		if i > 0 {
			list.WriteByte(',')
		}
		fmt.Fprintf(&list, `{"id":%d,"name":"customer %d","email":"c%d@example.com","paid":true}`, i, i, i)
	}
	list.WriteString(`]}`)
	answer := list.String()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/chunked" { // no Content-Length: the size is known once read
			w.Write([]byte(answer[:len(answer)/2]))
			w.(http.Flusher).Flush()
			w.Write([]byte(answer[len(answer)/2:]))
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(answer)))
		w.Write([]byte(answer))
	}))
	defer big.Close()
	slow, most := slowAPI(t)
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	importFlows(t, data, `{"id":"fetch","name":"Fetch","trigger":{"type":"webhook"},"steps":[
		{"id":"list","type":"http","with":{"url":"`+big.URL+`/{{ trigger.body.kind }}"}},
		{"id":"call","type":"http","with":{"method":"POST","url":"`+slow+`","body":{"customers":"{{ len(steps.list.output.body.items) }}"}}}]}`)
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	defer srv.stop()
	peak := rssWatch(srv.cmd.Process.Pid)

	const runs = 120
	ids := sendHooks(t, addr, "fetch", runs, func(i int) string {
		kind := "length"
		if i%2 == 1 {
			kind = "chunked"
		}
		return fmt.Sprintf(`{"n":%d,"kind":%q}`, i, kind)
	})
	waitSucceeded(t, srv, tok, ids, 90*time.Second)
	p := peak()
	if m := most.Load(); m > 26 || m < 2 {
		t.Errorf("%d runs held their answer at once (want about 20: 24 MiB of 1 MiB answers)", m)
	} else {
		t.Logf("%d runs held their answer at once; peak anonymous RSS %d MiB over %d runs of 1 MiB answers", m, p>>20, runs)
	}
	if p > 256<<20 || p == 0 {
		t.Errorf("peak anonymous RSS %d MiB (want under 256)", p>>20)
	}
}
