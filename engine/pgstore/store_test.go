package pgstore

import (
	"context"
	"os"
	"testing"

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
