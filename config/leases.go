package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
)

// Leases is the settings of a `source: leases` target: an ISC dhcpd
// leases file on the exporter's host, followed as dhcpd appends to it
// (docs/isc-leases.md).
type Leases struct {
	// Path is the dhcpd.leases file (dhcpd's -lf, lease-file-name).
	Path string `yaml:"path"`
	// Relationships selects `failover peer` names; empty: every
	// relationship found in the file.
	Relationships []string `yaml:"relationships"`
	// ConfigFile is dhcpd's configuration (dhcpd's -cf), read for its
	// pools when the source starts; includes are followed.
	ConfigFile string `yaml:"config_file"`
	// Pools lists the pools instead of ConfigFile.
	Pools []LeasesPool `yaml:"pools"`
	// LogFile is the file dhcpd logs to through syslog (or its stderr
	// redirected), followed from its end for the clients dhcpd refused
	// (docs/isc-log.md); empty: no refusal counters.
	LogFile string `yaml:"log_file"`
	// Journal is the systemd journal directory dhcpd logs to
	// (/var/log/journal, or /run/log/journal where the journal is
	// volatile), followed like LogFile; JournalIdentifier is dhcpd's
	// SYSLOG_IDENTIFIER there (default "dhcpd"). Exclusive of LogFile.
	Journal           string `yaml:"journal"`
	JournalIdentifier string `yaml:"journal_identifier"`
}

// LeasesPool is one pool given in the exporter's configuration.
type LeasesPool struct {
	// Relationship is the `failover peer` of the pool; empty for a pool
	// outside failover.
	Relationship string `yaml:"relationship"`
	// Ranges are "A-B" (or a single address), as dhcpd's `range A B`.
	Ranges []string `yaml:"ranges"`
}

func init() {
	RegisterSource("leases", func() SourceSettings { return &Leases{} })
}

// Validate implements SourceSettings.
func (l *Leases) Validate() error {
	if l.Path == "" {
		return errors.New("field path is required")
	}
	if strings.ContainsRune(l.Path, 0) {
		return errors.New("field path: contains a NUL byte")
	}
	if strings.ContainsRune(l.ConfigFile, 0) {
		return errors.New("field config_file: contains a NUL byte")
	}
	if strings.ContainsRune(l.LogFile, 0) {
		return errors.New("field log_file: contains a NUL byte")
	}
	if l.LogFile != "" && filepath.Clean(l.LogFile) == filepath.Clean(l.Path) {
		return errors.New("field log_file: is the leases file (field path)")
	}
	if strings.ContainsRune(l.Journal, 0) {
		return errors.New("field journal: contains a NUL byte")
	}
	if l.Journal != "" && l.LogFile != "" {
		return errors.New("fields log_file and journal are mutually exclusive (dhcpd logs to one of them)")
	}
	if l.JournalIdentifier != "" && l.Journal == "" {
		return errors.New("field journal_identifier: needs field journal")
	}
	if strings.ContainsAny(l.JournalIdentifier, "\x00\n=") {
		return errors.New("field journal_identifier: contains a NUL byte, a newline or '='")
	}
	if l.Journal != "" && l.JournalIdentifier == "" {
		l.JournalIdentifier = "dhcpd"
	}
	if err := validRelationshipNames(l.Relationships); err != nil {
		return err
	}
	if l.ConfigFile != "" && len(l.Pools) > 0 {
		return errors.New("fields config_file and pools are mutually exclusive")
	}
	pools, err := l.explicitPools()
	if err != nil {
		return err
	}
	if _, err := leases.NewTable(pools); err != nil {
		return fmt.Errorf("field pools: %w", err)
	}
	return nil
}

func (l *Leases) explicitPools() ([]leases.Pool, error) {
	var out []leases.Pool
	for i, p := range l.Pools {
		if len(p.Ranges) == 0 {
			return nil, fmt.Errorf("field pools[%d]: field ranges is required", i)
		}
		if p.Relationship != "" {
			if err := validRelationshipNames([]string{p.Relationship}); err != nil {
				return nil, fmt.Errorf("field pools[%d]: %w", i, err)
			}
		}
		pl := leases.Pool{Peer: p.Relationship}
		for _, s := range p.Ranges {
			r, err := leases.ParseRange(s)
			if err != nil {
				return nil, fmt.Errorf("field pools[%d]: %w", i, err)
			}
			pl.Ranges = append(pl.Ranges, r)
		}
		out = append(out, pl)
	}
	return out, nil
}

// LeasePools returns the pools: read from ConfigFile, or as listed.
func (l *Leases) LeasePools() ([]leases.Pool, error) {
	pools, _, err := l.LeaseConf()
	return pools, err
}

// LeaseConf returns the pools and the subnets: both read from
// ConfigFile, or the pools as listed and no subnets (refusals are then
// counted for the whole server only).
func (l *Leases) LeaseConf() ([]leases.Pool, []leases.Subnet, error) {
	if l.ConfigFile != "" {
		return leases.ReadDHCPDConfSubnets(l.ConfigFile)
	}
	pools, err := l.explicitPools()
	return pools, nil, err
}

// ReferencedFiles implements FileReferrer: after dhcpd.conf changes, a
// reload reads its pools again (the files it includes are not compared).
func (l *Leases) ReferencedFiles() []string {
	if l.ConfigFile == "" {
		return nil
	}
	return []string{l.ConfigFile}
}
