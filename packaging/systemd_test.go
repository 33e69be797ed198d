//go:build linux

package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
			// Verified as an operator enables it: the
			// credentials and the Kea group uncommented.
			for _, l := range []string{"LoadCredential=omapi.key:", "LoadCredential=kea-password:", "SupplementaryGroups=_kea"} {
				if !strings.Contains(text, "\n#"+l) {
					t.Fatalf("%s: no commented %s line", u, l)
				}
				text = strings.ReplaceAll(text, "\n#"+l, "\n"+l)
			}
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

// The shipped binary, run as an unprivileged uid as the dynamic user of
// the service is, reads its OMAPI secret from a credentials directory laid
// out as systemd lays out LoadCredential= (a directory of the service's
// user, mode 0500, holding the file 0400; $CREDENTIALS_DIRECTORY names
// it), through `secret_file: ${CREDENTIALS_DIRECTORY}/omapi.key`; and it
// is refused the same file where it stays root-only, which is the failure
// LoadCredential= avoids.
func TestSystemdCredentialsDirectory(t *testing.T) {
	const uid = nobody
	top, bin := unprivilegedBinary(t)
	etc := filepath.Join(top, "etc")
	creds := filepath.Join(top, "credentials", serviceUnit)
	const secret = "c2VjcmV0LWZvci10aGUtdGVzdA=="
	for _, err := range []error{
		os.Mkdir(etc, 0o755),
		os.WriteFile(filepath.Join(etc, "omapi.key"), []byte(secret+"\n"), 0o600), // root-only
		os.Mkdir(filepath.Dir(creds), 0o755),                                      // as /run/credentials
		os.Mkdir(creds, 0o500),
		os.WriteFile(filepath.Join(creds, "omapi.key"), []byte(secret+"\n"), 0o400),
		os.Chown(creds, uid, uid),
		os.Chown(filepath.Join(creds, "omapi.key"), uid, uid),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(secretFile string) (string, error) {
		cfg := filepath.Join(etc, fmt.Sprintf("c%d.yml", len(secretFile)))
		text := "targets:\n  - name: dhcp-a\n    source: omapi\n    address: 127.0.0.1\n    relationships: [fo]\n" +
			"    key: {name: omapi_key, algorithm: hmac-sha256, secret_file: '" + secretFile + "'}\n"
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--config.check", "--config.file="+cfg)
		cmd.Env = []string{"CREDENTIALS_DIRECTORY=" + creds}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), secret) {
			t.Errorf("the output shows the secret: %s", out)
		}
		return string(out), err
	}
	if out, err := check("${CREDENTIALS_DIRECTORY}/omapi.key"); err != nil || !strings.Contains(out, "is valid") {
		t.Errorf("as uid %d with the credentials directory: %v\n%s", uid, err, out)
	}
	if out, err := check(filepath.Join(etc, "omapi.key")); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("as uid %d, the root-only secret file: %v\n%s (want permission denied)", uid, err, out)
	}
}

// nobody is the unprivileged uid (and gid) the tests run the binary as.
const nobody = 65534

// unprivilegedBinary copies the release binary into a fresh directory that
// uid nobody may enter (t.TempDir's parent is 0700), needing root.
func unprivilegedBinary(t *testing.T) (dir, bin string) {
	t.Helper()
	testenv.NeedRoot(t)
	dir, err := os.MkdirTemp("", "dfe-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src, err := os.ReadFile(filepath.Join(releaseDir(t), binary))
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, binary)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// Without CAP_NET_RAW (the uid nobody, no capabilities), --config.check
// passes a live peer target with a warning that names the capability and
// how to grant it, in a container too; starting the exporter on it fails
// with the same advice.
func TestPeerWithoutCapNetRaw(t *testing.T) {
	dir, bin := unprivilegedBinary(t)
	cfg := filepath.Join(dir, "peer.yml")
	if err := os.WriteFile(cfg, []byte("targets:\n  - {name: tap, source: peer, interface: lo, local_address: 127.0.0.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	asNobody := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := asNobody("--config.check", "--config.file="+cfg)
	if err != nil || !strings.Contains(out, `warning: `+cfg+`: target "tap": interface lo: cannot capture`) ||
		!strings.Contains(out, "CAP_NET_RAW") || !strings.Contains(out, "--cap-add=NET_RAW") {
		t.Errorf("--config.check as uid %d: %v\n%s", nobody, err, out)
	}
	out, err = asNobody("--config.file="+cfg, "--web.listen-address=127.0.0.1:"+strconv.Itoa(freePort(t)))
	if err == nil || !strings.Contains(out, "--cap-add=NET_RAW") {
		t.Errorf("the exporter as uid %d on a peer target: %v\n%s (want a refusal naming --cap-add=NET_RAW)", nobody, err, out)
	}
}
