package main

import (
	"bytes"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
)

// syncBuffer is a log sink shared by the exporter's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Secrets from the configuration never reach the logs (at debug level, with
// every poll failing), /metrics, /config, the landing page or a probe.
func TestSecretsNeverLeak(t *testing.T) {
	const omapiSecret = "c2VjcmV0LW9tYXBpLWtleS0xMjM0NTY3ODk="
	const keaPassword = "kea-password-never-shown-42"
	// A server that accepts and hangs up: polls fail with the secrets in hand.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			c.Close()
		}
	}()
	dir := t.TempDir()
	keaFile := filepath.Join(dir, "kea.pass")
	if err := os.WriteFile(keaFile, []byte(keaPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfgText := `targets:
  - name: isc
    source: omapi
    address: ` + addr + `
    relationships: [fo-lab]
    poll_interval: 1s
    timeout: 500ms
    key: {name: omapi_key, algorithm: hmac-md5, secret: "` + omapiSecret + `"}
  - name: kea-inline
    source: kea
    url: http://` + addr + `/
    relationship: kea-pair
    poll_interval: 1s
    timeout: 500ms
    basic_auth: {username: exporter, password: "` + keaPassword + `"}
  - name: kea-file
    source: kea
    url: http://` + addr + `/
    relationship: kea-pair
    poll_interval: 1s
    timeout: 500ms
    basic_auth: {username: exporter, password_file: ` + keaFile + `}
`
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	logger, _, err := newLogger(&logs, "debug", "logfmt")
	if err != nil {
		t.Fatal(err)
	}
	e := newExporter(logger, func() (*config.Config, error) { return config.Load(path) }, "/metrics", true)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.routes())
	defer func() { srv.Close(); e.agent.Stop() }()
	time.Sleep(2500 * time.Millisecond) // a few failed polls of each target

	var seen []string
	for _, p := range []string{"/metrics", "/config", "/", "/probe?target=isc", "/probe?target=kea-inline", "/probe?target=kea-file"} {
		resp, err := testClient.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		seen = append(seen, p+":\n"+b.String())
	}
	// A broken reload: the error names the file and field, not the value.
	os.WriteFile(path, []byte(strings.Replace(cfgText, "hmac-md5", "hmac-nope", 1)), 0o600)
	if err := e.reload(); err == nil {
		t.Fatal("reload of an invalid algorithm succeeded")
	} else {
		seen = append(seen, "reload error: "+err.Error())
	}
	seen = append(seen, "logs:\n"+logs.String())
	all := strings.Join(seen, "\n")
	rawOMAPI, _ := base64.StdEncoding.DecodeString(omapiSecret)
	basic := base64.StdEncoding.EncodeToString([]byte("exporter:" + keaPassword))
	for _, secret := range []string{omapiSecret, string(rawOMAPI), keaPassword, basic} {
		if strings.Contains(all, secret) {
			t.Fatalf("secret %q leaked in:\n%s", secret, all)
		}
	}
	if !strings.Contains(all, "<secret>") {
		t.Error("/config should show masked secrets as <secret>")
	}
	if !strings.Contains(logs.String(), "Poll failed") {
		t.Errorf("the polls did not fail as the test intends; logs:\n%s", logs.String())
	}
}
