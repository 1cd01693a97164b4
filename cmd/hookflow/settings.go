package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/pgstore"
	"github.com/hookflow/hookflow/engine/secrets"
)

// settings are the flags and environment variables of SPEC §1; flags win.
type settings struct {
	addr      string
	data      string
	baseURL   string
	secretKey string
	allowNets string
	// store is "bolt" (the file in data) or a PostgreSQL URL (SPEC §5).
	store string
	// Beyond SPEC §1 (documented in the README):
	maxBody    int64
	retainAge  time.Duration
	retainRuns int
	workers    int
	metricsTok string
	envErrs    []string // environment values that do not parse

	// trustedProxies: CIDRs of reverse proxies whose X-Forwarded-For/-Proto count.
	trustedProxies string
}

// flags returns a FlagSet with the setting flags, defaults taken from the environment.
func newFlags(name string, s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&s.addr, "addr", env("HOOKFLOW_ADDR", ":8080"), "listen address")
	fs.StringVar(&s.data, "data", env("HOOKFLOW_DATA", "./hookflow-data"), "data directory")
	fs.StringVar(&s.baseURL, "base-url", env("HOOKFLOW_BASE_URL", "http://localhost:8080"), "public base URL")
	fs.StringVar(&s.secretKey, "secret-key", env("HOOKFLOW_SECRET_KEY", ""), "secret encryption key")
	fs.StringVar(&s.allowNets, "allow-nets", env("HOOKFLOW_ALLOW_NETS", ""), "CIDRs outgoing calls may reach")
	fs.StringVar(&s.store, "store", env("HOOKFLOW_STORE", "bolt"), "bolt or a postgres:// URL")
	bad := func(k string, err error) {
		s.envErrs = append(s.envErrs, fmt.Sprintf("%s=%q: %v", k, os.Getenv(k), err))
	}
	maxBody, err := strconv.ParseInt(env("HOOKFLOW_MAX_BODY", "1048576"), 10, 64)
	if err != nil || maxBody <= 0 {
		bad("HOOKFLOW_MAX_BODY", fmt.Errorf("want a positive number of bytes"))
	}
	fs.Int64Var(&s.maxBody, "max-body", maxBody, "largest webhook body in bytes, for every flow")
	age, err := time.ParseDuration(env("HOOKFLOW_RETENTION_MAX_AGE", "720h"))
	if err != nil {
		bad("HOOKFLOW_RETENTION_MAX_AGE", fmt.Errorf("want a duration like 720h"))
	}
	fs.DurationVar(&s.retainAge, "retention-max-age", age, "prune finished runs older than this (0: keep)")
	runs, err := strconv.Atoi(env("HOOKFLOW_RETENTION_MAX_RUNS", "0"))
	if err != nil || runs < 0 {
		bad("HOOKFLOW_RETENTION_MAX_RUNS", fmt.Errorf("want a number, 0 for no limit"))
	}
	fs.IntVar(&s.retainRuns, "retention-max-runs", runs, "keep at most this many finished runs per flow (0: no limit)")
	workers, err := strconv.Atoi(env("HOOKFLOW_WORKERS", strconv.Itoa(engine.DefaultWorkers)))
	if err != nil || workers < 1 {
		bad("HOOKFLOW_WORKERS", fmt.Errorf("want a positive number"))
	}
	fs.IntVar(&s.workers, "workers", workers, "runs executing at once")
	fs.StringVar(&s.metricsTok, "metrics-token", env("HOOKFLOW_METRICS_TOKEN", ""), "bearer token /metrics requires (none: open)")
	fs.StringVar(&s.trustedProxies, "trusted-proxies", env("HOOKFLOW_TRUSTED_PROXIES", ""), "CIDRs of reverse proxies whose X-Forwarded-For is believed")
	return fs
}

// parse parses args and returns the positional arguments; environment
// values that did not parse are a usage error.
func (s *settings) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if errs := s.envErrs; len(errs) > 0 {
		return nil, usagef("bad environment: %s", strings.Join(errs, "; "))
	}
	// Accept flags before and after positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, usagef("%s", usage)
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (s *settings) dbPath() string { return filepath.Join(s.data, "hookflow.db") }

// postgres reports whether the store is a PostgreSQL URL.
func (s *settings) postgres() bool { return pgstore.IsURL(s.store) }

// storeName names the database in messages: the bbolt file, or the
// PostgreSQL host and database (never the password).
func (s *settings) storeName() string {
	if s.postgres() {
		return "PostgreSQL " + pgstore.Where(s.store)
	}
	return s.dbPath()
}

// boltOnly refuses a command that works on the bbolt file only.
func (s *settings) boltOnly(instead string) error {
	if s.postgres() {
		return fmt.Errorf("the store is %s: %s", s.storeName(), instead)
	}
	return nil
}

