package collector

import (
	"context"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// The pools tell the fault's story (docs/simulated.md): the survivor's own
// share drains out of contact, its clients are refused once the whole
// shared network is dry, and the refusals stop at PARTNER_DOWN + MCLT.
func TestSimulatedPoolsStory(t *testing.T) {
	now := simAt(0.03)
	a := newSim(t, "p", "a", simCycle, 0, &now)
	b := newSim(t, "p", "b", simCycle, 0, &now)
	poll := func(src *simulatedSource, f float64) map[string]failover.Relationship {
		t.Helper()
		now = simAt(f)
		rels, err := src.Poll(context.Background())
		if err != nil {
			t.Fatalf("f=%.2f: %v", f, err)
		}
		return byName(rels)
	}
	localFree := func(r failover.Relationship) (sum int) {
		for _, p := range r.Pools {
			v, _ := p.LocalFree.Get()
			sum += v
			size, _ := p.Size.Get()
			n := 0
			for _, x := range p.Addresses {
				n += x.Count
			}
			if n != size {
				t.Errorf("%s %s: states sum to %d, size %d", r.Name, p.Name, n, size)
			}
			if p.SharedNetwork == "" || p.Subnet == "" {
				t.Errorf("%s %s: no network or subnet", r.Name, p.Name)
			}
		}
		return sum
	}
	refused := func(r failover.Relationship, reason failover.RefusalReason) float64 {
		for _, x := range r.Refusals {
			if x.Reason == reason {
				return x.Count
			}
		}
		t.Fatalf("%s: no %s refusals in %v", r.Name, reason, r.Refusals)
		return 0
	}
	for _, tc := range []struct {
		f              float64
		lbFree, hsFree int     // a's own share of the network
		lbRefused      float64 // a's partner_holds_free refusals in -lb since its first poll
	}{
		{0.03, 30, 4, 0},  // NORMAL: 20% of 100 and 50 (primary), 2% of 200 (standby)
		{0.15, 13, 0, 0},  // out of contact: the shares drain (10 + 3 left)
		{0.35, 0, 0, 24},  // the network dry since 0.25: 240 refusals a cycle
		{0.65, 0, 0, 84},  // PARTNER_DOWN since 0.40 + MCLT 0.20: refusals stop
		{0.90, 30, 4, 84}, // NORMAL again, the pool rebalanced
		{1.30, 0, 0, 96},  // the next cycle counts on
	} {
		m := poll(a, tc.f)
		if got := localFree(m["p-lb"]); got != tc.lbFree {
			t.Errorf("f=%.2f: a's -lb own share %d, want %d", tc.f, got, tc.lbFree)
		}
		if got := localFree(m["p-hs"]); got != tc.hsFree {
			t.Errorf("f=%.2f: a's -hs own share %d, want %d", tc.f, got, tc.hsFree)
		}
		if got := refused(m["p-lb"], failover.RefusedPartnerHoldsFree); got != tc.lbRefused {
			t.Errorf("f=%.2f: a's -lb refusals %v, want %v", tc.f, got, tc.lbRefused)
		}
	}
	// b, restarted without its lease file, sees every address free and
	// owns none; once resynchronised it sees a's pool.
	if got := localFree(poll(b, 0.52)["p-lb"]); got != 0 {
		t.Errorf("b after its restart: own share %d, want 0", got)
	}
	if rb, ra := poll(b, 0.66)["p-lb"], poll(a, 0.66)["p-lb"]; rb.Pools[0].Addresses[1] != ra.Pools[0].Addresses[1] {
		t.Errorf("b in RECOVER_WAIT sees %v, a %v", rb.Pools[0].Addresses, ra.Pools[0].Addresses)
	}
	if got := refused(poll(b, 0.9)["p-lb"], failover.RefusedPartnerHoldsFree); got != 0 {
		t.Errorf("b refused %v clients", got)
	}
}
