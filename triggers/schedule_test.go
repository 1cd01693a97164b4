package triggers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

func decodeSchedule(t *testing.T, with string) *Schedule {
	t.Helper()
	s := new(Schedule)
	dec := json.NewDecoder(strings.NewReader(with))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		t.Fatalf("decode %s: %v", with, err)
	}
	return s
}

func TestScheduleCompile(t *testing.T) {
	tests := []struct {
		name     string
		with     string
		wantPath string // "" for no problem
		wantMsg  string
	}{
		{name: "five fields", with: `{"cron":"*/5 * * * *"}`},
		{name: "six fields, seconds first", with: `{"cron":"30 0 9 * * 1-5","timezone":"Europe/Paris"}`},
		{name: "descriptor", with: `{"cron":"@daily","timezone":"America/New_York","catch_up":true}`},
		{name: "missing cron", with: `{}`, wantPath: "cron", wantMsg: "required"},
		{name: "four fields", with: `{"cron":"* * * *"}`, wantPath: "cron", wantMsg: "has 4 fields: want 5"},
		{name: "seven fields", with: `{"cron":"0 0 0 * * * 2026"}`, wantPath: "cron", wantMsg: "has 7 fields"},
		{name: "minute out of range", with: `{"cron":"61 * * * *"}`, wantPath: "cron", wantMsg: "not a valid cron expression"},
		{name: "every", with: `{"cron":"@every 5m"}`, wantPath: "cron", wantMsg: "@every is not supported"},
		{name: "zone in the cron", with: `{"cron":"TZ=Europe/Paris 0 9 * * *"}`, wantPath: "cron", wantMsg: "timezone field"},
		{name: "unknown zone", with: `{"cron":"0 9 * * *","timezone":"Mars/Olympus"}`, wantPath: "timezone", wantMsg: "unknown time zone \"Mars/Olympus\""},
		{name: "server zone", with: `{"cron":"0 9 * * *","timezone":"Local"}`, wantPath: "timezone", wantMsg: "depends on the server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := decodeSchedule(t, tc.with).Compile()
			if tc.wantPath == "" {
				if len(ps) > 0 {
					t.Fatalf("problems: %v", ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Path != tc.wantPath || !strings.Contains(ps[0].Message, tc.wantMsg) {
				t.Fatalf("problems = %v, want one at %s containing %q", ps, tc.wantPath, tc.wantMsg)
			}
		})
	}
}

func TestNextFires(t *testing.T) {
	rfc := func(ts []time.Time) []string {
		out := make([]string, len(ts))
		for i, x := range ts {
			out[i] = x.Format(time.RFC3339)
		}
		return out
	}
	tests := []struct {
		name string
		cron string
		tz   string
		from string
		n    int
		want []string
	}{
		{name: "every five minutes", cron: "*/5 * * * *", from: "2026-11-22T10:02:30Z", n: 3,
			want: []string{"2026-11-22T10:05:00Z", "2026-11-22T10:10:00Z", "2026-11-22T10:15:00Z"}},
		{name: "seconds first", cron: "*/20 * * * * *", from: "2026-11-22T10:00:05Z", n: 3,
			want: []string{"2026-11-22T10:00:20Z", "2026-11-22T10:00:40Z", "2026-11-22T10:01:00Z"}},
		{name: "weekdays at nine in Paris", cron: "0 9 * * 1-5", tz: "Europe/Paris", from: "2026-11-20T12:00:00Z", n: 2,
			want: []string{"2026-11-23T09:00:00+01:00", "2026-11-24T09:00:00+01:00"}},
		{name: "nine o'clock across spring forward", cron: "0 9 * * *", tz: "Europe/Paris", from: "2026-03-28T00:00:00Z", n: 2,
			want: []string{"2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00"}},
		{name: "a skipped time fires at the jump", cron: "30 2 * * *", tz: "Europe/Paris", from: "2026-03-28T12:00:00Z", n: 2,
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
		{name: "a repeated time fires once", cron: "30 2 * * *", tz: "Europe/Paris", from: "2026-10-24T12:00:00Z", n: 2,
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{name: "star hours follow real time when clocks go back", cron: "*/30 * * * *", tz: "Europe/Paris", from: "2026-10-25T00:00:00Z", n: 4,
			want: []string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"}},
		{name: "New York spring forward", cron: "0 2 * * *", tz: "America/New_York", from: "2026-03-07T12:00:00Z", n: 2,
			want: []string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
		{name: "none asked", cron: "* * * * *", from: "2026-11-22T10:00:00Z", n: 0, want: []string{}},
		{name: "never", cron: "0 0 30 2 *", from: "2026-11-22T10:00:00Z", n: 5, want: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, _ := time.Parse(time.RFC3339, tc.from)
			got, err := NextFires(tc.cron, tc.tz, from, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rfc(got), " ") != strings.Join(tc.want, " ") {
				t.Errorf("got  %v\nwant %v", rfc(got), tc.want)
			}
		})
	}
	if got, _ := NextFires("* * * * * *", "", time.Now(), 1000); len(got) != 100 {
		t.Errorf("n=1000 gave %d times, want at most 100", len(got))
	}
	for _, bad := range [][2]string{{"* * *", ""}, {"* * * * *", "Nowhere/Else"}} {
		if _, err := NextFires(bad[0], bad[1], time.Now(), 5); err == nil {
			t.Errorf("NextFires(%q, %q): no error", bad[0], bad[1])
		}
	}
}

// Fires with a fake clock: each scheduled instant starts one run whose body
// is {"scheduled_at": …}, with a dedupe key naming the instant, and is
// recorded as schedule.last.
func TestScheduleFires(t *testing.T) {
	tests := []struct {
		name  string
		with  string
		start string
		want  []string // scheduled_at of each fire
	}{
		{name: "five fields", with: `{"cron":"*/5 * * * *"}`, start: "2026-11-22T10:02:30Z",
			want: []string{"2026-11-22T10:05:00Z", "2026-11-22T10:10:00Z"}},
		{name: "six fields", with: `{"cron":"*/20 * * * * *"}`, start: "2026-11-22T10:00:05Z",
			want: []string{"2026-11-22T10:00:20Z", "2026-11-22T10:00:40Z", "2026-11-22T10:01:00Z"}},
		{name: "time zone across a DST change", with: `{"cron":"0 9 * * *","timezone":"Europe/Paris"}`, start: "2026-03-28T00:00:00Z",
			want: []string{"2026-03-28T09:00:00+01:00", "2026-03-29T09:00:00+02:00"}},
		{name: "skipped by DST", with: `{"cron":"30 2 * * *","timezone":"Europe/Paris"}`, start: "2026-03-28T12:00:00Z",
			want: []string{"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := decodeSchedule(t, tc.with)
			now, _ := time.Parse(time.RFC3339, tc.start)
			h := newHarness(t, "sched", now)
			stop := start(t, s, h.sc)
			for _, want := range tc.want {
				at, _ := time.Parse(time.RFC3339, want)
				h.clk.BlockUntil(t, 1)
				h.clk.Set(at)
				ev := h.sink.next(t)
				body := ev.Trigger.Body.(map[string]any)
				if ev.Trigger.Type != "schedule" || body["scheduled_at"] != want {
					t.Errorf("fire = %s %v, want scheduled_at %s", ev.Trigger.Type, body, want)
				}
				if ev.DedupeKey != "schedule:"+at.UTC().Format(time.RFC3339) || ev.DedupeWindow < 24*time.Hour {
					t.Errorf("dedupe %q for %s", ev.DedupeKey, ev.DedupeWindow)
				}
			}
			h.clk.BlockUntil(t, 1) // the last fire is recorded before the next wait
			stop()
			last, _ := time.Parse(time.RFC3339, tc.want[len(tc.want)-1])
			if got := h.state.get("sched", StateScheduleLast); got != `"`+last.UTC().Format(time.RFC3339)+`"` {
				t.Errorf("schedule.last = %s, want %s", got, last.UTC())
			}
			if runs, dups := h.sink.count(); runs != len(tc.want) || dups != 0 {
				t.Errorf("%d runs, %d duplicates; want %d, 0", runs, dups, len(tc.want))
			}
		})
	}
}

// catch_up runs the latest instant missed while the server was down, once;
// without it nothing runs at start.
func TestScheduleCatchUp(t *testing.T) {
	const cronDaily = `"cron":"0 9 * * *"`
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) // a Thursday
	mon9 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	thu9 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		with  string
		state map[string]time.Time
		want  string // scheduled_at fired at start, "" for none
	}{
		{name: "on: the latest missed fire runs once", with: `{` + cronDaily + `,"catch_up":true}`,
			state: map[string]time.Time{StateScheduleLast: mon9}, want: "2026-11-26T09:00:00Z"},
		{name: "off: nothing at start", with: `{` + cronDaily + `}`,
			state: map[string]time.Time{StateScheduleLast: mon9}},
		{name: "on, never fired: counts from the first start", with: `{` + cronDaily + `,"catch_up":true}`,
			state: map[string]time.Time{StateScheduleSince: mon9.Add(-time.Hour)}, want: "2026-11-26T09:00:00Z"},
		{name: "on, first start ever: nothing missed", with: `{` + cronDaily + `,"catch_up":true}`},
		{name: "on, nothing missed", with: `{` + cronDaily + `,"catch_up":true}`,
			state: map[string]time.Time{StateScheduleLast: thu9}},
		{name: "on, six fields, missed seconds ago", with: `{"cron":"*/10 * * * * *","catch_up":true}`,
			state: map[string]time.Time{StateScheduleLast: now.Add(-35 * time.Second)}, want: "2026-11-26T12:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "sched", now)
			for name, v := range tc.state {
				if err := putState(context.Background(), h.sc, name, v); err != nil {
					t.Fatal(err)
				}
			}
			stop := start(t, decodeSchedule(t, tc.with), h.sc)
			h.clk.BlockUntil(t, 1) // catch-up is done before the first wait
			stop()
			runs, _ := h.sink.count()
			switch {
			case tc.want == "" && runs != 0:
				t.Errorf("%d runs at start, want none: %v", runs, h.sink.bodies())
			case tc.want != "" && (runs != 1 || h.sink.bodies()[0].(map[string]any)["scheduled_at"] != tc.want):
				t.Errorf("runs at start: %v, want one for %s", h.sink.bodies(), tc.want)
			}
			if h.state.get("sched", StateScheduleSince) == "" {
				t.Error("schedule.since not stored")
			}
		})
	}
}

// A store that refuses the run is retried (on the fake clock) until it takes it.
func TestScheduleRetriesAccept(t *testing.T) {
	h := newHarness(t, "sched", time.Date(2026, 11, 22, 10, 0, 30, 0, time.UTC))
	h.sink.failN = 2
	start(t, decodeSchedule(t, `{"cron":"* * * * *"}`), h.sc)
	h.clk.BlockUntil(t, 1)
	h.clk.Set(time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC))
	for range 2 { // two refusals, each followed by a backoff wait
		h.clk.BlockUntil(t, 1)
		h.clk.Advance(2 * time.Second)
	}
	ev := h.sink.next(t)
	if got := ev.Trigger.Body.(map[string]any)["scheduled_at"]; got != "2026-11-22T10:01:00Z" {
		t.Errorf("scheduled_at = %v", got)
	}
}

// A restart never fires an instant twice: not when the second starter
// begins right after the first fired, not when the first crashed between
// starting the run and recording it, and not when two starters race for
// the same instant. The real engine and bbolt store do the dedupe.
func TestScheduleRestartNoDoubleFire(t *testing.T) {
	ctx := context.Background()
	eng, st := newEngine(t)
	f, err := engine.DecodeFlow([]byte(`{"id":"every-five","name":"Every five minutes","trigger":{"type":"schedule",
		"with":{"cron":"*/5 * * * *","catch_up":true}},"steps":[{"id":"note","type":"log","with":{"message":"{{ trigger.body.scheduled_at }}"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	c, err := eng.Flow(f.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Trigger.(*Schedule)
	clk := newFakeClock(time.Date(2026, 11, 22, 10, 2, 0, 0, time.UTC))
	sc := engineContext(t, eng, st, c.Flow, clk, nil, nil)
	fired := func() []string {
		var out []string
		for _, r := range allRuns(t, st, f.ID) {
			out = append(out, r.Trigger.Body.(map[string]any)["scheduled_at"].(string))
		}
		return out
	}

	// First life: fires 10:05, then is stopped (a save or a shutdown).
	stop := start(t, s, sc)
	clk.BlockUntil(t, 1)
	clk.Set(time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC))
	clk.BlockUntil(t, 1)
	stop()
	if got := fired(); len(got) != 1 || got[0] != "2026-11-22T10:05:00Z" {
		t.Fatalf("first life fired %v", got)
	}

	// Second life at the same instant: nothing new.
	stop = start(t, s, sc)
	clk.BlockUntil(t, 1)
	stop()
	if got := fired(); len(got) != 1 {
		t.Fatalf("a restart at the fire instant fired again: %v", got)
	}

	// A crash between starting the run and recording schedule.last: the
	// next start's catch-up offers 10:05 again and the dedupe refuses it.
	if err := putState(ctx, sc, StateScheduleLast, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Date(2026, 11, 22, 10, 7, 0, 0, time.UTC))
	stop = start(t, s, sc)
	clk.BlockUntil(t, 1)
	stop()
	if got := fired(); len(got) != 1 {
		t.Fatalf("the catch-up after a crash fired again: %v", got)
	}
	var last time.Time
	if _, err := getState(ctx, sc, StateScheduleLast, &last); err != nil || !last.Equal(time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("schedule.last = %v, %v; want 10:05 recorded again", last, err)
	}

	// Two starters racing (an old one not yet stopped while the new one
	// runs) both fire 10:10: one run.
	start(t, s, sc)
	start(t, s, sc)
	clk.BlockUntil(t, 2)
	clk.Set(time.Date(2026, 11, 22, 10, 10, 0, 0, time.UTC))
	clk.BlockUntil(t, 2)
	if got := fired(); len(got) != 2 || got[0] != "2026-11-22T10:10:00Z" {
		t.Fatalf("racing starters fired %v, want 10:10 once (newest first) and 10:05", got)
	}
}
