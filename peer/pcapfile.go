package peer

// Readers of the two capture file formats, written for this package so
// that the exporter does not link gopacket's layers package (pcapgo
// imports it, and its tables of link and Ethernet types fill about 5 MiB
// of heap at start-up: docs/peer.md).
//
// Formats: the pcap file format (draft-ietf-opsawg-pcap, sections 4-5)
// and pcapng (draft-ietf-opsawg-pcapng, section 3 for the block
// structure, 4.1 SHB, 4.2 IDB, 4.3 EPB, 4.4 SPB, appendix A OPB). Every
// length is bounded before it is used; a reader's first error sticks.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"
)

const (
	// maxFrame bounds a captured frame: libpcap's MAXIMUM_SNAPLEN.
	maxFrame = 262144
	// maxBlock bounds a pcapng block of any type: a block this large is
	// not a capture of the failover protocol, or the file is corrupt.
	maxBlock = 16 << 20
	// maxInterfaces bounds the interfaces one pcapng section may describe.
	maxInterfaces = 4096
)

// errBadCapture wraps the errors of a malformed capture file.
var errBadCapture = errors.New("peer: malformed capture file")

// readFull reads n bytes from br, valid until the next read: the bytes of
// the bufio buffer itself when they fit (no copy), else into *spare. A
// read that ends early reports io.ErrUnexpectedEOF, one at the very start
// io.EOF.
func readFull(br *bufio.Reader, n int, spare *[]byte) ([]byte, error) {
	if n <= br.Size() {
		b, err := br.Peek(n)
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		_, _ = br.Discard(n) // cannot fail: Peek just buffered n bytes
		return b, nil
	}
	if cap(*spare) < n {
		*spare = make([]byte, n)
	}
	b := (*spare)[:n]
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// pcapReader reads the classic pcap format.
type pcapReader struct {
	br    *bufio.Reader
	order binary.ByteOrder
	nano  bool // nanosecond timestamps (magic a1b23c4d)
	link  LinkType
	spare []byte
	err   error
}

func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	var spare []byte
	h, err := readFull(br, 24, &spare)
	if err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	r := &pcapReader{br: br}
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
		r.order = binary.LittleEndian
	case 0xa1b23c4d:
		r.order, r.nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		r.order = binary.BigEndian
	case 0x4d3cb2a1:
		r.order, r.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap magic %x", h[:4])
	}
	// Section 4: major version 2; minor version 4 (libpcap also reads 2.3,
	// whose records are the same).
	if major, minor := r.order.Uint16(h[4:]), r.order.Uint16(h[6:]); major != 2 || minor > 4 {
		return nil, fmt.Errorf("pcap version %d.%d", major, minor)
	}
	// The LinkType field's upper bits carry the FCS length (section 4):
	// the link type is the low 16.
	r.link = LinkType(r.order.Uint32(h[20:]) & 0xffff)
	return r, nil
}

func (r *pcapReader) next() ([]byte, time.Time, LinkType, error) {
	if r.err != nil {
		return nil, time.Time{}, 0, r.err
	}
	data, ts, err := r.record()
	if err != nil {
		r.err = err
		return nil, time.Time{}, 0, err
	}
	return data, ts, r.link, nil
}

// record reads one packet record (section 5).
func (r *pcapReader) record() ([]byte, time.Time, error) {
	h, err := readFull(r.br, 16, &r.spare)
	if err != nil {
		return nil, time.Time{}, err
	}
	sec, frac := r.order.Uint32(h), r.order.Uint32(h[4:])
	caplen := r.order.Uint32(h[8:])
	if caplen > maxFrame {
		return nil, time.Time{}, fmt.Errorf("%w: pcap record of %d bytes", errBadCapture, caplen)
	}
	if !r.nano {
		frac *= 1000
	}
	if frac >= 1e9 {
		return nil, time.Time{}, fmt.Errorf("%w: pcap timestamp fraction %d", errBadCapture, frac)
	}
	ts := time.Unix(int64(sec), int64(frac)).UTC()
	data, err := readFull(r.br, int(caplen), &r.spare)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return data, ts, err
}

