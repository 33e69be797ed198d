package integration

// Kea modes beyond a pair in hot-standby or load-balancing: passive-backup
// (no failover, the primary sends lease updates to a backup) and hub and
// spoke (Kea 2.6+: one server in two relationships), on every version
// that has them. Configurations are built as JSON here rather than from
// the pair's template: a hub has one HA entry per relationship.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// haPeer is one peer of an HA relationship.
type haPeer struct {
	Name, Addr, Role string
}

// writeKeaConfig writes n's kea-dhcp4.conf (and kea-ctrl-agent.conf where
// the version ships one) with one HA entry per element of rels, each
// {this-server-name, mode, peers}, and subnets.
func (p *keaPair) writeKeaConfig(n *keaNode, rels []map[string]any, subnets []map[string]any) {
	t := p.t
	t.Helper()
	auth := map[string]any{"type": "basic", "realm": "kea-test", "clients": []any{
		map[string]any{"user": "ha", "password": p.haPassword},
		map[string]any{"user": "exporter", "password": p.ExporterPassword},
	}}
	leaseIn, _ := n.leaseFile()
	d := map[string]any{
		"interfaces-config": map[string]any{"interfaces": []string{"eth0"}, "dhcp-socket-type": "udp"},
		"lease-database":    map[string]any{"type": "memfile", "persist": true, "name": leaseIn, "lfc-interval": 0},
		"multi-threading":   map[string]any{"enable-multi-threading": p.mt, "thread-pool-size": 2, "packet-queue-size": 16},
		"valid-lifetime":    3600,
		"hooks-libraries": []any{
			map[string]any{"library": p.rt.hooks + "/libdhcp_lease_cmds.so"},
			map[string]any{"library": p.rt.hooks + "/libdhcp_ha.so", "parameters": map[string]any{"high-availability": rels}},
		},
		"subnet4": subnets,
		"loggers": []any{map[string]any{"name": "kea-dhcp4", "output_options": []any{map[string]any{"output": "stdout"}}, "severity": "INFO"}},
	}
	if p.sharedNetworks != nil {
		d["shared-networks"] = p.sharedNetworks
	}
	if len(p.hooks) > 0 {
		var hooks []any
		for _, h := range p.hooks {
			hooks = append(hooks, map[string]any{"library": p.rt.hooks + "/" + h})
		}
		d["hooks-libraries"] = append(hooks, d["hooks-libraries"].([]any)...)
	}
	unix := map[string]any{"socket-type": "unix", "socket-name": n.SocketIn}
	if p.rt.HTTPSocket {
		httpSock := map[string]any{"socket-type": "http", "socket-address": n.Host.Addr.String(), "socket-port": keaHTTPPort, "authentication": auth}
		for k, v := range p.tls {
			httpSock[k] = v
		}
		d["control-sockets"] = []any{unix, httpSock}
	} else {
		d["control-socket"] = unix
	}
	b, err := json.MarshalIndent(map[string]any{"Dhcp4": d}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(n.Dir, "kea-dhcp4.conf"), string(b), 0o600)
	if p.rt.HasCA {
		agent := map[string]any{
			"http-host": n.Host.Addr.String(), "http-port": keaCAPort, "authentication": auth,
			"control-sockets": map[string]any{"dhcp4": unix},
			"loggers":         []any{map[string]any{"name": "kea-ctrl-agent", "output_options": []any{map[string]any{"output": "stdout"}}, "severity": "INFO"}},
		}
		for k, v := range p.tls {
			agent[k] = v
		}
		ca := map[string]any{"Control-agent": agent}
		b, _ := json.MarshalIndent(ca, "", "  ")
		writeFile(t, filepath.Join(n.Dir, "kea-ctrl-agent.conf"), string(b), 0o600)
	}
	if out, err := p.rt.command(n, "kea-dhcp4", "-t", filepath.Join(n.Dir, "kea-dhcp4.conf")).CombinedOutput(); err != nil {
		t.Fatalf("kea-dhcp4 -t %s: %v\n%s", n.Name, err, out)
	}
}

