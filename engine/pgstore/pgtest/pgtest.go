// Package pgtest starts a throwaway PostgreSQL cluster for tests and
// benchmarks: Debian's server binaries (/usr/lib/postgresql/*/bin, or
// HOOKFLOW_PG_BIN), initdb into a temporary directory (as the postgres user
// when the tests run as root), listening on 127.0.0.1 on a free port with its
// unix socket inside that directory, stopped by PID at the end.
//
// Without PostgreSQL installed, Start returns ErrNoPostgres and tests skip —
// unless HOOKFLOW_REQUIRE_PG=1 (CI), where they must fail instead.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoPostgres: no PostgreSQL server binaries were found.
var ErrNoPostgres = errors.New("PostgreSQL server binaries not found (apt-get install -y postgresql, or set HOOKFLOW_PG_BIN)")

// Password is the superuser's password of every throwaway cluster.
const Password = "hookflow-test-pw"

// Required reports whether HOOKFLOW_REQUIRE_PG asks tests to fail rather
// than skip when PostgreSQL is missing.
func Required() bool { return os.Getenv("HOOKFLOW_REQUIRE_PG") == "1" }

// Cluster is a running throwaway PostgreSQL.
type Cluster struct {
	Dir  string // data directory, log and socket live under it
	Port int
	bin  string
	pid  int
	next atomic.Int64
}

// binDir finds the server binaries.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if d := os.Getenv("HOOKFLOW_PG_BIN"); d != "" {
		dirs = []string{d}
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// asPostgres runs cmd as the postgres user when this process is root
// (initdb and postgres refuse to run as root).
func asPostgres(cmd *exec.Cmd, dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, gid)
	})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start creates and starts a cluster in a new temporary directory.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookflow-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin}
	fail := func(err error) (*Cluster, error) {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o755); err != nil {
		return fail(err)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--pwfile", pw, "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-instructions")
	if err := asPostgres(initdb, dir); err != nil {
		return fail(err)
	}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w: %s", err, out))
	}
	for try := 0; ; try++ {
		if c.Port, err = freePort(); err != nil {
			return fail(err)
		}
		err = c.startServer()
		if err == nil {
			break
		}
		if try == 2 {
			return fail(err)
		}
	}
	return c, nil
}

// startServer runs pg_ctl start on c.Port and records the server's PID.
func (c *Cluster) startServer() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.Port, filepath.Join(c.Dir, "sock"))
	start := exec.Command(filepath.Join(c.bin, "pg_ctl"), "start", "-w", "-t", "60", "-D", filepath.Join(c.Dir, "data"),
		"-l", filepath.Join(c.Dir, "log"), "-o", opts)
	if err := asPostgres(start, c.Dir); err != nil {
		return err
	}
	if out, err := start.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl start: %w: %s", err, out)
	}
	pidFile, err := os.ReadFile(filepath.Join(c.Dir, "data", "postmaster.pid"))
	if err != nil {
		return err
	}
	c.pid, err = strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err != nil {
		return fmt.Errorf("postmaster.pid: %w", err)
	}
	return nil
}

// Pause stops the server by its PID, keeping its data; Resume starts it
// again on the same port.
func (c *Cluster) Pause() { c.stopServer() }

// Resume starts a paused server again on its port.
func (c *Cluster) Resume() error { return c.startServer() }

// URL is the connection string of database db as the superuser.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", Password),
		Host: fmt.Sprintf("127.0.0.1:%d", c.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// NewDB creates a new, empty database and returns its URL.
func (c *Cluster) NewDB(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.next.Add(1))
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// Stop stops the server by its PID (a fast shutdown) and removes the directory.
func (c *Cluster) Stop() {
	if c == nil {
		return
	}
	c.stopServer()
	os.RemoveAll(c.Dir)
}

// stopServer signals the postmaster (fast shutdown) and waits until it is gone.
func (c *Cluster) stopServer() {
	if p, err := os.FindProcess(c.pid); err == nil && c.pid > 0 {
		_ = p.Signal(syscall.SIGINT)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && syscall.Kill(c.pid, 0) == nil {
			time.Sleep(20 * time.Millisecond)
		}
		if syscall.Kill(c.pid, 0) == nil {
			_ = p.Signal(syscall.SIGKILL)
		}
	}
	c.pid = 0
}

// Main runs a test binary's tests with a cluster in *c: it skips (leaving
// *c nil) when PostgreSQL is missing, unless Required, and stops it after.
// Use it from TestMain: os.Exit(pgtest.Main(m, &cluster)).
func Main(m *testing.M, c **Cluster) int {
	cl, err := Start()
	switch {
	case err == nil:
		*c = cl
		defer cl.Stop()
	case errors.Is(err, ErrNoPostgres) && !Required():
		fmt.Fprintf(os.Stderr, "pgtest: %v: PostgreSQL tests skip\n", err)
	default:
		fmt.Fprintf(os.Stderr, "pgtest: cannot start PostgreSQL (HOOKFLOW_REQUIRE_PG=%s): %v\n", os.Getenv("HOOKFLOW_REQUIRE_PG"), err)
		return 1
	}
	return m.Run()
}

// DB returns a fresh database's URL on c, or skips t when c is nil (no
// PostgreSQL); with HOOKFLOW_REQUIRE_PG=1 a nil c fails t instead.
func DB(t testing.TB, c *Cluster) string {
	t.Helper()
	if c == nil {
		if Required() {
			t.Fatal("HOOKFLOW_REQUIRE_PG=1 but no PostgreSQL cluster is running")
		}
		t.Skip("PostgreSQL not installed: skipping (apt-get install -y postgresql)")
	}
	u, err := c.NewDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}
