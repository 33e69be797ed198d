// Package config reads the exporter's YAML configuration: the targets to
// poll, each with its source and that source's own settings. Decoding is
// strict (unknown keys are errors), defaults live beside the types, and
// every validation error names the target and the field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Defaults for every target; a source may not change them.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultTimeout      = 5 * time.Second
	// MinDefaultDownGrace is the least default down_grace: long enough to
	// ride out a failed poll or two at DefaultPollInterval, and longer
	// than the shipped DHCPFailoverTargetDown `for:`, so that a target
	// that stays down pages as down before its state alerts resolve.
	MinDefaultDownGrace = 2 * time.Minute
	// DownGraceIntervals is the default down_grace in poll intervals,
	// when that is longer than MinDefaultDownGrace.
	DownGraceIntervals = 3
	// MaxFileSize bounds a configuration file (and files it names, such as
	// secret files): a config is small, anything bigger is a mistake.
	MaxFileSize = 4 << 20
)

// Config is the whole configuration file.
type Config struct {
	Targets []Target `yaml:"targets"`
}

// Target is one polled server: the fields every source shares, and the
// source's own settings in Settings.
type Target struct {
	Name         string
	Source       string
	PollInterval time.Duration
	Timeout      time.Duration
	// DownGrace is how long a target's relationship series stay, with
	// the values of its last successful poll, after its polls start to
	// fail (dhcp_failover_up is 0 meanwhile); after it they are absent.
	// Default DefaultDownGrace(PollInterval).
	DownGrace time.Duration
	// Settings is the source's own part of the target, of the type the
	// source registered (for example *OMAPI); never nil after decoding.
	Settings SourceSettings

	warnings []string // deprecated forms found while decoding
	line     int      // of the target in its file; 0 if not decoded from one
}

// deprecator is implemented by settings that still read a deprecated
// form: it names each one found in the target's node.
type deprecator interface {
	deprecations(n *yaml.Node) []string
}

// Warnings lists the deprecated forms the configuration uses, each naming
// its target and line; the exporter logs them and --config.check prints
// them.
func (c *Config) Warnings() []string {
	var out []string
	for _, t := range c.Targets {
		out = append(out, t.warnings...)
	}
	return out
}

// SourceSettings is the part of a target that belongs to its source.
type SourceSettings interface {
	// Validate checks the settings once decoded; the error names the
	// field, the caller adds the target.
	Validate() error
}

// SourceSettingsDefaulter is implemented by settings that need defaults
// derived after decoding (a default port added to an address...).
type SourceSettingsDefaulter interface {
	SetDefaults()
}

var sources = map[string]func() SourceSettings{}

// RegisterSource makes a source name valid in a config file, with the type
// of its settings. Each source file of this package calls it from init.
func RegisterSource(name string, settings func() SourceSettings) {
	if _, dup := sources[name]; dup {
		panic("config: source registered twice: " + name)
	}
	sources[name] = settings
}

// Sources lists the registered source names, sorted.
func Sources() []string {
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// commonKeys are the target keys decoded into Target itself.
var commonKeys = map[string]bool{"name": true, "source": true, "poll_interval": true, "timeout": true, "down_grace": true}

// UnmarshalYAML splits a target into its common keys and its source's keys,
// and decodes the latter strictly into the type the source registered.
//
// Its errors are *yaml.TypeError: yaml.v3 then goes on with the next
// target and reports every target's error at once, instead of stopping at
// the first (an operator fixing a file should not need a run per error).
func (t *Target) UnmarshalYAML(node *yaml.Node) error {
	if err := t.unmarshalYAML(node); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return err
		}
		return &yaml.TypeError{Errors: []string{err.Error()}}
	}
	return nil
}

