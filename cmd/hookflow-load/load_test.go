package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hookflowBin is the real hookflow binary, built once by TestMain.
var hookflowBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookflow-load-bin")
	if err != nil {
		panic(err)
	}
	hookflowBin = filepath.Join(dir, "hookflow")
	out, err := exec.Command("go", "build", "-o", hookflowBin, "../hookflow").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build hookflow: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startHookflow creates a token and starts the real server on a free
// 127.0.0.1 port; it returns the base URL, the token and the process.
func startHookflow(t *testing.T) (string, string, *exec.Cmd) {
	t.Helper()
	data := t.TempDir()
	tokCmd := exec.Command(hookflowBin, "token", "create", "--name", "load")
	tokCmd.Env = append(os.Environ(), "HOOKFLOW_DATA="+data)
	tok, err := tokCmd.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(hookflowBin, "serve", "--addr", addr, "--base-url", "http://"+addr, "--allow-nets", "127.0.0.0/8")
	cmd.Env = append(os.Environ(), "HOOKFLOW_DATA="+data)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + addr, strings.TrimSpace(string(tok)), cmd
}

// TestLoadAgainstRealServer runs the tool for about 2 s against the real
// binary: webhooks are acknowledged, none fails, and every acknowledged one
// reaches the sink through its flow; the record file then verifies.
func TestLoadAgainstRealServer(t *testing.T) {
	base, tok, cmd := startHookflow(t)
	record := filepath.Join(t.TempDir(), "rec.jsonl")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-target", base, "-token", tok, "-c", "8", "-d", "2s",
		"-drain", "30s", "-pid", fmt.Sprint(cmd.Process.Pid), "-record", record, "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if rep.Acked == 0 {
		t.Fatalf("nothing acknowledged: %s", out.String())
	}
	if len(rep.Errors) != 0 || rep.Acked != rep.Sent {
		t.Errorf("errors %v; sent %d, acked %d", rep.Errors, rep.Sent, rep.Acked)
	}
	if rep.Status["202"] == 0 || rep.Status["200"] != 0 {
		t.Errorf("statuses %v: want only 202 (ids are unique)", rep.Status)
	}
	if rep.E2E == nil || rep.E2E.Reached != rep.Acked || rep.E2E.Missing != 0 {
		t.Errorf("end to end: %+v, acked %d", rep.E2E, rep.Acked)
	}
	if rep.RSS == nil || rep.RSS.MaxMB <= 0 {
		t.Fatalf("no RSS samples: %+v", rep.RSS)
	}
	t.Logf("acked %d (%.0f/s), ack p99 %.1f ms, e2e p99 %.1f ms, RSS max %.1f MB",
		rep.Acked, rep.AckedPerSec, rep.AckLatency.P99, rep.E2E.Latency.P99, rep.RSS.MaxMB)

	// Two base URLs of the same server: requests alternate, each is counted.
	out.Reset()
	two := []string{base, strings.Replace(base, "127.0.0.1", "localhost", 1)}
	if code := run(context.Background(), []string{"-target", strings.Join(two, ","), "-token", tok, "-c", "4", "-d", "1s",
		"-drain", "30s", "-json"}, &out, &errOut); code != 0 {
		t.Fatalf("two targets: exit %d: %s", code, errOut.String())
	}
	var rep2 Report
	if err := json.Unmarshal(out.Bytes(), &rep2); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	if a, b := rep2.PerTarget[two[0]], rep2.PerTarget[two[1]]; a == 0 || b == 0 || a+b != rep2.Acked || a-b > 4 || b-a > 4 {
		t.Errorf("two targets: per target %v, acked %d: want both used, alternately", rep2.PerTarget, rep2.Acked)
	}
	if rep2.E2E == nil || rep2.E2E.Reached != rep2.Acked {
		t.Errorf("two targets end to end: %+v, acked %d", rep2.E2E, rep2.Acked)
	}

	out.Reset()
	if code := run(context.Background(), []string{"verify", "-target", base, "-token", tok, "-record", record, "-wait", "30s", "-json"}, &out, &errOut); code != 0 {
		t.Fatalf("verify: exit %d: %s %s", code, out.String(), errOut.String())
	}
	var v VerifyReport
	json.Unmarshal(out.Bytes(), &v)
	if v.Checked != rep.Acked || v.Final != v.Checked || v.Statuses["succeeded"] != v.Checked {
		t.Errorf("verify: %+v, acked %d", v, rep.Acked)
	}
}

// TestRefusesNonLoopback: the tool exits 1 before sending anything anywhere else.
func TestRefusesNonLoopback(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{name: "private target", args: []string{"-target", "http://10.1.2.3:8080", "-baseline"}},
		{name: "second target private", args: []string{"-target", "http://127.0.0.1:1,http://10.1.2.3:8080", "-baseline"}},
		{name: "sink on every interface", args: []string{"-target", "http://127.0.0.1:1", "-token", "x", "-sink-addr", ":0"}},
		{name: "verify elsewhere", args: []string{"verify", "-target", "http://192.0.2.1", "-token", "x", "-record", "r"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "loopback") {
				t.Errorf("exit %d, stderr %q; want 1 and a loopback message", code, errOut.String())
			}
		})
	}
}
