package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// record is one line of a record file: a webhook sent and its answer. The
// crash test replays the file against the restarted server (verify).
type record struct {
	At          int64  `json:"at"` // unix nanoseconds when answered
	Kind        string `json:"kind"`
	ID          string `json:"id"`
	ContentType string `json:"content_type"`
	Status      int    `json:"status"` // 0: no answer
	RunID       string `json:"run_id,omitempty"`
	Digest      string `json:"digest"`         // bodyDigest of the body sent
	Body        string `json:"body,omitempty"` // kept when unacknowledged, to send again
}

// acked reports whether the server took the webhook (2xx with a run id).
func (r *record) acked() bool { return r.Status/100 == 2 && r.RunID != "" }

// recorder appends records to a file as JSON lines.
type recorder struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	err error
}

func newRecorder(path string) (*recorder, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &recorder{f: f, w: bufio.NewWriter(f)}, nil
}

// write records webhook w answered with status (0: none) and runID.
func (r *recorder) write(w webhook, status int, runID string) {
	rec := record{At: time.Now().UnixNano(), Kind: w.Kind, ID: w.ID, ContentType: w.ContentType, Status: status, RunID: runID}
	d, err := bodyDigest(w.ContentType, w.Body)
	if err != nil {
		d = "unparsable: " + err.Error()
	}
	rec.Digest = d
	if !rec.acked() {
		rec.Body = string(w.Body)
	}
	b, _ := json.Marshal(rec)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		_, r.err = r.w.Write(append(b, '\n'))
	}
}

// Close flushes and closes the file.
func (r *recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
	}
	if err := r.f.Close(); r.err == nil {
		r.err = err
	}
	return r.err
}

// readRecords reads a record file.
func readRecords(rd io.Reader) ([]record, error) {
	var out []record
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("record line %d: %w", line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
