package engine

import (
	"context"
	"fmt"
	"time"
)

// Answers that steps read into memory (an http step's answer) stay there
// for as long as their execution goes on: its later steps see them. Those
// over BigAnswer count against executingAnswerBytes while their executions
// run, so that many runs fetching large answers at once — 256 workers by
// default, each allowed a 5 MiB answer — cannot hold gigabytes. The bound
// is on the answers' bytes; decoded, a JSON list of objects takes about 5
// times its text (measured), so 24 MiB of answers are ≈ 150 MiB of memory
// (TestBigAnswersStayBounded: 189 MiB of anonymous memory, against 874
// MiB without the bound).
const (
	BigAnswer            = 64 << 10
	executingAnswerBytes = 24 << 20
)

// room is StepContext.Room for st's steps: it waits until n bytes of answer
// fit among those the executions hold, and counts them against st until the
// execution ends. keep(m) gives back what was counted beyond the m bytes
// actually read.
//
// No execution waits while it holds answer bytes (it takes more only if they
// fit, and otherwise reads beyond the bound, once, for itself): an
// execution that waits holds none, and those that hold finish, so every wait
// ends. Parallel branches of one execution take turns (roomMu), so that two
// of them never both wait as if their execution held nothing.
func (st *runState) room(ctx context.Context, n int64) (keep func(read int64), err error) {
	if n <= BigAnswer {
		return func(int64) {}, nil
	}
	n = min(n, executingAnswerBytes)
	st.roomMu.Lock()
	defer st.roomMu.Unlock()
	if st.answerBytes.Load() > 0 {
		if !st.e.answers.TryAcquire(n) {
			return func(int64) {}, nil
		}
	} else if !st.e.answers.TryAcquire(n) {
		start := time.Now()
		if err := st.e.answers.Acquire(ctx, n); err != nil {
			return nil, fmt.Errorf("waited %s for room to read a large answer (the runs executing hold %d MiB of answers over %d KiB, the most they may): %w",
				time.Since(start).Round(time.Millisecond), executingAnswerBytes>>20, BigAnswer>>10, err)
		}
	}
	st.answerBytes.Add(n)
	return func(read int64) {
		if give := n - max(read, 0); give > 0 {
			st.answerBytes.Add(-give)
			st.e.answers.Release(give)
		}
	}, nil
}

// releaseAnswers gives back the answer bytes st holds: its execution ended.
func (st *runState) releaseAnswers() {
	if n := st.answerBytes.Swap(0); n > 0 {
		st.e.answers.Release(n)
	}
}
