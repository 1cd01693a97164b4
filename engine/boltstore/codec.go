package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
)

// On-disk formats of the run buckets. Values written since format 1 start
// with a version byte; values written before it (a JSON object in runs and
// run_triggers, a bare status or nothing in runs_by_flow and runs_pending)
// still decode.
//
//	runs          1, flags, payload: the run's JSON without its trigger
//	              (written until data format 2; since 3: format 2, runcodec.go)
//	run_triggers  1, flags, payload: uvarint len + body JSON, uvarint len + raw, JSON of the rest
//	runs_by_flow  1, int64be(created_at unix ns), len(status), status, JSON of the RunSummary
//	runs_pending  the same as runs_by_flow
//
// With flagZstd the payload is zstd-compressed (values of compressMin bytes
// or more, when that saves at least an eighth). A JSON webhook's raw body is
// its body JSON (flagRawIsBody) and a text body is its raw text
// (flagBodyIsRaw): either way the request is stored once.
const (
	formatV1 byte = 1

	flagZstd      byte = 1 << 0
	flagRawIsBody byte = 1 << 1
	flagBodyIsRaw byte = 1 << 2

	compressMin = 4 << 10
	// maxDecoded bounds what one stored value may decompress to (a damaged
	// record fails instead of exhausting memory).
	maxDecoded = 1 << 30
)

// The zstd encoder and decoder are made on first use; both are safe for
// concurrent use (EncodeAll and DecodeAll).
var (
	zEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only bad options fail
		}
		return e
	})
	zDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(maxDecoded))
		if err != nil {
			panic(err)
		}
		return d
	})
)

// compress returns v (version, flags, payload) with its payload
// zstd-compressed when it is large and that saves an eighth, else v.
func compress(v []byte) []byte {
	if p := v[2:]; len(p) >= compressMin {
		out := zEncoder().EncodeAll(p, append(make([]byte, 0, 2+len(p)/2), v[0], v[1]|flagZstd))
		if len(out)-2 <= len(p)-len(p)/8 {
			return out
		}
	}
	return v
}

// unpack returns a format-1 value's flags and payload. An uncompressed
// payload is a slice of v; a compressed one is decoded into buf's storage.
func unpack(v, buf []byte) (flags byte, payload []byte, err error) {
	return unpackFormat(v, buf, formatV1)
}

// unpackFormat is unpack for values of format want.
func unpackFormat(v, buf []byte, want byte) (flags byte, payload []byte, err error) {
	if len(v) < 2 || v[0] != want {
		if len(v) > 0 {
			return 0, nil, fmt.Errorf("unknown record format %d (written by a newer hookflow?)", v[0])
		}
		return 0, nil, fmt.Errorf("empty record")
	}
	flags, payload = v[1], v[2:]
	if flags&flagZstd != 0 {
		payload, err = zDecoder().DecodeAll(payload, buf[:0])
		if err != nil {
			return 0, nil, fmt.Errorf("decompress record: %w", err)
		}
	}
	return flags, payload, nil
}

// legacyJSON reports whether v was written before format 1 (a JSON object).
func legacyJSON(v []byte) bool { return len(v) > 0 && v[0] == '{' }

// runRecord is a run as stored in the runs bucket: everything but its
// trigger, which never changes and is stored once, at CreateRun, in
// run_triggers — so that a checkpoint does not re-encode the request body.
type runRecord struct {
	*engine.Run
	// Trigger shadows Run.Trigger: absent in new records, present in records
	// written before the split.
	Trigger json.RawMessage `json:"trigger,omitempty"`
}

// decodeRunRecord decodes a runs value: the run, and the trigger JSON that
// records from before the split carry (nil otherwise).
func decodeRunRecord(id, data []byte) (*engine.Run, []byte, error) {
	js := data
	if len(data) > 0 && data[0] == formatV2 {
		_, p, err := unpackFormat(data, nil, formatV2)
		if err == nil {
			var r *engine.Run
			if r, err = decodeRunV2(p); err == nil {
				return r, nil, nil
			}
		}
		return nil, nil, fmt.Errorf("decode run %q: %w", id, err)
	}
	if !legacyJSON(data) {
		var err error
		if _, js, err = unpack(data, nil); err != nil {
			return nil, nil, fmt.Errorf("decode run %q: %w", id, err)
		}
	}
	r := new(engine.Run)
	rec := runRecord{Run: r}
	if err := json.Unmarshal(js, &rec); err != nil {
		return nil, nil, fmt.Errorf("decode run %q: %w", id, err)
	}
	return r, rec.Trigger, nil
}

