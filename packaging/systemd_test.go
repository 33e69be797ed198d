package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

const (
	serviceUnit = "dhcp_failover_exporter.service"
	socketUnit  = "dhcp_failover_exporter.socket"
	unitBinary  = "/usr/local/bin/dhcp_failover_exporter"
)

// systemd-analyze verify accepts the units. It checks that ExecStart names
// an executable, so the units are verified from a copy in which only that
// path is the shipped binary's.
func TestSystemdUnitsVerify(t *testing.T) {
	testenv.NeedBinaries(t, "systemd-analyze")
	bin := filepath.Join(releaseDir(t), binary)
	dir := t.TempDir()
	for _, u := range []string{serviceUnit, socketUnit} {
		b, err := os.ReadFile(filepath.Join(root, "examples", "systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if u == serviceUnit {
			if !strings.Contains(text, "ExecStart="+unitBinary+" ") {
				t.Fatalf("%s: ExecStart does not start %s", u, unitBinary)
			}
			text = strings.ReplaceAll(text, unitBinary, bin)
		}
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", serviceUnit, socketUnit)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// systemd's own exposure score of the hardening: at most 2.0 ("OK";
	// --threshold is in tenths).
	cmd = exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20", serviceUnit)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0: %v\n%s", err, out)
	} else {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Log(lines[len(lines)-1])
	}

	// The verification is not vacuous: a misspelt directive is reported.
	bad := filepath.Join(dir, "bad.service")
	os.WriteFile(bad, []byte("[Service]\nExecStart="+bin+"\nProtectSystem=strictest\n"), 0o644)
	cmd = exec.Command("systemd-analyze", "verify", "--man=no", "bad.service")
	cmd.Dir = dir
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "strictest") {
		t.Errorf("systemd-analyze verify did not report a bad ProtectSystem= value: %s", out)
	}
}

// The hardening the README promises is in the service unit.
func TestSystemdServiceHardening(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "examples", "systemd", serviceUnit))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=CAP_NET_RAW", "AmbientCapabilities=CAP_NET_RAW", "PrivateTmp=yes",
		"Requires=" + socketUnit, "--web.systemd-socket",
	} {
		if !lines[want] {
			t.Errorf("%s lacks the line %q", serviceUnit, want)
		}
	}
}

// --web.systemd-socket (exporter-toolkit) serves on a socket systemd hands
// over: the shipped binary under systemd-socket-activate, which passes the
// listening socket as the .socket unit does.
func TestSystemdSocketActivation(t *testing.T) {
	testenv.NeedBinaries(t, "systemd-socket-activate")
	bin := filepath.Join(releaseDir(t), binary)
	port := freePort(t)
	startExporter(t, "systemd-socket-activate", "-l", "127.0.0.1:"+strconv.Itoa(port),
		bin, "--demo", "--web.systemd-socket")
	scrape(t, port)
}
