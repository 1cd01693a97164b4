package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/pgstore/pgtest"
	"github.com/hookflow/hookflow/engine/storetest"
)

// cluster is the throwaway PostgreSQL of this test binary (nil: not installed).
var cluster *pgtest.Cluster

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }

// openTest opens a store on a new, empty database.
func openTest(t testing.TB) *Store {
	t.Helper()
	st, err := Open(context.Background(), pgtest.DB(t, cluster), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConformance runs the store conformance suite shared with boltstore.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return openTest(t) })
}

// TestMigrateOnce opens several stores on one new database at once: the
// schema is created once and every store works.
func TestMigrateOnce(t *testing.T) {
	url := pgtest.DB(t, cluster)
	const nodes = 4
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), url, Options{})
		}()
	}
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, latest int
	if err := stores[0].pool.QueryRow(context.Background(), "SELECT count(*), max(version) FROM hookflow_migrations").Scan(&rows, &latest); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || latest != all[len(all)-1].version {
		t.Fatalf("hookflow_migrations has %d rows up to %d, want %d up to %d", rows, latest, len(all), all[len(all)-1].version)
	}
	// A flow saved through one store is read through another.
	if err := stores[1].CreateFlow(context.Background(), &engine.Flow{ID: "f"}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[3].GetFlow(context.Background(), "f"); err != nil {
		t.Fatal(err)
	}
	// A database migrated by a newer hookflow is refused.
	if _, err := stores[0].pool.Exec(context.Background(), "INSERT INTO hookflow_migrations (version, name) VALUES (999, 'future')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), url, Options{}); err == nil || !strings.Contains(err.Error(), "newer than this hookflow") {
		t.Fatalf("open of a newer schema: %v", err)
	}
}

// TestOpenErrors: failures to connect name the host and database, never the
// password.
func TestOpenErrors(t *testing.T) {
	good := pgtest.DB(t, cluster)
	u, err := url.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	wrongPW := *u
	wrongPW.User = url.UserPassword("postgres", "S3cret-Wrong-pw")
	down := *u
	down.Host = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	down.User = url.UserPassword("postgres", "S3cret-Wrong-pw")
	cases := []struct {
		name string
		url  string
		want []string
	}{
		{"wrong password", wrongPW.String(), []string{"password authentication failed", u.Host, "check the user and password"}},
		{"server down", down.String(), []string{"cannot reach PostgreSQL at " + down.Host}},
		{"malformed", "postgres://postgres:S3cret-Wrong-pw@127.0.0.1:notaport/db", []string{"does not parse"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := Open(context.Background(), c.url, Options{})
			if err == nil {
				st.Close()
				t.Fatal("opened")
			}
			msg := err.Error()
			if strings.Contains(msg, "S3cret") {
				t.Fatalf("the password is in the error: %s", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Fatalf("error %q does not say %q", msg, w)
				}
			}
		})
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestBackupSaysPgDump: Backup is refused with the way to back up instead.
func TestBackupSaysPgDump(t *testing.T) {
	st := openTest(t)
	defer st.Close()
	n, err := st.Backup(context.Background(), io.Discard)
	if !errors.Is(err, ErrUseDump) || n != 0 || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), pgtest.Password) {
		t.Fatalf("backup: %d %v", n, err)
	}
}

// batchObserver records the size of every committed batch.
type batchObserver struct {
	engine.NopObserver
	mu    sync.Mutex
	sizes []int
}

func (o *batchObserver) Commit(n int, _ time.Duration) {
	o.mu.Lock()
	o.sizes = append(o.sizes, n)
	o.mu.Unlock()
}

