// Command hookflow-load drives a running Hookflow server on this machine with
// signed Stripe-like webhooks and HTML form posts, at a fixed rate or a fixed
// number of clients, and reports acknowledged webhooks/s, ack and end-to-end
// latency, completed runs/s, errors and the server's memory.
//
// It only ever loads loopback addresses, and always stops by itself.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Bounds: every run stops by itself.
const (
	maxDuration = 15 * time.Minute
	maxWebhooks = 10_000_000
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `Usage:
  hookflow-load [flags]          send load and report
  hookflow-load verify [flags]   check a -record file against the server (crash test)

Load (only 127.0.0.1 / loopback targets):
  hookflow-load -target http://127.0.0.1:8080 -token hf_… -c 64 -d 10s
  hookflow-load -target http://127.0.0.1:8080 -token hf_… -rate 2000 -d 10s -pid 1234
  hookflow-load -target http://127.0.0.1:8080,http://127.0.0.1:8081 -token hf_… -c 64 -d 10s   (several nodes)
  hookflow-load -target http://127.0.0.1:9000 -baseline -c 64 -d 10s   (bench/baseline)

Flags:
`

// run is the whole program; it returns the exit code: 0 ok, 1 usage, 2 failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var err error
	if len(args) > 0 && args[0] == "verify" {
		err = cmdVerify(ctx, args[1:], stdout)
	} else {
		err = cmdLoad(ctx, args, stdout)
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "hookflow-load:", err)
		return 1
	}
	fmt.Fprintln(stderr, "hookflow-load:", err)
	return 2
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// loadFlags are cmdLoad's flags.
type loadFlags struct {
	cfg      loadConfig
	token    string
	setup    bool
	baseline bool
	e2e      bool
	drain    time.Duration
	sinkAddr string
	pid      int
	rssEvery time.Duration
	json     bool
	out      string
	record   string
}

