//go:build linux

package netnstest

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testPrefix = "dfenst"

func TestLab(t *testing.T) {
	Require(t)
	t.Run("lab", func(t *testing.T) {
		l := NewLab(t, testPrefix)
		a := l.AddHost("a", "10.213.0.1/24")
		b := l.AddHost("b", "10.213.0.2/24")

		if out, err := b.Run(t, "ip", "-4", "addr", "show", "eth0"); err != nil || !strings.Contains(out, "10.213.0.2/24") {
			t.Fatalf("b's eth0: %v\n%s", err, out)
		}

		ln, err := a.Listen("tcp", "10.213.0.1:7000")
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
				c.Write([]byte("hello " + c.RemoteAddr().String() + "\n"))
				c.Close()
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		greet := func(timeout time.Duration) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			c, err := b.Dial(ctx, "tcp", "10.213.0.1:7000")
			if err != nil {
				return "", err
			}
			defer c.Close()
			return bufio.NewReader(c).ReadString('\n')
		}
		if line, err := greet(2 * time.Second); err != nil || !strings.HasPrefix(line, "hello 10.213.0.2:") {
			t.Fatalf("got %q, %v; want a greeting to b's address", line, err)
		}

		// The test process itself stayed in its own namespace.
		if _, err := (&Host{NS: "none"}).Dial(ctx, "tcp", "10.213.0.1:7000"); err == nil {
			t.Fatal("dial in a missing namespace succeeded")
		}

		// Partition: b can no longer reach a; heal: it can again.
		l.SetLink(b, false)
		if _, err := greet(500 * time.Millisecond); err == nil {
			t.Fatal("dial through a downed port succeeded")
		}
		l.SetLink(b, true)
		if _, err := greet(3 * time.Second); err != nil {
			t.Fatalf("dial after heal: %v", err)
		}

		p := a.Start(t, "sleeper", "sleep", "300")
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		if err := p.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(100 * time.Millisecond); err == nil {
			t.Fatal("sleep exited early")
		}
		// A second, unsupervised process in the namespace is removed by
		// the namespace cleanup.
		a.Start(t, "sleeper2", "sleep", "300")
		if got := len(Namespaces(testPrefix)); got != 3 {
			t.Fatalf("%d namespaces with prefix %s, want 3", got, testPrefix)
		}
	})
	if ns := Namespaces(testPrefix); len(ns) != 0 {
		t.Fatalf("namespaces left behind: %v", ns)
	}
}

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
}
