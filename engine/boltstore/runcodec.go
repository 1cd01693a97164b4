package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// Run records of format 2 (the runs bucket; data format 3 and later): the
// run without its trigger, field by field in a fixed order, written and read
// by hand instead of through encoding/json's reflection (a checkpoint's
// encoding was ≈ 9 % of the server's CPU under load).
//
//	2, flags, payload (zstd like format 1 when large)
//	payload: str ID, str FlowID, varint FlowVersion, str Status,
//	         uvarint len(Steps)+1 (0: nil), each step (below),
//	         json Vars, json Output, str Error, str DedupeKey, str ReplayOf,
//	         str ParentRunID, varint CallDepth, time CreatedAt,
//	         ptime StartedAt, ptime NextAt, ptime FinishedAt,
//	         byte Truncated, varint Interrupted
//	step:    str ID, str Type, str Status, varint Attempts, json Input,
//	         json Output, str Error, ptime StartedAt, ptime FinishedAt,
//	         ptime NextAt, uint64le(float64 bits) DurationMS,
//	         uvarint len(Logs), str each
//
// str is uvarint length + bytes. json is uvarint length + the value's JSON
// (length 0: nil), read back with the webhook decoder, so a value decodes
// to exactly what format 1 (encoding/json) gave. time is a tag byte (0: nil
// pointer, 1: the zero time, 2: varint unix seconds, uvarint nanoseconds,
// varint zone offset in seconds).
const formatV2 byte = 2

// encodeRun encodes a run record (format 2) without its trigger.
func encodeRun(r *engine.Run) ([]byte, error) {
	b := make([]byte, 2, 512)
	b[0], b[1] = formatV2, 0
	b, err := appendRun(b, r)
	if err != nil {
		return nil, err
	}
	return compress(b), nil
}

func appendRun(b []byte, r *engine.Run) ([]byte, error) {
	var err error
	b = appendStr(b, r.ID)
	b = appendStr(b, r.FlowID)
	b = binary.AppendVarint(b, int64(r.FlowVersion))
	b = appendStr(b, string(r.Status))
	if r.Steps == nil { // null and [] differ in the API's JSON
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(r.Steps))+1)
	}
	for _, s := range r.Steps {
		if s == nil {
			return nil, errors.New("encode run: a nil step record")
		}
		b = appendStr(b, s.ID)
		b = appendStr(b, s.Type)
		b = appendStr(b, string(s.Status))
		b = binary.AppendVarint(b, int64(s.Attempts))
		if b, err = appendJSONSlot(b, s.Input); err != nil {
			return nil, fmt.Errorf("encode step %q input: %w", s.ID, err)
		}
		if b, err = appendJSONSlot(b, s.Output); err != nil {
			return nil, fmt.Errorf("encode step %q output: %w", s.ID, err)
		}
		b = appendStr(b, s.Error)
		b = appendTimePtr(b, s.StartedAt)
		b = appendTimePtr(b, s.FinishedAt)
		b = appendTimePtr(b, s.NextAt)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.DurationMS))
		b = binary.AppendUvarint(b, uint64(len(s.Logs)))
		for _, l := range s.Logs {
			b = appendStr(b, l)
		}
	}
	var vars any
	if len(r.Vars) > 0 { // omitempty in format 1: an empty map read back as nil
		vars = r.Vars
	}
	if b, err = appendJSONSlot(b, vars); err != nil {
		return nil, fmt.Errorf("encode run vars: %w", err)
	}
	if b, err = appendJSONSlot(b, r.Output); err != nil {
		return nil, fmt.Errorf("encode run output: %w", err)
	}
	b = appendStr(b, r.Error)
	b = appendStr(b, r.DedupeKey)
	b = appendStr(b, r.ReplayOf)
	b = appendStr(b, r.ParentRunID)
	b = binary.AppendVarint(b, int64(r.CallDepth))
	b = appendTime(b, r.CreatedAt)
	b = appendTimePtr(b, r.StartedAt)
	b = appendTimePtr(b, r.NextAt)
	b = appendTimePtr(b, r.FinishedAt)
	if r.Truncated {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return binary.AppendVarint(b, int64(r.Interrupted)), nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

const (
	timeNil  byte = 0
	timeZero byte = 1
	timeSet  byte = 2
)

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, timeZero)
	}
	_, off := t.Zone()
	b = append(b, timeSet)
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(off))
}

func appendTimePtr(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, timeNil)
	}
	return appendTime(b, *t)
}

// appendJSONSlot appends v's JSON with its length (0 for nil).
func appendJSONSlot(b []byte, v any) ([]byte, error) {
	if v == nil {
		return append(b, 0), nil
	}
	// The length goes first: reserve one byte, which fits values shorter
	// than 128 bytes, and move the JSON when it is longer.
	at := len(b)
	b = append(b, 0)
	b, err := engine.AppendJSON(b, v)
	if err != nil {
		return nil, err
	}
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b, nil
	}
	var hdr [binary.MaxVarintLen64]byte
	w := binary.PutUvarint(hdr[:], uint64(n))
	b = append(b, hdr[:w-1]...) // room for the longer header
	copy(b[at+w:], b[at+1:at+1+n])
	copy(b[at:], hdr[:w])
	return b, nil
}

// runReader reads a format-2 payload; the first error sticks.
type runReader struct {
	p   []byte
	err error
}

