package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// VerifyReport is what `hookflow-load verify` found.
type VerifyReport struct {
	Records        int            `json:"records"`          // webhooks in the record file
	Acked          int            `json:"acked"`            // answered 2xx during the load
	Resent         int            `json:"resent"`           // unacknowledged ones sent again
	ResentNew      int            `json:"resent_new"`       // … that started a new run (202)
	ResentDup      int            `json:"resent_duplicate"` // … that had been stored before the crash (200)
	Checked        int            `json:"checked"`          // acknowledged webhooks checked
	Final          int            `json:"final"`            // … whose run reached a final status
	Missing        int            `json:"missing"`          // … whose run the server does not know
	DigestMismatch int            `json:"digest_mismatch"`  // … whose run's trigger.body differs from the body sent
	NotExactlyOne  int            `json:"not_exactly_one"`  // … with zero or several runs for the event id
	NotFinal       int            `json:"not_final"`        // … still not final at the deadline
	Statuses       map[string]int `json:"statuses"`         // final statuses seen
	Problems       []string       `json:"problems,omitempty"`
	OK             bool           `json:"ok"`
}

func (v *VerifyReport) problem(format string, args ...any) {
	if len(v.Problems) < 20 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
	}
}

// verify checks a record file against the server: every acknowledged webhook
// has exactly one run, with the body that was sent, and the run ends. With
// resend, webhooks that got no 2xx (the server died) are sent again first, as
// a provider would; they must be answered 202 or 200 duplicate.
func verify(ctx context.Context, a *apiClient, target, secret string, recs []record, resend bool, wait time.Duration) (*VerifyReport, error) {
	v := &VerifyReport{Records: len(recs), Statuses: map[string]int{}}
	if len(recs) == 0 {
		return v, fmt.Errorf("the record file is empty")
	}
	since := time.Unix(0, recs[0].At)
	for _, r := range recs {
		if t := time.Unix(0, r.At); t.Before(since) {
			since = t
		}
		if r.acked() {
			v.Acked++
		}
	}
	since = since.Add(-time.Minute) // clock slack; run ids are time-ordered
	if resend {
		if err := resendUnacked(ctx, target, secret, recs, v); err != nil {
			return v, err
		}
	}
	var acked []*record
	for i := range recs {
		if recs[i].acked() {
			acked = append(acked, &recs[i])
		}
	}
	v.Checked = len(acked)

	// Each acknowledged run: its body, and a final status before the deadline.
	deadline := time.Now().Add(wait)
	var mu sync.Mutex
	jobs := make(chan *record)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for r := range jobs {
				checkRun(ctx, a, r, deadline, v, &mu)
			}
		})
	}
	for _, r := range acked {
		jobs <- r
	}
	close(jobs)
	wg.Wait()

	// Exactly one run per event id. Run lists carry summaries (no bodies):
	// a run's event is known from its acknowledgement, else read whole.
	eventOf := map[string]string{}
	for _, r := range acked {
		eventOf[r.RunID] = r.ID
	}
	count := map[string]int{}
	for _, flow := range []string{flowOf[kindStripe], flowOf[kindForm]} {
		runs, err := a.runs(ctx, flow, since)
		if err != nil {
			return v, fmt.Errorf("list runs of %s: %w", flow, err)
		}
		for _, r := range runs {
			ev, ok := eventOf[r.ID]
			if !ok {
				full, found, err := a.run(ctx, r.ID)
				if err != nil {
					return v, fmt.Errorf("read run %s: %w", r.ID, err)
				}
				if found {
					ev = full.eventID()
				}
			}
			count[ev]++
		}
	}
	for _, r := range acked {
		if n := count[r.ID]; n != 1 {
			v.NotExactlyOne++
			v.problem("event %s has %d runs", r.ID, n)
		}
	}
	v.OK = v.Missing == 0 && v.DigestMismatch == 0 && v.NotExactlyOne == 0 && v.NotFinal == 0 && v.Final == v.Checked
	return v, nil
}

// checkRun polls one acknowledged webhook's run until it is final or the
// deadline passes, and compares its trigger body with the body sent.
func checkRun(ctx context.Context, a *apiClient, r *record, deadline time.Time, v *VerifyReport, mu *sync.Mutex) {
	for {
		run, ok, err := a.run(ctx, r.RunID)
		mu.Lock()
		switch {
		case err != nil && time.Now().Before(deadline):
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		case err != nil:
			v.NotFinal++
			v.problem("run %s (event %s): %v", r.RunID, r.ID, err)
		case !ok:
			v.Missing++
			v.problem("run %s (event %s) acknowledged with %d is missing", r.RunID, r.ID, r.Status)
		case final(run.Status):
			v.Final++
			v.Statuses[run.Status]++
			if d, _ := canonicalDigest(run.Trigger.Body); d != r.Digest {
				v.DigestMismatch++
				v.problem("run %s (event %s): trigger.body digest %s, sent %s", r.RunID, r.ID, d, r.Digest)
			}
		case time.Now().After(deadline):
			v.NotFinal++
			v.problem("run %s (event %s) still %s at the deadline", r.RunID, r.ID, run.Status)
		default:
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		mu.Unlock()
		return
	}
}

// resendUnacknowledged sends every webhook that got no 2xx again, re-signed,
// and marks it acknowledged with the run id it gets.
func resendUnacked(ctx context.Context, target, secret string, recs []record, v *VerifyReport) error {
	client := &http.Client{Timeout: 10 * time.Second}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].At < recs[j].At })
	for i := range recs {
		r := &recs[i]
		if r.acked() {
			continue
		}
		v.Resent++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/hooks/"+flowOf[r.Kind], bytes.NewReader([]byte(r.Body)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", r.ContentType)
		if r.Kind == kindStripe {
			req.Header.Set("Stripe-Signature", stripeSignature(secret, time.Now().Unix(), []byte(r.Body)))
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("resend %s: %w", r.ID, err)
		}
		var ans ackAnswer
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(b, &ans)
		switch {
		case resp.StatusCode == http.StatusAccepted && ans.RunID != "":
			v.ResentNew++
		case resp.StatusCode == http.StatusOK && ans.Duplicate && ans.RunID != "":
			v.ResentDup++
		default:
			return fmt.Errorf("resend %s: %d %s", r.ID, resp.StatusCode, bytes.TrimSpace(b))
		}
		r.Status, r.RunID = resp.StatusCode, ans.RunID
	}
	return nil
}
