package collector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

// dhcpAPI is the part of dhcpsapi.dll the Windows source calls. windows.go
// implements it with the real DLL; tests implement it over a fake address
// space, so that the enumeration, the freeing of every buffer and the
// mapping are exercised on every OS.
type dhcpAPI interface {
	memReader
	// enumRelationships calls DhcpV4FailoverEnumRelationship once; resume
	// is the resume handle, in and out.
	enumRelationships(resume *uint32) (array uintptr, read, total uint32, code uint32)
	// systemTime calls DhcpV4FailoverGetSystemTime.
	systemTime() (serverTime, maxDelta uint32, code uint32)
	// free calls DhcpRpcFreeMemory on one block.
	free(addr uintptr)
}

// maxWinEnumCalls bounds the calls of one enumeration: a server holds at
// most 31 relationships and answers them in one or a few pages.
const maxWinEnumCalls = 64

var (
	errWinBusy     = errors.New("windows: the previous call to the DHCP server has not returned yet")
	errWinNoPaging = errors.New("windows: enumeration made no progress (ERROR_MORE_DATA with nothing read)")
	errWinPaging   = fmt.Errorf("windows: enumeration did not end within %d calls", maxWinEnumCalls)
)

// readWinRelationships enumerates every failover relationship of the
// server, freeing every buffer the API returned (nested ones first), on
// success and on every error path.
func readWinRelationships(api dhcpAPI, server string) ([]winRelationship, error) {
	var (
		all    []winRelationship
		resume uint32
	)
	for call := 0; ; call++ {
		if call == maxWinEnumCalls {
			return nil, Classified(ReasonProtocol, errWinPaging)
		}
		arr, read, _, code := api.enumRelationships(&resume)
		rels, blocks, err := decodeRelationshipArray(api, arr)
		for _, b := range blocks {
			api.free(b)
		}
		switch code {
		case winErrorSuccess, winErrorMoreData:
		case winErrorNoMoreItems:
			return all, nil
		default:
			return nil, winCallError("DhcpV4FailoverEnumRelationship", server, code)
		}
		if err != nil {
			return nil, Classified(ReasonProtocol, err)
		}
		all = append(all, rels...)
		if len(all) > maxWinRelationships {
			return nil, Classified(ReasonProtocol, fmt.Errorf("%w: more than %d relationships", errWinTooMany, maxWinRelationships))
		}
		if read == 0 || len(rels) == 0 {
			if code == winErrorMoreData {
				return nil, Classified(ReasonProtocol, errWinNoPaging)
			}
			return all, nil
		}
	}
}

// winSnapshot is what the source renders itself (CollectMetrics): what
// the last successful poll saw beyond the relationship contract.
type winSnapshot struct {
	clockOK     bool
	clockOffset float64 // server time minus exporter time, seconds
	clockMax    float64 // the server's maximum allowed delta, seconds
}

// Metrics of the Windows source beyond the relationship contract.
var (
	winClockOffsetDesc = prometheus.NewDesc(namespace+"_windows_clock_offset_seconds",
		"Windows DHCP server time (DhcpV4FailoverGetSystemTime) minus the exporter's time; 1 s resolution. The difference between two partners' offsets is their clock skew.",
		[]string{"target"}, nil)
	winClockMaxDesc = prometheus.NewDesc(namespace+"_windows_clock_offset_max_seconds",
		"Maximum time delta the Windows DHCP server allows between failover partners (DhcpV4FailoverGetSystemTime).",
		[]string{"target"}, nil)
)

// windowsSource polls one Windows DHCP server through dhcpsapi.dll.
type windowsSource struct {
	api    dhcpAPI
	server string
	want   map[string]bool
	names  []string // wanted names, sorted, to report the missing ones
	logger log.Logger
	now    func() time.Time

	// busy holds a token while a call to the DLL is in flight: a call that
	// outlives its poll's deadline keeps it, and later polls fail fast
	// instead of stacking goroutines behind a hung RPC.
	busy chan struct{}

	// Touched only by Poll, which the agent never calls concurrently.
	states  winStates
	unknown map[uint32]bool

	mu   sync.Mutex
	snap winSnapshot
}

func newWindowsSourceWith(api dhcpAPI, server string, relationships []string, logger log.Logger) *windowsSource {
	s := &windowsSource{
		api:     api,
		server:  server,
		logger:  logger,
		now:     time.Now,
		busy:    make(chan struct{}, 1),
		states:  winStates{},
		unknown: map[uint32]bool{},
	}
	s.want, s.names = relationshipFilter(relationships)
	return s
}

