package e2e

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

var stateLine = regexp.MustCompile(`^dhcp_failover_state\{relationship="([^"]+)",side="([^"]+)",state="([^"]+)",target="([^"]+)"\} (\S+)$`)

// checkStateSet asserts that every (target, relationship, side) has its 14
// state series with exactly one at 1.
func checkStateSet(t *testing.T, body string) int {
	t.Helper()
	count := map[string]int{}
	ones := map[string]int{}
	for _, l := range strings.Split(body, "\n") {
		m := stateLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		k := m[4] + "/" + m[1] + "/" + m[2]
		count[k]++
		if m[5] == "1" {
			ones[k]++
		} else if m[5] != "0" {
			t.Fatalf("state series with value %s: %s", m[5], l)
		}
	}
	for k, n := range count {
		if n != 14 || ones[k] != 1 {
			t.Fatalf("%s: %d state series, %d at 1 (want 14 and 1)", k, n, ones[k])
		}
	}
	return len(count)
}

// The demo (docs/simulated.md), run by the real binary: with a 20 s cycle, within 50 s the demo
// shows NORMAL→COMMUNICATION_INT, COMMUNICATION_INT→PARTNER_DOWN and a
// transition back to NORMAL, and every scrape has a well-formed state set.
func TestDemoCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time demo cycle (50 s at most) skipped in -short mode")
	}
	exporter := start(t, "exporter", netnstest.BuildExporter(t), "--demo", "--demo.cycle=20s", "--web.listen-address=127.0.0.1:0")
	addr := listenAddr(t, exporter, 30*time.Second)
	waitHTTP(t, exporter, "http://"+addr+"/metrics", 30*time.Second)
	want := map[string]*regexp.Regexp{
		"NORMAL→COMMUNICATION_INT":       regexp.MustCompile(`dhcp_failover_state_transitions_total\{from="NORMAL",.*to="COMMUNICATION_INT"\} [1-9]`),
		"COMMUNICATION_INT→PARTNER_DOWN": regexp.MustCompile(`dhcp_failover_state_transitions_total\{from="COMMUNICATION_INT",.*to="PARTNER_DOWN"\} [1-9]`),
		"→NORMAL":                        regexp.MustCompile(`dhcp_failover_state_transitions_total\{from="[A-Z_]+",.*to="NORMAL"\} [1-9]`),
	}
	deadline := time.Now().Add(50 * time.Second)
	for {
		body := scrape(t, "http://"+addr+"/metrics")
		if n := checkStateSet(t, body); n == 0 {
			t.Fatal("no state series in the demo scrape")
		}
		for name, re := range want {
			if re.MatchString(body) {
				delete(want, name)
			}
		}
		if len(want) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 50 s, transitions not seen: %v", want)
		}
		time.Sleep(time.Second)
	}
}

// scrape returns the body of a GET of u.
func scrape(t *testing.T, u string) string {
	t.Helper()
	resp, err := httpClient.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
