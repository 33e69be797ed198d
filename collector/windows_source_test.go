package collector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWinEnumeration(t *testing.T) {
	needABIHost(t)
	specs := func(from, n int) []winSpec {
		var s []winSpec
		for i := from; i < from+n; i++ {
			s = append(s, fullSpec(i))
		}
		return s
	}
	for _, c := range []struct {
		name      string
		pages     []winFakePage
		wantRels  int
		wantCalls int
		reason    Reason
		text      string
	}{
		{"no relationships: NO_MORE_ITEMS at once", []winFakePage{{null: true, code: winErrorNoMoreItems}}, 0, 1, "", ""},
		{"no relationships: empty success", []winFakePage{{code: winErrorSuccess}}, 0, 1, "", ""},
		{"one page then NO_MORE_ITEMS", []winFakePage{{specs: specs(0, 31)}}, 31, 2, "", ""},
		{"paged with resume handle", []winFakePage{{specs: specs(0, 10), code: winErrorMoreData}, {specs: specs(10, 10), code: winErrorMoreData}, {specs: specs(20, 11)}}, 31, 4, "", ""},
		{"access denied", []winFakePage{{null: true, code: winErrorAccessDenied}}, 0, 1, ReasonAuth, "DHCP Users group?) (Win32 error 5)"},
		{"RPC server unavailable", []winFakePage{{null: true, code: winRPCServerUnavailable}}, 0, 1, ReasonConnect, "RPC server unavailable"},
		{"error after a page: its buffers freed", []winFakePage{{specs: specs(0, 2), code: winErrorMoreData}, {specs: specs(2, 1), code: winRPCCallFailed}}, 0, 2, ReasonConnect, "Win32 error 1726"},
		{"MORE_DATA without progress", []winFakePage{{code: winErrorMoreData, zeroRead: true}}, 0, 1, ReasonProtocol, "no progress"},
		{"undecodable answer", []winFakePage{{specs: []winSpec{{name: nil}}}}, 0, 1, ReasonProtocol, "RelationshipName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := &winFakeAPI{winFakeMem: newWinFakeMem(), pages: c.pages}
			rels, err := readWinRelationships(api, "dhcp-a")
			api.checkAllFreed(t)
			if api.calls != c.wantCalls {
				t.Errorf("%d calls, want %d", api.calls, c.wantCalls)
			}
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(rels) != c.wantRels {
					t.Fatalf("%d relationships, want %d", len(rels), c.wantRels)
				}
				for i, r := range rels {
					if want := fmt.Sprintf("rel-%02d", i); r.Name != want {
						t.Errorf("relationship %d is %q, want %q", i, r.Name, want)
					}
				}
				return
			}
			if Classify(err) != c.reason || !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %v (%s), want %s containing %q", err, Classify(err), c.reason, c.text)
			}
		})
	}
	// The resume handle goes back to the server as it returned it.
	api := &winFakeAPI{winFakeMem: newWinFakeMem(), pages: []winFakePage{{specs: specs(0, 3), code: winErrorMoreData}, {specs: specs(3, 2)}}}
	if _, err := readWinRelationships(api, ""); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(api.resumes) != "[0 3 5]" {
		t.Errorf("resume handles %v, want [0 3 5]", api.resumes)
	}
}

// A server that pages forever is cut off.
func TestWinEnumerationBounded(t *testing.T) {
	needABIHost(t)
	var pages []winFakePage
	for i := 0; i < maxWinEnumCalls+5; i++ {
		pages = append(pages, winFakePage{specs: []winSpec{fullSpec(i % 31)}, code: winErrorMoreData})
	}
	api := &winFakeAPI{winFakeMem: newWinFakeMem(), pages: pages}
	_, err := readWinRelationships(api, "")
	if !errors.Is(err, errWinPaging) || Classify(err) != ReasonProtocol {
		t.Fatalf("error %v", err)
	}
	if api.calls != maxWinEnumCalls {
		t.Errorf("%d calls", api.calls)
	}
	api.checkAllFreed(t)
}

func TestWin32ErrorClassification(t *testing.T) {
	for code, want := range map[uint32]Reason{
		5: ReasonAuth, 1326: ReasonAuth, 1747: ReasonAuth, 1825: ReasonAuth,
		1722: ReasonConnect, 1753: ReasonConnect, 1717: ReasonConnect, 53: ReasonConnect, 1707: ReasonConnect, 1723: ReasonConnect, 1726: ReasonConnect, 1727: ReasonConnect,
		20115: ReasonNotFound,
		1460:  ReasonTimeout, 258: ReasonTimeout, 121: ReasonTimeout, 1818: ReasonTimeout,
		1745: ReasonProtocol,
		87:   ReasonOther, 14: ReasonOther, 20000: ReasonOther, 0xffffffff: ReasonOther,
	} {
		err := winCallError("DhcpV4FailoverEnumRelationship", "", code)
		if got := Classify(err); got != want {
			t.Errorf("code %d: %s, want %s", code, got, want)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("Win32 error %d", code)) || !strings.Contains(err.Error(), "this machine") {
			t.Errorf("code %d: %q", code, err)
		}
		var we Win32Error
		if !errors.As(err, &we) || uint32(we) != code {
			t.Errorf("code %d: Win32Error not wrapped", code)
		}
	}
	if e := winCallError("X", "dhcp-b", 5).Error(); !strings.Contains(e, `server "dhcp-b"`) || !strings.Contains(e, "DHCP Users") {
		t.Errorf("access denied reads %q", e)
	}
}

func newTestWinSource(api *winFakeAPI, rels ...string) *windowsSource {
	s := newWindowsSourceWith(api, "dhcp-a", rels, log.NewNopLogger())
	s.now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	return s
}

