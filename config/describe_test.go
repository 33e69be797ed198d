package config

import (
	"reflect"
	"testing"
)

func TestDescribe(t *testing.T) {
	c, err := Parse([]byte(`targets:
  - {name: isc, source: omapi, address: 10.0.0.1, relationships: [fo-a, fo-b], key: {name: k, algorithm: hmac-sha256, secret: c2VjcmV0}}
  - {name: kea, source: kea, url: 'http://10.0.0.2:8000/', relationship: pair}
  - {name: hub, source: kea, socket: /run/kea/s, relationships: [{name: s2, server_name: h2}, {name: s1, server_name: h1}]}
  - {name: file, source: leases, path: /var/lib/dhcp/dhcpd.leases}
  - {name: sim, source: simulated, pair: demo, server: a}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		addr string
		rels []string
	}{
		{"10.0.0.1:7911", []string{"fo-a", "fo-b"}},
		{"http://10.0.0.2:8000/", []string{"pair"}},
		{"/run/kea/s", []string{"s1", "s2"}},
		{"/var/lib/dhcp/dhcpd.leases", nil},
		{"demo", nil},
	}
	for i, tg := range c.Targets {
		addr, rels := Describe(tg)
		if addr != want[i].addr || !reflect.DeepEqual(rels, want[i].rels) {
			t.Errorf("%s: Describe = %q %q, want %q %q", tg.Name, addr, rels, want[i].addr, want[i].rels)
		}
	}
}
