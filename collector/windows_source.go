package collector

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// The windows source: Windows DHCP Server failover relationships, failover
// scope statistics, superscopes and MIB counters read through
// dhcpsapi.dll (docs/windows.md).
// The dhcpsapi package binds the DLL and decodes its answers; this file
// calls it off the poll's goroutine, maps what it returns and classifies
// its errors.

// maxWinScopesPolled bounds the failover scopes whose statistics one poll
// reads (two RPCs each the first time, one after): past it, the pools of
// the remaining scopes are not reported.
const maxWinScopesPolled = 1024

var errWinBusy = errors.New("windows: the previous call to the DHCP server has not returned yet")

// classifyWindows gives the reason of a dhcpsapi error.
func classifyWindows(err error) error {
	var st dhcpsapi.Status
	switch {
	case errors.As(err, &st):
		return Classified(winStatusReason(st), err)
	case errors.Is(err, dhcpsapi.ErrMalformed):
		return Classified(ReasonProtocol, err)
	}
	return err
}

// winReasons classifies the statuses; anything else is ReasonOther.
var winReasons = map[dhcpsapi.Status]Reason{
	dhcpsapi.StatusAccessDenied:         ReasonAuth,
	dhcpsapi.StatusLogonFailure:         ReasonAuth,
	dhcpsapi.StatusRPCUnknownAuthnSvc:   ReasonAuth,
	dhcpsapi.StatusRPCSecPkgError:       ReasonAuth,
	dhcpsapi.StatusBadNetpath:           ReasonConnect,
	dhcpsapi.StatusRPCInvalidNetAddr:    ReasonConnect,
	dhcpsapi.StatusRPCUnknownIf:         ReasonConnect,
	dhcpsapi.StatusRPCServerUnavailable: ReasonConnect,
	dhcpsapi.StatusRPCServerTooBusy:     ReasonConnect,
	dhcpsapi.StatusRPCCallFailed:        ReasonConnect,
	dhcpsapi.StatusRPCCallFailedDNE:     ReasonConnect,
	dhcpsapi.StatusEPTNotRegistered:     ReasonConnect,
	dhcpsapi.StatusSemTimeout:           ReasonTimeout,
	dhcpsapi.StatusWaitTimeout:          ReasonTimeout,
	dhcpsapi.StatusTimeout:              ReasonTimeout,
	dhcpsapi.StatusRPCCallCancelled:     ReasonTimeout,
	dhcpsapi.StatusRPCProcnumOutOfRange: ReasonProtocol,
	dhcpsapi.StatusFONoRelationship:     ReasonNotFound,
	dhcpsapi.StatusFOScopeNotInRel:      ReasonNotFound,
	dhcpsapi.StatusSubnetNotPresent:     ReasonNotFound,
}

func winStatusReason(st dhcpsapi.Status) Reason {
	if r, ok := winReasons[st]; ok {
		return r
	}
	return ReasonOther
}

// winError names the server in a dhcpsapi error and classifies it.
func winError(server string, err error) error {
	return classifyWindows(fmt.Errorf("windows: %s: %w", serverLabel(server), err))
}

// serverLabel is how errors name the polled server.
func serverLabel(server string) string {
	if server == "" {
		return "this machine"
	}
	return "server " + strconv.Quote(server)
}

// winSnapshot is what the source renders itself (WriteMetrics): what
// the last successful poll saw beyond the relationship contract.
type winSnapshot struct {
	clockOK     bool
	clockOffset float64 // server time minus exporter time, seconds
	clockMax    float64 // the server's maximum allowed delta, seconds
	// partnerFree: per relationship and pool, the free addresses the
	// partner may lease (PartnerAddrFree).
	partnerFree []winPartnerFree
	// scopes: per relationship and pool, the scope's name.
	scopes []winScopeName
	mib    winServerCounters
}

type winScopeName struct{ relationship, pool, name string }

type winPartnerFree struct {
	relationship, pool string
	free               float64
}

// winServerCounters is what DhcpGetMibInfoV5 adds beyond the pools and
// the NAK refusals: the declines, the server's start, and each failover
// scope's pending offers.
type winServerCounters struct {
	ok        bool
	declines  float64
	startTime float64 // Unix seconds; 0 if the server sent none
	pending   []winPoolValue
}

type winPoolValue struct {
	relationship, pool string
	value              float64
}

