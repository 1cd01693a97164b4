package jsbox

import (
	"context"
	"testing"
)

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

// BenchmarkRun is a code step's overhead with the pool warm: take a fresh
// engine, hand over the data, run ten lines, read the result and the log.
// Closing the used engine and making its replacement happen off this path.
func BenchmarkRun(b *testing.B) {
	box := NewQuickJS(Options{})
	box.Warm()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := box.Run(ctx, tenLines, sampleData, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunCold is the same with no engine ready: each run starts one.
func BenchmarkRunCold(b *testing.B) {
	box := NewQuickJS(Options{Pool: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := box.Run(ctx, tenLines, sampleData, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
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
