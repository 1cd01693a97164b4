package actions

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/hookflow/hookflow/engine"
)

// viaJSON is DecodeWith's JSON path for an http step's coerced settings.
func viaJSON(m map[string]any) (*HTTP, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var h HTTP
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return &h, dec.Decode(&h)
}

// TestHTTPDecodeFast: the fast decode gives what the JSON path gives, and
// hands every shape it does not take to the JSON path.
func TestHTTPDecodeFast(t *testing.T) {
	for _, tc := range []struct {
		name string
		with string
		fast bool
	}{
		{"the load tool's step", `{"method":"POST","url":"http://127.0.0.1:9/sink","body":{"id":"evt_1","amount":4200,"tags":["a",null,true]}}`, true},
		{"headers and query", `{"url":"https://api.example.com/x","headers":{"Accept":"application/json"},"query":{"q":"a b"},"body_type":"form","body":{"a":"1"}}`, true},
		{"flags", `{"url":"https://x.test","idempotency":true,"follow_redirects":false,"connection":"crm"}`, true},
		{"nulls", `{"url":"https://x.test","method":null,"headers":null,"body":null}`, true},
		{"text body", `{"url":"https://x.test","body":"plain text","body_type":"raw"}`, true},
		{"auth goes the JSON way", `{"url":"https://x.test","auth":{"type":"bearer","token":"t"}}`, false},
		{"timeout goes the JSON way", `{"url":"https://x.test","timeout":"5s"}`, false},
		{"size goes the JSON way", `{"url":"https://x.test","max_response_bytes":1000}`, false},
		{"a key of another case", `{"URL":"https://x.test"}`, false},
		{"an unknown key", `{"url":"https://x.test","retries":3}`, false},
		{"a number for text", `{"url":5}`, false},
		{"text for a flag", `{"url":"https://x.test","idempotency":"yes"}`, false},
		{"a header that is not text", `{"url":"https://x.test","headers":{"X-N":1}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal([]byte(tc.with), &m); err != nil {
				t.Fatal(err)
			}
			var h HTTP
			if got := h.DecodeFast(m); got != tc.fast {
				t.Fatalf("DecodeFast = %v, want %v", got, tc.fast)
			}
			if !tc.fast {
				if !reflect.DeepEqual(h, HTTP{}) {
					t.Fatalf("a refused decode changed the settings: %+v", h)
				}
				return
			}
			want, err := viaJSON(m)
			if err != nil {
				t.Fatalf("the JSON path refuses what the fast one took: %v", err)
			}
			if !reflect.DeepEqual(&h, want) {
				t.Fatalf("fast %+v\n JSON %+v", h, *want)
			}
		})
	}
	// Through DecodeWith, with coercion: a map field's numbers become text.
	m := map[string]any{"url": "https://x.test", "headers": map[string]any{"X-N": 1.0}, "method": "POST"}
	got, err := engine.DecodeWith(&httpKind.Spec, m, new(HTTP))
	if err != nil {
		t.Fatal(err)
	}
	if h := got.(*HTTP); h.Headers["X-N"] != "1" || h.Method != "POST" {
		t.Fatalf("DecodeWith = %+v", h)
	}
	// The body is a copy: a template like {{ vars }} hands the action the
	// run's own map, which parallel branches go on writing while it runs.
	vars := map[string]any{"a": "1", "list": []any{"x"}}
	var fast HTTP
	if !fast.DecodeFast(map[string]any{"url": "https://x.test", "body": vars}) {
		t.Fatal("a plain body went the JSON way")
	}
	vars["a"] = "2"
	vars["list"].([]any)[0] = "y"
	vars["new"] = true
	if got := fast.Body.(map[string]any); got["a"] != "1" || got["list"].([]any)[0] != "x" || len(got) != 2 {
		t.Fatalf("the decoded body follows the run's map: %v", got)
	}
	// What only Go values can be: nil lists and maps read as JSON null, a
	// map that holds itself (or anything nested past 1,000) goes the JSON way.
	for _, body := range []any{[]any(nil), map[string]any(nil)} {
		var h HTTP
		if !h.DecodeFast(map[string]any{"url": "https://x.test", "body": body}) || h.Body != nil {
			t.Fatalf("body %#v decoded as %#v", body, h.Body)
		}
	}
	loop := map[string]any{}
	loop["self"] = loop
	if h := (HTTP{}); h.DecodeFast(map[string]any{"url": "https://x.test", "body": loop}) {
		t.Fatal("a map that holds itself was taken by the fast path")
	}
	// Invalid UTF-8 is replaced on the JSON path: the fast path leaves it there.
	var h HTTP
	if h.DecodeFast(map[string]any{"url": "https://x.test/\xff"}) {
		t.Fatal("invalid UTF-8 was taken by the fast path")
	}
}

// FuzzHTTPDecodeFast: whatever settings the fast decode takes, the JSON path
// decodes to the same value.
func FuzzHTTPDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"method":"POST","url":"http://127.0.0.1:9/sink","body":{"id":"evt_1","amount":4200}}`,
		`{"url":"https://x.test","headers":{"A":"b"},"query":{"q":"1"},"follow_redirects":true}`,
		`{"url":"https://x.test","body":[1,"2",{"3":null}],"idempotency":false}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		var h HTTP
		if !h.DecodeFast(m) {
			return
		}
		want, err := viaJSON(m)
		if err != nil {
			t.Fatalf("fast took %s, the JSON path refuses it: %v", s, err)
		}
		if !reflect.DeepEqual(&h, want) {
			t.Fatalf("%s: fast %+v, JSON %+v", s, h, *want)
		}
	})
}
