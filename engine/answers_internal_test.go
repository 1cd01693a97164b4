package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

// TestAnswerRoom: big answers wait for room among the executions' answers
// and count until their execution ends; small ones never wait; an execution
// that holds some does not wait for more; what was not read is given back.
func TestAnswerRoom(t *testing.T) {
	e := &Engine{answers: semaphore.NewWeighted(executingAnswerBytes)}
	ctx := context.Background()
	a, b := &runState{e: e}, &runState{e: e}

	keep, err := a.room(ctx, BigAnswer) // small: not counted
	if err != nil || a.answerBytes.Load() != 0 {
		t.Fatalf("small answer: counted %d, %v", a.answerBytes.Load(), err)
	}
	keep(BigAnswer)

	// a reserves the whole bound for an answer of unknown size, then reads 1 MiB.
	keep, err = a.room(ctx, 50<<20)
	if err != nil || a.answerBytes.Load() != executingAnswerBytes {
		t.Fatalf("reserved %d, %v", a.answerBytes.Load(), err)
	}
	// b holds nothing: it waits while the bound is full.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := b.room(short, 2<<20); err == nil || !strings.Contains(err.Error(), "room to read a large answer") {
		t.Fatalf("b did not wait for room: %v", err)
	}
	keep(1 << 20)
	if got := a.answerBytes.Load(); got != 1<<20 {
		t.Fatalf("after reading 1 MiB a holds %d", got)
	}
	// Now there is room for b.
	got := make(chan error, 1)
	go func() {
		k, err := b.room(ctx, executingAnswerBytes-(1<<20))
		if err == nil {
			k(executingAnswerBytes - (1 << 20))
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b still waits with room for it")
	}
	// The bound is full; a holds some, so it reads its next answer without
	// waiting (beyond the bound, uncounted) instead of waiting for b, which
	// might wait for it.
	done := make(chan error, 1)
	go func() {
		k, err := a.room(ctx, 4<<20)
		if err == nil {
			k(4 << 20)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || a.answerBytes.Load() != 1<<20 {
			t.Fatalf("a: %v, holds %d", err, a.answerBytes.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an execution holding answers waited for more")
	}
	// Executions end: everything is given back.
	a.releaseAnswers()
	b.releaseAnswers()
	if !e.answers.TryAcquire(executingAnswerBytes) {
		t.Fatal("answer bytes not given back when the executions ended")
	}
}
