package leases_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/dhcpdpoolstest"
)

// TestDHCPDPoolsRecorded: per range and per shared network the leases
// package counts what dhcpd-pools 2.29 printed (`-A -f c`, recorded in
// testdata/pools) on the same dhcpd.conf and leases file, by the mapping
// of docs/isc-leases.md. integration/isc_dhcpdpools_test.go compares on files
// of a real pair.
func TestDHCPDPoolsRecorded(t *testing.T) {
	dir := filepath.Join("testdata", "pools")
	b, err := os.ReadFile(filepath.Join(dir, "dhcpd-pools.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := dhcpdpoolstest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Ranges) != 7 || len(want.Networks) != 3 {
		t.Fatalf("recorded output: %+v", want)
	}
	got, err := dhcpdpoolstest.Count(filepath.Join(dir, "dhcpd.conf"), filepath.Join(dir, "dhcpd.leases"))
	if err != nil {
		t.Fatal(err)
	}
	if d := dhcpdpoolstest.Diff(got, want); d != "" {
		t.Errorf("leases and dhcpd-pools differ:\n%s", d)
	}
}
