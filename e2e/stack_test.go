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
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireBinary returns the path of a Debian-packaged program the test
// needs; without it the test skips, unless CI requires the integration tests.
func requireBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("DFE_REQUIRE_INTEGRATION") != "" {
			t.Fatalf("%s is not on PATH but DFE_REQUIRE_INTEGRATION is set (install the Debian package %s)", name, pkg)
		}
		t.Skipf("skipped: %s is not on PATH (install the Debian package %s)", name, pkg)
	}
	return p
}

// freeAddr returns a loopback address with a port that was free a moment
// ago (the processes under test take their port from a flag).
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
	deadline := time.Now().Add(timeout)
	for {
		if p.exited() {
			t.Fatalf("%s exited before %s answered", p.name, u)
		}
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not ready after %s (last error %v)", p.name, u, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
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
	resp, err := http.DefaultClient.Do(req)
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
