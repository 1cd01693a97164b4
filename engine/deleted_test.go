package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// TestRunOfDeletedFlow: a run whose flow is deleted while it waits ends
// failed with a message saying so (not "version 1: not found"), and a replay
// of it answers ErrFlowDeleted's not-found.
func TestRunOfDeletedFlow(t *testing.T) {
	h := newHarness(t)
	h.flow(flowDoc(`[{"id":"w","type":"delay","with":{"for":"200ms"}},{"id":"p","type":"probe"}]`))
	id := h.accept("f", map[string]any{}, "")
	if err := h.eng.DeleteFlow(context.Background(), "f"); err != nil {
		t.Fatal(err)
	}
	r := h.wait(id)
	if r.Status != engine.RunFailed || r.Error != "flow f was deleted, so this run cannot go on" {
		t.Fatalf("status %s, error %q", r.Status, r.Error)
	}
	_, err := h.eng.Replay(context.Background(), id, engine.ReplayOptions{})
	if !errors.Is(err, engine.ErrNotFound) || !strings.Contains(err.Error(), "f") {
		t.Fatalf("replay: %v", err)
	}
}
