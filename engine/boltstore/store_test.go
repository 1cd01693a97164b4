package boltstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

var ctx = context.Background()

// openTest opens a store in a fresh temp dir and closes it at the end of the test.
func openTest(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "hookflow.db")
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want one wrapping %v", err, target)
	}
}

func TestOpenCreatesParentDir(t *testing.T) {
	_, path := openTest(t, Options{})
	fi, err := os.Stat(path)
	mustNil(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestOpenLocked(t *testing.T) {
	_, path := openTest(t, Options{})
	s2, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded")
	}
	wantErr(t, err, ErrLocked)
	if !strings.Contains(err.Error(), path+" is in use by another hookflow process") {
		t.Errorf("message %q does not say the database is in use", err)
	}
}

func TestFlows(t *testing.T) {
	s, _ := openTest(t, Options{})
	f := &engine.Flow{ID: "orders", Name: "Orders v1", Enabled: true, Trigger: engine.Trigger{Type: "webhook"}}
	mustNil(t, s.CreateFlow(ctx, f))
	if f.Version != 1 || f.UpdatedAt.IsZero() {
		t.Fatalf("after create: version %d, updated %v", f.Version, f.UpdatedAt)
	}
	wantErr(t, s.CreateFlow(ctx, &engine.Flow{ID: "orders"}), engine.ErrExists)
	wantErr(t, s.UpdateFlow(ctx, &engine.Flow{ID: "nope"}), engine.ErrNotFound)

	f2 := &engine.Flow{ID: "orders", Name: "Orders v2", Trigger: engine.Trigger{Type: "manual"}}
	mustNil(t, s.UpdateFlow(ctx, f2))
	if f2.Version != 2 {
		t.Fatalf("after update: version %d, want 2", f2.Version)
	}
	mustNil(t, s.CreateFlow(ctx, &engine.Flow{ID: "alpha", Name: "A"}))

	tests := []struct {
		name    string
		version int // 0: current
		want    string
		wantErr error
	}{
		{name: "current", want: "Orders v2"},
		{name: "version 1", version: 1, want: "Orders v1"},
		{name: "version 2", version: 2, want: "Orders v2"},
		{name: "version 3", version: 3, wantErr: engine.ErrNotFound},
		{name: "version 0 explicit", version: -1, wantErr: engine.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *engine.Flow
			var err error
			switch tc.version {
			case 0:
				got, err = s.GetFlow(ctx, "orders")
			default:
				got, err = s.GetFlowVersion(ctx, "orders", tc.version)
			}
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr)
				return
			}
			mustNil(t, err)
			if got.Name != tc.want {
				t.Errorf("name = %q, want %q", got.Name, tc.want)
			}
		})
	}

	vs, err := s.ListFlowVersions(ctx, "orders")
	mustNil(t, err)
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || vs[0].Name != "Orders v1" {
		t.Fatalf("versions = %+v", vs)
	}
	all, err := s.ListFlows(ctx)
	mustNil(t, err)
	if len(all) != 2 || all[0].ID != "alpha" || all[1].ID != "orders" {
		t.Fatalf("ListFlows = %v", all)
	}

	mustNil(t, s.PutSample(ctx, "orders", &engine.TriggerData{Type: "webhook", Body: map[string]any{"a": 1.0}}))
	sample, err := s.GetSample(ctx, "orders")
	mustNil(t, err)
	if sample.Body.(map[string]any)["a"] != 1.0 {
		t.Fatalf("sample = %+v", sample)
	}
	mustNil(t, s.PutState(ctx, "orders", "cursor", []byte("42")))
	mustNil(t, s.PutState(ctx, "orders-2", "cursor", []byte("7")))

	mustNil(t, s.DeleteFlow(ctx, "orders"))
	wantErr(t, s.DeleteFlow(ctx, "orders"), engine.ErrNotFound)
	_, err = s.GetFlow(ctx, "orders")
	wantErr(t, err, engine.ErrNotFound)
	_, err = s.GetFlowVersion(ctx, "orders", 1)
	wantErr(t, err, engine.ErrNotFound)
	_, err = s.GetSample(ctx, "orders")
	wantErr(t, err, engine.ErrNotFound)
	_, err = s.GetState(ctx, "orders", "cursor")
	wantErr(t, err, engine.ErrNotFound)
	if v, err := s.GetState(ctx, "orders-2", "cursor"); err != nil || string(v) != "7" {
		t.Fatalf("other flow's state = %q, %v", v, err)
	}

	// A new flow with the id of a deleted one starts again at version 1.
	again := &engine.Flow{ID: "orders", Name: "again"}
	mustNil(t, s.CreateFlow(ctx, again))
	if again.Version != 1 {
		t.Fatalf("recreated version = %d", again.Version)
	}
}

