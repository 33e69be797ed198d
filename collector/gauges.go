package collector

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Source-specific gauges (failover.Relationship.Gauges) are rendered only
// when a source file registered their name and help: a typo in a source
// cannot invent a metric, and every name is documented in one place.
var (
	gaugeMu    sync.RWMutex
	gaugeDescs = map[string]*prometheus.Desc{}
)

// registerGauge declares dhcp_failover_<name>{target,relationship}; source
// files call it from init.
func registerGauge(name, help string) {
	gaugeMu.Lock()
	defer gaugeMu.Unlock()
	if _, dup := gaugeDescs[name]; dup {
		panic("collector: gauge registered twice: " + name)
	}
	gaugeDescs[name] = prometheus.NewDesc(namespace+"_"+name, help, []string{"target", "relationship"}, nil)
}

func gaugeDesc(name string) (*prometheus.Desc, bool) {
	gaugeMu.RLock()
	defer gaugeMu.RUnlock()
	d, ok := gaugeDescs[name]
	return d, ok
}

const namespace = "dhcp_failover"
