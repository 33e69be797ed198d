package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
)

// testClient bounds every request of these tests: a hung endpoint fails
// its test instead of stalling the run until go test's own timeout.
var testClient = &http.Client{Timeout: 10 * time.Second}

func get(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func demoServer(t *testing.T, cycle time.Duration) (*exporter, *httptest.Server) {
	t.Helper()
	e := newExporter(log.NewNopLogger(), func() (*config.Config, error) { return config.DemoConfig(cycle), nil }, "/metrics", true)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.routes())
	t.Cleanup(func() { srv.Close(); e.agent.Stop() })
	return e, srv
}

func TestConfigCheckInvalidFiles(t *testing.T) {
	files, _ := filepath.Glob("config/testdata/invalid-*.yml")
	if len(files) == 0 {
		t.Fatal("no invalid config files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		want := strings.TrimPrefix(first, "# error: ")
		var stdout, stderr bytes.Buffer
		code := run([]string{"--config.check", "--config.file", f}, &stdout, &stderr)
		if code == 0 {
			t.Errorf("%s: --config.check exited 0", f)
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: stderr %q does not contain %q", f, stderr.String(), want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", "config/testdata/valid-demo.yml"}, &stdout, &stderr); code != 0 {
		t.Fatalf("valid config: exit %d: %s", code, stderr.String())
	}
}

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	good := "targets:\n  - {name: sim-a, source: simulated, pair: p, server: a}\n"
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newExporter(log.NewNopLogger(), func() (*config.Config, error) { return config.Load(path) }, "/metrics", true)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.routes())
	defer func() { srv.Close(); e.agent.Stop() }()

	if code, _ := get(t, srv.URL+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /-/reload = %d, want 405", code)
	}
	if err := os.WriteFile(path, []byte("targets:\n  - {name: sim-b, source: simulated, pair: p, server: a, bogus: 1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := testClient.Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("POST /-/reload with a broken file = %d, want 500", resp.StatusCode)
	}
	_, body := get(t, srv.URL+"/metrics")
	if !strings.Contains(body, `dhcp_failover_up{target="sim-a"}`) || strings.Contains(body, `target="sim-b"`) {
		t.Fatal("the old targets are not served after a failed reload")
	}
	if !strings.Contains(body, "dhcp_failover_exporter_config_last_reload_successful 0") {
		t.Fatal("last_reload_successful is not 0 after a failed reload")
	}
	// Fix the file: the reload succeeds and replaces the targets.
	if err := os.WriteFile(path, []byte("targets:\n  - {name: sim-b, source: simulated, pair: p, server: a}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err = testClient.Post(srv.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, body = get(t, srv.URL+"/metrics")
	if resp.StatusCode != 200 || !strings.Contains(body, `target="sim-b"`) || strings.Contains(body, `dhcp_failover_up{target="sim-a"}`) ||
		!strings.Contains(body, "dhcp_failover_exporter_config_last_reload_successful 1") {
		t.Fatalf("reload of a fixed file did not apply (status %d)", resp.StatusCode)
	}
}

func TestProbe(t *testing.T) {
	_, srv := demoServer(t, time.Minute)
	code, body := get(t, srv.URL+"/probe?target=demo-1-a", "X-Prometheus-Scrape-Timeout-Seconds", "3")
	if code != 200 || !strings.Contains(body, `dhcp_failover_up{target="demo-1-a"}`) {
		t.Fatalf("probe of a configured target: %d\n%s", code, body)
	}
	if strings.Contains(body, "demo-2") || strings.Contains(body, "go_goroutines") {
		t.Fatal("a probe must render only its own target, in a fresh registry")
	}
	code, body = get(t, srv.URL+"/probe?source=simulated&pair=adhoc&server=a")
	if code != 200 || !strings.Contains(body, `relationship="adhoc-lb"`) {
		t.Fatalf("ad-hoc probe: %d\n%s", code, body)
	}
	for _, q := range []string{"", "?target=nope", "?source=simulated&pair=x&server=z", "?source=simulated&pair=x&server=a&bogus=1",
		"?source=kea&socket=/run/kea/kea4-ctrl-socket&relationship=x", "?source=leases&path=/etc/passwd"} {
		if code, _ := get(t, srv.URL+"/probe"+q); code < 400 {
			t.Errorf("/probe%s = %d, want an error", q, code)
		}
	}
	if code, _ := get(t, srv.URL+"/probe?target=demo-1-a", "X-Prometheus-Scrape-Timeout-Seconds", "x"); code != 400 {
		t.Errorf("bad scrape timeout header accepted")
	}
}

// Ad-hoc probes are off unless the flag allows them.
func TestAdhocProbesOffByDefault(t *testing.T) {
	e := newExporter(log.NewNopLogger(), func() (*config.Config, error) { return config.DemoConfig(time.Minute), nil }, "/metrics", false)
	if err := e.reload(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.routes())
	defer func() { srv.Close(); e.agent.Stop() }()
	if code, _ := get(t, srv.URL+"/probe?source=simulated&pair=x&server=a"); code != http.StatusForbidden {
		t.Fatalf("ad-hoc probe with the flag off = %d, want 403", code)
	}
	if code, _ := get(t, srv.URL+"/probe?target=demo-1-a"); code != 200 {
		t.Fatalf("configured-target probe = %d", code)
	}
}

func TestLandingPageAndHealth(t *testing.T) {
	_, srv := demoServer(t, time.Minute)
	// The relationships show once the first polls are in: wait for them
	// (however loaded the machine), then check the page.
	wants := []string{"demo-1-a", "demo-2-b", "demo-1-lb", "/metrics"}
	var code int
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = get(t, srv.URL+"/")
		complete := code == 200
		for _, want := range wants {
			complete = complete && strings.Contains(body, want)
		}
		if complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("/ = %d", code)
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if code, _ := get(t, srv.URL+"/-/healthy"); code != 200 {
		t.Errorf("/-/healthy = %d", code)
	}
	if code, _ := get(t, srv.URL+"/nope"); code != 404 {
		t.Errorf("/nope = %d", code)
	}
	code, body = get(t, srv.URL+"/config")
	if code != 200 || !strings.Contains(body, "demo-1-a") {
		t.Errorf("/config = %d %s", code, body)
	}
}

func TestFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--version exit %d", code)
	}
	if code := run([]string{"--log.format=xml"}, &stdout, &stderr); code == 0 {
		t.Fatal("bad --log.format accepted")
	}
}

