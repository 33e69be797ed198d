package collector

import "sync"

// Source-specific gauges (failover.Relationship.Gauges) are rendered only
// when a source file registered their name and help: a typo in a source
// cannot invent a metric, and every name is documented in one place.
var (
	gaugeMu       sync.RWMutex
	gaugeFamilies = map[string]*family{}
)

// registerGauge declares dhcp_failover_<name>{target,relationship}; source
// files call it from init.
func registerGauge(name, help string) {
	gaugeMu.Lock()
	defer gaugeMu.Unlock()
	if _, dup := gaugeFamilies[name]; dup {
		panic("collector: gauge registered twice: " + name)
	}
	gaugeFamilies[name] = gaugeFamily(name, help)
}

// gaugeDesc returns the family a source registered under name.
func gaugeDesc(name string) (*family, bool) {
	gaugeMu.RLock()
	defer gaugeMu.RUnlock()
	f, ok := gaugeFamilies[name]
	return f, ok
}

const namespace = "dhcp_failover"
