package engine

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// TestAppendJSON: AppendJSON writes what encoding/json writes, byte for byte.
func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"text with escapes", "a\"b\\c\n\r\t\b\f\x01\x1f<>&\u2028\u2029 é \xff\xfe end"},
		{"numbers", []any{0.0, -0.0, 1.0, -1.5, 1e-7, 1e-6, 1e20, 1e21, 123456789.123, math.MaxFloat64, 5e-324, 42, int64(-7)}},
		{"nested", map[string]any{"b": []any{true, false, nil, map[string]any{}}, "a": map[string]any{"z": "1", "y": []any{}}}},
		{"nil containers", map[string]any{"m": map[string]any(nil), "l": []any(nil), "s": []string(nil), "ms": map[string]string(nil)}},
		{"string maps and lists", map[string]any{"h": map[string]string{"b": "2", "a": "<1>"}, "l": []string{"x", ""}}},
		{"other types via encoding/json", map[string]any{"t": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), "n": json.Number("12"), "f": float32(1.1), "u": uint8(3)}},
		{"keys needing escapes", map[string]any{"<k>": 1.0, "\"": 2.0, "é": 3.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendJSON([]byte("prefix:"), tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, append([]byte("prefix:"), want...)) {
				t.Errorf("got  %s\nwant prefix:%s", got, want)
			}
		})
	}
	for _, v := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]any{"c": make(chan int)}} {
		if _, err := AppendJSON(nil, v); err == nil {
			t.Errorf("AppendJSON(%v) encoded", v)
		}
	}
}

// FuzzAppendJSON: what DecodeJSON reads, AppendJSON writes as encoding/json does.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-9,"x\u2028<"],"b":null}`, `"\ud800"`, `[1e21,-0,true]`, `{"é":{"":[]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := DecodeJSON([]byte(s))
		if err != nil {
			return
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendJSON(nil, v)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON(%s) = %s, %v; encoding/json: %s", strings.TrimSpace(s), got, err, want)
		}
	})
}
