package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// expectedError reads the "# error: ..." header of an invalid-*.yml file;
// continuation lines start with "#   ".
func expectedError(t *testing.T, b []byte) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, "# error: "):
			lines = append(lines, strings.TrimPrefix(l, "# error: "))
		case len(lines) > 0 && strings.HasPrefix(l, "#   "):
			lines = append(lines, strings.TrimPrefix(l, "# "))
		default:
			if len(lines) == 0 {
				t.Fatal("invalid-*.yml must start with '# error: <exact error>'")
			}
			return strings.Join(lines, "\n")
		}
	}
	return strings.Join(lines, "\n")
}

func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/invalid-*.yml: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedError(t, b)
			_, err = Load(f)
			if err == nil {
				t.Fatalf("loaded without error, want %q", want)
			}
			if got := strings.TrimPrefix(err.Error(), f+": "); got != want {
				t.Fatalf("error:\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestValidConfigDefaults(t *testing.T) {
	c, err := Load("testdata/valid-demo.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 2 {
		t.Fatalf("targets = %d", len(c.Targets))
	}
	a, b := c.Targets[0], c.Targets[1]
	if a.PollInterval != DefaultPollInterval || a.Timeout != DefaultTimeout {
		t.Errorf("defaults not applied: %v %v", a.PollInterval, a.Timeout)
	}
	if b.PollInterval != 30*time.Second || b.Timeout != 2*time.Second {
		t.Errorf("explicit values lost: %v %v", b.PollInterval, b.Timeout)
	}
	// down_grace: max(2m, 3 × poll_interval) unless set.
	if a.DownGrace != 2*time.Minute || b.DownGrace != 2*time.Minute {
		t.Errorf("down_grace defaults: %v %v, want 2m (3 × 10s and 3 × 30s are shorter)", a.DownGrace, b.DownGrace)
	}
	if g := DefaultDownGrace(time.Minute); g != 3*time.Minute {
		t.Errorf("DefaultDownGrace(1m) = %v, want 3m", g)
	}
	if a.Settings == nil || a.Source != "simulated" {
		t.Errorf("settings not decoded: %#v", a)
	}
	// The config renders back to YAML that loads again.
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(out); err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
}

func TestDownGraceExplicit(t *testing.T) {
	c, err := Parse([]byte("targets:\n  - {name: a, source: simulated, pair: p, server: a, poll_interval: 1s, timeout: 1s, down_grace: 45s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Targets[0].DownGrace; g != 45*time.Second {
		t.Fatalf("down_grace = %v, want 45s", g)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "down_grace: 45s") {
		t.Fatalf("rendered config lacks down_grace:\n%s", out)
	}
}

func TestEmptyConfigIsValid(t *testing.T) {
	c, err := Parse(nil)
	if err != nil || len(c.Targets) != 0 {
		t.Fatalf("Parse(nil) = %v, %v", c, err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "3lHQ/zMKZHjSve7RGyTmGyj1PGXFqMwJ/Lbp3ZkvCFg="
	s := Secret(value)
	type holder struct {
		Key Secret `yaml:"key" json:"key"`
	}
	h := holder{Key: s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T %v", "%10s"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(h), s.String())
	y, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(y), string(j), fmt.Errorf("wrapped: %v", s).Error())
	for _, o := range outs {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) {
			t.Fatalf("secret leaked: %q", o)
		}
	}
	if s.Value() != value {
		t.Fatal("Value() must return the secret")
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ReadSecretFile(p)
	if err != nil || s.Value() != "s3cret" {
		t.Fatalf("ReadSecretFile = %q, %v", s.Value(), err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 70<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecretFile(big); err == nil {
		t.Fatal("want an error for a 70 KiB secret file")
	}
}

func TestTargetFromParams(t *testing.T) {
	tg, err := TargetFromParams("simulated", map[string][]string{"pair": {"p"}, "server": {"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "p" || tg.Source != "simulated" || tg.Timeout != DefaultTimeout {
		t.Fatalf("target = %+v", tg)
	}
	for _, bad := range []map[string][]string{
		{"pair": {"p"}, "server": {"c"}},             // invalid value
		{"pair": {"p"}, "server": {"a"}, "x": {"1"}}, // unknown key
	} {
		if _, err := TargetFromParams("simulated", bad); err == nil {
			t.Errorf("TargetFromParams(%v) succeeded", bad)
		}
	}
	for _, local := range []string{"leases", "peer"} {
		if _, err := TargetFromParams(local, map[string][]string{"path": {"/etc/shadow"}}); err == nil || !strings.Contains(err.Error(), "cannot be probed ad hoc") {
			t.Errorf("ad-hoc %s probe: %v", local, err)
		}
	}
	if _, err := TargetFromParams("nope", nil); err == nil {
		t.Error("unknown source accepted")
	}
}

// A target that sets only a short poll_interval is valid: the default
// timeout is cut to the interval.
func TestDefaultTimeoutWithinShortInterval(t *testing.T) {
	c, err := Parse([]byte("targets:\n  - {name: s, source: simulated, pair: p, server: a, poll_interval: 1s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Targets[0].Timeout; got != time.Second {
		t.Errorf("timeout = %v, want 1s", got)
	}
}
