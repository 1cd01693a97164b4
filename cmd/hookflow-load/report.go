package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the result of one load run; -json prints it as one object.
type Report struct {
	Target      string         `json:"target"`
	Mode        string         `json:"mode"` // "concurrency" or "rate"
	Concurrency int            `json:"concurrency,omitempty"`
	Rate        float64        `json:"rate,omitempty"`
	FormShare   float64        `json:"form_share"`
	DurationS   float64        `json:"duration_s"`
	Sent        int            `json:"sent"`
	Acked       int            `json:"acked"`
	Duplicates  int            `json:"duplicates"`
	AckedPerSec float64        `json:"acked_per_sec"`
	PerTarget   map[string]int `json:"acked_per_target,omitempty"` // with several targets
	AckLatency  Latency        `json:"ack_latency_ms"`
	Status      map[string]int `json:"status"` // every answer by status code ("transport", "saturated": none)
	Errors      map[string]int `json:"errors"` // the non-2xx part of Status
	E2E         *E2E           `json:"e2e,omitempty"`
	RSS         *RSS           `json:"rss,omitempty"`
	ToolCPUS    float64        `json:"tool_cpu_s"` // CPU time the load tool itself used
}

// E2E is the end-to-end part: webhook sent → the flow's http step called the sink.
type E2E struct {
	Reached       int     `json:"reached"` // acknowledged webhooks whose run called the sink
	Missing       int     `json:"missing"` // acknowledged webhooks whose run never did (within -drain)
	SinkDups      int     `json:"sink_duplicates"`
	SinkUnknown   int     `json:"sink_unknown"`
	CompletedPerS float64 `json:"completed_per_sec"` // reached / (last sink call − load start)
	DrainS        float64 `json:"drain_s"`           // from the end of the load to the last sink call
	Latency       Latency `json:"latency_ms"`
}

// RSS is the server's resident memory over the run.
type RSS struct {
	PID     int         `json:"pid"`
	IdleMB  float64     `json:"idle_mb"` // before the load
	MaxMB   float64     `json:"max_mb"`
	EndMB   float64     `json:"end_mb"`      // after the load and the drain
	MaxAnon float64     `json:"max_anon_mb"` // heap and stacks
	MaxFile float64     `json:"max_file_mb"` // mapped files (the bbolt database)
	Samples []RSSSample `json:"samples"`
}

// newRSS summarises samples; the first one is taken before the load.
func newRSS(pid int, samples []RSSSample) *RSS {
	r := &RSS{PID: pid, Samples: samples}
	if len(samples) == 0 {
		return r
	}
	r.IdleMB = samples[0].MB
	r.EndMB = samples[len(samples)-1].MB
	for _, s := range samples {
		r.MaxMB = math.Max(r.MaxMB, s.MB)
		r.MaxAnon = math.Max(r.MaxAnon, s.AnonMB)
		r.MaxFile = math.Max(r.MaxFile, s.FileMB)
	}
	return r
}

// buildReport turns the clients' results and the tracker into a Report.
func buildReport(cfg loadConfig, res *loadResult, tr *tracker) *Report {
	r := &Report{Target: cfg.Target, FormShare: cfg.FormShare, DurationS: round3(res.elapsed.Seconds()),
		Sent: res.sent, Acked: res.acked, Duplicates: res.dups,
		Status: res.status, Errors: map[string]int{}}
	if cfg.Rate > 0 {
		r.Mode, r.Rate = "rate", cfg.Rate
	} else {
		r.Mode, r.Concurrency = "concurrency", cfg.Concurrency
	}
	if s := res.elapsed.Seconds(); s > 0 {
		r.AckedPerSec = round1(float64(res.acked) / s)
	}
	r.AckLatency = summarize(res.ackLat)
	if len(cfg.Targets) > 1 {
		r.PerTarget = map[string]int{}
		for _, t := range cfg.Targets {
			r.PerTarget[t] = res.byTarget[t]
		}
	}
	for k, n := range res.status {
		if !strings.HasPrefix(k, "2") {
			r.Errors[k] = n
		}
	}
	if tr != nil {
		lat, missing, dups, unknown, last := tr.endToEnd()
		e := &E2E{Reached: len(lat), Missing: missing, SinkDups: dups, SinkUnknown: unknown, Latency: summarize(lat)}
		if !last.IsZero() {
			if s := last.Sub(res.start).Seconds(); s > 0 {
				e.CompletedPerS = round1(float64(len(lat)) / s)
			}
			e.DrainS = round3(math.Max(0, last.Sub(res.start.Add(res.elapsed)).Seconds()))
		}
		r.E2E = e
	}
	return r
}

// writeTable prints the report for people.
func (r *Report) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	load := fmt.Sprintf("%d clients", r.Concurrency)
	if r.Mode == "rate" {
		load = fmt.Sprintf("%.0f webhooks/s", r.Rate)
	}
	fmt.Fprintf(tw, "load\t%s for %.1fs against %s (%.0f%% Stripe JSON, %.0f%% form posts)\n",
		load, r.DurationS, r.Target, 100*(1-r.FormShare), 100*r.FormShare)
	fmt.Fprintf(tw, "sent\t%d\n", r.Sent)
	fmt.Fprintf(tw, "acknowledged\t%d  (%.1f/s; %d duplicates)\n", r.Acked, r.AckedPerSec, r.Duplicates)
	if len(r.PerTarget) > 0 {
		fmt.Fprintf(tw, "acked per target\t%s\n", formatCounts(r.PerTarget))
	}
	l := r.AckLatency
	fmt.Fprintf(tw, "ack latency ms\tp50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", l.P50, l.P90, l.P99, l.Max)
	fmt.Fprintf(tw, "errors\t%s\n", formatCounts(r.Errors))
	if e := r.E2E; e != nil {
		fmt.Fprintf(tw, "completed runs\t%d reached the sink  (%.1f/s), %d missing, drained %.2fs after the load\n",
			e.Reached, e.CompletedPerS, e.Missing, e.DrainS)
		fmt.Fprintf(tw, "end-to-end ms\tp50 %.2f  p99 %.2f  max %.2f\n", e.Latency.P50, e.Latency.P99, e.Latency.Max)
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(tw, "server RSS MB\tidle %.1f  max %.1f (anon %.1f, file %.1f)  end %.1f  (pid %d)\n",
			m.IdleMB, m.MaxMB, m.MaxAnon, m.MaxFile, m.EndMB, m.PID)
		fmt.Fprintf(tw, "RSS over time\t%s\n", formatSeries(m.Samples, 12))
	}
	fmt.Fprintf(tw, "tool CPU\t%.1fs\n", r.ToolCPUS)
	tw.Flush()
}

// formatCounts prints "none" or "503: 2, transport: 1" in key order.
func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// formatSeries prints at most n samples, evenly picked, as "t=1.0s 42.0MB …".
func formatSeries(s []RSSSample, n int) string {
	if len(s) == 0 {
		return "no samples"
	}
	step := max(1, (len(s)+n-1)/n)
	var parts []string
	for i := 0; i < len(s); i += step {
		parts = append(parts, fmt.Sprintf("%.1fs:%.0f", s[i].At, s[i].MB))
	}
	if (len(s)-1)%step != 0 {
		last := s[len(s)-1]
		parts = append(parts, fmt.Sprintf("%.1fs:%.0f", last.At, last.MB))
	}
	return strings.Join(parts, " ")
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