// Metrics of the Windows source beyond the relationship contract.
var (
	winClockOffsetDesc = sourceGauge("windows_clock_offset_seconds",
		"Windows DHCP server time (DhcpV4FailoverGetSystemTime) minus the exporter's time; 1 s resolution. The difference between two partners' offsets is their clock skew.")
	winClockMaxDesc = sourceGauge("windows_clock_offset_max_seconds",
		"Maximum time delta the Windows DHCP server allows between failover partners (DhcpV4FailoverGetSystemTime).")
	winPartnerFreeDesc = sourceGauge("windows_pool_partner_free_addresses",
		"Free addresses of the failover scope that the partner may lease, as the polled Windows DHCP server sees them (DhcpV4FailoverGetScopeStatistics PartnerAddrFree).",
		"relationship", "pool")
	winScopeInfoDesc = sourceGauge("windows_scope_info",
		"The name of the failover scope the pool is (DhcpGetSubnetInfo SubnetName); always 1.",
		"relationship", "pool", "scope_name")
	winDeclinesDesc = sourceCounter("windows_declines_total",
		"DHCPDECLINE messages the Windows DHCP server received since it last started (DhcpGetMibInfoV5 Declines): clients that found their offered address in use.")
	winStartTimeDesc = sourceGauge("windows_server_start_time_seconds",
		"When the Windows DHCP server last started, Unix time (DhcpGetMibInfoV5 ServerStartTime); its MIB counters, the NAK refusals included, count from then.")
	winPendingOffersDesc = sourceGauge("windows_pool_pending_offers",
		"Addresses of the failover scope offered to clients that have not yet sent their REQUEST (DhcpGetMibInfoV5 NumPendingOffers).",
		"relationship", "pool")
)

// windowsSource polls one Windows DHCP server through dhcpsapi.dll.
type windowsSource struct {
	api    dhcpsapi.API
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
	states winStates

	// Touched only by call: the subnet and name of each scope ID, read
	// once.
	prefixes map[netip.Addr]winScope

	mu      sync.Mutex
	snap    winSnapshot
	gen     uint64    // counts the snapshots
	created time.Time // when the source was built
}

func newWindowsSourceWith(api dhcpsapi.API, server string, relationships []string, logger log.Logger) *windowsSource {
	s := &windowsSource{
		api:    api,
		server: server,
		logger: logger,
		now:    time.Now,
		busy:   make(chan struct{}, 1),
		states: winStates{},

		prefixes: map[netip.Addr]winScope{},
		created:  time.Now(),
	}
	s.want, s.names = relationshipFilter(relationships)
	return s
}

type winPollResult struct {
	rels []dhcpsapi.Relationship
	// networks maps each scope ID to its superscope (absent: in none);
	// nil if DhcpGetSuperScopeInfoV4 failed (networkErr).
	networks   map[netip.Addr]string
	networkErr error
	mib        dhcpsapi.MibInfo
	mibErr     error
	pools      map[string][]winPool // by relationship name
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
		// The token goes back before the answer is delivered, so that a
		// Poll that follows a completed one never finds the source busy.
		var res winPollResult
		defer func() { done <- res }()
		defer func() { <-s.busy }()
		res = s.call()
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
	var err error
	if res.rels, err = dhcpsapi.Relationships(s.api); err != nil {
		res.err = winError(s.server, err)
		return res
	}
	res.networks, res.networkErr = s.readNetworks()
	res.pools = s.readPools(res.rels, res.networks)
	if res.mib, err = dhcpsapi.Mib(s.api); err != nil {
		res.mibErr = winError(s.server, err)
	}
	before := s.now()
	t, maxDelta, err := dhcpsapi.SystemTime(s.api)
	after := s.now()
	if err != nil {
		res.clockErr = winError(s.server, err)
		return res
	}
	res.clockOK, res.serverTime, res.maxDelta = true, t, maxDelta
	res.at = before.Add(after.Sub(before) / 2)
	return res
}

