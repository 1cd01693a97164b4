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
	"strings"

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

// DecodeJSON is engine.DecodeJSON: the ingest path's JSON decoder (the
// store decodes bodies read back with it too).
func DecodeJSON(data []byte) (any, error) { return engine.DecodeJSON(data) }

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
