//go:build linux

package rootfs

import (
	"os/exec"
	"strings"
	"testing"
)

func TestMirrorIn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"deb http://deb.debian.org/debian bookworm main\n", "http://deb.debian.org/debian"},
		{"deb [signed-by=/k.gpg arch=amd64] https://mirror.example/debian/ bookworm main\n", "https://mirror.example/debian"},
		{"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n", ""},
		{"Types: deb\nURIs: http://ftp.example.org/debian\nSuites: bookworm\n", "http://ftp.example.org/debian"},
		{"deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n", ""},
		{"# deb http://deb.debian.org/debian bookworm main\n", ""},
	} {
		if got := mirrorIn(c.in); got != c.want {
			t.Errorf("mirrorIn(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestRootRuns builds (or reuses) each suite's root and runs a program of
// it in the host's network namespace, with a test directory mounted.
func TestRootRuns(t *testing.T) {
	for _, suite := range []string{"trixie", "sid"} {
		t.Run(suite, func(t *testing.T) {
			r := Get(t, suite)
			v := r.Version("kea-dhcp4-server")
			if v == "" {
				t.Fatalf("%s: kea-dhcp4-server not installed", suite)
			}
			dir := t.TempDir()
			argv := r.Argv(Cmd{Mounts: []Mount{{Source: dir}, {Source: dir, Target: "/run/kea"}},
				Argv: []string{"sh", "-c", `kea-dhcp4 -V >/dev/null && touch /run/kea/x && ls ` + dir + ` && cat /proc/self/comm && test -c /dev/null`}})
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !strings.Contains(string(out), "x\n") {
				t.Errorf("the file written to /run/kea is not in the mounted directory: %q", out)
			}
			t.Logf("%s: kea-dhcp4-server %s, kea-ctrl-agent %q, prometheus %q, alertmanager %q", suite, v,
				r.Version("kea-ctrl-agent"), r.Version("prometheus"), r.Version("prometheus-alertmanager"))
		})
	}
}
