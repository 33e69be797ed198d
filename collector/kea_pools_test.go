package collector

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// A statistic-get-all answer in Kea's shape (kea/testdata has the real
// ones): subnet 1 dry (3 failures after trying addresses), subnet 2 with
// pools no client may use (1 failure), subnet 3 without failures yet
// (known by total-addresses), 2 failures under a subnet no longer in the
// statistics, 4 DHCPNAKs. The scope pair and -classes count the same
// failures again.
const keaRefusalStats = `[ { "result": 0, "arguments": {
	"pkt4-nak-sent": [ [ 4, "2026-12-06 10:00:02.000000" ], [ 0, "2026-12-06 10:00:00.000000" ] ],
	"v4-allocation-fail": [ [ 5, "t" ] ], "v4-allocation-fail-no-pools": [ [ 1, "t" ] ],
	"v4-allocation-fail-subnet": [ [ 6, "t" ] ], "v4-allocation-fail-shared-network": [ [ 0, "t" ] ],
	"v4-allocation-fail-classes": [ [ 6, "t" ] ],
	"subnet[1].total-addresses": [ [ 4, "t" ] ], "subnet[1].assigned-addresses": [ [ 4, "t" ] ],
	"subnet[1].v4-allocation-fail": [ [ 3, "t" ] ], "subnet[1].v4-allocation-fail-subnet": [ [ 3, "t" ] ],
	"subnet[1].v4-allocation-fail-classes": [ [ 3, "t" ] ],
	"subnet[2].total-addresses": [ [ 9, "t" ] ],
	"subnet[2].v4-allocation-fail-no-pools": [ [ 1, "t" ] ], "subnet[2].v4-allocation-fail-subnet": [ [ 1, "t" ] ],
	"subnet[2].v4-allocation-fail-classes": [ [ 1, "t" ] ],
	"subnet[10].total-addresses": [ [ 100, "t" ] ]
} } ]`

