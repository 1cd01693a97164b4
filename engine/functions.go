package engine

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// functions are the helpers SPEC §4 adds to expr's built-ins. Each takes and
// returns plain values; none has side effects beyond reading the clock or
// random source.
var functions = []expr.Option{
	expr.Function("now", func(...any) (any, error) { return time.Now().UTC(), nil },
		new(func() time.Time)),
	expr.Function("parse_time", fnParseTime,
		new(func(string) time.Time), new(func(string, string) time.Time)),
	expr.Function("format_time", fnFormatTime,
		new(func(time.Time) string), new(func(time.Time, string) string)),
	expr.Function("json_encode", func(p ...any) (any, error) {
		b, err := json.Marshal(p[0])
		if err != nil {
			return nil, fmt.Errorf("json_encode: %w", err)
		}
		return string(b), nil
	}),
	expr.Function("json_decode", func(p ...any) (any, error) {
		s, ok := p[0].(string)
		if !ok {
			return nil, fmt.Errorf("json_decode: want a string, got %T", p[0])
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, fmt.Errorf("json_decode: %w", err)
		}
		return v, nil
	}, new(func(string) any)),
	expr.Function("sha256", func(p ...any) (any, error) {
		sum := sha256.Sum256([]byte(Stringify(p[0])))
		return hex.EncodeToString(sum[:]), nil
	}, new(func(any) string)),
	expr.Function("hmac_sha256", func(p ...any) (any, error) {
		m := hmac.New(sha256.New, []byte(Stringify(p[0])))
		m.Write([]byte(Stringify(p[1])))
		return hex.EncodeToString(m.Sum(nil)), nil
	}, new(func(any, any) string)),
	expr.Function("base64", func(p ...any) (any, error) {
		return base64.StdEncoding.EncodeToString([]byte(Stringify(p[0]))), nil
	}, new(func(any) string)),
	expr.Function("base64_decode", func(p ...any) (any, error) {
		b, err := base64.StdEncoding.DecodeString(Stringify(p[0]))
		if err != nil {
			return nil, fmt.Errorf("base64_decode: %w", err)
		}
		return string(b), nil
	}, new(func(any) string)),
	expr.Function("urlquery", func(p ...any) (any, error) {
		return url.QueryEscape(Stringify(p[0])), nil
	}, new(func(any) string)),
	expr.Function("uuid", func(...any) (any, error) { return newUUID(), nil }, new(func() string)),
	// resume_url('step') is rewritten at compile time (resumeURLs) into a
	// read of the run's own URLs; this body only runs where no run is.
	expr.Function("resume_url", func(...any) (any, error) { return nil, nil }, new(func(string) string)),
}

// resumeRefs returns the step ids named by resume_url() calls, which must
// each be one step id in quotes.
func resumeRefs(root ast.Node) ([]string, error) {
	var out []string
	var err error
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		c, ok := (*n).(*ast.CallNode)
		if !ok || err != nil {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "resume_url" {
			return
		}
		if len(c.Arguments) != 1 {
			err = fmt.Errorf("resume_url takes one argument: the wait step's id in quotes, e.g. resume_url('approval')")
			return
		}
		s, ok := c.Arguments[0].(*ast.StringNode)
		if !ok {
			err = fmt.Errorf("resume_url takes the wait step's id in quotes, e.g. resume_url('approval'), not a computed value")
			return
		}
		out = append(out, s.Value)
	}))
	return out, err
}

// resumeURLs rewrites resume_url('x') into run.resume_urls['x']: the run's
// URLs are plain data computed when the run executes (no Go function in the
// env, and no key within reach of expressions).
type resumeURLs struct{}

func (resumeURLs) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok || len(c.Arguments) != 1 {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "resume_url" {
		return
	}
	urls := &ast.MemberNode{Node: &ast.IdentifierNode{Value: "run"}, Property: &ast.StringNode{Value: "resume_urls"}}
	ast.Patch(node, &ast.MemberNode{Node: urls, Property: c.Arguments[0]})
}

// timeLayouts are tried in order by parse_time without a layout.
var timeLayouts = []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02", time.RFC1123Z, time.RFC1123}

func fnParseTime(p ...any) (any, error) {
	s, _ := p[0].(string)
	if len(p) == 2 {
		layout, _ := p[1].(string)
		t, err := time.Parse(layout, s)
		if err != nil {
			return nil, fmt.Errorf("parse_time: %w", err)
		}
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("parse_time: %q is not a time in RFC 3339 or YYYY-MM-DD form", s)
}

func fnFormatTime(p ...any) (any, error) {
	t, _ := p[0].(time.Time)
	layout := time.RFC3339
	if len(p) == 2 {
		layout, _ = p[1].(string)
	}
	return t.Format(layout), nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
