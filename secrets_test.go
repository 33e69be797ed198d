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
	const keaToken = "kea-bearer-token-never-shown-7"
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
  - name: kea-token
    source: kea
    url: https://` + addr + `/
    relationship: kea-pair
    poll_interval: 1s
    timeout: 500ms
    authorization: {type: Bearer, credentials: "` + keaToken + `"}
    tls_config: {insecure_skip_verify: true, server_name: kea.example}
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
	// Two failed polls of each target, the secrets in hand.
	targets := []string{"isc", "kea-inline", "kea-file", "kea-token"}
	deadline := time.Now().Add(60 * time.Second)
	for !failedTwice(logs.String(), targets) {
		if time.Now().After(deadline) {
			t.Fatalf("targets did not fail twice each within a minute; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var seen []string
	for _, p := range []string{"/metrics", "/config", "/", "/probe?target=isc", "/probe?target=kea-inline", "/probe?target=kea-file", "/probe?target=kea-token"} {
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
	for _, secret := range []string{omapiSecret, string(rawOMAPI), keaPassword, basic, keaToken} {
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

// failedTwice reports whether the log shows two failed polls of each
// target.
func failedTwice(logs string, targets []string) bool {
	for _, t := range targets {
		n := 0
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `msg="Poll failed"`) && strings.Contains(l, "target="+t+" ") {
				n++
			}
		}
		if n < 2 {
			return false
		}
	}
	return true
}