func TestWinSourcePoll(t *testing.T) {
	needABIHost(t)
	pair := func(state, prev uint32) winFakePage {
		a, b := fullSpec(0), fullSpec(1)
		a.name, b.name = strp("fo-lab"), strp("fo-branch")
		a.mode, a.serverType = winModeHotStandby, winServerSecondary
		a.primary, a.primName = 0xC0000201, strp("dhcp-a.example.net")
		a.state, a.prev, b.state, b.prev = state, prev, 3, 3
		a.secret = strp("the-shared-secret")
		return winFakePage{specs: []winSpec{a, b}}
	}
	api := &winFakeAPI{winFakeMem: newWinFakeMem(), serverTime: 1_800_000_003, maxDelta: 60,
		pages: []winFakePage{pair(4, 3), {code: winErrorNoMoreItems}, pair(5, 4), {code: winErrorNoMoreItems}}}
	s := newTestWinSource(api, "fo-lab")

	rels, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Name != "fo-lab" || rels[0].Role != failover.RoleStandby || rels[0].Local.State != failover.CommunicationInt {
		t.Fatalf("first poll: %+v", rels)
	}
	if len(rels[0].Transitions) != 1 {
		t.Errorf("first poll: %+v", rels[0].Transitions)
	}
	if rels[0].PartnerName != "dhcp-a.example.net" || rels[0].PartnerAddress != "192.0.2.1" {
		t.Errorf("partner: %q %q", rels[0].PartnerName, rels[0].PartnerAddress)
	}
	want := `
# HELP dhcp_failover_windows_clock_offset_max_seconds Maximum time delta the Windows DHCP server allows between failover partners (DhcpV4FailoverGetSystemTime).
# TYPE dhcp_failover_windows_clock_offset_max_seconds gauge
dhcp_failover_windows_clock_offset_max_seconds{target="win"} 60
# HELP dhcp_failover_windows_clock_offset_seconds Windows DHCP server time (DhcpV4FailoverGetSystemTime) minus the exporter's time; 1 s resolution. The difference between two partners' offsets is their clock skew.
# TYPE dhcp_failover_windows_clock_offset_seconds gauge
dhcp_failover_windows_clock_offset_seconds{target="win"} 3
`
	if err := testutil.CollectAndCompare(winMetrics{s, "win"}, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	rels, err = s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rels[0].Transitions; len(got) != 1 || got[0].From != failover.CommunicationInt || got[0].To != failover.PartnerDown {
		t.Errorf("second poll: %+v", got)
	}
	api.checkAllFreed(t)

	// The secret is in the fake memory, and nowhere else.
	out := fmt.Sprintf("%+v %#v", rels, rels)
	if n, _ := testutil.GatherAndCount(mustRegistry(winMetrics{s, "win"})); n == 0 || strings.Contains(out, "the-shared-secret") {
		t.Errorf("secret leaked or no metrics: %s", out)
	}
}

func TestWinSourceFailures(t *testing.T) {
	needABIHost(t)
	t.Run("missing relationship is not_found", func(t *testing.T) {
		api := &winFakeAPI{winFakeMem: newWinFakeMem(), pages: []winFakePage{{specs: []winSpec{fullSpec(0)}}}}
		s := newTestWinSource(api, "rel-00", "gone")
		_, err := s.Poll(context.Background())
		if Classify(err) != ReasonNotFound || !strings.Contains(err.Error(), `"gone"`) {
			t.Fatalf("error %v", err)
		}
		if len(s.states) != 0 {
			t.Errorf("state memory moved on a failed poll: %v", s.states)
		}
		if n := testutil.CollectAndCount(winMetrics{s, "win"}); n != 0 {
			t.Errorf("%d metrics after a failed poll", n)
		}
	})
	t.Run("server time unavailable", func(t *testing.T) {
		api := &winFakeAPI{winFakeMem: newWinFakeMem(), timeCode: winErrorAccessDenied, pages: []winFakePage{{specs: []winSpec{fullSpec(0)}}}}
		s := newTestWinSource(api)
		if _, err := s.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := testutil.CollectAndCount(winMetrics{s, "win"}, "dhcp_failover_windows_clock_offset_seconds"); n != 0 {
			t.Errorf("clock rendered without a time")
		}
	})
	t.Run("hung RPC: timeout, then busy, then recovery", func(t *testing.T) {
		api := &winFakeAPI{winFakeMem: newWinFakeMem(), block: make(chan struct{}), pages: []winFakePage{{specs: []winSpec{fullSpec(0)}}}}
		s := newTestWinSource(api)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Poll(ctx)
		if Classify(err) != ReasonTimeout || time.Since(start) > 2*time.Second {
			t.Fatalf("error %v after %s", err, time.Since(start))
		}
		_, err = s.Poll(context.Background())
		if !errors.Is(err, errWinBusy) || Classify(err) != ReasonTimeout {
			t.Fatalf("second poll while hung: %v", err)
		}
		close(api.block) // the RPC returns at last; its late answer is dropped
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err = s.Poll(context.Background())
			if !errors.Is(err, errWinBusy) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		api.checkAllFreed(t)
	})
}

// winMetrics adapts a MetricsSource to a prometheus.Collector for testutil.
type winMetrics struct {
	s      MetricsSource
	target string
}

func (w winMetrics) Describe(ch chan<- *prometheus.Desc) { w.s.Describe(ch) }
func (w winMetrics) Collect(ch chan<- prometheus.Metric) { w.s.CollectMetrics(w.target, ch) }

func mustRegistry(c prometheus.Collector) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	return r
}
