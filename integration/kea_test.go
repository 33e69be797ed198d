package integration

// A real Kea DHCPv4 High Availability pair in network namespaces (each
// kea-dhcp4 with its kea-ctrl-agent, HA over the agents with basic auth),
// and the exporter watching both from a third namespace over the Control
// Agent and over the UNIX control socket. Everything is built by the test
// in its own namespaces ("dfekea-*") and temp directories, and removed in
// t.Cleanup, also when the test fails.
//
//	dfekea-sw   bridge
//	dfekea-a    kea-a: kea-dhcp4 + kea-ctrl-agent 10.251.9.1:8000 (primary)
//	dfekea-b    kea-b: kea-dhcp4 + kea-ctrl-agent 10.251.9.2:8000 (standby / secondary)
//	dfekea-mon  exporter 10.251.9.3:9647
//
// UNIX sockets live in the file system, not in a network namespace: the
// exporter reaches kea-a's control socket by its path.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
)

const (
	keaPrefix       = "dfekea"
	keaRelationship = "kea-pair"
	keaCAPort       = 8000
	// keaHTTPPort is the daemon's own HTTP control socket (Kea 3.0+).
	keaHTTPPort = 8004
	// keaSyncLeases pre-loads the primary, so that a restarted partner
	// has leases to fetch when it resyncs. Kea 2.2 runs that sync to
	// completion without serving its control channel (with or without
	// multi-threading: a 2000-lease sync made status-get time out for its
	// 2.3 s), so `syncing` (RECOVER) cannot be seen by polling; the sync is
	// kept short for the poll not to time out.
	keaSyncLeases = 50
)

type keaPair struct {
	t          *testing.T
	rt         *keaRuntime
	lab        *netnstest.Lab
	A, B       *keaNode
	Mon        *netnstest.Host
	mode       string
	scenario   *scenarioName // for recorded answers' names
	haPassword string
	// ExporterPassword is the exporter's basic auth password on both
	// Control Agents and HTTP sockets.
	ExporterPassword string
	// tls, when set, are the TLS keys (trust-anchor, cert-file, ...)
	// of the Control Agent and the daemon's HTTP socket.
	tls map[string]any
	// mt: multi-threading, HA on its own dedicated listener.
	mt bool
	// sharedNetworks, when set, is the Dhcp4 shared-networks list;
	// hooks are further hook libraries (file names in the hooks
	// directory), loaded before lease_cmds and ha.
	sharedNetworks []map[string]any
	hooks          []string
}

