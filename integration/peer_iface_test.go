package integration

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

// TestPeerTapInterfaceRecovers: the live tap outlives its interface. The
// exporter runs in namespace dfepeerl-a and captures on tap0, a veth to
// dfepeerl-b that the test creates, takes down and deletes: started before
// tap0 exists, the target reports not_found and starts capturing when it
// appears; a link taken down is reported (connect) and the same socket
// captures again once it is up; the interface deleted and created again is
// followed (a new socket). Each time, a connection dialled from dfepeerl-b
// to the failover port is seen (a connection without failover messages:
// dhcp_failover_peer_ignored_connections_total{reason="no_messages"}).
func TestPeerTapInterfaceRecovers(t *testing.T) {
	lab := netnstest.NewLab(t, "dfepeerl")
	a := lab.AddHost("a", "10.231.0.1/24")
	b := lab.AddHost("b", "10.231.0.2/24")
	e := startExporter(t, a, `targets:
  - name: tap
    source: peer
    interface: tap0
    local_address: 10.232.0.1
    ports: [647]
    poll_interval: 1s
    timeout: 800ms
`)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	mkLink := func() {
		ip("-n", a.NS, "link", "add", "tap0", "type", "veth", "peer", "name", "tap1", "netns", b.NS)
		ip("-n", a.NS, "addr", "add", "10.232.0.1/24", "dev", "tap0")
		ip("-n", a.NS, "link", "set", "tap0", "up")
		ip("-n", b.NS, "addr", "add", "10.232.0.2/24", "dev", "tap1")
		ip("-n", b.NS, "link", "set", "tap1", "up")
	}
	errs := func(m metrics, reason string) float64 {
		return m.Get("dhcp_failover_poll_errors_total", "reason", reason, "target", "tap")
	}
	up := `dhcp_failover_up{target="tap"}`
	opened := func() int { return strings.Count(e.Proc.Log(), `msg="Capture opened"`) }

	m := e.Wait(30*time.Second, "not_found before tap0 exists", func(m metrics) error {
		if errs(m, "not_found") < 1 || m.Get(up) != 0 {
			return fmt.Errorf("not_found errors %v, up %v", errs(m, "not_found"), m.Get(up))
		}
		return nil
	})

	mkLink()
	e.WaitMetric(up, 1, 60*time.Second)
	ln, err := a.Listen("tcp4", "10.232.0.1:647")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	seen := 0.0
	dial := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := b.Dial(ctx, "tcp4", "10.232.0.1:647")
		if err != nil {
			t.Fatalf("%s: dialling from %s: %v", what, b.NS, err)
		}
		c.Write([]byte("not a failover message"))
		c.Close()
		seen++
		e.WaitAtLeast(30*time.Second, map[string]float64{
			series("dhcp_failover_peer_ignored_connections_total", "reason", "no_messages", "target", "tap"): seen,
		})
	}
	dial("interface created")

	first := opened()
	ip("-n", a.NS, "link", "set", "tap0", "down")
	before := errs(m, "connect")
	m = e.Wait(30*time.Second, "link down reported", func(m metrics) error {
		if errs(m, "connect") <= before || m.Get(up) != 0 {
			return fmt.Errorf("connect errors %v, up %v", errs(m, "connect"), m.Get(up))
		}
		return nil
	})
	ip("-n", a.NS, "link", "set", "tap0", "up")
	e.WaitMetric(up, 1, 60*time.Second)
	dial("link up again")
	if n := opened(); n != first {
		t.Errorf("the capture was reopened after a link flap (%d opens, %d before): it captures on by itself", n, first)
	}

	ip("-n", a.NS, "link", "del", "tap0")
	before = errs(m, "not_found")
	e.Wait(30*time.Second, "interface deleted reported", func(m metrics) error {
		if errs(m, "not_found") <= before || m.Get(up) != 0 {
			return fmt.Errorf("not_found errors %v, up %v", errs(m, "not_found"), m.Get(up))
		}
		return nil
	})
	mkLink()
	e.WaitMetric(up, 1, 60*time.Second)
	// The listener is bound to 10.232.0.1, gone with the interface.
	ln.Close()
	ln2, err := a.Listen("tcp4", "10.232.0.1:647")
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	dial("interface created again")
	if n := opened(); n <= first {
		t.Errorf("still the socket of the deleted interface (%d opens)", n)
	}
}
