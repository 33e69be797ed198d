package main

import (
	"bytes"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
)

// logRecorder is a go-kit logger that keeps its lines, logfmt.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecorder) logger() log.Logger { return log.NewLogfmtLogger(log.NewSyncWriter(l)) }

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// An empty configuration, or one with targets: [], fails --config.check
// with a message that says what is missing.
func TestConfigCheckEmpty(t *testing.T) {
	for _, content := range []string{"", "# nothing yet\n", "targets: []\n"} {
		path := writeConfig(t, content)
		var stdout, stderr bytes.Buffer
		code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), path+": no targets: the exporter would poll nothing") {
			t.Errorf("%q: exit %d, stderr %q", content, code, stderr.String())
		}
	}
}

// The deprecated Kea map of relationships passes --config.check with a
// warning naming the file, the target and the line.
func TestConfigCheckWarnsDeprecated(t *testing.T) {
	path := writeConfig(t, "targets:\n  - name: hub\n    source: kea\n    url: http://10.0.0.9:8000/\n    relationships: {hub-site1: site1-pair}\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := path + `: target "hub": line 5: field relationships: a map of server-name to name is deprecated`; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

// Started on a configuration with no targets (not --demo), the exporter
// says so at warn.
func TestNoTargetsWarns(t *testing.T) {
	var logs logRecorder
	e := newExporter(logs.logger(), func() (*config.Config, error) { return config.Parse([]byte("targets: []\n")) }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	if !strings.Contains(logs.String(), `level=warn msg="The configuration has no targets: nothing is polled`) {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// A reload logs which targets it added, removed and rebuilt.
func TestReloadLogsChanges(t *testing.T) {
	var logs logRecorder
	content := "targets:\n  - {name: a, source: simulated, pair: p, server: a}\n  - {name: b, source: simulated, pair: p, server: b}\n  - {name: u, source: simulated, pair: q, server: a}\n"
	e := newExporter(logs.logger(), func() (*config.Config, error) { return config.Parse([]byte(content)) }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	if !strings.Contains(logs.String(), `msg="Configuration loaded" targets=3 added=a,b,u unchanged=0`) {
		t.Fatalf("first load:\n%s", logs.String())
	}
	content = "targets:\n  - {name: b, source: simulated, pair: p, server: b, poll_interval: 20s}\n  - {name: c, source: simulated, pair: p, server: a}\n  - {name: u, source: simulated, pair: q, server: a}\n"
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="Configuration loaded" targets=3 added=c removed=a rebuilt=b unchanged=1`) {
		t.Fatalf("reload:\n%s", logs.String())
	}
}

// /-/ready answers 503 until a configuration is loaded, then 200.
func TestReady(t *testing.T) {
	e := newExporter(log.NewNopLogger(), func() (*config.Config, error) { return config.DemoConfig(0), nil }, "/metrics", false)
	srv := httptest.NewServer(e.routes())
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/-/ready"); code != 503 {
		t.Fatalf("/-/ready before the first load = %d, want 503", code)
	}
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	if code, body := get(t, srv.URL+"/-/ready"); code != 200 || body != "Ready\n" {
		t.Fatalf("/-/ready = %d %q", code, body)
	}
}

// A failed probe explains itself with debug=true: its reason, its error
// (said once, without the reason repeated in it) and the metrics; and a
// debug log line.
func TestProbeDebugExplainsFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	var logs logRecorder
	cfg := "targets:\n  - {name: dead, source: omapi, address: '" + addr + "', relationships: [fo], poll_interval: 1h, timeout: 2s}\n"
	e := newExporter(logs.logger(), func() (*config.Config, error) { return config.Parse([]byte(cfg)) }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	srv := httptest.NewServer(e.routes())
	defer srv.Close()
	code, body := get(t, srv.URL+"/probe?target=dead&debug=true")
	if code != 200 {
		t.Fatalf("/probe debug = %d\n%s", code, body)
	}
	for _, want := range []string{`Probe of target "dead" failed`, "\nreason: connect\n", "\nerror: ", "connection refused", "duration: ", `dhcp_failover_up{target="dead"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("debug page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "error: connect:") {
		t.Errorf("the error repeats its reason:\n%s", body)
	}
	if code, body := get(t, srv.URL+"/probe?target=dead"); code != 200 || !strings.Contains(body, `dhcp_failover_up{target="dead"} 0`) || strings.Contains(body, "reason: ") {
		t.Errorf("/probe without debug = %d, want the metrics only:\n%s", code, body)
	}
	if !strings.Contains(logs.String(), `level=debug msg="Probe failed" target=dead reason=connect err=`) {
		t.Errorf("no debug line for the failed probe:\n%s", logs.String())
	}
}

// The landing page shows a down target's address, configured
// relationships and last error with its reason; every state cell is
// coloured by a severity the stylesheet defines; the version line is
// written for a person.
func TestLandingPageDownTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := "targets:\n  - {name: dead, source: omapi, address: '" + addr + "', relationships: [fo-a, fo-b], poll_interval: 1h, timeout: 2s}\n"
	e := newExporter(log.NewNopLogger(), func() (*config.Config, error) { return config.Parse([]byte(cfg)) }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	srv := httptest.NewServer(e.routes())
	defer srv.Close()
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = get(t, srv.URL+"/")
		if strings.Contains(body, "connection refused") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{addr, "<td>fo-a</td>", "<td>fo-b</td>", "unknown: target down", "connect: ", "connection refused", "debug=true"} {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q:\n%s", want, body)
		}
	}
	if !regexp.MustCompile(`<p class="version">dhcp_failover_exporter \S+ .*built with go\S+`).MatchString(body) || strings.Contains(body, "(version=") {
		t.Errorf("version line not formatted:\n%s", body)
	}
}

func TestLandingPageColoursEveryState(t *testing.T) {
	_, srv := demoServer(t, time.Minute)
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = get(t, srv.URL+"/")
		if strings.Contains(body, "demo-2-hs") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cell := regexp.MustCompile(`<td class="(\w+)">(NO_STATE|INIT|STARTUP|NORMAL|COMMUNICATION_INT|PARTNER_DOWN|POTENTIAL_CONFLICT|CONFLICT_DONE|RESOLUTION_INT|RECOVER|RECOVER_WAIT|RECOVER_DONE|PAUSED|SHUTDOWN)`)
	cells := cell.FindAllStringSubmatch(body, -1)
	if len(cells) < 8 {
		t.Fatalf("%d state cells:\n%s", len(cells), body)
	}
	for _, c := range cells {
		if !strings.Contains(body, "."+c[1]+"{background:") {
			t.Errorf("state %s has class %q, which the stylesheet does not colour", c[2], c[1])
		}
	}
	for _, sev := range []string{"ok", "info", "warning", "critical", "unknown"} {
		if !strings.Contains(body, "."+sev+"{background:") {
			t.Errorf("no colour for severity %s", sev)
		}
	}
}

// A deprecated form in the configuration is logged at warn on load.
func TestReloadLogsDeprecations(t *testing.T) {
	var logs logRecorder
	content := "targets:\n  - name: hub\n    source: kea\n    url: http://127.0.0.1:9/\n    relationships: {hub-site1: site1-pair}\n    poll_interval: 1h\n"
	e := newExporter(logs.logger(), func() (*config.Config, error) { return config.Parse([]byte(content)) }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	defer e.agent.Stop()
	if !strings.Contains(logs.String(), `level=warn msg="Deprecated configuration" detail="target \"hub\": line 5: field relationships: a map of server-name to name is deprecated`) {
		t.Fatalf("log:\n%s", logs.String())
	}
}
