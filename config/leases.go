package config

import (
	"errors"
	"strings"
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
}

// maxLeasesPeerName is dhcpd's bound as the leases package enforces it.
const maxLeasesPeerName = 256

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
	if err := validRelationshipNames(l.Relationships, maxLeasesPeerName); err != nil {
		return err
	}
	return nil
}
