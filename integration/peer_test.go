package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// The peer tap on a real ISC pair: the exporter runs in the primary's
// namespace and captures on its eth0 (AF_PACKET), as it would on the
// primary's host. It is started before the secondary, so that it sees the
// whole conversation from the CONNECT on.

func peerSeries(name string, kv ...string) string {
	return series(name, append([]string{"relationship", iscRelationship, "target", "tap"}, kv...)...)
}

func peerMessages(direction, message string) string {
	return peerSeries("dhcp_failover_peer_messages_total", "direction", direction, "message", message)
}

func TestPeerTapISC(t *testing.T) {
	p := startISCPair(t, iscOptions{NoSecondary: true})
	e := startExporter(t, p.Primary.Host, `targets:
  - name: tap
    source: peer
    interface: eth0
    local_address: 10.251.7.1
    poll_interval: 1s
    timeout: 800ms
`)
	p.StartNode(p.Secondary)
	up := peerSeries("dhcp_failover_peer_connection_up", "local_address", "10.251.7.1", "partner_address", "10.251.7.2")

	// The handshake, STATE NORMAL both ways, CONTACT keepalives.
	e.WaitMetric(up, 1, 60*time.Second)
	m := e.WaitAtLeast(60*time.Second, map[string]float64{
		peerMessages("sent", "CONNECT"):        1,
		peerMessages("received", "CONNECTACK"): 1,
		peerMessages("sent", "STATE"):          1,
		peerMessages("received", "STATE"):      1,
		peerMessages("sent", "CONTACT"):        2,
		peerMessages("received", "CONTACT"):    2,
		series("dhcp_failover_state", "relationship", iscRelationship, "side", "local", "state", "NORMAL", "target", "tap"):   1,
		series("dhcp_failover_state", "relationship", iscRelationship, "side", "partner", "state", "NORMAL", "target", "tap"): 1,
	})
	if v := m.Get(series("dhcp_failover_relationship_info", "mode", "", "relationship", iscRelationship, "role", "primary", "target", "tap", "vendor", "isc")); v != 1 {
		t.Errorf("relationship_info: %v", v)
	}
	if v := m.Get(series("dhcp_failover_communication_interrupted", "relationship", iscRelationship, "target", "tap")); v != 0 {
		t.Errorf("communication_interrupted = %v with the connection up", v)
	}
	contacts := m.Get(peerMessages("sent", "CONTACT"))

	// The secondary dies: the kernel closes its connection, the tap sees
	// the FIN or RST.
	p.KillNode(p.Secondary)
	e.WaitMetric(up, 0, 20*time.Second)
	e.WaitMetric(series("dhcp_failover_communication_interrupted", "relationship", iscRelationship, "target", "tap"), 1, 10*time.Second)

	// The operator forces the primary to partner-down, the secondary comes
	// back: RECOVER, UPDREQALL, the primary's BNDUPDs, UPDDONE.
	p.waitLocalState(p.Primary, iscCommInt, 30*time.Second)
	p.SetLocalState(p.Primary, iscPartnerDown)
	p.waitLocalState(p.Primary, iscPartnerDown, 30*time.Second)
	before := e.WaitAtLeast(5*time.Second, nil)
	p.StartNode(p.Secondary)
	e.WaitMetric(up, 1, 60*time.Second)
	m = e.WaitAtLeast(60*time.Second, map[string]float64{
		peerMessages("sent", "CONNECT"):       2,
		peerMessages("received", "UPDREQALL"): before.Get(peerMessages("received", "UPDREQALL")) + 1,
		peerMessages("sent", "UPDDONE"):       before.Get(peerMessages("sent", "UPDDONE")) + 1,
		peerMessages("sent", "BNDUPD"):        before.Get(peerMessages("sent", "BNDUPD")) + 1,
		peerMessages("received", "BNDACK"):    before.Get(peerMessages("received", "BNDACK")) + 1,
		peerMessages("sent", "CONTACT"):       contacts + 2,
		series("dhcp_failover_state", "relationship", iscRelationship, "side", "local", "state", "PARTNER_DOWN", "target", "tap"): 1,
	})
	for _, s := range []string{peerMessages("sent", "CONNECT"), peerMessages("received", "UPDREQALL"), peerMessages("sent", "BNDUPD"),
		peerMessages("received", "BNDACK"), peerMessages("sent", "UPDDONE"), peerMessages("sent", "CONTACT"), peerMessages("received", "STATE")} {
		t.Logf("%s = %v", s, m.Get(s))
	}
	// The secondary announced RECOVER (after its STARTUP STATE): the
	// agent counted the partner's transitions from the STATEs.
	if n := m.Sum("dhcp_failover_state_transitions_total", "target", "tap", "side", "partner", "to", "RECOVER"); n < 1 {
		t.Errorf("no partner transition to RECOVER counted")
	}
	if v := m.Get(peerSeries("dhcp_failover_peer_pending_updates", "direction", "sent")); v < 0 {
		t.Errorf("pending updates %v", v)
	}
}

