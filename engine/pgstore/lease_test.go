package pgstore

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/engine"
)

// TestLeases: nodes claiming at once split the pending runs without
// overlap; renewals keep them; an expired lease is taken over and its old
// owner loses it at its next renewal; finished runs are never claimed.
func TestLeases(t *testing.T) {
	st := openTest(t)
	defer st.Close()
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		status := engine.RunQueued
		if i%5 == 4 {
			status = engine.RunSucceeded
		}
		r := &engine.Run{FlowID: "f", Status: status}
		if _, _, err := st.CreateRun(ctx, r, "", 0); err != nil {
			t.Fatal(err)
		}
		if !status.Final() {
			ids = append(ids, r.ID)
		}
	}
	// Four nodes claim at once, 5 runs at a time, until nothing is left.
	claimed := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for n := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := fmt.Sprint("node-", n)
			for {
				got, err := st.ClaimRuns(ctx, node, time.Minute, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					if prev, ok := claimed[c.Run.ID]; ok {
						t.Errorf("run %s claimed by %s and %s", c.Run.ID, prev, node)
					}
					if c.TakenFrom != "" || c.Run.Status.Final() {
						t.Errorf("claim of %s: taken from %q, status %s", c.Run.ID, c.TakenFrom, c.Run.Status)
					}
					claimed[c.Run.ID] = node
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var got []string
	for id := range claimed {
		got = append(got, id)
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("claimed %d runs, want the %d pending ones", len(got), len(ids))
	}

	// The leases of the oldest run's node expire; node-9 takes them over;
	// their old owner loses them.
	old := claimed[ids[0]]
	var mine []string
	for id, n := range claimed {
		if n == old {
			mine = append(mine, id)
		}
	}
	held, err := st.RenewLeases(ctx, old, mine, time.Millisecond)
	if err != nil || len(held) != len(mine) {
		t.Fatalf("renew: %v %v", held, err)
	}
	time.Sleep(20 * time.Millisecond)
	over, err := st.ClaimRuns(ctx, "node-9", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(over) != len(mine) {
		t.Fatalf("took over %d runs, want node-0's %d", len(over), len(mine))
	}
	for _, c := range over {
		if c.TakenFrom != old {
			t.Fatalf("run %s taken from %q", c.Run.ID, c.TakenFrom)
		}
	}
	if held, _ := st.RenewLeases(ctx, old, mine, time.Minute); len(held) != 0 {
		t.Fatalf("%s still holds %v after the takeover", old, held)
	}
	// Released runs are claimable again; another node's release changes nothing.
	if err := st.ReleaseRun(ctx, old, over[0].Run.ID); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.ClaimRuns(ctx, "node-8", time.Minute, 100); len(again) != 0 {
		t.Fatalf("claimed a run held by node-9: %v", again[0].Run.ID)
	}
	if err := st.ReleaseRun(ctx, "node-9", over[0].Run.ID); err != nil {
		t.Fatal(err)
	}
	again, err := st.ClaimRuns(ctx, "node-8", time.Minute, 100)
	if err != nil || len(again) != 1 || again[0].Run.ID != over[0].Run.ID || again[0].TakenFrom != "" {
		t.Fatalf("claim after release: %v %v", again, err)
	}
	// A finished run is not renewed.
	r, _ := st.GetRun(ctx, again[0].Run.ID)
	r.Status = engine.RunSucceeded
	if err := st.SaveRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	if held, _ := st.RenewLeases(ctx, "node-8", []string{r.ID}, time.Minute); len(held) != 0 {
		t.Fatalf("finished run renewed: %v", held)
	}
	if _, err := st.ClaimRuns(ctx, "", time.Minute, 1); err == nil {
		t.Fatal("claim without an owner accepted")
	}
}
