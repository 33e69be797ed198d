package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea/keatest"
	"github.com/go-kit/log"
)

const keaTestPassword = "kea-Pa55-w0rd-xyzzy"

func keaFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "kea", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keaServer is the shared Kea fake answering these commands.
func keaServer(answers map[string][]byte) *keatest.Server {
	ks := &keatest.Server{}
	for c, a := range answers {
		ks.Set(c, a)
	}
	return ks
}

func newKeaTestSource(t *testing.T, yamlTarget string, logger log.Logger) *keaSource {
	t.Helper()
	cfg, err := config.Parse([]byte("targets:\n" + yamlTarget))
	if err != nil {
		t.Fatal(err)
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	src, err := NewSource(cfg.Targets[0], logger)
	if err != nil {
		t.Fatal(err)
	}
	ks := src.(*keaSource)
	ks.now = func() time.Time { return t0 }
	t.Cleanup(func() { ks.Close() })
	return ks
}

func pollKea(t *testing.T, s *keaSource) ([]failover.Relationship, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Poll(ctx)
}

func gaugeMap(r failover.Relationship) map[string]float64 {
	m := map[string]float64{}
	for _, g := range r.Gauges {
		if _, ok := gaugeDesc(g.Name); !ok {
			panic("gauge not registered: " + g.Name)
		}
		m[g.Name] = g.Value
	}
	return m
}

func TestKeaSourceMapping(t *testing.T) {
	tests := []struct {
		file          string
		local, remote failover.State
		localNative   string
		partnerNative string
		role          failover.Role
		mode          failover.Mode
		commInt       bool
		age           int
		gauges        map[string]float64
	}{
		{"status-get-2.2-ca-primary.json", failover.Normal, failover.Normal, "hot-standby", "hot-standby",
			failover.RolePrimary, failover.ModeHotStandby, false, 1,
			map[string]float64{"kea_connecting_clients": 0, "kea_unacked_clients": 0, "kea_unacked_clients_left": 0, "kea_analyzed_packets": 0, "kea_partner_in_touch": 1}},
		{"recorded/status-get-3.0-hot-standby-kill-unix-kea-a-kea-a_hot-standby_partner_hot-standby.json", failover.Normal, failover.Normal, "hot-standby", "hot-standby",
			failover.RolePrimary, failover.ModeHotStandby, false, 0,
			map[string]float64{"kea_connecting_clients": 0, "kea_unacked_clients": 0, "kea_unacked_clients_left": 0, "kea_analyzed_packets": 0, "kea_partner_in_touch": 1, "kea_clock_skew_seconds": 0}},
		// Kea 3.0.4 out of touch: clock-skew null leaves the gauge out.
		{"recorded/status-get-3.0-load-balancing-kill-unix-kea-a-kea-a_communication-recovery_partner_unavailable.json", failover.CommunicationInt, failover.NoState, "communication-recovery", "unavailable",
			failover.RolePrimary, failover.ModeLoadBalance, false, 1,
			map[string]float64{"kea_connecting_clients": 0, "kea_unacked_clients": 0, "kea_unacked_clients_left": 0, "kea_analyzed_packets": 0, "kea_partner_in_touch": 1}},
		// Silently dropped packets: load-balancing with
		// communication-interrupted is COMMUNICATION_INT.
		{"recorded/status-get-3.0-load-balancing-cut-unix-kea-a-kea-a_load-balancing_partner_load-balancing-comm-interrupted.json", failover.CommunicationInt, failover.Normal, "load-balancing", "load-balancing",
			failover.RolePrimary, failover.ModeLoadBalance, true, 5,
			map[string]float64{"kea_connecting_clients": 0, "kea_unacked_clients": 0, "kea_unacked_clients_left": 1, "kea_analyzed_packets": 0, "kea_partner_in_touch": 1, "kea_clock_skew_seconds": 0}},
		{"status-get-1.7.3-toplevel-ha-servers.json", failover.Normal, failover.Normal, "load-balancing", "load-balancing",
			failover.RolePrimary, "", false, 3,
			map[string]float64{"kea_partner_in_touch": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			srv := httptest.NewServer(keaServer(map[string][]byte{"status-get": keaFixture(t, tc.file)}))
			defer srv.Close()
			s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", nil)
			rels, err := pollKea(t, s)
			if err != nil {
				t.Fatal(err)
			}
			if len(rels) != 1 {
				t.Fatalf("%d relationships", len(rels))
			}
			r := rels[0]
			if r.Name != "pair" || r.Vendor != failover.VendorKea || r.Role != tc.role || r.Mode != tc.mode {
				t.Errorf("name/vendor/role/mode = %q %q %q %q", r.Name, r.Vendor, r.Role, r.Mode)
			}
			if r.Local != (failover.Side{Reported: true, State: tc.local, Native: tc.localNative}) {
				t.Errorf("local %+v", r.Local)
			}
			if r.Partner != (failover.Side{Reported: true, State: tc.remote, Native: tc.partnerNative}) {
				t.Errorf("partner %+v", r.Partner)
			}
			if ci, ok := r.CommunicationInterrupted.Get(); ok != (tc.file != "status-get-1.7.3-toplevel-ha-servers.json") || ci != tc.commInt {
				t.Errorf("communication interrupted %v %v", ci, ok)
			}
			if lc, ok := r.PartnerLastContact.Get(); !ok || !lc.Equal(t0.Add(-time.Duration(tc.age)*time.Second).Truncate(time.Second)) {
				t.Errorf("last contact %v %v", lc, ok)
			}
			if got := gaugeMap(r); len(got) != len(tc.gauges) {
				t.Errorf("gauges %v, want %v", got, tc.gauges)
			} else {
				for k, v := range tc.gauges {
					if got[k] != v {
						t.Errorf("gauge %s = %v, want %v", k, got[k], v)
					}
				}
			}
		})
	}
}

// The lab's recorded entries (Kea 2.2) map as docs/protocol.md §5 says.
func TestKeaSourceLabEntries(t *testing.T) {
	tests := []struct {
		entry          string
		local, partner failover.State
		commInt        bool
		unacked        int
	}{
		{"ha-entry-2.2-hot-standby-primary-hot-standby-3.json", failover.Normal, failover.NoState, false, 0},
		{"ha-entry-2.2-hot-standby-primary-partner-down-4.json", failover.PartnerDown, failover.NoState, true, 0},
		{"ha-entry-2.2-hot-standby-standby-hot-standby-8.json", failover.Normal, failover.Normal, false, 0},
		{"ha-entry-2.2-load-balancing-primary-communication-recovery-10.json", failover.CommunicationInt, failover.NoState, false, 0},
		{"ha-entry-2.2-load-balancing-primary-partner-down-9.json", failover.PartnerDown, failover.NoState, true, 0},
	}
	ks := keaServer(nil)
	srv := httptest.NewServer(ks)
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", nil)
	for _, tc := range tests {
		ks.Set("status-get", []byte(`[{"result":0,"arguments":{"high-availability":[`+string(keaFixture(t, tc.entry))+`]}}]`))
		rels, err := pollKea(t, s)
		if err != nil {
			t.Fatalf("%s: %v", tc.entry, err)
		}
		r := rels[0]
		ci, _ := r.CommunicationInterrupted.Get()
		un, _ := r.UnackedUpdates.Get()
		if r.Local.State != tc.local || r.Partner.State != tc.partner || ci != tc.commInt || un != tc.unacked {
			t.Errorf("%s: local %v partner %v comm-int %v unacked %v", tc.entry, r.Local.State, r.Partner.State, ci, un)
		}
	}
}

func TestKeaSourceWaitingPartnerNeverInTouch(t *testing.T) {
	srv := httptest.NewServer(keaServer(map[string][]byte{"status-get": keaFixture(t, "status-get-2.2-unix-waiting.json")}))
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	r := rels[0]
	if r.Local.State != failover.Startup || r.Partner != (failover.Side{Reported: true, State: failover.NoState}) {
		t.Errorf("local %+v partner %+v", r.Local, r.Partner)
	}
	if r.PartnerLastContact.OK() {
		t.Error("last contact reported before any contact")
	}
	if gaugeMap(r)["kea_partner_in_touch"] != 0 {
		t.Error("in touch")
	}
}

func TestKeaSourcePassiveBackup(t *testing.T) {
	srv := httptest.NewServer(keaServer(map[string][]byte{"status-get": keaFixture(t, "recorded/status-get-3.0-passive-backup-pair-http-kea-a-kea-a_passive-backup.json")}))
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', service: none, relationship: pb}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	r := rels[0]
	if r.Mode != failover.ModePassiveBackup || r.Local.State != failover.Normal || r.Partner.Reported || r.CommunicationInterrupted.OK() || len(r.Gauges) != 0 {
		t.Errorf("%+v", r)
	}
}

func TestKeaSourceHubAndSpoke(t *testing.T) {
	ks := keaServer(map[string][]byte{"status-get": keaFixture(t, "recorded/status-get-2.6-hot-standby-hub-spoke-a-killed-unix-kea-c-hub-a_partner-down_partner_unavailable-hub-b_hot-standby_partner_hot-standby.json")})
	srv := httptest.NewServer(ks)
	defer srv.Close()

	s := newKeaTestSource(t, "- {name: hub, source: kea, url: '"+srv.URL+"', relationships: {hub-a: site-a, hub-b: site-b}}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 || rels[0].Name != "site-a" || rels[1].Name != "site-b" {
		t.Fatalf("%+v", rels)
	}
	if rels[0].Local.State != failover.PartnerDown || rels[1].Local.State != failover.Normal || rels[0].Role != failover.RoleStandby || rels[0].PartnerName != "kea-a" {
		t.Errorf("%+v", rels)
	}

	// One mapped, one not: the other is skipped.
	var buf bytes.Buffer
	s = newKeaTestSource(t, "- {name: hub, source: kea, url: '"+srv.URL+"', relationships: {hub-b: site-b}}\n", log.NewLogfmtLogger(&buf))
	rels, err = pollKea(t, s)
	if err != nil || len(rels) != 1 || rels[0].Name != "site-b" {
		t.Fatalf("%v %+v", err, rels)
	}
	pollKea(t, s)
	if n := strings.Count(buf.String(), "hub-a"); n != 1 {
		t.Errorf("warned %d times about the unmapped relationship:\n%s", n, buf.String())
	}

	// A mapped server-name the server does not report: not_found.
	s = newKeaTestSource(t, "- {name: hub, source: kea, url: '"+srv.URL+"', relationships: {hub-a: a, hub-site9: b}}\n", nil)
	if _, err := pollKea(t, s); Classify(err) != ReasonNotFound || !strings.Contains(err.Error(), "hub-site9") {
		t.Errorf("got %v", err)
	}

	// One name for several relationships: not_found, with the way out.
	s = newKeaTestSource(t, "- {name: hub, source: kea, url: '"+srv.URL+"', relationship: x}\n", nil)
	if _, err := pollKea(t, s); Classify(err) != ReasonNotFound || !strings.Contains(err.Error(), "relationships:") {
		t.Errorf("got %v", err)
	}

	// Kea < 2.6 with a one-entry map: used for its one relationship.
	ks.Set("status-get", keaFixture(t, "status-get-2.2-ca-primary.json"))
	s = newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationships: {kea-a: pair}}\n", nil)
	if rels, err := pollKea(t, s); err != nil || rels[0].Name != "pair" {
		t.Errorf("%v %+v", err, rels)
	}
}

