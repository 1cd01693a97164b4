// Package jsbox runs the JavaScript of `code` steps in a sandbox.
//
// The engine sits behind the small Sandbox interface so it can change. The
// sandbox, not its callers, enforces the limits: a run gets no network, file
// or process access (the engine has no such globals), it is stopped at its
// time limit, and its heap is capped (an allocation past the cap fails inside
// the engine, before the memory is taken from the process). Every run gets a
// fresh engine instance, so nothing one run leaves in the global scope is seen
// by another.
//
// The implementation is QuickJS, transpiled to pure Go (modernc.org/quickjs):
// no cgo, and its own allocator accounting gives a real memory cap
// (JS_SetMemoryLimit) and an interrupt handler polled by the bytecode
// interpreter for the time limit.
package jsbox

import (
	"context"
	"fmt"
	"time"
)

// Default limits (SPEC §5: with.timeout defaults to 1s, memory to 64 MiB).
const (
	DefaultTimeout = time.Second
	DefaultMemory  = 64 << 20
	// MaxOutput bounds what a run returns, as JSON (like an HTTP answer).
	MaxOutput = 5 << 20
	// MaxLogBytes and MaxLogLines bound console output kept per run; a line
	// longer than MaxLogLine characters is cut.
	MaxLogBytes = 64 << 10
	MaxLogLines = 1000
	MaxLogLine  = 8 << 10
)

// Params are the names in scope for the source, in order.
var Params = []string{"trigger", "steps", "vars", "run", "flow", "item", "index"}

// Limits bound one run. Zero values take the defaults.
type Limits struct {
	Timeout time.Duration
	Memory  int64 // bytes
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	return l
}

// Result is what a run gives back.
type Result struct {
	// Output is the returned value decoded from JSON (nil for undefined).
	Output any
	// Logs are the console.log lines, in order.
	Logs []string
}

// Sandbox runs a function body with data in scope.
type Sandbox interface {
	// Check parses source as a function body without running it; a syntax
	// error is an *Error of kind KindSyntax with its line.
	Check(source string) error
	// Run calls source as a function body with the values of data named by
	// Params as its arguments (plain JSON data). Logs are returned also when
	// the run fails. A failed run's error is an *Error, or ctx's error when
	// ctx ended first.
	Run(ctx context.Context, source string, data map[string]any, lim Limits) (*Result, error)
}

// Kind says why a run failed.
type Kind string

// Failure kinds.
const (
	KindSyntax  Kind = "syntax"  // the source does not parse
	KindThrow   Kind = "throw"   // the code threw
	KindTimeout Kind = "timeout" // ran past Limits.Timeout
	KindMemory  Kind = "memory"  // allocated past Limits.Memory
	KindOutput  Kind = "output"  // returned something that is not JSON or too large
	KindInput   Kind = "input"   // the data could not be handed over
)

// Error is a failed check or run.
type Error struct {
	Kind    Kind
	Message string // e.g. "TypeError: cannot read property 'x' of undefined"
	Line    int    // 1-based line in the source; 0 when unknown
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d)", e.Message, e.Line)
	}
	return e.Message
}

func timeoutError(d time.Duration) *Error {
	return &Error{Kind: KindTimeout, Message: fmt.Sprintf("code ran longer than its time limit of %s and was stopped", d)}
}

func memoryError(n int64) *Error {
	return &Error{Kind: KindMemory, Message: fmt.Sprintf("code used more than its memory limit of %s and was stopped", mib(n))}
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
