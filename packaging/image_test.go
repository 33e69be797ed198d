//go:build linux

package packaging

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// The container image, built by `make image` with podman from scratch (no
// base image is pulled): its configuration (non-root user, port 9647,
// config under /etc/dhcp_failover_exporter, no targets) and its Cmd, run
// from the image's own file system (`podman image mount`; `podman export` of a
// created container where mounting is not allowed), since the container
// runtime here cannot run it.
func TestContainerImage(t *testing.T) {
	testenv.NeedBinaries(t, "podman", "make")
	testenv.NeedRoot(t)
	tag := "localhost/dhcp_failover_exporter-test:" + strconv.Itoa(os.Getpid())
	runOK(t, "make", "-C", root, "image", "IMAGE="+tag)
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", tag).Run() })

	var inspect []struct {
		Config struct {
			User         string
			ExposedPorts map[string]any
			Entrypoint   []string
			Cmd          []string
		}
	}
	if err := json.Unmarshal([]byte(runOK(t, "podman", "image", "inspect", tag)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v", err)
	}
	c := inspect[0].Config
	if c.User == "" || c.User == "0" || strings.HasPrefix(c.User, "0:") || c.User == "root" {
		t.Errorf("image runs as %q, want a non-root user", c.User)
	}
	if _, ok := c.ExposedPorts["9647/tcp"]; !ok {
		t.Errorf("image exposes %v, want 9647/tcp", c.ExposedPorts)
	}
	if strings.Join(c.Entrypoint, " ") != "/bin/dhcp_failover_exporter" ||
		!strings.Contains(strings.Join(c.Cmd, " "), "/etc/dhcp_failover_exporter/dhcp_failover_exporter.yml") {
		t.Errorf("entrypoint %v cmd %v", c.Entrypoint, c.Cmd)
	}

	fs := imageFS(t, tag)
	for _, f := range []string{"bin/dhcp_failover_exporter", "etc/dhcp_failover_exporter/dhcp_failover_exporter.yml", "etc/ssl/certs/ca-certificates.crt", "LICENSE"} {
		if _, err := os.Stat(filepath.Join(fs, f)); err != nil {
			t.Errorf("image lacks /%s: %v", f, err)
		}
	}
	bin := filepath.Join(fs, "bin", binary)
	out := runOK(t, bin, "--version")
	if !strings.Contains(out, "version "+version(t)+" ") {
		t.Errorf("image binary --version: %s", out)
	}
	cfg, err := os.ReadFile(filepath.Join(fs, "etc/dhcp_failover_exporter/dhcp_failover_exporter.yml"))
	if err != nil || !strings.Contains(string(cfg), "targets: []") {
		t.Errorf("the image's configuration is not examples/container.yml (no targets): %v", err)
	}
	runImageCmd(t, fs, c.Entrypoint, c.Cmd, c.User)
}

// runImageCmd runs the image's Entrypoint and Cmd as the container would:
// chrooted into the image's file system (the binary is static, so it needs
// nothing else), in its WORKDIR, as its user, with the image's own
// configuration. Only the listen address is added, to a free loopback
// port. It asserts that the exporter starts, serves /metrics and logs the
// warning about a configuration with no targets.
func runImageCmd(t *testing.T, fs string, entrypoint, cmdArgs []string, user string) {
	t.Helper()
	uidS, gidS, _ := strings.Cut(user, ":")
	uid, err1 := strconv.Atoi(uidS)
	gid, err2 := strconv.Atoi(gidS)
	if err1 != nil || err2 != nil || uid != 65534 {
		t.Fatalf("image user %q, want 65534:65534", user)
	}
	port := freePort(t)
	args := append(append(append([]string{}, entrypoint[1:]...), cmdArgs...), "--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	cmd := exec.Command(entrypoint[0], args...)
	cmd.Dir = "/etc/dhcp_failover_exporter"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     fs,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the image's command %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("image command output:\n%s", out.String())
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), "dhcp_failover_exporter_build_info") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's command serves no /metrics on %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "no targets") {
		t.Errorf("the image's command did not log the no-targets warning:\n%s", out.String())
	}
}

// syncBuffer is a strings.Builder that a process's output and the test
// may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// imageFS returns a directory holding the image's file system.
func imageFS(t *testing.T, tag string) string {
	t.Helper()
	if out, err := exec.Command("podman", "image", "mount", tag).Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		t.Cleanup(func() { exec.Command("podman", "image", "unmount", tag).Run() })
		return dir
	} else {
		t.Logf("podman image mount: %v; exporting a created container instead", err)
	}
	id := strings.TrimSpace(runOK(t, "podman", "create", tag))
	t.Cleanup(func() { exec.Command("podman", "rm", "-f", id).Run() })
	dir := t.TempDir()
	tarPath := filepath.Join(dir, "fs.tar")
	runOK(t, "podman", "export", "-o", tarPath, id)
	fs := filepath.Join(dir, "fs")
	if err := os.Mkdir(fs, 0o755); err != nil {
		t.Fatal(err)
	}
	runOK(t, "tar", "-xf", tarPath, "-C", fs)
	return fs
}
