package ui

import (
	"testing"
	"time"
)

// TestClusterMetrics: the ClusterObserver side of /metrics counts claims,
// takeovers, claim latency and lost leases.
func TestClusterMetrics(t *testing.T) {
	m := NewMetrics()
	m.RunsClaimed(5, 2, 3*time.Millisecond)
	m.RunsClaimed(0, 0, time.Millisecond)
	m.LeasesLost(3)
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			switch {
			case x.GetCounter() != nil:
				got[mf.GetName()] = x.GetCounter().GetValue()
			case x.GetHistogram() != nil:
				got[mf.GetName()] = float64(x.GetHistogram().GetSampleCount())
			}
		}
	}
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"hookflow_runs_claimed_total", 5},
		{"hookflow_lease_takeovers_total", 2},
		{"hookflow_leases_lost_total", 3},
		{"hookflow_claim_seconds", 2}, // observations
	} {
		if v, ok := got[tc.name]; !ok || v != tc.want {
			t.Errorf("%s = %v (present %v), want %v", tc.name, v, ok, tc.want)
		}
	}
}
