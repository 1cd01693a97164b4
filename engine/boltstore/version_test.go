package boltstore

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
	bolt "go.etcd.io/bbolt"
)

// fixtureKey is the HOOKFLOW_SECRET_KEY testdata/format-v1 was made with.
const fixtureKey = "fixture-test-key-not-secret"

// copyFixture copies testdata/format-v1/hookflow.db into a temp dir.
// orig is a second, untouched copy to compare with.
func copyFixture(t *testing.T) (path, orig string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "format-v1", "hookflow.db"))
	mustNil(t, err)
	dir := t.TempDir()
	path, orig = filepath.Join(dir, "hookflow.db"), filepath.Join(dir, "orig.db")
	mustNil(t, os.WriteFile(path, data, 0o600))
	mustNil(t, os.WriteFile(orig, data, 0o600))
	return path, orig
}

// formatOf reads format_version straight from the file.
func formatOf(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustNil(t, err)
	defer db.Close()
	var v string
	mustNil(t, db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bMeta).Get(metaFormatVersion))
		return nil
	}))
	return v
}

// dump returns every bucket's keys and values of a database file.
func dump(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustNil(t, err)
	defer db.Close()
	out := map[string]string{}
	mustNil(t, db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				out[string(name)+"/"+string(k)] = string(v)
				return nil
			})
		})
	}))
	return out
}

// sameData fails the test unless the files at a and b hold the same records.
func sameData(t *testing.T, a, b string) {
	t.Helper()
	da, db := dump(t, a), dump(t, b)
	if len(da) < 10 {
		t.Fatalf("%s holds only %d records", a, len(da))
	}
	if !maps.Equal(da, db) {
		t.Errorf("%s (%d records) and %s (%d records) differ", a, len(da), b, len(db))
	}
}

// setFormat writes format_version straight into the file.
func setFormat(t *testing.T, path, v string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	mustNil(t, err)
	mustNil(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return b.Put(metaFormatVersion, []byte(v))
	}))
	mustNil(t, db.Close())
}

// TestUpgradeFromFormat1 opens a data dir written by the release before data
// formats were versioned: it is backed up byte for byte, stamped with the
// current format, and every record reads as before.
func TestUpgradeFromFormat1(t *testing.T) {
	path, orig := copyFixture(t)
	if got := formatOf(t, path); got != "" {
		t.Fatalf("fixture already has format_version %q", got)
	}
	s, err := Open(path, Options{})
	mustNil(t, err)
	defer s.Close()

	baks, err := filepath.Glob(path + ".bak-v1-*")
	mustNil(t, err)
	if len(baks) != 1 {
		t.Fatalf("backups = %v, want one hookflow.db.bak-v1-*", baks)
	}
	sameData(t, baks[0], orig)
	v, err := s.GetMeta(ctx, string(metaFormatVersion))
	mustNil(t, err)
	if string(v) != strconv.Itoa(FormatVersion) {
		t.Errorf("format_version = %q after the upgrade, want %d", v, FormatVersion)
	}

	flows, err := s.ListFlows(ctx)
	mustNil(t, err)
	var ids []string
	for _, f := range flows {
		ids = append(ids, f.ID+"/"+f.Trigger.Type+"/"+strconv.Itoa(f.Version))
	}
	if got := strings.Join(ids, " "); got != "form-lead/webhook/1 nightly-digest/schedule/1 order-check/webhook/2" {
		t.Errorf("flows: %s", got)
	}
	v1, err := s.GetFlowVersion(ctx, "order-check", 1)
	mustNil(t, err)
	if v1.Name != "Order check (v1)" || len(v1.Steps) != 4 {
		t.Errorf("order-check version 1: %q, %d steps", v1.Name, len(v1.Steps))
	}
	runs, _, err := s.ListRuns(ctx, engine.RunQuery{FlowID: "order-check"})
	mustNil(t, err)
	byStatus := map[engine.RunStatus]int{}
	for _, r := range runs {
		byStatus[r.Status]++
	}
	if len(runs) != 4 || byStatus[engine.RunSucceeded] != 3 || byStatus[engine.RunFiltered] != 1 {
		t.Errorf("runs by status = %v, want 3 succeeded and 1 filtered", byStatus)
	}
	full, err := s.GetRun(ctx, runs[len(runs)-1].ID) // the oldest: order o-1
	mustNil(t, err)
	if !strings.Contains(string(full.Trigger.Raw), `"o-1"`) || len(full.Steps) == 0 {
		t.Errorf("oldest run: trigger %s, %d steps", full.Trigger.Raw, len(full.Steps))
	}
	kv, err := s.KVGet(ctx, "greeting")
	mustNil(t, err)
	if kv.Value != "hello" {
		t.Errorf("store greeting = %v", kv.Value)
	}
	u, err := s.GetUserByEmail(ctx, "admin@example.com")
	mustNil(t, err)
	if u.Role != engine.RoleAdmin {
		t.Errorf("user role = %q", u.Role)
	}
	toks, err := s.ListTokens(ctx)
	mustNil(t, err)
	if len(toks) != 1 || toks[0].Name != "fixture" {
		t.Errorf("tokens = %+v", toks)
	}
	key, err := secrets.LoadKey(t.TempDir(), fixtureKey)
	mustNil(t, err)
	kr, err := secrets.NewKeyring(ctx, s, key)
	mustNil(t, err)
	val, err := kr.GetSecret(ctx, s, "FIXTURE_SECRET")
	mustNil(t, err)
	if string(val) != "s3cr3t-fixture-value" {
		t.Errorf("secret = %q", val)
	}

	// The upgrade added the version and changed nothing else.
	mustNil(t, s.Close())
	after, before := dump(t, path), dump(t, orig)
	delete(after, "meta/format_version")
	if !maps.Equal(after, before) {
		t.Errorf("records changed by the upgrade: %d before, %d after", len(before), len(after))
	}

	// Opening again neither migrates nor backs up again.
	s2, err := Open(path, Options{})
	mustNil(t, err)
	mustNil(t, s2.Close())
	baks, _ = filepath.Glob(path + ".bak-v*")
	if len(baks) != 1 {
		t.Errorf("after a second open: backups = %v", baks)
	}
}

