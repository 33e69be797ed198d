package config

import (
	"strings"
	"testing"
)

// A relationship name is bounded once (failover.MaxNameLen, dhcpd's token
// buffer): a 300-byte name, valid in dhcpd.conf, is accepted by every
// source; a name longer than the bound is refused.
func TestRelationshipNameBound(t *testing.T) {
	long, tooLong := strings.Repeat("r", 300), strings.Repeat("r", 1501)
	targets := map[string]string{
		"omapi":  "  source: omapi\n  address: 10.0.0.1\n  relationships: [%s]\n",
		"leases": "  source: leases\n  path: /var/lib/dhcp/dhcpd.leases\n  relationships: [%s]\n",
		"kea":    "  source: kea\n  url: http://127.0.0.1:8000/\n  relationship: %s\n",
		"peer":   "  source: peer\n  interface: eth0\n  local_address: 192.0.2.1\n  relationship: %s\n",
	}
	for src, tmpl := range targets {
		for _, c := range []struct {
			name string
			ok   bool
		}{{long, true}, {tooLong, false}} {
			y := "targets:\n- name: t\n" + strings.ReplaceAll(tmpl, "%s", c.name)
			_, err := Parse([]byte(y))
			if (err == nil) != c.ok {
				t.Errorf("%s, %d-byte name: err %v", src, len(c.name), err)
			}
		}
	}
}
