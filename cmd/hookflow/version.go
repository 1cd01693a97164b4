package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Set at build time by bench/release.sh:
//
//	-ldflags "-X main.version=v1.2.0 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// Without them (go build, go install …@version) they come from the build
// information Go records: the module version and the VCS revision and time.
var (
	version = ""
	commit  = ""
	date    = ""
)

func init() {
	bi, _ := debug.ReadBuildInfo()
	version, commit, date = stampVersion(version, commit, date, bi)
}

// stampVersion fills what -ldflags left empty from bi (may be nil).
func stampVersion(v, c, d string, bi *debug.BuildInfo) (string, string, string) {
	if bi != nil {
		if mv := bi.Main.Version; v == "" && mv != "" && mv != "(devel)" {
			v = mv
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if c == "" && settings["vcs.revision"] != "" {
			c = settings["vcs.revision"]
			if settings["vcs.modified"] == "true" {
				c += "-dirty"
			}
		}
		if d == "" {
			d = settings["vcs.time"]
		}
	}
	if v == "" {
		v = "0.1.0-dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

// printVersion writes "hookflow <version>" (the first two words, as before)
// and then what it was built from.
func printVersion(w io.Writer) {
	short, dirty := strings.CutSuffix(commit, "-dirty")
	if len(short) > 12 {
		short = short[:12]
	}
	if dirty {
		short += "-dirty"
	}
	fmt.Fprintf(w, "hookflow %s (commit %s, built %s, %s %s/%s)\n",
		version, short, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// cmdHealthcheck GETs /healthz of the server on --addr (or --url) and
// returns 0 when it answers 200, else 1: for container HEALTHCHECKs, where
// the image has no shell or curl. (Docker reserves exit code 2.)
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var s settings
	fs := newFlags("healthcheck", &s)
	target := fs.String("url", "", "URL to GET (default: http://127.0.0.1:<port of --addr>/healthz)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	pos, err := s.parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = usagef("healthcheck takes no arguments, got %q", pos[0])
	}
	if err == nil && *target == "" {
		*target, err = healthURL(s.addr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hookflow healthcheck:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		fmt.Fprintln(stderr, "hookflow healthcheck:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "hookflow healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "hookflow healthcheck: %s answered %d: %s\n", *target, resp.StatusCode, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(body)))
	return 0
}

// healthURL is the /healthz URL of a server listening on addr; an
// unspecified host (":8080", "0.0.0.0:8080", "[::]:8080") means this machine.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", usagef("--addr %q: %v", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