// decodeRun reads a run record and its trigger (bbolt's slices are only valid
// inside tx; the result is a copy).
func decodeRun(tx *bolt.Tx, id, data []byte) (*engine.Run, error) {
	r, trig, err := decodeRunRecord(id, data)
	if err != nil {
		return nil, err
	}
	if trig == nil {
		trig = tx.Bucket(bRunTriggers).Get(id)
	}
	if trig != nil {
		if err := decodeTrigger(trig, &r.Trigger); err != nil {
			return nil, fmt.Errorf("decode trigger of run %q: %w", id, err)
		}
	}
	return r, nil
}

// encodeTrigger encodes what started a run, with its request body once.
func encodeTrigger(t *engine.TriggerData) ([]byte, error) {
	var flags byte
	body, raw := []byte(t.BodyJSON), t.Raw
	switch s, isText := t.Body.(string); {
	case len(body) > 0 && raw == string(body):
		flags, raw = flagRawIsBody, ""
	case len(body) == 0 && isText && raw != "" && s == raw:
		flags = flagBodyIsRaw
	case len(body) == 0:
		js, err := json.Marshal(t.Body)
		if err != nil {
			return nil, err
		}
		body = js
	}
	p := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(body)+len(raw)+256)
	p = append(p, formatV1, flags)
	p = binary.AppendUvarint(p, uint64(len(body)))
	p = append(p, body...)
	p = binary.AppendUvarint(p, uint64(len(raw)))
	p = append(p, raw...)
	p, err := appendTriggerMeta(p, t)
	if err != nil {
		return nil, err
	}
	return compress(p), nil
}

