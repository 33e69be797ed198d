package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Windows is the settings of a `source: windows` target: a Windows Server
// DHCP server read through its management API (dhcpsapi.dll). The source
// itself is built only into Windows binaries; the settings validate on
// every OS so that a config can be checked anywhere.
type Windows struct {
	// Server is the DHCP server's name or IPv4 address; empty means the
	// machine the exporter runs on.
	Server string `yaml:"server"`
	// Relationships selects failover relationships by name; empty: all.
	Relationships []string `yaml:"relationships"`
}

// maxWindowsHostLen bounds a server's host name: a DNS name is at most
// 253 characters.
const maxWindowsHostLen = 253

func init() {
	RegisterSource("windows", func() SourceSettings { return &Windows{} })
}

// Validate implements SourceSettings.
func (w *Windows) Validate() error {
	if err := validWindowsServer(w.Server); err != nil {
		return fmt.Errorf("field server: %w", err)
	}
	if err := validRelationshipNames(w.Relationships); err != nil {
		return err
	}
	return nil
}

// validWindowsServer accepts "", an IPv4 address, or a host name (DNS or
// NetBIOS: letters, digits, '-', '_' and dots).
func validWindowsServer(s string) error {
	if s == "" {
		return nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if !a.Is4() {
			return fmt.Errorf("%q: the DHCP management API takes a host name or an IPv4 address", s)
		}
		return nil
	}
	if len(s) > maxWindowsHostLen {
		return fmt.Errorf("host name longer than %d characters", maxWindowsHostLen)
	}
	if strings.Trim(s, "0123456789.") == "" {
		return fmt.Errorf("%q is not a valid IPv4 address", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a host name or an IPv4 address", s)
		}
		for _, c := range label {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return fmt.Errorf("%q is not a host name or an IPv4 address", s)
			}
		}
	}
	return nil
}
