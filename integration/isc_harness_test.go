package integration

// A real ISC dhcpd failover pair in network namespaces, and the exporter
// watching it from a third namespace. Everything is built by the test in
// its own namespaces ("dfeisc-*") and temp directories, and removed in
// t.Cleanup, also when the test fails.
//
//	dfeisc-sw   bridge
//	dfeisc-a    primary dhcpd   10.251.7.1  failover port 647, OMAPI 7911
//	dfeisc-b    secondary dhcpd 10.251.7.2  failover port 847, OMAPI 7911
//	dfeisc-mon  exporter        10.251.7.3  :9647

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/netnstest"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
)

const (
	iscPrefix       = "dfeisc"
	iscRelationship = "fo-test"
	iscKeyName      = "omapi_test_key"
	iscOMAPIPort    = 7911
)

// iscOptions shape the pair.
type iscOptions struct {
	// MCLT of the relationship (default 15 s: the RECOVER_WAIT after a
	// restart lasts one MCLT, and the tests wait for it).
	MCLT time.Duration
	// AutoPartnerDown, if set, makes each server enter PARTNER_DOWN by
	// itself after that long in COMMUNICATION_INT.
	AutoPartnerDown time.Duration
	// Algorithm of the OMAPI key (default hmac-sha256).
	Algorithm string
	// NoSecondary starts only the primary (benchmarks).
	NoSecondary bool
	// NoWaitNormal returns before both servers are NORMAL.
	NoWaitNormal bool
	// Range is the pool's first and last address (default
	// 10.251.7.100-10.251.7.199); PeerExtra is added to the failover
	// peer declarations (e.g. "max-balance 3;"), PoolExtra to the pool's
	// (a statement of its own keeps dhcpd from merging it with another
	// pool of its shared network: docs/isc-leases.md).
	Range                [2]string
	PeerExtra, PoolExtra string
	// SharedNetwork, if set, puts the pool's subnet in a shared network of
	// that name, with NetworkExtra (declarations) after it; ConfExtra is
	// added before the subnet and Files are written beside dhcpd.conf (for
	// `include`: dhcpd opens a relative name from its working directory,
	// so give {{.Dir}}/NAME). The three are templates with the node's
	// values, plus Dir, Port2 and PeerPort2 for a second failover peer.
	SharedNetwork, NetworkExtra, ConfExtra string
	// Addr2 gives each server a second address for a second failover
	// peer, Addr2 and PeerAddr2 in the templates: dhcpd tells the peers
	// of incoming connections apart by their address.
	Addr2 bool
	// Prefix of the lab's namespaces (default dfeisc).
	Prefix string
	Files  map[string]string
}

// iscNode is one dhcpd.
type iscNode struct {
	Host       *netnstest.Host
	Proc       *netnstest.Proc // the running dhcpd, nil while stopped
	Dir        string
	ConfPath   string
	LeasesPath string
	PidPath    string
	Primary    bool
}

// iscPair is the lab.
type iscPair struct {
	t         testing.TB
	Lab       *netnstest.Lab
	Primary   *iscNode
	Secondary *iscNode
	Mon       *netnstest.Host
	Opts      iscOptions
	// KeyAlgorithm and Secret (base64) of the OMAPI key both servers use.
	KeyAlgorithm string
	Secret       string
}

func (o *iscOptions) defaults() {
	if o.MCLT == 0 {
		o.MCLT = 15 * time.Second
	}
	if o.Algorithm == "" {
		o.Algorithm = "hmac-sha256"
	}
	if o.Prefix == "" {
		o.Prefix = iscPrefix
	}
	if o.Range[0] == "" {
		o.Range = [2]string{"10.251.7.100", "10.251.7.199"}
	}
}

