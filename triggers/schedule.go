package triggers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones work on hosts without a zoneinfo database

	"github.com/robfig/cron/v3"

	"github.com/hookflow/hookflow/engine"
)

// State names the schedule keeps per flow.
const (
	// StateScheduleLast holds the last instant fired (RFC 3339, UTC).
	StateScheduleLast = "schedule.last"
	// StateScheduleSince holds when the schedule first started, the start of
	// catch_up's look-back when it has never fired.
	StateScheduleSince = "schedule.since"
)

// maxScheduleWait bounds one wait, so that a wall-clock jump (a suspended
// host, a corrected clock) is noticed within a minute.
const maxScheduleWait = time.Minute

var scheduleKind = engine.TriggerKind{
	Spec: engine.Spec{
		Kind:    "schedule",
		Title:   "Schedule",
		Summary: "Start a run at set times: every five minutes, each weekday at 9:00, the first of the month.",
		Group:   "trigger",
		Fields: []engine.Field{
			{Name: "cron", Label: "Cron expression", Type: engine.FieldText, Required: true, Placeholder: "*/5 * * * *",
				Help: "Five fields (minute hour day-of-month month day-of-week), or six with seconds first. " +
					"Examples: */5 * * * * (every 5 minutes), 0 9 * * 1-5 (weekdays at 9:00), 0 0 1 * * (monthly), @daily."},
			{Name: "timezone", Label: "Time zone", Type: engine.FieldText, Default: "UTC",
				Help: "The IANA time zone the times are read in, e.g. Europe/Paris or America/New_York. Default UTC. " +
					"On a daylight-saving change a time skipped when the clocks go forward fires at the jump, and one that occurs twice fires once."},
			{Name: "catch_up", Label: "Catch up", Type: engine.FieldBool,
				Help: "When the server was down (or the flow off) at a scheduled time, run once at start for the latest time missed."},
		},
		Example: `{"cron":"0 9 * * 1-5","timezone":"Europe/Paris","catch_up":true}`,
	},
	New: func() any { return new(Schedule) },
}

// cronParser reads five fields, or six with seconds first, and @descriptors.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule starts a run at each time its cron expression names. Each run's
// trigger.body is {"scheduled_at": "<RFC 3339 time>"}. Its fields are the
// trigger's `with` settings.
type Schedule struct {
	// Cron names the times: five fields (minute hour day-of-month month
	// day-of-week) or six with seconds first, e.g. "*/5 * * * *" or
	// "0 30 9 * * 1-5"; @hourly, @daily, @weekly, @monthly and @yearly too.
	Cron string `json:"cron"`
	// Timezone is the IANA time zone the cron is read in, e.g. Europe/Paris.
	// Default UTC. On a daylight-saving change, a time skipped when the clocks
	// go forward fires at the jump (02:30 at 03:00) and a time that occurs
	// twice fires once; schedules with * in the hour field follow real time.
	Timezone string `json:"timezone,omitempty"`
	// CatchUp runs, at start, the latest scheduled time missed while the
	// server was down or the flow disabled — once, however many were missed.
	CatchUp bool `json:"catch_up,omitempty"`

	once     sync.Once
	problems engine.Problems
	sched    *cron.SpecSchedule
	loc      *time.Location
}

// Compile checks the cron expression and the time zone. Paths are relative
// to trigger.with.
func (s *Schedule) Compile() engine.Problems {
	s.once.Do(func() {
		var err error
		if s.sched, err = parseCron(s.Cron); err != nil {
			s.problems.Add("cron", "%s", err)
		}
		if s.loc, err = loadZone(s.Timezone); err != nil {
			s.problems.Add("timezone", "%s", err)
		}
	})
	return s.problems
}