// redactURL hides the password of a URL-like setting.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return v
}

// store is what the commands and the server use of a store; boltstore and
// pgstore implement it. (Merged with main: add engine.DeliveryStore here,
// which alerts needs.)
type store interface {
	engine.Store
	engine.DeliveryStore
}

// pgOpenTimeout bounds connecting to PostgreSQL and migrating its schema.
const pgOpenTimeout = 15 * time.Second

// openStore opens the data dir's database; while a server holds it, it fails
// within two seconds saying so. It refuses a database that does not belong
// with this data dir's key: missing or empty while the key file exists,
// truncated or unreadable (boltstore.ErrMissing, ErrDamaged), or made with
// another key (secrets.ErrKeyMismatch) — never starting a fresh one.
//
// With --store postgres://…, it connects (PostgreSQL down or a wrong
// password: an error naming the host, never the password), creates or
// migrates the schema, and checks the secret key against the database's in
// the same way.
func (s *settings) openStore(obs engine.Observer) (store, error) {
	if err := os.MkdirAll(s.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", s.data, err)
	}
	switch {
	case s.postgres():
		ctx, cancel := context.WithTimeout(context.Background(), pgOpenTimeout)
		defer cancel()
		st, err := pgstore.Open(ctx, s.store, pgstore.Options{Observer: obs})
		if err != nil {
			return nil, err
		}
		if _, err := s.keyring(ctx, st); err != nil {
			st.Close()
			if errors.Is(err, secrets.ErrKeyMismatch) {
				return nil, fmt.Errorf("%w; every node on one PostgreSQL database needs the key of the node that created it (the same secret.key file or HOOKFLOW_SECRET_KEY)", err)
			}
			return nil, err
		}
		return st, nil
	case s.store != "bolt" && s.store != "":
		return nil, usagef("--store (HOOKFLOW_STORE): want bolt or a postgres:// URL, got %q", redactURL(s.store))
	}
	// SPEC §1: fail within 2 s when a server holds the database.
	opts := boltstore.Options{Timeout: 1500 * time.Millisecond, Observer: obs}
	if _, err := os.Stat(filepath.Join(s.data, secrets.KeyFile)); err == nil {
		opts.Existed = "the key file " + secrets.KeyFile + " beside it shows a database was created in this data dir (restore hookflow.db from a backup; to really start over, delete " + secrets.KeyFile + " too)"
	}
	st, err := boltstore.Open(s.dbPath(), opts)
	if errors.Is(err, boltstore.ErrLocked) {
		return nil, fmt.Errorf("%w\n%s", err, lockedHint(s.baseURL))
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.keyring(context.Background(), st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// keyring unlocks the data dir's keyring with the key file or
// HOOKFLOW_SECRET_KEY; a database made with another key fails with
// secrets.ErrKeyMismatch.
func (s *settings) keyring(ctx context.Context, st engine.Store) (*secrets.Keyring, error) {
	if s.secretKey == "" {
		// A database sealed with a key whose file is gone: say so, rather
		// than generate a new key file that can never open it.
		_, noFile := os.Stat(filepath.Join(s.data, secrets.KeyFile))
		if _, err := st.GetMeta(ctx, secrets.MetaDataKey); err == nil && errors.Is(noFile, fs.ErrNotExist) {
			return nil, fmt.Errorf("open keyring: %s holds data sealed with a secret key, but %s is missing and HOOKFLOW_SECRET_KEY is not set: restore the key file (or set the key) it was created with: %w",
				s.storeName(), filepath.Join(s.data, secrets.KeyFile), secrets.ErrKeyMismatch)
		}
	}
	key, err := secrets.LoadKey(s.data, s.secretKey)
	if err != nil {
		return nil, err
	}
	return secrets.NewKeyring(ctx, st, key)
}

// openVault unlocks the secrets with the key file or HOOKFLOW_SECRET_KEY.
func (s *settings) openVault(ctx context.Context, st engine.Store) (*secrets.Vault, error) {
	kr, err := s.keyring(ctx, st)
	if err != nil {
		return nil, err
	}
	return secrets.NewVault(ctx, st, kr)
}

// validationFailed: problems were printed; exit 1.
type validationFailed struct{ n int }

func (e *validationFailed) Error() string { return fmt.Sprintf("%d problems", e.n) }

func trimLine(s string) string { return strings.TrimRight(s, "\r\n") }

// lockedHint says what to do when a running server holds the database.
func lockedHint(baseURL string) string {
	return "A running server holds it: stop the server, or use the UI / API while it runs: " + baseURL +
		" (Flows → Import / Export, Secrets, Settings → Users and API tokens) or " + baseURL + "/api/v1" +
		" (PUT /flows/{id}, GET /flows, PUT /secrets/{name}). `hookflow backup FILE` works while it runs."
}