type winPollResult struct {
	rels       []winRelationship
	err        error
	clockOK    bool
	serverTime uint32
	maxDelta   uint32
	clockErr   error
	at         time.Time // midpoint of the time call, exporter clock
}

// Poll enumerates the server's relationships. The DLL calls block (an RPC
// to an unreachable server can take tens of seconds), so they run in a
// goroutine and Poll returns at ctx's deadline.
func (s *windowsSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	select {
	case s.busy <- struct{}{}:
	default:
		return nil, Classified(ReasonTimeout, errWinBusy)
	}
	done := make(chan winPollResult, 1)
	go func() {
		defer func() { <-s.busy }()
		done <- s.call()
	}()
	var res winPollResult
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, Classified(ReasonTimeout, fmt.Errorf("windows: %s: %w", serverLabel(s.server), ctx.Err()))
	}
	if res.err != nil {
		s.setSnapshot(winSnapshot{})
		return nil, res.err
	}
	return s.observe(res)
}

// call runs the blocking DLL calls; it touches nothing Poll reads.
func (s *windowsSource) call() winPollResult {
	var res winPollResult
	res.rels, res.err = readWinRelationships(s.api, s.server)
	if res.err != nil {
		return res
	}
	before := s.now()
	t, maxDelta, code := s.api.systemTime()
	after := s.now()
	if code != winErrorSuccess {
		res.clockErr = winCallError("DhcpV4FailoverGetSystemTime", s.server, code)
		return res
	}
	res.clockOK, res.serverTime, res.maxDelta = true, t, maxDelta
	res.at = before.Add(after.Sub(before) / 2)
	return res
}

// observe maps a successful call's result and keeps what CollectMetrics
// renders. A configured relationship the server does not have fails the
// poll as not_found: the operator asked for it by name.
func (s *windowsSource) observe(res winPollResult) ([]failover.Relationship, error) {
	for _, w := range res.rels {
		for _, v := range []uint32{w.State, w.PrevState} {
			if _, ok := winState(v); !ok && !s.unknown[v] {
				s.unknown[v] = true
				level.Warn(s.logger).Log("msg", "Unknown FSM_STATE value from the Windows DHCP server, shown as NO_STATE", "relationship", w.Name, "value", v)
			}
		}
	}
	if res.clockErr != nil {
		level.Debug(s.logger).Log("msg", "Could not read the Windows DHCP server's time", "err", res.clockErr)
	}
	// Missing names fail the poll before the state memory moves on, so
	// that the changes of the others are still counted on the next poll.
	present := make(map[string]bool, len(res.rels))
	for _, w := range res.rels {
		present[w.Name] = true
	}
	var missing []string
	for _, n := range s.names {
		if !present[n] {
			missing = append(missing, strconv.Quote(n))
		}
	}
	if len(missing) > 0 {
		s.setSnapshot(winSnapshot{})
		return nil, Classified(ReasonNotFound, fmt.Errorf("windows: %s has no failover relationship %s", serverLabel(s.server), strings.Join(missing, ", ")))
	}
	rels := s.states.observe(res.rels, s.want, s.now())
	snap := winSnapshot{clockOK: res.clockOK}
	if res.clockOK {
		snap.clockOffset = float64(int64(res.serverTime)) - float64(res.at.UnixNano())/1e9
		snap.clockMax = float64(res.maxDelta)
	}
	s.setSnapshot(snap)
	return rels, nil
}

func (s *windowsSource) setSnapshot(snap winSnapshot) {
	s.mu.Lock()
	s.snap = snap
	s.mu.Unlock()
}

// Describe implements MetricsSource.
func (s *windowsSource) Describe(ch chan<- *prometheus.Desc) {
	ch <- winClockOffsetDesc
	ch <- winClockMaxDesc
}

// CollectMetrics implements MetricsSource: it renders the last successful
// poll's server clock, and nothing after a failed poll.
func (s *windowsSource) CollectMetrics(target string, ch chan<- prometheus.Metric) {
	s.mu.Lock()
	snap := s.snap
	s.mu.Unlock()
	if snap.clockOK {
		ch <- prometheus.MustNewConstMetric(winClockOffsetDesc, prometheus.GaugeValue, snap.clockOffset, target)
		ch <- prometheus.MustNewConstMetric(winClockMaxDesc, prometheus.GaugeValue, snap.clockMax, target)
	}
}