func TestMetricsGzip(t *testing.T) {
	_, srv := demoServer(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), testClient.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(b), "dhcp_failover_up{") {
		t.Fatalf("gzip body: %v %.200s", err, b)
	}
	for h, want := range map[string]bool{"gzip": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "identity": false, "": false, "GZIP": true} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// A configuration that validates but names a source this build lacks (the
// Windows source outside Windows) fails --config.check, as it would fail
// to start.
func TestConfigCheckSourceNotBuilt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the windows source is built here")
	}
	path := filepath.Join(t.TempDir(), "c.yml")
	if err := os.WriteFile(path, []byte("targets:\n  - {name: win, source: windows}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), `source "windows" is not built into this binary`) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// --config.check reports every error of a file in one run, one per line,
// each naming the file, the target and its line, and exits 1.
func TestConfigCheckEveryError(t *testing.T) {
	dir := t.TempDir()
	var text strings.Builder
	text.WriteString("targets:\n")
	for _, n := range []string{"a", "b", "c"} {
		text.WriteString("  - name: " + n + "\n    source: omapi\n    address: 10.0.0.1\n    relationships: [fo]\n" +
			"    key: {name: k, algorithm: hmac-md5, secret_file: " + filepath.Join(dir, n+".key") + "}\n")
	}
	path := writeConfig(t, text.String())
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, one per missing file:\n%s", stderr.String())
	}
	for i, n := range []string{"a", "b", "c"} {
		want := fmt.Sprintf(`invalid configuration: %s: target %q: field key: field secret_file: open %s: no such file or directory (line %d)`,
			path, n, filepath.Join(dir, n+".key"), 2+5*i)
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d:\n got %s\nwant …%s", i, lines[i], want)
		}
	}
}

// A valid configuration whose peer target cannot capture (no such
// interface; or, unprivileged, no CAP_NET_RAW) and whose leases file does
// not exist passes --config.check (exit 0) with a warning for each; as
// root, a secret file only root can read is a warning that suggests
// LoadCredential= (the systemd service runs as a dynamic user).
func TestConfigCheckWarnsRuntimeFaults(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "omapi.key")
	if err := os.WriteFile(key, []byte("c2VjcmV0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, "targets:\n"+
		"  - {name: tap, source: peer, interface: fhnoif0, local_address: 10.0.0.1}\n"+
		"  - {name: isc, source: leases, path: "+filepath.Join(dir, "dhcpd.leases")+", pools: [{ranges: [10.0.0.100-10.0.0.199]}]}\n"+
		"  - name: om\n    source: omapi\n    address: 10.0.0.1\n    relationships: [fo]\n"+
		"    key: {name: k, algorithm: hmac-md5, secret_file: "+key+"}\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--config.check", "--config.file", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		`warning: ` + path + `: target "tap": interface fhnoif0`,
		`warning: ` + path + `: target "isc": file ` + filepath.Join(dir, "dhcpd.leases") + ` does not exist`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "does not exist on this host") && !strings.Contains(out, "CAP_NET_RAW") {
		t.Errorf("the peer warning says neither why nor what to do:\n%s", out)
	}
	rootOnly := `target "om": file ` + key + ` is readable only by root`
	if os.Geteuid() == 0 {
		if !strings.Contains(out, rootOnly) || !strings.Contains(out, "LoadCredential=") {
			t.Errorf("as root, no warning about the root-only secret file:\n%s", out)
		}
	} else if strings.Contains(out, rootOnly) {
		t.Errorf("unprivileged, a warning about root-only files:\n%s", out)
	}
	if strings.Contains(out, "c2VjcmV0") {
		t.Error("a warning shows the secret")
	}
}
