package leases

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

func poolNames(pools []Pool) []string {
	out := make([]string, len(pools))
	for i := range pools {
		out[i] = pools[i].Peer + "=" + pools[i].Name()
	}
	return out
}

func TestReadDHCPDConf(t *testing.T) {
	for _, tc := range []struct {
		file  string
		pools []string
		sizes []int
	}{
		{"dhcpd-primary.conf", []string{"fo-lab=10.250.0.100-10.250.0.199"}, []int{100}},
		{"dhcpd-secondary.conf", []string{"fo-lab=10.250.0.100-10.250.0.199"}, []int{100}},
		{"shared-network.conf", []string{
			"dc1=198.51.100.10-198.51.100.49,198.51.100.60-198.51.100.99",
			"dc1=198.51.100.200-198.51.100.219",
			"=203.0.113.10-203.0.113.20",
			"dc1=192.0.2.200-192.0.2.200,192.0.2.140-192.0.2.150",
			"dc2=10.9.1.0-10.9.1.255",
		}, []int{80, 20, 11, 12, 256}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			pools, err := ReadDHCPDConf(filepath.Join("testdata", "conf", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := poolNames(pools); strings.Join(got, " ") != strings.Join(tc.pools, " ") {
				t.Fatalf("pools\n%q\nwant\n%q", got, tc.pools)
			}
			for i := range pools {
				if pools[i].Size() != tc.sizes[i] {
					t.Errorf("pool %d: size %d, want %d", i, pools[i].Size(), tc.sizes[i])
				}
			}
			if _, err := NewTable(pools); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadDHCPDConfPlaces: each pool's subnet and shared network, as
// docs/isc-leases.md defines them.
func TestReadDHCPDConfPlaces(t *testing.T) {
	pools, err := ReadDHCPDConf(filepath.Join("testdata", "conf", "shared-network.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"campus 198.51.100.0/24",
		"campus 198.51.100.0/24",
		"campus 203.0.113.0/25",         // a range directly in a subnet, dynamic-bootp
		"192.0.2.128/25 192.0.2.128/25", // a subnet in a group, outside every shared network
		"10.9.0.0/16 10.9.0.0/16",       // through the include
	}
	for i := range pools {
		if got := pools[i].SharedNetwork + " " + pools[i].Subnet; i >= len(want) || got != want[i] {
			t.Errorf("pool %d %s: %q", i, pools[i].Name(), got)
		}
	}
	conf := `
shared-network lab { # unquoted
  subnet 10.0.0.0 netmask 255.255.255.0 { }
  subnet 10.0.1.0 netmask 255.255.255.0 { }
  pool { range 10.0.1.10 10.0.1.20; }  # in the network, not in a subnet
}
shared-network "x y" { subnet 10.0.2.0 netmask 255.255.255.0 { pool { range 10.0.2.5; } } }
`
	pools, err = ParseDHCPDConf([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 2 || pools[0].SharedNetwork != "lab" || pools[0].Subnet != "10.0.1.0/24" ||
		pools[1].SharedNetwork != "x y" || pools[1].Subnet != "10.0.2.0/24" {
		t.Errorf("pools %+v", pools)
	}
}

func TestReadDHCPDConfErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	self := write("self.conf", "include \""+filepath.Join(dir, "self.conf")+"\";\n")
	for _, tc := range []struct{ conf, err string }{
		{"subnet 10.0.0.0 netmask 255.0.0.0 { pool { range 10.0.0.1 10.0.0.x; } }", "line 1: range: expected one or two IPv4 addresses"},
		{"pool { range 10.0.0.1 10.0.0.2 10.0.0.3; }", "range: expected one or two IPv4 addresses"},
		{"pool { range; }", "range: expected one or two IPv4 addresses"},
		{"subnet 10.0.0.0 netmask 255.0.0.0 {\n pool {\n", "line 3: end of file inside a block"},
		{"}", "unbalanced }"},
		{"include foo;", "include: expected a quoted file name"},
		{"include \"missing.conf\";", "missing.conf: open"},
		{"pool { failover peer \"\"; range 10.0.0.1; }", "failover peer: name empty"},
		{"subnet 10.0.0.0 { }", "subnet: expected A netmask M"},
		{"subnet 10.0.0.0 netmask 255.0.255.0 { }", "subnet: netmask is not contiguous"},
		{"shared-network \"\" { }", "shared-network: name empty"},
		{"shared-network { }", "shared-network: expected a name"},
		{strings.Repeat("group {", 70), "blocks nested more than 64 deep"},
		{"x {" + strings.Repeat("{", 70), "blocks nested more than 64 deep"},
	} {
		_, err := ReadDHCPDConf(write("c.conf", tc.conf))
		if err == nil || !errors.Is(err, ErrConf) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%.40q: error %v, want %q", tc.conf, err, tc.err)
		}
	}
	if _, err := ReadDHCPDConf(self); err == nil || !strings.Contains(err.Error(), "include cycle refused") {
		t.Errorf("self include: %v", err)
	}
	write("a.conf", "include \"b.conf\";\n")
	if _, err := ReadDHCPDConf(write("b.conf", "include \"a.conf\";\n")); err == nil || !strings.Contains(err.Error(), "include cycle refused") {
		t.Errorf("include cycle: %v", err)
	}
	// A chain of distinct files deeper than MaxIncludeDepth.
	for i := range MaxIncludeDepth + 1 {
		write(fmt.Sprintf("d%d.conf", i), fmt.Sprintf("include \"d%d.conf\";\n", i+1))
	}
	write(fmt.Sprintf("d%d.conf", MaxIncludeDepth+1), "")
	if _, err := ReadDHCPDConf(filepath.Join(dir, "d0.conf")); err == nil || !strings.Contains(err.Error(), "includes nested more than 8 deep") {
		t.Errorf("deep includes: %v", err)
	}
	// The same file included twice side by side is no cycle.
	write("r.conf", "range 10.1.0.1 10.1.0.2;\n")
	if pools, err := ReadDHCPDConf(write("twice.conf", "include \"r.conf\"; include \"r.conf\";\n")); err != nil || len(pools) != 2 {
		t.Errorf("include twice: %v %v", pools, err)
	}
	if _, err := ReadDHCPDConf(filepath.Join(dir, "none.conf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// What is not read is never an error, whatever it holds.
	for _, conf := range []string{
		"option foo code 224 = string; option foo \"{;}\";",
		"key k { algorithm hmac-md5; secret \"x\"; } omapi-key k;",
		"if option dhcp-user-class = \"a\" { } else { }",
		"failover peer \"x\" state { my state normal; partner state normal; }",
		"subnet6 2001:db8::/64 { range6 2001:db8::1 2001:db8::2; }",
	} {
		if pools, err := ReadDHCPDConf(write("c.conf", conf)); err != nil || len(pools) != 0 {
			t.Errorf("%q: %v %v", conf, pools, err)
		}
	}
}

// FuzzDHCPDConf: no panic, bounded output, and pools that a Table takes
// or an error that says why.
func FuzzDHCPDConf(f *testing.F) {
	files, _ := filepath.Glob("testdata/conf/*.conf")
	more, _ := filepath.Glob("testdata/pools/*.conf")
	files = append(files, more...)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("pool { failover peer \"p\"; range 10.0.0.2 10.0.0.1; } range 10.0.0.1;"))
	f.Add([]byte("shared-network n { subnet 10.0.0.0 netmask 255.255.255.0 { } pool { range 10.0.0.5; } }"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pools, err := ParseDHCPDConf(b)
		if err != nil {
			if !errors.Is(err, ErrConf) {
				t.Fatalf("error %v does not wrap ErrConf", err)
			}
			return
		}
		if len(pools) > MaxPools {
			t.Fatalf("%d pools", len(pools))
		}
		for _, p := range pools {
			if len(p.Ranges) == 0 || len(p.Peer) > failover.MaxNameLen || len(p.SharedNetwork) > failover.MaxNameLen ||
				(p.Subnet != "" && p.SharedNetwork == "") {
				t.Fatalf("pool %+v", p)
			}
			for _, r := range p.Ranges {
				if !r.valid() {
					t.Fatalf("range %v", r)
				}
			}
		}
		if _, err := NewTable(pools); err != nil && !errors.Is(err, ErrPools) {
			t.Fatal(err)
		}
	})
}

// The subnets with their shared networks, a lone subnet named by its
// prefix as dhcpd names it (server/confpars.c), for isclog's placement.
func TestReadDHCPDConfSubnets(t *testing.T) {
	_, subnets, err := ReadDHCPDConfSubnets(filepath.Join("testdata", "conf", "shared-network.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range subnets {
		got = append(got, s.SharedNetwork+"="+s.Prefix.String())
	}
	want := []string{"campus=198.51.100.0/24", "campus=203.0.113.0/25"}
	if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("subnets %q, want %q first", got, want)
	}
	for _, s := range subnets[len(want):] {
		if s.SharedNetwork != s.Prefix.String() {
			t.Errorf("lone subnet %v named %q", s.Prefix, s.SharedNetwork)
		}
	}
	_, subnets, err = ParseDHCPDConfSubnets([]byte("subnet 10.1.0.0 netmask 255.255.0.0 { }\n"))
	if err != nil || len(subnets) != 1 || subnets[0].SharedNetwork != "10.1.0.0/16" {
		t.Errorf("lone subnet: %+v, %v", subnets, err)
	}
}
