package boltstore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// encodeRunV1 is the record format 1 encoder (encoding/json), kept to check
// that format 2 reads back exactly what format 1 did.
func encodeRunV1(r *engine.Run) ([]byte, error) {
	js, err := json.Marshal(runRecord{Run: r})
	if err != nil {
		return nil, err
	}
	return compress(append([]byte{formatV1, 0}, js...)), nil
}

// codecRuns are runs that exercise every field of the record.
func codecRuns() map[string]*engine.Run {
	t0 := time.Date(2026, 12, 4, 20, 30, 1, 123456789, time.UTC)
	t1 := t0.Add(1500 * time.Millisecond)
	zero := time.Time{}
	paris := time.Date(2026, 12, 4, 21, 30, 0, 5, time.FixedZone("", 3600))
	return map[string]*engine.Run{
		"empty": {},
		"queued": {ID: "01JEXAMPLE0000000000000000", FlowID: "load-stripe", FlowVersion: 3, Status: engine.RunQueued,
			CreatedAt: t0, DedupeKey: "evt_1"},
		"finished": {ID: "r2", FlowID: "f", FlowVersion: 1, Status: engine.RunSucceeded, CreatedAt: t0, StartedAt: &t0,
			FinishedAt: &t1, NextAt: &paris, ReplayOf: "r1", ParentRunID: "p", CallDepth: 2, Truncated: true, Interrupted: 1,
			Error: "line one\nline \"two\" <b>&</b> \u2028 \xff end",
			Vars:  map[string]any{"n": 1.5, "s": "x", "list": []any{1.0, "two", nil, true, map[string]any{}}},
			Output: map[string]any{"status": 200, "headers": map[string]any{"content-type": "text/plain"}, "body": "ok",
				"tiny": 1e-7, "huge": 1e21, "neg": -0.25, "i64": int64(-7), "strs": []string{"a", "é"},
				"hdrs": map[string]string{"b": "2", "a": "1"}, "when": t0, "raw": json.RawMessage(`{"z":1}`)},
			Steps: []*engine.StepRun{
				{ID: "filter", Type: "filter", Status: engine.StepSucceeded, Attempts: 1, StartedAt: &t0, FinishedAt: &t1,
					Output: map[string]any{"passed": true}, DurationMS: 0.125},
				{ID: "loop[2].send", Type: "http", Status: engine.StepFailed, Attempts: 3, Input: map[string]any{"url": "http://x/" + strings.Repeat("p", 200)},
					Output: "text", Error: "HTTP 500", StartedAt: &zero, NextAt: &t1, DurationMS: math.MaxFloat64,
					Logs: []string{"one", "", "three"}},
				{ID: "set", Type: "set", Status: engine.StepSucceeded, Input: []any{}, Output: nil},
			}},
		"empty vars and steps": {ID: "r3", Vars: map[string]any{}, Steps: []*engine.StepRun{}, Output: map[string]any{}},
		"large": {ID: "r4", FlowID: "big", Status: engine.RunRunning, CreatedAt: t0,
			Vars: map[string]any{"payload": strings.Repeat("compressible text ", 2000)}},
	}
}

// TestRunCodec: a run written in format 2 reads back as the same JSON that
// format 1 gave (the same values, the same times), for every field.
func TestRunCodec(t *testing.T) {
	for name, r := range codecRuns() {
		t.Run(name, func(t *testing.T) {
			v2, err := encodeRun(r)
			mustNil(t, err)
			if v2[0] != formatV2 {
				t.Fatalf("format byte %d", v2[0])
			}
			if name == "large" && v2[1]&flagZstd == 0 {
				t.Errorf("a large record was not compressed (%d bytes)", len(v2))
			}
			v1, err := encodeRunV1(r)
			mustNil(t, err)
			got, trig, err := decodeRunRecord([]byte(r.ID), v2)
			mustNil(t, err)
			want, _, err := decodeRunRecord([]byte(r.ID), v1)
			mustNil(t, err)
			if trig != nil {
				t.Errorf("format 2 returned a trigger: %s", trig)
			}
			if !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, want)) {
				t.Errorf("format 2 reads\n%s\nformat 1 reads\n%s", jsonOf(t, got), jsonOf(t, want))
			}
			if !reflect.DeepEqual(got.Vars, want.Vars) || !reflect.DeepEqual(got.Output, want.Output) ||
				len(got.Steps) != len(want.Steps) {
				t.Errorf("values differ: %#v / %#v", got, want)
			}
			for i := range got.Steps {
				if !reflect.DeepEqual(got.Steps[i], want.Steps[i]) {
					t.Errorf("step %d: %#v, format 1: %#v", i, got.Steps[i], want.Steps[i])
				}
			}
			again, err := encodeRun(got)
			mustNil(t, err)
			if !bytes.Equal(again, v2) {
				t.Errorf("re-encoding changed the record")
			}
		})
	}
}

