package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Answers that steps read into memory (an http step's answer) stay there
// for as long as their execution goes on: its later steps see them. Those
// over BigAnswer count against executingAnswerBytes while their executions
// run, so that many runs fetching large answers at once — 256 workers by
// default, each allowed a 5 MiB answer — cannot hold gigabytes. The bound
// is on the answers' bytes; decoded, a JSON list of objects takes about 5
// times its text (measured), so 24 MiB of answers are ≈ 150 MiB of memory
// (TestBigAnswersStayBounded: 189 MiB of anonymous memory, against 874
// MiB without the bound). Executions that already hold answers may take
// reserveAnswerBytes more (see room).
const (
	BigAnswer            = 64 << 10
	executingAnswerBytes = 24 << 20
	reserveAnswerBytes   = 24 << 20
	// maxRunAnswerBytes bounds the big answers one execution reads: it
	// depends on the flow alone, never on what other runs hold.
	maxRunAnswerBytes = 64 << 20
)

// answerRoom is what an execution holds of the bounds on answers.
type answerRoom struct {
	e        *Engine
	main     int64 // of Engine.answers
	reserve  int64 // of Engine.answerReserve
	read     int64 // big answers read, counted or not
	turnOnce sync.Once
	turn     *semaphore.Weighted // parallel branches ask in turn
}

// room is StepContext.Room for an execution's steps: it waits until n bytes
// of answer fit, and counts them until the execution ends (release). keep(m)
// gives back what was counted beyond the m bytes actually read.
//
// Waits never form a cycle: an execution holding nothing waits for the
// main bound; one holding some of it takes more only if it fits at once,
// else waits for the reserve; one holding some of the reserve never waits:
// it reads uncounted. So whoever waits waits for holders that do not, or
// for holders of nothing but main room who wait only for those. Bodies
// (Engine.bodies) are taken before an execution starts, never while it
// holds answers. Uncounted reads are bounded per execution, like all its
// big answers, by maxRunAnswerBytes: a step past it fails whatever other
// runs do, so a run's failure depends on its own flow alone.
func (a *answerRoom) room(ctx context.Context, n int64) (keep func(read int64), err error) {
	if n <= BigAnswer {
		return func(int64) {}, nil
	}
	a.turnOnce.Do(func() { a.turn = semaphore.NewWeighted(1) })
	if err := a.turn.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("waited for room to read a large answer: %w", err)
	}
	defer a.turn.Release(1)
	if a.read+n > maxRunAnswerBytes {
		return nil, Permanent(fmt.Errorf("answer not read: this run read %d MiB of answers over %d KiB already, and this one may take %d MiB more; a run may read %d MiB of them (lower max_response_bytes, or fetch less per run)",
			a.read>>20, BigAnswer>>10, (n+(1<<20)-1)>>20, maxRunAnswerBytes>>20))
	}
	e := a.e
	start := time.Now()
	waited := func(err error, bound int64) error {
		return fmt.Errorf("waited %s for room to read a large answer (the runs executing hold %d MiB of answers over %d KiB, the most they may): %w",
			time.Since(start).Round(time.Millisecond), bound>>20, BigAnswer>>10, err)
	}
	m := min(n, executingAnswerBytes)
	switch {
	case a.main == 0 && a.reserve == 0:
		if !e.answers.TryAcquire(m) {
			if err := e.answers.Acquire(ctx, m); err != nil {
				return nil, waited(err, executingAnswerBytes)
			}
		}
		return a.counted(&a.main, e.answers, m), nil
	case e.answers.TryAcquire(m):
		return a.counted(&a.main, e.answers, m), nil
	}
	r := min(n, reserveAnswerBytes)
	switch {
	case a.reserve == 0:
		if !e.answerReserve.TryAcquire(r) {
			if err := e.answerReserve.Acquire(ctx, r); err != nil {
				return nil, waited(err, executingAnswerBytes+reserveAnswerBytes)
			}
		}
		return a.counted(&a.reserve, e.answerReserve, r), nil
	case e.answerReserve.TryAcquire(r):
		return a.counted(&a.reserve, e.answerReserve, r), nil
	}
	return a.counted(nil, nil, 0), nil // uncounted: see above
}

// counted adds n taken from pool to *held (none when pool is nil) and
// returns the keep func, which also adds what was read to a.read.
func (a *answerRoom) counted(held *int64, pool *semaphore.Weighted, n int64) func(int64) {
	if pool != nil {
		*held += n
	}
	return func(read int64) {
		read = max(read, 0)
		a.turn.Acquire(context.Background(), 1) //nolint:errcheck // never fails without a deadline
		a.read += read
		give := n - read
		if pool != nil && give > 0 {
			*held -= give
		}
		a.turn.Release(1)
		if pool != nil && give > 0 {
			pool.Release(give)
		}
	}
}

// release gives back what the execution holds: it ended, so its steps
// (and their keep calls) have all returned.
func (a *answerRoom) release() {
	if a.main > 0 {
		a.e.answers.Release(a.main)
		a.main = 0
	}
	if a.reserve > 0 {
		a.e.answerReserve.Release(a.reserve)
		a.reserve = 0
	}
}
