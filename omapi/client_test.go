package omapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi/omapitest"
)

const secret = "c2VjcmV0LW9tYXBpLWtleS1mb3ItdGVzdHMtb25seQ=="

func mustKey(t testing.TB, name, alg, s string) *omapi.Key {
	t.Helper()
	k, err := omapi.NewKey(name, alg, s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testState(name string) omapi.FailoverState {
	return omapi.FailoverState{
		Name: name, Hierarchy: 1,
		Local:   omapi.Side{Code: 2, STOS: time.Unix(1795714425, 0)},
		Partner: omapi.Side{Code: 3, STOS: time.Unix(1795714400, 0)},
		MCLT:    time.Minute, MaxResponseDelay: 5 * time.Second, LoadBalanceMax: 3 * time.Second,
		MaxOutstandingUpdates: 10, CurUnackedUpdates: 4, LocalPort: 847, PartnerPort: 647,
	}
}

func startServer(t testing.TB, key *omapi.Key, names ...string) *omapitest.Server {
	t.Helper()
	s, err := omapitest.New(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, n := range names {
		s.SetFailoverState(testState(n))
	}
	return s
}

func ctx(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func TestClientOpenThenRefresh(t *testing.T) {
	for _, alg := range omapi.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			key := mustKey(t, "k", alg, secret)
			srv := startServer(t, key, "fo-a", "fo-b")
			c := omapi.NewClient(srv.Addr, key)
			defer c.Close()
			for poll := 0; poll < 3; poll++ {
				for _, name := range []string{"fo-a", "fo-b"} {
					fs, err := c.FailoverState(ctx(t, 2*time.Second), name)
					if err != nil {
						t.Fatalf("poll %d %s: %v", poll, name, err)
					}
					if fs.Name != name || fs.Local.State != failover.Normal || fs.Partner.State != failover.CommunicationInt || fs.IsPrimary() ||
						fs.MCLT != time.Minute || fs.CurUnackedUpdates != 4 || fs.Local.STOS.Unix() != 1795714425 {
						t.Fatalf("decoded %+v", fs)
					}
				}
			}
			// One connection; authenticator + one OPEN per relationship,
			// then only REFRESH.
			if n := srv.Connections(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
			want := "open open open refresh refresh refresh refresh"
			if got := ops(srv.Received()); got != want {
				t.Errorf("server received %q, want %q", got, want)
			}
		})
	}
}

func ops(os []omapi.Op) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = o.String()
	}
	return strings.Join(s, " ")
}

// The exporter's polls send nothing but open and refresh, whatever
// happens: errors, reconnects, unknown names.
func TestClientSendsOnlyOpenAndRefresh(t *testing.T) {
	key := mustKey(t, "k", "hmac-sha256", secret)
	srv := startServer(t, key, "fo")
	c := omapi.NewClient(srv.Addr, key)
	defer c.Close()
	for i := 0; i < 20; i++ {
		switch i % 5 {
		case 1:
			c.FailoverState(ctx(t, time.Second), "nosuch")
		case 2:
			srv.DropConnections()
		case 3:
			srv.SetHang(true)
			c.FailoverState(ctx(t, 50*time.Millisecond), "fo")
			srv.SetHang(false)
		}
		c.FailoverState(ctx(t, time.Second), "fo")
	}
	for _, op := range srv.Received() {
		if op != omapi.OpOpen && op != omapi.OpRefresh {
			t.Fatalf("server received %s", op)
		}
	}
	for op := range c.Sent() {
		if op != omapi.OpOpen && op != omapi.OpRefresh {
			t.Fatalf("client sent %s", op)
		}
	}
	if len(srv.Received()) < 20 {
		t.Fatalf("only %d messages", len(srv.Received()))
	}
}

func TestClientUnauthenticated(t *testing.T) {
	srv := startServer(t, nil, "fo")
	c := omapi.NewClient(srv.Addr, nil)
	defer c.Close()
	for i := 0; i < 2; i++ {
		if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
			t.Fatal(err)
		}
	}
	if got := ops(srv.Received()); got != "open refresh" {
		t.Fatalf("received %q", got)
	}
}

func TestClientErrors(t *testing.T) {
	key := mustKey(t, "k", "hmac-md5", secret)
	srv := startServer(t, key, "fo")
	wrongSecret := mustKey(t, "k", "hmac-md5", "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==")
	cases := []struct {
		name string
		key  *omapi.Key
		rel  string
		want error
	}{
		{"wrong secret", wrongSecret, "fo", omapi.ErrAuth},
		{"unknown key name", mustKey(t, "other", "hmac-md5", secret), "fo", omapi.ErrAuth},
		{"wrong algorithm", mustKey(t, "k", "hmac-sha1", secret), "fo", omapi.ErrAuth},
		{"no key for a keyed server", nil, "fo", omapi.ErrAuth},
		{"unknown relationship", key, "nosuch", omapi.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := omapi.NewClient(srv.Addr, c.key)
			defer cl.Close()
			_, err := cl.FailoverState(ctx(t, time.Second), c.rel)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			for _, s := range []string{secret, "d3Jvbmctc2VjcmV0", "secret-omapi"} {
				if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%v %+v %#v", c.key, c.key, c.key), s) {
					t.Fatalf("secret in %q", err)
				}
			}
		})
	}

	// A server that signs its answers with another key: ErrAuth.
	other := startServer(t, wrongSecret, "fo")
	cl := omapi.NewClient(other.Addr, key)
	if _, err := cl.FailoverState(ctx(t, time.Second), "fo"); !errors.Is(err, omapi.ErrAuth) {
		t.Fatalf("answer signed with another key: %v", err)
	}
}

