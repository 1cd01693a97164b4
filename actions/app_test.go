package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// appEnv runs one app's operations against a fake server: the app's base
// URL keeps its path but points at the fake.
type appEnv struct {
	t     *testing.T
	srv   *httptest.Server
	app   *App
	conns *fakeConns
}

func newAppEnv(t *testing.T, id string, h http.Handler) *appEnv {
	t.Helper()
	c, err := NewApps()
	if err != nil {
		t.Fatal(err)
	}
	orig, ok := c.Get(id)
	if !ok {
		t.Fatalf("no app %q", id)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := *orig
	a.BaseURL = rebase(orig.BaseURL, srv.URL)
	return &appEnv{t: t, srv: srv, app: &a, conns: &fakeConns{creds: map[string]*engine.Credential{}, next: map[string]*engine.Credential{}}}
}

// rebase points a base URL at the fake: a whole-URL placeholder stays; else
// the scheme and host (placeholders included) become the fake's.
func rebase(base, fake string) string {
	if strings.HasPrefix(base, "{") {
		return base
	}
	rest := base[strings.Index(base, "://")+3:]
	if i := strings.Index(rest, "/"); i >= 0 {
		return fake + rest[i:]
	}
	return fake
}

func (e *appEnv) conn(name string, c *engine.Credential) {
	c.Connection = name
	e.conns.creds[name] = c
}

// run decodes with as the executor does (coercion by field types, strict
// checks, Validate) and runs the operation.
func (e *appEnv) run(op, with string) (any, error) {
	e.t.Helper()
	var kind engine.ActionKind
	for i := range e.app.Operations {
		if o := &e.app.Operations[i]; o.ID == op {
			kind = engine.ActionKind{Spec: o.spec(e.app), New: func() engine.Action { return &appStep{app: e.app, op: o} }}
		}
	}
	if kind.New == nil {
		e.t.Fatalf("no operation %s.%s", e.app.ID, op)
	}
	var w any
	if err := json.Unmarshal([]byte(with), &w); err != nil {
		e.t.Fatal(err)
	}
	cfg, err := engine.DecodeWith(&kind.Spec, w, kind.New())
	if err != nil {
		return nil, engine.Permanent(err)
	}
	sc := testSC(e.t)
	sc.Connections = e.conns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cfg.(engine.Action).Run(ctx, sc)
}

// fake is a table of expected requests: the handler checks each request
// against the first rule whose method and path match.
type fakeRule struct {
	method, path string
	// check returns "" when the request is as documented, else what is wrong
	// (answered 400 with that text, as a strict API would).
	check  func(r *http.Request, body map[string]any) string
	status int
	answer string
	header map[string]string
	// reply, when set, answers instead of status and answer (paged lists).
	reply func(r *http.Request) (int, string)
}

func fakeAPI(t *testing.T, rules ...fakeRule) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		raw := readAll(r)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(raw, &body); err != nil {
				http.Error(w, "malformed JSON", 400)
				return
			}
		} else if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			vals, _ := url.ParseQuery(string(raw))
			body = map[string]any{}
			for k := range vals {
				body[k] = vals.Get(k)
			}
		}
		for _, rule := range rules {
			if rule.method != r.Method || rule.path != r.URL.Path {
				continue
			}
			if rule.check != nil {
				if msg := rule.check(r, body); msg != "" {
					t.Logf("fake refused %s %s: %s", r.Method, r.URL, msg)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(400)
					json.NewEncoder(w).Encode(map[string]string{"fake_error": msg})
					return
				}
			}
			for k, v := range rule.header {
				w.Header().Set(k, v)
			}
			if w.Header().Get("Content-Type") == "" {
				w.Header().Set("Content-Type", "application/json")
			}
			status, answer := rule.status, rule.answer
			if rule.reply != nil {
				status, answer = rule.reply(r)
			}
			if status == 0 {
				status = 200
			}
			w.WriteHeader(status)
			w.Write([]byte(answer))
			return
		}
		http.Error(w, "no such route in the fake: "+r.Method+" "+r.URL.Path, 404)
	})
}

