package collector

import (
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
	}
}
