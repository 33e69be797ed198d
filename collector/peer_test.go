package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/peer/peertest"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
)

func peerTarget(t *testing.T, file, local, relationship string) config.Target {
	t.Helper()
	s := &config.Peer{PcapFile: file, LocalAddress: local, Relationship: relationship}
	tg := config.Target{Name: "tap", Source: "peer", PollInterval: time.Second, Timeout: time.Second, Settings: s}
	if err := tg.Validate(); err != nil {
		t.Fatal(err)
	}
	return tg
}

// replayPeer builds a peer source replaying a capture (closed when the test
// ends) and polls it once.
func replayPeer(t *testing.T, file, local, relationship string) (Source, []failover.Relationship, error) {
	t.Helper()
	src, err := NewSource(peerTarget(t, file, local, relationship), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeSource(src) })
	rels, err := src.Poll(context.Background())
	return src, rels, err
}

// peerMetrics collects a MetricsSource into "name{labels} value" lines.
func peerMetrics(t *testing.T, ms MetricsSource) map[string]float64 {
	t.Helper()
	mfs, err := sourceGatherer("tap", ms).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// TestPeerSourceReplay replays a real capture (secondary killed, primary
// forced to partner-down, secondary restarted) as the primary's tap.
func TestPeerSourceReplay(t *testing.T) {
	src, rels, err := replayPeer(t, "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.1", "fo-lab")
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 {
		t.Fatalf("%d relationships: %+v", len(rels), rels)
	}
	r := rels[0]
	if r.Name != "fo-lab" || r.Vendor != failover.VendorISC || r.Role != failover.RolePrimary {
		t.Errorf("relationship %+v", r)
	}
	if r.Local.State != failover.Normal || r.Partner.State != failover.Normal || r.Partner.Native != "normal" ||
		r.Local.StartTime.Unix() != 1795713712 || !r.Local.Reported || !r.Partner.Reported {
		t.Errorf("sides %+v %+v", r.Local, r.Partner)
	}
	if ci, _ := r.CommunicationInterrupted.Get(); ci {
		t.Error("communication interrupted with a connection up")
	}
	if v, _ := r.MCLT.Get(); v != time.Minute {
		t.Errorf("mclt %v", v)
	}
	if v, _ := r.MaxResponseDelay.Get(); v != 5*time.Second {
		t.Errorf("max-response-delay %v", v)
	}
	m := peerMetrics(t, src.(MetricsSource))
	for series, want := range map[string]float64{
		`dhcp_failover_peer_connection_up{local_address="10.250.0.1",partner_address="10.250.0.2",relationship="fo-lab",target="tap"}`: 1,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="fo-lab",target="tap"}`:                     41,
		`dhcp_failover_peer_messages_total{direction="sent",message="BNDUPD",relationship="fo-lab",target="tap"}`:                      103,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDACK",relationship="fo-lab",target="tap"}`:                  102,
		`dhcp_failover_peer_messages_total{direction="received",message="STATE",relationship="fo-lab",target="tap"}`:                   5,
		`dhcp_failover_peer_messages_total{direction="received",message="CONNECTACK",relationship="fo-lab",target="tap"}`:              1,
		`dhcp_failover_peer_messages_total{direction="sent",message="POOLREQ",relationship="fo-lab",target="tap"}`:                     0,
		`dhcp_failover_peer_pending_updates{direction="sent",relationship="fo-lab",target="tap"}`:                                      2,
		`dhcp_failover_peer_pending_updates{direction="received",relationship="fo-lab",target="tap"}`:                                  0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if last := m[`dhcp_failover_peer_last_message_timestamp_seconds{direction="received",relationship="fo-lab",target="tap"}`]; last < 1795713713.03 || last > 1795713713.04 {
		t.Errorf("last message received at %v", last)
	}
	off := m[`dhcp_failover_peer_clock_offset_seconds{direction="sent",relationship="fo-lab",target="tap"}`]
	if off > 0 || off < -1 {
		t.Errorf("clock offset %v", off)
	}
	// A replay's metrics end with its capture: scrapes copy their bytes.
	gs := src.(GenerationalMetricsSource)
	g1, ok1 := gs.MetricsGeneration()
	src.Poll(context.Background())
	if g2, ok2 := gs.MetricsGeneration(); !ok1 || !ok2 || g1 != g2 || g1 == 0 {
		t.Errorf("generations after the replay: %d %v, %d %v; want one, cacheable", g1, ok1, g2, ok2)
	}
}

// TestPeerSourceUnnamed: a tap that starts mid-connection never sees the
// CONNECT; without a configured name the relationship is "unknown", and
// the connection is up from the capture's point of view.
func TestPeerSourceUnnamed(t *testing.T) {
	src, rels, err := replayPeer(t, "../peer/testdata/isc-normal-lease.pcap", "10.250.0.2", "")
	if err != nil || len(rels) != 1 || rels[0].Name != "unknown" || rels[0].Local.Reported {
		t.Fatalf("%+v %v", rels, err)
	}
	m := peerMetrics(t, src.(MetricsSource))
	// The secondary's view: its BNDACKs are sent, the primary's received.
	for series, want := range map[string]float64{
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="unknown",target="tap"}`:     12,
		`dhcp_failover_peer_messages_total{direction="received",message="CONTACT",relationship="unknown",target="tap"}`: 13,
		`dhcp_failover_peer_messages_total{direction="received",message="BNDUPD",relationship="unknown",target="tap"}`:  9,
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// TestPeerSourceWatcherPushes runs the source as the agent does and
// checks that the replay pushes its observations.
func TestPeerSourceWatcherPushes(t *testing.T) {
	src, err := NewSource(peerTarget(t, "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.2", "fo-lab"), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pushes [][]failover.Relationship
	pushed := make(chan struct{})
	var firstPush sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.(Watcher).Run(ctx, func(r []failover.Relationship, err error) {
			if err != nil {
				t.Error(err)
			}
			pushes = append(pushes, r)
			firstPush.Do(func() { close(pushed) })
		})
	}()
	// Wait for the whole replay, however slow the machine: a push comes
	// from inside the replay, so once one has come, replayOnce.Do returns
	// when the replay has ended (and its pushes happened before).
	select {
	case <-pushed:
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10 s")
	}
	replayed := make(chan struct{})
	go func() {
		src.(*peerSource).replayOnce.Do(func() {})
		close(replayed)
	}()
	select {
	case <-replayed:
	case <-time.After(10 * time.Second):
		t.Fatal("the replay did not end within 10 s")
	}
	cancel()
	<-done
	if len(pushes) == 0 {
		t.Fatal("nothing pushed")
	}
	// The secondary's local states, as pushed: STARTUP, then RECOVER,
	// RECOVER_WAIT, RECOVER_DONE, NORMAL.
	var seen []string
	for _, p := range pushes {
		if len(p) == 1 && p[0].Local.Reported {
			s := p[0].Local.State.String()
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
		}
	}
	if got := strings.Join(seen, " "); got != "STARTUP RECOVER RECOVER_WAIT RECOVER_DONE NORMAL" {
		t.Errorf("local states pushed: %s", got)
	}
	last := pushes[len(pushes)-1][0]
	if last.Role != failover.RoleSecondary || last.Partner.State != failover.Normal {
		t.Errorf("last push %+v", last)
	}
}

func TestPeerSourceErrors(t *testing.T) {
	if _, err := NewSource(peerTarget(t, "../peer/testdata/missing.pcap", "10.250.0.1", ""), log.NewNopLogger()); err == nil {
		t.Error("missing file accepted")
	}
	if os.Geteuid() != 0 || runtime.GOOS != "linux" {
		return // without CAP_NET_RAW (or AF_PACKET) the start fails before the interface is looked at
	}
	// A missing interface (a VLAN created later) does not stop the start:
	// the target is down with reason not_found, naming the interface.
	tg := peerTarget(t, "x", "10.250.0.1", "")
	tg.Settings = &config.Peer{Interface: "dfe-no-such0", LocalAddress: "10.250.0.1", Ports: []uint16{647}}
	src, err := NewSource(tg, log.NewNopLogger())
	if err != nil {
		t.Fatalf("a missing interface fails the start: %v", err)
	}
	defer closeSource(src)
	_, err = src.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dfe-no-such0") || Classify(err) != ReasonNotFound {
		t.Errorf("unknown interface: %v (%s)", err, Classify(err))
	}
	if errors.Is(err, peer.ErrNeedCapNetRaw) {
		t.Errorf("unknown interface reported as a capability problem: %v", err)
	}
}

// gatherPedantic gathers a MetricsSource through prometheus.Gatherers,
// which checks every series (label names and values, duplicates) as a
// scrape would.
func gatherPedantic(t *testing.T, ms MetricsSource) []*dto.MetricFamily {
	t.Helper()
	mfs, err := sourceGatherer("tap", ms).Gather()
	if err != nil {
		t.Fatalf("gather (a scrape would fail with HTTP 500): %v", err)
	}
	return mfs
}

// safeLabel: what a label value from the wire must be.
func safeLabel(v string) bool {
	if !utf8.ValidString(v) || len(v) > peer.MaxTextLen {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// TestPeerSourceHostileName: a relationship-name that is not UTF-8 and a
// vendor-class full of terminal escapes, as anyone reaching port 647 can
// send. Before the fix the name reached a label through
// MustNewConstMetric, which panicked in every scrape.
func TestPeerSourceHostileName(t *testing.T) {
	const vendor = "isc-4.4.3-P1"
	evil := "\x1b[2J\x07\xff\x00\r\n\xc3isc"[:len(vendor)]
	path := peertest.CraftCapture(t, "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", t.TempDir(),
		"fo-lab", "fo-l\xffb", vendor, evil)
	src, rels, err := replayPeer(t, path, "10.250.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, r := range rels {
		names[r.Name] = true
		if !safeLabel(r.Name) {
			t.Errorf("relationship name %q", r.Name)
		}
	}
	if !names["fo-l\uFFFDb"] {
		t.Errorf("relationships %v, want fo-l\\uFFFDb among them", names)
	}
	n := 0
	for _, mf := range gatherPedantic(t, src.(MetricsSource)) {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				n++
				if !safeLabel(l.GetValue()) {
					t.Errorf("%s: label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no metrics")
	}
	m := peerMetrics(t, src.(MetricsSource))
	if v := m[`dhcp_failover_peer_messages_total{direction="sent",message="CONNECT",relationship="fo-l`+"\uFFFD"+`b",target="tap"}`]; v != 1 {
		t.Errorf("CONNECT sent under the cleaned name: %v", v)
	}
}

// TestPeerSourceCollectNeverPanics: a label value that is not valid UTF-8
// reaching WriteMetrics anyway (the second line of defence) costs its
// series, not the scrape.
func TestPeerSourceCollectNeverPanics(t *testing.T) {
	src, err := NewSource(peerTarget(t, "../peer/testdata/isc-third-party.pcap", "10.250.0.1", ""), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	if _, err := src.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := src.(*peerSource)
	s.mu.Lock()
	// A name the peer package would have cleaned, fed to the model by hand.
	bad := &peer.Conn{Ends: [2]peer.Endpoint{{Addr: netip.MustParseAddr("10.9.9.9"), Port: 40000}, {Addr: s.local, Port: 647}},
		Established: true, Accepted: true, Connector: -1, RejectedBy: -1, ClosedBy: -1}
	bad.Dir[1].Name = "bad\xff"
	s.model.OnConn(bad)
	s.mu.Unlock()
	var series int
	for _, mf := range gatherPedantic(t, s) {
		series += len(mf.Metric)
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if !utf8.ValidString(l.GetValue()) {
					t.Errorf("%s: label %q", mf.GetName(), l.GetValue())
				}
			}
		}
	}
	if series == 0 || s.badMetrics == 0 {
		t.Errorf("%d series, %d left out", series, s.badMetrics)
	}
}

// TestPeerSourceThirdParty replays the lab's third-party capture as the
// primary's tap: a stranger (10.250.0.99) connecting without a word and
// with a CONNECT naming fo-lab, a CONNECT from the secondary's address
// with a bogus name the primary refused (reject-reason 8), the tail of the
// old connection (the primary's last CONTACT, then RST) and a CONNECT the
// primary accepted. The strangers leave nothing; the primary's own CONTACT
// to its partner counts under the name learned later.
func TestPeerSourceThirdParty(t *testing.T) {
	src, rels, err := replayPeer(t, "../peer/testdata/isc-third-party.pcap", "10.250.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Name != "fo-lab" {
		t.Fatalf("relationships %+v, want fo-lab only", rels)
	}
	r := rels[0]
	if ci, _ := r.CommunicationInterrupted.Get(); !ci {
		t.Error("communication not interrupted after the last connection closed")
	}
	if r.PartnerAddress != "10.250.0.2" {
		t.Errorf("partner address %q", r.PartnerAddress)
	}
	if r.Local.State != failover.CommunicationInt || r.Local.StartTime.Unix() != 1795713639 || r.Partner.Reported {
		t.Errorf("sides %+v %+v", r.Local, r.Partner)
	}
	m := peerMetrics(t, src.(MetricsSource))
	var partners []string
	for series, v := range m {
		if strings.HasPrefix(series, "dhcp_failover_peer_connection_up{") {
			partners = append(partners, fmt.Sprintf("%s=%v", series, v))
		}
		if strings.Contains(series, "relationship=") && !strings.Contains(series, `relationship="fo-lab"`) {
			t.Errorf("series of another relationship: %s", series)
		}
	}
	want := `dhcp_failover_peer_connection_up{local_address="10.250.0.1",partner_address="10.250.0.2",relationship="fo-lab",target="tap"}=0`
	if len(partners) != 1 || partners[0] != want {
		t.Errorf("partners %v, want [%s]", partners, want)
	}
	for series, want := range map[string]float64{
		`dhcp_failover_peer_messages_total{direction="sent",message="CONNECT",relationship="fo-lab",target="tap"}`:     1,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONNECTACK",relationship="fo-lab",target="tap"}`:  1,
		`dhcp_failover_peer_messages_total{direction="received",message="CONNECT",relationship="fo-lab",target="tap"}`: 1,
		`dhcp_failover_peer_messages_total{direction="sent",message="STATE",relationship="fo-lab",target="tap"}`:       1,
		`dhcp_failover_peer_messages_total{direction="sent",message="CONTACT",relationship="fo-lab",target="tap"}`:     4,
		`dhcp_failover_peer_ignored_connections_total{reason="no_messages",target="tap"}`:                              1,
		`dhcp_failover_peer_ignored_connections_total{reason="rejected",target="tap"}`:                                 1,
		`dhcp_failover_peer_ignored_connections_total{reason="not_accepted",target="tap"}`:                             1,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	for series := range m {
		if strings.HasPrefix(series, "dhcp_failover_peer_rejects_total") {
			t.Errorf("the refused bogus-name CONNECT counted as a relationship's reject: %s", series)
		}
	}
	s := src.(*peerSource)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rels := s.model.Relationships(); len(rels) != 1 || len(rels[0].Partners()) != 1 {
		t.Errorf("model holds %d relationships", len(rels))
	}
}

// TestPeerSourcePanicRecovered: a panic in the tap's packet path (here an
// injected one, every 50th message) or in its expiry costs the packet or
// the round, never the tap, and never leaves the lock held that every
// scrape takes.
func TestPeerSourcePanicRecovered(t *testing.T) {
	var logs bytes.Buffer
	src, err := NewSource(peerTarget(t, "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.1", "fo-lab"), log.NewLogfmtLogger(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	s := src.(*peerSource)
	n := 0
	s.hook = func(where string) {
		if where == "message" {
			if n++; n%50 == 0 {
				panic(fmt.Sprint("injected at message ", n))
			}
		}
	}
	rels, err := src.Poll(context.Background())
	if err != nil || len(rels) != 1 || rels[0].Name != "fo-lab" {
		t.Fatalf("after panics: %+v %v", rels, err)
	}
	if n < 250 || s.panics != n/50 {
		t.Errorf("%d messages, %d panics", n, s.panics)
	}
	if c := strings.Count(logs.String(), "The peer tap panicked on a packet"); c != 1 || !strings.Contains(logs.String(), "goroutine ") {
		t.Errorf("logged %d times (with the stack once expected):\n%s", c, logs.String())
	}
	collectWithin(t, s)

	s.mu.Lock()
	s.hook = func(where string) {
		if where == "expire" {
			panic("injected in expiry")
		}
	}
	s.mu.Unlock()
	s.expire(func([]failover.Relationship, error) { t.Error("pushed after a panic") }, time.Now())
	if !s.mu.TryLock() {
		t.Fatal("a panic in expiry left the lock held")
	}
	s.mu.Unlock()
	collectWithin(t, s)
	if _, err := src.Poll(context.Background()); err != nil {
		t.Error(err)
	}
}

// collectWithin fails the test unless WriteMetrics returns in time.
func collectWithin(t *testing.T, ms MetricsSource) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ms.WriteMetrics(newMetricWriter("tap"))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("WriteMetrics blocked: every scrape would hang")
	}
}

// TestPeerSourceReplayPollFirst: a Poll (an ad-hoc probe, or the agent's
// first poll) that starts the replay before Run does: the end of Run's
// context still stops the replay, and Run with it.
func TestPeerSourceReplayPollFirst(t *testing.T) {
	src, err := NewSource(peerTarget(t, "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", "10.250.0.1", "fo-lab"), log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer closeSource(src)
	s := src.(*peerSource)
	started := make(chan struct{})
	var once sync.Once
	s.hook = func(string) { // about 3 s for the capture's 303 messages
		once.Do(func() { close(started) })
		time.Sleep(10 * time.Millisecond)
	}
	polled := make(chan error, 1)
	go func() {
		_, err := src.Poll(context.Background())
		polled <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		src.(Watcher).Run(ctx, func([]failover.Relationship, error) {})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-ran:
	case <-time.After(time.Second):
		t.Fatal("Run ignores its context while a replay started by Poll runs")
	}
	select {
	case <-polled:
	case <-time.After(time.Second):
		t.Fatal("the replay went on after Run's context ended")
	}
}