// haEntry is one relationship as n sees it.
func (p *keaPair) haEntry(this, mode string, peers ...haPeer) map[string]any {
	var ps []any
	for _, pe := range peers {
		ps = append(ps, map[string]any{"name": pe.Name, "url": fmt.Sprintf("http://%s:%d/", pe.Addr, p.haURLPort()),
			"role": pe.Role, "auto-failover": true, "basic-auth-user": "ha", "basic-auth-password": p.haPassword})
	}
	e := map[string]any{"this-server-name": this, "mode": mode, "heartbeat-delay": 2000, "max-response-delay": 4000,
		"max-ack-delay": 1000, "max-unacked-clients": 0, "sync-timeout": 10000, "sync-page-limit": 10, "peers": ps}
	if p.mt {
		e["multi-threading"] = map[string]any{"enable-multi-threading": true, "http-dedicated-listener": true,
			"http-listener-threads": 2, "http-client-threads": 2}
		e["sync-page-limit"] = 25
		e["sync-timeout"] = 60000
	}
	if mode == "passive-backup" {
		for _, k := range []string{"heartbeat-delay", "max-response-delay", "max-ack-delay", "max-unacked-clients", "sync-timeout", "sync-page-limit"} {
			delete(e, k)
		}
	}
	return e
}

// keaURLTarget is an exporter target through the version's main HTTP
// transport (the Control Agent, else the daemon's own socket).
func (p *keaPair) keaURLTarget(name string, n *keaNode, rel, pwFile string) string {
	port, service := keaCAPort, ""
	if !p.rt.HasCA {
		port, service = keaHTTPPort, `service: "", `
	}
	return fmt.Sprintf("- {name: %s, source: kea, url: \"http://%s:%d/\", %s%s, basic_auth: {username: exporter, password_file: %s}, poll_interval: 1s, timeout: 900ms}\n",
		name, n.Host.Addr, port, service, rel, pwFile)
}

func (p *keaPair) passwordFile() string {
	f := filepath.Join(p.t.TempDir(), "kea-password")
	writeFile(p.t, f, p.ExporterPassword+"\n", 0o600)
	return f
}

// waitKeaStates waits until every node's UNIX socket reports the wanted
// local state for every relationship (by local server-name; "" for Kea
// before 2.6).
func waitKeaStates(t *testing.T, timeout time.Duration, want map[*keaNode]map[string]string) {
	t.Helper()
	waitFor(t, timeout, "the Kea servers' states", func() error {
		for n, rels := range want {
			raw, err := statusGet(n)
			if err != nil {
				return fmt.Errorf("%s: %v", n.Name, err)
			}
			st, err := haStates(raw)
			if err != nil {
				return fmt.Errorf("%s: %v", n.Name, err)
			}
			for srv, state := range rels {
				if got := st[srv][0]; got != state {
					return fmt.Errorf("%s %s: state %q, want %q", n.Name, srv, got, state)
				}
			}
		}
		return nil
	})
}

// relState is the state of one relationship's side as exposed.
func relState(m metrics, target, rel, side string) string {
	for s, v := range m {
		if v == 1 && strings.HasPrefix(s, "dhcp_failover_state{") && strings.Contains(s, fmt.Sprintf("target=%q", target)) &&
			strings.Contains(s, fmt.Sprintf("relationship=%q", rel)) && strings.Contains(s, fmt.Sprintf("side=%q", side)) {
			return label(s, "state")
		}
	}
	return ""
}

// serverName is the local server-name status-get reports: Kea 2.6+ only.
func (rt *keaRuntime) namesServers() bool { return rt.Line != "2.2" }