// observe maps a successful call's result and keeps what WriteMetrics
// renders. A configured relationship the server does not have fails the
// poll as not_found: the operator asked for it by name.
func (s *windowsSource) observe(res winPollResult) ([]failover.Relationship, error) {
	if res.clockErr != nil {
		level.Debug(s.logger).Log("msg", "Could not read the Windows DHCP server's time", "err", res.clockErr)
	}
	if res.networkErr != nil {
		level.Debug(s.logger).Log("msg", "Could not read the Windows DHCP server's superscopes", "err", res.networkErr)
	}
	if res.mibErr != nil {
		level.Debug(s.logger).Log("msg", "Could not read the Windows DHCP server's counters", "err", res.mibErr)
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
	for i := range rels {
		for _, p := range res.pools[rels[i].Name] {
			rels[i].Pools = append(rels[i].Pools, p.pool)
			snap.partnerFree = append(snap.partnerFree, winPartnerFree{rels[i].Name, p.pool.Name, float64(p.partnerFree)})
			if p.scopeName != "" {
				snap.scopes = append(snap.scopes, winScopeName{rels[i].Name, p.pool.Name, p.scopeName})
			}
		}
	}
	if res.mibErr == nil {
		snap.mib = winCounters(rels, res.mib)
		winAttachRefusals(rels, res.mib)
	}
	if res.clockOK {
		snap.clockOffset = float64(int64(res.serverTime)) - float64(res.at.UnixNano())/1e9
		snap.clockMax = float64(res.maxDelta)
	}
	s.setSnapshot(snap)
	return rels, nil
}

// winCounters keeps the MIB's declines, start time and the pending
// offers of the failover scopes the poll reports.
func winCounters(rels []failover.Relationship, mib dhcpsapi.MibInfo) winServerCounters {
	c := winServerCounters{ok: true, declines: float64(mib.Declines)}
	if !mib.ServerStartTime.IsZero() {
		c.startTime = float64(mib.ServerStartTime.UnixNano()) / 1e9
	}
	pending := make(map[string]uint32, len(mib.Scopes))
	for _, sc := range mib.Scopes {
		pending[sc.Subnet.String()] = sc.PendingOffers
	}
	for _, r := range rels {
		for _, p := range r.Pools {
			// The pool is the scope's prefix; the MIB names the scope by
			// its ID, the prefix's address.
			pfx, err := netip.ParsePrefix(p.Name)
			if err != nil {
				continue
			}
			if v, ok := pending[pfx.Addr().String()]; ok {
				c.pending = append(c.pending, winPoolValue{r.Name, p.Name, float64(v)})
			}
		}
	}
	return c
}

// winAttachRefusals reports the server's NAKs (DhcpGetMibInfoV5 Naks,
// counted since ServerStartTime) as refusals of the whole server, with
// the first relationship by name (docs/metrics.md, "Shared networks and
// refusals"): the MIB counts NAKs for the server, not per scope.
func winAttachRefusals(rels []failover.Relationship, mib dhcpsapi.MibInfo) {
	first := -1
	for i := range rels {
		if first < 0 || rels[i].Name < rels[first].Name {
			first = i
		}
	}
	if first < 0 {
		return
	}
	rels[first].Refusals = append(rels[first].Refusals, failover.Refusal{Reason: failover.RefusedNAK, Count: float64(mib.Naks)})
}

// winPool is one failover scope's pool and what the partner may lease.
type winPool struct {
	pool        failover.Pool
	scopeName   string // SubnetName; "" if the scope has none
	partnerFree uint32
}

// readPools reads the statistics of every scope of the wanted
// relationships (at most maxWinScopesPolled). A scope whose statistics
// cannot be read is left out, logged at debug: the relationship's state
// is still worth reporting.
func (s *windowsSource) readPools(rels []dhcpsapi.Relationship, networks map[netip.Addr]string) map[string][]winPool {
	out := map[string][]winPool{}
	polled := 0
	for _, r := range rels {
		if len(s.want) > 0 && !s.want[r.Name] {
			continue
		}
		for _, scope := range r.Scopes {
			if polled == maxWinScopesPolled {
				return out
			}
			polled++
			p, err := s.readPool(scope, networks)
			if err != nil {
				level.Debug(s.logger).Log("msg", "Could not read a failover scope's statistics", "relationship", r.Name, "scope", scope, "err", err)
				continue
			}
			out[r.Name] = append(out[r.Name], p)
		}
	}
	return out
}

// readNetworks reads the superscope of every scope
// (DhcpGetSuperScopeInfoV4), once per poll: a scope moves between
// superscopes without being recreated.
func (s *windowsSource) readNetworks() (map[netip.Addr]string, error) {
	entries, err := dhcpsapi.SuperScopes(s.api)
	if err != nil {
		return nil, winError(s.server, err)
	}
	out := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		if e.Name != "" && e.Subnet.IsValid() {
			out[e.Subnet] = failover.Cut(e.Name, failover.MaxNameLen)
		}
	}
	return out, nil
}

