package secrets

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
)

// Redacted replaces secret values.
const Redacted = "[redacted]"

// MinRedactLen is the shortest value a Redactor hides: shorter ones would
// blank out ordinary text.
const MinRedactLen = 4

// Redactor hides secret values in text and JSON-like data. It is immutable
// and safe for concurrent use; a nil *Redactor changes nothing.
type Redactor struct {
	values []string // longest first
}

// NewRedactor returns a Redactor for values, ignoring those shorter than
// MinRedactLen bytes. Each value is also hidden in its JSON-escaped and
// URL-escaped forms, as it would appear in a request body or a query string.
func NewRedactor(values []string) *Redactor {
	seen := map[string]bool{}
	var vs []string
	add := func(v string) {
		if len(v) >= MinRedactLen && !seen[v] {
			seen[v] = true
			vs = append(vs, v)
		}
	}
	for _, v := range values {
		add(v)
		if len(v) < MinRedactLen {
			continue
		}
		if b, err := json.Marshal(v); err == nil {
			add(string(b[1 : len(b)-1]))
		}
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
	}
	slices.SortStableFunc(vs, func(a, b string) int { return len(b) - len(a) })
	return &Redactor{values: vs}
}

// String returns s with every occurrence of a secret value replaced by
// [redacted]. Where occurrences of different values overlap, the whole
// overlapping span is replaced, so no part of either value shows.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < MinRedactLen {
		return s
	}
	var spans [][2]int
	for _, v := range r.values {
		if len(v) > len(s) {
			continue
		}
		for from := 0; ; {
			i := strings.Index(s[from:], v)
			if i < 0 {
				break
			}
			start := from + i
			spans = append(spans, [2]int{start, start + len(v)})
			from = start + len(v)
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	b.Grow(len(s))
	pos := 0
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] < end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(s[pos:start])
		b.WriteString(Redacted)
		pos = end
	}
	b.WriteString(s[pos:])
	return b.String()
}

// RedactString is String (engine.Redaction).
func (r *Redactor) RedactString(s string) string { return r.String(s) }

// RedactValue is Value (engine.Redaction).
func (r *Redactor) RedactValue(v any) any { return r.Value(v) }

// Value returns a deep copy of v with secret values redacted in every string
// (map keys included). v is JSON-like data: maps, slices, strings, numbers,
// booleans and nil; other values (structs, typed maps) are converted through
// JSON first. v itself is never modified.
//
// When nothing in v needs redacting, v itself is returned (no copy): the
// common case costs one read-only walk and no allocation.
func (r *Redactor) Value(v any) any {
	if r == nil || len(r.values) == 0 || !r.touches(v, 0) {
		return v
	}
	return r.value(v, 0)
}

// touches reports whether redaction could change v (true for types it does
// not walk, so that those take the careful path).
func (r *Redactor) touches(v any, depth int) bool {
	if depth > maxDepth {
		return true
	}
	switch x := v.(type) {
	case nil, bool, float64, float32, int, int64, int32, uint, uint64, uint32:
		return false
	case string:
		return r.hit(x)
	case json.Number:
		return r.hit(string(x))
	case map[string]any:
		for k, e := range x {
			if r.hit(k) || r.touches(e, depth+1) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if r.touches(e, depth+1) {
				return true
			}
		}
		return false
	case map[string]string:
		for k, e := range x {
			if r.hit(k) || r.hit(e) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if r.hit(e) {
				return true
			}
		}
		return false
	}
	return true
}

// hit reports whether s contains a secret value.
func (r *Redactor) hit(s string) bool {
	if len(s) < MinRedactLen {
		return false
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// maxDepth stops runaway recursion on pathological data.
const maxDepth = 10000

func (r *Redactor) value(v any, depth int) any {
	if depth > maxDepth {
		return Redacted
	}
	switch x := v.(type) {
	case nil, bool, float64, float32, int, int64, int32, uint, uint64, uint32:
		return v
	case string:
		return r.String(x)
	case json.Number:
		if s := r.String(string(x)); s != string(x) {
			return s
		}
		return x
	case []byte:
		return r.String(string(x))
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.String(k)] = r.value(e, depth+1)
		}
		return out
	case []any:
		if x == nil {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e, depth+1)
		}
		return out
	case map[string]string:
		if x == nil {
			return x
		}
		out := make(map[string]string, len(x))
		for k, e := range x {
			out[r.String(k)] = r.String(e)
		}
		return out
	case []string:
		if x == nil {
			return x
		}
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = r.String(e)
		}
		return out
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.String:
		return r.String(reflect.ValueOf(v).String())
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return v
	}
	// Anything else: through JSON, so that no field escapes redaction.
	data, err := json.Marshal(v)
	if err != nil {
		return Redacted
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return Redacted
	}
	return r.value(generic, depth+1)
}
