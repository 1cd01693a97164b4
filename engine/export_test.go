package engine

import "golang.org/x/sync/semaphore"

// Bodies is the engine's bound on the big bodies executing at once.
func (e *Engine) Bodies() *semaphore.Weighted { return e.bodies }

// ExecutingBodyBytes is that bound's size.
const ExecutingBodyBytes = executingBodyBytes

// FillHeavySlots takes every slot of the guarded evaluations and returns
// the func that gives them back.
func FillHeavySlots() func() {
	for range cap(heavySlots) {
		heavySlots <- struct{}{}
	}
	return func() {
		for range cap(heavySlots) {
			<-heavySlots
		}
	}
}
