package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Errors of the capture sources.
var (
	ErrNotCapture    = errors.New("peer: not a pcap or pcapng file")
	ErrCaptureTrunc  = errors.New("peer: capture file ends inside a packet")
	ErrNeedCapNetRaw = errors.New("peer: live capture needs the CAP_NET_RAW capability (run as root, or grant it: systemd AmbientCapabilities=CAP_NET_RAW, or setcap cap_net_raw+ep on the binary; in a container: --cap-add=NET_RAW)")
	// ErrNoInterface: the capture interface does not exist (a VLAN or
	// bond not created yet, one deleted), or was deleted and created
	// again (a socket stays bound to the old interface index and sees
	// nothing more: open a new capture).
	ErrNoInterface = errors.New("peer: capture interface not found")
	// ErrLinkDown: the capture interface is administratively down. The
	// socket stays bound and captures again once the link is up.
	ErrLinkDown = errors.New("peer: capture interface is down")
	// ErrCaptureClosed: Next on a capture closed meanwhile.
	ErrCaptureClosed = errors.New("peer: capture closed")
)

// Capture is a source of captured frames: a pcap/pcapng file or a live
// AF_PACKET socket. Next is not safe for concurrent use; Close may be
// called from another goroutine to stop a blocked Next.
type Capture struct {
	next   func() ([]byte, time.Time, LinkType, error)
	closer io.Closer

	iface   string // live capture: the interface name and index bound to
	ifindex int
}

// captureReadBuffer is the read buffer of a capture file.
const captureReadBuffer = 1 << 20

// OpenFile opens a pcap or pcapng file (told apart by their magic numbers).
func OpenFile(path string) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	c, err := NewFileCapture(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.closer = f
	return c, nil
}

// NewFileCapture reads a pcap or pcapng stream from r.
func NewFileCapture(r io.Reader) (*Capture, error) {
	br := bufio.NewReaderSize(r, captureReadBuffer)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotCapture, len(magic))
	}
	switch binary.LittleEndian.Uint32(magic) {
	case ngSHB:
		ng, err := newNgReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotCapture, err)
		}
		return &Capture{next: ng.next}, nil
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1: // pcap, µs or ns, either byte order
		pr, err := newPcapReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotCapture, err)
		}
		return &Capture{next: pr.next}, nil
	}
	return nil, fmt.Errorf("%w: magic %x", ErrNotCapture, magic)
}

// Next returns the next frame, valid until the following call; io.EOF at
// the end of a file.
func (c *Capture) Next() (data []byte, ts time.Time, link LinkType, err error) {
	data, ts, link, err = c.next()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = ErrCaptureTrunc
	}
	return data, ts, link, err
}

// Check tells whether the interface of a live capture can deliver: nil
// while it exists and is up, an error wrapping ErrLinkDown while it is
// down (the socket resumes when it comes up), one wrapping ErrNoInterface
// once it is gone or another interface took its name (the socket will see
// nothing more). A file capture: always nil.
func (c *Capture) Check() error {
	if c.iface == "" {
		return nil
	}
	ifc, err := net.InterfaceByName(c.iface)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s", ErrNoInterface, c.iface)
	case ifc.Index != c.ifindex:
		return fmt.Errorf("%w: %s (deleted and created again)", ErrNoInterface, c.iface)
	case ifc.Flags&net.FlagUp == 0:
		return fmt.Errorf("%w: %s", ErrLinkDown, c.iface)
	}
	return nil
}

// Close releases the file or socket.
func (c *Capture) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// Replay feeds every frame of c to t, then calls t.Finish. It returns nil
// at the end of the capture, ctx's error if ctx ends first, or the read
// error (ErrCaptureTrunc for a file cut inside a packet; what was read
// before stays in t).
func Replay(ctx context.Context, c *Capture, t *Tracker) error {
	defer t.Finish()
	for n := 0; ; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		data, ts, link, err := c.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		t.Packet(link, ts, data)
	}
}

// ReadFile replays a capture file into a new Tracker with options o.
func ReadFile(path string, o Options) (*Tracker, error) {
	c, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	t := NewTracker(o)
	if err := Replay(context.Background(), c, t); err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