func TestKeaSourceRefusals(t *testing.T) {
	ks := keaServer(map[string][]byte{
		"status-get":        keaFixture(t, "status-get-2.2-ca-primary.json"),
		"statistic-get-all": []byte(keaRefusalStats),
	})
	srv := httptest.NewServer(ks)
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []failover.Refusal{
		{Reason: failover.RefusedNAK, Count: 4},
		{Reason: failover.RefusedNoPools, Count: 0},
		{Reason: failover.RefusedPoolExhausted, Count: 2},
		{Subnet: "subnet-1", Reason: failover.RefusedNoPools, Count: 0},
		{Subnet: "subnet-1", Reason: failover.RefusedPoolExhausted, Count: 3},
		{Subnet: "subnet-2", Reason: failover.RefusedNoPools, Count: 1},
		{Subnet: "subnet-2", Reason: failover.RefusedPoolExhausted, Count: 0},
		{Subnet: "subnet-10", Reason: failover.RefusedNoPools, Count: 0},
		{Subnet: "subnet-10", Reason: failover.RefusedPoolExhausted, Count: 0},
	}
	if len(rels) != 1 || !reflect.DeepEqual(rels[0].Refusals, want) {
		t.Fatalf("refusals %+v\nwant %+v", rels[0].Refusals, want)
	}
	// Without stat_cmds the pools come from the same statistic-get-all.
	if len(rels[0].Pools) != 3 || rels[0].Pools[0].Name != "subnet-1" {
		t.Errorf("pools %+v", rels[0].Pools)
	}
	var sum float64
	for _, r := range rels[0].Refusals {
		if r.Reason != failover.RefusedNAK {
			sum += r.Count
		}
	}
	if sum != 6 {
		t.Errorf("the allocation failures sum to %v, Kea counts 6 (v4-allocation-fail + -no-pools)", sum)
	}
	// One statistic-get-all per poll, then stat-lease4-get; subnet4-list for the names (not loaded here).
	var cmds []string
	for _, r := range ks.Requests() {
		cmds = append(cmds, r["command"].(string))
	}
	if got := strings.Join(cmds, ","); got != "status-get,statistic-get-all,stat-lease4-get,subnet4-list" {
		t.Errorf("commands %s", got)
	}

	// The rendered family: every series from the start, sorted, a counter.
	var sb strings.Builder
	out := &families{byFamily: map[*family]*dto.MetricFamily{}}
	renderRefusals(out, labelPair("target", "a"), labelPair("relationship", "pair"), rels[0].Refusals, time.Unix(1795000000, 0))
	for _, mf := range out.sorted() {
		if _, err := expfmt.MetricFamilyToText(&sb, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range []string{
		`# TYPE dhcp_failover_clients_refused_total counter`,
		`dhcp_failover_clients_refused_total{reason="nak",relationship="pair",shared_network="",subnet="",target="a"} 4`,
		`dhcp_failover_clients_refused_total{reason="pool_exhausted",relationship="pair",shared_network="",subnet="subnet-1",target="a"} 3`,
		`dhcp_failover_clients_refused_total{reason="no_pools",relationship="pair",shared_network="",subnet="subnet-2",target="a"} 1`,
		`dhcp_failover_clients_refused_total{reason="pool_exhausted",relationship="pair",shared_network="",subnet="subnet-10",target="a"} 0`,
	} {
		if !strings.Contains(sb.String(), line) {
			t.Errorf("missing %s in\n%s", line, sb.String())
		}
	}
	if strings.Contains(sb.String(), `reason="classes"`) || strings.Contains(sb.String(), `reason="partner_holds_free"`) {
		t.Errorf("a reason Kea does not count:\n%s", sb.String())
	}
}

// The pools from stat-lease4-get and the refusals from statistic-get-all;
// a server whose statistics cannot be read still answers the poll, its
// refusals left out (and warned about once).
func TestKeaSourceRefusalsPartial(t *testing.T) {
	ks := keaServer(map[string][]byte{
		"status-get":        keaFixture(t, "status-get-2.2-ca-primary.json"),
		"statistic-get-all": keaFixture(t, "kea-2.2-statistic-get-all.json"),
		"stat-lease4-get":   keaFixture(t, "kea-2.2-stat-lease4-get.json"),
	})
	srv := httptest.NewServer(ks)
	defer srv.Close()
	var logs strings.Builder
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", log.NewLogfmtLogger(&logs))
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []failover.Refusal{
		{Reason: failover.RefusedNAK}, {Reason: failover.RefusedNoPools}, {Reason: failover.RefusedPoolExhausted},
		{Subnet: "subnet-1", Reason: failover.RefusedNoPools}, {Subnet: "subnet-1", Reason: failover.RefusedPoolExhausted},
	}
	if !reflect.DeepEqual(rels[0].Refusals, want) || len(rels[0].Pools) != 1 || rels[0].Pools[0].Size != failover.Some(25856) {
		t.Fatalf("refusals %+v pools %+v", rels[0].Refusals, rels[0].Pools)
	}

	ks.Set("statistic-get-all", []byte(`[{"result":0,"arguments":{"pkt4-nak-sent":[[-1,"t"]]}}]`))
	for i := 0; i < 2; i++ {
		if rels, err = pollKea(t, s); err != nil {
			t.Fatal(err)
		}
		if rels[0].Refusals != nil || len(rels[0].Pools) != 1 {
			t.Fatalf("refusals %+v pools %+v", rels[0].Refusals, rels[0].Pools)
		}
	}
	if n := strings.Count(logs.String(), "no refusal series"); n != 1 {
		t.Errorf("%d warnings:\n%s", n, logs.String())
	}
}

// The real statistic-get-all of a Kea 3.0 primary after refusals
// (kea/testdata/README.md), through the source.
func TestKeaSourceRefusalsRecorded(t *testing.T) {
	srv := httptest.NewServer(keaServer(map[string][]byte{
		"status-get":        keaFixture(t, "status-get-2.2-ca-primary.json"),
		"statistic-get-all": keaFixture(t, "kea-3.0-statistic-get-all-refusals.json"),
	}))
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []failover.Refusal{
		{Reason: failover.RefusedNAK, Count: 2},
		{Reason: failover.RefusedNoPools},
		{Reason: failover.RefusedPoolExhausted},
		{Subnet: "subnet-1", Reason: failover.RefusedNoPools},
		{Subnet: "subnet-1", Reason: failover.RefusedPoolExhausted, Count: 6},
		{Subnet: "subnet-2", Reason: failover.RefusedNoPools, Count: 3},
		{Subnet: "subnet-2", Reason: failover.RefusedPoolExhausted},
	}
	if !reflect.DeepEqual(rels[0].Refusals, want) {
		t.Fatalf("refusals %+v\nwant %+v", rels[0].Refusals, want)
	}
}
