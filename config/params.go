package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// TargetFromParams builds an ad-hoc target from URL query parameters (the
// /probe endpoint): every parameter is a key of the source's settings, a
// list key takes repeated or comma-separated values. Nested keys (an OMAPI
// key, TLS or basic auth settings) do not fit in a query: such servers must
// be configured targets. `name` sets the target label (default: the
// address, url, socket, path or interface given).
func TargetFromParams(source string, params map[string][]string) (Target, error) {
	if why, ok := noAdhoc[source]; ok {
		return Target{}, fmt.Errorf("source %s cannot be probed ad hoc: it %s; configure a target", source, why)
	}
	newSettings, ok := sources[source]
	if !ok {
		return Target{}, fmt.Errorf("unknown source %q (one of %s)", source, strings.Join(Sources(), ", "))
	}
	t := Target{Source: source, Settings: newSettings()}
	fields := yamlFields(reflect.TypeOf(t.Settings).Elem())
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for k, vs := range params {
		switch k {
		case "name":
			t.Name = strings.Join(vs, ",")
			continue
		case "poll_interval", "timeout", "down_grace", "target":
			continue // the probe's own budget comes from Prometheus
		}
		if why, local := noAdhocKeys[k]; local {
			return Target{}, fmt.Errorf("source %s: parameter %q cannot be given ad hoc: it %s; configure a target", source, k, why)
		}
		ft, ok := fields[k]
		if !ok {
			return Target{}, fmt.Errorf("source %s: unknown parameter %q", source, k)
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: k}
		switch kind := ft.Kind(); {
		case kind == reflect.Slice:
			seq := &yaml.Node{Kind: yaml.SequenceNode}
			for _, v := range vs {
				for _, p := range strings.Split(v, ",") {
					seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p})
				}
			}
			m.Content = append(m.Content, key, seq)
		case kind == reflect.Struct || kind == reflect.Map || kind == reflect.Pointer:
			return Target{}, fmt.Errorf("source %s: parameter %q does not fit in a query; configure a target", source, k)
		default:
			m.Content = append(m.Content, key, &yaml.Node{Kind: yaml.ScalarNode, Value: vs[len(vs)-1]})
		}
	}
	if err := m.Decode(t.Settings); err != nil {
		return Target{}, fmt.Errorf("source %s: %w", source, err)
	}
	if t.Name == "" {
		for _, k := range []string{"address", "url", "socket", "path", "interface", "pcap_file", "pair", "server"} {
			if v := params[k]; len(v) > 0 {
				t.Name = v[0]
				break
			}
		}
	}
	if t.Name == "" {
		t.Name = source
	}
	t.PollInterval = DefaultPollInterval
	if err := t.Validate(); err != nil {
		return Target{}, err
	}
	return t, nil
}

// noAdhoc lists the sources an ad-hoc /probe may not name: they read the
// exporter host's own files or interfaces, which a query string must not
// be able to point anywhere.
var noAdhoc = map[string]string{
	"leases": "reads a file on the exporter's host",
	"peer":   "captures on the exporter's host",
}

// noAdhocKeys are settings no ad-hoc probe may give, whatever the source:
// they point at the exporter host's own files, sockets or interfaces.
var noAdhocKeys = map[string]string{
	"socket":    "names a socket on the exporter's host",
	"path":      "names a file on the exporter's host",
	"pcap_file": "names a file on the exporter's host",
	"interface": "names an interface of the exporter's host",
}

// MarshalYAML renders a target as it is written in a config file, secrets
// masked by their own type.
func (t Target) MarshalYAML() (any, error) {
	n := &yaml.Node{}
	if t.Settings != nil {
		if err := n.Encode(t.Settings); err != nil {
			return nil, err
		}
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k, v string) {
		out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &yaml.Node{Kind: yaml.ScalarNode, Value: v})
	}
	add("name", t.Name)
	add("source", t.Source)
	add("poll_interval", t.PollInterval.String())
	add("timeout", t.Timeout.String())
	add("down_grace", t.DownGrace.String())
	if n.Kind == yaml.MappingNode {
		out.Content = append(out.Content, n.Content...)
	}
	return out, nil
}
