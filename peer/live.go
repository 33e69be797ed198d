//go:build linux

package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The live capture is an AF_PACKET socket of its own rather than pcapgo's
// EthernetHandle: a tap that reopens its capture after a link flap must
// not leak a socket when bind fails (EthernetHandle keeps it open then),
// must tell "network is down" from other read errors (EthernetHandle
// reports them as text only), and should see no frame before its filter
// is attached.

// liveBuffer is the largest frame taken from the socket: libpcap's
// MAXIMUM_SNAPLEN, since segmentation offload hands a packet socket merged
// frames many times the MTU. Longer ones are cut (the reassembler sees a
// hole and resynchronises).
const liveBuffer = 262144

// OpenLive opens a live capture on an Ethernet (or loopback) interface:
// an AF_PACKET socket (no libpcap, no cgo) with a classic BPF filter that
// lets only TCP segments on the given ports reach user space. It needs
// CAP_NET_RAW; without it the error wraps ErrNeedCapNetRaw (checked before
// the interface, so that the missing capability is reported even when the
// interface does not exist yet). A missing interface: ErrNoInterface. On
// an interface that is down the socket opens, its first Next returns
// ErrLinkDown, and it captures once the link is up.
func OpenLive(ifname string, ports []uint16) (*Capture, error) {
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	prog, err := portFilter(ports)
	if err != nil {
		return nil, err
	}
	// Protocol 0: the socket receives nothing until bind names a
	// protocol, after the filter is attached.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: interface %s: %w", ErrNeedCapNetRaw, ifname, err)
		}
		return nil, fmt.Errorf("peer: packet socket: %w", err)
	}
	ifc, err := bindLive(fd, ifname, prog)
	if err != nil {
		// The one place a socket that is not handed over is closed: a
		// tap retrying a missing interface opens one per attempt.
		unix.Close(fd)
		return nil, err
	}
	l := newLiveSocket(os.NewFile(uintptr(fd), "packet:"+ifname), ifname, ifc.Flags&net.FlagLoopback != 0)
	if l.rc == nil {
		l.Close()
		return nil, fmt.Errorf("peer: capture on %s: no raw connection", ifname)
	}
	return &Capture{next: l.read, closer: l, iface: ifname, ifindex: ifc.Index}, nil
}

// bindLive attaches the filter to fd, asks for kernel timestamps and binds
// it to ifname; on error the caller closes fd.
func bindLive(fd int, ifname string, prog []bpf.RawInstruction) (*net.Interface, error) {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoInterface, ifname)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return nil, fmt.Errorf("peer: capture filter on %s: %w", ifname, err)
	}
	// The capture time of each frame, in nanoseconds (a control message).
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return nil, fmt.Errorf("peer: capture timestamps on %s: %w", ifname, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}
	if err := unix.Bind(fd, sa); err != nil {
		if errors.Is(err, unix.ENODEV) { // deleted since the lookup
			return nil, fmt.Errorf("%w: %s", ErrNoInterface, ifname)
		}
		return nil, fmt.Errorf("peer: capture on %s: %w", ifname, err)
	}
	return ifc, nil
}

// htons puts v in network byte order, as sockaddr_ll wants its protocol.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// liveSocket reads frames from a bound packet socket through the runtime's
// poller (so that Close from another goroutine ends a blocked read),
// without allocating per frame.
type liveSocket struct {
	f        *os.File
	rc       syscall.RawConn
	iface    string
	loopback bool
	closed   atomic.Bool

	buf    []byte
	oob    []byte
	from   unix.RawSockaddrLinklayer
	iov    unix.Iovec
	msg    unix.Msghdr
	n      int
	errno  syscall.Errno
	recvFn func(fd uintptr) bool // l.recv, made once
}

func newLiveSocket(f *os.File, iface string, loopback bool) *liveSocket {
	l := &liveSocket{f: f, iface: iface, loopback: loopback,
		buf: make([]byte, liveBuffer), oob: make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))*2)}
	l.iov.Base = &l.buf[0]
	l.iov.SetLen(len(l.buf))
	l.msg.Name = (*byte)(unsafe.Pointer(&l.from))
	l.msg.Iov = &l.iov
	l.msg.Iovlen = 1
	l.msg.Control = &l.oob[0]
	l.recvFn = l.recv
	if rc, err := f.SyscallConn(); err == nil {
		l.rc = rc
	}
	return l
}

// recv is one recvmsg; false asks the poller to wait for the next frame.
func (l *liveSocket) recv(fd uintptr) bool {
	l.msg.Namelen = uint32(unsafe.Sizeof(l.from))
	l.msg.SetControllen(len(l.oob))
	// MSG_TRUNC: the frame's length even when the buffer cut it.
	n, _, e := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&l.msg)), unix.MSG_TRUNC)
	l.n, l.errno = int(n), e
	return e != unix.EAGAIN
}

// read returns the next frame, valid until the next call. "Network is
// down" (the link went down, or the interface was deleted) wraps
// ErrLinkDown; a closed socket returns ErrCaptureClosed.
func (l *liveSocket) read() ([]byte, time.Time, LinkType, error) {
	for {
		err := l.rc.Read(l.recvFn)
		if l.closed.Load() {
			return nil, time.Time{}, 0, ErrCaptureClosed
		}
		if err != nil {
			return nil, time.Time{}, 0, fmt.Errorf("peer: capture on %s: %w", l.iface, err)
		}
		switch l.errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.ENETDOWN:
			return nil, time.Time{}, 0, fmt.Errorf("%w: %s: %w", ErrLinkDown, l.iface, l.errno)
		default:
			return nil, time.Time{}, 0, fmt.Errorf("peer: capture on %s: %w", l.iface, l.errno)
		}
		// On loopback every frame is seen twice, going out and coming in:
		// keep one, as libpcap does.
		if l.loopback && l.from.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		caplen := min(l.n, len(l.buf))
		return l.buf[:caplen], l.stamp(), LinkEthernet, nil
	}
}

// stamp is the kernel's receive time of the frame just read (now if the
// kernel sent none).
func (l *liveSocket) stamp() time.Time {
	oob := l.oob[:l.msg.Controllen]
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			break
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			return time.Unix(ts.Unix())
		}
		oob = rest
	}
	return time.Now()
}

// Close closes the socket; a read blocked in another goroutine returns
// ErrCaptureClosed.
func (l *liveSocket) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.f.Close()
}
