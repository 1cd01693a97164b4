package boltstore

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	bolt "go.etcd.io/bbolt"
)

// TestTriggerCodec: every kind of request body comes back as it went in, and
// the request is stored once.
func TestTriggerCodec(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	big := `{"items":"` + strings.Repeat(`a \"quoted\" word `, 2000) + `"}`
	deep := strings.Repeat(`[`, 1200) + `1` + strings.Repeat(`]`, 1200)
	odd := `{"a":1,"a":2.5e3,"s":"\u00e9\ud83d\ude00 \"q\"","n":[null,true,-0.0,12345678901234567890],"x":{}}`
	tests := []struct {
		name     string
		trig     engine.TriggerData
		wantBody any
		maxBytes int // upper bound of the stored value
	}{
		{name: "JSON body as sent", trig: engine.TriggerData{Type: "webhook", Raw: `{"b":1, "a":"x"}`, BodyJSON: []byte(`{"b":1, "a":"x"}`),
			Body: map[string]any{"a": "x", "b": 1.0}, Headers: map[string]string{"content-type": "application/json"}, ReceivedAt: at},
			wantBody: map[string]any{"a": "x", "b": 1.0}, maxBytes: 2 + 2 + 16 + 200},
		{name: "large JSON body compressed", trig: engine.TriggerData{Type: "webhook", Raw: big, BodyJSON: []byte(big), Body: map[string]any{"items": "…"}},
			wantBody: nil /* decoded from big */, maxBytes: len(big) / 4},
		// Bodies read back by the ingest decoder, or by encoding/json where it
		// refuses (deeper than it allows): the same values as encoding/json.
		{name: "JSON body nested past the ingest decoder's depth", trig: engine.TriggerData{Type: "webhook", Raw: deep, BodyJSON: []byte(deep)},
			wantBody: nil, maxBytes: 2*len(deep) + 200},
		{name: "JSON body with repeated keys, escapes, numbers", trig: engine.TriggerData{Type: "webhook", Raw: odd, BodyJSON: []byte(odd)},
			wantBody: nil, maxBytes: 2*len(odd) + 200},
		{name: "text body", trig: engine.TriggerData{Type: "webhook", Raw: "hello \"world\"", Body: "hello \"world\""},
			wantBody: "hello \"world\"", maxBytes: 2 + 2 + 13 + 200},
		{name: "form body and raw", trig: engine.TriggerData{Type: "webhook", Raw: "a=1&b=2", Body: map[string]any{"a": "1", "b": "2"}},
			wantBody: map[string]any{"a": "1", "b": "2"}, maxBytes: 300},
		{name: "no body", trig: engine.TriggerData{Type: "schedule", ReceivedAt: at}, wantBody: nil, maxBytes: 300},
		{name: "files kept", trig: engine.TriggerData{Type: "webhook", Body: map[string]any{"f": "x"},
			Files: []engine.File{{Field: "f", Filename: "a.txt", Size: 3, SHA256: "ab"}}, FileData: map[string]string{"ab": "eHl6"}},
			wantBody: map[string]any{"f": "x"}, maxBytes: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := encodeTrigger(&tc.trig)
			mustNil(t, err)
			if len(v) > tc.maxBytes {
				t.Fatalf("stored %d bytes, want at most %d", len(v), tc.maxBytes)
			}
			var got engine.TriggerData
			mustNil(t, decodeTrigger(v, &got))
			want := tc.trig
			if tc.wantBody == nil && len(want.BodyJSON) > 0 {
				mustNil(t, json.Unmarshal(want.BodyJSON, &tc.wantBody))
			}
			want.Body, want.BodyJSON = tc.wantBody, nil
			gotBodyJSON := got.BodyJSON
			got.BodyJSON = nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded\n%+v\nwant\n%+v", got, want)
			}
			if len(tc.trig.BodyJSON) > 0 && !bytes.Equal(gotBodyJSON, tc.trig.BodyJSON) {
				t.Fatalf("body JSON %s, want it as sent: %s", gotBodyJSON, tc.trig.BodyJSON)
			}
		})
	}
}

// TestUnknownRecordFormat: a record from a newer version is an error, not a panic.
func TestUnknownRecordFormat(t *testing.T) {
	for _, v := range [][]byte{{9, 0, 1}, {formatV1}, {formatV1, flagZstd, 1, 2, 3}, {formatV1, 0, 0xff}} {
		if _, _, err := decodeRunRecord([]byte("x"), v); err == nil {
			t.Errorf("run record %v decoded", v)
		}
		if err := decodeTrigger(v, new(engine.TriggerData)); err == nil {
			t.Errorf("trigger record %v decoded", v)
		}
	}
}

