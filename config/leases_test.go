package config

import (
	"os"
	"strings"
	"testing"
)

func TestLeasesSettings(t *testing.T) {
	c, err := Parse([]byte("targets:\n- name: isc-a\n  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  relationships: [fo-lab]\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Targets[0].Settings.(*Leases)
	if l.Path != "/var/lib/dhcp/dhcpd.leases" || len(l.Relationships) != 1 || c.Targets[0].PollInterval != DefaultPollInterval {
		t.Fatalf("%+v", c.Targets[0])
	}
	for _, tc := range []struct{ yaml, err string }{
		{"", `target "isc-a": field path is required`},
		{"  path: a\n  relationships: [x, x]\n", `target "isc-a": field relationships: "x" listed twice`},
		{"  path: a\n  relationships: ['']\n", `target "isc-a": field relationships: empty relationship name`},
		{"  path: a\n  address: 10.0.0.1:7911\n", `unknown field "address"`},
		{"  path: a\n  log_file: a\n", `target "isc-a": field log_file: is the leases file (field path)`},
		{"  path: a\n  log_file: \"b\\0\"\n", `target "isc-a": field log_file: contains a NUL byte`},
		{"  path: a\n  journal: /var/log/journal\n  log_file: b\n", `target "isc-a": fields log_file and journal are mutually exclusive (dhcpd logs to one of them)`},
		{"  path: a\n  journal_identifier: dhcpd\n", `target "isc-a": field journal_identifier: needs field journal`},
		{"  path: a\n  journal: j\n  journal_identifier: \"a=b\"\n", `target "isc-a": field journal_identifier: contains a NUL byte, a newline or '='`},
	} {
		_, err := Parse([]byte("targets:\n- name: isc-a\n  source: leases\n" + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.err)
		}
	}
}

func TestLeasesPools(t *testing.T) {
	c, err := Parse([]byte("targets:\n- name: isc-b\n  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  pools:\n" +
		"  - relationship: fo-lab\n    ranges: [10.0.0.100-10.0.0.149, 10.0.0.160-10.0.0.199]\n  - ranges: [10.0.1.5]\n"))
	if err != nil {
		t.Fatal(err)
	}
	pools, err := c.Targets[0].Settings.(*Leases).LeasePools()
	if err != nil {
		t.Fatal(err)
	}
	if len(pools) != 2 || pools[0].Peer != "fo-lab" || pools[0].Name() != "10.0.0.100-10.0.0.149,10.0.0.160-10.0.0.199" ||
		pools[0].Size() != 90 || pools[1].Peer != "" || pools[1].Size() != 1 {
		t.Fatalf("%+v", pools)
	}
	c, err = Parse([]byte("targets:\n- name: isc-b\n  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  config_file: /nonexistent/dhcpd.conf\n"))
	if err != nil {
		t.Fatal(err) // read when the source starts, not when the configuration is checked
	}
	if _, err := c.Targets[0].Settings.(*Leases).LeasePools(); err == nil || !strings.Contains(err.Error(), "/nonexistent/dhcpd.conf") {
		t.Fatalf("missing config_file: %v", err)
	}
}

func TestLeasesLogFile(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/dhcpd.conf"
	if err := os.WriteFile(conf, []byte("shared-network campus {\n subnet 10.20.1.0 netmask 255.255.255.0 { }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("targets:\n- name: isc-b\n  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  config_file: " + conf + "\n  log_file: /var/log/dhcpd.log\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Targets[0].Settings.(*Leases)
	if l.LogFile != "/var/log/dhcpd.log" {
		t.Fatalf("log_file %q", l.LogFile)
	}
	_, subnets, err := l.LeaseConf()
	if err != nil || len(subnets) != 1 || subnets[0].SharedNetwork != "campus" {
		t.Fatalf("subnets %+v, %v", subnets, err)
	}
}

// TestLeasesJournal: journal with the default identifier.
func TestLeasesJournal(t *testing.T) {
	c, err := Parse([]byte("targets:\n- name: isc-b\n  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  journal: /var/log/journal\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Targets[0].Settings.(*Leases); l.Journal != "/var/log/journal" || l.JournalIdentifier != "dhcpd" {
		t.Fatalf("%+v", l)
	}
}
