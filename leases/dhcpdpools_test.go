package leases_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/dhcpdpoolstest"
)

// TestDHCPDPoolsRecorded: per range and per shared network the leases
// package counts what dhcpd-pools 2.29 printed (`-A -f c`, recorded in
// testdata/pools and testdata/pair) on the same dhcpd.conf and leases
// file, by the mapping
// of docs/isc-leases.md. integration/isc_dhcpdpools_test.go compares on files
// of a real pair.
func TestDHCPDPoolsRecorded(t *testing.T) {
	for _, tc := range []struct {
		dir              string
		ranges, networks int
	}{
		{"pools", 7, 3},  // made by hand: every binding state, a record outside every range
		{"pair/a", 5, 2}, // the files of the real pair of integration/isc_dhcpdpools_test.go
		{"pair/b", 5, 2},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", filepath.FromSlash(tc.dir))
			b, err := os.ReadFile(filepath.Join(dir, "dhcpd-pools.csv"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := dhcpdpoolstest.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Ranges) != tc.ranges || len(want.Networks) != tc.networks {
				t.Fatalf("recorded output: %+v", want)
			}
			got, err := dhcpdpoolstest.Count(filepath.Join(dir, "dhcpd.conf"), filepath.Join(dir, "dhcpd.leases"))
			if err != nil {
				t.Fatal(err)
			}
			if d := dhcpdpoolstest.Diff(got, want); d != "" {
				t.Errorf("leases and dhcpd-pools differ:\n%s", d)
			}
		})
	}
}
