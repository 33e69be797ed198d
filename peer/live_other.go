//go:build !linux

package peer

import (
	"errors"
	"runtime"
)

// ErrLiveUnsupported is returned by OpenLive where there is no AF_PACKET
// socket: live capture is Linux only; pcap files are read everywhere.
var ErrLiveUnsupported = errors.New("peer: live capture needs Linux (AF_PACKET); on " + runtime.GOOS + " use pcap_file")

// OpenLive is not available on this system.
func OpenLive(string, []uint16) (*Capture, error) { return nil, ErrLiveUnsupported }
