package collector

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func poolCount(p failover.Pool, state string) int {
	for _, a := range p.Addresses {
		if a.State == state {
			return a.Count
		}
	}
	return -1
}

// The pools of the leases source: counts per pool from the newest record
// of each address, the secondary's share, the addresses outside every
// pool, and a replaced file counted anew once read to its end.
func TestLeasesPools(t *testing.T) {
	r, err := leases.ParseRange("10.250.0.100-10.250.0.199")
	if err != nil {
		t.Fatal(err)
	}
	pools := []leases.Pool{{Peer: "fo-lab", Ranges: []leases.Range{r}}}
	path := filepath.Join(t.TempDir(), "dhcpd.leases")
	b, err := os.ReadFile(filepath.Join("..", "leases", "testdata", "secondary-fault-cycle.leases"))
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, b)
	s, err := newLeasesSourceWith(path, nil, pools, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rels := pollLeases(t, s)
	if len(rels) != 1 || len(rels[0].Pools) != 1 || rels[0].Role != failover.RoleSecondary {
		t.Fatalf("%+v", rels)
	}
	p := rels[0].Pools[0]
	backup := poolCount(p, "backup")
	if p.Name != "10.250.0.100-10.250.0.199" || p.Size != failover.Some(100) || p.LocalFree != failover.Some(backup) ||
		backup+poolCount(p, "free") != 100 {
		t.Fatalf("pool %+v", p)
	}

	appendFile(t, path, []byte("lease 10.250.0.150 {\n  binding state active;\n}\nlease 10.9.9.9 {\n  binding state expired;\n}\n"))
	rels = pollLeases(t, s)
	if len(rels[0].Pools) != 2 {
		t.Fatalf("pools %+v", rels[0].Pools)
	}
	p, other := rels[0].Pools[0], rels[0].Pools[1]
	if poolCount(p, "active") != 1 || poolCount(p, "backup")+poolCount(p, "free") != 99 ||
		other.Name != "other" || poolCount(other, "expired") != 1 || other.LocalFree.OK() || other.Size.OK() {
		t.Fatalf("after an append: %+v %+v", p, other)
	}

	// The rendered families.
	var sb strings.Builder
	out := &families{byFamily: map[*family]*dto.MetricFamily{}}
	renderPools(out, labelPair("target", "isc-b"), labelPair("relationship", "fo-lab"), rels[0].Pools)
	for _, mf := range out.sorted() {
		if _, err := expfmt.MetricFamilyToText(&sb, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		`dhcp_failover_pool_addresses{pool="10.250.0.100-10.250.0.199",relationship="fo-lab",state="active",target="isc-b"} 1`,
		`dhcp_failover_pool_addresses{pool="other",relationship="fo-lab",state="expired",target="isc-b"} 1`,
		`dhcp_failover_pool_size{pool="10.250.0.100-10.250.0.199",relationship="fo-lab",target="isc-b"} 100`,
		`dhcp_failover_pool_local_free_addresses{pool="10.250.0.100-10.250.0.199",relationship="fo-lab",target="isc-b"} `,
	} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("missing %s in\n%s", want, sb.String())
		}
	}
	if strings.Contains(sb.String(), `pool_local_free_addresses{pool="other"`) || strings.Contains(sb.String(), `pool_size{pool="other"`) {
		t.Errorf("share or size for other:\n%s", sb.String())
	}

	// dhcpd's rewrite: a new file renamed over the path, every lease in it.
	next := path + ".new"
	appendFile(t, next, []byte("failover peer \"fo-lab\" state {\n  my state normal at 4 2026/11/26 17:35:05;\n  partner state normal at 4 2026/11/26 17:35:05;\n  mclt 60;\n}\n"))
	var nb strings.Builder
	for i := 100; i < 200; i++ {
		st := "backup"
		if i < 110 {
			st = "active"
		}
		nb.WriteString("lease 10.250.0." + strconv.Itoa(i) + " {\n  binding state " + st + ";\n}\n")
	}
	appendFile(t, next, []byte(nb.String()))
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	rels = pollLeases(t, s)
	if len(rels[0].Pools) != 1 {
		t.Fatalf("after the rewrite: %+v", rels[0].Pools)
	}
	p = rels[0].Pools[0]
	if poolCount(p, "active") != 10 || p.LocalFree != failover.Some(90) || poolCount(p, "free") != 0 {
		t.Fatalf("after the rewrite: %+v", p)
	}
}
