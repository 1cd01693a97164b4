// This file implements RunStore.ListRunSummaries (run lists without the
// runs' data).

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
