package kea

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/kea/keatest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestHTTPControlAgent(t *testing.T) {
	ca := keatest.New("status-get", readTestdata(t, "status-get-2.2-ca-primary.json"))
	srv := httptest.NewServer(ca)
	defer srv.Close()
	c, err := New(Options{URL: srv.URL, Service: "dhcp4"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.StatusGet(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Relationships[0].Local.State != "hot-standby" {
		t.Errorf("got %+v", st)
	}
	req := ca.LastRequest()
	if req["command"] != "status-get" || len(req) != 2 {
		t.Errorf("request %v", req)
	}
	if svc, _ := req["service"].([]any); len(svc) != 1 || svc[0] != "dhcp4" {
		t.Errorf("service %v", req["service"])
	}
}

func TestHTTPDaemonSocketSendsNoService(t *testing.T) {
	ca := keatest.New("status-get", readTestdata(t, "recorded/status-get-3.0-hot-standby-hub-http-kea-c-hub-a_hot-standby_partner_hot-standby-hub-b_hot-standby_partner_hot-standby.json"))
	srv := httptest.NewServer(ca)
	defer srv.Close()
	c, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatusGet(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if req := ca.LastRequest(); len(req) != 1 || req["command"] != "status-get" {
		t.Errorf("request %v, want only the command", req)
	}
}

func TestHTTPHeartbeatArguments(t *testing.T) {
	ca := keatest.New("ha-heartbeat", readTestdata(t, "ha-heartbeat-2.2-ca-standby.json"))
	srv := httptest.NewServer(ca)
	defer srv.Close()
	c, _ := New(Options{URL: srv.URL, Service: "dhcp4"})
	hb, err := c.HAHeartbeat(ctxT(t, 5*time.Second), "hub-site1")
	if err != nil {
		t.Fatal(err)
	}
	if hb.State != "hot-standby" {
		t.Errorf("got %+v", hb)
	}
	args, _ := ca.LastRequest()["arguments"].(map[string]any)
	if args["server-name"] != "hub-site1" {
		t.Errorf("arguments %v", ca.LastRequest())
	}
	if _, err := c.HAHeartbeat(ctxT(t, 5*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	if _, has := ca.LastRequest()["arguments"]; has {
		t.Errorf("arguments sent without a server name: %v", ca.LastRequest())
	}
}

const testPassword = "s3cr3t-Pa55w0rd"

func TestHTTPBasicAuth(t *testing.T) {
	ca := keatest.New("status-get", readTestdata(t, "status-get-2.2-ca-primary.json"))
	ca.SetBasicAuth("exporter", testPassword)
	srv := httptest.NewServer(ca)
	defer srv.Close()

	good, _ := New(Options{URL: srv.URL, Service: "dhcp4", Username: "exporter", Password: testPassword})
	if _, err := good.StatusGet(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, o := range []Options{
		{URL: srv.URL, Service: "dhcp4", Username: "exporter", Password: "wrong-" + testPassword},
		{URL: srv.URL, Service: "dhcp4"},
	} {
		c, _ := New(o)
		_, err := c.StatusGet(ctxT(t, 5*time.Second))
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("got %v, want ErrAuth", err)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error carries the password: %q", err)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	big := bytes.Repeat([]byte(" "), 2048)
	tests := []struct {
		name   string
		status int
		answer []byte
		max    int64
		want   error
	}{
		{"forbidden", http.StatusForbidden, []byte(`{"result":403,"text":"Forbidden"}`), 0, ErrAuth},
		{"server error", http.StatusInternalServerError, []byte(`oops`), 0, ErrProtocol},
		{"redirect not followed", http.StatusFound, nil, 0, ErrProtocol},
		{"too large", 0, append(big, readTestdata(t, "status-get-2.2-ca-primary.json")...), 1024, ErrTooLarge},
		{"dhcp4 offline", 0, readTestdata(t, "answer-2.2-ca-dhcp4-offline.json"), 0, ErrUnavailable},
		{"no HA", 0, []byte(`[{"result":0,"arguments":{"pid":1}}]`), 0, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca := keatest.New("status-get", tc.answer)
			ca.SetStatus(tc.status)
			srv := httptest.NewServer(ca)
			defer srv.Close()
			c, _ := New(Options{URL: srv.URL, Service: "dhcp4", MaxResponseSize: tc.max})
			_, err := c.StatusGet(ctxT(t, 5*time.Second))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHTTPDeadline(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	c, _ := New(Options{URL: srv.URL, Service: "dhcp4"})
	start := time.Now()
	_, err := c.StatusGet(ctxT(t, 200*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestHTTPNotAnAnswer: a listener that hangs up (a Control Agent killed
// during the poll) is ErrClosed; bytes that are not HTTP, or headers over
// the 64 KiB bound, are ErrProtocol.
func TestHTTPNotAnAnswer(t *testing.T) {
	tests := []struct {
		name   string
		handle func(net.Conn)
		want   error
	}{
		{"hangs up", func(net.Conn) {}, ErrClosed},
		{"hangs up mid headers", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n") }, ErrClosed},
		{"broken header", func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-\r\n\r\n") }, ErrProtocol},
		{"hangs up mid body", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"result\"")
		}, ErrClosed},
		{"ssh banner", func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1\r\n") }, ErrProtocol},
		{"binary", func(c net.Conn) { c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xfe, '\n'}) }, ErrProtocol},
		{"huge headers", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for i := 0; i < 2000; i++ {
				if _, err := fmt.Fprintf(c, "X-Pad-%d: %s\r\n", i, strings.Repeat("a", 60)); err != nil {
					return
				}
			}
		}, ErrProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := New(Options{URL: keatest.Raw(t, tc.handle), Service: "dhcp4"})
			_, err := c.StatusGet(ctxT(t, 5*time.Second))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHTTPConnectError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, _ := New(Options{URL: "http://" + addr + "/", Service: "dhcp4"})
	_, err = c.StatusGet(ctxT(t, 5*time.Second))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("got %v, want a dial error", err)
	}
}

func TestNewOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "http://a/", Socket: "/s"},
		{URL: "ftp://a/"},
		{URL: "http://user:" + testPassword + "@a/"},
		{URL: "http:///path"},
		{URL: "http://a/", Password: testPassword},
		{URL: "http://a/%zz" + testPassword},
	} {
		_, err := New(o)
		if err == nil {
			t.Errorf("%+v: no error", o)
			continue
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("error carries the password: %q", err)
		}
	}
}

// TestHTTPSClientCertificate runs a TLS server that requires a client
// certificate signed by a test CA, as Kea's "cert-required" does.
func TestHTTPSClientCertificate(t *testing.T) {
	caCert, caKey := newTestCA(t)
	serverCert := issue(t, caCert, caKey, "kea-server", false)
	clientCert := issue(t, caCert, caKey, "exporter", true)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)

	srv := httptest.NewUnstartedServer(keatest.New("status-get", readTestdata(t, "status-get-2.2-ca-primary.json")))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()

	ok, _ := New(Options{URL: srv.URL, Service: "dhcp4", TLSConfig: &tls.Config{RootCAs: pool, ServerName: "kea-server", Certificates: []tls.Certificate{clientCert}}})
	if _, err := ok.StatusGet(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("with client certificate: %v", err)
	}
	// TLS 1.3 servers alert "certificate required".
	noCert, _ := New(Options{URL: srv.URL, Service: "dhcp4", TLSConfig: &tls.Config{RootCAs: pool, ServerName: "kea-server"}})
	if _, err := noCert.StatusGet(ctxT(t, 5*time.Second)); !errors.Is(err, ErrAuth) {
		t.Fatalf("without client certificate: got %v, want ErrAuth", err)
	}
	untrusted, _ := New(Options{URL: srv.URL, Service: "dhcp4", TLSConfig: &tls.Config{ServerName: "kea-server"}})
	_, err := untrusted.StatusGet(ctxT(t, 5*time.Second))
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("untrusted server: got %v", err)
	}
}

func newTestCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, name string, client bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// unixServer answers one connection at a time with handle.
func unixServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kea") // short: sun_path is 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return path
}

// readCommand reads one JSON command as Kea does.
func readCommand(c net.Conn) map[string]any {
	var m map[string]any
	_ = json.NewDecoder(c).Decode(&m)
	return m
}

func TestUnixSocket(t *testing.T) {
	answer := readTestdata(t, "status-get-2.2-unix-primary.json")
	var got map[string]any
	var mu sync.Mutex
	path := unixServer(t, func(c net.Conn) {
		m := readCommand(c)
		mu.Lock()
		got = m
		mu.Unlock()
		c.Write(answer)
	})
	c, err := New(Options{Socket: path, Service: "dhcp4"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.StatusGet(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if st.Relationships[0].Local.State != "hot-standby" {
		t.Errorf("got %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got["command"] != "status-get" {
		t.Errorf("command %v: the UNIX socket takes no service", got)
	}
}

// TestUnixSocketAnswerWithoutClose: the answer is complete before the
// server closes; the client must not wait for the close.
func TestUnixSocketAnswerWithoutClose(t *testing.T) {
	answer := readTestdata(t, "status-get-2.2-unix-primary.json")
	release := make(chan struct{})
	path := unixServer(t, func(c net.Conn) {
		readCommand(c)
		// Written in two pieces, then held open.
		c.Write(answer[:10])
		time.Sleep(20 * time.Millisecond)
		c.Write(answer[10:])
		<-release
	})
	defer close(release)
	c, _ := New(Options{Socket: path})
	if _, err := c.StatusGet(ctxT(t, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestUnixSocketErrors(t *testing.T) {
	answer := readTestdata(t, "status-get-2.2-unix-primary.json")
	tests := []struct {
		name   string
		handle func(net.Conn)
		max    int64
		want   error
	}{
		{"closes without answer", func(c net.Conn) { readCommand(c) }, 0, ErrClosed},
		{"closes mid answer", func(c net.Conn) { readCommand(c); c.Write(answer[:50]) }, 0, ErrProtocol},
		{"garbage", func(c net.Conn) { readCommand(c); c.Write([]byte("}{")) }, 0, ErrProtocol},
		{"too large", func(c net.Conn) { readCommand(c); c.Write(answer) }, 100, ErrTooLarge},
		{"endless", func(c net.Conn) {
			readCommand(c)
			c.Write([]byte(`{"text":"`))
			chunk := bytes.Repeat([]byte("a"), 4096)
			for {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, 1 << 16, ErrTooLarge},
		{"no HA hook", func(c net.Conn) { readCommand(c); c.Write(readTestdata(t, "status-get-2.2-unix-no-ha.json")) }, 0, ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := unixServer(t, tc.handle)
			c, _ := New(Options{Socket: path, MaxResponseSize: tc.max})
			_, err := c.StatusGet(ctxT(t, 5*time.Second))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestUnixSocketDeadline(t *testing.T) {
	release := make(chan struct{})
	path := unixServer(t, func(c net.Conn) { readCommand(c); <-release })
	defer close(release)
	c, _ := New(Options{Socket: path})
	start := time.Now()
	_, err := c.StatusGet(ctxT(t, 200*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}

	// Cancellation without a deadline ends the wait too.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c.StatusGet(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestUnixSocketMissing(t *testing.T) {
	c, _ := New(Options{Socket: filepath.Join(t.TempDir(), "missing.sock")})
	_, err := c.StatusGet(ctxT(t, 5*time.Second))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("got %v, want a dial error", err)
	}
}