// TestGroupCommit: concurrent CreateRun calls share transactions; a call
// that fails (a taken run id, with or without a dedupe key) gets its error
// while the others in its batch are stored.
func TestGroupCommit(t *testing.T) {
	obs := &batchObserver{}
	st, err := Open(context.Background(), pgtest.DB(t, cluster), Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	taken := &engine.Run{FlowID: "f"}
	if _, _, err := st.CreateRun(ctx, taken, "", 0); err != nil {
		t.Fatal(err)
	}
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &engine.Run{FlowID: "f"}
			if i%10 == 0 {
				r.ID = taken.ID
			}
			key := ""
			if i%100 == 0 {
				key = fmt.Sprint("k", i) // a failing statement: rolls back the batch, rerun without it
			}
			_, _, errs[i] = st.CreateRun(ctx, r, key, time.Hour)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 0 {
			if !errors.Is(err, engine.ErrExists) {
				t.Fatalf("run %d with a taken id: %v", i, err)
			}
		} else if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	count, err := st.CountRuns(ctx, "f", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + n - n/10; count != want {
		t.Fatalf("%d runs stored, want %d", count, want)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	total, largest := 0, 0
	for _, s := range obs.sizes {
		total += s
		largest = max(largest, s)
	}
	// Every call is in a committed batch except the ones whose statement
	// failed (a taken id with a dedupe key: i%100 == 0).
	if total != 1+n-n/100 || largest < 2 {
		t.Fatalf("batches %v: %d ops committed, largest %d", obs.sizes, total, largest)
	}
}

// TestDatabaseDown: with the server stopped, writes fail with
// engine.ErrUnavailable and Ping fails, nothing hangs; once it is back, the
// same store works again (the pool reconnects) and Ping recovers.
func TestDatabaseDown(t *testing.T) {
	if cluster == nil {
		pgtest.DB(t, cluster) // skips or fails
	}
	own, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	url, err := own.NewDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, _, err := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	notices := listen(t, st)
	if n := next(t, notices); n.Kind != engine.NoticeResync {
		t.Fatalf("first notice %+v", n)
	}
	own.Pause()
	down := []struct {
		name string
		call func() error
	}{
		{"save run", func() error { return st.SaveRun(ctx, &engine.Run{ID: "r", FlowID: "f"}) }},
		{"claim runs", func() error { _, err := st.ClaimRuns(ctx, 10); return err }},
		{"renew leases", func() error { _, err := st.RenewLeases(ctx, []string{"r"}); return err }},
		{"try lock", func() error { _, err := st.TryLock(ctx, engine.StartersLock, time.Minute); return err }},
		{"publish", func() error { return st.Publish(ctx, engine.Notice{Kind: engine.NoticeWake, ID: "r"}) }},
		{"put connection", func() error { return st.PutConnection(ctx, "c", []byte("{}")) }},
	}
	for _, d := range down {
		if err := d.call(); !errors.Is(err, engine.ErrUnavailable) {
			t.Fatalf("%s with the database down: %v", d.name, err)
		}
	}
	if _, _, err := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "", 0); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("create run with the database down: %v", err)
	}
	if err := st.Ping(ctx); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("ping with the database down: %v", err)
	}
	if err := st.KVSet(ctx, "k", 1, 0); !errors.Is(err, engine.ErrUnavailable) {
		t.Fatalf("kv set with the database down: %v", err)
	}
	if err := own.Resume(); err != nil {
		t.Fatal(err)
	}
	id, dup, err := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k2", time.Hour)
	if err != nil || dup {
		t.Fatalf("create run after the database returned: %v dup %v", err, dup)
	}
	if _, dup, _ := st.CreateRun(ctx, &engine.Run{FlowID: "f"}, "k", time.Hour); !dup {
		t.Fatal("the dedupe entry written before the outage is gone")
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("ping after the database returned: %v", err)
	}
	// The listener reconnected: a resync, then notices again.
	if n := next(t, notices); n.Kind != engine.NoticeResync {
		t.Fatalf("after the database returned: notice %+v, want a resync", n)
	}
	must(t, st.Publish(ctx, engine.Notice{Kind: engine.NoticeCancel, ID: "r"}))
	if n := next(t, notices); n != (engine.Notice{Kind: engine.NoticeCancel, ID: "r"}) {
		t.Fatalf("after the database returned: notice %+v", n)
	}
	if _, err := st.GetRun(ctx, id); err != nil {
		t.Fatal(err)
	}
}