// TestKeaPassiveBackup: a primary in passive-backup with a backup server;
// both are NORMAL, mode passive-backup, and the primary reports no partner.
func TestKeaPassiveBackup(t *testing.T) {
	forEachKea(t, func(t *testing.T, rt *keaRuntime) {
		p := &keaPair{t: t, rt: rt, mode: "passive-backup", scenario: newScenario("pair"), haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
		p.lab = newKeaLab(t)
		p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
		p.B = newKeaNode(t, rt, "kea-b", p.lab.AddHost("b", "10.251.9.2/24"), false)
		p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
		peers := []haPeer{{"kea-a", "10.251.9.1", "primary"}, {"kea-b", "10.251.9.2", "backup"}}
		subnets := []map[string]any{{"id": 1, "subnet": "10.251.0.0/16", "pools": []any{map[string]any{"pool": "10.251.100.0 - 10.251.200.255"}}}}
		p.writeKeaConfig(p.A, []map[string]any{p.haEntry("kea-a", p.mode, peers...)}, subnets)
		p.writeKeaConfig(p.B, []map[string]any{p.haEntry("kea-b", p.mode, peers...)}, subnets)
		startRecorder(t, p)
		p.Start(p.A)
		p.Start(p.B)
		srv := func(s string) string {
			if rt.namesServers() {
				return s
			}
			return ""
		}
		waitKeaStates(t, 30*time.Second, map[*keaNode]map[string]string{p.A: {srv("kea-a"): "passive-backup"}, p.B: {srv("kea-b"): "backup"}})
		pw := p.passwordFile()
		e := startExporter(t, p.Mon, "targets:\n"+p.keaURLTarget("kea-a", p.A, "relationship: pb", pw)+p.keaURLTarget("kea-b", p.B, "relationship: pb", pw)+
			fmt.Sprintf("- {name: kea-a-sock, source: kea, socket: %s, relationship: pb, poll_interval: 1s, timeout: 900ms}\n", p.A.Socket))
		m := e.Wait(20*time.Second, "passive-backup pair NORMAL", func(m metrics) error {
			for _, c := range []struct{ target, native string }{{"kea-a", "passive-backup"}, {"kea-a-sock", "passive-backup"}, {"kea-b", "backup"}} {
				if m.Get("dhcp_failover_up", "target", c.target) != 1 {
					return fmt.Errorf("%s not up", c.target)
				}
				if got := relState(m, c.target, "pb", "local"); got != "NORMAL" {
					return fmt.Errorf("%s local %q", c.target, got)
				}
				if v := m.Get("dhcp_failover_native_state_info", "target", c.target, "relationship", "pb", "side", "local", "state", c.native); v != 1 {
					return fmt.Errorf("%s native %s: %v", c.target, c.native, v)
				}
			}
			return nil
		})
		if v := m.Get("dhcp_failover_relationship_info", "target", "kea-a", "relationship", "pb", "vendor", "kea", "role", "primary", "mode", "passive-backup"); v != 1 {
			t.Errorf("kea-a relationship_info mode=passive-backup role=primary: %v", v)
		}
	})
}

// TestKeaHubAndSpoke: Kea 2.6+; a hub (kea-c) is the standby of two
// hot-standby relationships, one with each spoke (kea-a, kea-b). The hub
// target reports both relationships by name, each with its own state;
// killing one spoke puts only its relationship in PARTNER_DOWN.
func TestKeaHubAndSpoke(t *testing.T) {
	forEachKea(t, func(t *testing.T, rt *keaRuntime) {
		if !rt.namesServers() {
			// Not a skip: there is nothing to test on this version.
			t.Logf("Kea %s has one relationship per server (hub and spoke is Kea 2.6+): nothing to run", rt.Version)
			return
		}
		p := &keaPair{t: t, rt: rt, mode: "hot-standby", scenario: newScenario("hub"), haPassword: randomSecret(t), ExporterPassword: randomSecret(t)}
		p.lab = newKeaLab(t)
		p.A = newKeaNode(t, rt, "kea-a", p.lab.AddHost("a", "10.251.9.1/24"), true)
		p.B = newKeaNode(t, rt, "kea-b", p.lab.AddHost("b", "10.251.9.2/24"), true)
		p.Mon = p.lab.AddHost("mon", "10.251.9.3/24")
		hub := newKeaNode(t, rt, "kea-c", p.lab.AddHost("c", "10.251.9.4/24"), false)
		relA := []haPeer{{"kea-a", "10.251.9.1", "primary"}, {"hub-a", "10.251.9.4", "standby"}}
		relB := []haPeer{{"kea-b", "10.251.9.2", "primary"}, {"hub-b", "10.251.9.4", "standby"}}
		subnet := func(id int, prefix, server string) map[string]any {
			s := map[string]any{"id": id, "subnet": prefix + ".0.0/16", "pools": []any{map[string]any{"pool": prefix + ".100.0 - " + prefix + ".200.255"}}}
			if server != "" {
				s["user-context"] = map[string]any{"ha-server-name": server}
			}
			return s
		}
		p.writeKeaConfig(p.A, []map[string]any{p.haEntry("kea-a", "hot-standby", relA...)}, []map[string]any{subnet(1, "10.252", "")})
		p.writeKeaConfig(p.B, []map[string]any{p.haEntry("kea-b", "hot-standby", relB...)}, []map[string]any{subnet(2, "10.253", "")})
		p.writeKeaConfig(hub, []map[string]any{p.haEntry("hub-a", "hot-standby", relA...), p.haEntry("hub-b", "hot-standby", relB...)},
			[]map[string]any{subnet(1, "10.252", "hub-a"), subnet(2, "10.253", "hub-b")})
		startRecorder(t, p)
		startRecorderFor(t, p, hub)
		for _, n := range []*keaNode{p.A, p.B, hub} {
			p.Start(n)
		}
		waitKeaStates(t, 40*time.Second, map[*keaNode]map[string]string{
			p.A: {"kea-a": "hot-standby"}, p.B: {"kea-b": "hot-standby"}, hub: {"hub-a": "hot-standby", "hub-b": "hot-standby"}})
		pw := p.passwordFile()
		e := startExporter(t, p.Mon, "targets:\n"+
			p.keaURLTarget("hub", hub, "relationships: [{name: site-a, server_name: hub-a}, {name: site-b, server_name: hub-b}], ha_heartbeat: true", pw)+
			fmt.Sprintf("- {name: hub-sock, source: kea, socket: %s, relationships: [{name: site-a, server_name: hub-a}, {name: site-b, server_name: hub-b}], poll_interval: 1s, timeout: 900ms}\n", hub.Socket)+
			p.keaURLTarget("kea-a", p.A, "relationships: [{name: site-a, server_name: kea-a}]", pw)+
			p.keaURLTarget("kea-b", p.B, "relationships: [{name: site-b, server_name: kea-b}]", pw))
		e.Wait(20*time.Second, "both relationships NORMAL on the hub", func(m metrics) error {
			for _, tg := range []string{"hub", "hub-sock"} {
				for _, rel := range []string{"site-a", "site-b"} {
					for _, side := range []string{"local", "partner"} {
						if got := relState(m, tg, rel, side); got != "NORMAL" {
							return fmt.Errorf("%s %s %s: %q", tg, rel, side, got)
						}
					}
					if v := m.Get("dhcp_failover_relationship_info", "target", tg, "relationship", rel, "vendor", "kea", "role", "standby", "mode", "hot-standby"); v != 1 {
						return fmt.Errorf("%s %s relationship_info role=standby: %v", tg, rel, v)
					}
				}
			}
			return nil
		})

		p.scenario.set("hub-spoke-a-killed")
		p.Kill(p.A)
		m := e.Wait(30*time.Second, "site-a PARTNER_DOWN on the hub, site-b NORMAL", func(m metrics) error {
			if got := relState(m, "hub", "site-a", "local"); got != "PARTNER_DOWN" {
				return fmt.Errorf("hub site-a local %q", got)
			}
			if got := relState(m, "hub", "site-b", "local"); got != "NORMAL" {
				return fmt.Errorf("hub site-b local %q", got)
			}
			return nil
		})
		if v := m.Get("dhcp_failover_native_state_info", "target", "hub", "relationship", "site-a", "side", "partner", "state", "unavailable"); v != 1 {
			t.Errorf("hub site-a partner native unavailable: %v", v)
		}
		if v := m.Get("dhcp_failover_up", "target", "hub"); v != 1 {
			t.Errorf("hub up = %v", v)
		}
	})
}

// startRecorderFor records a node beyond the pair (the hub).
func startRecorderFor(t *testing.T, p *keaPair, n *keaNode) {
	q := *p
	q.A, q.B = n, n
	startRecorder(t, &q)
}
