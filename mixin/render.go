// Package mixin renders the monitoring mixin (mixin.libsonnet) with
// go-jsonnet: its rule groups as Prometheus rule files and its Grafana
// dashboards. The committed alerts/*.rules.yml are its output
// (`go run ./mixin/gen`); the package's tests fail when they are stale.
package mixin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-jsonnet"
	"go.yaml.in/yaml/v3"
)

// Header starts every generated rule file.
const Header = `# Generated from the monitoring mixin (mixin/) by ` + "`go run ./mixin/gen`" + `: do not edit.
# Change mixin/alerts/*.libsonnet, or override _config (docs/alerts.md).
# What each alert means: docs/alerts.md; what to do: docs/runbook.md.
`

// group and rule are the fields of a Prometheus rule file, in the order
// they are written. Unknown fields in the mixin's output are an error.
type group struct {
	Name     string `json:"name" yaml:"name"`
	Interval string `json:"interval,omitempty" yaml:"interval,omitempty"`
	Limit    int    `json:"limit,omitempty" yaml:"limit,omitempty"`
	Rules    []rule `json:"rules" yaml:"rules"`
}

type rule struct {
	Alert         string     `json:"alert,omitempty" yaml:"alert,omitempty"`
	Record        string     `json:"record,omitempty" yaml:"record,omitempty"`
	Expr          string     `json:"expr" yaml:"expr"`
	For           string     `json:"for,omitempty" yaml:"for,omitempty"`
	KeepFiringFor string     `json:"keep_firing_for,omitempty" yaml:"keep_firing_for,omitempty"`
	Labels        orderedMap `json:"labels,omitempty" yaml:"labels,omitempty"`
	Annotations   orderedMap `json:"annotations,omitempty" yaml:"annotations,omitempty"`
}

// orderedMap is written with the keys a reader looks for first (severity;
// summary, description, runbook_url) ahead of the others, which are sorted.
type orderedMap map[string]string

var firstKeys = []string{"severity", "summary", "description", "runbook_url"}

func (m orderedMap) MarshalYAML() (any, error) {
	var keys []string
	for _, k := range firstKeys {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range m {
		if !slices.Contains(firstKeys, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, k := range append(keys, rest...) {
		n.Content = append(n.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Value: k},
			&yaml.Node{Kind: yaml.ScalarNode, Value: m[k]})
	}
	return n, nil
}

// evaluate returns field of the mixin at entry as JSON.
func evaluate(entry, field string) ([]byte, error) {
	abs, err := filepath.Abs(entry)
	if err != nil {
		return nil, err
	}
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{})
	// A field the mixin lacks (ruleFiles is optional) evaluates to {}.
	out, err := vm.EvaluateAnonymousSnippet(filepath.Join(filepath.Dir(abs), "render.jsonnet"),
		fmt.Sprintf("local m = import %q; if std.objectHasAll(m, %q) then m[%q] else {}", abs, field, field))
	if err != nil {
		return nil, err
	}
	return []byte(out), nil
}

// RuleFiles renders the prometheusAlerts of the mixin at entry (a
// .libsonnet or .jsonnet file): one rule file per group, named
// "<group name>.rules.yml" unless the mixin's hidden field ruleFiles maps
// the group's name to another file name.
func RuleFiles(entry string) (map[string][]byte, error) {
	raw, err := evaluate(entry, "prometheusAlerts")
	if err != nil {
		return nil, err
	}
	var alerts struct {
		Groups []group `json:"groups"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&alerts); err != nil {
		return nil, fmt.Errorf("prometheusAlerts: %w", err)
	}
	rawNames, err := evaluate(entry, "ruleFiles")
	if err != nil {
		return nil, err
	}
	var fileNames map[string]string
	if err := json.Unmarshal(rawNames, &fileNames); err != nil {
		return nil, fmt.Errorf("ruleFiles: %w", err)
	}
	files := map[string][]byte{}
	for _, g := range alerts.Groups {
		name, ok := fileNames[g.Name]
		if !ok {
			name = g.Name + ".rules.yml"
		}
		if g.Name == "" || filepath.Base(name) != name || !strings.HasSuffix(name, ".yml") {
			return nil, fmt.Errorf("prometheusAlerts: group %q cannot be written to file %q", g.Name, name)
		}
		if _, dup := files[name]; dup {
			return nil, fmt.Errorf("prometheusAlerts: two groups for file %q", name)
		}
		var buf bytes.Buffer
		buf.WriteString(Header)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(struct {
			Groups []group `yaml:"groups"`
		}{[]group{g}}); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
		files[name] = buf.Bytes()
	}
	return files, nil
}

// Dashboards renders the grafanaDashboards of the mixin at entry: file
// name to indented JSON.
func Dashboards(entry string) (map[string][]byte, error) {
	raw, err := evaluate(entry, "grafanaDashboards")
	if err != nil {
		return nil, err
	}
	var ds map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ds); err != nil {
		return nil, fmt.Errorf("grafanaDashboards: %w", err)
	}
	out := map[string][]byte{}
	for name, d := range ds {
		var buf bytes.Buffer
		if err := json.Indent(&buf, d, "", "  "); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		out[name] = buf.Bytes()
	}
	return out, nil
}

// Names returns the keys of m, sorted.
func Names(m map[string][]byte) []string {
	var names []string
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
