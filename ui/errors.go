package ui

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/hookflow/hookflow/engine"
)

// statusOf is the one place that maps engine errors to HTTP status codes.
func statusOf(err error) int {
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrDisabled):
		return fiber.StatusNotFound
	case errors.Is(err, engine.ErrExists), errors.Is(err, engine.ErrConflict):
		return fiber.StatusConflict
	case errors.Is(err, engine.ErrInvalid):
		return fiber.StatusUnprocessableEntity
	case errors.Is(err, engine.ErrSignature):
		return fiber.StatusUnauthorized
	case errors.Is(err, engine.ErrBadBody):
		return fiber.StatusBadRequest
	case errors.Is(err, engine.ErrTooLarge):
		return fiber.StatusRequestEntityTooLarge
	case errors.Is(err, engine.ErrUnsupported):
		return fiber.StatusUnsupportedMediaType
	case errors.Is(err, engine.ErrMethod):
		return fiber.StatusMethodNotAllowed
	case errors.Is(err, engine.ErrRateLimited):
		return fiber.StatusTooManyRequests
	case errors.Is(err, engine.ErrUnavailable):
		return fiber.StatusServiceUnavailable
	}
	return fiber.StatusInternalServerError
}

// jsonError answers {"error":"…"} (and "problems" for validation errors).
func (s *Server) jsonError(c *fiber.Ctx, err error) error {
	err = s.redacted(err)
	code := statusOf(err)
	body := fiber.Map{"error": errorText(err, code)}
	var pe *engine.ProblemsError
	if errors.As(err, &pe) {
		body["problems"] = pe.Problems
	}
	if code == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	return c.Status(code).JSON(body)
}

// errorText is an error answer's message (secret values already redacted);
// a 500 says it is an internal error.
func errorText(err error, code int) string {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	msg := err.Error()
	if code == fiber.StatusInternalServerError {
		return "internal error: " + msg
	}
	return strings.TrimSpace(msg)
}

// redacted hides secret values in an error's text.
func (s *Server) redacted(err error) error {
	msg := s.eng.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// routedKey marks (in Locals) a request that reached the router.
type routedKey struct{}

// errorHandler answers errors returned by handlers and by fiber itself (413 on
// bodies over the server's limit): JSON under /api and /hooks, a page
// elsewhere. Refusals made before routing (431 headers too large, 408, a
// request fasthttp cannot parse) are JSON whatever the path: the request may
// not even have one.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	err = s.redacted(err)
	p := c.Path()
	if c.Locals(routedKey{}) == nil || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/hooks/") || strings.HasPrefix(p, "/healthz") {
		return s.jsonError(c, err)
	}
	code := statusOf(err)
	return s.errorPage(c, code, errorText(err, code))
}
