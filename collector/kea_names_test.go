package collector

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// The Kea series carry the subnets' prefixes and shared networks: from
// subnet4-list where the server has it, else from config_file, else the
// subnet IDs.
func TestKeaSourceSubnetNames(t *testing.T) {
	const list = `{ "arguments": { "subnets": [ { "id": 1, "shared-network-name": "campus", "subnet": "10.0.1.0/24" },
	  { "id": 2, "shared-network-name": null, "subnet": "10.0.2.0/24" } ] }, "result": 0, "text": "2 IPv4 subnets found" }`
	conf := filepath.Join(t.TempDir(), "kea-dhcp4.conf")
	if err := os.WriteFile(conf, []byte(`// Kea's own file
{ "Dhcp4": { "shared-networks": [ { "name": "from file", "subnet4": [ { "id": 1, "subnet": "10.0.1.0/24" } ] } ],
  "subnet4": [ { "id": 2, "subnet": "10.0.2.0/24" } ] } }`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		subnet4    bool
		configFile string
		net1       string // subnet 1's network
	}{
		{"subnet4-list", true, "", "campus"},
		{"subnet4-list before config_file", true, conf, "campus"},
		{"config_file", false, conf, "from file"},
		{"neither", false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := map[string][]byte{
				"status-get":        keaFixture(t, "status-get-2.2-ca-primary.json"),
				"statistic-get-all": []byte(keaRefusalStats),
			}
			if tc.subnet4 {
				answers["subnet4-list"] = []byte(list)
			}
			ks := keaServer(answers)
			srv := httptest.NewServer(ks)
			defer srv.Close()
			target := "- {name: a, source: kea, url: '" + srv.URL + "', relationship: pair"
			if tc.configFile != "" {
				target += ", config_file: '" + tc.configFile + "'"
			}
			s := newKeaTestSource(t, target+"}\n", nil)
			for poll := 0; poll < 2; poll++ {
				rels, err := pollKea(t, s)
				if err != nil {
					t.Fatal(err)
				}
				pools := map[string]failover.Pool{}
				for _, p := range rels[0].Pools {
					pools[p.Name] = p
				}
				refused := map[string]string{}
				for _, r := range rels[0].Refusals {
					refused[r.Subnet] = r.SharedNetwork
				}
				if tc.net1 == "" {
					if _, ok := pools["subnet-1"]; !ok || refused["subnet-1"] != "" {
						t.Errorf("pools %v, refusals %v: want subnet-1 without a network", rels[0].Pools, rels[0].Refusals)
					}
					continue
				}
				p1, p2 := pools["10.0.1.0/24"], pools["10.0.2.0/24"]
				if p1.SharedNetwork != tc.net1 || p1.Subnet != "10.0.1.0/24" || p2.SharedNetwork != "10.0.2.0/24" {
					t.Errorf("pools %+v: want 10.0.1.0/24 in %q and 10.0.2.0/24 its own network", rels[0].Pools, tc.net1)
				}
				// Subnet 10 has no name: its ID, no network.
				if _, ok := pools["subnet-10"]; !ok || refused["10.0.1.0/24"] != tc.net1 || refused["subnet-10"] != "" {
					t.Errorf("pools %v, refusals %+v", rels[0].Pools, rels[0].Refusals)
				}
			}
			// The names are asked for once: the second poll is within
			// the refresh period.
			n := 0
			for _, r := range ks.Requests() {
				if r["command"] == "subnet4-list" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("subnet4-list sent %d times in two polls, want 1", n)
			}
			if strings.Contains(tc.name, "config") && !tc.subnet4 && s.subnets.fileSize == 0 {
				t.Error("config_file not read")
			}
		})
	}
}
