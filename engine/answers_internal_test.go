package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

// TestAnswerRoom: big answers wait for room and count until their
// execution ends; small ones never wait; an execution holding some takes
// more only from what is free or from the reserve, and once it holds some
// of the reserve reads uncounted rather than wait; one run's answers are
// bounded whatever others hold; what was not read is given back.
func TestAnswerRoom(t *testing.T) {
	e := &Engine{answers: semaphore.NewWeighted(executingAnswerBytes), answerReserve: semaphore.NewWeighted(reserveAnswerBytes)}
	ctx := context.Background()
	a, b := &answerRoom{e: e}, &answerRoom{e: e}
	short := func() context.Context {
		c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	take := func(r *answerRoom, c context.Context, n, read int64) error {
		keep, err := r.room(c, n)
		if err == nil {
			keep(read)
		}
		return err
	}

	if err := take(a, ctx, BigAnswer, BigAnswer); err != nil || a.main != 0 {
		t.Fatalf("small answer: counted %d, %v", a.main, err)
	}
	// a asks for more than the bound (an answer of unknown size) and reads 1 MiB.
	if err := take(a, ctx, 50<<20, 1<<20); err != nil || a.main != 1<<20 {
		t.Fatalf("a holds %d after reading 1 MiB: %v", a.main, err)
	}
	// b takes the rest of the main bound.
	if err := take(b, ctx, executingAnswerBytes-(1<<20), executingAnswerBytes-(1<<20)); err != nil {
		t.Fatal(err)
	}
	// c holds nothing: it waits while the main bound is full.
	c := &answerRoom{e: e}
	if err := take(c, short(), 2<<20, 2<<20); err == nil || !strings.Contains(err.Error(), "room to read a large answer") {
		t.Fatalf("c did not wait for room: %v", err)
	}
	// a holds some: it takes from the reserve, without waiting.
	if err := take(a, ctx, 4<<20, 4<<20); err != nil || a.reserve != 4<<20 {
		t.Fatalf("a's second answer: reserve %d, %v", a.reserve, err)
	}
	// a holds some of the reserve and there is no room: it reads uncounted
	// rather than wait (it could wait for b, which may wait for it).
	if err := take(a, ctx, 21<<20, 21<<20); err != nil || a.main != 1<<20 || a.reserve != 4<<20 {
		t.Fatalf("a's third answer: main %d, reserve %d, %v", a.main, a.reserve, err)
	}
	if a.read != 26<<20 {
		t.Fatalf("a read %d, want 26 MiB", a.read)
	}
	// What one run reads is bounded whatever the others hold.
	if err := take(a, ctx, 40<<20, 40<<20); err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "a run may read 64 MiB") {
		t.Fatalf("a's answer past its own bound: %v", err)
	}
	// b holds only main room: it waits for the reserve, which a gives back when it ends.
	got := make(chan error, 1)
	go func() { got <- take(b, ctx, reserveAnswerBytes, reserveAnswerBytes) }()
	select {
	case err := <-got:
		t.Fatalf("b did not wait for the reserve: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	a.release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b still waits with the reserve free")
	}
	// c gets a's main room now.
	if err := take(c, ctx, 1<<20, 1<<20); err != nil {
		t.Fatal(err)
	}
	b.release()
	c.release()
	if !e.answers.TryAcquire(executingAnswerBytes) || !e.answerReserve.TryAcquire(reserveAnswerBytes) {
		t.Fatal("answer bytes not given back when the executions ended")
	}
}
