package config

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// relationships is a list for every source; Kea's entries say which local
// server-name each relationship is, and the map of earlier versions still
// loads, with a warning that names the target and the line.
func TestKeaRelationshipsList(t *testing.T) {
	tests := []struct {
		name, yaml string
		rel        string
		rels       KeaRelationships
		warn       string
	}{
		{"list", "relationships: [{name: site1-pair, server_name: hub-site1}, {name: site2-pair, server_name: hub-site2}]", "",
			KeaRelationships{"hub-site1": "site1-pair", "hub-site2": "site2-pair"}, ""},
		{"one bare name", "relationships: [kea-pair]", "kea-pair", nil, ""},
		{"one entry with its server-name", "relationships: [{name: kea-pair, server_name: kea-a}]", "", KeaRelationships{"kea-a": "kea-pair"}, ""},
		{"deprecated map", "relationships: {hub-site1: site1-pair}", "", KeaRelationships{"hub-site1": "site1-pair"},
			`target "k": line 2: field relationships: a map of server-name to name is deprecated`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("targets:\n- {name: k, source: kea, url: 'http://10.0.0.1:8000/', " + tc.yaml + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			k := c.Targets[0].Settings.(*Kea)
			if k.Relationship != tc.rel || !reflect.DeepEqual(k.Relationships, tc.rels) {
				t.Errorf("relationship %q relationships %v, want %q %v", k.Relationship, k.Relationships, tc.rel, tc.rels)
			}
			w := c.Warnings()
			switch {
			case tc.warn == "" && len(w) != 0:
				t.Errorf("warnings %v, want none", w)
			case tc.warn != "" && (len(w) != 1 || !strings.HasPrefix(w[0], tc.warn)):
				t.Errorf("warnings %v, want one starting %q", w, tc.warn)
			}
			// The running configuration renders the list form, which loads again.
			out, err := yaml.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), "hub-site1: site1-pair") {
				t.Errorf("rendered in the map form:\n%s", out)
			}
			c2, err := Parse(out)
			if err != nil {
				t.Fatalf("rendered config does not load: %v\n%s", err, out)
			}
			if k2 := c2.Targets[0].Settings.(*Kea); !reflect.DeepEqual(k2, k) || len(c2.Warnings()) != 0 {
				t.Errorf("round trip: %+v (warnings %v), want %+v", k2, c2.Warnings(), k)
			}
		})
	}
}

func TestKeaRelationshipsInvalid(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"relationships: [{name: a}]", `target "k": line 2: field relationships: "a": field server_name is required in a mapping entry`},
		{"relationships: [{name: a, server_name: s, label: x}]", `unknown field "label"`},
		{"relationships: [{name: a, server_name: s}, {name: b, server_name: s}]", `server_name "s" given twice`},
		{"relationships: [{name: a, server_name: s}, {name: a, server_name: t}]", `field relationships: s and t both named "a"`},
		{"relationships: [[a]]", `an entry must be a name or {name: <label>, server_name: <server-name>}`},
		{"relationships: pair", `field relationships: want a list of names`},
		{"relationship: p, relationships: [{name: a, server_name: s}]", `fields relationship and relationships: give only one`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Parse([]byte("targets:\n- {name: k, source: kea, url: 'http://10.0.0.1:8000/', " + tc.yaml + "}\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
