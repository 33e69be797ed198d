package integration

// The Kea lab (see kea_test.go): a pair of real Kea servers of one version
// in network namespaces. Kea 2.2 is Debian 12's package on this machine;
// Kea 2.6 (trixie) and 3.0 (sid) run from internal/rootfs roots, chrooted
// inside the same namespaces, with the directories Kea 2.6.3+ confines
// its files to (/run/kea with mode 750, /var/lib/kea, /var/log/kea) bound
// to per-server test directories.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/internal/rootfs"
)

// keaVersion is a Kea release line the tests run: from the host (suite
// "") or from a rootfs of a Debian suite.
type keaVersion struct {
	Line  string // "2.2", "2.6", "3.0": what the test names say
	Suite string
}

// keaVersions are the versions every Kea scenario runs on.
var keaVersions = []keaVersion{{"2.2", ""}, {"2.6", "trixie"}, {"3.0", "sid"}}

// keaRuntime is where one version's programs come from and what it ships.
type keaRuntime struct {
	keaVersion
	root *rootfs.Root // nil: the host's packages
	// Version is the exact kea-dhcp4 version (`kea-dhcp4 -V`'s first line).
	Version string
	// HasCA: the version ships kea-ctrl-agent (removed in Kea 3.1.8).
	HasCA bool
	// HTTPSocket: the daemon serves HTTP itself (control-sockets with
	// socket-type http, Kea 2.7.2+; 2.6 rejects the keyword).
	HTTPSocket bool
	hooks      string // hooks directory as the program sees it
}

var keaVersionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.\d+`)

func newKeaRuntime(t *testing.T, v keaVersion) *keaRuntime {
	t.Helper()
	rt := &keaRuntime{keaVersion: v}
	if v.Suite == "" {
		netnstest.Require(t, "kea-dhcp4", "kea-ctrl-agent")
		rt.HasCA = true
		m, _ := filepath.Glob("/usr/lib/*/kea/hooks/libdhcp_ha.so")
		if len(m) == 0 {
			t.Fatal("kea: libdhcp_ha.so not found (install kea-dhcp4-server)")
		}
		rt.hooks = filepath.Dir(m[0])
	} else {
		netnstest.Require(t)
		rt.root = rootfs.Get(t, v.Suite)
		rt.HasCA = rt.root.Has("kea-ctrl-agent")
		m := rt.root.Glob("/usr/lib/*/kea/hooks/libdhcp_ha.so")
		if len(m) == 0 {
			t.Fatalf("kea: libdhcp_ha.so not found in the %s root", v.Suite)
		}
		rt.hooks = filepath.Dir(m[0])
	}
	out, err := rt.command(nil, "kea-dhcp4", "-V").CombinedOutput()
	if err != nil {
		t.Fatalf("kea-dhcp4 -V: %v\n%s", err, out)
	}
	rt.Version = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	mm := keaVersionRE.FindStringSubmatch(rt.Version)
	if mm == nil {
		t.Fatalf("kea-dhcp4 -V: cannot read a version from %q", rt.Version)
	}
	if got := mm[1] + "." + mm[2]; got != v.Line {
		// sid moves: run what it ships, and say so.
		t.Logf("kea: the %s suite ships Kea %s, not %s: testing what it ships", v.Suite, rt.Version, v.Line)
	}
	major, minor := 0, 0
	fmt.Sscan(mm[1], &major)
	fmt.Sscan(mm[2], &minor)
	rt.HTTPSocket = major > 2 || (major == 2 && minor >= 7)
	t.Logf("kea: testing kea-dhcp4 %s (suite %q), kea-ctrl-agent %v, own HTTP control socket %v", rt.Version, v.Suite, rt.HasCA, rt.HTTPSocket)
	return rt
}

// argv is the command line that runs prog with args in the right root
// for node n (nil: no node directories mounted).
func (rt *keaRuntime) argv(n *keaNode, prog string, args ...string) []string {
	env := []string{"KEA_PIDFILE_DIR=" + n.runDir(), "KEA_LOCKFILE_DIR=" + n.runDir()}
	if rt.root == nil {
		return append(append([]string{"env"}, env...), append([]string{prog}, args...)...)
	}
	var mounts []rootfs.Mount
	if n != nil {
		mounts = []rootfs.Mount{
			{Source: n.Dir},
			{Source: filepath.Join(n.Dir, "run"), Target: "/run/kea"},
			{Source: filepath.Join(n.Dir, "lib"), Target: "/var/lib/kea"},
			{Source: filepath.Join(n.Dir, "log"), Target: "/var/log/kea"},
		}
	}
	return rt.root.Argv(rootfs.Cmd{Mounts: mounts, Env: env, Argv: append([]string{prog}, args...)})
}

// command runs prog in the host's network namespace (checks, -V).
func (rt *keaRuntime) command(n *keaNode, prog string, args ...string) *exec.Cmd {
	a := rt.argv(n, prog, args...)
	return exec.Command(a[0], a[1:]...)
}

// nft runs nft (from a rootfs: the host has none) inside h's namespace.
func nft(t *testing.T, h *netnstest.Host, rules string) {
	t.Helper()
	r := rootfs.Get(t, "trixie")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules.nft"), rules, 0o600)
	out, err := h.Run(t, r.Argv(rootfs.Cmd{Mounts: []rootfs.Mount{{Source: dir}}, Argv: []string{"nft", "-f", filepath.Join(dir, "rules.nft")}})...)
	if err != nil {
		t.Fatalf("nft in %s: %v\n%s", h.NS, err, out)
	}
}

// keaNode is one Kea server: kea-dhcp4 and, where shipped, its Control Agent.
type keaNode struct {
	Name string // kea-a, kea-b
	Host *netnstest.Host
	// Dir holds the configurations; for a rootfs version also run/, lib/
	// and log/, bound to /run/kea, /var/lib/kea and /var/log/kea.
	Dir string
	rt  *keaRuntime
	// Socket is the UNIX control socket's path on the host (where the
	// exporter and the test dial it); SocketIn as kea-dhcp4 sees it.
	Socket, SocketIn string
	DHCP, CA         *netnstest.Proc
	primary          bool
}

func (n *keaNode) runDir() string {
	if n == nil {
		return "/run/kea"
	}
	if n.rt.root == nil {
		return n.Dir
	}
	return "/run/kea"
}

// leaseFile is the memfile path as kea-dhcp4 sees it, and on the host.
func (n *keaNode) leaseFile() (in, host string) {
	if n.rt.root == nil {
		p := filepath.Join(n.Dir, "leases4.csv")
		return p, p
	}
	return "/var/lib/kea/leases4.csv", filepath.Join(n.Dir, "lib", "leases4.csv")
}

func newKeaNode(t *testing.T, rt *keaRuntime, name string, h *netnstest.Host, primary bool) *keaNode {
	dir := t.TempDir()
	n := &keaNode{Name: name, Host: h, Dir: dir, rt: rt, primary: primary}
	if rt.root == nil {
		n.Socket = filepath.Join(dir, "kea4.sock")
		n.SocketIn = n.Socket
		return n
	}
	for _, d := range []string{"run", "lib", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	// Kea 2.6.3 wants its socket directory exactly 750.
	if err := os.Chmod(filepath.Join(dir, "run"), 0o750); err != nil {
		t.Fatal(err)
	}
	n.Socket = filepath.Join(dir, "run", "kea4.sock")
	n.SocketIn = "/run/kea/kea4.sock"
	return n
}

// statusGet asks n's UNIX socket for status-get, independently of the code
// under test, and returns the raw answer.
func statusGet(n *keaNode) ([]byte, error) { return unixCommand(n.Socket, `{"command":"status-get"}`) }

func unixCommand(path, cmd string) ([]byte, error) {
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := json.NewDecoder(io.LimitReader(c, 1<<20)).Decode(&raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// haStates reads the local state and the partner's last state of every
// relationship of a status-get answer, by local server-name where Kea
// reports it (2.6+), else "".
func haStates(raw []byte) (map[string][2]string, error) {
	var a struct {
		Arguments struct {
			HA []struct {
				Servers struct {
					Local struct {
						State      string `json:"state"`
						ServerName string `json:"server-name"`
					} `json:"local"`
					Remote struct {
						LastState string `json:"last-state"`
					} `json:"remote"`
				} `json:"ha-servers"`
			} `json:"high-availability"`
		} `json:"arguments"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	if len(a.Arguments.HA) == 0 {
		return nil, fmt.Errorf("no HA status")
	}
	out := map[string][2]string{}
	for _, r := range a.Arguments.HA {
		out[r.Servers.Local.ServerName] = [2]string{r.Servers.Local.State, r.Servers.Remote.LastState}
	}
	return out, nil
}

// recordDir is where recorded answers go: DFE_KEA_RECORD=1 makes every
// Kea test write each distinct status-get and ha-heartbeat answer it sees
// into kea/testdata/recorded/ (reviewed and committed by hand).
func recordDir() string {
	if os.Getenv("DFE_KEA_RECORD") != "1" {
		return ""
	}
	return filepath.Join("..", "kea", "testdata", "recorded")
}

// recorder polls the nodes' UNIX sockets every 100 ms while a test runs
// and saves one answer per (version, mode, node, states) seen.
type recorder struct {
	mu   sync.Mutex
	seen map[string]bool
	stop chan struct{}
	done chan struct{}
}