// startKeaPair builds the lab and starts both servers in mode
// (hot-standby or load-balancing), returning once both are operational.
func startKeaPair(t *testing.T, rt *keaRuntime, mode, scenario string) *keaPair {
	t.Helper()
	p := &keaPair{t: t, rt: rt, mode: mode, scenario: newScenario(scenario), haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
	p.lab = netnstest.NewLab(t, keaPrefix)
	p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
	p.B = newKeaNode(t, rt, "kea-b", p.lab.AddHost("b", "10.251.9.2/24"), false)
	p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
	p.writeConfigs(p.A)
	p.writeConfigs(p.B)
	p.writeLeases(p.A, keaSyncLeases)
	startRecorder(t, p)
	p.Start(p.A)
	p.Start(p.B)
	p.WaitOperational(30 * time.Second)
	return p
}

// haURLPort is where the partners send each other HA commands: the
// Control Agent on Kea 2.x, the daemon's own HTTP socket on 3.0+.
func (p *keaPair) haURLPort() int {
	if p.mt {
		return keaHAListenerPort
	}
	if p.rt.HTTPSocket {
		return keaHTTPPort
	}
	return keaCAPort
}

// The HA timers are short: in load-balancing a heartbeat every second and
// the partner declared unresponsive after 5 s (the survivor enters
// communication-recovery, which needs delayed-updates-limit, at the first
// failed heartbeat and stays about 4 s, long enough for 1 s polls). In hot-standby (which goes straight to partner-down) a heartbeat
// every 2 s: a restarted standby stays `ready` until the next heartbeat,
// and 2 s lets a 1 s poll see it.
var keaDHCP4Conf = template.Must(template.New("kea-dhcp4.conf").Parse(`{
"Dhcp4": {
    "interfaces-config": { "interfaces": [ "eth0" ], "dhcp-socket-type": "udp" },
{{- if .HTTPSocket}}
    "control-sockets": [
        { "socket-type": "unix", "socket-name": "{{.Socket}}" },
        { "socket-type": "http", "socket-address": "{{.Addr}}", "socket-port": {{.HTTPPort}},
          "authentication": { "type": "basic", "realm": "kea-test",
              "clients": [ { "user": "ha", "password": "{{.HAPassword}}" },
                           { "user": "exporter", "password": "{{.ExporterPassword}}" } ] } }
    ],
{{- else}}
    "control-socket": { "socket-type": "unix", "socket-name": "{{.Socket}}" },
{{- end}}
    "lease-database": { "type": "memfile", "persist": true, "name": "{{.LeaseFile}}", "lfc-interval": 0 },
    "multi-threading": { "enable-multi-threading": false },
    "valid-lifetime": 3600,
    "hooks-libraries": [
        { "library": "{{.Hooks}}/libdhcp_lease_cmds.so" },
        { "library": "{{.Hooks}}/libdhcp_stat_cmds.so" },
        { "library": "{{.Hooks}}/libdhcp_ha.so",
          "parameters": { "high-availability": [ {
                "this-server-name": "{{.Name}}",
                "mode": "{{.Mode}}",
                "heartbeat-delay": {{.Heartbeat}},
                "max-response-delay": {{.MaxResponse}},
                "max-ack-delay": 1000,
                "max-unacked-clients": 0,
                "sync-timeout": 10000,
                "sync-page-limit": 10,
                {{if eq .Mode "load-balancing"}}"delayed-updates-limit": 10,{{end}}
                "peers": [
                    { "name": "kea-a", "url": "http://10.251.9.1:{{.Port}}/", "role": "primary", "auto-failover": true,
                      "basic-auth-user": "ha", "basic-auth-password": "{{.HAPassword}}" },
                    { "name": "kea-b", "url": "http://10.251.9.2:{{.Port}}/", "role": "{{.RoleB}}", "auto-failover": true,
                      "basic-auth-user": "ha", "basic-auth-password": "{{.HAPassword}}" }
                ]
          } ] } }
    ],
    "subnet4": [ { "id": 1, "subnet": "10.251.0.0/16",
                   "pools": [ { "pool": "10.251.100.0 - 10.251.200.255" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
}
}
`))

var keaCAConf = template.Must(template.New("kea-ctrl-agent.conf").Parse(`{
"Control-agent": {
    "http-host": "{{.Addr}}",
    "http-port": {{.CAPort}},
    "authentication": { "type": "basic", "realm": "kea-test",
        "clients": [ { "user": "ha", "password": "{{.HAPassword}}" },
                     { "user": "exporter", "password": "{{.ExporterPassword}}" } ] },
    "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": "{{.Socket}}" } },
    "loggers": [ { "name": "kea-ctrl-agent", "output_options": [ { "output": "stdout" } ], "severity": "INFO" } ]
}
}
`))

func (p *keaPair) writeConfigs(n *keaNode) {
	p.t.Helper()
	roleB := "standby"
	switch p.mode {
	case "load-balancing":
		roleB = "secondary"
	case "passive-backup":
		roleB = "backup"
	}
	leaseIn, _ := n.leaseFile()
	data := map[string]any{
		"Socket": n.SocketIn, "LeaseFile": leaseIn, "Hooks": p.rt.hooks, "Name": n.Name, "Mode": p.mode,
		"Port": p.haURLPort(), "CAPort": keaCAPort, "HTTPPort": keaHTTPPort, "HTTPSocket": p.rt.HTTPSocket,
		"HAPassword": p.haPassword, "ExporterPassword": p.ExporterPassword,
		"RoleB": roleB, "Addr": n.Host.Addr.String(), "Heartbeat": 2000, "MaxResponse": 4000,
	}
	if p.mode == "load-balancing" {
		data["Heartbeat"], data["MaxResponse"] = 1000, 5000
	}
	for _, c := range []struct {
		tmpl *template.Template
		file string
	}{{keaDHCP4Conf, "kea-dhcp4.conf"}, {keaCAConf, "kea-ctrl-agent.conf"}} {
		if c.file == "kea-ctrl-agent.conf" && !p.rt.HasCA {
			continue
		}
		var b strings.Builder
		if err := c.tmpl.Execute(&b, data); err != nil {
			p.t.Fatal(err)
		}
		writeFile(p.t, filepath.Join(n.Dir, c.file), b.String(), 0o600)
	}
	// kea-dhcp4 -t checks the configuration without starting.
	if out, err := p.rt.command(n, "kea-dhcp4", "-t", filepath.Join(n.Dir, "kea-dhcp4.conf")).CombinedOutput(); err != nil {
		p.t.Fatalf("kea-dhcp4 -t %s: %v\n%s", n.Name, err, out)
	}
}

// writeLeases writes count (at most 61,000) active leases into n's
// memfile (Kea 2.x CSV), clear of the lab's own 10.251.9.0/24.
func (p *keaPair) writeLeases(n *keaNode, count int) {
	p.t.Helper()
	var b strings.Builder
	b.WriteString("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n")
	expire := time.Now().Add(time.Hour).Unix()
	// Inside the pool (10.251.100.0 - 10.251.200.255) while they fit, as
	// the pool statistics expect; beyond, from 10.251.10.1 up.
	base := 100
	if count > 101*250 {
		base = 10
	}
	for i := 0; i < count; i++ {
		fmt.Fprintf(&b, "10.251.%d.%d,02:fc:00:00:%02x:%02x,,3600,%d,1,0,0,,0,\n", base+i/250, 1+i%250, i/256, i%256, expire)
	}
	_, host := n.leaseFile()
	writeFile(p.t, host, b.String(), 0o600)
}

// Start starts n's kea-dhcp4 and its Control Agent (where shipped).
func (p *keaPair) Start(n *keaNode) {
	p.t.Helper()
	run := n.Dir
	if p.rt.root != nil {
		run = filepath.Join(n.Dir, "run")
	}
	for _, f := range []string{"kea-dhcp4.kea-dhcp4.pid", "kea-ctrl-agent.kea-ctrl-agent.pid", "kea4.sock.lock"} {
		os.Remove(filepath.Join(run, f))
	}
	os.Remove(n.Socket)
	n.DHCP = n.Host.Start(p.t, "kea-dhcp4", p.rt.argv(n, "kea-dhcp4", "-c", filepath.Join(n.Dir, "kea-dhcp4.conf"))...)
	n.CA = nil
	if p.rt.HasCA {
		n.CA = n.Host.Start(p.t, "kea-ctrl-agent", p.rt.argv(n, "kea-ctrl-agent", "-c", filepath.Join(n.Dir, "kea-ctrl-agent.conf"))...)
	}
	waitFor(p.t, 20*time.Second, n.Name+"'s control socket", func() error {
		if n.DHCP.Exited() {
			p.t.Fatalf("kea-dhcp4 %s exited:\n%s", n.Name, n.DHCP.Log())
		}
		if n.CA != nil && n.CA.Exited() {
			p.t.Fatalf("kea-ctrl-agent %s exited:\n%s", n.Name, n.CA.Log())
		}
		_, err := os.Stat(n.Socket)
		return err
	})
}

// Kill SIGKILLs n's kea-dhcp4 and its Control Agent.
func (p *keaPair) Kill(n *keaNode) {
	p.t.Helper()
	for _, proc := range n.procs() {
		if err := proc.Signal(syscall.SIGKILL); err != nil {
			p.t.Fatal(err)
		}
		_ = proc.Wait(5 * time.Second)
	}
}

// Stop stops both servers (SIGTERM), for a pair rebuilt in another mode.
func (p *keaPair) Stop() {
	for _, n := range []*keaNode{p.A, p.B} {
		for _, proc := range n.procs() {
			_ = proc.Signal(syscall.SIGTERM)
			_ = proc.Wait(5 * time.Second)
		}
	}
}

func (n *keaNode) procs() []*netnstest.Proc {
	if n.CA == nil {
		return []*netnstest.Proc{n.DHCP}
	}
	return []*netnstest.Proc{n.DHCP, n.CA}
}

// haState asks n's UNIX socket for the HA state of its (first)
// relationship, independently of the code under test.
func (p *keaPair) haState(n *keaNode) (local, remote string, err error) {
	raw, err := statusGet(n)
	if err != nil {
		return "", "", err
	}
	st, err := haStates(raw)
	if err != nil {
		return "", "", fmt.Errorf("%s: %v", n.Name, err)
	}
	for _, s := range st {
		return s[0], s[1], nil
	}
	return "", "", nil
}

// WaitOperational waits until both servers are in their operational state
// and see each other in it.
func (p *keaPair) WaitOperational(timeout time.Duration) {
	p.t.Helper()
	want := p.mode
	waitFor(p.t, timeout, "both Kea servers "+want, func() error {
		for _, n := range []*keaNode{p.A, p.B} {
			l, r, err := p.haState(n)
			if err != nil {
				return err
			}
			if l != want || r != want {
				return fmt.Errorf("%s: state %q partner %q", n.Name, l, r)
			}
		}
		return nil
	})
}

// keaCutRules cut kea-a from kea-b (both directions) inside kea-a's
// namespace; the exporter at 10.251.9.3 still reaches both.
const keaCutRules = `table inet dfecut {
	chain in { type filter hook input priority 0; ip saddr 10.251.9.2 drop; }
	chain out { type filter hook output priority 0; ip daddr 10.251.9.2 drop; }
}
`

// exporterConfig: kea-a and kea-b through their Control Agents (or, on
// a Kea without one, their own HTTP sockets; basic auth, password from a
// file), kea-a also through its UNIX socket and (Kea 3.0+) its own HTTP
// socket, and the failing targets of the error scenarios. Polls every
// second.
func (p *keaPair) exporterConfig(wrongPassword string) string {
	dir := p.t.TempDir()
	pwFile := filepath.Join(dir, "kea-password")
	writeFile(p.t, pwFile, p.ExporterPassword+"\n", 0o600)
	port, service := keaCAPort, ""
	if !p.rt.HasCA {
		port, service = keaHTTPPort, `service: "", `
	}
	cfg := fmt.Sprintf(`targets:
- {name: kea-a, source: kea, url: "http://10.251.9.1:%[1]d/", %[7]srelationship: %[2]s, ha_heartbeat: true,
   basic_auth: {username: exporter, password_file: %[3]s}, poll_interval: 1s, timeout: 900ms}
- {name: kea-b, source: kea, url: "http://10.251.9.2:%[1]d/", %[7]srelationship: %[2]s,
   basic_auth: {username: exporter, password_file: %[3]s}, poll_interval: 1s, timeout: 900ms}
- {name: kea-a-sock, source: kea, socket: %[4]s, relationship: %[2]s, poll_interval: 1s, timeout: 900ms}
- {name: kea-wrong-password, source: kea, url: "http://10.251.9.1:%[1]d/", %[7]srelationship: %[2]s,
   basic_auth: {username: exporter, password: "%[5]s"}, poll_interval: 1s, timeout: 900ms}
- {name: kea-no-socket, source: kea, socket: %[6]s, relationship: %[2]s, poll_interval: 1s, timeout: 900ms}
`, port, keaRelationship, pwFile, p.A.Socket, wrongPassword, filepath.Join(dir, "missing.sock"), service)
	if p.rt.HTTPSocket {
		cfg += fmt.Sprintf(`- {name: kea-a-http, source: kea, url: "http://10.251.9.1:%d/", service: "", relationship: %s, ha_heartbeat: true,
   basic_auth: {username: exporter, password_file: %s}, poll_interval: 1s, timeout: 900ms}
`, keaHTTPPort, keaRelationship, pwFile)
	}
	return cfg
}

// upTargets are the targets of a healthy pair: the main transport to both,
// and every other transport the version ships to kea-a.
func (p *keaPair) upTargets() []string {
	t := []string{"kea-a", "kea-b", "kea-a-sock"}
	if p.rt.HTTPSocket {
		t = append(t, "kea-a-http")
	}
	return t
}

// forEachKea runs f as a subtest per Kea version.
func forEachKea(t *testing.T, f func(t *testing.T, rt *keaRuntime)) {
	for _, v := range keaVersions {
		t.Run("kea-"+v.Line, func(t *testing.T) { f(t, newKeaRuntime(t, v)) })
	}
}

func wantState(m metrics, target, side, state string) error {
	if got := m.State(target, side); got != state {
		return fmt.Errorf("%s %s state is %q, want %s", target, side, got, state)
	}
	return nil
}

// TestKeaHotStandby: a real hot-standby pair of every version; pair up,
// the errors of failing targets, the standby killed, then restarted.
func TestKeaHotStandby(t *testing.T) { forEachKea(t, testKeaHotStandby) }

func testKeaHotStandby(t *testing.T, rt *keaRuntime) {
	p := startKeaPair(t, rt, "hot-standby", "kill")
	wrong := "wrong-" + randomSecret(t)
	e := startExporter(t, p.Mon, p.exporterConfig(wrong))

	// 1. Pair up: both NORMAL (native hot-standby), roles right, up=1.
	start := time.Now()
	m := e.Wait(15*time.Second, "both servers NORMAL in /metrics", func(m metrics) error {
		for _, tg := range p.upTargets() {
			if m.Get("dhcp_failover_up", "target", tg) != 1 {
				return fmt.Errorf("%s not up", tg)
			}
			for _, side := range []string{"local", "partner"} {
				if err := wantState(m, tg, side, "NORMAL"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	t.Logf("scenario 1: NORMAL on both in %s", time.Since(start).Round(time.Millisecond))
	roles := []struct{ target, role string }{{"kea-a", "primary"}, {"kea-b", "standby"}, {"kea-a-sock", "primary"}}
	if rt.HTTPSocket {
		roles = append(roles, struct{ target, role string }{"kea-a-http", "primary"})
	}
	for _, c := range roles {
		if v := m.Get("dhcp_failover_relationship_info", "target", c.target, "relationship", keaRelationship, "vendor", "kea", "role", c.role, "mode", "hot-standby"); v != 1 {
			t.Errorf("%s: relationship_info role=%s mode=hot-standby is %v", c.target, c.role, v)
		}
	}
	for _, side := range []string{"local", "partner"} {
		if v := m.Get("dhcp_failover_native_state_info", "target", "kea-a", "relationship", keaRelationship, "side", side, "state", "hot-standby"); v != 1 {
			t.Errorf("kea-a %s native state hot-standby: %v", side, v)
		}
	}
	if v := m.Get("dhcp_failover_communication_interrupted", "target", "kea-a", "relationship", keaRelationship); v != 0 {
		t.Errorf("communication_interrupted %v", v)
	}
	if v := m.Get("dhcp_failover_kea_unsent_updates", "target", "kea-a", "relationship", keaRelationship); v != 0 {
		t.Errorf("kea_unsent_updates (ha-heartbeat through the Control Agent) = %v, want 0", v)
	}
	if v := m.Get("dhcp_failover_kea_partner_in_touch", "target", "kea-a", "relationship", keaRelationship); v != 1 {
		t.Errorf("kea_partner_in_touch = %v", v)
	}
	if lc := m.Get("dhcp_failover_partner_last_contact_timestamp_seconds", "target", "kea-a", "relationship", keaRelationship); math.IsNaN(lc) || math.Abs(float64(time.Now().Unix())-lc) > 10 {
		t.Errorf("partner last contact %v", lc)
	}

	// 5 (part). Wrong password: auth; missing UNIX socket: connect.
	m = e.Wait(10*time.Second, "classified errors of the failing targets", func(m metrics) error {
		if v := m.Get("dhcp_failover_poll_errors_total", "target", "kea-wrong-password", "reason", "auth"); !(v >= 1) {
			return fmt.Errorf("kea-wrong-password auth errors %v", v)
		}
		if v := m.Get("dhcp_failover_poll_errors_total", "target", "kea-no-socket", "reason", "connect"); !(v >= 1) {
			return fmt.Errorf("kea-no-socket connect errors %v", v)
		}
		return nil
	})
	for _, tg := range []string{"kea-wrong-password", "kea-no-socket"} {
		if v := m.Get("dhcp_failover_up", "target", tg); v != 0 {
			t.Errorf("%s up = %v", tg, v)
		}
	}

	// 2. Kill the standby (kea-dhcp4 and its Control Agent): the primary
	// reaches PARTNER_DOWN; the standby target is down, its Control Agent
	// unreachable (connect); the transition is counted.
	killed := time.Now()
	p.Kill(p.B)
	// About 5-8 s (heartbeat, max-response-delay, a poll); 30 s for a
	// loaded machine.
	m = e.Wait(30*time.Second, "kea-a PARTNER_DOWN", func(m metrics) error {
		if err := wantState(m, "kea-a", "local", "PARTNER_DOWN"); err != nil {
			return err
		}
		if m.Get("dhcp_failover_up", "target", "kea-b") != 0 {
			return fmt.Errorf("kea-b still up")
		}
		return nil
	})
	t.Logf("scenario 2: kea-a PARTNER_DOWN %s after the kill", time.Since(killed).Round(time.Millisecond))
	if err := wantState(m, "kea-a", "partner", "NO_STATE"); err != nil { // last-state "unavailable"
		t.Error(err)
	}
	if v := m.Get("dhcp_failover_native_state_info", "target", "kea-a", "relationship", keaRelationship, "side", "partner", "state", "unavailable"); v != 1 {
		t.Errorf("kea-a partner native unavailable: %v", v)
	}
	if v := m.Get("dhcp_failover_communication_interrupted", "target", "kea-a", "relationship", keaRelationship); v != 1 {
		t.Errorf("communication_interrupted %v in partner-down", v)
	}
	toDown := m.Sum("dhcp_failover_state_transitions_total", "target", "kea-a", "side", "local", "to", "PARTNER_DOWN")
	if toDown != 1 {
		t.Errorf("kea-a local transitions to PARTNER_DOWN = %v, want 1", toDown)
	}
	if v := m.Sum("dhcp_failover_state_transitions_total", "target", "kea-a", "side", "local", "from", "NORMAL"); v != 1 {
		t.Errorf("kea-a local transitions from NORMAL = %v, want 1 (to PARTNER_DOWN directly or via COMMUNICATION_INT)", v)
	}
	if v := m.Get("dhcp_failover_poll_errors_total", "target", "kea-b", "reason", "connect"); !(v >= 1) {
		t.Errorf("kea-b connect errors (Control Agent down) = %v", v)
	}

	// 3. Restart it: it waits (STARTUP), syncs from the primary (RECOVER,
	// a few ms, and Kea answers no command meanwhile), is ready
	// (RECOVER_DONE), then both return to NORMAL.
	restarted := time.Now()
	p.Start(p.B)
	seen := map[string]bool{}
	e.Wait(30*time.Second, "both NORMAL again", func(m metrics) error {
		seen["b:"+m.State("kea-b", "local")] = true
		seen["a-partner:"+m.State("kea-a", "partner")] = true
		for _, tg := range []string{"kea-a", "kea-b"} {
			for _, side := range []string{"local", "partner"} {
				if err := wantState(m, tg, side, "NORMAL"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	t.Logf("scenario 3: both NORMAL %s after the restart; states seen: %v", time.Since(restarted).Round(time.Millisecond), seen)
	m, body, err := e.scrape()
	if err != nil {
		t.Fatal(err)
	}
	// waiting (STARTUP) and ready (RECOVER_DONE), as the restarted
	// server reports itself or as its partner reports it.
	for _, to := range []string{"STARTUP", "RECOVER_DONE"} {
		v := m.Sum("dhcp_failover_state_transitions_total", "target", "kea-b", "side", "local", "to", to) +
			m.Sum("dhcp_failover_state_transitions_total", "target", "kea-a", "side", "partner", "to", to)
		if v < 1 {
			t.Errorf("transitions to %s of kea-b (its own or kea-a's view) = %v, want ≥ 1 (states seen: %v)", to, v, seen)
		}
	}
	if v := m.Get("dhcp_failover_poll_errors_total", "target", "kea-b", "reason", "timeout"); v != 0 {
		t.Errorf("kea-b timed out %v times (a long resync blocks Kea's control channel)", v)
	}
	if v := m.Sum("dhcp_failover_state_transitions_total", "target", "kea-a", "side", "local", "from", "PARTNER_DOWN", "to", "NORMAL"); v != 1 {
		t.Errorf("kea-a PARTNER_DOWN → NORMAL transitions = %v", v)
	}

	// 4. The partners cut from each other while the exporter reaches
	// both. A hot-standby pair goes from hot-standby straight to
	// partner-down (max-unacked-clients 0), with communication-interrupted
	// set there.
	m = p.cutAndHeal(e, false)

	// 6. The DHCP daemon dead behind a live Control Agent: the target is
	// down with reason connect (the agent's "unable to forward").
	if rt.HasCA {
		p.scenario.set("dhcp-dead")
		if err := p.B.DHCP.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.B.DHCP.Wait(5 * time.Second)
		before := m.Get("dhcp_failover_poll_errors_total", "target", "kea-b", "reason", "connect")
		e.Wait(30*time.Second, "kea-b down behind its live Control Agent", func(m metrics) error {
			if m.Get("dhcp_failover_up", "target", "kea-b") != 0 {
				return fmt.Errorf("kea-b still up")
			}
			if v := m.Get("dhcp_failover_poll_errors_total", "target", "kea-b", "reason", "connect"); !(v > before) {
				return fmt.Errorf("kea-b connect errors %v", v)
			}
			return nil
		})
		if !strings.Contains(e.Proc.Log(), "likely to be offline") && !strings.Contains(e.Proc.Log(), "unable to forward") && !strings.Contains(e.Proc.Log(), "service unavailable") {
			t.Errorf("the exporter's log does not say the daemon behind the Control Agent is down")
		}
	}

	// 5 (end). No secret anywhere: not in /metrics, not in the exporter's
	// log (debug level logs every failed poll with its error).
	for _, secret := range []string{p.ExporterPassword, wrong, p.haPassword} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics shows a password")
		}
		if strings.Contains(e.Proc.Log(), secret) {
			t.Errorf("the exporter's log shows a password")
		}
	}
	if !strings.Contains(e.Proc.Log(), "kea-wrong-password") {
		t.Errorf("the exporter's debug log does not mention the failing target:\n%s", e.Proc.Log())
	}
}

// TestKeaLoadBalancing: in load-balancing the survivor of a killed
// partner goes through communication-recovery (COMMUNICATION_INT) to
// partner-down.
func TestKeaLoadBalancing(t *testing.T) { forEachKea(t, testKeaLoadBalancing) }

func testKeaLoadBalancing(t *testing.T, rt *keaRuntime) {
	p := startKeaPair(t, rt, "load-balancing", "kill")
	e := startExporter(t, p.Mon, p.exporterConfig("wrong-"+randomSecret(t)))
	m := e.Wait(15*time.Second, "both NORMAL", func(m metrics) error {
		for _, tg := range []string{"kea-a", "kea-b"} {
			if err := wantState(m, tg, "local", "NORMAL"); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct{ target, role string }{{"kea-a", "primary"}, {"kea-b", "secondary"}} {
		if v := m.Get("dhcp_failover_relationship_info", "target", c.target, "relationship", keaRelationship, "vendor", "kea", "role", c.role, "mode", "load-balance"); v != 1 {
			t.Errorf("%s: relationship_info role=%s mode=load-balance is %v", c.target, c.role, v)
		}
	}
	if v := m.Get("dhcp_failover_native_state_info", "target", "kea-a", "relationship", keaRelationship, "side", "local", "state", "load-balancing"); v != 1 {
		t.Errorf("native load-balancing: %v", v)
	}

	// Packets silently dropped: Kea stays in load-balancing with
	// communication-interrupted set (no communication-recovery), shown
	// as COMMUNICATION_INT, then partner-down.
	before := p.cutAndHeal(e, true)
	p.scenario.set("kill")

	killed := time.Now()
	p.Kill(p.B)
	var sawCommInt time.Duration
	// About 7 s (heartbeat, max-response-delay, a poll); 30 s for a
	// loaded machine.
	e.Wait(30*time.Second, "kea-a PARTNER_DOWN", func(m metrics) error {
		if sawCommInt == 0 && m.State("kea-a", "local") == "COMMUNICATION_INT" {
			sawCommInt = time.Since(killed)
			if v := m.Get("dhcp_failover_native_state_info", "target", "kea-a", "relationship", keaRelationship, "side", "local", "state", "communication-recovery"); v != 1 {
				t.Errorf("COMMUNICATION_INT without native communication-recovery")
			}
		}
		return wantState(m, "kea-a", "local", "PARTNER_DOWN")
	})
	t.Logf("scenario 4: COMMUNICATION_INT seen %s, PARTNER_DOWN %s after the kill", sawCommInt.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	m, _, err := e.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range [][2]string{{"NORMAL", "COMMUNICATION_INT"}, {"COMMUNICATION_INT", "PARTNER_DOWN"}} {
		sel := []string{"target", "kea-a", "side", "local", "from", tr[0], "to", tr[1]}
		if v := m.Sum("dhcp_failover_state_transitions_total", sel...) - before.Sum("dhcp_failover_state_transitions_total", sel...); v != 1 {
			t.Errorf("kea-a %s → %s transitions after the kill = %v, want 1", tr[0], tr[1], v)
		}
	}
}

// cutAndHeal cuts the partners from each other (nft in kea-a's namespace
// drops everything to and from kea-b) while the exporter reaches both:
// both report communication interrupted — as the COMMUNICATION_INT state
// when wantState, as dhcp_failover_communication_interrupted otherwise —
// then PARTNER_DOWN, where Kea decides it; healed, both return to NORMAL.
func (p *keaPair) cutAndHeal(e *exporter, wantCommIntState bool) metrics {
	t := p.t
	p.scenario.set("cut")
	cut := time.Now()
	nft(t, p.A.Host, keaCutRules)
	commIntState, commIntFlag := map[string]time.Duration{}, map[string]bool{}
	e.Wait(90*time.Second, "both PARTNER_DOWN after the cut", func(m metrics) error {
		for _, tg := range []string{"kea-a", "kea-b"} {
			if _, ok := commIntState[tg]; !ok && m.State(tg, "local") == "COMMUNICATION_INT" {
				commIntState[tg] = time.Since(cut)
			}
			if m.Get("dhcp_failover_communication_interrupted", "target", tg, "relationship", keaRelationship) == 1 {
				commIntFlag[tg] = true
			}
		}
		for _, tg := range []string{"kea-a", "kea-b"} {
			if err := wantState(m, tg, "local", "PARTNER_DOWN"); err != nil {
				return err
			}
		}
		return nil
	})
	m, _, err := e.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{"kea-a", "kea-b"} {
		if wantCommIntState {
			if _, ok := commIntState[tg]; !ok {
				t.Errorf("%s never showed COMMUNICATION_INT during the cut", tg)
			}
			if v := m.Sum("dhcp_failover_state_transitions_total", "target", tg, "side", "local", "to", "COMMUNICATION_INT"); v < 1 {
				t.Errorf("%s: transitions to COMMUNICATION_INT = %v", tg, v)
			}
		}
		if !commIntFlag[tg] {
			t.Errorf("%s: communication_interrupted never 1 during the cut", tg)
		}
		if m.Get("dhcp_failover_up", "target", tg) != 1 {
			t.Errorf("%s not up during the cut: the exporter reaches both", tg)
		}
	}
	t.Logf("cut: COMMUNICATION_INT seen %v, both PARTNER_DOWN %s after the cut", commIntState, time.Since(cut).Round(time.Millisecond))
	healed := time.Now()
	nft(t, p.A.Host, "delete table inet dfecut\n")
	m = e.Wait(60*time.Second, "both NORMAL after the heal", func(m metrics) error {
		for _, tg := range []string{"kea-a", "kea-b"} {
			for _, side := range []string{"local", "partner"} {
				if err := wantState(m, tg, side, "NORMAL"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	t.Logf("cut: both NORMAL %s after the heal", time.Since(healed).Round(time.Millisecond))
	return m
}
