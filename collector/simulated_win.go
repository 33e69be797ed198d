package collector

import (
	"context"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi/dhcpsapitest"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// The emulated Windows server (docs/simulated.md, "Emulated sources"):
// the Windows source itself (collector/windows_source.go, windows_map.go)
// polls a simulated dhcpsapi.dll, dhcpsapi/dhcpsapitest's fake, whose
// answers are laid out in memory as 64-bit Windows lays them out and are
// decoded by the dhcpsapi package as a real server's are. The pair is in
// contact all along: NORMAL in both relationships.

// simWinRel is one emulated relationship and its scope.
type simWinRel struct {
	suffix     string
	mode       uint32
	percentage uint8 // load balance: the primary's share; hot standby: the reserve
	third      int   // the scope is 10.<pair>.<third>.0/24
	scopeName  string
	inUse      float64 // fraction of the scope leased
}

// simWinRels: a load-balance and a hot-standby relationship, so that both
// of Windows' Percentage gauges appear; a standby reserve of 5%, as
// Windows proposes by default (Add-DhcpServerv4Failover -ReservePercent).
var simWinRels = []simWinRel{
	{suffix: "-lb", mode: dhcpsapi.ModeLoadBalance, percentage: 50, third: 20, scopeName: "Branch clients", inUse: 0.45},
	{suffix: "-hs", mode: dhcpsapi.ModeHotStandby, percentage: 5, third: 21, scopeName: "Branch phones", inUse: 0.3},
}

// simWinScopeSize is the addresses of each emulated scope.
const simWinScopeSize = 200

// simWindowsSource is the Windows source over the simulated DLL; it
// reports vendor simulated, as every simulated server does.
type simWindowsSource struct {
	*windowsSource
	logger log.Logger
	once   sync.Once
}

func newSimWindowsSource(s *config.Simulated, server int, logger log.Logger) (Source, error) {
	api := &simWinAPI{pair: s.Pair, server: server, now: time.Now}
	api.started = api.now()
	return &simWindowsSource{windowsSource: newWindowsSourceWith(api, "", nil, logger), logger: logger}, nil
}

// Poll implements Source. The fake lays out the 64-bit Windows ABI only
// on 64-bit little-endian hosts: elsewhere the server reports nothing.
func (s *simWindowsSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	if !dhcpsapitest.ABIHost() {
		s.once.Do(func() {
			level.Info(s.logger).Log("msg", "The emulated Windows server needs a 64-bit little-endian host: it reports no relationship here")
		})
		return nil, nil
	}
	return asSimulated(s.windowsSource.Poll(ctx))
}

// simWinAPI is the simulated DLL of server a or b of a pair. Each poll
// starts with the first DhcpV4FailoverEnumRelationship call (resume
// handle 0): it lays out that poll's answers in a fresh fake, so that
// what one poll allocates is dropped with it.
type simWinAPI struct {
	pair    string
	server  int
	now     func() time.Time
	started time.Time // the server's start: its MIB counters count from here

	mu  sync.Mutex
	cur *dhcpsapitest.Server
}

func (a *simWinAPI) current() *dhcpsapitest.Server {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == nil {
		a.cur = a.build(a.now())
	}
	return a.cur
}

// EnumRelationships implements dhcpsapi.API.
func (a *simWinAPI) EnumRelationships(resume *uint32) (uintptr, uint32, uint32, dhcpsapi.Status) {
	if *resume == 0 {
		a.mu.Lock()
		a.cur = a.build(a.now())
		a.mu.Unlock()
	}
	return a.current().EnumRelationships(resume)
}

// Read implements dhcpsapi.Memory.
func (a *simWinAPI) Read(addr uintptr, n int) ([]byte, error) { return a.current().Read(addr, n) }

// SystemTime implements dhcpsapi.API.
func (a *simWinAPI) SystemTime() (uint32, uint32, dhcpsapi.Status) { return a.current().SystemTime() }

// ScopeStatistics implements dhcpsapi.API.
func (a *simWinAPI) ScopeStatistics(scope uint32) (uintptr, dhcpsapi.Status) {
	return a.current().ScopeStatistics(scope)
}

// SubnetInfo implements dhcpsapi.API.
func (a *simWinAPI) SubnetInfo(subnet uint32) (uintptr, dhcpsapi.Status) {
	return a.current().SubnetInfo(subnet)
}

// SuperScopes implements dhcpsapi.API.
func (a *simWinAPI) SuperScopes() (uintptr, dhcpsapi.Status) { return a.current().SuperScopes() }

// MibInfo implements dhcpsapi.API.
func (a *simWinAPI) MibInfo() (uintptr, dhcpsapi.Status) { return a.current().MibInfo() }

// Free implements dhcpsapi.API.
func (a *simWinAPI) Free(addr uintptr) { a.current().Free(addr) }

// build lays out what the server answers at now.
func (a *simWinAPI) build(now time.Time) *dhcpsapitest.Server {
	o := uint32(simOctet(a.pair))
	ip := func(third, host uint32) uint32 { return 10<<24 | o<<16 | third<<8 | host }
	var rels []dhcpsapitest.Relationship
	var mibScopes []dhcpsapitest.ScopeMibInfoV5C
	srv := dhcpsapitest.NewServer()
	for _, r := range simWinRels {
		scope := ip(uint32(r.third), 0)
		rels = append(rels, dhcpsapitest.Relationship{
			Primary: ip(uint32(r.third), 2), Secondary: ip(uint32(r.third), 3),
			Mode: r.mode, ServerType: uint32(a.server), // a is the primary of both
			State: uint32(failover.Normal), Prev: uint32(failover.RecoverDone),
			MCLT: 3600, SafePeriod: 3600, Percentage: r.percentage,
			Name:     dhcpsapitest.Str(a.pair + r.suffix),
			PrimName: dhcpsapitest.Str(a.pair + "-a.example.net"), SecName: dhcpsapitest.Str(a.pair + "-b.example.net"),
			Scopes: []uint32{scope},
			Secret: dhcpsapitest.Str("simulated"),
		})
		inUse := uint32(r.inUse * simWinScopeSize)
		free := simWinScopeSize - inUse
		// The split of the free addresses: the primary's percentage in
		// load balance; the standby's reserve in hot standby.
		share := uint32(r.percentage)
		if r.mode == dhcpsapi.ModeHotStandby {
			share = 100 - share
		}
		primaryFree := free * share / 100
		this, partner := primaryFree, free-primaryFree
		if a.server == 1 {
			this, partner = partner, this
		}
		srv.Scopes[scope] = dhcpsapitest.Scope{Mask: 0xFFFFFF00, Name: r.scopeName, Stats: dhcpsapitest.StatisticsC{
			NumAddr: simWinScopeSize, AddrFree: free, AddrInUse: inUse,
			ThisAddrFree: this, PartnerAddrFree: partner, ThisAddrInUse: inUse / 2, PartnerAddrInUse: inUse - inUse/2,
		}}
		mibScopes = append(mibScopes, dhcpsapitest.ScopeMibInfoV5C{Subnet: scope, NumAddressesInuse: inUse, NumAddressesFree: free,
			NumPendingOffers: uint32(now.Unix()/7) % 3})
	}
	srv.Pages = []dhcpsapitest.Page{{Relationships: rels}}
	// The load-balance scope is in a superscope, the other in none.
	srv.SuperScopeTable = []dhcpsapitest.SuperScope{
		{Subnet: ip(uint32(simWinRels[0].third), 0), Number: 0, Next: dhcpsapi.SuperScopeNone, Name: dhcpsapitest.Str(a.pair + "-branch")},
	}
	// b's clock runs 1 s ahead; Windows allows partners 60 s apart.
	srv.ServerTime, srv.MaxDelta = uint32(now.Unix())+uint32(a.server), 60
	up := now.Sub(a.started)
	lo, hi := dhcpsapi.DateTime(a.started)
	srv.Mib = &dhcpsapitest.Mib{
		// A DHCPNAK every 40 s, a DHCPDECLINE every 5 minutes.
		Info:   dhcpsapitest.MibInfoV5C{Naks: uint32(up / (40 * time.Second)), Declines: uint32(up / (5 * time.Minute)), StartLow: lo, StartHigh: hi},
		Scopes: mibScopes,
	}
	return srv
}