func (t *Target) unmarshalYAML(node *yaml.Node) error {
	t.line = node.Line
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a target must be a mapping", node.Line)
	}
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: node.Line, Column: node.Column}
	var interval, timeout, grace model.Duration
	var common []*yaml.Node
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if commonKeys[k.Value] {
			common = append(common, k, v)
		} else {
			rest.Content = append(rest.Content, k, v)
		}
	}
	// The name first, so that every later error can name the target.
	for i := 0; i < len(common); i += 2 {
		if common[i].Value == "name" {
			if err := common[i+1].Decode(&t.Name); err != nil {
				return fmt.Errorf("line %d: field name: %w", common[i].Line, err)
			}
		}
	}
	if t.Name == "" {
		return fmt.Errorf("line %d: target: field name is required", node.Line)
	}
	where := targetRef(t.Name, node.Line)
	for i := 0; i < len(common); i += 2 {
		k, v := common[i], common[i+1]
		var err error
		switch k.Value {
		case "source":
			err = v.Decode(&t.Source)
		case "poll_interval":
			err = v.Decode(&interval)
		case "timeout":
			err = v.Decode(&timeout)
		case "down_grace":
			err = v.Decode(&grace)
		}
		if err != nil {
			return fmt.Errorf("%s: line %d: field %s: %w", where, k.Line, k.Value, err)
		}
	}
	t.PollInterval = time.Duration(interval)
	t.Timeout = time.Duration(timeout)
	t.DownGrace = time.Duration(grace)
	if t.Source == "" {
		return fmt.Errorf("%s: field source is required (one of %s)", where, strings.Join(Sources(), ", "))
	}
	newSettings, ok := sources[t.Source]
	if !ok {
		return fmt.Errorf("%s: unknown source %q (one of %s)", where, t.Source, strings.Join(Sources(), ", "))
	}
	t.Settings = newSettings()
	if err := checkKnownFields(rest, t.Settings); err != nil {
		return fmt.Errorf("%s: %w (source %s)", where, err, t.Source)
	}
	if err := rest.Decode(t.Settings); err != nil {
		// A type error keeps the target in its text: plainYAMLError
		// rebuilds a *yaml.TypeError from its own lines only.
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: %s", where, strings.Join(plainTypeErrors(te), "; "))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	if d, ok := t.Settings.(deprecator); ok {
		for _, w := range d.deprecations(rest) {
			t.warnings = append(t.warnings, where+": "+w)
		}
	}
	return nil
}

func targetRef(name string, line int) string {
	if name == "" {
		return fmt.Sprintf("target at line %d", line)
	}
	return fmt.Sprintf("target %q", name)
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, prefixErrors(path, err)
	}
	return c, nil
}

// prefixErrors puts the file's name before each of the errors err joins
// (one per target at fault), so that every printed line names the file.
func prefixErrors(path string, err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for _, e := range j.Unwrap() {
		errs = append(errs, fmt.Errorf("%s: %w", path, e))
	}
	return errors.Join(errs...)
}

// ErrorList returns the errors that err joins (those of Load, Parse and
// Validate: one per fault found), or err alone.
func ErrorList(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Parse decodes and validates a configuration held in memory.
func Parse(b []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var errs []error
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, plainYAMLError(err) // a syntax error: nothing more to check
		}
		// The targets that decoded are still validated, for their
		// errors to be reported at once with the decoding errors.
		for _, m := range plainTypeErrors(te) {
			errs = append(errs, errors.New(m))
		}
	}
	errs = append(errs, ErrorList(c.Validate())...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// plainYAMLError rewrites yaml.v3's "field X not found in type
// config.Config" (a Go type name means nothing to an operator) as
// `unknown field "X"`, keeping the line.
func plainYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	return errors.New(strings.Join(plainTypeErrors(te), "; "))
}

// plainTypeErrors is the lines of a type error in an operator's words: no
// Go type names.
func plainTypeErrors(te *yaml.TypeError) []string {
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if pre, rest, ok := strings.Cut(m, ": field "); ok {
			if field, _, ok := strings.Cut(rest, " not found in type "); ok {
				m = fmt.Sprintf("%s: unknown field %q", pre, field)
			}
		}
		if pre, got, ok := strings.Cut(m, ": cannot unmarshal "); ok {
			if got, goType, ok := strings.Cut(got, " into "); ok {
				m = fmt.Sprintf("%s: %s is not %s", pre, plainYAMLValue(got), plainGoType(goType))
			}
		}
		msgs[i] = m
	}
	return msgs
}

