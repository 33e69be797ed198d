package keatest

import (
	"net"
	"testing"
	"time"
)

// Raw accepts TCP connections on a loopback port, reads the request and
// lets handle write what it likes: what a broken or foreign server (or a
// Control Agent killed mid-answer) sends. It returns the URL to poll; the
// listener closes with the test.
func Raw(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Read(make([]byte, 4096))
				handle(c)
			}()
		}
	}()
	return "http://" + l.Addr().String() + "/"
}