func TestRuns(t *testing.T) {
	s, _ := openTest(t, Options{})
	r := &engine.Run{FlowID: "f", FlowVersion: 1, Trigger: engine.TriggerData{Type: "manual", Body: "hi"}}
	id, dup, err := s.CreateRun(ctx, r, "", 0)
	mustNil(t, err)
	if dup || id == "" || id != r.ID || r.Status != engine.RunQueued || r.CreatedAt.IsZero() {
		t.Fatalf("CreateRun = %q, %v; run %+v", id, dup, r)
	}
	_, _, err = s.CreateRun(ctx, r, "", 0)
	wantErr(t, err, engine.ErrExists)

	got, err := s.GetRun(ctx, id)
	mustNil(t, err)
	if got.FlowID != "f" || got.Trigger.Body != "hi" {
		t.Fatalf("GetRun = %+v", got)
	}
	_, err = s.GetRun(ctx, "missing")
	wantErr(t, err, engine.ErrNotFound)
	wantErr(t, s.SaveRun(ctx, &engine.Run{ID: "missing", Status: engine.RunRunning}), engine.ErrNotFound)

	steps := []struct {
		status      engine.RunStatus
		wantPending bool
	}{
		{engine.RunRunning, true},
		{engine.RunWaiting, true},
		{engine.RunSucceeded, false},
	}
	for _, st := range steps {
		t.Run(string(st.status), func(t *testing.T) {
			r.Status = st.status
			r.Steps = append(r.Steps, &engine.StepRun{ID: "s", Status: engine.StepSucceeded})
			mustNil(t, s.SaveRun(ctx, r))
			got, err := s.GetRun(ctx, id)
			mustNil(t, err)
			if got.Status != st.status || len(got.Steps) != len(r.Steps) {
				t.Fatalf("saved run = %+v", got)
			}
			pend, err := s.PendingRuns(ctx)
			mustNil(t, err)
			if (len(pend) == 1) != st.wantPending {
				t.Fatalf("pending = %d runs, want pending %v", len(pend), st.wantPending)
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	s, err := Open(path, Options{})
	mustNil(t, err)
	mustNil(t, s.CreateFlow(ctx, &engine.Flow{ID: "f", Name: "one"}))
	mustNil(t, s.UpdateFlow(ctx, &engine.Flow{ID: "f", Name: "two"}))
	queued := &engine.Run{FlowID: "f"}
	_, _, err = s.CreateRun(ctx, queued, "evt_1", time.Hour)
	mustNil(t, err)
	done := &engine.Run{FlowID: "f", Status: engine.RunSucceeded}
	_, _, err = s.CreateRun(ctx, done, "", 0)
	mustNil(t, err)
	waiting := &engine.Run{FlowID: "f", Status: engine.RunRunning}
	_, _, err = s.CreateRun(ctx, waiting, "", 0)
	mustNil(t, err)
	waiting.Status = engine.RunWaiting
	mustNil(t, s.SaveRun(ctx, waiting))
	mustNil(t, s.KVSet(ctx, "k", map[string]any{"n": 1.0}, 0))
	mustNil(t, s.PutSecret(ctx, "API", []byte("sealed")))
	mustNil(t, s.PutMeta(ctx, "keyring", []byte("check")))
	mustNil(t, s.PutState(ctx, "f", "last_fire", []byte("t")))
	mustNil(t, s.CreateUser(ctx, &engine.User{Email: "a@example.com", Role: engine.RoleAdmin}))
	mustNil(t, s.CreateToken(ctx, &engine.Token{Name: "ci", Hash: "h1", Role: engine.RoleViewer}))
	mustNil(t, s.PutSession(ctx, &engine.Session{ID: "sess", UserID: "u", ExpiresAt: time.Now().Add(time.Hour)}))
	mustNil(t, s.Close())

	s, err = Open(path, Options{})
	mustNil(t, err)
	defer s.Close()
	checks := []struct {
		name string
		fn   func() error
	}{
		{"flow", func() error {
			f, err := s.GetFlow(ctx, "f")
			if err == nil && (f.Name != "two" || f.Version != 2) {
				err = errors.New("wrong flow " + f.Name)
			}
			return err
		}},
		{"flow version", func() error { _, err := s.GetFlowVersion(ctx, "f", 1); return err }},
		{"run", func() error { _, err := s.GetRun(ctx, done.ID); return err }},
		{"pending", func() error {
			pend, err := s.PendingRuns(ctx)
			if err == nil && (len(pend) != 2 || pend[0].ID != queued.ID || pend[1].ID != waiting.ID || pend[1].Status != engine.RunWaiting) {
				err = errors.New("wrong pending runs")
			}
			return err
		}},
		{"dedupe", func() error {
			id, dup, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "evt_1", time.Hour)
			if err == nil && (!dup || id != queued.ID) {
				err = errors.New("dedupe entry lost")
			}
			return err
		}},
		{"kv", func() error { _, err := s.KVGet(ctx, "k"); return err }},
		{"secret", func() error { _, err := s.GetSecret(ctx, "API"); return err }},
		{"meta", func() error { _, err := s.GetMeta(ctx, "keyring"); return err }},
		{"state", func() error { _, err := s.GetState(ctx, "f", "last_fire"); return err }},
		{"user", func() error { _, err := s.GetUserByEmail(ctx, "A@example.com"); return err }},
		{"token", func() error { _, err := s.GetTokenByHash(ctx, "h1"); return err }},
		{"session", func() error { _, err := s.GetSession(ctx, "sess"); return err }},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { mustNil(t, c.fn()) })
	}
}

func TestPing(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustNil(t, s.Ping(ctx))
}

func TestBackup(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustNil(t, s.CreateFlow(ctx, &engine.Flow{ID: "f", Name: "kept"}))
	r := &engine.Run{FlowID: "f"}
	_, _, err := s.CreateRun(ctx, r, "", 0)
	mustNil(t, err)

	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	mustNil(t, err)
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("Backup wrote %d, buffer has %d", n, buf.Len())
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	mustNil(t, os.WriteFile(copyPath, buf.Bytes(), 0o600))
	c, err := Open(copyPath, Options{})
	mustNil(t, err)
	defer c.Close()
	f, err := c.GetFlow(ctx, "f")
	mustNil(t, err)
	if f.Name != "kept" {
		t.Fatalf("flow in backup = %+v", f)
	}
	if _, err := c.GetRun(ctx, r.ID); err != nil {
		t.Fatalf("run in backup: %v", err)
	}
}

// block submits an op that blocks the writer until the returned func is
// called, and waits until the writer runs it.
func block(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.update(ctx, func(*bolt.Tx) error {
			select {
			case <-started:
			default:
				close(started)
			}
			<-unblock
			return nil
		})
	}()
	<-started
	return func() {
		close(unblock)
		if err := <-errc; err != nil {
			t.Errorf("blocking op: %v", err)
		}
	}
}

func TestUnavailableWhenOverloaded(t *testing.T) {
	s, _ := openTest(t, Options{MaxPending: 2})
	release := block(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.KVSet(ctx, "k", i, 0)
		}()
	}
	for len(s.ops) < 2 {
		time.Sleep(time.Millisecond)
	}
	wantErr(t, s.KVSet(ctx, "over", 1, 0), engine.ErrUnavailable)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		mustNil(t, err)
	}
	mustNil(t, s.KVSet(ctx, "after", 1, 0))
}

