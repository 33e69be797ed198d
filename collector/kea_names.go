package collector

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
)

// Subnet names for the Kea source (docs/kea.md, "Subnet names"): Kea's
// statistics carry subnet IDs only. The names come from subnet4-list
// where the subnet_cmds hook is loaded, else from Kea's configuration
// file when config_file is set, else the series keep subnet-ID. Never
// config-get: it returns the whole configuration, secrets included.

// keaNamesRefresh is how long names are kept before they are asked for
// again; a statistic of a subnet without a name asks sooner, at most
// every keaNamesRetry (a subnet added by a Kea reload).
const (
	keaNamesRefresh = 5 * time.Minute
	keaNamesRetry   = time.Minute
)

// keaNames is the source's cache of names; used by one poll at a time.
type keaNames struct {
	names kea.Names
	at    time.Time // of the last attempt
	// The configuration file as last read, to read it again only when
	// it changed.
	fileMod  time.Time
	fileSize int64
}

// subnetNames returns the names to use for this poll, asking the server
// or reading the file when they are old or miss one of ids. A failure
// keeps the names known (stale names beat none) and is logged once.
func (s *keaSource) subnetNames(ctx context.Context, ids []int64) kea.Names {
	now := s.now()
	n := &s.subnets
	age := now.Sub(n.at)
	missing := false
	for _, id := range ids {
		if _, ok := n.names[id]; !ok {
			missing = true
			break
		}
	}
	if !n.at.IsZero() && age < keaNamesRefresh && (!missing || age < keaNamesRetry) {
		return n.names
	}
	n.at = now
	names, err := s.client.SubnetNames(ctx)
	if err == nil {
		n.names = names
		return names
	}
	if !errors.Is(err, kea.ErrNotFound) {
		s.warnOnce("subnet4-list", "Kea subnet4-list failed: subnets named from config_file or by ID", "err", err)
	}
	if s.cfg.ConfigFile == "" {
		return n.names
	}
	fi, err := os.Stat(s.cfg.ConfigFile)
	if err == nil && n.names != nil && fi.ModTime().Equal(n.fileMod) && fi.Size() == n.fileSize {
		return n.names
	}
	var names2 kea.Names
	if err == nil {
		names2, err = kea.ReadConfigFile(s.cfg.ConfigFile)
	}
	if err != nil {
		s.warnOnce("config_file", "Kea configuration file not read: subnets named by ID", "err", err)
		return n.names
	}
	n.names, n.fileMod, n.fileSize = names2, fi.ModTime(), fi.Size()
	return names2
}