func startRecorder(t *testing.T, p *keaPair) {
	dir := recordDir()
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &recorder{seen: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { close(r.stop); <-r.done })
	go func() {
		defer close(r.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
			for _, n := range []*keaNode{p.A, p.B} {
				for _, c := range []struct{ cmd, body string }{
					{"status-get", `{"command":"status-get"}`},
					{"ha-heartbeat", `{"command":"ha-heartbeat"}`},
				} {
					raw, err := unixCommand(n.Socket, c.body)
					if err != nil {
						continue
					}
					st, err := haStates(raw)
					if c.cmd == "ha-heartbeat" {
						var hb struct {
							Arguments struct{ State string } `json:"arguments"`
						}
						if json.Unmarshal(raw, &hb) != nil || hb.Arguments.State == "" {
							continue
						}
						st, err = map[string][2]string{"": {hb.Arguments.State, ""}}, nil
					}
					if err != nil {
						continue
					}
					key := fmt.Sprintf("%s-%s-%s-%s-unix-%s", c.cmd, p.rt.Line, p.mode, p.scenario.get(), n.Name) + stateKey(st)
					if commInterrupted(raw) {
						key += "-comm-interrupted"
					}
					r.mu.Lock()
					dup := r.seen[key]
					r.seen[key] = true
					r.mu.Unlock()
					if dup {
						continue
					}
					var pretty strings.Builder
					var v any
					if json.Unmarshal(raw, &v) == nil {
						enc := json.NewEncoder(&pretty)
						enc.SetIndent("", "    ")
						_ = enc.Encode(v)
					}
					_ = os.WriteFile(filepath.Join(dir, key+".json"), []byte(pretty.String()), 0o644)
				}
				// The HTTP transports' own framing (a list from the Control
				// Agent and from Kea 3.0's socket), in steady scenarios.
				if sc := p.scenario.get(); sc == "pair" || sc == "hub" {
					r.recordHTTP(p, n, dir)
				}
			}
		}
	}()
}

// commInterrupted reports whether any relationship of a status-get answer
// has remote.communication-interrupted set.
func commInterrupted(raw []byte) bool {
	var a struct {
		Arguments struct {
			HA []struct {
				Servers struct {
					Remote struct {
						CommInt bool `json:"communication-interrupted"`
					} `json:"remote"`
				} `json:"ha-servers"`
			} `json:"high-availability"`
		} `json:"arguments"`
	}
	if json.Unmarshal(raw, &a) != nil {
		return false
	}
	for _, r := range a.Arguments.HA {
		if r.Servers.Remote.CommInt {
			return true
		}
	}
	return false
}

// stateKey names the states of a status-get answer, relationships sorted
// by server name.
func stateKey(st map[string][2]string) string {
	var names []string
	for srv := range st {
		names = append(names, srv)
	}
	sort.Strings(names)
	key := ""
	for _, srv := range names {
		s := st[srv]
		key += "-" + strings.TrimPrefix(srv+"_", "_") + s[0]
		if s[1] != "" {
			key += "_partner_" + s[1]
		}
	}
	return key
}

// recordHTTP records status-get through n's Control Agent and (Kea 3.0+)
// its own HTTP socket, as the exporter sends it.
func (r *recorder) recordHTTP(p *keaPair, n *keaNode, dir string) {
	type via struct {
		name, body string
		port       int
	}
	var vias []via
	if p.rt.HasCA {
		vias = append(vias, via{"ca", `{"command":"status-get","service":["dhcp4"]}`, keaCAPort})
	}
	if p.rt.HTTPSocket {
		vias = append(vias, via{"http", `{"command":"status-get"}`, keaHTTPPort})
	}
	for _, v := range vias {
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s:%d/", n.Host.Addr, v.port), strings.NewReader(v.body))
		if err != nil {
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("exporter", p.ExporterPassword)
		resp, err := n.Host.HTTPClient().Do(req)
		if err != nil {
			continue
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			continue
		}
		// One-element list: the states are in its element.
		inner := raw
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) == nil && len(list) == 1 {
			inner = list[0]
		}
		st, err := haStates(inner)
		if err != nil {
			continue
		}
		key := fmt.Sprintf("status-get-%s-%s-%s-%s-%s", p.rt.Line, p.mode, p.scenario.get(), v.name, n.Name) + stateKey(st)
		r.mu.Lock()
		dup := r.seen[key]
		r.seen[key] = true
		r.mu.Unlock()
		if dup {
			continue
		}
		var pretty strings.Builder
		var x any
		if json.Unmarshal(raw, &x) == nil {
			enc := json.NewEncoder(&pretty)
			enc.SetIndent("", "    ")
			_ = enc.Encode(x)
		}
		_ = os.WriteFile(filepath.Join(dir, key+".json"), []byte(pretty.String()), 0o644)
	}
}

// scenarioName names the recorded answers of the scenario running now;
// the recorder reads it from its own goroutine.
type scenarioName struct {
	mu sync.Mutex
	s  string
}

func newScenario(s string) *scenarioName { return &scenarioName{s: s} }

func (n *scenarioName) set(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.s = s
}

func (n *scenarioName) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.s
}

// newKeaLab is the Kea tests' lab (one at a time per machine: its lock).
func newKeaLab(t *testing.T) *netnstest.Lab { return netnstest.NewLab(t, keaPrefix) }
