package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds the nesting of objects and arrays DecodeJSON reads.
const maxJSONDepth = 1000

func badJSON(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadBody}, args...)...)
}

// The JSON decoder webhooks are parsed with (and run records read back): the
// same values as encoding/json into an any, in about half the CPU.

// DecodeJSON decodes JSON into plain data as encoding/json does into an any
// (objects as map[string]any, arrays as []any, numbers as float64, invalid
// UTF-8 replaced by U+FFFD; a repeated key keeps its last value), but more
// than twice as fast and with nesting bounded to 1000 levels. Errors wrap
// ErrBadBody and name the byte offset.
func DecodeJSON(data []byte) (any, error) {
	// One string copy of the input: unescaped strings and keys are substrings
	// of it, so they cost no allocation each.
	p := jsonParser{data: data, s: string(data)}
	p.skipWS()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos < len(p.data) {
		return nil, p.fail("invalid character %s after top-level value", quoteChar(p.data[p.pos]))
	}
	return v, nil
}

type jsonParser struct {
	data  []byte
	s     string // data as a string
	pos   int
	depth int
	// Scratch stacks: an object's pairs and an array's items are gathered here
	// first, so that each map and slice is allocated once at its final size.
	pairs []jsonPair
	items []any
}

type jsonPair struct {
	k string
	v any
}

func (p *jsonParser) fail(format string, args ...any) error {
	return badJSON("malformed JSON at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *jsonParser) eof() error {
	return p.fail("unexpected end of JSON input")
}

func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	if c >= utf8.RuneSelf {
		s = fmt.Sprintf(`"\x%02x"`, c)
	}
	return "'" + s[1:len(s)-1] + "'"
}

func (p *jsonParser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.eof()
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.fail("invalid character %s looking for beginning of value", quoteChar(c))
	}
}

func (p *jsonParser) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if p.pos >= len(p.data) {
			return p.eof()
		}
		if p.data[p.pos] != word[i] {
			return p.fail("invalid character %s in literal %s (expecting '%c')", quoteChar(p.data[p.pos]), word, word[i])
		}
		p.pos++
	}
	return nil
}

func (p *jsonParser) enter() error {
	if p.depth++; p.depth > maxJSONDepth {
		return p.fail("nested deeper than %d levels", maxJSONDepth)
	}
	return nil
}

func (p *jsonParser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	mark := len(p.pairs)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return map[string]any{}, nil
	}
	for {
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.pos] != '"' {
			return nil, p.fail("invalid character %s looking for beginning of object key string", quoteChar(p.data[p.pos]))
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		if p.data[p.pos] != ':' {
			return nil, p.fail("invalid character %s after object key", quoteChar(p.data[p.pos]))
		}
		p.pos++
		p.skipWS()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.pairs = append(p.pairs, jsonPair{k, v})
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipWS()
		case '}':
			p.pos++
			p.depth--
			pairs := p.pairs[mark:]
			m := make(map[string]any, len(pairs))
			for i := range pairs {
				m[pairs[i].k] = pairs[i].v
				pairs[i] = jsonPair{}
			}
			p.pairs = p.pairs[:mark]
			return m, nil
		default:
			return nil, p.fail("invalid character %s after object key:value pair", quoteChar(p.data[p.pos]))
		}
	}
}

