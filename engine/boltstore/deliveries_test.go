package boltstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
	"github.com/oklog/ulid/v2"
)

// deliveryAt builds a delivery whose id encodes t.
func deliveryAt(flowID string, t time.Time, n int, outcome engine.DeliveryOutcome) *engine.Delivery {
	id := ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String()
	return &engine.Delivery{ID: id, FlowID: flowID, ReceivedAt: t, Method: "POST", Status: 202,
		Outcome: outcome, Reason: fmt.Sprint("n=", n), Size: n, Headers: map[string]string{}}
}

func TestDeliveriesBoundsAndPages(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	now := time.Now()
	// 30 deliveries for "a" one second apart (every third refused), 5 for "b".
	var batch []*engine.Delivery
	for i := range 30 {
		o := engine.DeliveryRun
		if i%3 == 0 {
			o = engine.DeliveryRefused
		}
		batch = append(batch, deliveryAt("a", now.Add(time.Duration(i-30)*time.Second), i, o))
	}
	for i := range 5 {
		batch = append(batch, deliveryAt("b", now.Add(time.Duration(i-5)*time.Second), 100+i, engine.DeliveryRun))
	}
	mustNil(t, s.AddDeliveries(ctx, batch, 20, time.Time{}))

	tests := []struct {
		name    string
		q       engine.DeliveryQuery
		want    []int // sizes, newest first
		hasNext bool
	}{
		{"newest 20 kept, first page", engine.DeliveryQuery{FlowID: "a", Limit: 8}, []int{29, 28, 27, 26, 25, 24, 23, 22}, true},
		{"refused only", engine.DeliveryQuery{FlowID: "a", Outcome: engine.DeliveryRefused, Limit: 50}, []int{27, 24, 21, 18, 15, 12}, false},
		{"other flow untouched", engine.DeliveryQuery{FlowID: "b"}, []int{104, 103, 102, 101, 100}, false},
		{"unknown flow is empty", engine.DeliveryQuery{FlowID: "zzz"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, next, err := s.ListDeliveries(ctx, tc.q)
			mustNil(t, err)
			var got []int
			for _, d := range ds {
				got = append(got, d.Size)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || (next != "") != tc.hasNext {
				t.Fatalf("got %v next=%q, want %v next=%v", got, next, tc.want, tc.hasNext)
			}
		})
	}

	// Paging through "a" yields the 20 kept, each once.
	seen, cursor := 0, ""
	for {
		ds, next, err := s.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: "a", Limit: 7, Cursor: cursor})
		mustNil(t, err)
		for _, d := range ds {
			if want := 29 - seen; d.Size != want {
				t.Fatalf("page item %d: size %d, want %d", seen, d.Size, want)
			}
			seen++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if seen != 20 {
		t.Fatalf("paged %d deliveries, want 20", seen)
	}

	// Age: nothing older than 10 s survives the next write to "a" …
	mustNil(t, s.AddDeliveries(ctx, []*engine.Delivery{deliveryAt("a", now, 30, engine.DeliveryRun)}, 1000, now.Add(-10*time.Second)))
	ds, _, err := s.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: "a", Limit: 500})
	mustNil(t, err)
	if len(ds) != 11 || ds[len(ds)-1].Size != 20 {
		t.Fatalf("after the age bound: %d deliveries, oldest size %d; want 11, 20", len(ds), ds[len(ds)-1].Size)
	}
	// … and PruneDeliveries applies the bounds to flows that got nothing new.
	n, err := s.PruneDeliveries(ctx, 2, time.Time{})
	mustNil(t, err)
	if n != 9+3 {
		t.Fatalf("pruned %d, want 12", n)
	}
	for _, f := range []string{"a", "b"} {
		ds, _, err := s.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: f})
		mustNil(t, err)
		if len(ds) != 2 {
			t.Fatalf("flow %s keeps %d, want 2", f, len(ds))
		}
	}
	if err := s.AddDeliveries(ctx, []*engine.Delivery{{ID: "x"}}, 0, time.Time{}); err == nil {
		t.Fatal("a delivery without a flow was stored")
	}
}
