package integration

import (
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"
)

// TestPeerFaultCaptures records the fault captures of peer/testdata on a
// real ISC pair, and checks each as it is recorded: the tap (the peer
// package's tracker and relationship model, as source: peer runs them)
// counts exactly what Wireshark's dhcpfo dissector counts, per direction
// and type, as the tap of the server the capture was taken on. The
// captures go to a temporary directory, or where DFE_RECORD_PEER_CAPTURES
// says (to refresh peer/testdata):
//
//	DFE_RECORD_PEER_CAPTURES=$PWD/peer/testdata go test ./integration -run TestPeerFaultCaptures -v
//
// Each capture is taken with tcpdump on one server's eth0, filtered on the
// failover ports 647 (primary) and 847 (secondary). The counts beside a
// new file in peer/testdata are written from tshark by
// `go test ./peer -run TestTsharkCounts -update-counts` (docs/peer.md,
// "Exact counts"). The pauses between the steps are the scenario (how long
// a partner stays stopped), not waits for a condition.
func TestPeerFaultCaptures(t *testing.T) {
	dir := os.Getenv("DFE_RECORD_PEER_CAPTURES")
	if dir == "" {
		dir = t.TempDir()
		os.Chmod(dir, 0o777) // tcpdump writes as its own user
	}
	netnstest.Require(t, "dhcpd", "tcpdump", "tshark")
	capture := func(t *testing.T, h *netnstest.Host, name string) func() {
		path := filepath.Join(dir, name+".pcap")
		p := h.Start(t, "tcpdump", "tcpdump", "-i", "eth0", "-U", "-s", "0", "-w", path, "tcp port 647 or tcp port 847")
		// tcpdump writes the file header once its socket is open.
		waitFor(t, 10*time.Second, "tcpdump's capture file", func() error {
			if fi, err := os.Stat(path); err != nil || fi.Size() < 24 {
				return fmt.Errorf("no capture header yet")
			}
			return nil
		})
		return func() {
			time.Sleep(500 * time.Millisecond) // the last segments reach the file
			p.Signal(syscall.SIGINT)
			p.Wait(10 * time.Second)
			t.Logf("wrote %s", path)
			checkCaptureCounts(t, path, h.Addr)
		}
	}
	settle := func(d time.Duration) { time.Sleep(d) }

	// On the primary, joined mid-connection: the secondary hangs
	// (SIGSTOP) long enough for the primary to give up on it and send
	// its own CONNECT, never answered; then SIGCONT.
	t.Run("primary-sigstop-secondary", func(t *testing.T) {
		p := startISCPair(t, iscOptions{})
		stop := capture(t, p.Primary.Host, "isc-primary-midstream-sigstop-secondary")
		settle(2 * time.Second)
		p.PauseNode(p.Secondary)
		settle(14 * time.Second)
		p.ResumeNode(p.Secondary)
		p.WaitStates(p.Primary, iscNormal, iscNormal, 60*time.Second)
		settle(2 * time.Second)
		stop()
	})

	// On the primary, joined mid-connection: SIGKILL of the secondary,
	// PARTNER_DOWN by the operator, the secondary restarted with an
	// empty leases file.
	t.Run("primary-kill-secondary-fresh", func(t *testing.T) {
		p := startISCPair(t, iscOptions{})
		stop := capture(t, p.Primary.Host, "isc-primary-midstream-kill-secondary-fresh")
		settle(2 * time.Second)
		p.KillNode(p.Secondary)
		p.waitLocalState(p.Primary, iscCommInt, 30*time.Second)
		p.SetLocalState(p.Primary, iscPartnerDown)
		p.waitLocalState(p.Primary, iscPartnerDown, 30*time.Second)
		os.Remove(p.Secondary.LeasesPath)
		p.StartNode(p.Secondary)
		p.WaitStates(p.Primary, iscNormal, iscNormal, 90*time.Second)
		settle(2 * time.Second)
		stop()
	})

	// On the primary, joined mid-connection: auto-partner-down after 10 s.
	t.Run("primary-auto-partner-down", func(t *testing.T) {
		p := startISCPair(t, iscOptions{AutoPartnerDown: 10 * time.Second})
		stop := capture(t, p.Primary.Host, "isc-primary-midstream-auto-partner-down")
		settle(2 * time.Second)
		p.KillNode(p.Secondary)
		p.waitLocalState(p.Primary, iscPartnerDown, 30*time.Second)
		p.StartNode(p.Secondary)
		p.WaitStates(p.Primary, iscNormal, iscNormal, 90*time.Second)
		settle(2 * time.Second)
		stop()
	})

	// On the secondary, from before the connection: the pair comes up,
	// then the primary hangs (SIGSTOP) and comes back.
	t.Run("secondary-startup-sigstop-primary", func(t *testing.T) {
		p := startISCPair(t, iscOptions{NoSecondary: true})
		stop := capture(t, p.Secondary.Host, "isc-secondary-startup-sigstop-primary")
		p.StartNode(p.Secondary)
		p.WaitStates(p.Secondary, iscNormal, iscNormal, 60*time.Second)
		settle(2 * time.Second)
		p.PauseNode(p.Primary)
		settle(14 * time.Second)
		p.ResumeNode(p.Primary)
		p.WaitStates(p.Secondary, iscNormal, iscNormal, 60*time.Second)
		settle(2 * time.Second)
		stop()
	})

	// On the secondary, joined mid-connection: SIGTERM of the primary
	// (Debian's dhcpd exits at once), then its restart.
	t.Run("secondary-sigterm-primary", func(t *testing.T) {
		p := startISCPair(t, iscOptions{})
		stop := capture(t, p.Secondary.Host, "isc-secondary-midstream-sigterm-primary")
		settle(2 * time.Second)
		p.StopNode(p.Primary)
		p.waitLocalState(p.Secondary, iscCommInt, 30*time.Second)
		p.StartNode(p.Primary)
		p.WaitStates(p.Secondary, iscNormal, iscNormal, 60*time.Second)
		settle(2 * time.Second)
		stop()
	})
}

// checkCaptureCounts replays path through the tracker and the relationship
// model as the tap of local and compares the messages counted with
// tshark's, per direction and type.
func checkCaptureCounts(t *testing.T, path string, local netip.Addr) {
	t.Helper()
	want, err := peertest.Tshark(path)
	if err != nil {
		t.Fatal(err)
	}
	want.Local = local
	sent, received := want.Sum()
	m := peer.NewModel(peer.ModelOptions{Local: local})
	if _, err := peer.ReadFile(path, peer.Options{OnConn: m.OnConn, OnMessage: m.OnMessage}); err != nil {
		t.Fatal(err)
	}
	var got [2]map[string]uint64
	for d := range got {
		got[d] = map[string]uint64{}
	}
	for _, r := range m.Relationships() {
		for d := range r.Messages {
			for _, mt := range failover.MessageTypes() {
				if n := r.Messages[d][mt]; n > 0 {
					got[d][mt.String()] += n
				}
			}
		}
	}
	if !maps.Equal(got[peer.DirSent], sent) || !maps.Equal(got[peer.DirReceived], received) {
		t.Errorf("%s: the tap counts sent %v received %v; tshark sent %v received %v", filepath.Base(path),
			got[peer.DirSent], got[peer.DirReceived], sent, received)
	}
}
