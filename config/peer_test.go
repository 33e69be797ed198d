package config

import (
	"slices"
	"strings"
	"testing"
)

func TestPeerSettings(t *testing.T) {
	c, err := Parse([]byte("targets:\n- name: tap\n  source: peer\n  interface: eth0\n  local_address: 10.0.0.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Targets[0].Settings.(*Peer)
	if p.Interface != "eth0" || !slices.Equal(p.Ports, []uint16{647, 847}) || p.Addr().String() != "10.0.0.1" {
		t.Fatalf("%+v", p)
	}
	c, err = Parse([]byte("targets:\n- name: tap\n  source: peer\n  pcap_file: /tmp/x.pcap\n  local_address: 2001:db8::1\n  ports: [519]\n  relationship: fo-lab\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Targets[0].Settings.(*Peer); !slices.Equal(p.Ports, []uint16{519}) || p.Relationship != "fo-lab" {
		t.Fatalf("%+v", p)
	}
	for _, tc := range []struct{ yaml, err string }{
		{"  local_address: 10.0.0.1\n", `target "tap": one of the fields interface and pcap_file is required`},
		{"  interface: eth0\n  pcap_file: a.pcap\n  local_address: 10.0.0.1\n", `target "tap": fields interface and pcap_file exclude each other`},
		{"  interface: eth0\n", `target "tap": field local_address is required`},
		{"  interface: eth0\n  local_address: dhcp-a\n", `target "tap": field local_address: "dhcp-a" is not an IP address`},
		{"  interface: eth0/1\n  local_address: 10.0.0.1\n", `target "tap": field interface: "eth0/1" is not an interface name`},
		{"  interface: eth0\n  local_address: 10.0.0.1\n  ports: [647, 647]\n", `target "tap": field ports: 647 listed twice`},
		{"  interface: eth0\n  local_address: 10.0.0.1\n  ports: [0]\n", `target "tap": field ports: port 0`},
		{"  interface: eth0\n  local_address: 10.0.0.1\n  ports: [70000]\n", `target "tap": line 6: ` + "`70000`" + ` is not a number from 0 to 65535`},
		{"  interface: eth0\n  local_address: 10.0.0.1\n  address: 10.0.0.1:647\n", `unknown field "address"`},
	} {
		_, err := Parse([]byte("targets:\n- name: tap\n  source: peer\n" + tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.err)
		}
	}
}