// jsonOf is r's JSON as the API writes it, canonical (decoded and encoded
// again): format 2 keeps a string's invalid UTF-8 bytes where format 1 read
// them back as U+FFFD, and either way the API writes U+FFFD.
func jsonOf(t *testing.T, r *engine.Run) string {
	t.Helper()
	js, err := json.Marshal(runRecord{Run: r})
	mustNil(t, err)
	var v any
	mustNil(t, json.Unmarshal(js, &v))
	js, err = json.Marshal(v)
	mustNil(t, err)
	return string(js)
}

// TestRunCodecGolden pins format 2's bytes: a change to the encoder that
// would make records written today unreadable fails here. Regenerate with
// HOOKFLOW_UPDATE_GOLDEN=1 only together with a new format version.
func TestRunCodecGolden(t *testing.T) {
	path := filepath.Join("testdata", "run-format2.hex")
	v, err := encodeRun(codecRuns()["finished"])
	mustNil(t, err)
	if os.Getenv("HOOKFLOW_UPDATE_GOLDEN") == "1" {
		mustNil(t, os.WriteFile(path, []byte(hex.EncodeToString(v)+"\n"), 0o644))
	}
	golden, err := os.ReadFile(path)
	mustNil(t, err)
	stored, err := hex.DecodeString(strings.TrimSpace(string(golden)))
	mustNil(t, err)
	if !bytes.Equal(v, stored) {
		t.Errorf("encoding changed:\n got %x\nwant %x", v, stored)
	}
	r, _, err := decodeRunRecord([]byte("r2"), stored)
	mustNil(t, err)
	want, err := encodeRunV1(codecRuns()["finished"])
	mustNil(t, err)
	old, _, err := decodeRunRecord([]byte("r2"), want)
	mustNil(t, err)
	if jsonOf(t, r) != jsonOf(t, old) {
		t.Errorf("golden record reads\n%s\nwant\n%s", jsonOf(t, r), jsonOf(t, old))
	}
}

// TestRunCodecErrors: damaged records fail with an error naming the run.
func TestRunCodecErrors(t *testing.T) {
	good, err := encodeRun(codecRuns()["finished"])
	mustNil(t, err)
	tests := []struct {
		name string
		v    []byte
		want string
	}{
		{"header only", []byte{formatV2, 0}, "bad id"},
		{"truncated", good[:len(good)/2], "corrupt run record"},
		{"trailing bytes", append(bytes.Clone(good), 0), "trailing bytes"},
		{"bad compression", []byte{formatV2, flagZstd, 1, 2, 3}, "decompress record"},
		{"huge step count", []byte{formatV2, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "bad step count"},
		{"bad time tag", append(append([]byte{formatV2, 0}, make([]byte, 15)...), 9), "corrupt run record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := decodeRunRecord([]byte("rx"), tc.v)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"rx"`) {
				t.Fatalf("error = %v, want one with %q and the run id", err, tc.want)
			}
		})
	}
	if _, err := encodeRun(&engine.Run{Output: math.NaN()}); err == nil {
		t.Error("NaN encoded")
	}
	if _, err := encodeRun(&engine.Run{Steps: []*engine.StepRun{nil}}); err == nil {
		t.Error("a nil step encoded")
	}
}

// FuzzDecodeRunRecord: any bytes decode to a run or an error (no panic, no
// unbounded allocation), and what decodes re-encodes to a record that
// decodes to the same run.
func FuzzDecodeRunRecord(f *testing.F) {
	for _, r := range codecRuns() {
		v, err := encodeRun(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Add([]byte{formatV2, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, _, err := decodeRunRecord([]byte("f"), v)
		if err != nil || len(v) == 0 || v[0] != formatV2 {
			return
		}
		again, err := encodeRun(r)
		if err != nil {
			return // e.g. a JSON slot holding a number encoding/json cannot write back
		}
		r2, _, err := decodeRunRecord([]byte("f"), again)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if jsonOf(t, r) != jsonOf(t, r2) {
			t.Fatalf("round trip changed the run:\n%s\n%s", jsonOf(t, r), jsonOf(t, r2))
		}
	})
}
