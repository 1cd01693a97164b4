package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/pgstore"
	"github.com/hookflow/hookflow/engine/secrets"
)

const storeUsage = "usage: hookflow store migrate --from DATA_DIR --to postgres://user:pass@host:5432/db"

// cmdStore: `hookflow store migrate --from DIR --to URL` copies a bbolt
// installation into an empty PostgreSQL database and verifies the counts.
func cmdStore(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "migrate" {
		return usagef("%s", storeUsage)
	}
	var s settings
	fs := newFlags("store migrate", &s)
	from := fs.String("from", "", "bbolt data dir to copy")
	to := fs.String("to", "", "PostgreSQL URL to copy into")
	pos, err := s.parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 || *from == "" || !pgstore.IsURL(*to) {
		return usagef("%s", storeUsage)
	}
	return migrateStore(ctx, *from, *to, stdout)
}

// migrateCounts are the records copied, by kind, as counted in the source.
type migrateCounts struct {
	names []string
	n     map[string]int
}

func (c *migrateCounts) add(kind string, n int) {
	if c.n == nil {
		c.n = map[string]int{}
	}
	if _, ok := c.n[kind]; !ok {
		c.names = append(c.names, kind)
	}
	c.n[kind] += n
}

// migrateStore copies everything the engine keeps — flows with every
// version, samples, runs, dedupe entries, the data store, secrets (still
// sealed with the same key), meta (the keyring's sealed data key),
// trigger state, users and tokens — then compares counts. Browser sessions
// are not copied: users sign in again.
func migrateStore(ctx context.Context, from, to string, stdout io.Writer) error {
	dbPath := filepath.Join(from, "hookflow.db")
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("store migrate: no database at %s: %w", dbPath, err)
	}
	src, err := boltstore.Open(dbPath, boltstore.Options{Timeout: 1500 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("store migrate: %w (stop the server that uses %s first)", err, from)
	}
	defer src.Close()
	octx, cancel := context.WithTimeout(ctx, pgOpenTimeout)
	dst, err := pgstore.Open(octx, to, pgstore.Options{})
	cancel()
	if err != nil {
		return fmt.Errorf("store migrate: %w", err)
	}
	defer dst.Close()
	before, err := dst.Counts(ctx)
	if err != nil {
		return fmt.Errorf("store migrate: %w", err)
	}
	for table, n := range before {
		if n > 0 && table != "meta" {
			return fmt.Errorf("store migrate: %s already holds Hookflow data (%d rows in %s): copy into an empty database", dst.Where(), n, table)
		}
	}
	// A new, empty database may hold the engine's own meta from a start;
	// the source's meta replaces it below.
	var c migrateCounts
	steps := []struct {
		name string
		fn   func(context.Context, *boltstore.Store, *pgstore.Store, *migrateCounts) error
	}{
		{"meta", copyMeta}, {"flows", copyFlows}, {"runs", copyRuns}, {"dedupe", copyDedupe}, {"kv", copyKV},
		{"secrets", copySecrets}, {"trigger state", copyState}, {"users and tokens", copyAuth},
		{"connections and app files", copyConnections},
	}
	for _, st := range steps {
		if err := st.fn(ctx, src, dst, &c); err != nil {
			return fmt.Errorf("store migrate: copy %s: %w", st.name, err)
		}
	}
	after, err := dst.Counts(ctx)
	if err != nil {
		return fmt.Errorf("store migrate: %w", err)
	}
	bad := 0
	for _, kind := range c.names {
		mark := "ok"
		if after[kind] != c.n[kind] {
			mark = "MISMATCH"
			bad++
		}
		fmt.Fprintf(stdout, "%-14s %8d in bbolt %8d in PostgreSQL  %s\n", kind, c.n[kind], after[kind], mark)
	}
	if bad > 0 {
		return fmt.Errorf("store migrate: %d counts differ: see above", bad)
	}
	fmt.Fprintf(stdout, "copied %s into %s. Start every node with --store and the same secret key: %s or HOOKFLOW_SECRET_KEY.\n",
		dbPath, dst.Where(), filepath.Join(from, secrets.KeyFile))
	return nil
}

func copyMeta(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	n := 0
	err := src.ExportMeta(func(name string, value []byte) error {
		n++
		return dst.PutMeta(ctx, name, value)
	})
	c.add("meta", n)
	return err
}