// appendTriggerMeta appends the JSON of t without its body and raw text:
// the bytes encoding/json writes for a plainTrigger with Body, Raw and
// BodyJSON cleared (TestTriggerMetaJSON), by hand.
func appendTriggerMeta(b []byte, t *engine.TriggerData) ([]byte, error) {
	var err error
	b = append(b, `{"type":`...)
	b, _ = engine.AppendJSON(b, t.Type)
	if t.Method != "" {
		b = append(b, `,"method":`...)
		b, _ = engine.AppendJSON(b, t.Method)
	}
	b = append(b, `,"path":`...)
	b, _ = engine.AppendJSON(b, t.Path)
	b = append(b, `,"headers":`...)
	b, _ = engine.AppendJSON(b, t.Headers) // map[string]string always encodes
	b = append(b, `,"query":`...)
	if b, err = engine.AppendJSON(b, t.Query); err != nil {
		return nil, err
	}
	b = append(b, `,"body":null,"files":`...)
	if t.Files == nil {
		b = append(b, "null"...)
	} else {
		js, err := json.Marshal(t.Files)
		if err != nil {
			return nil, err
		}
		b = append(b, js...)
	}
	if t.RawBase64 {
		b = append(b, `,"raw_base64":true`...)
	}
	if t.XML != nil {
		b = append(b, `,"xml":`...)
		if b, err = engine.AppendJSON(b, t.XML); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"received_at":`...)
	js, err := t.ReceivedAt.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, js...)
	if t.Reconciled {
		b = append(b, `,"reconciled":true`...)
	}
	if len(t.FileData) > 0 {
		b = append(b, `,"file_data":`...)
		b, _ = engine.AppendJSON(b, t.FileData)
	}
	return append(b, '}'), nil
}

// decodeTriggerMeta reads what appendTriggerMeta wrote, with the webhook
// decoder and by hand; a shape it does not expect (files, a field of another
// type) goes through encoding/json, which gives the same result.
func decodeTriggerMeta(meta []byte, t *engine.TriggerData) error {
	v, err := engine.DecodeJSON(meta)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return json.Unmarshal(meta, t)
	}
	var x engine.TriggerData
	for k, val := range m {
		switch k {
		case "type":
			x.Type, ok = val.(string)
		case "method":
			x.Method, ok = val.(string)
		case "path":
			x.Path, ok = val.(string)
		case "raw":
			x.Raw, ok = val.(string)
		case "headers":
			x.Headers, ok = stringMap(val)
		case "file_data":
			x.FileData, ok = stringMap(val)
		case "query":
			x.Query, ok = val.(map[string]any)
			ok = ok || val == nil
		case "body":
			x.Body = val
		case "xml":
			x.XML = val
		case "raw_base64":
			x.RawBase64, ok = val.(bool)
		case "reconciled":
			x.Reconciled, ok = val.(bool)
		case "received_at":
			var s string
			if s, ok = val.(string); ok {
				x.ReceivedAt, err = time.Parse(time.RFC3339, s)
				ok = err == nil
			}
		case "files": // a form post's empty list, or null
			if l, isList := val.([]any); isList && len(l) == 0 {
				x.Files = []engine.File{}
			} else {
				ok = val == nil
			}
		default: // a key encoding/json would match without regard to case
			ok = false
		}
		if !ok {
			return json.Unmarshal(meta, t)
		}
	}
	*t = x
	return nil
}

// stringMap converts a decoded JSON object of strings (nil for null).
func stringMap(v any) (map[string]string, bool) {
	if v == nil {
		return nil, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// triggerParts splits a format-1 trigger value; a compressed one is
// decoded into buf's storage, returned as scratch for reuse.
func triggerParts(v, buf []byte) (flags byte, body, raw, meta, scratch []byte, err error) {
	flags, p, err := unpack(v, buf)
	if err != nil {
		return 0, nil, nil, nil, buf, err
	}
	scratch = buf
	if flags&flagZstd != 0 {
		scratch = p[:0]
	}
	next := func() ([]byte, bool) {
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return nil, false
		}
		part := p[w : w+int(n)]
		p = p[w+int(n):]
		return part, true
	}
	body, ok1 := next()
	raw, ok2 := next()
	if !ok1 || !ok2 {
		return 0, nil, nil, nil, scratch, fmt.Errorf("corrupt trigger record")
	}
	return flags, body, raw, p, scratch, nil
}

// decodeTrigger decodes a run_triggers value (either format) into t.
func decodeTrigger(v []byte, t *engine.TriggerData) error {
	if legacyJSON(v) {
		return json.Unmarshal(v, t)
	}
	flags, body, raw, meta, _, err := triggerParts(v, nil)
	if err != nil {
		return err
	}
	if err := decodeTriggerMeta(meta, t); err != nil {
		return err
	}
	t.Raw = string(raw)
	switch {
	case flags&flagBodyIsRaw != 0:
		t.Body = t.Raw
	default:
		if flags&flagRawIsBody != 0 {
			t.Raw = string(body)
		}
		// The ingest path's decoder: the same values as encoding/json into
		// an any, in about half the CPU (a worker reloads every run queued
		// beyond the in-memory cap). A body it refuses (nested deeper than
		// it allows) is decoded as before.
		v, err := engine.DecodeJSON(body)
		if err != nil {
			v = nil
			if err := json.Unmarshal(body, &v); err != nil {
				return fmt.Errorf("decode body: %w", err)
			}
		}
		t.Body = v
		t.BodyJSON = bytes.Clone(body) // written back as it arrived (a replay stores it once again)
	}
	return nil
}

// triggerText returns the text that a search looks in: the body's JSON, or
// the raw text of a text body; scratch is buf's storage to reuse.
func triggerText(v, buf []byte) (text, scratch []byte, err error) {
	if legacyJSON(v) {
		var t struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, buf, err
		}
		return t.Body, buf, nil
	}
	flags, body, raw, _, scratch, err := triggerParts(v, buf)
	if err != nil {
		return nil, scratch, err
	}
	if flags&flagBodyIsRaw != 0 {
		return raw, scratch, nil
	}
	return body, scratch, nil
}

// encodeIndex is a run's runs_by_flow and runs_pending value: the summary,
// with the status and creation time first so that filters read them without
// decoding JSON.
func encodeIndex(r *engine.Run) ([]byte, error) {
	if len(r.Status) > 255 {
		return nil, errInvalid(fmt.Sprintf("status %.20q… is too long", r.Status))
	}
	sum := r.Summary()
	v := make([]byte, 0, 10+len(r.Status)+128)
	v = append(v, formatV1)
	v = binary.BigEndian.AppendUint64(v, uint64(nanos(r.CreatedAt)))
	v = append(v, byte(len(r.Status)))
	v = append(v, r.Status...)
	return appendIndexSummary(v, &indexSummary{Flow: sum.FlowID, Version: sum.FlowVersion, Error: sum.Error,
		Type: sum.Trigger.Type, Method: sum.Trigger.Method, Received: nanos(sum.Trigger.ReceivedAt),
		Started: nanosPtr(sum.StartedAt), Finished: nanosPtr(sum.FinishedAt), ReplayOf: sum.ReplayOf,
		Steps: sum.Steps, ByStatus: sum.StepStatuses, Truncated: sum.Truncated}), nil
}

// appendIndexSummary appends x's JSON: encoding/json's bytes
// (TestIndexSummaryJSON), by hand.
func appendIndexSummary(b []byte, x *indexSummary) []byte {
	str := func(b []byte, key, s string) []byte {
		if s == "" {
			return b
		}
		b = append(b, key...)
		b, _ = engine.AppendJSON(b, s)
		return b
	}
	num := func(b []byte, key string, n int64) []byte {
		if n == 0 {
			return b
		}
		return strconv.AppendInt(append(b, key...), n, 10)
	}
	b = append(b, `{"f":`...)
	b, _ = engine.AppendJSON(b, x.Flow)
	b = num(b, `,"v":`, int64(x.Version))
	b = str(b, `,"e":`, x.Error)
	b = str(b, `,"t":`, x.Type)
	b = str(b, `,"m":`, x.Method)
	b = num(b, `,"r":`, x.Received)
	b = num(b, `,"s":`, x.Started)
	b = num(b, `,"x":`, x.Finished)
	b = str(b, `,"p":`, x.ReplayOf)
	b = num(b, `,"n":`, int64(x.Steps))
	if len(x.ByStatus) > 0 {
		keys := make([]string, 0, len(x.ByStatus))
		for k := range x.ByStatus {
			keys = append(keys, string(k))
		}
		slices.Sort(keys)
		b = append(b, `,"c":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = engine.AppendJSON(b, k)
			b = strconv.AppendInt(append(b, ':'), int64(x.ByStatus[engine.StepStatus(k)]), 10)
		}
		b = append(b, '}')
	}
	if x.Truncated {
		b = append(b, `,"k":true`...)
	}
	return append(b, '}')
}

