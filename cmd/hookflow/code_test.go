package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestCodeStepLimits runs code steps on the real binary: an endless loop and
// a 10 GB allocation attempt each fail their own step, naming the limit, in
// at most twice the time limit; with several of them running at once another
// flow keeps answering its webhooks, and the server's resident memory stays
// under 256 MiB.
func TestCodeStepLimits(t *testing.T) {
	data := t.TempDir()
	tok, _, _ := cli(t, data, "", "token", "create", "--name", "t")
	tok = strings.TrimSpace(tok)
	code := func(id, source string) string {
		return fmt.Sprintf(`{"id":%q,"name":%q,"trigger":{"type":"webhook"},"steps":[{"id":"js","type":"code","with":{"source":%q}}]}`, id, id, source)
	}
	importFlows(t, data,
		code("spin", "console.log('spinning');\nwhile (true) {}"),
		code("bomb", "const keep = [];\nfor (let i = 0; i < 10240; i++) keep.push(new Uint8Array(1 << 20)); // 10 GB\nreturn keep.length"),
		code("grow", "const a = [];\nwhile (true) a.push({n: a.length, s: 'x'.repeat(64) + a.length});"),
		code("double", "console.log('n is', trigger.body.n);\nreturn {double: trigger.body.n * 2}"),
		`{"id":"plain","name":"Plain","trigger":{"type":"webhook","with":{"respond":{"mode":"wait"}}},"steps":[{"id":"l","type":"log","with":{"message":"n={{ trigger.body.n }}"}}]}`)

	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	defer srv.stop()
	peak := rssWatch(srv.cmd.Process.Pid)

	post := func(flow, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post("http://"+addr+"/hooks/"+flow, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = jsonDecode(resp, &m)
		return resp.StatusCode, m
	}
	step := func(run map[string]any) map[string]any {
		steps, _ := run["steps"].([]any)
		if len(steps) != 1 {
			t.Fatalf("run has %d steps: %v", len(steps), run)
		}
		return steps[0].(map[string]any)
	}

	// Alone first: each limit is reached within twice its bound.
	for _, tc := range []struct{ flow, status, msg string }{
		{"double", "succeeded", ""},
		{"spin", "failed", "code: code ran longer than its time limit of 1s and was stopped"},
		{"bomb", "failed", "code: code used more than its memory limit of 64 MiB and was stopped"},
	} {
		code, m := post(tc.flow, `{"n":21}`)
		if code != 202 {
			t.Fatalf("%s: %d %v", tc.flow, code, m)
		}
		run := waitRun(t, srv, tok, fmt.Sprint(m["run_id"]), 30*time.Second)
		s := step(run)
		if run["status"] != tc.status || !strings.Contains(fmt.Sprint(s["error"]), tc.msg) {
			t.Errorf("%s: run %v, step error %q, want %s with %q", tc.flow, run["status"], s["error"], tc.status, tc.msg)
		}
		if ms, _ := s["duration_ms"].(float64); ms > 2000 {
			t.Errorf("%s: the step took %.0f ms, want ≤ 2× the 1 s limit", tc.flow, ms)
		} else {
			t.Logf("%s: %s in %.0f ms", tc.flow, run["status"], ms)
		}
		switch tc.flow {
		case "double":
			if fmt.Sprint(s["output"]) != "map[double:42]" || fmt.Sprint(s["logs"]) != "[n is 21]" {
				t.Errorf("double: output %v, logs %v", s["output"], s["logs"])
			}
		case "spin":
			if fmt.Sprint(s["logs"]) != "[spinning]" {
				t.Errorf("spin: logs %v, want the line before the loop", s["logs"])
			}
		}
	}

	// Together: bombs keep the code slots busy while the plain flow answers.
	var wg sync.WaitGroup
	var mu sync.Mutex
	bombs := map[string]string{} // run id → flow
	for i := 0; i < 4; i++ {
		for _, f := range []string{"spin", "bomb", "grow"} {
			wg.Go(func() {
				code, m := post(f, `{}`)
				if code != 202 {
					t.Errorf("%s: %d %v", f, code, m)
					return
				}
				mu.Lock()
				bombs[fmt.Sprint(m["run_id"])] = f
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	for i := 0; i < 10; i++ {
		code, m := post("plain", fmt.Sprintf(`{"n":%d}`, i))
		if code != 200 || m["status"] != "succeeded" {
			t.Errorf("plain webhook %d while code steps run: %d %v", i, code, m)
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("server unhealthy while code steps run: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	want := map[string]string{"spin": "time limit of 1s", "bomb": "memory limit of 64 MiB", "grow": "limit of"}
	for id, f := range bombs {
		run := waitRun(t, srv, tok, id, 60*time.Second)
		if e := fmt.Sprint(step(run)["error"]); run["status"] != "failed" || !strings.Contains(e, want[f]) {
			t.Errorf("%s run: %v %q", f, run["status"], e)
		}
	}
	if p := peak(); p > 256<<20 || p == 0 {
		t.Errorf("peak anonymous RSS %d MiB (want under 256)", p>>20)
	} else {
		t.Logf("peak anonymous RSS %d MiB over %d code-step bombs", p>>20, len(bombs)+2)
	}
}