func TestUnavailableAfterClose(t *testing.T) {
	s, _ := openTest(t, Options{})
	mustNil(t, s.Close())
	mustNil(t, s.Close())
	_, _, err := s.CreateRun(ctx, &engine.Run{FlowID: "f"}, "", 0)
	wantErr(t, err, engine.ErrUnavailable)
	wantErr(t, s.Ping(ctx), engine.ErrUnavailable)
	_, err = s.GetFlow(ctx, "f")
	wantErr(t, err, engine.ErrUnavailable)
}

func TestCloseCommitsSubmittedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	s, err := Open(path, Options{})
	mustNil(t, err)
	release := block(t, s)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.KVIncrement(ctx, "n", 1, 0); err != nil {
				t.Errorf("increment %d: %v", i, err)
			}
		}()
	}
	for len(s.ops) < 20 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	release()
	wg.Wait()
	mustNil(t, <-closed)

	s, err = Open(path, Options{})
	mustNil(t, err)
	defer s.Close()
	it, err := s.KVGet(ctx, "n")
	mustNil(t, err)
	if it.Value != 20.0 {
		t.Fatalf("n = %v, want 20", it.Value)
	}
}

// TestBatchFailureIsolation checks that an op failing inside a batch fails
// alone and the others of its batch commit.
func TestBatchFailureIsolation(t *testing.T) {
	obs := &commitCounter{}
	s, _ := openTest(t, Options{Observer: obs})
	mustNil(t, s.CreateFlow(ctx, &engine.Flow{ID: "taken"}))
	release := block(t, s)

	type result struct {
		name string
		err  error
	}
	results := make(chan result, 10)
	var wg sync.WaitGroup
	submit := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- result{name, fn()}
		}()
	}
	for i := range 4 {
		key := "ok" + string(rune('a'+i))
		submit(key, func() error { return s.KVSet(ctx, key, i, 0) })
	}
	submit("dup flow", func() error { return s.CreateFlow(ctx, &engine.Flow{ID: "taken"}) })
	submit("panic", func() error { return s.update(ctx, func(*bolt.Tx) error { panic("boom") }) })
	submit("missing run", func() error { return s.SaveRun(ctx, &engine.Run{ID: "nope", Status: engine.RunFailed}) })
	for len(s.ops) < 7 {
		time.Sleep(time.Millisecond)
	}
	release()
	wg.Wait()
	close(results)
	for r := range results {
		switch r.name {
		case "dup flow":
			wantErr(t, r.err, engine.ErrExists)
		case "missing run":
			wantErr(t, r.err, engine.ErrNotFound)
		case "panic":
			if r.err == nil || !strings.Contains(r.err.Error(), "boom") {
				t.Errorf("panicking op: %v", r.err)
			}
		default:
			mustNil(t, r.err)
		}
	}
	items, err := s.KVList(ctx, "ok", 0)
	mustNil(t, err)
	if len(items) != 4 {
		t.Fatalf("committed kv items = %d, want 4", len(items))
	}
	// CreateFlow, the blocking op, then the four survivors in ONE commit.
	if c, o := obs.commits.Load(), obs.ops.Load(); c != 3 || o != 6 {
		t.Fatalf("observer saw %d commits of %d ops, want 3 commits of 6", c, o)
	}
}
