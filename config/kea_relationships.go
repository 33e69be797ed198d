package config

import (
	"fmt"
	"reflect"
	"sort"

	"go.yaml.in/yaml/v3"
)

// KeaRelationships maps the local server-name Kea reports for each of a
// server's relationships to the relationship's `relationship` label.
//
// In a config file it is a list, as `relationships` is for every source:
//
//	relationships:
//	  - {name: site1-pair, server_name: hub-site1}
//	  - {name: site2-pair, server_name: hub-site2}
//
// A list of one bare name (`relationships: [kea-pair]`) is the same as
// `relationship: kea-pair`. The map of server-name to name of earlier
// versions (`relationships: {hub-site1: site1-pair}`) is still read, with a
// deprecation warning (Config.Warnings).
type KeaRelationships map[string]string

// keaRelationship is one entry of the list form.
type keaRelationship struct {
	Name       string `yaml:"name"`
	ServerName string `yaml:"server_name"`
}

var typeOfKeaRelationship = reflect.TypeOf(keaRelationship{})

// singleKeaRelationship is the key of a bare name in the list form: the
// server's one relationship, whatever server-name it reports.
const singleKeaRelationship = ""

// UnmarshalYAML implements yaml.Unmarshaler: the list form, or the map of
// earlier versions.
func (r *KeaRelationships) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		if err := n.Decode(&m); err != nil {
			return err
		}
		*r = m
		return nil
	case yaml.SequenceNode:
	default:
		return fmt.Errorf("line %d: field relationships: want a list of names, or of {name: <label>, server_name: <server-name>}", n.Line)
	}
	out := KeaRelationships{}
	for _, item := range n.Content {
		var e keaRelationship
		switch item.Kind {
		case yaml.ScalarNode:
			e.Name = item.Value
			if len(n.Content) > 1 {
				return fmt.Errorf("line %d: field relationships: %q has no server_name: a server with several relationships names each with {name: <label>, server_name: <server-name>}", item.Line, item.Value)
			}
		case yaml.MappingNode:
			if err := checkNode(item, typeOfKeaRelationship); err != nil {
				return fmt.Errorf("field relationships: %w", err)
			}
			if err := item.Decode(&e); err != nil {
				return err
			}
			if e.ServerName == "" {
				return fmt.Errorf("line %d: field relationships: %q: field server_name is required in a mapping entry", item.Line, e.Name)
			}
		default:
			return fmt.Errorf("line %d: field relationships: an entry must be a name or {name: <label>, server_name: <server-name>}", item.Line)
		}
		if _, dup := out[e.ServerName]; dup {
			return fmt.Errorf("line %d: field relationships: server_name %q given twice", item.Line, e.ServerName)
		}
		if e.Name == "" {
			return fmt.Errorf("line %d: field relationships: %s: empty name", item.Line, e.ServerName)
		}
		out[e.ServerName] = e.Name
	}
	*r = out
	return nil
}

// MarshalYAML renders the list form, sorted by server-name.
func (r KeaRelationships) MarshalYAML() (any, error) {
	if len(r) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]keaRelationship, 0, len(keys))
	for _, k := range keys {
		out = append(out, keaRelationship{Name: r[k], ServerName: k})
	}
	return out, nil
}

// deprecations implements deprecator: the map form of relationships.
func (k *Kea) deprecations(n *yaml.Node) []string {
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "relationships" && n.Content[i+1].Kind == yaml.MappingNode {
			out = append(out, fmt.Sprintf("line %d: field relationships: a map of server-name to name is deprecated; write a list, as for every source: relationships: [{name: <label>, server_name: <server-name>}, ...]", n.Content[i].Line))
		}
	}
	return out
}

// singleRelationship turns a list of one bare name into Relationship
// (with both given, Validate says to give only one).
func (k *Kea) singleRelationship() {
	if name, ok := k.Relationships[singleKeaRelationship]; ok && len(k.Relationships) == 1 && k.Relationship == "" {
		k.Relationship, k.Relationships = name, nil
	}
}