func (d *runReader) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("corrupt run record: bad %s", what)
	}
}

func (d *runReader) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	n, w := binary.Uvarint(d.p)
	if w <= 0 {
		d.fail(what)
		return 0
	}
	d.p = d.p[w:]
	return n
}

// varint reads what binary.AppendVarint wrote (zig-zag over a uvarint).
func (d *runReader) varint(what string) int64 {
	u := d.uvarint(what)
	return int64(u>>1) ^ -int64(u&1)
}

// int reads a varint that must fit an int32 (counts, versions, attempts).
func (d *runReader) int(what string) int {
	n := d.varint(what)
	if n < math.MinInt32 || n > math.MaxInt32 {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *runReader) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.p)) {
		d.fail(what)
		return nil
	}
	v := d.p[:n]
	d.p = d.p[n:]
	return v
}

func (d *runReader) str(what string) string { return string(d.bytes(what)) }

func (d *runReader) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.p) == 0 {
		d.fail(what)
		return 0
	}
	c := d.p[0]
	d.p = d.p[1:]
	return c
}

func (d *runReader) timePtr(what string) *time.Time {
	switch d.byte(what) {
	case timeNil:
		return nil
	case timeZero:
		return new(time.Time)
	case timeSet:
		sec := d.varint(what)
		nsec := d.uvarint(what)
		off := d.varint(what)
		if d.err != nil {
			return nil
		}
		if nsec >= 1e9 || off <= -100_000 || off >= 100_000 { // offsets are under 26 h
			d.fail(what)
			return nil
		}
		t := time.Unix(sec, int64(nsec))
		if off == 0 {
			t = t.UTC()
		} else {
			t = t.In(time.FixedZone("", int(off)))
		}
		if y := t.Year(); y < 0 || y > 9999 {
			// Never written (times come from the clock or RFC 3339, and the
			// API writes them as RFC 3339): damage, which would fail later.
			d.fail(what)
			return nil
		}
		return &t
	default:
		d.fail(what)
		return nil
	}
}

func (d *runReader) time(what string) time.Time {
	t := d.timePtr(what)
	if t == nil {
		d.fail(what)
		return time.Time{}
	}
	return *t
}

// json reads a JSON slot with the webhook decoder (encoding/json for what
// that refuses, e.g. nesting deeper than it allows).
func (d *runReader) json(what string) any {
	js := d.bytes(what)
	if d.err != nil || len(js) == 0 {
		return nil
	}
	v, err := engine.DecodeJSON(js)
	if err != nil {
		v = nil
		if err := json.Unmarshal(js, &v); err != nil {
			d.err = fmt.Errorf("corrupt run record: %s: %w", what, err)
			return nil
		}
	}
	return v
}

// decodeRunV2 decodes a format-2 payload.
func decodeRunV2(p []byte) (*engine.Run, error) {
	d := &runReader{p: p}
	r := &engine.Run{ID: d.str("id"), FlowID: d.str("flow id"), FlowVersion: d.int("flow version"),
		Status: engine.RunStatus(d.str("status"))}
	n := d.uvarint("step count")
	if n > uint64(len(d.p)) { // a step takes more than one byte
		d.fail("step count")
	}
	if d.err == nil && n > 0 {
		n--
		r.Steps = make([]*engine.StepRun, 0, n)
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		s := &engine.StepRun{ID: d.str("step id"), Type: d.str("step type"), Status: engine.StepStatus(d.str("step status")),
			Attempts: d.int("step attempts")}
		s.Input = d.json("step input")
		s.Output = d.json("step output")
		s.Error = d.str("step error")
		s.StartedAt = d.timePtr("step started_at")
		s.FinishedAt = d.timePtr("step finished_at")
		s.NextAt = d.timePtr("step next_at")
		if d.err == nil {
			if len(d.p) < 8 {
				d.fail("step duration")
			} else {
				s.DurationMS = math.Float64frombits(binary.LittleEndian.Uint64(d.p))
				d.p = d.p[8:]
			}
		}
		logs := d.uvarint("step log count")
		if logs > uint64(len(d.p)) {
			d.fail("step log count")
		}
		if d.err == nil && logs > 0 {
			s.Logs = make([]string, 0, logs)
			for j := uint64(0); j < logs && d.err == nil; j++ {
				s.Logs = append(s.Logs, d.str("step log"))
			}
		}
		r.Steps = append(r.Steps, s)
	}
	if vars := d.json("vars"); vars != nil {
		m, ok := vars.(map[string]any)
		if !ok {
			d.fail("vars")
		}
		r.Vars = m
	}
	r.Output = d.json("output")
	r.Error = d.str("error")
	r.DedupeKey = d.str("dedupe key")
	r.ReplayOf = d.str("replay_of")
	r.ParentRunID = d.str("parent run id")
	r.CallDepth = d.int("call depth")
	r.CreatedAt = d.time("created_at")
	r.StartedAt = d.timePtr("started_at")
	r.NextAt = d.timePtr("next_at")
	r.FinishedAt = d.timePtr("finished_at")
	switch d.byte("truncated") {
	case 0:
	case 1:
		r.Truncated = true
	default:
		d.fail("truncated")
	}
	r.Interrupted = d.int("interrupted")
	if d.err == nil && len(d.p) != 0 {
		d.fail("length (trailing bytes)")
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}