func TestFormatVersion(t *testing.T) {
	tests := []struct {
		name    string
		stored  string // "": a new, empty file
		wantErr error
		wantMsg string
		want    string // format_version afterwards
		backup  bool   // an older format is copied before its migration
	}{
		{name: "new database is stamped", want: "3"},
		{name: "current format", stored: "3", want: "3"},
		{name: "format 2 migrated", stored: "2", want: "3", backup: true},
		{name: "newer format refused", stored: "4", wantErr: ErrNewerFormat,
			wantMsg: "its data format is 4, this hookflow understands up to 3", want: "4"},
		{name: "garbage version refused", stored: "two", wantMsg: `meta format_version is "two", not a format version`, want: "two"},
		{name: "zero refused", stored: "0", wantMsg: `meta format_version is "0", not a format version`, want: "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hookflow.db")
			if tc.stored != "" {
				setFormat(t, path, tc.stored)
			}
			s, err := Open(path, Options{})
			if err == nil {
				mustNil(t, s.Close())
			}
			switch {
			case tc.wantMsg == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tc.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantMsg)):
				t.Fatalf("Open error = %v, want one saying %q", err, tc.wantMsg)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("Open error = %v, want one wrapping %v", err, tc.wantErr)
			}
			if got := formatOf(t, path); got != tc.want {
				t.Errorf("format_version = %q, want %q", got, tc.want)
			}
			if baks, _ := filepath.Glob(path + ".bak-*"); len(baks) != map[bool]int{true: 1}[tc.backup] {
				t.Errorf("backups %v, want one: %v", baks, tc.backup)
			}
		})
	}
}

// A migration that fails leaves the database as it was, with its backup.
func TestMigrationFailureChangesNothing(t *testing.T) {
	path, orig := copyFixture(t)
	old := migrations[1]
	migrations[1] = func(tx *bolt.Tx) error {
		if err := tx.Bucket(bKV).Put([]byte("half"), []byte("done")); err != nil {
			return err
		}
		return errors.New("disk on fire")
	}
	t.Cleanup(func() { migrations[1] = old })
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "migrate data format 1 to 2: disk on fire (nothing was changed; a copy of the database is at "+path+".bak-v1-") {
		t.Fatalf("Open error = %v", err)
	}
	if got := formatOf(t, path); got != "" {
		t.Errorf("format_version = %q after a failed migration", got)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	mustNil(t, err)
	defer db.Close()
	mustNil(t, db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bKV).Get([]byte("half")); v != nil {
			t.Errorf("the failed migration's write was kept")
		}
		return nil
	}))
	baks, _ := filepath.Glob(path + ".bak-v1-*")
	if len(baks) != 1 {
		t.Fatalf("backups = %v", baks)
	}
	sameData(t, baks[0], orig)
	sameData(t, path, orig)
}
