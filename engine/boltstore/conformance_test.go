package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/storetest"
)

// TestConformance runs the store conformance suite shared with pgstore.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store {
		st, err := Open(filepath.Join(t.TempDir(), "hookflow.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
