package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/hookflow/hookflow/actions"
	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/alerts"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/netguard"
	"github.com/hookflow/hookflow/triggers"
	"github.com/hookflow/hookflow/ui"
)

// newRegistry lists every trigger and action kind.
func newRegistry() *engine.Registry {
	r := engine.NewRegistry()
	triggers.Register(r)
	actions.Register(r)
	return r
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var s settings
	fs := newFlags("serve", &s)
	pos, err := s.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unknown command %q\n\n%s", pos[0], usage)
	}
	logger := log.New(stderr, "", log.LstdFlags)
	tuneGC()
	allow, err := netguard.ParseAllowList(s.allowNets)
	if err != nil {
		return usagef("--allow-nets: %v", err)
	}
	proxies, err := netguard.ParseAllowList(s.trustedProxies)
	if err != nil {
		return usagef("--trusted-proxies: %v", err)
	}
	metrics := ui.NewMetrics()
	st, err := s.openStore(metrics)
	if err != nil {
		return err
	}
	defer st.Close()
	vault, err := s.openVault(ctx, st)
	if err != nil {
		return err
	}
	guard := netguard.New(allow)
	fault := faultFromEnv(logger)
	reg := newRegistry()
	actions.LoadImportedApps(ctx, reg, st, logger.Printf)
	var eng *engine.Engine
	alerter := alerts.New(alerts.Config{Store: st, Registry: reg, BaseURL: s.baseURL, HTTP: guard.HTTPClient(), Dial: guard.DialContext, Logf: logger.Printf,
		Secrets: func() map[string]any { return eng.SecretValues() }, Redact: func(m string) string { return eng.Redact(m) },
		FlowNames: func() map[string]string { return eng.FlowNames() }})
	eng = engine.New(engine.Config{
		Store: st, Registry: reg, Secrets: vault, Observer: alerts.Observer{Observer: metrics, Alerts: alerter},
		HTTP: guard.HTTPClient(), Dial: guard.DialContext, Logf: logger.Printf, Workers: s.workers,
		Retention: engine.Retention{MaxAge: engine.Duration(s.retainAge), MaxRuns: s.retainRuns}, Fault: fault,
		BaseURL: s.baseURL,
		// Several nodes: an app imported or deleted on another node (or
		// anything missed while the listener was away) is read again.
		// On a resync the engine re-reads every flow right after this.
		OnNotice: func(ctx context.Context, n engine.Notice) {
			switch n.Kind {
			case engine.NoticeApps:
				actions.SyncImportedApps(ctx, reg, st, logger.Printf)
				eng.ReloadFlows(ctx)
			case engine.NoticeResync:
				actions.SyncImportedApps(ctx, reg, st, logger.Printf)
			}
		},
	})
	if err := eng.Start(ctx); err != nil {
		return err
	}
	go alerter.Run(ctx)
	srv := ui.New(ui.Deps{Engine: eng, Secrets: vault, BaseURL: s.baseURL, Metrics: metrics, MaxBody: s.maxBody, Fault: fault, MetricsToken: s.metricsTok, Version: version, Logf: logger.Printf, Alerts: alerter,
		TrustedProxies: proxies})
	srv.NetCheck = guard.Check // the editor warns of URLs the guard refuses

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		eng.Close(time.Second)
		return fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	var ctl *http.Server
	if bst, ok := st.(*boltstore.Store); ok { // PostgreSQL is backed up with pg_dump
		ctl, err = serveControl(bst, filepath.Join(s.data, "hookflow.sock"), logger)
	}
	if err != nil {
		logger.Printf("control socket unavailable (hot backup through the CLI will not work): %v", err)
	}
	if addr := os.Getenv("HOOKFLOW_PPROF"); addr != "" {
		go servePprof(addr, logger)
	}
	fmt.Fprintf(stdout, "hookflow %s listening on %s — open %s (data in %s)\n", version, ln.Addr(), s.baseURL, s.data)
	errc := make(chan error, 1)
	go func() { errc <- srv.App().Listener(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
		logger.Printf("server stopped: %v", err)
	}
	logger.Printf("shutting down: no new requests; running steps get up to 9s to finish")
	// The server and the engine stop side by side within one deadline, so
	// that the whole stop takes under 10 s whatever steps are doing.
	const grace = 9 * time.Second
	httpDone := make(chan struct{})
	go func() { _ = srv.Shutdown(grace); close(httpDone) }()
	eng.Close(grace)
	select {
	case <-httpDone:
	case <-time.After(500 * time.Millisecond):
	}
	if ctl != nil {
		ctl.Close()
	}
	return err
}

// serveControl answers the local CLI on a unix socket in the data dir (mode
// 0600): `hookflow backup` streams a hot, consistent copy through it while the
// server holds the database lock.
func serveControl(st *boltstore.Store, path string, logger *log.Logger) (*http.Server, error) {
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := st.Backup(r.Context(), w); err != nil {
			logger.Printf("backup: %v", err)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Printf("control socket: %v", err)
		}
	}()
	return srv, nil
}

// faultFromEnv returns the crash-test hook: with HOOKFLOW_FAULT=point the
// process kills itself (SIGKILL, no cleanup) the first time it reaches that
// point of the write path. Unset in normal use.
func faultFromEnv(logger *log.Logger) func(string) {
	want := os.Getenv("HOOKFLOW_FAULT")
	if want == "" {
		return nil
	}
	logger.Printf("HOOKFLOW_FAULT=%s: this process will kill itself there (crash testing)", want)
	return func(point string) {
		if point == want {
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				_ = p.Kill() // SIGKILL; TerminateProcess on Windows
			}
			select {} // never return: the kill is asynchronous
		}
	}
}

// servePprof serves Go's profiler on a separate address when HOOKFLOW_PPROF
// names one (e.g. 127.0.0.1:6060): for finding what a server spends its time
// on under load. Off by default; never on the public listener.
func servePprof(addr string, logger *log.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/heap", pprof.Index)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	logger.Printf("pprof on http://%s/debug/pprof/", addr)
	if err := srv.ListenAndServe(); err != nil {
		logger.Printf("pprof: %v", err)
	}
}

// tuneGC trades memory the server does not use for less GC work: the heap
// may grow to 4× the live data (GOGC=400) while a soft limit of 192 MiB
// keeps the total in bounds. GOGC and GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(192 << 20)
	}
}