// TestLegacyRecords: runs stored before format 1 — the whole run as JSON
// with its trigger, or the run and its trigger as JSON in two buckets, with
// a bare status (or nothing) in the indexes — still read, list, search,
// count and prune, and a checkpoint rewrites them in the new format.
func TestLegacyRecords(t *testing.T) {
	s, path := openTest(t, Options{})
	base := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Millisecond)
	embedded := runAt("old", base, engine.RunFailed, map[string]any{"email": "Ann@Example.com"})
	embedded.Error = "boom"
	embedded.Steps = []*engine.StepRun{{ID: "a", Status: engine.StepFailed, Input: map[string]any{"x": 1.0}}}
	split := runAt("old", base.Add(time.Minute), engine.RunQueued, map[string]any{"email": "bob@example.com"})
	split.Trigger.Raw = `{"email":"bob@example.com"}`
	bare := &engine.Run{ID: "legacy-id", FlowID: "old", Status: engine.RunSucceeded, CreatedAt: base.Add(-time.Hour),
		Trigger: engine.TriggerData{Type: "manual", Body: map[string]any{"n": 1.0}}}
	err := s.db.Update(func(tx *bolt.Tx) error {
		put := func(b []byte, k string, v any) {
			js, err := json.Marshal(v)
			mustNil(t, err)
			mustNil(t, tx.Bucket(b).Put([]byte(k), js))
		}
		put(bRuns, embedded.ID, embedded) // trigger inside the run
		mustNil(t, tx.Bucket(bRunsByFlow).Put(join("old", embedded.ID), nil))
		put(bRuns, split.ID, runRecord{Run: split, Trigger: nil}) // trigger apart
		put(bRunTriggers, split.ID, &split.Trigger)
		mustNil(t, tx.Bucket(bRunsByFlow).Put(join("old", split.ID), []byte(split.Status)))
		mustNil(t, tx.Bucket(bRunsPending).Put([]byte(split.ID), []byte(split.Status)))
		put(bRuns, bare.ID, bare)
		return tx.Bucket(bRunsByFlow).Put(join("old", bare.ID), []byte(bare.Status))
	})
	mustNil(t, err)
	s.Close()
	s, err = Open(path, Options{})
	mustNil(t, err)
	t.Cleanup(func() { s.Close() })

	for _, want := range []*engine.Run{embedded, split, bare} {
		got, err := s.GetRun(ctx, want.ID)
		mustNil(t, err)
		if got.Status != want.Status || got.Error != want.Error || len(got.Steps) != len(want.Steps) ||
			!reflect.DeepEqual(got.Trigger.Body, want.Trigger.Body) || got.Trigger.Raw != want.Trigger.Raw {
			t.Fatalf("run %s read as %+v", want.ID, got)
		}
	}
	tests := []struct {
		name string
		q    engine.RunQuery
		want []*engine.Run
	}{
		// Byte order is list order: the id that is not a ULID sorts first.
		{"flow", engine.RunQuery{FlowID: "old"}, []*engine.Run{bare, split, embedded}},
		{"all flows", engine.RunQuery{}, []*engine.Run{bare, split, embedded}},
		{"status", engine.RunQuery{Status: engine.RunFailed}, []*engine.Run{embedded}},
		{"pending", engine.RunQuery{Status: engine.RunQueued}, []*engine.Run{split}},
		{"text in an embedded trigger", engine.RunQuery{Text: "ann@example"}, []*engine.Run{embedded}},
		{"text in a trigger apart", engine.RunQuery{Text: "BOB@"}, []*engine.Run{split}},
		{"since", engine.RunQuery{Since: base.Add(30 * time.Second)}, []*engine.Run{split}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListRunSummaries(ctx, tc.q)
			mustNil(t, err)
			if len(page.Runs) != len(tc.want) {
				t.Fatalf("%d runs, want %d", len(page.Runs), len(tc.want))
			}
			for i, r := range tc.want {
				if !reflect.DeepEqual(page.Runs[i], r.Summary()) {
					t.Fatalf("run %d: %+v\nwant %+v", i, page.Runs[i], r.Summary())
				}
			}
		})
	}
	if n, err := s.CountRuns(ctx, "old", base.Add(-time.Minute)); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
	// A checkpoint rewrites the pending run in the new format.
	split.Status = engine.RunSucceeded
	mustNil(t, s.SaveRun(ctx, split))
	mustNil(t, s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bRuns).Get([]byte(split.ID)); v[0] != formatV2 {
			t.Errorf("checkpoint kept the old format: %.20q", v)
		}
		if !parseIndex(tx.Bucket(bRunsByFlow).Get(join("old", split.ID))).ok {
			t.Error("checkpoint kept the old index entry")
		}
		return nil
	}))
	if got, err := s.GetRun(ctx, split.ID); err != nil || got.Trigger.Raw != split.Trigger.Raw {
		t.Fatalf("after the checkpoint: %+v, %v", got, err)
	}
	// Pruning by age starts at the ULID of the age limit: the two ULID runs.
	n, err := s.PruneRuns(ctx, "old", base.Add(time.Hour), 0)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("pruned %d legacy runs, want 2", n)
	}
}

