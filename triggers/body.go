package triggers

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hookflow/hookflow/engine"
)

// Limits that bound what parsing a body may cost beyond the body's own size.
const (
	// DefaultBodyLimit is a webhook's body limit when neither the flow nor the
	// server sets one: 1 MiB.
	DefaultBodyLimit  int64 = 1 << 20
	maxJSONDepth            = 1000 // nesting of objects and arrays
	maxXMLDepth             = 256  // nesting of elements
	maxXMLElements          = 100000
	maxMultipartParts       = 1000
	maxFormFields           = 10000
)

// FileContents holds uploaded files' bytes, base64-encoded (standard
// alphabet), keyed by each file's sha256 hex digest. It is filled only for
// webhooks with keep_files.
type FileContents map[string]string

// Parsed is a parsed request body.
type Parsed struct {
	// Body is the data: maps, slices, strings, float64, bool or nil.
	Body any
	// Files describes multipart uploads; nil for every other content type.
	Files []engine.File
	// Contents holds the uploads' bytes when asked for (keep_files).
	Contents FileContents
	// KeepRaw is false only for multipart bodies: their raw bytes hold the
	// uploads, which are not kept unless the flow asks (keep_files).
	KeepRaw bool
	// XML is an XML body parsed into a map (trigger.xml); nil when the body
	// is not XML or does not parse.
	XML any
	// JSON is set for JSON bodies: Body is this document, decoded.
	JSON bool
}

// ParseBody parses a request body as its Content-Type header says:
//
//   - application/json and */*+json: JSON data, numbers as float64;
//   - application/x-www-form-urlencoded: fields as strings, a repeated field as
//     a list of strings;
//   - multipart/form-data: fields likewise, uploads as files (name, size,
//     content type, sha256) whose bytes are not kept;
//   - application/xml, text/xml and */*+xml: the raw text (SPEC §2), and in
//     Parsed.XML a map built from it (attributes as "@name", mixed text as
//     "#text", repeated elements as lists) when it is well-formed;
//   - text/*: the text as a string;
//   - an empty body: nil; any other type: the bytes as a string.
//
// A body that does not parse as its type says is an error wrapping
// engine.ErrBadBody. Only multipart parsing yields files: whatever a JSON body
// contains stays data.
func ParseBody(contentType string, raw []byte) (body any, files []engine.File, err error) {
	p, err := ParseBodyKeep(contentType, raw, false)
	return p.Body, p.Files, err
}

// ParseBodyKeep is ParseBody that also returns whether the raw text is worth
// keeping and, when keepFiles is set, the uploaded files' bytes.
func ParseBodyKeep(contentType string, raw []byte, keepFiles bool) (Parsed, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && mt == "" {
		mt = "" // unparseable Content-Type: treat the body as opaque text
	}
	if len(raw) == 0 {
		return Parsed{KeepRaw: true}, nil
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if isBlank(raw) {
			return Parsed{KeepRaw: true}, nil
		}
		v, err := DecodeJSON(raw)
		if err != nil {
			return Parsed{}, err
		}
		return Parsed{Body: v, KeepRaw: true, JSON: true}, nil
	case mt == "application/x-www-form-urlencoded":
		v, err := parseForm(raw)
		if err != nil {
			return Parsed{}, err
		}
		return Parsed{Body: v, KeepRaw: true}, nil
	case mt == "multipart/form-data":
		return parseMultipart(params["boundary"], raw, keepFiles)
	case mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"):
		p := Parsed{Body: string(raw), KeepRaw: true}
		if !isBlank(raw) {
			p.XML, _ = parseXML(raw) // malformed XML stays text
		}
		return p, nil
	}
	return Parsed{Body: string(raw), KeepRaw: true}, nil
}

func isBlank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

func badBody(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{engine.ErrBadBody}, args...)...)
}

// parseForm reads an urlencoded body: one value → string, several → []any.
func parseForm(raw []byte) (map[string]any, error) {
	out := map[string]any{}
	s := string(raw)
	n := 0
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if n++; n > maxFormFields {
			return nil, badBody("form with more than %d fields", maxFormFields)
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, badBody("malformed form field name %q: %v", abbrev(k, 40), err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, badBody("malformed form field %q: %v", abbrev(key, 40), err)
		}
		addValue(out, key, val)
	}
	return out, nil
}

// addValue sets m[k] = v, turning a repeated key into a list of strings.
func addValue(m map[string]any, k, v string) {
	switch old := m[k].(type) {
	case nil:
		m[k] = v
	case string:
		m[k] = []any{old, v}
	case []any:
		m[k] = append(old, v)
	}
}

