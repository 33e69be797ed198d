//go:build linux

package peer

import (
	"errors"
	"fmt"
	"net"

	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"
)

// OpenLive opens a live capture on an Ethernet (or loopback) interface:
// an AF_PACKET socket (no libpcap, no cgo) with a classic BPF filter that
// lets only TCP segments on the given ports reach user space. It needs
// CAP_NET_RAW; without it the error wraps ErrNeedCapNetRaw.
func OpenLive(ifname string, ports []uint16) (*Capture, error) {
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	if _, err := net.InterfaceByName(ifname); err != nil {
		return nil, fmt.Errorf("peer: interface %q: %w", ifname, err)
	}
	// pcapgo reports the socket error as text only: probe for the
	// permission first, so that the missing capability is named.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: interface %s: %w", ErrNeedCapNetRaw, ifname, err)
		}
		return nil, fmt.Errorf("peer: packet socket: %w", err)
	}
	unix.Close(fd)
	h, err := pcapgo.NewEthernetHandle(ifname)
	if err != nil {
		return nil, fmt.Errorf("peer: capture on %s: %w", ifname, err)
	}
	prog, err := portFilter(ports)
	if err == nil {
		err = h.SetBPF(prog)
	}
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("peer: capture filter on %s: %w", ifname, err)
	}
	return &Capture{next: h.ZeroCopyReadPacketData, link: func(int) LinkType { return LinkEthernet }, closer: h}, nil
}