// winScope is what DhcpGetSubnetInfo says of a scope: its subnet and its
// name (cut as every name from a server is).
type winScope struct {
	prefix netip.Prefix
	name   string
}

func (s *windowsSource) readPool(scope netip.Addr, networks map[netip.Addr]string) (winPool, error) {
	sc, ok := s.prefixes[scope]
	if !ok {
		prefix, name, err := dhcpsapi.Subnet(s.api, scope)
		if err != nil {
			return winPool{}, winError(s.server, err)
		}
		if len(s.prefixes) > maxWinScopesPolled {
			clear(s.prefixes)
		}
		sc = winScope{prefix: prefix, name: failover.Cut(name, failover.MaxNameLen)}
		s.prefixes[scope] = sc
	}
	st, err := dhcpsapi.Statistics(s.api, scope)
	if err != nil {
		return winPool{}, winError(s.server, err)
	}
	return winPool{pool: windowsPool(sc.prefix, st, winNetwork(scope, sc.prefix, networks)), scopeName: sc.name, partnerFree: st.PartnerAddrFree}, nil
}

// winNetwork is the shared network of a scope: its superscope's name, else
// (a scope in no superscope is its own network) its prefix; "" if the
// superscopes could not be read (networks nil): unknown, not alone.
func winNetwork(scope netip.Addr, prefix netip.Prefix, networks map[netip.Addr]string) string {
	if networks == nil {
		return ""
	}
	if n, ok := networks[scope]; ok {
		return n
	}
	return prefix.String()
}

// windowsPool maps a failover scope's statistics onto the pool families:
// the scope's addresses in use and free as the polled server sees them,
// and its own share of the free ones. The pool is the scope, named by its
// prefix, which is also its subnet; network is its shared network.
func windowsPool(prefix netip.Prefix, st dhcpsapi.ScopeStatistics, network string) failover.Pool {
	return failover.Pool{
		Name:          prefix.String(),
		Subnet:        prefix.String(),
		SharedNetwork: network,
		Size:          failover.Some(int(st.NumAddr)),
		Addresses: []failover.PoolAddresses{
			{State: "in_use", Count: int(st.AddrInUse)},
			{State: "free", Count: int(st.AddrFree)},
		},
		LocalFree: failover.Some(int(st.ThisAddrFree)),
	}
}

func (s *windowsSource) setSnapshot(snap winSnapshot) {
	s.mu.Lock()
	s.snap = snap
	s.gen++
	s.mu.Unlock()
}

// MetricsGeneration implements GenerationalMetricsSource: the metrics
// are the snapshot of the last poll.
func (s *windowsSource) MetricsGeneration() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen, true
}

// WriteMetrics implements MetricsSource: it renders what the last
// successful poll read beyond the contract (the server's clock, the
// partner's share of each pool, the scopes' names, the MIB's declines,
// start time and pending offers), and nothing after a failed poll.
func (s *windowsSource) WriteMetrics(w *MetricWriter) {
	s.mu.Lock()
	snap := s.snap
	s.mu.Unlock()
	if snap.clockOK {
		_ = w.Gauge(winClockOffsetDesc, snap.clockOffset)
		_ = w.Gauge(winClockMaxDesc, snap.clockMax)
	}
	for _, p := range snap.partnerFree {
		_ = w.Gauge(winPartnerFreeDesc, p.free, p.relationship, p.pool)
	}
	for _, sc := range snap.scopes {
		_ = w.Gauge(winScopeInfoDesc, 1, sc.relationship, sc.pool, sc.name)
	}
	if snap.mib.ok {
		_ = w.Counter(winDeclinesDesc, snap.mib.declines)
		if snap.mib.startTime != 0 {
			_ = w.Gauge(winStartTimeDesc, snap.mib.startTime)
		}
		for _, p := range snap.mib.pending {
			_ = w.Gauge(winPendingOffersDesc, p.value, p.relationship, p.pool)
		}
	}
}

// CountersCreated implements CreatedMetricsSource: the MIB counts from
// the server's start (ServerStartTime) where the server says, else the
// exporter counts from the source's start.
func (s *windowsSource) CountersCreated() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.snap.mib.startTime; st > 0 {
		return time.Unix(0, int64(st*1e9))
	}
	return s.created
}
