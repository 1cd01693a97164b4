package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// binary is the real hookflow binary, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookflow-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hookflow")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build hookflow: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs the binary with args and stdin; it returns stdout, stderr, exit code.
func cli(t *testing.T, data, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "HOOKFLOW_DATA="+data)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// server is a running hookflow process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, data, addr string, env ...string) *server {
	t.Helper()
	s := startServerNoWait(t, data, addr, env...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			t.Fatalf("server did not become healthy: %v\n%s", err, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = s.cmd.Process.Wait()
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = s.cmd.Process.Wait()
}

func (s *server) api(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestCLI(t *testing.T) {
	data := t.TempDir()
	if out, _, code := cli(t, data, "", "version"); code != 0 || !strings.HasPrefix(out, "hookflow ") {
		t.Errorf("version: %q %d", out, code)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"id":"Bad","name":"x","trigger":{"type":"webhook"},"steps":[{"id":"a","type":"filter","when":"trigger.body.x >"},{"id":"b","type":"http","with":{}}]}`), 0o600)
	out, _, code := cli(t, "/nonexistent", "", "flows", "validate", bad)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 3 {
		t.Fatalf("validate: code %d, output:\n%s", code, out)
	}
	for _, want := range []string{bad + ": id: ", bad + ": steps[0].when: ", bad + ": steps[1].with.url: required"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := cli(t, "/nonexistent", "", "flows", "validate", "../../flows/order-check.json"); code != 0 || out != "ok: 1 flow in 1 file valid\n" {
		t.Errorf("validating the example flow: exit %d, %q", code, out)
	}
	tok, _, code := cli(t, data, "", "token", "create", "--name", "ci", "--role", "editor")
	if code != 0 || !strings.HasPrefix(tok, "hf_") || strings.Count(tok, "\n") != 1 {
		t.Errorf("token create: %q %d", tok, code)
	}
	if _, errOut, code := cli(t, data, "", "token", "create", "--name", "x", "--role", "root"); code != 1 || !strings.Contains(errOut, "role") {
		t.Errorf("bad role: %d %q", code, errOut)
	}
	if _, _, code := cli(t, data, "correct horse battery\n", "user", "create", "--email", "ann@example.com"); code != 0 {
		t.Errorf("user create: %d", code)
	}
	if _, _, code := cli(t, data, "s3cret-value\n", "secrets", "set", "STRIPE_KEY"); code != 0 {
		t.Errorf("secrets set: %d", code)
	}
	if out, _, _ := cli(t, data, "", "secrets", "list"); out != "STRIPE_KEY\n" {
		t.Errorf("secrets list = %q", out)
	}
	if out, _, code := cli(t, data, "", "flows", "import", "../../flows/order-check.json"); code != 0 || !strings.Contains(out, "imported order-check") {
		t.Errorf("import: %q %d", out, code)
	}
	out, _, code = cli(t, data, "", "flows", "export", "order-check")
	if code != 0 || !strings.Contains(out, `"id": "order-check"`) {
		t.Errorf("export: %q %d", out, code)
	}
	db, _ := os.ReadFile(filepath.Join(data, "hookflow.db"))
	if bytes.Contains(db, []byte("s3cret-value")) {
		t.Error("the secret value is stored in clear text")
	}
	if out, errOut, code := cli(t, data, "", "compact"); code != 0 || !strings.Contains(out, "compacted") {
		t.Errorf("compact: %d %q %q", code, out, errOut)
	}
	if out, _, code := cli(t, data, "", "flows", "export"); code != 0 || !strings.Contains(out, "order-check") {
		t.Errorf("export after compact: %d %q", code, out)
	}
	// Setting flags may come before the command word.
	if out, errOut, code := cli(t, "/nonexistent", "", "--data", data, "token", "create", "--name", "early"); code != 0 || !strings.HasPrefix(out, "hf_") {
		t.Errorf("flags before the command: %d %q %q", code, out, errOut)
	}
	badEnv := exec.Command(binary, "token", "create", "--name", "x")
	badEnv.Env = append(os.Environ(), "HOOKFLOW_DATA="+data, "HOOKFLOW_WORKERS=lots")
	if out, err := badEnv.CombinedOutput(); err == nil || badEnv.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "HOOKFLOW_WORKERS") {
		t.Errorf("a bad environment value: %v %q", err, out)
	}
	if _, errOut, code := cli(t, data, "", "frobnicate"); code != 1 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
}

// TestDataDirInUse: a second process fails within 2 s saying the database is
// in use; backup still works through the running server.
func TestDataDirInUse(t *testing.T) {
	data := t.TempDir()
	srv := startServer(t, data, freeAddr(t))
	defer srv.stop()
	start := time.Now()
	_, errOut, code := cli(t, data, "", "token", "create", "--name", "x")
	if code != 2 || !strings.Contains(errOut, "in use") || !strings.Contains(errOut, "stop the server, or use the UI / API") {
		t.Errorf("second process: exit %d, %q", code, errOut)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("second process took %s to give up", d)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if out, errOut, code := cli(t, data, "", "backup", backup); code != 0 {
		t.Fatalf("backup while running: %d %s %s", code, out, errOut)
	}
	// The copy is a database another server can start on.
	restored := t.TempDir()
	b, _ := os.ReadFile(backup)
	os.WriteFile(filepath.Join(restored, "hookflow.db"), b, 0o600)
	k, _ := os.ReadFile(filepath.Join(data, "secret.key"))
	os.WriteFile(filepath.Join(restored, "secret.key"), k, 0o600)
	if _, errOut, code := cli(t, restored, "", "flows", "export"); code != 0 {
		t.Errorf("restored copy does not open: %s", errOut)
	}
}

// TestCrashUnderLoad posts webhooks from concurrent clients, SIGKILLs the
// server in the middle, restarts it on the same data dir, and checks that
// every webhook that got a 2xx has its run and that every run finishes.
func TestCrashUnderLoad(t *testing.T) {
	var sinkHits atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sinkHits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	defer sink.Close()

	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	flow := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(flow, []byte(`{"id":"crash","name":"Crash test","trigger":{"type":"webhook"},"steps":[
		{"id":"big","type":"filter","when":"trigger.body.n >= 0"},
		{"id":"s","type":"set","with":{"vars":{"n":"{{ trigger.body.n }}"}}},
		{"id":"post","type":"http","with":{"method":"POST","url":"`+sink.URL+`","body":{"n":"{{ vars.n }}"}},"retry":{"attempts":5,"backoff":"50ms"}}]}`), 0o600)
	if out, errOut, code := cli(t, data, "", "flows", "import", flow); code != 0 {
		t.Fatalf("import: %s %s", out, errOut)
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)

	var mu sync.Mutex
	acked := map[string]bool{} // run ids answered 2xx
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 2 * time.Second}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 5000; i++ {
				body := fmt.Sprintf(`{"n":%d}`, w*10000+i)
				resp, err := client.Post("http://"+addr+"/hooks/crash", "application/json", strings.NewReader(body))
				if err != nil {
					continue // the server is down: not acknowledged
				}
				var out struct {
					RunID string `json:"run_id"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == 202 && out.RunID != "" {
					mu.Lock()
					acked[out.RunID] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(700 * time.Millisecond)
	srv.kill()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatalf("no webhook was acknowledged before the kill:\n%s", srv.logs)
	}
	t.Logf("%d webhooks acknowledged before SIGKILL; sink called %d times", n, sinkHits.Load())

	srv = startServer(t, data, addr)
	defer srv.stop()
	deadline := time.Now().Add(60 * time.Second)
	for id := range acked {
		for {
			code, run := srv.api("GET", "/api/v1/runs/"+id, tok, nil)
			if code != 200 {
				t.Fatalf("acknowledged run %s lost after the crash: %d %v", id, code, run)
			}
			if run["status"] == "succeeded" {
				break
			}
			if run["status"] == "failed" || run["status"] == "canceled" || time.Now().After(deadline) {
				t.Fatalf("run %s did not succeed: %v", id, run)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if hits := sinkHits.Load(); hits < int64(n) {
		t.Errorf("sink called %d times for %d acknowledged runs", hits, n)
	}
}

// exited waits (bounded) for a server that is expected to kill itself.
func (s *server) exited(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.kill()
		t.Fatalf("the server did not crash at its fault point:\n%s", s.logs)
	}
}

// sinkServer records every call: body, idempotency key and time.
type sinkServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []sinkCall
	fail  int // answer 500 to this many calls first
}

type sinkCall struct {
	key string
	at  time.Time
}

func newSink(t *testing.T, fail int) *sinkServer {
	s := &sinkServer{fail: fail}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, sinkCall{key: r.Header.Get("Idempotency-Key"), at: time.Now()})
		n := len(s.calls)
		s.mu.Unlock()
		if n <= s.fail {
			w.WriteHeader(500)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sinkServer) got() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkCall(nil), s.calls...)
}

// TestFaultPoints kills the real binary at each named point of the write
// path and restarts it: no stored run is lost, no finished step runs again,
// an interrupted step runs again with the same idempotency key, and a delay
// or backoff fires once, not early.
func TestFaultPoints(t *testing.T) {
	cases := []struct {
		point string
		steps string
		fail  int
		check func(t *testing.T, run map[string]any, calls []sinkCall, posted time.Time)
	}{
		{point: "webhook.after_commit", steps: `[{"id":"post","type":"http","with":{"method":"POST","url":"SINK","idempotency":true}}]`,
			check: func(t *testing.T, run map[string]any, calls []sinkCall, _ time.Time) {
				if len(calls) != 1 {
					t.Errorf("sink called %d times, want 1", len(calls))
				}
			}},
		{point: "step.after_side_effect", steps: `[{"id":"post","type":"http","with":{"method":"POST","url":"SINK","idempotency":true}},{"id":"after","type":"log","with":{"message":"x"}}]`,
			check: func(t *testing.T, run map[string]any, calls []sinkCall, _ time.Time) {
				if len(calls) != 2 || calls[0].key == "" || calls[0].key != calls[1].key {
					t.Errorf("want the interrupted step re-run once with the same Idempotency-Key, got %+v", calls)
				}
				if !strings.HasSuffix(calls[0].key, ":post") {
					t.Errorf("idempotency key %q", calls[0].key)
				}
			}},
		{point: "run.waiting_delay", steps: `[{"id":"first","type":"http","with":{"method":"POST","url":"SINK","idempotency":true}},{"id":"wait","type":"delay","with":{"for":"2s"}},{"id":"post","type":"http","with":{"method":"POST","url":"SINK","idempotency":true}}]`,
			check: func(t *testing.T, run map[string]any, calls []sinkCall, posted time.Time) {
				if len(calls) != 2 || calls[0].key == calls[1].key {
					t.Fatalf("want the step before the delay once and the one after once: %+v", calls)
				}
				if d := calls[1].at.Sub(posted); d < 2*time.Second {
					t.Errorf("the delay fired early: %s after the webhook", d)
				}
			}},
		{point: "run.waiting_retry", fail: 1, steps: `[{"id":"post","type":"http","with":{"method":"POST","url":"SINK","idempotency":true},"retry":{"attempts":3,"backoff":"1s"}}]`,
			check: func(t *testing.T, run map[string]any, calls []sinkCall, _ time.Time) {
				steps := run["steps"].([]any)
				if len(calls) != 2 || steps[0].(map[string]any)["attempts"] != 2.0 {
					t.Errorf("want 2 attempts after the restart: calls %+v, step %v", calls, steps[0])
				}
				if len(calls) == 2 && calls[1].at.Sub(calls[0].at) < 700*time.Millisecond {
					t.Errorf("backoff cut short: %s", calls[1].at.Sub(calls[0].at))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.point, func(t *testing.T) {
			sink := newSink(t, tc.fail)
			data := t.TempDir()
			tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
			tok = strings.TrimSpace(tok)
			flow := filepath.Join(t.TempDir(), "f.json")
			os.WriteFile(flow, []byte(`{"id":"fault","name":"Fault","trigger":{"type":"webhook"},"steps":`+strings.ReplaceAll(tc.steps, "SINK", sink.URL)+`}`), 0o600)
			if out, errOut, code := cli(t, data, "", "flows", "import", flow); code != 0 {
				t.Fatalf("import: %s %s", out, errOut)
			}
			addr := freeAddr(t)
			srv := startServer(t, data, addr, "HOOKFLOW_FAULT="+tc.point)
			posted := time.Now()
			resp, err := http.Post("http://"+addr+"/hooks/fault", "application/json", strings.NewReader(`{"n":1}`))
			if err == nil {
				resp.Body.Close()
			}
			srv.exited(t)

			srv = startServer(t, data, addr)
			defer srv.stop()
			deadline := time.Now().Add(20 * time.Second)
			for {
				code, out := srv.api("GET", "/api/v1/runs?flow=fault", tok, nil)
				runs, _ := out["runs"].([]any)
				if code != 200 || len(runs) != 1 {
					t.Fatalf("want exactly 1 run after the crash, got %d (%d %v)", len(runs), code, out)
				}
				run := runs[0].(map[string]any)
				if run["status"] == "succeeded" {
					_, full := srv.api("GET", "/api/v1/runs/"+run["id"].(string), tok, nil)
					tc.check(t, full, sink.got(), posted)
					return
				}
				if run["status"] == "failed" || time.Now().After(deadline) {
					t.Fatalf("run did not succeed: %v", run)
				}
				time.Sleep(25 * time.Millisecond)
			}
		})
	}
}

// TestDedupeAcrossRestart: a provider's retry after a restart is still a duplicate.
func TestDedupeAcrossRestart(t *testing.T) {
	data := t.TempDir()
	flow := filepath.Join(t.TempDir(), "f.json")
	os.WriteFile(flow, []byte(`{"id":"d","name":"D","trigger":{"type":"webhook","with":{"dedupe":"trigger.headers['x-event-id']"}},"steps":[]}`), 0o600)
	if out, errOut, code := cli(t, data, "", "flows", "import", flow); code != 0 {
		t.Fatalf("import: %s %s", out, errOut)
	}
	post := func(addr string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/hooks/d", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Event-Id", "evt_42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	code, first := post(addr)
	srv.kill()
	if code != 202 {
		t.Fatalf("first delivery: %d %v", code, first)
	}
	srv = startServer(t, data, addr)
	defer srv.stop()
	code, again := post(addr)
	if code != 200 || again["duplicate"] != true || again["run_id"] != first["run_id"] {
		t.Errorf("redelivery after a restart: %d %v, want 200 duplicate of %v", code, again, first["run_id"])
	}
}

// TestRefusesMismatchedDatabase: a database that does not belong with the
// data dir's key — emptied or missing beside the key file, truncated, or
// made with another key — makes every command that opens the data dir exit 2
// with a sentence saying so, without starting a server (no /setup open to the
// first visitor) and without touching the file; a new data dir still starts.
func TestRefusesMismatchedDatabase(t *testing.T) {
	// A real installation: key file, sealed data key, a user and a secret.
	orig := t.TempDir()
	if _, errOut, code := cli(t, orig, "correct horse battery\n", "user", "create", "--email", "ann@example.com"); code != 0 {
		t.Fatalf("user create: %s", errOut)
	}
	if _, errOut, code := cli(t, orig, "s3cret\n", "secrets", "set", "API_KEY"); code != 0 {
		t.Fatalf("secrets set: %s", errOut)
	}
	db, err := os.ReadFile(filepath.Join(orig, "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(orig, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	// Another data dir, with its own key.
	other := t.TempDir()
	if _, errOut, code := cli(t, other, "x\n", "secrets", "set", "OTHER"); code != 0 {
		t.Fatalf("secrets set in another data dir: %s", errOut)
	}
	otherKey, _ := os.ReadFile(filepath.Join(other, "secret.key"))

	cases := []struct {
		name    string
		db      []byte // nil: no database file
		key     []byte
		message string
	}{
		{name: "empty database beside the key file", db: []byte{}, key: key,
			message: "hookflow.db is empty (0 bytes), but the key file secret.key beside it shows a database was created in this data dir"},
		{name: "database missing beside the key file", db: nil, key: key,
			message: "hookflow.db does not exist, but the key file secret.key beside it shows a database was created in this data dir"},
		{name: "truncated database", db: db[:3*os.Getpagesize()], key: key,
			message: "the file was truncated (restore it from a backup)"},
		{name: "database of another data dir", db: db, key: otherKey,
			message: "the secret key does not match the one this data dir was created with"},
		{name: "key file missing beside the database", db: db, key: nil,
			message: "holds data sealed with a secret key, but " + "%DATA%/secret.key is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			dbPath := filepath.Join(data, "hookflow.db")
			if tc.db != nil {
				if err := os.WriteFile(dbPath, tc.db, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.key != nil {
				if err := os.WriteFile(filepath.Join(data, "secret.key"), tc.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			message := strings.ReplaceAll(tc.message, "%DATA%", data)
			addr := freeAddr(t)
			for _, args := range [][]string{
				{"serve", "--addr", addr},
				{"token", "create", "--name", "x"},
				{"flows", "export"},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				cmd := exec.CommandContext(ctx, binary, args...)
				cmd.Env = append(os.Environ(), "HOOKFLOW_DATA="+data)
				out, _ := cmd.CombinedOutput()
				cancel()
				if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), message) {
					t.Errorf("%s: exit %d, want 2 and %q in:\n%s", args[0], code, message, out)
				}
			}
			if _, err := os.Stat(filepath.Join(data, "secret.key")); tc.key == nil && err == nil {
				t.Error("a refused command created a key file")
			}
			if resp, err := http.Get("http://" + addr + "/setup"); err == nil {
				resp.Body.Close()
				t.Errorf("something answers /setup on %s: %d", addr, resp.StatusCode)
			}
			fi, err := os.Stat(dbPath)
			switch {
			case tc.db == nil && err == nil:
				t.Errorf("a refused command created a %d-byte database", fi.Size())
			case tc.db != nil && (err != nil || fi.Size() != int64(len(tc.db))):
				t.Errorf("a refused command changed the database: %v", err)
			}
		})
	}

	// A new data dir still starts, with /setup open for the first admin.
	t.Run("fresh data dir", func(t *testing.T) {
		data := t.TempDir()
		srv := startServer(t, data, freeAddr(t))
		defer srv.stop()
		resp, err := http.Get("http://" + srv.addr + "/setup")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /setup on a new data dir: %d", resp.StatusCode)
		}
		// The restored pair (database and its own key) starts too.
		restored := t.TempDir()
		os.WriteFile(filepath.Join(restored, "hookflow.db"), db, 0o600)
		os.WriteFile(filepath.Join(restored, "secret.key"), key, 0o600)
		if out, errOut, code := cli(t, restored, "", "secrets", "list"); code != 0 || out != "API_KEY\n" {
			t.Errorf("database with its own key: %d %q %q", code, out, errOut)
		}
	})
}