// parseCron parses a schedule's cron expression.
func parseCron(spec string) (*cron.SpecSchedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("required, e.g. */5 * * * * (every 5 minutes)")
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errors.New("set the time zone in the timezone field, not in the cron expression")
	}
	if strings.HasPrefix(spec, "@every") {
		return nil, errors.New("@every is not supported: name the times, e.g. */10 * * * * for every 10 minutes")
	}
	if n := len(strings.Fields(spec)); !strings.HasPrefix(spec, "@") && (n < 5 || n > 6) {
		return nil, fmt.Errorf("%q has %d fields: want 5 (minute hour day-of-month month day-of-week) or 6 with seconds first", spec, n)
	}
	sc, err := cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid cron expression: %v", spec, err)
	}
	ss, ok := sc.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a supported cron expression", spec)
	}
	return ss, nil
}

// loadZone loads an IANA time zone; "" is UTC.
func loadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`"Local" depends on the server: name a zone such as Europe/Paris`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as Europe/Paris or America/New_York", name)
	}
	return loc, nil
}

// NextFires returns the next n times (n at most 100) a cron expression fires
// after from, in its time zone — the editor's preview.
func NextFires(cronSpec, tz string, from time.Time, n int) ([]time.Time, error) {
	sched, err := parseCron(cronSpec)
	if err != nil {
		return nil, fmt.Errorf("cron: %w", err)
	}
	loc, err := loadZone(tz)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	s := &Schedule{sched: sched, loc: loc}
	n = min(max(n, 0), 100)
	out := make([]time.Time, 0, n)
	t := from
	for len(out) < n {
		if t = s.next(t); t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}

// cronStarBit marks a cron field written "*" (robfig/cron's starBit).
const cronStarBit = 1 << 63

// next is the first fire strictly after t (zero when the cron never fires).
// Around daylight-saving changes it behaves as classic cron does for
// schedules with a fixed hour (not "*" in the hour field): a time skipped
// when the clocks go forward fires at the jump (02:30 fires at 03:00), and a
// time that occurs twice when they go back fires once. Schedules with "*" in
// the hour field follow real time.
func (s *Schedule) next(t time.Time) time.Time {
	t = t.In(s.loc)
	n := s.sched.Next(t)
	if s.sched.Hour&cronStarBit != 0 || s.loc == time.UTC {
		return n
	}
	for i := 0; i < 3 && !n.IsZero() && repeatedWallTime(n); i++ {
		n = s.sched.Next(n)
	}
	if g, ok := s.gapFire(t, n); ok {
		return g
	}
	return n
}

// repeatedWallTime reports whether n's wall-clock time already occurred
// shortly before, with another UTC offset (the clocks went back).
func repeatedWallTime(n time.Time) bool {
	_, off := n.Zone()
	for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		e := n.Add(-back)
		if _, eo := e.Zone(); eo != off && sameWallClock(e, n) {
			return true
		}
	}
	return false
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

// gapFire finds, between t and n, a clocks-forward jump that skipped a wall
// time the cron names; it returns the jump's instant.
func (s *Schedule) gapFire(t, n time.Time) (time.Time, bool) {
	if n.IsZero() {
		return time.Time{}, false
	}
	_, before := t.Zone()
	_, after := n.Zone()
	if after <= before {
		return time.Time{}, false
	}
	lo, hi := t, n // offset(lo) == before, offset(hi) != before
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, o := mid.Zone(); o == before {
			lo = mid
		} else {
			hi = mid
		}
	}
	jump := hi.Truncate(time.Second)
	if _, o := jump.Zone(); o == before {
		jump = jump.Add(time.Second)
	}
	_, now := jump.Zone()
	old := time.FixedZone("", before) // the wall clock as if the jump had not happened
	m := s.sched.Next(jump.Add(-time.Nanosecond).In(old))
	if m.IsZero() || !m.Before(jump.Add(time.Duration(now-before)*time.Second)) || !jump.After(t) {
		return time.Time{}, false
	}
	return jump.In(s.loc), true
}

// latest is the latest fire in (after, upTo], or zero. It looks back over
// growing windows so that a frequent schedule takes few steps.
func (s *Schedule) latest(after, upTo time.Time) time.Time {
	for _, back := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 367 * 24 * time.Hour} {
		from := upTo.Add(-back)
		if from.Before(after) {
			from = after
		}
		var found time.Time
		for t := s.next(from); !t.IsZero() && !t.After(upTo); t = s.next(t) {
			found = t
		}
		if !found.IsZero() || !from.After(after) {
			return found
		}
	}
	return time.Time{}
}

