package packaging

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// The container image, built by `make image` with podman from scratch (no
// base image is pulled): its configuration (non-root user, port 9647,
// config under /etc/dhcp_failover_exporter) and its binary, run from the
// image's own file system (`podman image mount`; `podman export` of a
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
	port := freePort(t)
	startExporter(t, bin, "--demo", "--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	scrape(t, port)
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