func TestClientNotFoundKeepsConnection(t *testing.T) {
	srv := startServer(t, nil, "fo")
	c := omapi.NewClient(srv.Addr, nil)
	defer c.Close()
	if _, err := c.FailoverState(ctx(t, time.Second), "nosuch"); !errors.Is(err, omapi.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

func TestClientTimeout(t *testing.T) {
	srv := startServer(t, nil, "fo")
	c := omapi.NewClient(srv.Addr, nil)
	defer c.Close()
	if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
		t.Fatal(err)
	}
	srv.SetHang(true)
	start := time.Now()
	_, err := c.FailoverState(ctx(t, 200*time.Millisecond), "fo")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a net timeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("timeout took %s", d)
	}
	// A cancel interrupts a blocked read too.
	cctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := c.FailoverState(cctx, "fo"); err == nil || time.Since(start) > time.Second {
		t.Fatalf("cancel: %v after %s", err, time.Since(start))
	}
	// After the server recovers, the client reconnects by itself.
	srv.SetHang(false)
	if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
		t.Fatal(err)
	}
}

func TestClientReconnect(t *testing.T) {
	key := mustKey(t, "k", "hmac-sha512", secret)
	srv := startServer(t, key, "fo")
	c := omapi.NewClient(srv.Addr, key)
	defer c.Close()
	if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
		t.Fatal(err)
	}
	// The server restarts: the kept connection is stale; the poll still
	// succeeds on a fresh, re-authenticated connection.
	srv.DropConnections()
	time.Sleep(20 * time.Millisecond)
	if _, err := c.FailoverState(ctx(t, time.Second), "fo"); err != nil {
		t.Fatalf("after the server dropped the connection: %v", err)
	}
	if n := srv.Connections(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	if got := ops(srv.Received()); got != "open open open open" {
		t.Fatalf("received %q, want authenticator+open twice", got)
	}
	// The server goes away: a connect error (a net error, not wrapped in
	// a sentinel).
	addr := srv.Addr
	srv.Close()
	c2 := omapi.NewClient(addr, key)
	_, err := c2.FailoverState(ctx(t, time.Second), "fo")
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("err = %v, want a dial error", err)
	}
}

func TestNewKey(t *testing.T) {
	for _, c := range []struct{ name, alg, secret string }{
		{"", "hmac-md5", secret},
		{"k", "hmac-sha3", secret},
		{"k", "hmac-md5", "not base64!"},
		{"k", "hmac-md5", ""},
	} {
		_, err := omapi.NewKey(c.name, c.alg, c.secret)
		if !errors.Is(err, omapi.ErrBadKey) {
			t.Errorf("%+v: %v", c, err)
		}
		if err != nil && c.secret != "" && strings.Contains(err.Error(), c.secret) {
			t.Errorf("secret in %q", err)
		}
	}
	for _, alg := range []string{"HMAC-MD5", "hmac-md5.SIG-ALG.REG.INT.", "hmac-sha256.", "HMAC-SHA1"} {
		if _, err := omapi.NewKey("k", alg, secret); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

func BenchmarkRefreshRoundTrip(b *testing.B) {
	key := mustKey(b, "k", "hmac-md5", secret)
	srv := startServer(b, key, "fo")
	c := omapi.NewClient(srv.Addr, key)
	defer c.Close()
	cx := context.Background()
	if _, err := c.FailoverState(cx, "fo"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.FailoverState(cx, "fo"); err != nil {
			b.Fatal(err)
		}
	}
}

// A port that answers with something else than OMAPI is named for what it
// said: an HTTP server's status line (0x48545450 read as a version is
// "HTTP"), or the numbers of a binary answer.
func TestClientNotOMAPI(t *testing.T) {
	cases := []struct {
		name, answer, want string
	}{
		{"http", "HTTP/1.1 400 Bad Request\r\n\r\n", `not an OMAPI server: it answered "HTTP/1.1", an HTTP server`},
		{"ssh", "SSH-2.0-OpenSSH_9.2\r\n", `it answered "SSH-2.0-", an SSH server`},
		{"binary", "\x00\x00\x00\x02\x00\x00\x00\x20", "it answered version 2 with 32-byte headers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				conn.Write([]byte(c.answer))
				conn.Read(make([]byte, 64))
			}()
			cl := omapi.NewClient(ln.Addr().String(), nil)
			defer cl.Close()
			_, err = cl.FailoverState(ctx(t, 2*time.Second), "fo")
			if !errors.Is(err, omapi.ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %q, want it to contain %q", err, c.want)
			}
		})
	}
}
