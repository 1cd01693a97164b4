package jsbox

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time so far (user + system), which a loaded
// machine does not inflate the way it does wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op: the CPU time of the whole process (engine
// start, run, close, GC) per run.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// tenLines is the benchmark's code step: a 10-line function over the run's data.
const tenLines = `const body = trigger.body;
let total = 0;
for (const it of body.items) {
  total += it.length;
}
const tier = vars.tier || "none";
console.log("items", body.items.length);
const out = {total, tier, amount: body.amount * 1.2};
if (index > 1) out.item = item.sku;
return out;`

// BenchmarkRun is a code step's overhead on its path with an engine ready:
// take a fresh engine, hand over the data, run ten lines, read the result and
// the log. Closing the used engine and making its replacement happen off this
// path; the timer stops while the pool refills.
func BenchmarkRun(b *testing.B) {
	box := NewQuickJS(Options{Pool: 1})
	box.Warm()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := box.Run(ctx, tenLines, sampleData, Limits{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for len(box.ready) == 0 {
			time.Sleep(50 * time.Microsecond)
		}
		b.StartTimer()
	}
}

// BenchmarkRunSustained is back-to-back runs: the engines are made as fast
// as they are used, so this is the whole cost of a code step (CPU).
func BenchmarkRunSustained(b *testing.B) {
	box := NewQuickJS(Options{})
	box.Warm()
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := box.Run(ctx, tenLines, sampleData, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkRunCold is the same with no engine ready: each run starts one.
func BenchmarkRunCold(b *testing.B) {
	box := NewQuickJS(Options{Pool: -1})
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if _, err := box.Run(ctx, tenLines, sampleData, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkCheck is the syntax check at save.
func BenchmarkCheck(b *testing.B) {
	box := NewQuickJS(Options{})
	box.Warm()
	for b.Loop() {
		if err := box.Check(tenLines); err != nil {
			b.Fatal(err)
		}
	}
}
