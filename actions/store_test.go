package actions

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStore(t *testing.T) {
	sc := testSC(t) // one store for the whole table: steps build on each other
	tests := []struct {
		name   string
		with   string
		class  string
		errHas string
		want   string
	}{
		{name: "get missing", with: `{"operation":"get","key":"k"}`, class: "ok", want: `{"found":false,"value":null}`},
		{name: "set", with: `{"operation":"set","key":"k","value":{"a":[1,2]},"ttl":"1h"}`, class: "ok", want: `{"key":"k","value":{"a":[1,2]}}`},
		{name: "get", with: `{"operation":"get","key":"k"}`, class: "ok", want: `{"found":true,"value":{"a":[1,2]}}`},
		{name: "delete", with: `{"operation":"delete","key":"k"}`, class: "ok", want: `{"deleted":true}`},
		{name: "delete again", with: `{"operation":"delete","key":"k"}`, class: "ok", want: `{"deleted":false}`},
		{name: "increment default by 1", with: `{"operation":"increment","key":"n"}`, class: "ok", want: `{"value":1}`},
		{name: "increment by 2.5", with: `{"operation":"increment","key":"n","by":2.5}`, class: "ok", want: `{"value":3.5}`},
		{name: "decrement", with: `{"operation":"increment","key":"n","by":-1}`, class: "ok", want: `{"value":2.5}`},
		{name: "append", with: `{"operation":"append","key":"l","value":"a"}`, class: "ok", want: `{"length":1,"list":["a"]}`},
		{name: "append more", with: `{"operation":"append","key":"l","value":{"b":1}}`, class: "ok", want: `{"length":2,"list":["a",{"b":1}]}`},
		{name: "increment a list fails", with: `{"operation":"increment","key":"l"}`, class: "plain", errHas: `store increment "l": value is not a number`},
		{name: "set needs a value", with: `{"operation":"set","key":"k"}`, class: "permanent", errHas: "value is required for set"},
		{name: "key required", with: `{"operation":"get"}`, class: "permanent", errHas: "key is required"},
		{name: "key too long", with: `{"operation":"get","key":"` + strings.Repeat("k", 513) + `"}`, class: "permanent", errHas: "longer than 512"},
		{name: "bad operation", with: `{"operation":"drop","key":"k"}`, class: "permanent", errHas: `operation "drop"`},
		{name: "bad ttl", with: `{"operation":"set","key":"k","value":1,"ttl":"soon"}`, class: "permanent", errHas: "bad duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, storeKind, sc, tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if tc.want != "" {
				got, _ := json.Marshal(out)
				if string(got) != tc.want {
					t.Fatalf("output %s, want %s", got, tc.want)
				}
			}
		})
	}
}

func TestLog(t *testing.T) {
	tests := []struct {
		name     string
		with     string
		class    string
		errHas   string
		wantLine string
		want     string
	}{
		{name: "info", with: `{"message":"order 42"}`, class: "ok", wantLine: "order 42", want: `{"level":"info","message":"order 42"}`},
		{name: "warn", with: `{"message":"low stock","level":"warn"}`, class: "ok", wantLine: "warn: low stock", want: `{"level":"warn","message":"low stock"}`},
		{name: "error", with: `{"message":"no email","level":"error"}`, class: "ok", wantLine: "error: no email", want: `{"level":"error","message":"no email"}`},
		{name: "bad level", with: `{"message":"x","level":"debug"}`, class: "permanent", errHas: `level "debug"`},
		{name: "empty", with: `{}`, class: "permanent", errHas: "message is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			sc := testSC(t)
			sc.Log = func(s string) { lines = append(lines, s) }
			out, err := run(t, logKind, sc, tc.with)
			checkErr(t, err, tc.class, tc.errHas)
			if tc.class != "ok" {
				if len(lines) != 0 {
					t.Fatalf("logged %v on error", lines)
				}
				return
			}
			if len(lines) != 1 || lines[0] != tc.wantLine {
				t.Fatalf("lines %q, want %q", lines, tc.wantLine)
			}
			if got, _ := json.Marshal(out); string(got) != tc.want {
				t.Fatalf("output %s, want %s", got, tc.want)
			}
		})
	}
}