// startISCPair builds the lab and starts both dhcpd; unless
// opts.NoWaitNormal, it returns once both report NORMAL/NORMAL.
func startISCPair(t testing.TB, opts iscOptions) *iscPair {
	t.Helper()
	netnstest.Require(t, "dhcpd")
	opts.defaults()
	lab := netnstest.NewLab(t, opts.Prefix)
	p := &iscPair{t: t, Lab: lab, Opts: opts, KeyAlgorithm: opts.Algorithm, Secret: randomSecret(t)}
	dir := t.TempDir()
	p.Primary = p.newNode(lab.AddHost("a", "10.251.7.1/24"), filepath.Join(dir, "a"), true)
	p.Secondary = p.newNode(lab.AddHost("b", "10.251.7.2/24"), filepath.Join(dir, "b"), false)
	p.Mon = lab.AddHost("mon", "10.251.7.3/24")
	p.StartNode(p.Primary)
	if !opts.NoSecondary {
		p.StartNode(p.Secondary)
	}
	if !opts.NoWaitNormal && !opts.NoSecondary {
		// A fresh pair goes RECOVER → RECOVER_DONE → NORMAL.
		p.WaitStates(p.Primary, 2, 2, 60*time.Second)
		p.WaitStates(p.Secondary, 2, 2, 30*time.Second)
	}
	return p
}

var iscConf = template.Must(template.New("dhcpd.conf").Parse(`# written by integration/isc_harness_test.go ({{.Role}})
authoritative;
ddns-update-style none;
ping-check false;
default-lease-time 600;
max-lease-time 7200;

key {{.KeyName}} {
    algorithm {{.Algorithm}};
    secret "{{.Secret}}";
}
omapi-port {{.OMAPIPort}};
omapi-key {{.KeyName}};

failover peer "{{.Relationship}}" {
    {{.Role}};
    address {{.Addr}};
    port {{.Port}};
    peer address {{.PeerAddr}};
    peer port {{.PeerPort}};
    max-response-delay 5;
    max-unacked-updates 10;
{{- if .Primary}}
    mclt {{.MCLT}};
    split 128;
{{- end}}
    load balance max seconds 3;
    auto-partner-down {{.AutoPartnerDown}};
{{- if .PeerExtra}}
    {{.PeerExtra}}
{{- end}}
}

{{.ConfExtra}}
{{if .SharedNetwork}}shared-network "{{.SharedNetwork}}" {
{{end -}}
subnet 10.251.7.0 netmask 255.255.255.0 {
    option subnet-mask 255.255.255.0;
    pool {
        failover peer "{{.Relationship}}";
        range {{.RangeFirst}} {{.RangeLast}};
{{- if .PoolExtra}}
        {{.PoolExtra}}
{{- end}}
    }
}
{{- if .SharedNetwork}}
{{.NetworkExtra}}
}
{{- end}}
`))

