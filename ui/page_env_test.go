package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/boltstore"
	"github.com/hookflow/hookflow/engine/secrets"
	"github.com/hookflow/hookflow/ui"
	"golang.org/x/net/html"
)

// uiEnv is the whole server (bbolt store, engine, UI) on 127.0.0.1 and a
// browser-like client with a cookie jar.
type uiEnv struct {
	t       *testing.T
	base    string
	eng     *engine.Engine
	store   *boltstore.Store
	secrets *secrets.Vault
	client  *http.Client
}

func newUIEnv(t *testing.T, opts ...func(*ui.Deps)) *uiEnv {
	t.Helper()
	h := newHookEnv(t, opts...) // the same server the webhook and API tests use
	// The UI tests start with no API token: drop the one the API tests use.
	if ts, err := h.store.ListTokens(context.Background()); err == nil {
		for _, tok := range ts {
			_ = h.store.DeleteToken(context.Background(), tok.ID)
		}
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &uiEnv{t: t, base: h.url, eng: h.eng, store: h.store, secrets: h.vault, client: client}
}

// page is one answer: status, Location, body and parsed document.
type page struct {
	code     int
	location string
	body     string
	doc      *html.Node
}

func (e *uiEnv) do(req *http.Request) page {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := page{code: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		p.doc, err = html.Parse(strings.NewReader(p.body))
		if err != nil {
			e.t.Fatalf("%s %s: parse HTML: %v", req.Method, req.URL, err)
		}
	}
	return p
}

func (e *uiEnv) get(path string) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
	return e.do(req)
}

func (e *uiEnv) htmx(path string) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+path, nil)
	req.Header.Set("HX-Request", "true")
	return e.do(req)
}

// post sends a form; csrf adds the session's token unless it is "-".
func (e *uiEnv) post(path string, form url.Values) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

// postHTMX sends a form as htmx does, with the CSRF header.
func (e *uiEnv) postHTMX(path, csrf string, form url.Values) page {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", csrf)
	return e.do(req)
}

// setup completes first-run setup and returns the session's CSRF token.
func (e *uiEnv) setup() string {
	e.t.Helper()
	p := e.post("/setup", url.Values{"email": {"admin@example.com"}, "password": {"correct horse"}})
	if p.code != http.StatusSeeOther || p.location != "/flows" {
		e.t.Fatalf("setup: %d %s %s", p.code, p.location, p.body)
	}
	return e.csrf()
}

// csrf reads the session's token from a page's hidden field.
func (e *uiEnv) csrf() string {
	e.t.Helper()
	p := e.get("/flows")
	for _, n := range findAll(p.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "_csrf" }) {
		if v := attr(n, "value"); v != "" {
			return v
		}
	}
	e.t.Fatalf("no CSRF token on /flows: %s", p.body)
	return ""
}

// flow stores a flow document through the engine.
func (e *uiEnv) flow(doc string) *engine.Flow {
	e.t.Helper()
	f, err := engine.DecodeFlow([]byte(doc))
	if err != nil {
		e.t.Fatal(err)
	}
	f, err = e.eng.PutFlow(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// waitRun waits until the run ends.
func (e *uiEnv) waitRun(id string) *engine.Run {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := e.store.GetRun(context.Background(), id)
		if err == nil && r.Status.Final() {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s did not end: %+v %v", id, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// byTestID finds the first element with the data-testid.
func byTestID(doc *html.Node, id string) *html.Node {
	all := findAll(doc, func(n *html.Node) bool { return attr(n, "data-testid") == id })
	if len(all) == 0 {
		return nil
	}
	return all[0]
}

// mustTestID is byTestID that fails the test when the element is missing.
func mustTestID(t *testing.T, p page, id string) *html.Node {
	t.Helper()
	if p.doc == nil {
		t.Fatalf("no HTML (status %d): %s", p.code, p.body)
	}
	n := byTestID(p.doc, id)
	if n == nil {
		t.Fatalf("no element with data-testid=%q in page (status %d)", id, p.code)
	}
	return n
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n == nil {
			return
		}
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

// text is an element's text content with spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// formOf collects the inputs of the form with the data-testid, as a browser would submit them (without buttons).
func formOf(t *testing.T, p page, testid string) url.Values {
	t.Helper()
	f := mustTestID(t, p, testid)
	v := url.Values{}
	for _, n := range findAll(f, func(n *html.Node) bool {
		return n.Data == "input" || n.Data == "textarea" || n.Data == "select"
	}) {
		name := attr(n, "name")
		if name == "" || hasAttr(n, "disabled") {
			continue
		}
		switch n.Data {
		case "input":
			typ := attr(n, "type")
			if (typ == "checkbox" || typ == "radio") && !hasAttr(n, "checked") {
				continue
			}
			if typ == "submit" || typ == "button" || typ == "file" {
				continue
			}
			v.Add(name, attr(n, "value"))
		case "textarea":
			var b strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				b.WriteString(c.Data)
			}
			v.Add(name, strings.TrimPrefix(b.String(), "\n"))
		case "select":
			val := ""
			for i, o := range findAll(n, func(n *html.Node) bool { return n.Data == "option" }) {
				if i == 0 || hasAttr(o, "selected") {
					val = attr(o, "value")
				}
			}
			v.Add(name, val)
		}
	}
	return v
}

func engineQuery(flowID string) engine.RunQuery { return engine.RunQuery{FlowID: flowID} }
