// Package actions holds the step kinds that do something outside the engine:
// HTTP calls, email, CRMs, chat, signed webhooks, and the built-in data store.
//
// Each kind is one file: a Spec (the `with` reference and the editor form), a
// typed config and Run. Outgoing calls use only the StepContext's guarded
// client and dialer (the SSRF guard), and classify failures: engine.Retryable
// for answers a later attempt may fix (408, 429, 5xx, honouring Retry-After),
// engine.Permanent for those it cannot (other 4xx, bad settings, refused
// recipients); network errors and timeouts stay plain and are retried when the
// step has a retry policy.
package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/secrets"
)

// Register adds every action kind to r, one line each.
func Register(r *engine.Registry) {
	r.AddAction(httpKind)
	r.AddAction(emailKind)
	r.AddAction(hubspotKind)
	r.AddAction(pipedriveKind)
	r.AddAction(slackKind)
	r.AddAction(discordKind)
	r.AddAction(webhookKind)
	r.AddAction(storeKind)
	r.AddAction(logKind)
	r.AddAction(codeKind)
	r.AddAction(aiKind)
	apps, err := NewApps()
	if err != nil {
		panic("actions: " + err.Error()) // the embedded app files are tested
	}
	r.SetSource(apps)
}

const (
	// defaultMaxResponse bounds the answers actions read (5 MiB).
	defaultMaxResponse = 5 << 20
	// maxMaxResponse is the largest max_response_bytes accepted (50 MiB).
	maxMaxResponse = 50 << 20
	// errorSnippet is how much of an error answer's body an error message quotes.
	errorSnippet = 300
	// maxRetryAfter caps a server's Retry-After.
	maxRetryAfter = 24 * time.Hour
)

// isTemplate reports whether s still holds a {{ }} template (a save-time check
// then skips rules that only the evaluated value can satisfy).
func isTemplate(s string) bool { return strings.Contains(s, "{{") }

// checkURL accepts absolute http and https URLs.
func checkURL(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", field)
	}
	if isTemplate(raw) {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a valid URL", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s must start with http:// or https://", field)
	}
	if u.Host == "" {
		return fmt.Errorf("%s has no host", field)
	}
	return nil
}

// httpClient returns the guarded client; actions never fall back to another.
func httpClient(sc *engine.StepContext) (*http.Client, error) {
	if sc == nil || sc.HTTP == nil {
		return nil, engine.Permanent(errors.New("no HTTP client configured for actions"))
	}
	return sc.HTTP, nil
}

func now(sc *engine.StepContext) time.Time {
	if sc != nil && sc.Now != nil {
		return sc.Now()
	}
	return time.Now()
}

// answer is a read HTTP response.
type answer struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   any // parsed JSON when the answer is JSON, else the text
}

// output is the {status, headers, body} shape of the http action.
func (a *answer) output() map[string]any {
	return map[string]any{"status": a.Status, "headers": lowerHeaders(a.Header), "body": a.Body}
}

// send runs req with client, reads at most max bytes of the answer and
// classifies it: a nil error means 2xx. op names the operation in errors;
// secrets are removed from any error text.
func send(sc *engine.StepContext, client *http.Client, req *http.Request, op string, max int64, secrets []string) (*answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, transportError(req.Context(), op, err, secrets)
	}
	defer resp.Body.Close()
	raw, err := readAnswer(req.Context(), sc, resp, max)
	if err != nil {
		return nil, transportError(req.Context(), op, err, secrets)
	}
	clock := now(sc)
	a := &answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw, Body: parseBody(resp.Header.Get("Content-Type"), raw)}
	return a, classify(op, resp, raw, clock, secrets)
}

// sendJSON sends body (nil for none) as JSON with the given headers and
// classifies the answer (see send).
func sendJSON(ctx context.Context, sc *engine.StepContext, op, method, u string, header http.Header, body any, secrets []string) (*answer, error) {
	client, err := httpClient(sc)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, engine.Permanent(fmt.Errorf("%s: encode body: %w", op, err))
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("%s: %s", op, redact(err.Error(), secrets)))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return send(sc, client, req, op, defaultMaxResponse, secrets)
}

// classify turns a non-2xx answer into an error:
// "op: HTTP 404 Not Found: <first 300 bytes of body>". 408, 429 and 5xx are
// Retryable (with the server's Retry-After), other statuses Permanent.
func classify(op string, resp *http.Response, body []byte, clock time.Time, secrets []string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err := statusError(op, resp.StatusCode, body, secrets)
	if retryableStatus(resp.StatusCode) {
		return engine.Retryable(err, retryAfter(resp.Header.Get("Retry-After"), clock))
	}
	return engine.Permanent(err)
}

// retryableStatus reports whether a later attempt may get another answer.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