func TestKeaSourceHeartbeat(t *testing.T) {
	ks := keaServer(map[string][]byte{
		"status-get":   keaFixture(t, "status-get-2.2-ca-primary.json"),
		"ha-heartbeat": []byte(`[{"arguments":{"date-time":"Thu, 26 Nov 2026 17:26:31 GMT","scopes":["kea-a"],"state":"partner-down","unsent-update-count":7},"result":0,"text":"HA peer status returned."}]`),
	})
	srv := httptest.NewServer(ks)
	defer srv.Close()
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair, ha_heartbeat: true}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if gaugeMap(rels[0])["kea_unsent_updates"] != 7 {
		t.Errorf("gauges %v", rels[0].Gauges)
	}
	// Without the HA hook's ha-heartbeat the poll still succeeds.
	ks.Set("ha-heartbeat", keaFixture(t, "answer-ha-heartbeat-unsupported.json"))
	rels, err = pollKea(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, has := gaugeMap(rels[0])["kea_unsent_updates"]; has {
		t.Error("unsent updates without an answer")
	}
}

func TestKeaSourceErrorsClassified(t *testing.T) {
	ks := keaServer(nil)
	ks.SetBasicAuth("exporter", keaTestPassword)
	srv := httptest.NewServer(ks)
	defer srv.Close()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte(keaTestPassword+"\n"), 0o600)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	var logs bytes.Buffer
	logger := log.NewLogfmtLogger(&logs)
	tests := []struct {
		name, target string
		answer       []byte
		want         Reason
	}{
		{"wrong password", "url: '" + srv.URL + "', basic_auth: {username: exporter, password: 'wrong-" + keaTestPassword + "'}", nil, ReasonAuth},
		{"no password", "url: '" + srv.URL + "'", nil, ReasonAuth},
		{"dhcp4 offline", "url: '" + srv.URL + "', basic_auth: {username: exporter, password_file: " + pwFile + "}", keaFixture(t, "answer-2.2-ca-dhcp4-offline.json"), ReasonConnect},
		{"no HA hook", "url: '" + srv.URL + "', basic_auth: {username: exporter, password: '" + keaTestPassword + "'}", []byte(`[{"result":0,"arguments":{"pid":1}}]`), ReasonNotFound},
		{"garbage", "url: '" + srv.URL + "', basic_auth: {username: exporter, password: '" + keaTestPassword + "'}", []byte(`[{"result":0,"arguments":{"high-availability":[{}]}}]`), ReasonProtocol},
		{"failed command", "url: '" + srv.URL + "', basic_auth: {username: exporter, password: '" + keaTestPassword + "'}", []byte(`[{"result":1,"text":"boom"}]`), ReasonOther},
		{"control agent down", "url: '" + closedURL + "', basic_auth: {username: exporter, password: '" + keaTestPassword + "'}", nil, ReasonConnect},
		{"control agent hangs up", "url: '" + keatest.Raw(t, func(net.Conn) {}) + "'", nil, ReasonConnect},
		{"not HTTP", "url: '" + keatest.Raw(t, func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH_9.2p1\r\n") }) + "'", nil, ReasonProtocol},
		{"headers over 64 KiB", "url: '" + keatest.Raw(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for i := 0; i < 2000; i++ {
				if _, err := io.WriteString(c, "X-Pad: "+strings.Repeat("a", 60)+"\r\n"); err != nil {
					return
				}
			}
		}) + "'", nil, ReasonProtocol},
		{"socket missing", "socket: " + filepath.Join(dir, "missing.sock"), nil, ReasonConnect},
		{"https to http", "url: '" + strings.Replace(srv.URL, "http:", "https:", 1) + "', tls: {insecure_skip_verify: true}", nil, ReasonProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.answer != nil {
				ks.Set("status-get", tc.answer)
			}
			s := newKeaTestSource(t, "- {name: a, source: kea, relationship: pair, "+tc.target+"}\n", logger)
			_, err := pollKea(t, s)
			if got := Classify(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			logger.Log("msg", "Poll failed", "err", err)
			if strings.Contains(err.Error(), keaTestPassword) {
				t.Errorf("error carries the password: %v", err)
			}
		})
	}
	if strings.Contains(logs.String(), keaTestPassword) {
		t.Errorf("log carries the password:\n%s", logs.String())
	}
}

