package integration

// What the ISC, Kea and peer tests share: the exporter binary running in a
// lab namespace, its /metrics parsed into a map, polling, random secrets.

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// exporterPort is where the exporter listens in its namespace.
const exporterPort = 9647

// waitFor polls f every 200 ms until it returns nil, and fails the test
// with f's last error once timeout has passed.
func waitFor(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %s for %s: %v", timeout, what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// randomSecret makes a fresh secret for each run (32 random bytes, base64:
// an OMAPI key's secret, and good for a password too), so that finding it
// in /metrics or a log means it leaked from this run's configuration.
func randomSecret(t testing.TB) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// writeFile writes data to path or fails the test.
func writeFile(t testing.TB, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

// exporter is the exporter binary running in a lab namespace. Its output
// goes to a log whose tail netnstest prints if the test fails.
type exporter struct {
	t    testing.TB
	Host *netnstest.Host
	Proc *netnstest.Proc
	url  string
}

// startExporter writes config (a whole exporter YAML) and runs the
// exporter in h's namespace on h's address, logging at debug level (every
// failed poll with its error: the secret tests read that log). It returns
// once /metrics answers.
func startExporter(t testing.TB, h *netnstest.Host, config string) *exporter {
	t.Helper()
	bin := netnstest.BuildExporter(t)
	path := filepath.Join(t.TempDir(), "exporter.yml")
	writeFile(t, path, config, 0o600)
	addr := fmt.Sprintf("%s:%d", h.Addr, exporterPort)
	e := &exporter{t: t, Host: h, url: "http://" + addr + "/metrics"}
	// Registered before Start, so it runs after Start's cleanup has
	// stopped the exporter and its whole log is written: a race-built
	// exporter (go test -race) reports races there and carries on, so
	// the test must fail on them.
	t.Cleanup(func() {
		if e.Proc == nil {
			return
		}
		if r := netnstest.RaceReport(e.Proc.Log()); r != "" {
			t.Errorf("the exporter reported a data race (log %s):\n%s", e.Proc.LogPath, r)
		}
	})
	e.Proc = h.Start(t, "exporter", bin, "--config.file="+path, "--web.listen-address="+addr, "--log.level=debug")
	waitFor(t, 15*time.Second, "the exporter's /metrics", func() error {
		if e.Proc.Exited() {
			t.Fatalf("exporter exited:\n%s", e.Proc.Log())
		}
		_, _, err := e.scrape()
		return err
	})
	return e
}

// metrics maps a series as exposed (`name{a="x",b="y"}`, labels sorted,
// or `name` without labels) to its value.
type metrics map[string]float64

// scrape GETs /metrics (from inside the exporter's namespace) and returns
// it parsed, and as text.
func (e *exporter) scrape() (metrics, string, error) {
	resp, err := e.Host.HTTPClient().Get(e.url)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	m := metrics{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, string(b), nil
}

// Scrape returns the current metrics and how long the scrape took; it
// fails the test if /metrics does not answer.
func (e *exporter) Scrape() (metrics, time.Duration) {
	e.t.Helper()
	start := time.Now()
	m, _, err := e.scrape()
	if err != nil {
		e.t.Fatal(err)
	}
	return m, time.Since(start)
}

// Wait polls /metrics until cond holds and returns those metrics.
func (e *exporter) Wait(timeout time.Duration, what string, cond func(metrics) error) metrics {
	e.t.Helper()
	var last metrics
	waitFor(e.t, timeout, what, func() error {
		m, _, err := e.scrape()
		if err != nil {
			return err
		}
		last = m
		return cond(m)
	})
	return last
}

// WaitMetric waits until series is present with value want.
func (e *exporter) WaitMetric(series string, want float64, timeout time.Duration) metrics {
	e.t.Helper()
	return e.Wait(timeout, series+" = "+strconv.FormatFloat(want, 'g', -1, 64), func(m metrics) error {
		if v, ok := m[series]; !ok || v != want {
			return fmt.Errorf("%s is %v (present %v)", series, v, ok)
		}
		return nil
	})
}

// WaitAtLeast waits until every series is present with at least its
// minimum.
func (e *exporter) WaitAtLeast(timeout time.Duration, min map[string]float64) metrics {
	e.t.Helper()
	return e.Wait(timeout, fmt.Sprintf("%d series to reach their minimum", len(min)), func(m metrics) error {
		for s, v := range min {
			if got, ok := m[s]; !ok || got < v {
				return fmt.Errorf("%s = %v (present %v), want >= %v", s, got, ok, v)
			}
		}
		return nil
	})
}

// Get returns the value of series(name, kv...), NaN if absent. A whole
// series (`name{...}`) can be passed as name, without kv.
func (m metrics) Get(name string, kv ...string) float64 {
	if v, ok := m[series(name, kv...)]; ok {
		return v
	}
	return math.NaN()
}

// Sum adds the series of name whose labels include kv (an empty value
// matches any).
func (m metrics) Sum(name string, kv ...string) float64 {
	sum := 0.0
	for s, v := range m {
		if !strings.HasPrefix(s, name+"{") {
			continue
		}
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" && !strings.Contains(s, fmt.Sprintf("%s=%q", kv[i], kv[i+1])) {
				match = false
				break
			}
		}
		if match {
			sum += v
		}
	}
	return sum
}

// State returns the FSM_STATE of one side of a target, "" if none is 1.
func (m metrics) State(target, side string) string {
	for s, v := range m {
		if v == 1 && strings.HasPrefix(s, "dhcp_failover_state{") &&
			strings.Contains(s, fmt.Sprintf("side=%q", side)) && strings.Contains(s, fmt.Sprintf("target=%q", target)) {
			return label(s, "state")
		}
	}
	return ""
}

// label returns the value of label name in series s, "" if it has none.
func label(s, name string) string {
	i := strings.Index(s, name+`="`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

// series builds `name{k="v",...}` with labels sorted, as the exposition
// format prints them; without labels, just name.
func series(name string, kv ...string) string {
	if len(kv) < 2 {
		return name
	}
	type pair struct{ k, v string }
	var ps []pair
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, pair{kv[i], kv[i+1]})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].k < ps[j].k })
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s=%q", p.k, p.v)
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}
