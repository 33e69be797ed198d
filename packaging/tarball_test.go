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

	"github.com/dhcpfailover/dhcp_failover_exporter/mixin"
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
				"alerts/dhcp-failover.rules.yml", "alerts/peer.rules.yml", "alerts/leases.rules.yml",
				"docs/metrics.md", "docs/runbook.md", "mixin/mixin.libsonnet", "examples/dhcp_failover_exporter.yml",
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

// Every relative link of the shipped README resolves inside the tarball
// (docs/, mixin/, examples/), and the shipped mixin renders the shipped
// rule files: a user of the tarball alone can follow the README and tune
// the alerts.
func TestTarballSelfContained(t *testing.T) {
	dir := releaseDir(t)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(string(readme), -1)
	if len(links) == 0 {
		t.Fatal("no relative link found in README.md")
	}
	for _, m := range links {
		if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
			t.Errorf("README links %s, which the tarball lacks", m[1])
		}
	}
	// The links inside docs/ and mixin/ too.
	for _, sub := range []string{"docs", "mixin"} {
		filepath.WalkDir(filepath.Join(dir, sub), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
				return err
			}
			b, _ := os.ReadFile(path)
			for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(string(b), -1) {
				target := filepath.Join(filepath.Dir(path), m[1])
				if !strings.HasPrefix(target, dir) {
					continue
				}
				if _, err := os.Stat(target); err != nil && !sourceLink(m[1]) {
					t.Errorf("%s links %s, which the tarball lacks", strings.TrimPrefix(path, dir+"/"), m[1])
				}
			}
			return nil
		})
	}
	rules, err := mixin.RuleFiles(filepath.Join(dir, "mixin", "mixin.libsonnet"))
	if err != nil {
		t.Fatalf("rendering the tarball's mixin: %v", err)
	}
	for name, want := range rules {
		got, err := os.ReadFile(filepath.Join(dir, "alerts", name))
		if err != nil {
			t.Errorf("the mixin renders %s, which the tarball lacks", name)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the tarball's %s is not its mixin's output", name)
		}
	}
	if _, err := mixin.Dashboards(filepath.Join(dir, "mixin", "mixin.libsonnet")); err != nil {
		t.Errorf("rendering the tarball's mixin dashboards: %v", err)
	}
}

// sourceLink reports a link into the source tree (Go code, tests), which
// the docs may cite and the tarball does not ship.
func sourceLink(l string) bool {
	return strings.HasSuffix(l, ".go") || strings.Contains(l, "testdata") || strings.HasSuffix(l, "/")
}
