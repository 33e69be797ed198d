//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// requireBinary returns the path of a Debian-packaged program the test
// needs; without it the test skips, unless CI requires the integration tests.
func requireBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Skip(t, fmt.Sprintf("%s is not on PATH (install the Debian package %s)", name, pkg))
	}
	return p
}

// httpClient bounds every request of the test: a hung endpoint fails the
// test instead of stalling it until go test's own timeout.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// freeAddr returns a loopback address with a port that was free a moment
// ago (Prometheus and Alertmanager take their port from a flag; see
// startServer).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// proc is a process started by the test.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// start runs argv with its output in a log file under t.TempDir(). It is
// killed by PID in t.Cleanup (SIGTERM, then SIGKILL), and the log's tail is
// printed if the test failed.
func start(t *testing.T, name string, argv ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		// A race-built exporter (go test -race) reports races on its
		// stderr and carries on: make them fail the test.
		if b, _ := os.ReadFile(logPath); netnstest.RaceReport(string(b)) != "" {
			t.Errorf("%s reported a data race (log %s):\n%s", name, logPath, netnstest.RaceReport(string(b)))
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
			t.Logf("last lines of %s (pid %d):\n%s", name, cmd.Process.Pid, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitHTTP waits until GET url answers 200, failing if p exits first.
func waitHTTP(t *testing.T, p *proc, u string, timeout time.Duration) {
	t.Helper()
	if err := pollHTTP(p, u, timeout); err != nil {
		t.Fatal(err)
	}
}

// pollHTTP waits until GET url answers 200; it gives up if p exits first.
func pollHTTP(p *proc, u string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited before %s answered", p.name, u)
		}
		resp, err := httpClient.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready after %s (last error %v)", p.name, u, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startServer starts a program that serves HTTP on the address given by
// argv(addr), and returns once readyPath answers 200. The address comes
// from freeAddr, so another process may take the port first: a start
// that fails with "address already in use" is retried once on a new port.
func startServer(t *testing.T, name, readyPath string, timeout time.Duration, argv func(addr string) []string) (*proc, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		p := start(t, name, argv(addr)...)
		err := pollHTTP(p, "http://"+addr+readyPath, timeout)
		if err == nil {
			return p, addr
		}
		if b, _ := os.ReadFile(p.log); attempt == 1 && p.exited() && strings.Contains(string(b), "address already in use") {
			t.Logf("%s could not bind %s (taken since it was chosen); retrying on another port", name, addr)
			continue
		}
		t.Fatal(err)
	}
}

// listeningOn is the exporter-toolkit's log line naming the bound address.
var listeningOn = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// listenAddr waits until the exporter, started with --web.listen-address
// 127.0.0.1:0, logs the address it got (at info level), and returns it.
func listenAddr(t *testing.T, p *proc, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(p.log)
		if m := listeningOn.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		if p.exited() {
			t.Fatalf("%s exited before logging its listening address", p.name)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not log its listening address within %s", p.name, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// promAPI queries a Prometheus HTTP API endpoint and decodes its data.
type promAPI struct{ base string }

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

func (p promAPI) get(ctx context.Context, path string, params url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r apiResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return json.Unmarshal(r.Data, out)
}

// instantQuery returns how many series expr gives now.
func (p promAPI) instantQuery(ctx context.Context, expr string) (int, error) {
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return 0, err
	}
	if data.ResultType == "scalar" {
		return 1, nil
	}
	return len(data.Result), nil
}

// labelValues returns the values of label among the series matching sel,
// as Grafana's label_values(sel, label) does.
func (p promAPI) labelValues(ctx context.Context, sel, label string) ([]string, error) {
	var series []map[string]string
	if err := p.get(ctx, "/api/v1/series", url.Values{"match[]": {sel}}, &series); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range series {
		if v := s[label]; v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}