// indexSummary is a RunSummary as an index entry stores it (about 100
// bytes): short names, times in unix ns; the run id is the key, the status
// and creation time are the entry's header.
type indexSummary struct {
	Flow      string                    `json:"f"`
	Version   int                       `json:"v,omitempty"`
	Error     string                    `json:"e,omitempty"`
	Type      string                    `json:"t,omitempty"`
	Method    string                    `json:"m,omitempty"`
	Received  int64                     `json:"r,omitempty"`
	Started   int64                     `json:"s,omitempty"`
	Finished  int64                     `json:"x,omitempty"`
	ReplayOf  string                    `json:"p,omitempty"`
	Steps     int                       `json:"n,omitempty"`
	ByStatus  map[engine.StepStatus]int `json:"c,omitempty"`
	Truncated bool                      `json:"k,omitempty"`
}

// nanos is t in unix ns, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func nanosPtr(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return nanos(*t)
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func fromNanosPtr(n int64) *time.Time {
	if n == 0 {
		return nil
	}
	t := fromNanos(n)
	return &t
}

// indexEntry is a decoded index value; ok is false for values written
// before format 1 (a bare status or nothing), which hold no summary.
type indexEntry struct {
	status  []byte
	created int64
	summary []byte
	ok      bool
}

func parseIndex(v []byte) indexEntry {
	if len(v) < 10 || v[0] != formatV1 {
		return indexEntry{}
	}
	n := int(v[9])
	if len(v) < 10+n {
		return indexEntry{}
	}
	return indexEntry{created: int64(binary.BigEndian.Uint64(v[1:9])), status: v[10 : 10+n], summary: v[10+n:], ok: true}
}

// decodeSummary decodes an index entry's summary.
func (e indexEntry) decodeSummary(id []byte) (*engine.RunSummary, error) {
	var x indexSummary
	if err := json.Unmarshal(e.summary, &x); err != nil {
		return nil, fmt.Errorf("decode summary of run %q: %w", id, err)
	}
	return &engine.RunSummary{ID: string(id), FlowID: x.Flow, FlowVersion: x.Version, Status: engine.RunStatus(e.status),
		Trigger: engine.TriggerSummary{Type: x.Type, Method: x.Method, ReceivedAt: fromNanos(x.Received)},
		Error:   x.Error, ReplayOf: x.ReplayOf, CreatedAt: fromNanos(e.created), StartedAt: fromNanosPtr(x.Started),
		FinishedAt: fromNanosPtr(x.Finished), Steps: x.Steps, StepStatuses: x.ByStatus, Truncated: x.Truncated}, nil
}

// recordCreated returns the created_at of a runs value (zero if unreadable).
func recordCreated(id, data []byte) time.Time {
	r, _, err := decodeRunRecord(id, data)
	if err != nil {
		return time.Time{}
	}
	return r.CreatedAt
}