// TestPeerTapNeedsCapNetRaw: without CAP_NET_RAW the exporter refuses to
// start and names the capability.
func TestPeerTapNeedsCapNetRaw(t *testing.T) {
	netnstest.Require(t, "setpriv")
	bin := netnstest.BuildExporter(t)
	dir, err := os.MkdirTemp("", "dfe-peer-nocap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "dhcp_failover_exporter")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, exe, string(b), 0o755)
	cfg := filepath.Join(dir, "exporter.yml")
	writeFile(t, cfg, "targets:\n  - name: tap\n    source: peer\n    interface: lo\n    local_address: 127.0.0.1\n", 0o644)
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
		exe, "--config.file="+cfg, "--web.listen-address=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if r := netnstest.RaceReport(string(out)); r != "" {
		t.Errorf("the exporter reported a data race:\n%s", r)
	}
	if err == nil {
		t.Fatalf("exporter started without CAP_NET_RAW:\n%s", out)
	}
	if !strings.Contains(string(out), "CAP_NET_RAW") || !strings.Contains(string(out), `target \"tap\"`) {
		t.Errorf("error does not name the capability and the target:\n%s", out)
	}
}

// TestPeerTapJoinsAndHungPartner: the exporter starts on the primary's
// host while the pair is already NORMAL, so the tap joins an established
// connection (no CONNECT, no STATE: states are announced only on change).
// It reports the connection up within two CONTACT intervals. Then the
// secondary hangs (SIGSTOP: its kernel still accepts TCP, dhcpd says
// nothing): the primary's CONTACTs, then its CONNECT on a new connection,
// go unanswered, and dhcp_failover_peer_unanswered_seconds grows past the
// pair's max-response-delay (5 s) and on. SIGCONT: the secondary speaks
// again, the signal clears and the connection comes back up.
func TestPeerTapJoinsAndHungPartner(t *testing.T) {
	p := startISCPair(t, iscOptions{})
	const contactInterval = time.Second // ISC sends CONTACT every second here (max-response-delay 5)
	e := startExporter(t, p.Primary.Host, `targets:
  - name: tap
    source: peer
    interface: eth0
    local_address: 10.251.7.1
    poll_interval: 1s
    timeout: 800ms
`)
	started := time.Now()
	upSum := func(m metrics) float64 {
		return m.Sum("dhcp_failover_peer_connection_up", "target", "tap", "partner_address", "10.251.7.2")
	}
	// Two CONTACT intervals, plus a scrape's worth under a loaded machine.
	e.Wait(2*contactInterval+2*time.Second, "peer_connection_up 1 after joining mid-connection", func(m metrics) error {
		if v := upSum(m); v != 1 {
			return fmt.Errorf("connection_up summed over relationships: %v", v)
		}
		return nil
	})
	t.Logf("connection up %v after the exporter served /metrics", time.Since(started).Round(10*time.Millisecond))
	m, _ := e.Scrape()
	if v := m.Sum("dhcp_failover_peer_unanswered_seconds", "target", "tap"); v > 3 {
		t.Errorf("unanswered %v s with both servers talking", v)
	}

	p.PauseNode(p.Secondary)
	paused := time.Now()
	// Past four times max-response-delay: through the primary's own
	// timeout (it drops the connection after 5 s) and its reconnect (its
	// CONNECT on a new connection 5 s later, never answered). The signal
	// never goes down while the secondary stays stopped.
	prev := 0.0
	m = e.Wait(90*time.Second, "the hung secondary shows", func(m metrics) error {
		v := m.Sum("dhcp_failover_peer_unanswered_seconds", "target", "tap")
		if v < prev {
			t.Errorf("unanswered went down from %v to %v s while the secondary is stopped", prev, v)
		}
		prev = v
		if v < 20 {
			return fmt.Errorf("unanswered %v s", v)
		}
		return nil
	})
	t.Logf("unanswered %v s, %v after SIGSTOP", m.Sum("dhcp_failover_peer_unanswered_seconds", "target", "tap"), time.Since(paused).Round(10*time.Millisecond))
	if v := upSum(m); v != 0 {
		t.Errorf("connection_up %v while the secondary is stopped", v)
	}
	// The primary's CONNECT named the relationship: the counts of the
	// conversation joined unnamed carry on under the name.
	if v := m.Get(peerMessages("sent", "CONNECT")); v < 1 {
		t.Errorf("the primary's unanswered CONNECT is not counted under %s: %v", iscRelationship, v)
	}
	if v := m.Sum("dhcp_failover_peer_messages_total", "relationship", "unknown"); v != 0 {
		t.Errorf("%v messages still counted as unknown", v)
	}

	p.ResumeNode(p.Secondary)
	e.Wait(60*time.Second, "the signal clears after SIGCONT", func(m metrics) error {
		if v := m.Sum("dhcp_failover_peer_unanswered_seconds", "target", "tap"); v > 3 {
			return fmt.Errorf("unanswered %v s", v)
		}
		if v := upSum(m); v != 1 {
			return fmt.Errorf("connection_up %v", v)
		}
		return nil
	})
}