// ngInterface is what a pcapng Interface Description Block says.
type ngInterface struct {
	link    LinkType
	snaplen uint32
	resol   uint8 // if_tsresol: 10^-n, or 2^-(n&0x7f) when the top bit is set
	offset  int64 // if_tsoffset, seconds
}

// ngReader reads pcapng, section after section.
type ngReader struct {
	br     *bufio.Reader
	order  binary.ByteOrder
	ifaces []ngInterface
	last   time.Time // the previous packet's time, for SPBs (which have none)
	spare  []byte
	err    error
}

// pcapng block types.
const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 1
	ngOPB = 2 // obsolete Packet Block, appendix A
	ngSPB = 3
	ngEPB = 6
)

func newNgReader(br *bufio.Reader) (*ngReader, error) {
	r := &ngReader{br: br}
	typ, body, err := r.block()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if typ != ngSHB {
		return nil, fmt.Errorf("pcapng: first block of type %#x", typ)
	}
	if err := r.section(body); err != nil {
		return nil, err
	}
	return r, nil
}

// block reads one block, returning its type and body (without the type
// and the two lengths). A Section Header Block sets the byte order first:
// its byte-order magic follows the length (section 4.1).
func (r *ngReader) block() (uint32, []byte, error) {
	h, err := r.br.Peek(12)
	if err != nil {
		if len(h) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	typ := binary.LittleEndian.Uint32(h)
	if typ == ngSHB {
		switch binary.LittleEndian.Uint32(h[8:]) {
		case 0x1a2b3c4d:
			r.order = binary.LittleEndian
		case 0x4d3c2b1a:
			r.order = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("%w: pcapng byte-order magic %x", errBadCapture, h[8:12])
		}
	}
	typ = r.order.Uint32(h)
	n := r.order.Uint32(h[4:])
	if n < 12 || n%4 != 0 || n > maxBlock {
		return 0, nil, fmt.Errorf("%w: pcapng block of %d bytes", errBadCapture, n)
	}
	b, err := readFull(r.br, int(n), &r.spare)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	if r.order.Uint32(b[n-4:]) != n {
		return 0, nil, fmt.Errorf("%w: pcapng block lengths differ", errBadCapture)
	}
	return typ, b[8 : n-4], nil
}

// section starts a section from its header's body: interfaces are
// numbered afresh in each (section 4.1).
func (r *ngReader) section(body []byte) error {
	if len(body) < 16 {
		return fmt.Errorf("%w: pcapng section header of %d bytes", errBadCapture, len(body))
	}
	if major := r.order.Uint16(body[4:]); major != 1 {
		return fmt.Errorf("pcapng version %d", major)
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

// iface reads an Interface Description Block's body (section 4.2).
func (r *ngReader) iface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: pcapng interface block of %d bytes", errBadCapture, len(body))
	}
	if len(r.ifaces) == maxInterfaces {
		return fmt.Errorf("%w: more than %d pcapng interfaces", errBadCapture, maxInterfaces)
	}
	ifc := ngInterface{link: LinkType(r.order.Uint16(body)), snaplen: r.order.Uint32(body[4:]), resol: 6}
	// Options (section 3.5): code, length, value padded to 4 bytes.
	for o := body[8:]; len(o) >= 4; {
		code, n := r.order.Uint16(o), int(r.order.Uint16(o[2:]))
		if code == 0 || 4+n > len(o) {
			break
		}
		v := o[4 : 4+n]
		switch {
		case code == 9 && n == 1: // if_tsresol
			ifc.resol = v[0]
		case code == 14 && n == 8: // if_tsoffset
			ifc.offset = int64(r.order.Uint64(v))
		}
		o = o[min(len(o), 4+(n+3)&^3):]
	}
	if e := ifc.resol &^ 0x80; (ifc.resol&0x80 == 0 && e > 19) || e > 63 {
		return fmt.Errorf("%w: pcapng timestamp resolution %#x", errBadCapture, ifc.resol)
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// stamp converts a 64-bit timestamp in the interface's units.
func (ifc *ngInterface) stamp(units uint64) time.Time {
	var sec, nsec uint64
	if e := uint(ifc.resol &^ 0x80); ifc.resol&0x80 != 0 {
		sec, nsec = units>>e, 0
		if e > 0 {
			hi, lo := bits.Mul64(units&(1<<e-1), 1e9)
			nsec = hi<<(64-e) | lo>>e
		}
	} else {
		div := uint64(1)
		for range e {
			div *= 10
		}
		sec = units / div
		frac := units % div
		switch {
		case e <= 9:
			for range 9 - e {
				frac *= 10
			}
		default:
			for range e - 9 {
				frac /= 10
			}
		}
		nsec = frac
	}
	return time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
}

func (r *ngReader) next() ([]byte, time.Time, LinkType, error) {
	if r.err != nil {
		return nil, time.Time{}, 0, r.err
	}
	for {
		data, ts, link, ok, err := r.packet()
		if err != nil {
			r.err = err
			return nil, time.Time{}, 0, err
		}
		if ok {
			return data, ts, link, nil
		}
	}
}

// packet reads one block: a packet when ok, else a block that describes
// (a section, an interface) or one this package has no use for (name
// resolution, statistics, custom: skipped, section 3.1).
func (r *ngReader) packet() (data []byte, ts time.Time, link LinkType, ok bool, err error) {
	typ, b, err := r.block()
	if err != nil {
		return nil, time.Time{}, 0, false, err
	}
	var ifIndex, caplen uint32
	var units uint64
	switch typ {
	case ngSHB:
		return nil, time.Time{}, 0, false, r.section(b)
	case ngIDB:
		return nil, time.Time{}, 0, false, r.iface(b)
	case ngEPB, ngOPB:
		if len(b) < 20 {
			return nil, time.Time{}, 0, false, fmt.Errorf("%w: pcapng packet block of %d bytes", errBadCapture, len(b))
		}
		if typ == ngEPB {
			ifIndex = r.order.Uint32(b)
		} else {
			ifIndex = uint32(r.order.Uint16(b))
		}
		units = uint64(r.order.Uint32(b[4:]))<<32 | uint64(r.order.Uint32(b[8:]))
		caplen, b = r.order.Uint32(b[12:]), b[20:]
	case ngSPB:
		if len(b) < 4 {
			return nil, time.Time{}, 0, false, fmt.Errorf("%w: pcapng simple packet block of %d bytes", errBadCapture, len(b))
		}
		// Section 4.4: the captured length is the smaller of the original
		// length and the first interface's snap length.
		caplen, b = r.order.Uint32(b), b[4:]
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen > 0 {
			caplen = min(caplen, r.ifaces[0].snaplen)
		}
		caplen = min(caplen, uint32(len(b)))
	default:
		return nil, time.Time{}, 0, false, nil
	}
	if int(ifIndex) >= len(r.ifaces) {
		return nil, time.Time{}, 0, false, fmt.Errorf("%w: pcapng packet on interface %d of %d", errBadCapture, ifIndex, len(r.ifaces))
	}
	if caplen > uint32(len(b)) || caplen > maxFrame {
		return nil, time.Time{}, 0, false, fmt.Errorf("%w: pcapng packet of %d bytes in a block of %d", errBadCapture, caplen, len(b))
	}
	ifc := &r.ifaces[ifIndex]
	if typ == ngSPB {
		ts = r.last
	} else {
		ts = ifc.stamp(units)
		r.last = ts
	}
	return b[:caplen], ts, ifc.link, true, nil
}