// Start fires the schedule until ctx ends (engine.Starter). Each fire is
// accepted with a dedupe key naming its instant, so that two starters (a
// restart, a save racing a fire) can never start two runs for one instant.
func (s *Schedule) Start(ctx context.Context, sc *engine.StartContext) error {
	if ps := s.Compile(); len(ps) > 0 {
		return fmt.Errorf("schedule settings: %w", ps.Err())
	}
	clk := clockOf(sc)
	var last, since time.Time
	if _, err := getState(ctx, sc, StateScheduleLast, &last); err != nil {
		logf(sc, "schedule: %v", err)
	}
	ok, err := getState(ctx, sc, StateScheduleSince, &since)
	if err != nil {
		logf(sc, "schedule: %v", err)
	}
	now := clk.now()
	if !ok && err == nil {
		if err := putState(ctx, sc, StateScheduleSince, now.UTC()); err != nil {
			logf(sc, "schedule: %v", err)
		}
	}
	if s.CatchUp {
		base := last
		if base.IsZero() {
			base = since
		}
		if !base.IsZero() {
			if t := s.latest(base, now); !t.IsZero() {
				s.fire(ctx, sc, clk, t)
				last = t
			}
		}
	}
	for {
		now = clk.now()
		from := now
		if last.After(from) {
			from = last
		}
		next := s.next(from)
		if next.IsZero() {
			logf(sc, "schedule: %q never fires", s.Cron)
			<-ctx.Done()
			return nil
		}
		if !clk.sleep(ctx, min(next.Sub(now), maxScheduleWait)) {
			return nil
		}
		now = clk.now()
		if now.Before(next) {
			continue
		}
		// Normally next itself; after a clock jump, only the latest time passed.
		t := s.latest(next.Add(-time.Nanosecond), now)
		s.fire(ctx, sc, clk, t)
		last = t
	}
}

// fire starts the run for instant t and records it as the last fire. A
// store that cannot take the write is retried for a while; a fire still not
// stored is logged (catch_up would run it at the next start).
func (s *Schedule) fire(ctx context.Context, sc *engine.StartContext, clk clock, t time.Time) {
	ev := &engine.Event{
		Trigger: engine.TriggerData{
			Type:       "schedule",
			Body:       map[string]any{"scheduled_at": t.In(s.loc).Format(time.RFC3339)},
			ReceivedAt: clk.now().UTC(),
		},
		DedupeKey:    ScheduleDedupeKey(t),
		DedupeWindow: s.window(t),
	}
	wait := time.Second
	for try := 1; ; try++ {
		_, _, err := sc.Sink.Accept(ctx, sc.Flow.ID, ev)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if try == 6 {
			logf(sc, "schedule: the run for %s was not started: %v", t.UTC().Format(time.RFC3339), err)
			return
		}
		logf(sc, "schedule: start the run for %s: %v; retrying in %s", t.UTC().Format(time.RFC3339), err, wait)
		if !clk.sleep(ctx, wait) {
			return
		}
		wait *= 2
	}
	if err := putState(ctx, sc, StateScheduleLast, t.UTC()); err != nil {
		logf(sc, "schedule: %v", err)
	}
}

// ScheduleDedupeKey is the dedupe key of the fire at instant t.
func ScheduleDedupeKey(t time.Time) string { return "schedule:" + t.UTC().Format(time.RFC3339) }

// window is how long a fire's dedupe key is kept: two periods and a day,
// longer than any start could fire the same instant again.
func (s *Schedule) window(t time.Time) time.Duration {
	d := 24 * time.Hour
	if n := s.next(t); !n.IsZero() {
		d += 2 * n.Sub(t)
	}
	return d
}

var (
	_ engine.Compiler = (*Schedule)(nil)
	_ engine.Starter  = (*Schedule)(nil)
)
