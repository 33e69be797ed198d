//go:build linux

package peer

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestOpenLiveNoLeak: a tap retrying a missing interface, or reopening
// one, keeps no socket per attempt.
func TestPeerOpenLiveNoLeak(t *testing.T) {
	testenv.NeedRoot(t)
	before := openFDs(t)
	for range 100 {
		c, err := OpenLive("dfepeer-none0", nil)
		if !errors.Is(err, ErrNoInterface) || c != nil {
			t.Fatalf("missing interface: %v", err)
		}
	}
	for range 20 {
		c, err := OpenLive("lo", []uint16{647})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		c.Close() // twice: harmless
	}
	if after := openFDs(t); after > before {
		t.Errorf("%d file descriptors before, %d after 120 opens", before, after)
	}
}

// TestOpenLiveLoopback captures a TCP handshake on lo: each frame once
// (loopback shows every frame going out and coming in), with the kernel's
// timestamp, and Close ends a blocked Next.
func TestPeerOpenLiveLoopback(t *testing.T) {
	testenv.NeedRoot(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	c, err := OpenLive("lo", []uint16{port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Check(); err != nil {
		t.Errorf("check: %v", err)
	}
	start := time.Now()
	go func() {
		if conn, err := ln.Accept(); err == nil {
			conn.Read(make([]byte, 1))
			conn.Close()
		}
	}()
	go func() {
		conn, err := net.Dial("tcp4", ln.Addr().String())
		if err == nil {
			conn.Write([]byte("x"))
			time.Sleep(100 * time.Millisecond)
			conn.Close()
		}
	}()
	timer := time.AfterFunc(5*time.Second, func() { c.Close() })
	defer timer.Stop()
	// Until both FINs are seen: a duplicate would follow its original.
	syns, fins := 0, 0
	for fins < 2 {
		data, ts, link, err := c.Next()
		if err != nil {
			t.Fatalf("after %d SYNs, %d FINs: %v", syns, fins, err)
		}
		if link != LinkEthernet || len(data) < 54 {
			t.Fatalf("frame of %d bytes, link %d", len(data), link)
		}
		if d := ts.Sub(start); d < -time.Second || d > 5*time.Second {
			t.Errorf("timestamp %v, started %v", ts, start)
		}
		dst, flags := binary.BigEndian.Uint16(data[36:]), data[47]
		if dst == port && flags == 0x02 {
			syns++
		}
		if flags&0x01 != 0 {
			fins++
		}
	}
	if !timer.Stop() {
		t.Fatal("capture closed by the timeout")
	}
	if syns != 1 {
		t.Fatalf("%d SYNs captured", syns)
	}
	time.Sleep(100 * time.Millisecond) // a duplicate of the last FIN, if any, would be here now
	done := make(chan error, 1)
	go func() {
		_, _, _, err := c.Next()
		for err == nil { // the last ACK
			_, _, _, err = c.Next()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCaptureClosed) {
			t.Errorf("Next after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked Next")
	}
}

func TestPeerCaptureCheck(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo")
	}
	for _, tc := range []struct {
		c    Capture
		want error
	}{
		{Capture{}, nil},
		{Capture{iface: "lo", ifindex: lo.Index}, nil},
		{Capture{iface: "lo", ifindex: lo.Index + 1000}, ErrNoInterface},
		{Capture{iface: "dfepeer-none0", ifindex: 7}, ErrNoInterface},
	} {
		if err := tc.c.Check(); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s/%d: %v, want %v", tc.c.iface, tc.c.ifindex, err, tc.want)
		}
	}
}