func TestKeaSourceUnknownStateWarnedOnce(t *testing.T) {
	answer := []byte(`{"result":0,"arguments":{"high-availability":[{"ha-mode":"hot-standby","ha-servers":{"local":{"role":"primary","state":"brand-new-state"},"remote":{"last-state":"brand-new-state","role":"standby"}}}]}}`)
	srv := httptest.NewServer(keaServer(map[string][]byte{"status-get": answer}))
	defer srv.Close()
	var buf bytes.Buffer
	s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair}\n", log.NewNopLogger())
	ts := newTargetState("a", time.Now())
	ts.onUnknown = func(rel, native string) { fmt.Fprintf(&buf, "unknown state %s of %s\n", native, rel) }
	for i := 0; i < 3; i++ {
		rels, err := pollKea(t, s)
		if err != nil {
			t.Fatal(err)
		}
		if rels[0].Local.State != failover.UnknownState || rels[0].Local.Native != "brand-new-state" {
			t.Errorf("%+v", rels[0].Local)
		}
		ts.observe(time.Now(), time.Millisecond, rels, nil)
		if st := ts.rels["pair"].obs.Local.State; st != failover.NoState {
			t.Errorf("rendered as %v", st)
		}
	}
	if n := strings.Count(buf.String(), "brand-new-state"); n != 1 {
		t.Errorf("warned %d times:\n%s", n, buf.String())
	}
}

// The UNIX socket transport end to end through the source.
func TestKeaSourceUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "keasrc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	answer := keaFixture(t, "status-get-2.2-unix-primary.json")
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.Write(answer)
			c.Close()
		}
	}()
	s := newKeaTestSource(t, "- {name: a, source: kea, socket: "+path+", relationship: pair}\n", nil)
	rels, err := pollKea(t, s)
	if err != nil || rels[0].Local.State != failover.Normal {
		t.Fatalf("%v %+v", err, rels)
	}
}