// render executes one of iscOptions' template fields with the node's values.
func render(t testing.TB, text string, v map[string]any) string {
	t.Helper()
	var b strings.Builder
	if err := template.Must(template.New("extra").Parse(text)).Execute(&b, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func (p *iscPair) newNode(h *netnstest.Host, dir string, primary bool) *iscNode {
	p.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	n := &iscNode{Host: h, Dir: dir, Primary: primary,
		ConfPath: filepath.Join(dir, "dhcpd.conf"), LeasesPath: filepath.Join(dir, "dhcpd.leases"),
		PidPath: filepath.Join(dir, "dhcpd.pid")}
	v := map[string]any{
		"Role": "secondary", "Primary": primary, "KeyName": iscKeyName, "Algorithm": p.KeyAlgorithm,
		"Secret": p.Secret, "OMAPIPort": iscOMAPIPort, "Relationship": iscRelationship,
		"Addr": "10.251.7.2", "Port": 847, "PeerAddr": "10.251.7.1", "PeerPort": 647,
		"MCLT": int(p.Opts.MCLT / time.Second), "AutoPartnerDown": int(p.Opts.AutoPartnerDown / time.Second),
		"RangeFirst": p.Opts.Range[0], "RangeLast": p.Opts.Range[1], "PeerExtra": p.Opts.PeerExtra,
		"PoolExtra": p.Opts.PoolExtra, "Port2": 848, "PeerPort2": 648, "SharedNetwork": p.Opts.SharedNetwork, "Dir": dir,
		"Addr2": "10.251.7.12", "PeerAddr2": "10.251.7.11",
	}
	if primary {
		v["Role"], v["Addr"], v["Port"], v["PeerAddr"], v["PeerPort"] = "primary", "10.251.7.1", 647, "10.251.7.2", 847
		v["Port2"], v["PeerPort2"] = 648, 848
		v["Addr2"], v["PeerAddr2"] = "10.251.7.11", "10.251.7.12"
	}
	if p.Opts.Addr2 {
		if out, err := h.Run(p.t, "ip", "addr", "add", v["Addr2"].(string)+"/24", "dev", "eth0"); err != nil {
			p.t.Fatalf("second address: %v\n%s", err, out)
		}
	}
	v["NetworkExtra"], v["ConfExtra"] = render(p.t, p.Opts.NetworkExtra, v), render(p.t, p.Opts.ConfExtra, v)
	for name, text := range p.Opts.Files {
		writeFile(p.t, filepath.Join(dir, name), render(p.t, text, v), 0o644)
	}
	f, err := os.Create(n.ConfPath)
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if err := iscConf.Execute(f, v); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// StartNode starts (or restarts) a node's dhcpd, keeping its leases file.
func (p *iscPair) StartNode(n *iscNode) {
	p.t.Helper()
	if n.Proc != nil && !n.Proc.Exited() {
		p.t.Fatalf("dhcpd in %s is already running", n.Host.NS)
	}
	if f, err := os.OpenFile(n.LeasesPath, os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
	}
	if out, err := n.Host.Run(p.t, "dhcpd", "-4", "-t", "-cf", n.ConfPath); err != nil {
		p.t.Fatalf("dhcpd config test: %v\n%s", err, out)
	}
	n.Proc = n.Host.Start(p.t, "dhcpd", "dhcpd", "-4", "-f", "-d", "-cf", n.ConfPath, "-lf", n.LeasesPath, "-pf", n.PidPath, "eth0")
	// dhcpd listens on OMAPI once its configuration is read.
	waitFor(p.t, 10*time.Second, "dhcpd's OMAPI port in "+n.Host.NS, func() error {
		if n.Proc.Exited() {
			p.t.Fatalf("dhcpd in %s exited at start:\n%s", n.Host.NS, n.Proc.Log())
		}
		c, err := n.Host.Dial(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", iscOMAPIPort))
		if err == nil {
			c.Close()
		}
		return err
	})
}

// KillNode sends SIGKILL and waits for the process to end.
func (p *iscPair) KillNode(n *iscNode) { p.signalAndWait(n, syscall.SIGKILL) }

// StopNode shuts dhcpd down cleanly (SIGTERM: it moves to SHUTDOWN first).
func (p *iscPair) StopNode(n *iscNode) { p.signalAndWait(n, syscall.SIGTERM) }

func (p *iscPair) signalAndWait(n *iscNode, sig syscall.Signal) {
	p.t.Helper()
	if err := n.Proc.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	if err := n.Proc.Wait(10 * time.Second); err != nil && !n.Proc.Exited() {
		p.t.Fatal(err)
	}
	n.Proc = nil
}

// PauseNode / ResumeNode: SIGSTOP / SIGCONT (a hung server).
func (p *iscPair) PauseNode(n *iscNode) {
	p.t.Helper()
	if err := n.Proc.Signal(syscall.SIGSTOP); err != nil {
		p.t.Fatal(err)
	}
}

func (p *iscPair) ResumeNode(n *iscNode) {
	p.t.Helper()
	if err := n.Proc.Signal(syscall.SIGCONT); err != nil {
		p.t.Fatal(err)
	}
}

// Key is the pair's OMAPI key.
func (p *iscPair) Key() *omapi.Key {
	k, err := omapi.NewKey(iscKeyName, p.KeyAlgorithm, p.Secret)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

// OMAPIClient returns an omapi client that reaches n's OMAPI port from
// inside its namespace.
func (p *iscPair) OMAPIClient(n *iscNode) *omapi.Client {
	c := omapi.NewClient(fmt.Sprintf("127.0.0.1:%d", iscOMAPIPort), p.Key())
	c.Dial = n.Host.Dial
	return c
}

// State reads n's failover-state over OMAPI.
func (p *iscPair) State(n *iscNode) (*omapi.FailoverState, error) {
	c := p.OMAPIClient(n)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return c.FailoverState(ctx, iscRelationship)
}

// WaitStates waits until n reports the ISC state codes local and partner.
func (p *iscPair) WaitStates(n *iscNode, local, partner uint32, timeout time.Duration) {
	p.t.Helper()
	waitFor(p.t, timeout, fmt.Sprintf("%s local=%d partner=%d", n.Host.NS, local, partner), func() error {
		fs, err := p.State(n)
		if err != nil {
			return err
		}
		if fs.Local.Code != local || fs.Partner.Code != partner {
			return fmt.Errorf("local=%d partner=%d", fs.Local.Code, fs.Partner.Code)
		}
		return nil
	})
}

// SetLocalState changes n's failover state the way an operator does with
// omshell (`set local-state = 4`, `update`): an OMAPI UPDATE of the
// failover-state object. This is test-only code on purpose: the omapi
// package cannot send an update, and the exporter never does.
func (p *iscPair) SetLocalState(n *iscNode, code uint32) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := n.Host.Dial(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", iscOMAPIPort))
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close()
	d, _ := ctx.Deadline()
	conn.SetDeadline(d)
	br := bufio.NewReader(conn)
	intro := append(omapi.Uint32(omapi.ProtocolVersion), omapi.Uint32(omapi.HeaderLen)...)
	if _, err := conn.Write(intro); err != nil {
		p.t.Fatal(err)
	}
	if _, err := io.ReadFull(br, make([]byte, 8)); err != nil {
		p.t.Fatal(err)
	}
	key := p.Key()
	var id uint32 = 1000
	exchange := func(m *omapi.Message, k *omapi.Key) *omapi.Message {
		id++
		m.ID = id
		if _, err := conn.Write(m.Encode(k)); err != nil {
			p.t.Fatal(err)
		}
		r, err := omapi.ReadMessage(br)
		if err != nil {
			p.t.Fatal(err)
		}
		if r.Op == omapi.OpStatus {
			res, _ := r.GetMessage("result")
			msg, _ := r.GetMessage("message")
			if len(res) == 4 && (res[0]|res[1]|res[2]|res[3]) != 0 {
				p.t.Fatalf("omapi %s: status %x %q", m.Op, res, msg)
			}
		}
		return r
	}
	auth := exchange(&omapi.Message{Op: omapi.OpOpen,
		Message: []omapi.Value{{Name: "type", Data: []byte("authenticator")}},
		Object:  []omapi.Value{{Name: "name", Data: []byte(iscKeyName)}, {Name: "algorithm", Data: []byte(key.Algorithm())}},
	}, nil)
	open := exchange(&omapi.Message{AuthID: auth.Handle, Op: omapi.OpOpen,
		Message: []omapi.Value{{Name: "type", Data: []byte("failover-state")}},
		Object:  []omapi.Value{{Name: "name", Data: []byte(iscRelationship)}},
	}, key)
	exchange(&omapi.Message{AuthID: auth.Handle, Op: omapi.OpUpdate, Handle: open.Handle,
		Object: []omapi.Value{{Name: "local-state", Data: omapi.Uint32(code)}},
	}, key)
}

// StartExporter runs the exporter with config (a whole exporter YAML) in
// the mon namespace, returning once /metrics answers.
func (p *iscPair) StartExporter(config string) *exporter {
	p.t.Helper()
	return startExporter(p.t, p.Mon, config)
}

// ExporterConfig returns an exporter config with the two dhcpd as targets
// "isc-a" and "isc-b" (poll every second), plus extra target YAML.
func (p *iscPair) ExporterConfig(extra string) string {
	var b strings.Builder
	b.WriteString("targets:\n")
	for _, t := range []struct{ name, addr string }{{"isc-a", "10.251.7.1"}, {"isc-b", "10.251.7.2"}} {
		fmt.Fprintf(&b, `  - name: %s
    source: omapi
    address: %s
    relationships: [%s]
    key: {name: %s, algorithm: %s, secret: %q}
    poll_interval: 1s
    timeout: 800ms
`, t.name, t.addr, iscRelationship, iscKeyName, p.KeyAlgorithm, p.Secret)
	}
	b.WriteString(extra)
	return b.String()
}
