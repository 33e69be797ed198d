//go:build linux

package netnstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Dial opens a connection from inside h's namespace: a goroutine locked to
// its OS thread enters the namespace (setns), creates the socket there (a
// socket keeps the namespace it was created in), and returns to the
// original namespace. The test process thus talks to servers in the lab
// without forwarders.
func (h *Host) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialIn(ctx, h.NS, network, addr)
}

// Listen opens a listener inside h's namespace (see Dial), for fake servers
// that a process in the lab must reach.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNS(h.NS, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNS(ns, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// inNS runs f on a fresh goroutine locked to its thread inside namespace ns.
func inNS(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() { ch <- inNSLocked(ns, f) }()
	return <-ch
}

func inNSLocked(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: %w", err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netnstest: setns %s: %w", ns, err)
	}
	ferr := f()
	if err := setns(orig); err != nil {
		// The thread is stuck in the lab's namespace: leave it locked so
		// that the runtime discards it when this goroutine ends. (The
		// socket f made is kept: it belongs to the namespace regardless.)
		return fmt.Errorf("netnstest: returning from namespace %s: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// HTTPClient returns a client whose connections are dialled in h's
// namespace, with a 10 s overall timeout.
func (h *Host) HTTPClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: h.Dial, DisableKeepAlives: true},
	}
}
