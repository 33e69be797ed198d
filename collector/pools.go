package collector

import (
	"sort"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	dto "github.com/prometheus/client_model/go"
)

// The pool families (docs/metrics.md): what each server may still hand
// out. Every vendor's source fills failover.Relationship.Pools; the
// label values are bounded by the pools of the server's configuration
// (one "other" besides) and by each vendor's fixed list of states.
var (
	famPoolAddresses = gaugeFamily("pool_addresses", "Addresses of the pool by binding state, as the polled server sees them.")
	famPoolSize      = gaugeFamily("pool_size", "Addresses in the pool.")
	famPoolLocalFree = gaugeFamily("pool_local_free_addresses", "Addresses of the pool the polled server may allocate on its own while out of contact with its partner (ISC primary: free, secondary: backup; Windows: free on this server).")
	famPoolInfo      = gaugeFamily("pool_info", "The subnet and shared network that hold the pool, where the source knows them (always 1).")

	famNetAddresses = gaugeFamily("shared_network_addresses", "Addresses of the shared network's pools by binding state, summed over its pools.")
	famNetSize      = gaugeFamily("shared_network_size", "Addresses in the shared network's pools.")
	famNetLocalFree = gaugeFamily("shared_network_local_free_addresses", "Addresses of the shared network the polled server may allocate on its own while out of contact, summed over its pools.")

	famRefused  = counterFamily("clients_refused_total", "Client requests the server could not satisfy, by the narrowest place it reports and why.")
	famTakeover = gaugeFamily("partner_down_takeover_timestamp_seconds", "While the local side is PARTNER_DOWN (ISC, Windows): Unix time from which the server may allocate its partner's free addresses, the state's start plus the MCLT.")
)

// maxPoolsRendered bounds the pools of one relationship rendered per
// scrape (each is up to a dozen series).
const maxPoolsRendered = 4096

func renderPools(fs *families, tl, rl *dto.LabelPair, pools []failover.Pool) {
	for i := range pools {
		if i == maxPoolsRendered {
			break
		}
		p := &pools[i]
		pl := labelPair("pool", p.Name)
		for _, a := range p.Addresses {
			fs.gauge(famPoolAddresses, float64(a.Count), pl, rl, labelPair("state", a.State), tl)
		}
		if v, ok := p.Size.Get(); ok {
			fs.gauge(famPoolSize, float64(v), pl, rl, tl)
		}
		if v, ok := p.LocalFree.Get(); ok {
			fs.gauge(famPoolLocalFree, float64(v), pl, rl, tl)
		}
		if p.Subnet != "" || p.SharedNetwork != "" {
			fs.gauge(famPoolInfo, 1, pl, rl, labelPair("shared_network", p.SharedNetwork), labelPair("subnet", p.Subnet), tl)
		}
	}
	renderNetworks(fs, tl, rl, pools)
}

// network is the sum of the pools clients of one shared network draw
// from.
type network struct {
	size, localFree       int
	hasSize, hasLocalFree bool
	addresses             map[string]int
	states                []string // first-seen order of addresses' keys
}

// renderNetworks sums the pools by shared network, every pool counted
// (also those past maxPoolsRendered): a network is dry only when all of
// its pools are.
func renderNetworks(fs *families, tl, rl *dto.LabelPair, pools []failover.Pool) {
	var nets map[string]*network
	for i := range pools {
		p := &pools[i]
		if p.SharedNetwork == "" {
			continue
		}
		if nets == nil {
			nets = map[string]*network{}
		}
		n := nets[p.SharedNetwork]
		if n == nil {
			n = &network{addresses: map[string]int{}}
			nets[p.SharedNetwork] = n
		}
		if v, ok := p.Size.Get(); ok {
			n.size += v
			n.hasSize = true
		}
		if v, ok := p.LocalFree.Get(); ok {
			n.localFree += v
			n.hasLocalFree = true
		}
		for _, a := range p.Addresses {
			if _, ok := n.addresses[a.State]; !ok {
				n.states = append(n.states, a.State)
			}
			n.addresses[a.State] += a.Count
		}
	}
	for name, n := range nets {
		nl := labelPair("shared_network", name)
		for _, st := range n.states {
			fs.gauge(famNetAddresses, float64(n.addresses[st]), rl, nl, labelPair("state", st), tl)
		}
		if n.hasSize {
			fs.gauge(famNetSize, float64(n.size), rl, nl, tl)
		}
		if n.hasLocalFree {
			fs.gauge(famNetLocalFree, float64(n.localFree), rl, nl, tl)
		}
	}
}

// renderRefusals writes the refusal counters of one relationship; the
// created timestamp is the target's (the counts are the server's or the
// log follower's, which the exporter cannot date better).
func renderRefusals(fs *families, tl, rl *dto.LabelPair, refusals []failover.Refusal, created time.Time) {
	sorted := refusals
	if !sort.SliceIsSorted(sorted, func(i, j int) bool { return refusalLess(&sorted[i], &sorted[j]) }) {
		sorted = append([]failover.Refusal(nil), refusals...)
		sort.Slice(sorted, func(i, j int) bool { return refusalLess(&sorted[i], &sorted[j]) })
	}
	for i := range sorted {
		r := &sorted[i]
		fs.counter(famRefused, r.Count, created, labelPair("reason", string(r.Reason)), rl, labelPair("shared_network", r.SharedNetwork), labelPair("subnet", r.Subnet), tl)
	}
}

func refusalLess(a, b *failover.Refusal) bool {
	if a.SharedNetwork != b.SharedNetwork {
		return a.SharedNetwork < b.SharedNetwork
	}
	if a.Subnet != b.Subnet {
		return a.Subnet < b.Subnet
	}
	return a.Reason < b.Reason
}

// renderTakeover writes when a server in PARTNER_DOWN may take its
// partner's free addresses: draft-ietf-dhc-failover-12 (PARTNER-DOWN state) lets it
// allocate them only once the MCLT has passed since it entered
// PARTNER_DOWN (docs/protocol.md §2; dhcpd.conf(5): "STOS+MCLT"). Kea HA has no split pool, so it serves
// every address at once and has no such moment.
func renderTakeover(fs *families, tl, rl *dto.LabelPair, r *failover.Relationship, start time.Time) {
	if r.Vendor == failover.VendorKea || !r.Local.Reported || r.Local.State != failover.PartnerDown || start.IsZero() {
		return
	}
	mclt, ok := r.MCLT.Get()
	if !ok {
		return
	}
	fs.gauge(famTakeover, unixSeconds(start.Add(mclt)), rl, tl)
}
