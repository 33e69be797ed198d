package collector

import (
	"net"
	"net/netip"
	"time"
)

// interfacesEvery is how often the log follower re-reads the host's
// interfaces and their addresses: dhcpd reads them only at start (it
// must be restarted to listen on a new one), so this need not be quick.
const interfacesEvery = 5 * time.Minute

// hostInterfaces lists the IPv4 addresses of each of the host's
// interfaces, as dhcpd's log names them (`via eth1`). Errors give an
// empty map: refusals that name an interface are then placed as if the
// host had none (docs/isc-log.md, "Where a refusal is counted").
func hostInterfaces() map[string][]netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make(map[string][]netip.Addr, len(ifs))
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
				out[i.Name] = append(out[i.Name], ip.Unmap())
			}
		}
	}
	return out
}

// refreshInterfaces gives the refusal counter the host's interfaces when
// they are older than interfacesEvery.
func (s *leasesSource) refreshInterfaces(now time.Time) {
	if s.nets4 == nil || (!s.ifacesAt.IsZero() && now.Sub(s.ifacesAt) < interfacesEvery) {
		return
	}
	s.ifacesAt = now
	s.nets4.SetInterfaces(s.interfaces())
}
