package packaging

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/pe"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every release tarball holds one top directory named as the Prometheus
// projects name it, with the binary for its platform, LICENSE, the example
// configurations (the exporter's, Prometheus', the systemd units), the alert
// rules and the dashboards.
func TestTarballContents(t *testing.T) {
	v := version(t)
	machines := map[string]elf.Machine{"linux-amd64": elf.EM_X86_64, "linux-arm64": elf.EM_AARCH64, "linux-armv7": elf.EM_ARM}
	for _, plat := range platforms {
		t.Run(plat, func(t *testing.T) {
			files := readTarball(t, tarballPath(t, plat))
			top := binary + "-" + v + "." + plat + "/"
			bin := binary
			if strings.HasPrefix(plat, "windows") {
				bin += ".exe"
			}
			for _, want := range []string{bin, "LICENSE", "README.md", "CHANGELOG.md", "dhcp_failover_exporter.yml",
				"dhcp-failover.rules.yml", "peer.rules.yml", "leases.rules.yml",
				"examples/prometheus.yml", "examples/prometheus-shard.yml",
				"examples/systemd/dhcp_failover_exporter.service", "examples/systemd/dhcp_failover_exporter.socket",
				"dashboards/dhcp-failover-overview.json", "dashboards/dhcp-failover-relationship.json"} {
				if _, ok := files[top+want]; !ok {
					t.Errorf("tarball lacks %s%s", top, want)
				}
			}
			for name := range files {
				if !strings.HasPrefix(name, top) {
					t.Errorf("%s outside the top directory %s", name, top)
				}
			}
			if !bytes.Contains(files[top+"LICENSE"], []byte("Apache License")) {
				t.Error("LICENSE is not the Apache License")
			}
			exe := files[top+bin]
			if m, ok := machines[plat]; ok {
				f, err := elf.NewFile(bytes.NewReader(exe))
				if err != nil {
					t.Fatal(err)
				}
				if f.Machine != m {
					t.Errorf("binary for %s, want %s", f.Machine, m)
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP {
						t.Error("binary is dynamically linked (PT_INTERP): build with CGO_ENABLED=0")
					}
				}
				if plat == "linux-armv7" && !elfHasARMv7(f) {
					t.Error("arm binary is not built for ARMv7 (GOARM=7)")
				}
			} else {
				f, err := pe.NewFile(bytes.NewReader(exe))
				if err != nil {
					t.Fatal(err)
				}
				if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
					t.Errorf("windows binary for machine %#x, want AMD64", f.Machine)
				}
			}
		})
	}
}

// The checksums file lists every tarball with its SHA-256.
func TestTarballChecksums(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join(root, ".tarballs", "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, plat := range platforms {
		path := tarballPath(t, plat)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%x  %s\n", sha256.Sum256(b), filepath.Base(path))
		if !strings.Contains(string(sums), line) {
			t.Errorf("sha256sums.txt lacks %q", line)
		}
	}
}

// elfHasARMv7 reads the Go build settings the linker records (GOARM=7).
func elfHasARMv7(f *elf.File) bool {
	s := f.Section(".go.buildinfo")
	if s == nil {
		return false
	}
	b, err := s.Data()
	return err == nil && bytes.Contains(b, []byte("GOARM=7"))
}

// The shipped linux/amd64 binary reports the release's build information.
func TestTarballBinaryVersion(t *testing.T) {
	dir := releaseDir(t)
	out := runOK(t, filepath.Join(dir, binary), "--version")
	t.Logf("--version:\n%s", out)
	for _, re := range []string{
		`^dhcp_failover_exporter, version ` + regexp.QuoteMeta(version(t)) + ` \(branch: [^,)]+, revision: [0-9a-f]{40}\)`,
		`(?m)^\s+build user:\s+\S+@\S+$`,
		`(?m)^\s+build date:\s+\d{8}-\d\d:\d\d:\d\d$`,
		`(?m)^\s+platform:\s+linux/amd64$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("--version output does not match %s", re)
		}
	}
	// The demo runs from the tarball as it is.
	port := freePort(t)
	startExporter(t, filepath.Join(dir, binary), "--demo", "--web.listen-address=127.0.0.1:"+strconv.Itoa(port))
	body := scrape(t, port)
	if !strings.Contains(body, `dhcp_failover_exporter_build_info{`) {
		t.Error("no dhcp_failover_exporter_build_info in the demo scrape")
	}
}

// The README's Windows install steps name the files the windows tarball
// holds, and every sc.exe command line of the README is the same one.
func TestReadmeWindowsInstall(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := readTarball(t, tarballPath(t, "windows-amd64"))
	top := binary + "-" + version(t) + ".windows-amd64"
	for _, f := range []string{binary + ".exe", "dhcp_failover_exporter.yml"} {
		if _, ok := files[top+"/"+f]; !ok {
			t.Errorf("windows tarball lacks %s", f)
		}
		if !strings.Contains(string(readme), `C:\dhcp_failover_exporter\`+f) {
			t.Errorf("README does not install %s as C:\\dhcp_failover_exporter\\%s", f, f)
		}
	}
	if !strings.Contains(string(readme), top+".tar.gz") {
		t.Errorf("README does not name the tarball %s.tar.gz", top)
	}
	scLines := map[string]bool{}
	for _, m := range regexp.MustCompile(`sc\.exe create [^\n`+"`"+`]+`).FindAllString(string(readme), -1) {
		scLines[m] = true
	}
	if len(scLines) != 1 {
		t.Errorf("README has %d different sc.exe create lines, want one: %v", len(scLines), scLines)
	}
}
