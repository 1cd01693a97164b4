package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{name: "empty", samples: nil, p: 50, want: 0},
		{name: "one sample is every percentile", samples: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "median of an odd count", samples: ms(1, 2, 3, 4, 5), p: 50, want: 3 * time.Millisecond},
		{name: "median of an even count is the lower middle", samples: ms(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "p90 of 1..100", samples: hundred, p: 90, want: 90 * time.Millisecond},
		{name: "p99 of 1..100", samples: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", samples: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "tiny p is the min", samples: hundred, p: 0.001, want: time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.samples, tc.p); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeSortsAndRounds(t *testing.T) {
	samples := []time.Duration{3 * time.Millisecond, 1500 * time.Microsecond, 10 * time.Millisecond, 2 * time.Millisecond}
	got := summarize(samples)
	want := Latency{Count: 4, P50: 2, P90: 10, P99: 10, Max: 10}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(samples) {
		t.Errorf("samples not sorted in place: %v", samples)
	}
}

func TestStripeSignature(t *testing.T) {
	// REFERENCE.md §1, cross-checked with stripe-go's ComputeSignature.
	got := stripeSignature("whsec_test_secret", 1700000000, []byte(`{"id":"evt_test_webhook","object":"event"}`))
	want := "t=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
	if got != want {
		t.Errorf("stripeSignature = %q, want %q", got, want)
	}
}

func TestWebhooks(t *testing.T) {
	tests := []struct {
		name           string
		w              webhook
		wantType       string
		minLen, maxLen int
	}{
		{name: "stripe event", w: stripeEvent("abc", 42, 1700000000), wantType: "application/json", minLen: 1800, maxLen: 2400},
		{name: "form post", w: formPost("abc", 42), wantType: "application/x-www-form-urlencoded", minLen: 200, maxLen: 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.w.ContentType != tc.wantType {
				t.Errorf("content type %q", tc.w.ContentType)
			}
			if n := len(tc.w.Body); n < tc.minLen || n > tc.maxLen {
				t.Errorf("body is %d bytes, want %d..%d", n, tc.minLen, tc.maxLen)
			}
			if !strings.HasSuffix(tc.w.ID, "_abc_42") {
				t.Errorf("id %q does not carry prefix and sequence", tc.w.ID)
			}
			if _, err := bodyDigest(tc.w.ContentType, tc.w.Body); err != nil {
				t.Errorf("bodyDigest: %v", err)
			}
		})
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object struct {
				Amount int `json:"amount"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(stripeEvent("abc", 42, 1700000000).Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_abc_42" || ev.Type != "payment_intent.succeeded" || ev.Data.Object.Amount < 1000 {
		t.Errorf("event = %+v", ev)
	}
}

func TestBodyDigestIsCanonical(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		stored      any // trigger.body as a run returns it
	}{
		{name: "json keys in another order", contentType: "application/json",
			body: `{"b":1,"a":{"y":[1,2],"x":"s"}}`, stored: map[string]any{"a": map[string]any{"x": "s", "y": []any{1.0, 2.0}}, "b": 1.0}},
		{name: "form fields as strings, repeated as arrays", contentType: "application/x-www-form-urlencoded",
			body: "name=Ann&tag=a&tag=b&empty=", stored: map[string]any{"name": "Ann", "tag": []any{"a", "b"}, "empty": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sent, err := bodyDigest(tc.contentType, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			// Round-trip the stored value through JSON as the API does.
			b, _ := json.Marshal(tc.stored)
			var back any
			json.Unmarshal(b, &back)
			got, _ := canonicalDigest(back)
			if got != sent {
				t.Errorf("digest of the stored body %s differs from the sent one %s", got, sent)
			}
		})
	}
}

func TestLoopbackGuard(t *testing.T) {
	fake := func(addrs map[string][]string) lookupFunc {
		return func(_ context.Context, host string) ([]net.IPAddr, error) {
			ips, ok := addrs[host]
			if !ok {
				return nil, errors.New("no such host")
			}
			var out []net.IPAddr
			for _, ip := range ips {
				out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
			}
			return out, nil
		}
	}(map[string][]string{
		"localhost":      {"127.0.0.1", "::1"},
		"example.com":    {"93.184.216.34"},
		"sneaky.example": {"127.0.0.1", "10.0.0.5"},
	})
	tests := []struct {
		name   string
		target string
		ok     bool
	}{
		{name: "127.0.0.1", target: "http://127.0.0.1:8080", ok: true},
		{name: "other loopback", target: "http://127.1.2.3:8080/x", ok: true},
		{name: "ipv6 loopback", target: "http://[::1]:8080", ok: true},
		{name: "localhost", target: "http://localhost:8080", ok: true},
		{name: "public name", target: "http://example.com", ok: false},
		{name: "name with a non-loopback address", target: "http://sneaky.example", ok: false},
		{name: "unresolvable", target: "http://nowhere.invalid", ok: false},
		{name: "private ip", target: "http://10.0.0.1:8080", ok: false},
		{name: "unspecified", target: "http://0.0.0.0:8080", ok: false},
		{name: "no host", target: "http:///hooks", ok: false},
		{name: "other scheme", target: "ftp://127.0.0.1", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLoopbackURL(context.Background(), tc.target, fake)
			if (err == nil) != tc.ok {
				t.Errorf("checkLoopbackURL(%q) = %v, want ok=%v", tc.target, err, tc.ok)
			}
		})
	}
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, ":9000": false, "0.0.0.0:9000": false, "localhost:1": true} {
		if err := checkLoopbackAddr(context.Background(), addr, fake); (err == nil) != ok {
			t.Errorf("checkLoopbackAddr(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\thookflow\nVmPeak:\t  900000 kB\nVmRSS:\t   51200 kB\nRssAnon:\t   40960 kB\nRssFile:\t   10240 kB\nThreads:\t9\n"
	got, err := parseStatus(strings.NewReader(status))
	if want := (RSSSample{MB: 50, AnonMB: 40, FileMB: 10}); err != nil || got != want {
		t.Errorf("parseStatus = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("no VmRSS line: want an error")
	}
}

func TestReportJSONShape(t *testing.T) {
	start := time.Now()
	tr := newTracker()
	for i, id := range []string{"a", "b", "c"} {
		tr.send(id, start)
		tr.ack(id)
		if id != "c" {
			tr.sink(id, start.Add(time.Duration(i+1)*10*time.Millisecond))
		}
	}
	tr.sink("a", start.Add(time.Second)) // a retry
	tr.sink("zzz", start)                // not ours
	res := &loadResult{start: start, elapsed: time.Second, sent: 4, acked: 3,
		status: map[string]int{"202": 3, "503": 1},
		ackLat: []time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}}
	rep := buildReport(loadConfig{Target: "http://127.0.0.1:1", Concurrency: 4, FormShare: 0.2}, res, tr)
	rep.RSS = newRSS(42, []RSSSample{{At: -0.1, MB: 20}, {At: 0.5, MB: 80}, {At: 1, MB: 60}})
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	for _, key := range []string{"target", "mode", "concurrency", "duration_s", "sent", "acked", "acked_per_sec",
		"ack_latency_ms", "status", "errors", "e2e", "rss", "tool_cpu_s"} {
		if _, ok := got[key]; !ok {
			t.Errorf("report lacks %q: %s", key, b)
		}
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"acked_per_sec", got["acked_per_sec"], 3.0},
		{"errors", got["errors"], map[string]any{"503": 1.0}},
		{"ack p99", got["ack_latency_ms"].(map[string]any)["p99"], 3.0},
		{"e2e reached", got["e2e"].(map[string]any)["reached"], 2.0},
		{"e2e missing", got["e2e"].(map[string]any)["missing"], 1.0},
		{"e2e sink duplicates", got["e2e"].(map[string]any)["sink_duplicates"], 1.0},
		{"e2e sink unknown", got["e2e"].(map[string]any)["sink_unknown"], 1.0},
		{"e2e p50", got["e2e"].(map[string]any)["latency_ms"].(map[string]any)["p50"], 10.0},
		{"rss idle", got["rss"].(map[string]any)["idle_mb"], 20.0},
		{"rss max", got["rss"].(map[string]any)["max_mb"], 80.0},
	}
	for _, c := range checks {
		gb, _ := json.Marshal(c.got)
		wb, _ := json.Marshal(c.want)
		if string(gb) != string(wb) {
			t.Errorf("%s = %s, want %s", c.name, gb, wb)
		}
	}
	var table strings.Builder
	rep.writeTable(&table)
	for _, want := range []string{"acknowledged", "503: 1", "p99 3.00", "idle 20.0  max 80.0"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{name: "defaults with a token", args: []string{"-token", "x"}, ok: true},
		{name: "setup without a token", args: []string{"-token", ""}, ok: false},
		{name: "baseline needs no token", args: []string{"-token", "", "-baseline"}, ok: true},
		{name: "duration over the cap", args: []string{"-token", "x", "-d", "16m"}, ok: false},
		{name: "zero duration", args: []string{"-token", "x", "-d", "0s"}, ok: false},
		{name: "negative rate", args: []string{"-token", "x", "-rate", "-1"}, ok: false},
		{name: "form share over 1", args: []string{"-token", "x", "-form", "1.5"}, ok: false},
		{name: "count over the cap", args: []string{"-token", "x", "-n", "20000000"}, ok: false},
		{name: "stray argument", args: []string{"-token", "x", "extra"}, ok: false},
		{name: "two targets", args: []string{"-token", "x", "-target", "http://127.0.0.1:1,http://127.0.0.1:2"}, ok: true},
		{name: "an empty target", args: []string{"-token", "x", "-target", "http://127.0.0.1:1,"}, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLoadFlags(tc.args)
			if (err == nil) != tc.ok {
				t.Errorf("parseLoadFlags(%q) = %v, want ok=%v", tc.args, err, tc.ok)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "one", in: "http://127.0.0.1:8080", want: []string{"http://127.0.0.1:8080"}},
		{name: "one with a slash", in: "http://127.0.0.1:8080/", want: []string{"http://127.0.0.1:8080"}},
		{name: "two with spaces", in: "http://127.0.0.1:8080/, http://127.0.0.1:8081",
			want: []string{"http://127.0.0.1:8080", "http://127.0.0.1:8081"}},
		{name: "three keep their order", in: "http://127.0.0.1:3,http://127.0.0.1:1,http://127.0.0.1:2",
			want: []string{"http://127.0.0.1:3", "http://127.0.0.1:1", "http://127.0.0.1:2"}},
		{name: "empty", in: "", wantErr: "item 1"},
		{name: "empty item", in: "http://127.0.0.1:1,,http://127.0.0.1:2", wantErr: "item 2"},
		{name: "trailing comma", in: "http://127.0.0.1:1,", wantErr: "item 2"},
		{name: "twice", in: "http://127.0.0.1:1,http://127.0.0.1:1/", wantErr: "given twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTargets(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseTargets(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseTargets(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestTargetRoundRobin(t *testing.T) {
	tests := []struct {
		name    string
		targets []string
		want    []string
	}{
		{name: "one target", targets: []string{"a"}, want: []string{"a", "a", "a"}},
		{name: "two alternate", targets: []string{"a", "b"}, want: []string{"a", "b", "a", "b", "a"}},
		{name: "three in turn", targets: []string{"a", "b", "c"}, want: []string{"a", "b", "c", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoader(loadConfig{Target: strings.Join(tc.targets, ","), Targets: tc.targets, Concurrency: 1}, nil, nil)
			var got []string
			for range tc.want {
				got = append(got, l.target())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("targets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReportPerTarget(t *testing.T) {
	res := &loadResult{start: time.Now(), elapsed: time.Second, sent: 3, acked: 3,
		status: map[string]int{"202": 3}, byTarget: map[string]int{"http://127.0.0.1:1": 2, "http://127.0.0.1:2": 1}}
	tests := []struct {
		name    string
		targets []string
		want    map[string]int
		line    bool
	}{
		{name: "one target: no per-target part", targets: []string{"http://127.0.0.1:1"}},
		{name: "two targets", targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"},
			want: map[string]int{"http://127.0.0.1:1": 2, "http://127.0.0.1:2": 1}, line: true},
		{name: "a target that acked nothing shows 0", targets: []string{"http://127.0.0.1:1", "http://127.0.0.1:3"},
			want: map[string]int{"http://127.0.0.1:1": 2, "http://127.0.0.1:3": 0}, line: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := buildReport(loadConfig{Target: strings.Join(tc.targets, ","), Targets: tc.targets, Concurrency: 2}, res, nil)
			if len(rep.PerTarget) != len(tc.want) {
				t.Fatalf("per target = %v, want %v", rep.PerTarget, tc.want)
			}
			for k, n := range tc.want {
				if rep.PerTarget[k] != n {
					t.Errorf("per target %s = %d, want %d", k, rep.PerTarget[k], n)
				}
			}
			var table strings.Builder
			rep.writeTable(&table)
			if got := strings.Contains(table.String(), "acked per target"); got != tc.line {
				t.Errorf("table has the per-target line: %v, want %v:\n%s", got, tc.line, table.String())
			}
			b, _ := json.Marshal(rep)
			if got := strings.Contains(string(b), `"acked_per_target"`); got != tc.line {
				t.Errorf("JSON has acked_per_target: %v, want %v: %s", got, tc.line, b)
			}
		})
	}
}
