package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// clock is the time source of the starters (schedule, poll, reconcile): the
// StartContext's Now and After, so that tests drive them with a fake clock.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

// clockOf returns sc's clock, falling back to the real one.
func clockOf(sc *engine.StartContext) clock {
	c := clock{now: sc.Now, after: sc.After}
	if c.now == nil {
		c.now = time.Now
	}
	if c.after == nil {
		c.after = time.After
	}
	return c
}

// sleep waits d (at once when d <= 0) and reports false when ctx ended first.
func (c clock) sleep(ctx context.Context, d time.Duration) bool {
	if d < 0 {
		d = 0
	}
	select {
	case <-ctx.Done():
		return false
	case <-c.after(d):
		return ctx.Err() == nil
	}
}

// getState reads a JSON state value of the flow into v; ok is false when
// nothing is stored yet.
func getState(ctx context.Context, sc *engine.StartContext, name string, v any) (ok bool, err error) {
	if sc.State == nil {
		return false, nil
	}
	b, err := sc.State.GetState(ctx, sc.Flow.ID, name)
	if errors.Is(err, engine.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("read state %s: %w", name, err)
	}
	return true, nil
}

// putState stores v as JSON under the flow's state name.
func putState(ctx context.Context, sc *engine.StartContext, name string, v any) error {
	if sc.State == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write state %s: %w", name, err)
	}
	return sc.State.PutState(ctx, sc.Flow.ID, name, b)
}

// logf logs through sc when it can.
func logf(sc *engine.StartContext, format string, args ...any) {
	if sc.Logf != nil {
		sc.Logf(format, args...)
	}
}