func readAll(r *http.Request) []byte {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return []byte(b.String())
}

// want returns a check failing when any path's value differs.
func want(pairs map[string]any) func(*http.Request, map[string]any) string {
	return func(r *http.Request, body map[string]any) string {
		for p, v := range pairs {
			var got any
			switch {
			case strings.HasPrefix(p, "header:"):
				got = r.Header.Get(strings.TrimPrefix(p, "header:"))
			case strings.HasPrefix(p, "query:"):
				got = r.URL.Query().Get(strings.TrimPrefix(p, "query:"))
			case strings.HasPrefix(p, "absent:"):
				if dig(body, strings.TrimPrefix(p, "absent:")) != nil {
					return p + " is set"
				}
				continue
			default:
				got = dig(body, p)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(v)
			if string(gb) != string(wb) {
				return p + " = " + string(gb) + ", want " + string(wb)
			}
		}
		return ""
	}
}

func TestAppsRegistry(t *testing.T) {
	c, err := NewApps()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.List()) == 0 {
		t.Fatal("no built-in apps")
	}
	reg := engine.NewRegistry()
	Register(reg)
	reg.AddTrigger(engine.TriggerKind{Spec: engine.Spec{Kind: "manual"}, New: func() any { return &struct{}{} }})
	for _, a := range c.List() {
		t.Run(a.ID, func(t *testing.T) {
			if a.Icon == "" || a.Summary == "" {
				t.Errorf("app %s needs an icon and a summary", a.ID)
			}
			for _, op := range a.Operations {
				if op.Summary == "" || len(op.Example) == 0 {
					t.Errorf("%s: no help or example", a.Kind(&op))
				}
				for _, f := range op.Fields {
					if f.Help == "" {
						t.Errorf("%s.%s: no help", a.Kind(&op), f.Name)
					}
				}
				// The example is a valid step, both as the short type and as "app".
				for _, step := range []string{
					`{"id":"s","type":"` + a.Kind(&op) + `","with":` + string(op.Example) + `}`,
					`{"id":"s","type":"app","with":` + withAppOp(t, op.Example, a.ID, op.ID) + `}`,
				} {
					doc := `{"id":"f","name":"F","trigger":{"type":"manual"},"steps":[` + step + `]}`
					f, err := engine.DecodeFlow([]byte(doc))
					if err != nil {
						t.Fatal(err)
					}
					if _, ps := engine.Compile(f, reg); len(ps) > 0 {
						t.Errorf("%s example: %v", a.Kind(&op), ps)
					}
				}
			}
		})
	}
}

// TestReadmeListsApps: the README's apps table names every operation.
func TestReadmeListsApps(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range mustApps(t).List() {
		for i := range a.Operations {
			if k := a.Kind(&a.Operations[i]); !strings.Contains(string(readme), "`"+k+"`") {
				t.Errorf("README.md does not list %s", k)
			}
		}
	}
}

// TestDocsExampleApp: the complete example in docs/apps.md is a valid app file.
func TestDocsExampleApp(t *testing.T) {
	doc, err := os.ReadFile("../docs/apps.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A complete example")
	if !ok {
		t.Fatal("docs/apps.md has no complete example")
	}
	_, rest, _ = strings.Cut(rest, "```json\n")
	file, _, _ := strings.Cut(rest, "```")
	a, ps := ParseApp([]byte(file))
	if len(ps) > 0 {
		t.Fatalf("the documented example has problems: %v", ps)
	}
	if len(a.Operations) != 2 || a.Operations[1].Paging == nil {
		t.Errorf("example parsed as %+v", a)
	}
}

func withAppOp(t *testing.T, ex json.RawMessage, app, op string) string {
	var m map[string]any
	if err := json.Unmarshal(ex, &m); err != nil {
		t.Fatal(err)
	}
	m["app"], m["operation"] = app, op
	b, _ := json.Marshal(m)
	return string(b)
}

// mustJSON reads a request's JSON body again (fakeAPI restores it).
func mustJSON(r *http.Request) map[string]any {
	raw := readAll(r)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}