func statusError(op string, code int, body []byte, secrets []string) error {
	msg := fmt.Sprintf("%s: HTTP %d %s", op, code, http.StatusText(code))
	if s := snippet(body, secrets); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

// snippet returns the first errorSnippet bytes of body as clean one-line text.
func snippet(body []byte, secrets []string) string {
	b := body
	if len(b) > errorSnippet {
		b = b[:errorSnippet]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.ToValidUTF8(string(b), "�")
	s = strings.Join(strings.Fields(s), " ")
	return redact(s, secrets)
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP-date.
func retryAfter(v string, clock time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(clock)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// transportError names the operation and marks what retrying cannot fix (a
// blocked address, too many redirects). Timeouts say so.
func transportError(ctx context.Context, op string, err error, secrets []string) error {
	var e error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		e = fmt.Errorf("%s: timed out: %w", op, err)
	default:
		e = fmt.Errorf("%s: %w", op, err)
	}
	e = redactErr(e, secrets)
	if errors.Is(err, engine.ErrBlockedAddress) || errors.Is(err, errTooLarge) {
		return engine.Permanent(e)
	}
	return e
}

var errTooLarge = errors.New("response too large")

// readAnswer reads an answer of at most max bytes. One over
// engine.BigAnswer first waits for room among the answers the runs executing
// hold (sc.Room): for its Content-Length, or when that is not given, for max
// once its first engine.BigAnswer bytes are read. An answer whose
// Content-Length is over max fails at once, without waiting.
func readAnswer(ctx context.Context, sc *engine.StepContext, resp *http.Response, max int64) ([]byte, error) {
	if max <= 0 {
		max = defaultMaxResponse
	}
	want := resp.ContentLength
	if resp.Body == http.NoBody { // HEAD, 204, 304: a Content-Length, no body
		return nil, nil
	}
	if want > max {
		return nil, fmt.Errorf("%w: %d bytes, over %d bytes (raise max_response_bytes)", errTooLarge, want, max)
	}
	if sc == nil || sc.Room == nil || (want >= 0 && want <= engine.BigAnswer) {
		return readLimited(resp.Body, max)
	}
	var head []byte
	if want < 0 {
		var err error
		if head, err = readLimited(io.LimitReader(resp.Body, engine.BigAnswer+1), max); err != nil {
			return nil, err
		}
		if len(head) <= engine.BigAnswer {
			return head, nil
		}
		want = max + 1
	}
	keep, err := sc.Room(ctx, min(want, max+1))
	if err != nil {
		return nil, err
	}
	b, err := readLimited(io.MultiReader(bytes.NewReader(head), resp.Body), max)
	keep(int64(len(b)))
	return b, err
}

// readLimited reads r up to max bytes; a longer answer is an error.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	if max <= 0 {
		max = defaultMaxResponse
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes (raise max_response_bytes)", errTooLarge, max)
	}
	return b, nil
}

// parseBody returns JSON answers parsed and other answers as text (nil when empty).
func parseBody(contentType string, b []byte) any {
	if len(b) == 0 {
		return nil
	}
	if isJSONType(contentType) {
		if v, err := engine.DecodeJSON(b); err == nil { // encoding/json's values, in half the CPU
			return v
		}
		var v any
		if err := json.Unmarshal(b, &v); err == nil { // nested deeper than DecodeJSON reads
			return v
		}
	}
	return strings.ToValidUTF8(string(b), "�")
}

func isJSONType(ct string) bool {
	if ct == "application/json" || ct == "application/json; charset=utf-8" { // most answers: no parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// lowerHeaders returns headers with lower-case names, repeated values joined with ", ".
func lowerHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		out[lowerName(k)] = strings.Join(vs, ", ")
	}
	return out
}

// lowerName lower-cases a header name; common names cost no allocation.
func lowerName(k string) string {
	switch k {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Date":
		return "date"
	case "Server":
		return "server"
	case "Connection":
		return "connection"
	case "Cache-Control":
		return "cache-control"
	case "Vary":
		return "vary"
	}
	return strings.ToLower(k)
}

// redact replaces every secret in s (and its escaped forms) with "[redacted]",
// with the engine's redactor (overlapping values hide whole).
func redact(s string, values []string) string {
	return secrets.NewRedactor(values).String(s)
}

// redactedError shows a message without secrets and still unwraps to the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with secrets removed from its message.
func redactErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := redact(msg, secrets); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// messageKey identifies one message a step sends, the same for every attempt
// of the step in its run (the idempotency key), so receivers can recognise a
// retry as the same message.
func messageKey(sc *engine.StepContext) string {
	if sc.IdempotencyKey == "" {
		return sc.RunID + ":" + sc.StepID
	}
	return sc.IdempotencyKey
}

// withTimeout bounds ctx by d when d > 0.
func withTimeout(ctx context.Context, d engine.Duration) (context.Context, context.CancelFunc) {
	if d.D() > 0 {
		return context.WithTimeout(ctx, d.D())
	}
	return context.WithCancel(ctx)
}

// joinURL appends path to a base URL ("https://api.hubapi.com" + "/crm/v3/…").
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}

// oneOf reports whether v is one of the options.
func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if v == o {
			return true
		}
	}
	return false
}