// TestStorageAmplification writes 100 webhooks of ~1 MB JSON (random text,
// so compression saves little) the way the webhook receiver hands them over
// (raw bytes and body JSON), with three checkpoints each, and checks that
// the database file stays within 1.5× the bodies' size. (Under the race
// detector it writes 15 runs.)
func TestStorageAmplification(t *testing.T) {
	s, path := openTest(t, Options{})
	payload, runs := 0, 100
	if raceEnabled {
		runs = 15
	}
	for i := range runs {
		raw := bigBody(t, i)
		payload += len(raw)
		r := &engine.Run{FlowID: "big", Status: engine.RunQueued, Trigger: engine.TriggerData{Type: "webhook", Method: "POST",
			Raw: string(raw), BodyJSON: raw, Body: map[string]any{"n": float64(i)}, ReceivedAt: time.Now()}}
		_, _, err := s.CreateRun(ctx, r, "", 0)
		mustNil(t, err)
		r.Status = engine.RunRunning
		mustNil(t, s.SaveRun(ctx, r))
		r.Steps = []*engine.StepRun{{ID: "log", Type: "log", Status: engine.StepSucceeded, Output: map[string]any{"ok": true}}}
		mustNil(t, s.SaveRun(ctx, r))
		r.Status = engine.RunSucceeded
		mustNil(t, s.SaveRun(ctx, r))
	}
	var pages int64 // the pages written so far (the file's tail is preallocated in 16 MB steps)
	mustNil(t, s.view(func(tx *bolt.Tx) error { pages = tx.Size(); return nil }))
	mustNil(t, s.Close())
	fi, err := os.Stat(path)
	mustNil(t, err)
	t.Logf("bodies %.1f MB, pages %.1f MB (%.2f×), file %.1f MB (%.2f×)", float64(payload)/1e6,
		float64(pages)/1e6, float64(pages)/float64(payload), float64(fi.Size())/1e6, float64(fi.Size())/float64(payload))
	if ratio := float64(pages) / float64(payload); ratio > 1.5 {
		t.Fatalf("the database holds %.2f× the bodies, want ≤ 1.5×", ratio)
	}
	if ratio := float64(fi.Size()) / float64(payload); !raceEnabled && ratio > 1.5 {
		t.Fatalf("the file is %.2f× the bodies, want ≤ 1.5×", ratio)
	}
}

// bigBody is a ~1 MB JSON webhook body of random base64 text (compression
// saves about a quarter) with quoted strings.
func bigBody(tb testing.TB, n int) []byte {
	rnd := make([]byte, 600_000)
	rand.Read(rnd)
	data := base64.StdEncoding.EncodeToString(rnd)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"n":%d,"items":[`, n)
	for j := 0; j+200 <= len(data); j += 200 {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"it-%d","note":"say \"hi\"","data":"%s"}`, j, data[j:j+200])
	}
	b.WriteString("]}")
	if !json.Valid(b.Bytes()) {
		tb.Fatal("invalid body")
	}
	return b.Bytes()
}

// BenchmarkTriggerCodec encodes (compresses) and decodes the trigger of a
// ~1 MB JSON webhook, as CreateRun and GetRun do, beside the JSON encoding
// CreateRun used before.
func BenchmarkTriggerCodec(b *testing.B) {
	raw := bigBody(b, 1)
	trig := &engine.TriggerData{Type: "webhook", Raw: string(raw), BodyJSON: raw}
	var v []byte
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var err error
			if v, err = encodeTrigger(trig); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(v))/float64(len(raw)), "stored/body")
	})
	b.Run("json-before", func(b *testing.B) { // what CreateRun did before format 1
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			if _, err := json.Marshal(trig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			var t engine.TriggerData
			if err := decodeTrigger(v, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
}
