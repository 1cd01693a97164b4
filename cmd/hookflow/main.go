// Command hookflow is the Hookflow server and its command line (SPEC §1).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes (SPEC §1).
const (
	exitOK      = 0
	exitUsage   = 1 // usage or validation error
	exitRuntime = 2 // runtime failure
)

// usageError is a mistake in the command line: exit 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `Usage: hookflow [command] [flags]

Commands:
  serve (default)                      run the server: webhooks, workers, UI, API, scheduler
  token create --name NAME [--role R]  print a new API token (role admin|editor|viewer; default admin)
  user create --email E [--role R]     create a UI user; the password is read from stdin
  secrets set NAME [VALUE]             store an encrypted secret (value from stdin when omitted)
  secrets list | secrets delete NAME   list secret names / delete one
  flows import FILE...                 store flow documents (insert or replace by id)
  flows export [ID...]                 print flow documents as JSON
  flows validate FILE...               check documents; one line per problem
  store migrate --from DIR --to URL    copy a bbolt data dir into an empty PostgreSQL database
  backup FILE                          write a consistent copy of the database (server running or not)
  compact                              rewrite the database file to reclaim space (server stopped)
  version                              print the version, commit and build date
  healthcheck [--url U]                exit 0 when the server's /healthz answers 200, else 1

Settings (flag, env, default):
  --addr        HOOKFLOW_ADDR        :8080
  --data        HOOKFLOW_DATA        ./hookflow-data
  --store       HOOKFLOW_STORE       bolt    or postgres://user:pass@host:5432/db (preview: one node)
  --base-url    HOOKFLOW_BASE_URL    http://localhost:8080
  --secret-key  HOOKFLOW_SECRET_KEY  (generated into the data dir)
  --allow-nets  HOOKFLOW_ALLOW_NETS  (none) CIDRs outgoing calls may reach besides public addresses
  --max-body    HOOKFLOW_MAX_BODY    1048576 largest webhook body (bytes); flows may set less
  --retention-max-age   HOOKFLOW_RETENTION_MAX_AGE   720h  prune finished runs older than this (0: keep)
  --retention-max-runs  HOOKFLOW_RETENTION_MAX_RUNS  0     finished runs kept per flow (0: no limit)
  --workers     HOOKFLOW_WORKERS     64      runs executing at once
  --metrics-token HOOKFLOW_METRICS_TOKEN (none) bearer token /metrics requires
  --trusted-proxies HOOKFLOW_TRUSTED_PROXIES (none) CIDRs of reverse proxies whose
                X-Forwarded-For/-Proto give the client's address and scheme
`

// run is the whole program: it parses args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 1 {
		switch args[0] {
		case "-h", "--help", "-help":
			args = []string{"help"}
		case "--version", "-version":
			args = []string{"version"}
		}
	}
	args = commandFirst(args)
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, stdout, stderr)
	case "token":
		err = cmdToken(ctx, args, stdout)
	case "user":
		err = cmdUser(ctx, args, stdin, stdout)
	case "secrets":
		err = cmdSecrets(ctx, args, stdin, stdout)
	case "flows":
		err = cmdFlows(ctx, args, stdout, stderr)
	case "backup":
		err = cmdBackup(ctx, args, stdout)
	case "compact":
		err = cmdCompact(ctx, args, stdout)
	case "store":
		err = cmdStore(ctx, args, stdout)
	case "version", "--version":
		printVersion(stdout)
	case "healthcheck":
		return cmdHealthcheck(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = usagef("unknown command %q\n\n%s", cmd, usage)
	}
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ve *validationFailed
	switch {
	case errors.As(err, &ve):
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "hookflow:", err)
		return exitUsage
	}
	fmt.Fprintln(stderr, "hookflow:", err)
	return exitRuntime
}

// valueFlags are the setting flags that take a value in the next word.
var valueFlags = map[string]bool{"addr": true, "data": true, "store": true, "base-url": true, "secret-key": true,
	"allow-nets": true, "max-body": true, "retention-max-age": true, "retention-max-runs": true, "workers": true,
	"metrics-token": true, "trusted-proxies": true}

// commandFirst moves setting flags that come before the command word behind
// it: `hookflow --data d token create` is `hookflow token create --data d`.
func commandFirst(args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args
		}
		if len(a) > 1 && a[0] == '-' {
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && valueFlags[name] {
				i++ // skip the flag's value
			}
			continue
		}
		if i == 0 {
			return args
		}
		out := append([]string{}, args[i:]...) // the command and what follows it,
		return append(out, args[:i]...)        // then the leading setting flags
	}
	return args
}
