package pgstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// TestConnectionStore: connections, OAuth states and app files round trip
// through a store and are read through another on the same database.
func TestConnectionStore(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, 0, "node-a", "node-b")
	a, b := nodes[0], nodes[1]
	var cs engine.ConnectionStore = a
	if got, err := b.ListConnections(ctx); err != nil || len(got) != 0 || got == nil {
		t.Fatalf("no connections: %v %v (want an empty, non-nil list)", got, err)
	}
	must(t, cs.PutConnection(ctx, "slack", []byte(`{"name":"slack","v":1}`)))
	must(t, cs.PutConnection(ctx, "github", []byte(`{"name":"github"}`)))
	must(t, cs.PutConnection(ctx, "slack", []byte(`{"name":"slack","v":2}`)))
	must(t, cs.PutConnection(ctx, "empty", nil))
	gets := []struct {
		name string
		want string
		err  error
	}{
		{"slack", `{"name":"slack","v":2}`, nil},
		{"github", `{"name":"github"}`, nil},
		{"empty", ``, nil},
		{"absent", ``, engine.ErrNotFound},
	}
	for _, g := range gets {
		got, err := b.GetConnection(ctx, g.name)
		if !errors.Is(err, g.err) || (g.err == nil && err != nil) || string(got) != g.want {
			t.Fatalf("get %s: %q %v, want %q %v", g.name, got, err, g.want, g.err)
		}
	}
	list, err := b.ListConnections(ctx)
	must(t, err)
	if fmt.Sprintf("%s", list) != `[ {"name":"github"} {"name":"slack","v":2}]` {
		t.Fatalf("list by name: %s", list)
	}
	must(t, b.DeleteConnection(ctx, "github"))
	if err := b.DeleteConnection(ctx, "github"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := a.PutConnection(ctx, "", []byte("x")); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}

	must(t, a.PutAppFile(ctx, "app.one", []byte("one: 1")))
	must(t, a.PutAppFile(ctx, "app.two", []byte("two")))
	must(t, a.PutAppFile(ctx, "app.one", []byte("one: 2")))
	files, err := b.ListAppFiles(ctx)
	must(t, err)
	if want := map[string][]byte{"app.one": []byte("one: 2"), "app.two": []byte("two")}; !maps.EqualFunc(files, want, func(x, y []byte) bool { return string(x) == string(y) }) {
		t.Fatalf("app files: %q", files)
	}
	must(t, b.DeleteAppFile(ctx, "app.two"))
	if err := b.DeleteAppFile(ctx, "app.two"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("delete app file twice: %v", err)
	}
	if err := a.PutAppFile(ctx, "", nil); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("empty app id: %v", err)
	}
}

// TestTakeOAuthStateOnce: of many callers on two nodes taking one state at
// once, exactly one gets its connection; the others get ErrNotFound.
func TestTakeOAuthStateOnce(t *testing.T) {
	ctx := context.Background()
	nodes := openNodes(t, 0, "node-a", "node-b")
	for round := range 5 {
		hash := fmt.Sprint("state-hash-", round)
		must(t, nodes[round%2].PutOAuthState(ctx, hash, "conn"))
		var got, missing atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name, err := nodes[i%2].TakeOAuthState(ctx, hash)
				switch {
				case err == nil && name == "conn":
					got.Add(1)
				case errors.Is(err, engine.ErrNotFound):
					missing.Add(1)
				default:
					t.Errorf("take: %q %v", name, err)
				}
			}()
		}
		wg.Wait()
		if got.Load() != 1 || missing.Load() != 15 {
			t.Fatalf("state taken %d times, missing %d times", got.Load(), missing.Load())
		}
	}
	if err := nodes[0].PutOAuthState(ctx, "", "c"); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("empty hash: %v", err)
	}
}
