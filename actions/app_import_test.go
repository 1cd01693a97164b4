package actions

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
)

// TestImportedAppsSurviveRestart: files kept by the store are loaded into a
// new registry; one that no longer validates is logged and skipped.
func TestImportedAppsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := `{"id":"pinger","name":"Pinger","icon":"📡","summary":"Ping.","base_url":"https://ping.example","auth":{},
	  "operations":[{"id":"ping","title":"Ping","summary":"Ping it.","fields":[],"example":{},"request":{"method":"POST","path":"/ping"}}]}`
	if err := st.PutAppFile(ctx, "pinger", []byte(good)); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAppFile(ctx, "broken", []byte(`{"id":"broken"}`)); err != nil {
		t.Fatal(err)
	}
	st.Close()

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := engine.NewRegistry()
	Register(reg)
	var logged []string
	LoadImportedApps(ctx, reg, st, func(f string, args ...any) { logged = append(logged, f) })
	if _, ok := reg.ActionFor("pinger.ping", nil); !ok {
		t.Error("imported app not loaded")
	}
	if _, ok := reg.ActionFor("app", []byte(`{"app":"pinger","operation":"ping"}`)); !ok {
		t.Error("generic app type does not resolve the imported app")
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "imported app") {
		t.Errorf("logged %v", logged)
	}
}

// TestSyncImportedApps: another node imported one app and deleted another;
// a sync makes this node's catalogue match the store (built-ins untouched).
func TestSyncImportedApps(t *testing.T) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "hookflow.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app := func(id string) []byte {
		return []byte(`{"id":"` + id + `","name":"` + id + `","icon":"📡","summary":"Ping.","base_url":"https://ping.example","auth":{},
	  "operations":[{"id":"ping","title":"Ping","summary":"Ping it.","fields":[],"example":{},"request":{"method":"POST","path":"/ping"}}]}`)
	}
	reg := engine.NewRegistry()
	Register(reg)
	builtins := len(AppsOf(reg).List())
	if err := st.PutAppFile(ctx, "old", app("old")); err != nil {
		t.Fatal(err)
	}
	LoadImportedApps(ctx, reg, st, t.Logf)
	// The other node's changes, straight in the store.
	if err := st.DeleteAppFile(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAppFile(ctx, "fresh", app("fresh")); err != nil {
		t.Fatal(err)
	}
	SyncImportedApps(ctx, reg, st, t.Logf)
	if _, ok := reg.ActionFor("fresh.ping", nil); !ok {
		t.Error("the app imported on another node is not loaded")
	}
	if _, ok := reg.ActionFor("old.ping", nil); ok {
		t.Error("the app deleted on another node is still loaded")
	}
	if got := len(AppsOf(reg).List()); got != builtins+1 {
		t.Errorf("%d apps after the sync, want the %d built-ins and one imported", got, builtins)
	}
}
