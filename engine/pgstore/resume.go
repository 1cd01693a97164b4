package pgstore

import (
	"context"
	"fmt"
)

// ClaimResume stores value as the outcome of a wait step (run, step) unless
// one is stored already (engine.ResumeStore): the primary key decides, so of
// requests racing on any nodes exactly one wins; the others get the stored
// value. It returns after the commit.
func (s *Store) ClaimResume(ctx context.Context, runID, stepID string, value []byte) ([]byte, bool, error) {
	if runID == "" || stepID == "" {
		return nil, false, fmt.Errorf("claim resume: %w", errInvalid("empty run or step id"))
	}
	tag, err := s.pool.Exec(ctx, "INSERT INTO resumes (run_id, step_id, value) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		runID, stepID, nonNil(value))
	if err != nil {
		return nil, false, fmt.Errorf("claim resume of run %s step %s: %w", runID, stepID, s.fail(err))
	}
	if tag.RowsAffected() == 1 {
		return nil, true, nil
	}
	existing, err := s.GetResume(ctx, runID, stepID)
	if err != nil {
		return nil, false, err
	}
	return existing, false, nil
}

// GetResume returns the stored outcome of (run, step), or engine.ErrNotFound.
func (s *Store) GetResume(ctx context.Context, runID, stepID string) ([]byte, error) {
	v, err := s.getBytes(ctx, "SELECT value FROM resumes WHERE run_id = $1 AND step_id = $2", runID, stepID)
	if err != nil {
		return nil, fmt.Errorf("get resume of run %s step %s: %w", runID, stepID, err)
	}
	return v, nil
}

// DeleteResumes removes every outcome stored for a run.
func (s *Store) DeleteResumes(ctx context.Context, runID string) error {
	if err := s.exec(ctx, false, "DELETE FROM resumes WHERE run_id = $1", runID); err != nil {
		return fmt.Errorf("delete resumes of run %s: %w", runID, err)
	}
	return nil
}
