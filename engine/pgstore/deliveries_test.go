package pgstore

import (
	"context"
	"crypto/rand"

	"github.com/oklog/ulid/v2"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// TestDeliveries: pages newest first with a cursor, outcome filter, trimming
// to keep at add time and by age in PruneDeliveries.
func TestDeliveries(t *testing.T) {
	st := openTest(t)
	defer st.Close()
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	var ds []*engine.Delivery
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Minute)
		out := engine.DeliveryRun
		if i%2 == 0 {
			out = engine.DeliveryRefused
		}
		ds = append(ds, &engine.Delivery{ID: ulid.MustNew(ulid.Timestamp(at), rand.Reader).String(), FlowID: "f", ReceivedAt: at, Outcome: out})
	}
	if err := st.AddDeliveries(ctx, ds, 6, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, next, err := st.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: "f", Limit: 4})
	if err != nil || len(got) != 4 || next == "" || got[0].ID != ds[9].ID {
		t.Fatalf("%d %q %v", len(got), next, err)
	}
	got2, next2, _ := st.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: "f", Limit: 4, Cursor: next})
	if len(got2) != 2 || next2 != "" || got2[1].ID != ds[4].ID {
		t.Fatalf("page 2: %d %q", len(got2), next2)
	}
	r, _, _ := st.ListDeliveries(ctx, engine.DeliveryQuery{FlowID: "f", Outcome: engine.DeliveryRefused})
	if len(r) != 3 {
		t.Fatalf("refused %d", len(r))
	}
	n, err := st.PruneDeliveries(ctx, 0, base.Add(7*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d %v", n, err)
	}
}