func parseLoadFlags(args []string) (*loadFlags, error) {
	f := &loadFlags{}
	fs := flag.NewFlagSet("hookflow-load", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	fs.StringVar(&f.cfg.Target, "target", "http://127.0.0.1:8080", "server base URL (loopback only); several, comma-separated, get requests round robin (setup goes to the first)")
	fs.Float64Var(&f.cfg.Rate, "rate", 0, "webhooks per second, open loop (0: closed loop with -c clients)")
	fs.IntVar(&f.cfg.Concurrency, "c", 16, "concurrent clients (when -rate is 0)")
	fs.DurationVar(&f.cfg.Duration, "d", 10*time.Second, "how long to send (at most 15m)")
	fs.Int64Var(&f.cfg.Max, "n", 0, "send at most this many webhooks (0: no limit but the duration; hard cap 10,000,000)")
	fs.Float64Var(&f.cfg.FormShare, "form", 0.2, "share of HTML form posts (0..1); the rest are Stripe events")
	fs.StringVar(&f.cfg.Secret, "secret", "whsec_hookflow_load_test", "Stripe signing secret")
	fs.DurationVar(&f.cfg.Timeout, "timeout", 10*time.Second, "per request timeout")
	fs.IntVar(&f.cfg.MaxInflight, "max-inflight", 4096, "rate mode: requests in flight before sends are counted as 'saturated'")
	fs.StringVar(&f.cfg.Prefix, "prefix", "", "event id prefix (default: random)")
	fs.StringVar(&f.token, "token", os.Getenv("HOOKFLOW_TOKEN"), "API token for -setup (env HOOKFLOW_TOKEN)")
	fs.BoolVar(&f.setup, "setup", true, "store the secret and create or replace the load flows through the API")
	fs.BoolVar(&f.baseline, "baseline", false, "target is bench/baseline: no setup, no sink, Stripe events only unless -form is set")
	fs.BoolVar(&f.e2e, "e2e", true, "measure end-to-end latency through the sink and wait for the runs")
	fs.DurationVar(&f.drain, "drain", 60*time.Second, "after the load, wait at most this long for runs to reach the sink")
	fs.StringVar(&f.sinkAddr, "sink-addr", "127.0.0.1:0", "sink listen address (loopback only)")
	fs.IntVar(&f.pid, "pid", 0, "server pid whose RSS to sample (/proc/PID/status)")
	fs.DurationVar(&f.rssEvery, "rss-every", 500*time.Millisecond, "RSS sampling interval")
	fs.BoolVar(&f.json, "json", false, "print one JSON object instead of a table")
	fs.StringVar(&f.out, "out", "", "also write the JSON report to this file")
	fs.StringVar(&f.record, "record", "", "write every webhook and its answer to this file (JSON lines) for verify")
	formSet := false
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(&help)
			fs.PrintDefaults()
			return nil, usagef("%s%s", usage, help.String())
		}
		return nil, usagef("%v", err)
	}
	fs.Visit(func(fl *flag.Flag) { formSet = formSet || fl.Name == "form" })
	switch {
	case fs.NArg() > 0:
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	case f.cfg.Duration <= 0 || f.cfg.Duration > maxDuration:
		return nil, usagef("-d must be above 0 and at most %s", maxDuration)
	case f.cfg.Rate < 0 || f.cfg.Rate > 1_000_000:
		return nil, usagef("-rate must be from 0 to 1000000")
	case f.cfg.Rate == 0 && (f.cfg.Concurrency < 1 || f.cfg.Concurrency > 10_000):
		return nil, usagef("-c must be from 1 to 10000")
	case f.cfg.FormShare < 0 || f.cfg.FormShare > 1:
		return nil, usagef("-form must be from 0 to 1")
	case f.cfg.Max < 0 || f.cfg.Max > maxWebhooks:
		return nil, usagef("-n must be from 0 to %d", maxWebhooks)
	case f.cfg.MaxInflight < 1:
		return nil, usagef("-max-inflight must be at least 1")
	}
	if f.cfg.Max == 0 {
		f.cfg.Max = maxWebhooks
	}
	targets, err := parseTargets(f.cfg.Target)
	if err != nil {
		return nil, usagef("-target: %v", err)
	}
	f.cfg.Targets = targets
	f.cfg.Target = strings.Join(targets, ",")
	if f.baseline {
		f.setup, f.e2e = false, false
		if !formSet {
			f.cfg.FormShare = 0
		}
	}
	if f.setup && f.token == "" {
		return nil, usagef("-setup needs -token (or HOOKFLOW_TOKEN); use -setup=false when the flows exist")
	}
	if f.cfg.Prefix == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		f.cfg.Prefix = hex.EncodeToString(b)
	}
	return f, nil
}

// parseTargets splits -target's comma-separated base URLs, trimming spaces
// and trailing slashes; an empty item or a URL given twice is an error.
func parseTargets(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		t := strings.TrimRight(strings.TrimSpace(part), "/")
		switch {
		case t == "":
			return nil, fmt.Errorf("item %d of %q is empty", i+1, s)
		case seen[t]:
			return nil, fmt.Errorf("%q is given twice", t)
		}
		seen[t] = true
		out = append(out, t)
	}
	return out, nil
}

