package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestWindowsConfig(t *testing.T) {
	c, err := Parse([]byte(`
targets:
  - name: dhcp-a
    source: windows
  - name: dhcp-b
    source: windows
    server: dhcp-b.example.net
    relationships: [fo-lab, "Site 2 ↔ HQ"]
  - name: dhcp-c
    source: windows
    server: 192.0.2.3
    timeout: 9s
    poll_interval: 30s
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []*Windows{
		{},
		{Server: "dhcp-b.example.net", Relationships: []string{"fo-lab", "Site 2 ↔ HQ"}},
		{Server: "192.0.2.3"},
	}
	for i, w := range want {
		if got := c.Targets[i].Settings; !reflect.DeepEqual(got, w) {
			t.Errorf("target %d: %+v, want %+v", i, got, w)
		}
	}
	if c.Targets[0].Timeout != DefaultTimeout || c.Targets[2].PollInterval.String() != "30s" {
		t.Errorf("common fields: %+v", c.Targets)
	}
}

func TestWindowsConfigInvalid(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"server: 2001:db8::1", `target "w": field server: "2001:db8::1": the DHCP management API takes a host name or an IPv4 address (line 2)`},
		{"server: 192.0.2", `target "w": field server: "192.0.2" is not a valid IPv4 address (line 2)`},
		{"server: 192.0.2.300", `target "w": field server: "192.0.2.300" is not a valid IPv4 address (line 2)`},
		{`server: '\\dhcp-a'`, `target "w": field server: "\\\\dhcp-a" is not a host name or an IPv4 address (line 2)`},
		{"server: dhcp a", `target "w": field server: "dhcp a" is not a host name or an IPv4 address (line 2)`},
		{"server: -dhcp", `target "w": field server: "-dhcp" is not a host name or an IPv4 address (line 2)`},
		{"server: dhcp..example", `target "w": field server: "dhcp..example" is not a host name or an IPv4 address (line 2)`},
		{"server: " + strings.Repeat("a", 254), `target "w": field server: host name longer than 253 characters (line 2)`},
		{`relationships: [""]`, `target "w": field relationships: empty relationship name (line 2)`},
		{`relationships: [a, a]`, `target "w": field relationships: "a" listed twice (line 2)`},
		{`relationships: ["a\tb"]`, `target "w": field relationships: "a\tb" contains a control character (line 2)`},
		{"relationship: fo-lab", `target "w": line 5: unknown field "relationship" (source windows)`},
		{"key: {name: k}", `target "w": line 5: unknown field "key" (source windows)`},
	} {
		_, err := Parse([]byte("targets:\n  - name: w\n    source: windows\n\n    " + c.yaml + "\n"))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}

func TestWindowsProbeParams(t *testing.T) {
	tg, err := TargetFromParams("windows", map[string][]string{"server": {"dhcp-b"}, "relationships": {"a,b"}})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "dhcp-b" || !reflect.DeepEqual(tg.Settings, &Windows{Server: "dhcp-b", Relationships: []string{"a", "b"}}) {
		t.Errorf("got %+v %+v", tg, tg.Settings)
	}
}