func parseMultipart(boundary string, raw []byte, keepFiles bool) (Parsed, error) {
	if boundary == "" {
		return Parsed{}, badBody("multipart body without a boundary parameter")
	}
	fields := map[string]any{}
	files := []engine.File{}
	var contents FileContents
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Parsed{}, badBody("malformed multipart body: %v", err)
		}
		if n >= maxMultipartParts {
			return Parsed{}, badBody("multipart body with more than %d parts", maxMultipartParts)
		}
		name := part.FormName()
		if name == "" {
			continue
		}
		filename := part.FileName()
		if filename == "" {
			// A field (or a file input left empty, as net/http reads it): its
			// bytes are part of raw, so reading them is bounded by the body size.
			b, err := io.ReadAll(part)
			if err != nil {
				return Parsed{}, badBody("malformed multipart field %q: %v", abbrev(name, 40), err)
			}
			addValue(fields, name, string(b))
			continue
		}
		h := sha256.New()
		var buf *bytes.Buffer
		var w io.Writer = h
		if keepFiles {
			buf = new(bytes.Buffer)
			w = io.MultiWriter(h, buf)
		}
		size, err := io.Copy(w, part)
		if err != nil {
			return Parsed{}, badBody("malformed multipart file %q: %v", abbrev(name, 40), err)
		}
		sum := hex.EncodeToString(h.Sum(nil))
		ct := part.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		files = append(files, engine.File{Field: name, Filename: filename, ContentType: ct, Size: size, SHA256: sum})
		if keepFiles {
			if contents == nil {
				contents = FileContents{}
			}
			contents[sum] = base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	return Parsed{Body: fields, Files: files, Contents: contents}, nil
}

// Inflate undoes a Content-Encoding: "" and "identity" return body as is,
// "gzip" (or "x-gzip") and "deflate" (zlib or raw) inflate it, never holding
// more than limit bytes of output (engine.ErrTooLarge beyond). Any other
// encoding is refused with engine.ErrUnsupported. A limit ≤ 0 means
// DefaultBodyLimit.
func Inflate(encoding string, body []byte, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	var r io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
	case "", "identity":
		if int64(len(body)) > limit {
			return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", engine.ErrTooLarge, len(body), limit)
		}
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, badBody("malformed gzip body: %v", err)
		}
		r = zr
	case "deflate":
		if len(body) >= 2 && body[0]&0x0f == 8 && (uint16(body[0])<<8|uint16(body[1]))%31 == 0 {
			zr, err := zlib.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, badBody("malformed deflate body: %v", err)
			}
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(body))
		}
	default:
		return nil, fmt.Errorf("%w: content encoding %q (send identity, gzip or deflate)", engine.ErrUnsupported, abbrev(encoding, 40))
	}
	var out bytes.Buffer
	if guess := int64(len(body)) * 4; guess < limit {
		out.Grow(int(guess) + 512)
	}
	n, err := out.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, badBody("malformed %s body: %v", strings.ToLower(strings.TrimSpace(encoding)), err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: inflated body over the limit of %d bytes", engine.ErrTooLarge, limit)
	}
	return out.Bytes(), nil
}

func abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// --- JSON -------------------------------------------------------------------

// DecodeJSON decodes JSON into plain data as encoding/json does into an any
// (objects as map[string]any, arrays as []any, numbers as float64, invalid
// UTF-8 replaced by U+FFFD; a repeated key keeps its last value), but more
// than twice as fast and with nesting bounded to 1000 levels. Errors wrap
// engine.ErrBadBody and name the byte offset.
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
	return badBody("malformed JSON at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
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
		return nil, p.fail("number %s out of range", abbrev(string(lit), 40))
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

// --- XML --------------------------------------------------------------------

type xmlFrame struct {
	name string
	m    map[string]any
	text strings.Builder
}

func (f *xmlFrame) add(k string, v any) {
	if f.m == nil {
		f.m = map[string]any{}
	}
	switch old := f.m[k].(type) {
	case nil:
		f.m[k] = v
	case []any:
		f.m[k] = append(old, v)
	default:
		f.m[k] = []any{old, v}
	}
}

func (f *xmlFrame) value() any {
	if f.m == nil {
		return f.text.String()
	}
	if t := strings.TrimSpace(f.text.String()); t != "" {
		f.m["#text"] = t
	}
	return f.m
}

// parseXML turns an XML document into {"root": value}: an element with only
// text is a string; otherwise a map of its attributes ("@name"), children (by
// local name; repeated ones as a list) and text ("#text"). Namespace prefixes
// and declarations, comments, processing instructions and DOCTYPE are dropped;
// entities are never expanded beyond XML's five.
func parseXML(raw []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", abbrev(charset, 40))
	}
	var stack []*xmlFrame
	var root any
	elements := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, badBody("malformed XML at line %d: %s", se.Line, se.Msg)
			}
			return nil, badBody("malformed XML at offset %d: %v", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && root != nil {
				return nil, badBody("malformed XML at offset %d: more than one root element", d.InputOffset())
			}
			if len(stack) >= maxXMLDepth {
				return nil, badBody("malformed XML at offset %d: nested deeper than %d elements", d.InputOffset(), maxXMLDepth)
			}
			if elements++; elements > maxXMLElements {
				return nil, badBody("XML with more than %d elements", maxXMLElements)
			}
			f := &xmlFrame{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				f.add("@"+a.Name.Local, a.Value)
			}
			stack = append(stack, f)
		case xml.EndElement:
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = map[string]any{f.name: f.value()}
			} else {
				stack[len(stack)-1].add(f.name, f.value())
			}
		case xml.CharData:
			if len(stack) == 0 {
				if !isBlank(t) {
					return nil, badBody("malformed XML at offset %d: text outside the root element", d.InputOffset())
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		}
	}
	if root == nil {
		return nil, badBody("malformed XML: no root element")
	}
	return root, nil
}