// plainYAMLValue turns yaml.v3's "!!str `x`" into "`x`", and "!!seq" or
// "!!map" into what they are.
func plainYAMLValue(v string) string {
	tag, value, ok := strings.Cut(v, " ")
	switch {
	case ok:
		return value
	case tag == "!!seq":
		return "a list"
	case tag == "!!map":
		return "a mapping"
	}
	return strings.TrimPrefix(tag, "!!")
}

// plainGoType names a Go type of a settings field as YAML would.
func plainGoType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "a mapping"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case t == "uint8":
		return "a number from 0 to 255"
	case t == "uint16":
		return "a number from 0 to 65535"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a number"
	}
	return "of type " + t
}

// Validate fills defaults and checks every target; the error joins one
// error per target at fault (ErrorList splits them), each naming the
// target and, for a target read from a file, its line.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	var errs []error
	for i := range c.Targets {
		t := &c.Targets[i]
		for _, err := range ErrorList(t.Validate()) {
			errs = append(errs, t.withLine(err))
		}
		if seen[t.Name] {
			errs = append(errs, t.withLine(fmt.Errorf("target %q: field name: duplicate target name", t.Name)))
		}
		seen[t.Name] = true
	}
	return errors.Join(errs...)
}

// withLine adds the target's line to an error that names no line yet,
// at its end (`target "a": field x: ... (line 3)`), so that the message
// still begins with the target and the field.
func (t *Target) withLine(err error) error {
	if t.line == 0 || strings.Contains(err.Error(), "line ") {
		return err
	}
	return fmt.Errorf("%w (line %d)", err, t.line)
}

// Validate fills a target's defaults and checks it, naming target and field.
func (t *Target) Validate() error {
	if t.Name == "" {
		return errors.New("target: field name is required")
	}
	if !validLabelValue(t.Name) {
		return fmt.Errorf("target %q: field name: must be printable ASCII without spaces", t.Name)
	}
	if t.PollInterval == 0 {
		t.PollInterval = DefaultPollInterval
	}
	if t.Timeout == 0 {
		// The default never exceeds the interval: a target with only
		// `poll_interval: 1s` is valid as written.
		t.Timeout = min(DefaultTimeout, t.PollInterval)
	}
	if t.PollInterval < 0 || t.PollInterval < time.Second {
		return fmt.Errorf("target %q: field poll_interval: must be at least 1s", t.Name)
	}
	if t.Timeout < 0 {
		return fmt.Errorf("target %q: field timeout: must be positive", t.Name)
	}
	if t.Timeout > t.PollInterval {
		return fmt.Errorf("target %q: field timeout: %s is longer than poll_interval %s", t.Name, t.Timeout, t.PollInterval)
	}
	if t.DownGrace == 0 {
		t.DownGrace = DefaultDownGrace(t.PollInterval)
	}
	if t.DownGrace < t.PollInterval {
		return fmt.Errorf("target %q: field down_grace: %s is shorter than poll_interval %s (it would not ride out one failed poll)", t.Name, t.DownGrace, t.PollInterval)
	}
	if t.Settings == nil {
		f, ok := sources[t.Source]
		if !ok {
			return fmt.Errorf("target %q: unknown source %q (one of %s)", t.Name, t.Source, strings.Join(Sources(), ", "))
		}
		t.Settings = f()
	}
	if d, ok := t.Settings.(SourceSettingsDefaulter); ok {
		d.SetDefaults()
	}
	if err := expandCredentialPaths(t.Settings); err != nil {
		return fmt.Errorf("target %q: %w", t.Name, err)
	}
	if err := t.Settings.Validate(); err != nil {
		// A source may report several faults at once (each missing
		// file): each becomes an error of its own, naming the target.
		var errs []error
		for _, e := range ErrorList(err) {
			errs = append(errs, fmt.Errorf("target %q: %w", t.Name, e))
		}
		return errors.Join(errs...)
	}
	return nil
}

// DefaultDownGrace is a target's down_grace when none is configured:
// DownGraceIntervals poll intervals, at least MinDefaultDownGrace.
func DefaultDownGrace(pollInterval time.Duration) time.Duration {
	return max(MinDefaultDownGrace, DownGraceIntervals*pollInterval)
}

func validLabelValue(s string) bool {
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}
