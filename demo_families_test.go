package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
)

// contractFamilies are the metric names docs/metrics.md spells in
// backticks: every family of the contract and of the source-specific
// metrics, and the exporter's own.
func contractFamilies(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile("`[^`]*`").FindAll(doc, -1) {
		for _, name := range regexp.MustCompile(`\bdhcp_failover_[a-z0-9_]*[a-z0-9]\b`).FindAllString(string(m), -1) {
			seen[name] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	// A parser that found few names would make the test pass on nothing.
	if len(names) < 50 {
		t.Fatalf("found %d metric names in docs/metrics.md, want at least 50: %v", len(names), names)
	}
	return names
}

// TestDemoEmitsEveryFamily: a scrape of --demo holds every family that
// docs/metrics.md names (docs/simulated.md says which simulated or
// emulated server emits which), within seconds of the start.
func TestDemoEmitsEveryFamily(t *testing.T) {
	want := contractFamilies(t)
	// The shortest cycle: the PARTNER_DOWN families exist only while a
	// pair is in that state, and of a cycle the two pairs (half a cycle
	// apart, docs/simulated.md) leave at most a fifth with neither there:
	// 4 s of 20, within the deadline below.
	_, srv := demoServer(t, config.MinSimulatedCycle)
	typeLine := regexp.MustCompile(`(?m)^# TYPE (\S+) `)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, m := range typeLine.FindAllSubmatch(body, -1) {
			have = append(have, string(m[1]))
		}
		var missing []string
		for _, n := range want {
			if !slices.Contains(have, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo does not emit %d families of docs/metrics.md: %v", len(missing), missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