func (p *jsonParser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	mark := len(p.items)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return []any{}, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.items = append(p.items, v)
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.eof()
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipWS()
		case ']':
			p.pos++
			p.depth--
			a := make([]any, len(p.items)-mark)
			copy(a, p.items[mark:])
			clear(p.items[mark:])
			p.items = p.items[:mark]
			return a, nil
		default:
			return nil, p.fail("invalid character %s after array element", quoteChar(p.data[p.pos]))
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	d := p.data
	i := p.pos
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	simple := true
	switch {
	case i >= len(d):
		p.pos = i
		return nil, p.eof()
	case d[i] == '0':
		i++
	case d[i] >= '1' && d[i] <= '9':
		digits()
	default:
		p.pos = i
		return nil, p.fail("invalid character %s in numeric literal", quoteChar(d[i]))
	}
	if i < len(d) && d[i] == '.' {
		simple = false
		i++
		if i >= len(d) {
			p.pos = i
			return nil, p.eof()
		}
		if digits() == 0 {
			p.pos = i
			return nil, p.fail("invalid character %s after decimal point in numeric literal", quoteChar(d[i]))
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		simple = false
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) {
			p.pos = i
			return nil, p.eof()
		}
		if digits() == 0 {
			p.pos = i
			return nil, p.fail("invalid character %s in exponent of numeric literal", quoteChar(d[i]))
		}
	}
	p.pos = i
	lit := d[start:i]
	if simple && len(lit) <= 16 {
		// Up to 15 digits: exact in a float64, no strconv needed.
		neg := lit[0] == '-'
		ds := lit
		if neg {
			ds = lit[1:]
		}
		if len(ds) <= 15 {
			var n int64
			for _, c := range ds {
				n = n*10 + int64(c-'0')
			}
			f := float64(n)
			if neg {
				f = -f
			}
			return f, nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		p.pos = start
		return nil, p.fail("number %s out of range", abbreviate(string(lit), 40))
	}
	return f, nil
}

// str reads a string literal starting at the opening quote.
func (p *jsonParser) str() (string, error) {
	d := p.data
	start := p.pos + 1
	i := start
	for i < len(d) {
		c := d[i]
		if c == '"' {
			p.pos = i + 1
			return p.s[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	return p.strSlow(start, i)
}

// strSlow handles escapes, control characters and non-ASCII bytes, as
// encoding/json does (invalid UTF-8 and lone surrogates become U+FFFD).
func (p *jsonParser) strSlow(start, i int) (string, error) {
	d := p.data
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, d[start:i]...)
	for {
		if i >= len(d) {
			p.pos = i
			return "", p.eof()
		}
		c := d[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.fail("invalid character %s in string literal", quoteChar(c))
		case c == '\\':
			if i+1 >= len(d) {
				p.pos = i + 1
				return "", p.eof()
			}
			e := d[i+1]
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4(i + 2)
				if err != nil {
					return "", err
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := p.peekU(i); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				p.pos = i + 1
				return "", p.fail("invalid character %s in string escape code", quoteChar(e))
			}
			i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, d[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 reads the 4 hex digits of a \u escape at d[at:].
func (p *jsonParser) hex4(at int) (rune, error) {
	var r rune
	for k := 0; k < 4; k++ {
		if at+k >= len(p.data) {
			p.pos = at + k
			return 0, p.eof()
		}
		c := p.data[at+k]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			p.pos = at + k
			return 0, p.fail("invalid character %s in \\u hexadecimal character escape", quoteChar(c))
		}
		r = r<<4 | rune(v)
	}
	return r, nil
}

// peekU reads a following \uXXXX escape without failing (for surrogate pairs).
func (p *jsonParser) peekU(at int) (rune, bool) {
	d := p.data
	if at+6 > len(d) || d[at] != '\\' || d[at+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range d[at+2 : at+6] {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// AppendJSON appends v's JSON as encoding/json writes it (map keys sorted,
// HTML characters escaped, invalid UTF-8 as U+FFFD), without reflection for
// plain data (what DecodeJSON returns, and ints, map[string]string,
// []string); other types go through encoding/json. It is the encoder of run
// records and of action bodies.
func AppendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		return appendJSONFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case map[string]any:
		return appendJSONObject(b, x, AppendJSON)
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]string:
		return appendJSONObject(b, x, func(b []byte, s string) ([]byte, error) { return appendJSONString(b, s), nil })
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e)
		}
		return append(b, ']'), nil
	default:
		js, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return append(b, js...), nil
	}
}

// appendJSONObject appends m as a JSON object, keys sorted.
func appendJSONObject[V any](b []byte, m map[string]V, value func([]byte, V) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = value(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSONFloat formats f as encoding/json does.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does: <, > and & escaped,
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// CopyJSON returns a copy of v as a JSON decode into an any would give it
// back — maps, lists, strings, float64, bools, nil; a nil map or list is nil
// — and false for anything else (another type, invalid UTF-8, which
// encoding/json would replace, or nesting deeper than 1,000). A fast decode
// keeps the copy: the value may be the run's own (`{{ vars }}`), which
// parallel branches go on writing while the action runs.
func CopyJSON(v any) (any, bool) { return copyJSON(v, 0) }

func copyJSON(v any, depth int) (any, bool) {
	if depth > maxJSONDepth {
		return nil, false
	}
	switch x := v.(type) {
	case nil, bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case map[string]any:
		if x == nil {
			return nil, true
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, ok := copyJSON(e, depth+1)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = c
		}
		return out, true
	case []any:
		if x == nil {
			return nil, true
		}
		out := make([]any, len(x))
		for i, e := range x {
			c, ok := copyJSON(e, depth+1)
			if !ok {
				return nil, false
			}
			out[i] = c
		}
		return out, true
	}
	return nil, false
}