func copyFlows(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	flows, err := src.ListFlows(ctx)
	if err != nil {
		return err
	}
	versions, samples := 0, 0
	for _, f := range flows {
		vs, err := src.ListFlowVersions(ctx, f.ID)
		if err != nil {
			return err
		}
		docs := make([]*engine.Flow, 0, len(vs))
		for _, v := range vs {
			d, err := src.GetFlowVersion(ctx, f.ID, v.Version)
			if err != nil {
				return err
			}
			docs = append(docs, d)
		}
		if err := dst.ImportFlow(ctx, f, docs); err != nil {
			return err
		}
		versions += len(docs)
		sample, err := src.GetSample(ctx, f.ID)
		switch {
		case err == nil:
			if err := dst.PutSample(ctx, f.ID, sample); err != nil {
				return err
			}
			samples++
		case !errors.Is(err, engine.ErrNotFound):
			return err
		}
	}
	c.add("flows", len(flows))
	c.add("flow_versions", versions)
	c.add("samples", samples)
	return nil
}

// copyRuns pages through every run (newest first) and copies each with its
// steps, 500 at a time.
func copyRuns(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	q := engine.RunQuery{Limit: 500}
	n := 0
	for {
		page, next, err := src.ListRuns(ctx, q)
		if err != nil {
			return err
		}
		full := make([]*engine.Run, 0, len(page))
		for _, r := range page {
			// GetRun: the whole record, whatever a list page carries.
			fr, err := src.GetRun(ctx, r.ID)
			if err != nil {
				return err
			}
			full = append(full, fr)
		}
		if len(full) > 0 {
			if err := dst.ImportRuns(ctx, full); err != nil {
				return err
			}
		}
		n += len(full)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	c.add("runs", n)
	return nil
}

func copyDedupe(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	var batch []pgstore.DedupeEntry
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := dst.ImportDedupe(ctx, batch)
		n += len(batch)
		batch = batch[:0]
		return err
	}
	err := src.ExportDedupe(time.Now().UnixNano(), func(flowID, key, runID string, expires int64) error {
		batch = append(batch, pgstore.DedupeEntry{FlowID: flowID, Key: key, RunID: runID, Expires: expires})
		if len(batch) >= 5000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	c.add("dedupe", n)
	return err
}

func copyKV(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	items, err := src.KVList(ctx, "", math.MaxInt32)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := dst.ImportKV(ctx, it); err != nil {
			return err
		}
	}
	c.add("kv", len(items))
	return nil
}

func copySecrets(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	names, err := src.ListSecrets(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		sealed, err := src.GetSecret(ctx, name)
		if err != nil {
			return err
		}
		if err := dst.PutSecret(ctx, name, sealed); err != nil {
			return err
		}
	}
	c.add("secrets", len(names))
	return nil
}

func copyState(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	n := 0
	err := src.ExportState(func(flowID, name string, value []byte) error {
		n++
		return dst.PutState(ctx, flowID, name, value)
	})
	c.add("trigger_state", n)
	return err
}

func copyAuth(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	users, err := src.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if err := dst.CreateUser(ctx, u); err != nil {
			return err
		}
	}
	tokens, err := src.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if err := dst.CreateToken(ctx, t); err != nil {
			return err
		}
	}
	c.add("users", len(users))
	c.add("tokens", len(tokens))
	return nil
}

// copyConnections copies connection records (their secret parts stay sealed
// with the same key) and imported app files. OAuth authorizations under way
// are not copied: they are started again.
func copyConnections(ctx context.Context, src *boltstore.Store, dst *pgstore.Store, c *migrateCounts) error {
	conns, err := src.ListConnections(ctx)
	if err != nil {
		return err
	}
	for _, rec := range conns {
		var conn engine.Connection
		if err := json.Unmarshal(rec, &conn); err != nil || conn.Name == "" {
			return fmt.Errorf("a connection record does not decode (%v)", err)
		}
		if err := dst.PutConnection(ctx, conn.Name, rec); err != nil {
			return err
		}
	}
	c.add("connections", len(conns))
	files, err := src.ListAppFiles(ctx)
	if err != nil {
		return err
	}
	for id, data := range files {
		if err := dst.PutAppFile(ctx, id, data); err != nil {
			return err
		}
	}
	c.add("app_files", len(files))
	return nil
}
