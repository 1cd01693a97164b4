package boltstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// plainTrigger has TriggerData's fields without its MarshalJSON: the
// encoding/json reference of the trigger meta.
type plainTrigger engine.TriggerData

// TestTriggerMetaJSON: the hand-written trigger meta is encoding/json's
// bytes, and reads back as encoding/json reads it.
func TestTriggerMetaJSON(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 40, 0, 123000000, time.UTC)
	tests := []struct {
		name string
		t    engine.TriggerData
	}{
		{"empty", engine.TriggerData{}},
		{"webhook", engine.TriggerData{Type: "webhook", Method: "POST", Path: "/orders/<7>",
			Headers: map[string]string{"content-type": "application/json", "x-sig": "t=1,v1=ab&c"},
			Query:   map[string]any{"a": []any{"1", "2"}, "b": "x"}, ReceivedAt: at}},
		{"empty maps", engine.TriggerData{Type: "manual", Headers: map[string]string{}, Query: map[string]any{}, ReceivedAt: at}},
		{"files and flags", engine.TriggerData{Type: "webhook", Files: []engine.File{{Field: "f", Filename: "a.txt", Size: 3}},
			RawBase64: true, Reconciled: true, XML: map[string]any{"root": "v"}, FileData: map[string]string{"ab": "eA=="},
			ReceivedAt: at.In(time.FixedZone("", -5*3600))}},
		{"a form post: no files", engine.TriggerData{Type: "webhook", Method: "POST", Files: []engine.File{}, ReceivedAt: at}},
		{"body and raw are not meta", engine.TriggerData{Type: "webhook", Body: map[string]any{"x": 1.0}, Raw: "raw", BodyJSON: []byte(`{"x":1}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rest := plainTrigger(tc.t)
			rest.Body, rest.Raw, rest.BodyJSON = nil, "", nil
			want, err := json.Marshal(&rest)
			mustNil(t, err)
			got, err := appendTriggerMeta([]byte("x"), &tc.t)
			mustNil(t, err)
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("meta\n got %s\nwant %s", got[1:], want)
			}
			var viaJSON, byHand engine.TriggerData
			mustNil(t, json.Unmarshal(want, &viaJSON))
			mustNil(t, decodeTriggerMeta(want, &byHand))
			if !reflect.DeepEqual(byHand, viaJSON) {
				t.Errorf("decoded\n%#v\nencoding/json\n%#v", byHand, viaJSON)
			}
		})
	}
	// Shapes the hand decoder leaves to encoding/json read as it reads them.
	for _, meta := range []string{`{"Type":"webhook"}`, `{"headers":{"a":1}}`, `{"received_at":"yesterday"}`, `[1]`, `{"type":"x","files":null,"raw":"r","body":{"k":true}}`, `{"files":[]}`, `{"files":[{}]}`, `{"files":{}}`} {
		var viaJSON, byHand engine.TriggerData
		errJSON := json.Unmarshal([]byte(meta), &viaJSON)
		errHand := decodeTriggerMeta([]byte(meta), &byHand)
		if (errJSON == nil) != (errHand == nil) || !reflect.DeepEqual(byHand, viaJSON) {
			t.Errorf("%s: %#v, %v; encoding/json: %#v, %v", meta, byHand, errHand, viaJSON, errJSON)
		}
	}
}

// TestIndexSummaryJSON: the hand-written index summary is encoding/json's bytes.
func TestIndexSummaryJSON(t *testing.T) {
	for _, x := range []indexSummary{
		{},
		{Flow: "load-stripe", Version: 3, Type: "webhook", Method: "POST", Received: 1733342400123456789, Started: -1, Finished: 1,
			Steps: 2, ByStatus: map[engine.StepStatus]int{"succeeded": 1, "failed": 1, "<odd>": 0}},
		{Flow: "f", Error: "boom \"quoted\" <b>\u2028", ReplayOf: "r1", Truncated: true, ByStatus: map[engine.StepStatus]int{}},
	} {
		want, err := json.Marshal(x)
		mustNil(t, err)
		if got := appendIndexSummary(nil, &x); !bytes.Equal(got, want) {
			t.Errorf("summary\n got %s\nwant %s", got, want)
		}
	}
}