// cmdLoad sends the load and prints the report.
func cmdLoad(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseLoadFlags(args)
	if err != nil {
		return err
	}
	lookup := net.DefaultResolver.LookupIPAddr
	for _, t := range f.cfg.Targets {
		if err := checkLoopbackURL(ctx, t, lookup); err != nil {
			return usagef("%v", err)
		}
	}
	var tr *tracker
	if f.e2e {
		if err := checkLoopbackAddr(ctx, f.sinkAddr, lookup); err != nil {
			return usagef("-sink-addr: %v", err)
		}
		tr = newTracker()
		sink, err := startSink(f.sinkAddr, tr)
		if err != nil {
			return fmt.Errorf("start sink: %w", err)
		}
		defer sink.Close()
		f.sinkAddr = sink.Addr()
	}
	if f.setup {
		if err := newAPI(f.cfg.Targets[0], f.token).setup(ctx, f.cfg.Secret, f.sinkAddr); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	var rec *recorder
	if f.record != "" {
		if rec, err = newRecorder(f.record); err != nil {
			return fmt.Errorf("record file: %w", err)
		}
	}
	start := time.Now()
	var rss *rssSampler
	if f.pid > 0 {
		if _, err := readRSS(f.pid); err != nil {
			return usagef("-pid %d: %v", f.pid, err)
		}
		rss = startRSS(ctx, f.pid, f.rssEvery, start)
	}
	cpu0 := cpuTime()

	res := newLoader(f.cfg, tr, rec).run(ctx)
	if rec != nil {
		if err := rec.Close(); err != nil {
			return fmt.Errorf("record file: %w", err)
		}
	}
	if tr != nil {
		waitDrain(ctx, tr, f.drain)
	}
	rep := buildReport(f.cfg, res, tr)
	if rss != nil {
		rep.RSS = newRSS(f.pid, rss.Stop())
	}
	rep.ToolCPUS = round3((cpuTime() - cpu0).Seconds())
	if f.out != "" {
		b, _ := json.Marshal(rep)
		if err := os.WriteFile(f.out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	rep.writeTable(stdout)
	return nil
}

// waitDrain waits until every acknowledged webhook reached the sink, at most d.
func waitDrain(ctx context.Context, tr *tracker, d time.Duration) {
	deadline := time.Now().Add(d)
	for tr.pending() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime is the user and system CPU time this process used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cmdVerify checks a record file against the (restarted) server.
func cmdVerify(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("hookflow-load verify", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	target := fs.String("target", "http://127.0.0.1:8080", "server base URL (loopback only)")
	token := fs.String("token", os.Getenv("HOOKFLOW_TOKEN"), "API token (env HOOKFLOW_TOKEN)")
	path := fs.String("record", "", "record file written by -record")
	secret := fs.String("secret", "whsec_hookflow_load_test", "Stripe signing secret, to send unacknowledged webhooks again")
	resend := fs.Bool("resend", true, "send unacknowledged webhooks again first, as a provider would")
	wait := fs.Duration("wait", 60*time.Second, "how long runs may take to reach a final status (at most 15m)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	sinkAddr := fs.String("sink-addr", "", "serve a sink here while verifying, for runs that resume after a restart (the load's -sink-addr)")
	if err := fs.Parse(args); err != nil {
		return usagef("verify: %v%s", err, help.String())
	}
	switch {
	case *path == "" || *token == "":
		return usagef("verify needs -record and -token")
	case *wait <= 0 || *wait > maxDuration:
		return usagef("-wait must be above 0 and at most %s", maxDuration)
	}
	*target = strings.TrimRight(*target, "/")
	if err := checkLoopbackURL(ctx, *target, net.DefaultResolver.LookupIPAddr); err != nil {
		return usagef("%v", err)
	}
	if *sinkAddr != "" {
		if err := checkLoopbackAddr(ctx, *sinkAddr, net.DefaultResolver.LookupIPAddr); err != nil {
			return usagef("-sink-addr: %v", err)
		}
		sink, err := startSink(*sinkAddr, newTracker())
		if err != nil {
			return fmt.Errorf("start sink: %w", err)
		}
		defer sink.Close()
	}
	fr, err := os.Open(*path)
	if err != nil {
		return err
	}
	recs, err := readRecords(fr)
	fr.Close()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *wait+5*time.Minute)
	defer cancel()
	v, err := verify(ctx, newAPI(*target, *token), *target, *secret, recs, *resend, *wait)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "records %d, acked %d, resent %d (new %d, duplicate %d); checked %d: final %d %v, missing %d, digest mismatch %d, not exactly one run %d, not final %d\n",
			v.Records, v.Acked, v.Resent, v.ResentNew, v.ResentDup, v.Checked, v.Final, v.Statuses, v.Missing, v.DigestMismatch, v.NotExactlyOne, v.NotFinal)
		for _, p := range v.Problems {
			fmt.Fprintln(stdout, "  ", p)
		}
	}
	if !v.OK {
		return fmt.Errorf("verify failed")
	}
	return nil
}
