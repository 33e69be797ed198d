package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// validRelationshipNames checks a `relationships` list: no empty name, none
// longer than failover.MaxNameLen bytes, no control characters, none
// listed twice.
func validRelationshipNames(names []string) error {
	seen := make(map[string]bool, len(names))
	for _, r := range names {
		switch {
		case r == "":
			return errors.New("field relationships: empty relationship name")
		case len(r) > failover.MaxNameLen:
			return fmt.Errorf("field relationships: name longer than %d bytes", failover.MaxNameLen)
		case strings.IndexFunc(r, unicode.IsControl) >= 0:
			return fmt.Errorf("field relationships: %q contains a control character", r)
		case seen[r]:
			return fmt.Errorf("field relationships: %q listed twice", r)
		}
		seen[r] = true
	}
	return nil
}
