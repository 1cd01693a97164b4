package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/hookflow/hookflow/engine/netguard"
)

// testSC is a step context whose guard allows 127.0.0.0/8, as the server does
// with HOOKFLOW_ALLOW_NETS=127.0.0.0/8.
func testSC(t *testing.T) *engine.StepContext {
	t.Helper()
	g := netguard.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	return &engine.StepContext{
		RunID: "run_1", FlowID: "flow-1", StepID: "step_1", Attempt: 1,
		IdempotencyKey: "run_1:step_1",
		HTTP:           g.HTTPClient(),
		Dial:           g.DialContext,
		KV:             newMemKV(),
		Log:            func(string) {},
		Now:            time.Now,
	}
}

// errClass names how the executor will treat err.
func errClass(err error) string {
	var r *engine.RetryableError
	switch {
	case err == nil:
		return "ok"
	case engine.IsPermanent(err):
		return "permanent"
	case errors.As(err, &r):
		return "retryable"
	default:
		return "plain"
	}
}

// checkErr asserts err's class and that its message contains want.
func checkErr(t *testing.T, err error, class, want string) {
	t.Helper()
	if got := errClass(err); got != class {
		t.Fatalf("error %v: class %s, want %s", err, got, class)
	}
	if err != nil && !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

// decodeStrict decodes a `with` object into a new config as the executor does.
func decodeStrict(k engine.ActionKind, with string) (engine.Action, error) {
	a := k.New()
	dec := json.NewDecoder(bytes.NewReader([]byte(with)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(a); err != nil {
		return nil, err
	}
	if v, ok := a.(engine.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// run decodes with into kind's config and runs it.
func run(t *testing.T, k engine.ActionKind, sc *engine.StepContext, with string) (any, error) {
	t.Helper()
	a, err := decodeStrict(k, with)
	if err != nil {
		return nil, engine.Permanent(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.Run(ctx, sc)
}

// asJSON round-trips v through JSON, proving it is plain data.
func asJSON(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("output is not JSON data: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not a JSON object: %s", b)
	}
	return m
}

func TestRegistry(t *testing.T) {
	r := engine.NewRegistry()
	Register(r)
	kinds := r.Actions()
	want := []string{"ai", "code", "discord", "email", "http", "hubspot", "log", "pipedrive", "slack", "store", "webhook"}
	var got []string
	for _, k := range kinds {
		got = append(got, k.Spec.Kind)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	for _, k := range kinds {
		t.Run(k.Spec.Kind, func(t *testing.T) {
			s := k.Spec
			if s.Title == "" || s.Summary == "" {
				t.Error("title and summary must be set")
			}
			if s.Group != "action" && s.Group != "data" {
				t.Errorf("group %q", s.Group)
			}
			if _, err := decodeStrict(k, s.Example); err != nil {
				t.Errorf("example %s: %v", s.Example, err)
			}
			if _, err := decodeStrict(k, `{"no_such_setting":1}`); err == nil {
				t.Error("an unknown field decodes without error")
			}
			checkFields(t, "", s.Fields, reflect.TypeOf(k.New()))
		})
	}
}

// checkFields matches Spec fields and json tags one to one, into objects.
func checkFields(t *testing.T, path string, fields []engine.Field, typ reflect.Type) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	tags := map[string]reflect.Type{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			t.Errorf("%s%s has no json tag", path, f.Name)
			continue
		}
		tags[name] = f.Type
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.Name] {
			t.Errorf("field %s%s described twice", path, f.Name)
		}
		seen[f.Name] = true
		if f.Label == "" {
			t.Errorf("field %s%s has no label", path, f.Name)
		}
		if f.Type == engine.FieldSelect && len(f.Options) == 0 {
			t.Errorf("select field %s%s has no options", path, f.Name)
		}
		ft, ok := tags[f.Name]
		if !ok {
			t.Errorf("Spec field %s%s matches no json tag", path, f.Name)
			continue
		}
		if f.Type == engine.FieldObject {
			checkFields(t, path+f.Name+".", f.Fields, ft)
		}
	}
	var missing []string
	for name := range tags {
		if !seen[name] {
			missing = append(missing, path+name)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("json tag %s has no Spec field", m)
	}
}

func TestRetryAfter(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Duration
	}{
		{name: "empty", in: "", want: 0},
		{name: "seconds", in: "7", want: 7 * time.Second},
		{name: "fraction", in: "1.5", want: 1500 * time.Millisecond},
		{name: "negative", in: "-3", want: 0},
		{name: "http date", in: clock.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{name: "past date", in: clock.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "garbage", in: "soon", want: 0},
		{name: "capped", in: "999999", want: maxRetryAfter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retryAfter(tc.in, clock); got != tc.want {
				t.Fatalf("retryAfter(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
		secrets        []string
	}{
		{name: "plain", in: "token abcd1234 refused", secrets: []string{"abcd1234"}, want: "token [redacted] refused"},
		{name: "query escaped", in: "GET /x?k=a%2Fb%2Bc12", secrets: []string{"a/b+c12"}, want: "GET /x?k=[redacted]"},
		{name: "short secrets ignored", in: "abc", secrets: []string{"ab", ""}, want: "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact(tc.in, tc.secrets); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// memKV is an in-memory engine.KVStore for tests (boltstore has the real one).
type memKV struct {
	mu sync.Mutex
	m  map[string]engine.KVItem
}

func newMemKV() *memKV { return &memKV{m: map[string]engine.KVItem{}} }

func (k *memKV) get(key string) (engine.KVItem, bool) {
	it, ok := k.m[key]
	if ok && it.ExpiresAt != nil && !time.Now().Before(*it.ExpiresAt) {
		delete(k.m, key)
		return engine.KVItem{}, false
	}
	return it, ok
}

func (k *memKV) put(key string, v any, ttl time.Duration) {
	it := engine.KVItem{Key: key, Value: v, UpdatedAt: time.Now()}
	if ttl > 0 {
		exp := time.Now().Add(ttl)
		it.ExpiresAt = &exp
	}
	k.m[key] = it
}

func (k *memKV) KVGet(_ context.Context, key string) (*engine.KVItem, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	it, ok := k.get(key)
	if !ok {
		return nil, engine.ErrNotFound
	}
	return &it, nil
}

func (k *memKV) KVSet(_ context.Context, key string, v any, ttl time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.put(key, v, ttl)
	return nil
}

func (k *memKV) KVDelete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.get(key); !ok {
		return engine.ErrNotFound
	}
	delete(k.m, key)
	return nil
}

func (k *memKV) KVIncrement(_ context.Context, key string, by float64, ttl time.Duration) (float64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	it, _ := k.get(key)
	n, ok := it.Value.(float64)
	if it.Value != nil && !ok {
		return 0, errors.New("value is not a number")
	}
	k.put(key, n+by, ttl)
	return n + by, nil
}

func (k *memKV) KVAppend(_ context.Context, key string, v any, ttl time.Duration) ([]any, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	it, _ := k.get(key)
	list, ok := it.Value.([]any)
	if it.Value != nil && !ok {
		return nil, errors.New("value is not a list")
	}
	list = append(append([]any(nil), list...), v)
	k.put(key, list, ttl)
	return list, nil
}

func (k *memKV) KVList(_ context.Context, prefix string, limit int) ([]engine.KVItem, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []engine.KVItem
	for key := range k.m {
		if it, ok := k.get(key); ok && strings.HasPrefix(key, prefix) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if limit <= 0 {
		limit = 1000
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

var _ engine.KVStore = (*memKV)(nil)

func itoa(n int) string { return strconv.Itoa(n) }

// contextWithTimeout bounds a run by d (10s when d is 0).
func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	if d == 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(context.Background(), d)
}
