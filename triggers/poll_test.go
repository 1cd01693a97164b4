package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// usersAPI mimics a list endpoint paged with starting_after/has_more and
// filtered with updated_since, like many REST APIs (and Stripe's lists).
type usersAPI struct {
	mu       sync.Mutex
	users    []map[string]any // in id order
	status   int              // answer with this status instead of 200 when set
	failNext bool             // answer 502 to every page after the first
	reqs     []url.Values
	auths    []string
	srv      *httptest.Server
}

func newUsersAPI(t *testing.T, n int) *usersAPI {
	a := &usersAPI{}
	a.add(n)
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// add appends n users, each updated a minute after the previous one.
func (a *usersAPI) add(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range n {
		i := len(a.users) + 1
		a.users = append(a.users, map[string]any{
			"id":         fmt.Sprintf("u%02d", i),
			"email":      fmt.Sprintf("user%d@example.com", i),
			"updated_at": time.Date(2026, 11, 22, 10, i, 0, 0, time.UTC).Format(time.RFC3339),
		})
	}
}

func (a *usersAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := r.URL.Query()
	a.reqs = append(a.reqs, q)
	a.auths = append(a.auths, r.Header.Get("Authorization"))
	if a.status != 0 {
		http.Error(w, `{"error":"down"}`, a.status)
		return
	}
	if a.failNext && q.Get("starting_after") != "" {
		http.Error(w, `{"error":"page failed"}`, http.StatusBadGateway)
		return
	}
	var list []map[string]any
	for _, u := range a.users {
		if s := q.Get("updated_since"); s != "" && u["updated_at"].(string) < s {
			continue
		}
		list = append(list, u)
	}
	if after := q.Get("starting_after"); after != "" {
		for i, u := range list {
			if u["id"] == after {
				list = list[i+1:]
				break
			}
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 10
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	if list == nil {
		list = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": list, "has_more": more})
}

func (a *usersAPI) requests() []url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]url.Values(nil), a.reqs...)
}

func (a *usersAPI) set(f func(a *usersAPI)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

// pollWith returns a compiled poll over the API; extra is added to its with.
func pollWith(t *testing.T, base, extra string) *Poll {
	t.Helper()
	with := `{"every":"1m","request":{"url":"` + base + `/v1/users",
		"query":{"updated_since":"{{ poll.cursor ?? '' }}","limit":3},
		"auth":{"type":"bearer","token":"{{ secrets.TOKEN }}"}},
		"items":"response.body.data","key":"item.id",
		"next":"response.body.has_more ? {'starting_after': last(response.body.data).id} : nil",
		"cursor":"last(sortBy(items, .updated_at))?.updated_at"` + extra + `}`
	p := new(Poll)
	dec := json.NewDecoder(strings.NewReader(with))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ps := p.Compile(); len(ps) > 0 {
		t.Fatalf("compile: %v", ps)
	}
	return p
}

func ids(bodies []any) []string {
	var out []string
	for _, b := range bodies {
		out = append(out, b.(map[string]any)["id"].(string))
	}
	sort.Strings(out)
	return out
}

// Pages are followed with `next`, every new item starts one run with the
// item as body, the cursor is stored and sent by the next cycle, and items
// seen before start nothing.
func TestPollPagesAndCursor(t *testing.T) {
	ctx := context.Background()
	api := newUsersAPI(t, 7)
	p := pollWith(t, api.srv.URL, `,"skip_existing":false`)
	h := newHarness(t, "users", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))

	n, err := p.RunCycle(ctx, h.sc)
	if err != nil || n != 7 {
		t.Fatalf("first cycle: %d runs, %v; want 7", n, err)
	}
	if got := ids(h.sink.bodies()); strings.Join(got, ",") != "u01,u02,u03,u04,u05,u06,u07" {
		t.Errorf("runs for %v", got)
	}
	ev := h.sink.events[0]
	if ev.Trigger.Type != "poll" || ev.DedupeKey != "u01" || ev.DedupeWindow != PollWindow {
		t.Errorf("event = %s %q %s", ev.Trigger.Type, ev.DedupeKey, ev.DedupeWindow)
	}
	reqs := api.requests()
	var after []string
	for _, q := range reqs {
		after = append(after, q.Get("starting_after"))
		if q.Get("limit") != "3" || q.Get("updated_since") != "" {
			t.Errorf("query %v: want limit 3 and no updated_since", q)
		}
	}
	if !reflect.DeepEqual(after, []string{"", "u03", "u06"}) {
		t.Errorf("pages started after %q, want \"\", u03, u06", after)
	}
	if api.auths[0] != "Bearer s3cr3t-token" {
		t.Errorf("authorization %q", api.auths[0])
	}
	if got := h.state.get("users", "poll.cursor"); got != `"2026-11-22T10:07:00Z"` {
		t.Errorf("poll.cursor = %s", got)
	}
	if r := h.result(t); r.kind != "poll" || r.err != nil || r.started != 7 {
		t.Errorf("poll result %+v", r)
	}

	api.add(2)
	n, err = p.RunCycle(ctx, h.sc)
	if err != nil || n != 2 {
		t.Fatalf("second cycle: %d runs, %v; want 2", n, err)
	}
	if q := api.requests()[len(reqs)]; q.Get("updated_since") != "2026-11-22T10:07:00Z" {
		t.Errorf("second cycle's query %v: want the stored cursor", q)
	}
	if runs, _ := h.sink.count(); runs != 9 {
		t.Errorf("%d runs in all, want 9", runs)
	}
	if got := h.state.get("users", "poll.cursor"); got != `"2026-11-22T10:09:00Z"` {
		t.Errorf("poll.cursor = %s", got)
	}

	// Nothing new: nothing started, the cursor stays.
	if n, err = p.RunCycle(ctx, h.sc); err != nil || n != 0 {
		t.Fatalf("third cycle: %d runs, %v", n, err)
	}
}

// skip_existing (the default): the first cycle records what exists and
// starts nothing; later items start runs.
func TestPollSkipExisting(t *testing.T) {
	ctx := context.Background()
	api := newUsersAPI(t, 5)
	p := pollWith(t, api.srv.URL, ``)
	h := newHarness(t, "users", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if n, err := p.RunCycle(ctx, h.sc); err != nil || n != 0 {
		t.Fatalf("first cycle: %d runs, %v; want none", n, err)
	}
	if runs, _ := h.sink.count(); runs != 0 {
		t.Fatalf("%d runs after the first cycle", runs)
	}
	for _, k := range []string{"u01", "u05"} {
		if ok, _ := h.sink.isSeen(ctx, k); !ok {
			t.Errorf("%s not recorded as seen", k)
		}
	}
	if h.state.get("users", StatePollPrimed) != "true" || h.state.get("users", "poll.cursor") != `"2026-11-22T10:05:00Z"` {
		t.Errorf("state after the first cycle: primed %s, cursor %s",
			h.state.get("users", StatePollPrimed), h.state.get("users", "poll.cursor"))
	}
	api.add(1)
	if n, err := p.RunCycle(ctx, h.sc); err != nil || n != 1 {
		t.Fatalf("second cycle: %d runs, %v; want 1", n, err)
	}
	if got := ids(h.sink.bodies()); len(got) != 1 || got[0] != "u06" {
		t.Errorf("runs for %v, want u06", got)
	}
}

// A failed call, a non-2xx answer (on any page) or an unusable answer
// records a failed poll and starts no run; the cursor does not move.
func TestPollFailures(t *testing.T) {
	tests := []struct {
		name    string
		set     func(a *usersAPI)
		extra   string
		wantErr string
	}{
		{name: "server error", set: func(a *usersAPI) { a.status = 500 }, wantErr: "HTTP 500"},
		{name: "not found", set: func(a *usersAPI) { a.status = 404 }, wantErr: "HTTP 404"},
		{name: "second page fails", set: func(a *usersAPI) { a.failNext = true }, wantErr: "HTTP 502"},
		{name: "items not a list", extra: `,"items":"response.body.object"`, wantErr: "want a list, got a text"},
		{name: "next neither nil, object nor URL", extra: `,"next":"42"`, wantErr: "want nil, an object of query parameters or a URL"},
		{name: "next URL on another host", extra: `,"next":"'https://elsewhere.example/v1/users?page=2'"`, wantErr: "is not on http://127.0.0.1"},
		{name: "connection refused", set: func(a *usersAPI) { a.srv.Close() }, wantErr: "page 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newUsersAPI(t, 5)
			with := `,"skip_existing":false`
			p := pollWith(t, api.srv.URL, with)
			if tc.extra != "" {
				p = pollWithOverride(t, api.srv.URL, tc.extra+with)
			}
			h := newHarness(t, "users", time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
			putState(context.Background(), h.sc, "poll.cursor", "2026-11-22T09:00:00Z")
			if tc.set != nil {
				api.set(tc.set)
			}
			n, err := p.RunCycle(context.Background(), h.sc)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || n != 0 {
				t.Fatalf("RunCycle = %d, %v; want no run and an error containing %q", n, err, tc.wantErr)
			}
			if r := h.result(t); r.kind != "poll" || r.err == nil || r.started != 0 {
				t.Errorf("poll result %+v, want a failure", r)
			}
			if runs, _ := h.sink.count(); runs != 0 {
				t.Errorf("%d runs started", runs)
			}
			if got := h.state.get("users", "poll.cursor"); got != `"2026-11-22T09:00:00Z"` {
				t.Errorf("cursor moved to %s", got)
			}
			if log := <-h.logs; !strings.Contains(log, "poll failed") {
				t.Errorf("log %q", log)
			}
		})
	}
}

// pollWithOverride is pollWith where extra's keys replace the defaults.
func pollWithOverride(t *testing.T, base, extra string) *Poll {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(`{"every":"1m","request":{"url":"`+base+`/v1/users","query":{"limit":"3"}},"items":"response.body.data","key":"item.id",
		"next":"response.body.has_more ? {'starting_after': last(response.body.data).id} : nil"}`), &m); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal([]byte("{"+strings.TrimPrefix(extra, ",")+"}"), &o); err != nil {
		t.Fatal(err)
	}
	for k, v := range o {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	p := new(Poll)
	if err := json.Unmarshal(b, p); err != nil {
		t.Fatal(err)
	}
	if ps := p.Compile(); len(ps) > 0 {
		t.Fatalf("compile: %v", ps)
	}
	return p
}

// Through Start on a fake clock: cycles run `every` after start, then
// every `every`; poll.started_at is stored at the first start and kept.
func TestPollStartEvery(t *testing.T) {
	api := newUsersAPI(t, 2)
	p := pollWithOverride(t, api.srv.URL, `,"skip_existing":false,"request":{"url":"`+api.srv.URL+`/v1/users","query":{"since":"{{ poll.started_unix }}","at":"{{ poll.started_at }}"}}`)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, "users", now)
	stop := start(t, p, h.sc)
	h.clk.BlockUntil(t, 1)
	if n := len(api.requests()); n != 0 {
		t.Fatalf("%d requests at start, want none before `every`", n)
	}
	if got := h.state.get("users", "poll.started_at"); got != `"2026-11-22T12:00:00Z"` {
		t.Errorf("poll.started_at = %s", got)
	}
	h.clk.Advance(time.Minute)
	if r := h.result(t); r.err != nil || r.started != 2 {
		t.Fatalf("first cycle %+v", r)
	}
	h.clk.BlockUntil(t, 1)
	h.clk.Advance(time.Minute)
	if r := h.result(t); r.err != nil || r.started != 0 {
		t.Fatalf("second cycle %+v", r)
	}
	stop()
	reqs := api.requests()
	if len(reqs) != 2 || reqs[1].Get("since") != strconv.FormatInt(now.Unix(), 10) || reqs[1].Get("at") != "2026-11-22T12:00:00Z" {
		t.Errorf("requests %v, want two with since=%d", reqs, now.Unix())
	}

	// A restart later keeps the first started_at.
	h.clk.Advance(time.Hour)
	stop = start(t, p, h.sc)
	h.clk.BlockUntil(t, 1)
	stop()
	if got := h.state.get("users", "poll.started_at"); got != `"2026-11-22T12:00:00Z"` {
		t.Errorf("poll.started_at after a restart = %s", got)
	}
}

func TestPollCompile(t *testing.T) {
	tests := []struct {
		name string
		with string
		want []string // "path: message fragment"
	}{
		{name: "complete", with: `{"every":"10s","request":{"url":"https://api.example.com/x","query":{"n":1,"on":true}},"items":"response.body","key":"item.id","max_pages":5}`},
		{name: "empty", with: `{}`, want: []string{"every: required", "request: url is required", "items: required", "key: required"}},
		{name: "too often", with: `{"every":"5s","request":{"url":"https://x.example"},"items":"response.body","key":"item.id"}`,
			want: []string{"every: must be at least 10s"}},
		{name: "bad templates and expressions",
			with: `{"every":"1m","request":{"url":"https://x.example/{{ trigger.body.id }}","headers":{"a":"{{ secrets. }}"}},` +
				`"items":"response.body[","key":"item.id + ","next":"steps.x","cursor":"nope"}`,
			want: []string{"request.headers.a:", "request.url: in {{ trigger.body.id }}", "items:", "key:", "next: ", "cursor: "}},
		{name: "bad request", with: `{"every":"1m","request":{"url":"ftp://x.example","method":"FETCH"},"items":"response.body","key":"item.id"}`,
			want: []string{"request: url must start with http:// or https://"}},
		{name: "too many pages", with: `{"every":"1m","request":{"url":"https://x.example"},"items":"response.body","key":"item.id","max_pages":5000}`,
			want: []string{"max_pages: must be between 1 and 1000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := new(Poll)
			dec := json.NewDecoder(strings.NewReader(tc.with))
			dec.DisallowUnknownFields()
			if err := dec.Decode(p); err != nil {
				t.Fatalf("decode: %v", err)
			}
			ps := p.Compile()
			if len(ps) != len(tc.want) {
				t.Fatalf("problems %v, want %d: %v", ps, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if got := ps[i].String(); !strings.HasPrefix(got, w) && !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want %q", i, got, w)
				}
			}
		})
	}
	// The request is decoded strictly: an unknown field is an error.
	if err := json.Unmarshal([]byte(`{"request":{"url":"https://x.example","verb":"GET"}}`), new(Poll)); err == nil || !strings.Contains(err.Error(), `unknown field "verb"`) {
		t.Errorf("unknown request field: %v", err)
	}
}

func TestParseLinks(t *testing.T) {
	tests := []struct {
		name, header string
		want         map[string]any
	}{
		{name: "github", header: `<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last"`,
			want: map[string]any{"next": "https://api.github.com/repositories/1/issues?page=2", "last": "https://api.github.com/repositories/1/issues?page=5"}},
		{name: "shopify", header: `<https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc>; rel="previous", <https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=def>; rel="next"`,
			want: map[string]any{"previous": "https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=abc", "next": "https://shop.myshopify.com/admin/api/2025-01/orders.json?limit=50&page_info=def"}},
		{name: "comma in URL, several rels", header: `<https://x.example/a?b=1,2>; rel="next last"; title="a, b"`,
			want: map[string]any{"next": "https://x.example/a?b=1,2", "last": "https://x.example/a?b=1,2"}},
		{name: "garbage", header: `nonsense, <unclosed`, want: map[string]any{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseLinks(tc.header); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}
