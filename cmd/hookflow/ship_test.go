package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine/boltstore"
)

func TestStampVersion(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abcdef0123456789"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}}}
	dirty := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abcdef"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name         string
		v, c, d      string
		bi           *debug.BuildInfo
		wantV, wantC string
		wantD        string
	}{
		{name: "ldflags win", v: "v2.0.0", c: "1111", d: "2026-12-04T00:00:00Z", bi: vcs,
			wantV: "v2.0.0", wantC: "1111", wantD: "2026-12-04T00:00:00Z"},
		{name: "go install @version", bi: vcs, wantV: "v1.4.0", wantC: "abcdef0123456789", wantD: "2026-12-01T10:00:00Z"},
		{name: "go build in a modified checkout", bi: dirty, wantV: "0.1.0-dev", wantC: "abcdef-dirty", wantD: "unknown"},
		{name: "no build info", wantV: "0.1.0-dev", wantC: "unknown", wantD: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, c, d := stampVersion(tc.v, tc.c, tc.d, tc.bi)
			if v != tc.wantV || c != tc.wantC || d != tc.wantD {
				t.Errorf("got %q %q %q, want %q %q %q", v, c, d, tc.wantV, tc.wantC, tc.wantD)
			}
		})
	}
}

func TestVersionAndHealthcheck(t *testing.T) {
	data := t.TempDir()
	out, _, code := cli(t, data, "", "version")
	if code != 0 || !regexp.MustCompile(`^hookflow \S+ \(commit \S+, built \S+, go\S+ \w+/\w+\)\n$`).MatchString(out) {
		t.Fatalf("version: %d %q", code, out)
	}

	addr := freeAddr(t)
	srv := startServer(t, data, addr)
	defer srv.stop()
	_, port, _ := strings.Cut(addr, ":")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout (0) or stderr (1)
	}{
		{name: "--addr of the running server", args: []string{"--addr", ":" + port}, wantOut: `"status":"ok"`},
		{name: "--url", args: []string{"--url", "http://" + addr + "/healthz"}, wantOut: `"status":"ok"`},
		{name: "nothing listening", args: []string{"--addr", freeAddr(t)}, wantCode: 1, wantOut: "connection refused"},
		{name: "not healthz", args: []string{"--url", "http://" + addr + "/nope"}, wantCode: 1, wantOut: "answered 404"},
		{name: "bad addr", args: []string{"--addr", "8080"}, wantCode: 1, wantOut: `--addr "8080": address 8080: missing port`},
		{name: "stray argument", args: []string{"now"}, wantCode: 1, wantOut: `healthcheck takes no arguments, got "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := cli(t, data, "", append([]string{"healthcheck"}, tc.args...)...)
			got := out
			if tc.wantCode != 0 {
				got = errOut
			}
			if code != tc.wantCode || !strings.Contains(got, tc.wantOut) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tc.wantCode, tc.wantOut)
			}
		})
	}
}

// TestUpgradeDataDir runs the binary on a data dir written by the release
// before data formats were versioned, then on one from a newer hookflow.
func TestUpgradeDataDir(t *testing.T) {
	data := t.TempDir()
	db, err := os.ReadFile(filepath.Join("..", "..", "engine", "boltstore", "testdata", "format-v1", "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "hookflow.db"), db, 0o600); err != nil {
		t.Fatal(err)
	}
	key := "--secret-key=fixture-test-key-not-secret"
	out, errOut, code := cli(t, data, "", "secrets", "list", key)
	if code != 0 || strings.TrimSpace(out) != "FIXTURE_SECRET" {
		t.Fatalf("secrets list: %d %q %q", code, out, errOut)
	}
	if baks, _ := filepath.Glob(filepath.Join(data, "hookflow.db.bak-v1-*")); len(baks) != 1 {
		t.Errorf("backups after the upgrade: %v", baks)
	}
	out, errOut, code = cli(t, data, "", "flows", "export", "order-check", key)
	if code != 0 || !strings.Contains(out, `"id": "order-check"`) {
		t.Fatalf("flows export: %d %q %q", code, out, errOut)
	}

	st, err := boltstore.Open(filepath.Join(data, "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutMeta(context.Background(), "format_version", []byte("99")); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, errOut, code = cli(t, data, "", "flows", "export", key)
	want := "its data format is 99, this hookflow understands up to " + strconv.Itoa(boltstore.FormatVersion)
	if code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("newer data dir: exit %d, stderr %q; want exit 2 and %q", code, errOut, want)
	}
}
