package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Peer is the settings of a `source: peer` target: a passive tap on the
// failover conversation of the server at LocalAddress, captured live on
// an interface of the exporter's host or replayed from a capture file
// (docs/peer.md).
type Peer struct {
	// Interface to capture on (needs CAP_NET_RAW), or PcapFile to replay
	// once (pcap or pcapng); exactly one.
	Interface string `yaml:"interface,omitempty"`
	PcapFile  string `yaml:"pcap_file,omitempty"`
	// LocalAddress is the polled server's address: it decides which
	// messages were sent and which received, and which side is local.
	LocalAddress string `yaml:"local_address"`
	// Ports are the failover ports (ISC lets each side pick its own);
	// default 647 and 847.
	Ports []uint16 `yaml:"ports,omitempty"`
	// Relationship names the connections whose CONNECT the tap did not
	// see (it started while the pair was already connected); optional.
	Relationship string `yaml:"relationship,omitempty"`
}

// DefaultPeerPorts are the failover ports watched unless configured.
var DefaultPeerPorts = []uint16{647, 847}

// maxPeerPorts bounds the port list (each costs two BPF instructions).
const maxPeerPorts = 16

func init() {
	RegisterSource("peer", func() SourceSettings { return &Peer{} })
}

// SetDefaults implements SourceSettingsDefaulter.
func (p *Peer) SetDefaults() {
	if len(p.Ports) == 0 {
		p.Ports = append([]uint16(nil), DefaultPeerPorts...)
	}
}

// Validate implements SourceSettings.
func (p *Peer) Validate() error {
	switch {
	case p.Interface == "" && p.PcapFile == "":
		return errors.New("one of the fields interface and pcap_file is required")
	case p.Interface != "" && p.PcapFile != "":
		return errors.New("fields interface and pcap_file exclude each other")
	case p.Interface != "" && (len(p.Interface) > 15 || strings.ContainsAny(p.Interface, "/ \x00")):
		return fmt.Errorf("field interface: %q is not an interface name", p.Interface)
	case strings.ContainsRune(p.PcapFile, 0):
		return errors.New("field pcap_file: contains a NUL byte")
	case p.LocalAddress == "":
		return errors.New("field local_address is required")
	}
	if a, err := netip.ParseAddr(p.LocalAddress); err != nil || a.Zone() != "" {
		return fmt.Errorf("field local_address: %q is not an IP address", p.LocalAddress)
	}
	if len(p.Ports) > maxPeerPorts {
		return fmt.Errorf("field ports: more than %d ports", maxPeerPorts)
	}
	seen := map[uint16]bool{}
	for _, port := range p.Ports {
		switch {
		case port == 0:
			return errors.New("field ports: port 0")
		case seen[port]:
			return fmt.Errorf("field ports: %d listed twice", port)
		}
		seen[port] = true
	}
	if len(p.Relationship) > failover.MaxNameLen || strings.IndexFunc(p.Relationship, unicode.IsControl) >= 0 {
		return fmt.Errorf("field relationship: %q is not a relationship name", p.Relationship)
	}
	return nil
}

// Addr returns LocalAddress parsed (valid after Validate), unmapped.
func (p *Peer) Addr() netip.Addr {
	a, _ := netip.ParseAddr(p.LocalAddress)
	return a.Unmap()
}
