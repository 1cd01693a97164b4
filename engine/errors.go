package engine

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by the engine, its stores and the HTTP layer. Callers wrap
// them with %w; ui/errors.go is the one place that maps them to status codes.
var (
	// ErrNotFound: the flow, run, secret, user, token or key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: an id that must be unique is taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid: input that fails validation (a *ProblemsError carries the details).
	ErrInvalid = errors.New("invalid")
	// ErrSignature: a webhook failed verification.
	ErrSignature = errors.New("verification failed")
	// ErrBadBody: a request body does not parse as its content type says.
	ErrBadBody = errors.New("bad body")
	// ErrTooLarge: a body over its limit.
	ErrTooLarge = errors.New("body too large")
	// ErrUnsupported: a content encoding or media type that is refused.
	ErrUnsupported = errors.New("unsupported")
	// ErrMethod: an HTTP method the flow does not accept.
	ErrMethod = errors.New("method not allowed")
	// ErrDisabled: the flow exists but is disabled.
	ErrDisabled = errors.New("flow disabled")
	// ErrUnavailable: the store cannot take writes now (overload, full disk, closing).
	ErrUnavailable = errors.New("store unavailable")
	// ErrRateLimited: over a flow's rate limit.
	ErrRateLimited = errors.New("rate limited")
	// ErrConflict: the operation does not fit the object's state (cancel a finished run).
	ErrConflict = errors.New("conflict")
	// ErrBlockedAddress: an outgoing call to an address the SSRF guard refuses.
	ErrBlockedAddress = errors.New("blocked address")
)

// Problem is one validation finding, with the JSON path of what it concerns,
// e.g. {"path":"steps[1].with.url","message":"required"}.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems is every finding of one validation, in document order.
type Problems []Problem

// Add appends a problem.
func (ps *Problems) Add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, else a *ProblemsError.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return &ProblemsError{Problems: ps}
}

// ProblemsError carries validation problems; errors.Is(err, ErrInvalid) holds.
type ProblemsError struct{ Problems Problems }

func (e *ProblemsError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid flow: " + e.Problems[0].String()
	}
	return fmt.Sprintf("invalid flow: %s (and %d more problems)", e.Problems[0], len(e.Problems)-1)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ProblemsError) Unwrap() error { return ErrInvalid }

// RetryableError marks an action failure that a step's retry policy may retry,
// optionally no earlier than After (an HTTP Retry-After).
type RetryableError struct {
	Err   error
	After time.Duration
}

func (e *RetryableError) Error() string { return e.Err.Error() }
func (e *RetryableError) Unwrap() error { return e.Err }

// Retryable wraps err so that retry policies retry it, waiting at least after.
func Retryable(err error, after time.Duration) error {
	return &RetryableError{Err: err, After: after}
}

// PermanentError marks an action failure that retrying cannot fix (a 400, a
// refused recipient, a bad config). Errors that are neither Permanent nor
// Retryable (network errors, timeouts) are retried when the step has `retry`.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that retry policies do not retry it.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfter returns the wait an error asks for (zero when none).
func RetryAfter(err error) time.Duration {
	var r *RetryableError
	if errors.As(err, &r) {
		return r.After
	}
	return 0
}

// ErrFlowDeleted: a run's flow no longer exists, so the run cannot go on or
// be replayed. It wraps ErrNotFound.
var ErrFlowDeleted = fmt.Errorf("the flow was deleted: %w", ErrNotFound)
