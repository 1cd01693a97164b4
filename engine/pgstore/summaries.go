//go:build hookflow_summaries

// This file implements RunStore.ListRunSummaries, which the h-history branch
// adds to engine/store.go with engine.RunSummary and engine.RunPage. Those
// types are not on this branch yet: once they are merged, delete the
// go:build line above (the file then builds by default).

package pgstore

import (
	"context"

	"github.com/hookflow/hookflow/engine"
)

// ListRunSummaries is ListRuns without the runs' data: one page of
// summaries, newest first. Phase 1 reads each run's record (not its
// trigger, unless q.Text searches it) and summarises it in Go.
func (s *Store) ListRunSummaries(ctx context.Context, q engine.RunQuery) (engine.RunPage, error) {
	runs, next, err := s.ListRuns(ctx, q)
	if err != nil {
		return engine.RunPage{}, err
	}
	page := engine.RunPage{Runs: make([]*engine.RunSummary, 0, len(runs)), Next: next, Scanned: len(runs)}
	for _, r := range runs {
		page.Runs = append(page.Runs, r.Summary())
	}
	return page, nil
}
