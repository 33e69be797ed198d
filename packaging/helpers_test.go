package packaging

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

const (
	root   = ".."
	binary = "dhcp_failover_exporter"
)

// platforms are the release platforms as the tarballs name them.
var platforms = []string{"linux-amd64", "linux-arm64", "linux-armv7", "windows-amd64"}

func version(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// tarballPath is the release tarball of a platform, which `make tarball`
// (run by `make packaging` before these tests) writes.
func tarballPath(t *testing.T, platform string) string {
	t.Helper()
	p := filepath.Join(root, ".tarballs", binary+"-"+version(t)+"."+platform+".tar.gz")
	if _, err := os.Stat(p); err != nil {
		testenv.Skip(t, "no release tarball "+p+": run `make tarball` first (make packaging does)")
	}
	return p
}

// readTarball returns the tarball's files by name.
func readTarball(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
	return files
}

var (
	unpackOnce sync.Once
	unpackDir  string
	unpackErr  error
)

// releaseDir unpacks the linux/amd64 tarball once and returns its
// top directory: the tests run the shipped binary, not a fresh build.
func releaseDir(t *testing.T) string {
	t.Helper()
	path := tarballPath(t, "linux-amd64")
	unpackOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dfe-release-")
		if err != nil {
			unpackErr = err
			return
		}
		out, err := exec.Command("tar", "-xzf", path, "-C", dir).CombinedOutput()
		if err != nil {
			unpackErr = errors.New(string(out))
			return
		}
		unpackDir = filepath.Join(dir, binary+"-"+version(t)+".linux-amd64")
	})
	if unpackErr != nil {
		t.Fatal(unpackErr)
	}
	return unpackDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if unpackDir != "" {
		os.RemoveAll(filepath.Dir(unpackDir))
	}
	os.Exit(code)
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startExporter starts name with args and stops it (by its PID) at the end
// of the test.
func startExporter(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	return cmd
}

// scrape waits (up to a minute) until the exporter on port serves /metrics
// with the demo's series, and returns the body.
func scrape(t *testing.T, port int) string {
	t.Helper()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	client := &http.Client{Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
			resp.Body.Close()
			last = string(b)
			if resp.StatusCode == 200 && strings.Contains(last, `dhcp_failover_up{target="demo`) {
				return last
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("no demo metrics from %s within a minute; last: %.500s", url, last)
	return ""
}

func runOK(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
