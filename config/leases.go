package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
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
	seen := map[string]bool{}
	for _, r := range l.Relationships {
		switch {
		case r == "":
			return errors.New("field relationships: empty relationship name")
		case len(r) > maxLeasesPeerName:
			return fmt.Errorf("field relationships: name longer than %d bytes", maxLeasesPeerName)
		case strings.IndexFunc(r, unicode.IsControl) >= 0:
			return fmt.Errorf("field relationships: %q contains a control character", r)
		case seen[r]:
			return fmt.Errorf("field relationships: %q listed twice", r)
		}
		seen[r] = true
	}
	return nil
}
