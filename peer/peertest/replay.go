package peertest

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Replay builds a large capture from the real captures of peer/testdata:
// each fixture is played many times ("copies"), every copy as a pair of
// servers of its own, so that the result looks like a tap on a busy
// network of failover pairs rather than one conversation repeated:
//
//   - addresses: a copy's IPv4 addresses keep their last octet and take
//     the prefix 10.H.L. of the copy's number (10.250.0.1 of copy 300 is
//     10.2.45.1), so no two copies share a four-tuple;
//   - ephemeral ports (every port but the failover ports 647 and 847 and
//     the other ports below 1024) are remapped per copy, one to one;
//   - TCP sequence and acknowledgement numbers are shifted by an offset
//     per copy and sending end (wrapping around 2^32 on some copies);
//   - IPv4 header and TCP checksums are computed afresh;
//   - capture times: copies are laid out on lanes that play one copy
//     after the other (a second apart); the lanes run at once and start
//     spread over the first copy's length, and their packets are merged
//     in capture time order. The messages' own time fields are kept, so
//     clock offsets grow with a copy's shift.
//
// Within a copy, packets keep their order: every message a fixture
// carries is in the replay, framed as in the fixture. The counts a
// replay must give (tshark's, as each fixture's counts file lists them)
// are those of its fixtures, remapped, copy by copy.
type Replay struct {
	fixtures []replayFixture
}

type replayFixture struct {
	name    string
	packets []replayPacket
	counts  Counts // by direction, fixture addresses
	msgs    uint64
	dur     time.Duration
}

type replayPacket struct {
	ts   time.Duration // since the fixture's first packet
	data []byte
}

// replayLink is the link type of the fixtures and of the replay.
const replayLink = layers.LinkTypeEthernet

// MaxReplayCopies bounds the copies of a replay: the address prefixes
// 10.0.0. to 10.249.255. (10.250. and 10.251. are the fixtures' own).
const MaxReplayCopies = 250 << 8

// LoadReplay reads the fixtures (pcap files, Ethernet, each with its
// counts file beside it: NAME.counts.txt for NAME.pcap).
func LoadReplay(fixtures ...string) (*Replay, error) {
	if len(fixtures) == 0 {
		return nil, errors.New("replay: no fixtures")
	}
	r := &Replay{}
	for _, path := range fixtures {
		f, err := loadReplayFixture(path)
		if err != nil {
			return nil, fmt.Errorf("replay: %s: %w", path, err)
		}
		r.fixtures = append(r.fixtures, f)
	}
	return r, nil
}

// Fixtures returns the pcap files of dir (peer/testdata) that LoadReplay
// takes.
func Fixtures(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("replay: no pcap files in %s", dir)
	}
	return files, err
}

func loadReplayFixture(path string) (replayFixture, error) {
	fx := replayFixture{name: filepath.Base(path)}
	counts, err := ReadCounts(strings.TrimSuffix(path, ".pcap") + ".counts.txt")
	if err != nil {
		return fx, err
	}
	fx.counts = counts
	for _, m := range counts.Dirs {
		for _, n := range m {
			fx.msgs += n
		}
	}
	in, err := os.Open(path)
	if err != nil {
		return fx, err
	}
	defer in.Close()
	pr, err := pcapgo.NewReader(in)
	if err != nil {
		return fx, err
	}
	if pr.LinkType() != replayLink {
		return fx, fmt.Errorf("link type %v, want %v", pr.LinkType(), replayLink)
	}
	var first time.Time
	seen := map[byte]netip.Addr{}
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fx, err
		}
		if ci.CaptureLength != ci.Length {
			return fx, errors.New("a packet cut by the snaplen")
		}
		if first.IsZero() {
			first = ci.Timestamp
		}
		if ip, ok := ipv4Of(data); ok {
			// The mapping keeps the last octet: it must tell the
			// fixture's addresses apart.
			for _, a := range [][]byte{ip[12:16], ip[16:20]} {
				addr := netip.AddrFrom4([4]byte(a))
				if o, ok := seen[a[3]]; ok && o != addr {
					return fx, fmt.Errorf("addresses %v and %v end in the same octet", o, addr)
				}
				seen[a[3]] = addr
			}
		}
		fx.packets = append(fx.packets, replayPacket{ts: ci.Timestamp.Sub(first), data: data})
	}
	if len(fx.packets) == 0 {
		return fx, errors.New("no packets")
	}
	fx.dur = fx.packets[len(fx.packets)-1].ts
	return fx, nil
}

// ipv4Of returns the IPv4 datagram of an Ethernet frame carrying TCP
// (whole header, total length within the frame).
func ipv4Of(frame []byte) ([]byte, bool) {
	if len(frame) < 14+20 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
		return nil, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || total < ihl+20 || total > len(ip) || ip[9] != 6 {
		return nil, false
	}
	return ip[:total], true
}

// MessagesPerSet is the number of failover messages of one copy of every
// fixture.
func (r *Replay) MessagesPerSet() uint64 {
	var n uint64
	for _, f := range r.fixtures {
		n += f.msgs
	}
	return n
}

// SetsFor returns the number of sets (one copy of every fixture each)
// that gives at least messages messages.
func (r *Replay) SetsFor(messages uint64) int {
	per := r.MessagesPerSet()
	return int(max(1, (messages+per-1)/per))
}

// ReplayOptions shape a replay.
type ReplayOptions struct {
	// Sets is how many copies of every fixture the replay holds.
	Sets int
	// Lanes is how many copies play at once (default 64): about twice
	// as many connections are open at a time, and every copy leaves its
	// closed connections behind it.
	Lanes int
	// Start is the capture time of the first packet (default
	// 2026-11-26T12:00:00Z, the fixtures' week).
	Start time.Time
}

// DefaultReplayLanes is ReplayOptions.Lanes when unset.
const DefaultReplayLanes = 64

// ReplayStats is what Write wrote.
type ReplayStats struct {
	Packets uint64
	Conns   uint64 // the fixtures' TCP four-tuples, copy by copy
	// Counts are the failover messages the replay carries by TCP stream
	// direction and type, as tshark counts them (Local, Strangers unset).
	Counts Counts
}

// Messages returns the total of the counts.
func (s ReplayStats) Messages() uint64 {
	var n uint64
	for _, m := range s.Counts.Dirs {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// Write writes the replay as a pcap file to w.
func (r *Replay) Write(w io.Writer, o ReplayOptions) (ReplayStats, error) {
	st := ReplayStats{Counts: Counts{Dirs: map[string]map[string]uint64{}, Stream: map[string]int{}}}
	if o.Sets <= 0 {
		return st, errors.New("replay: no sets")
	}
	copies := o.Sets * len(r.fixtures)
	if copies > MaxReplayCopies {
		return st, fmt.Errorf("replay: %d copies, at most %d", copies, MaxReplayCopies)
	}
	if o.Lanes <= 0 {
		o.Lanes = DefaultReplayLanes
	}
	o.Lanes = min(o.Lanes, copies)
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(262144, replayLink); err != nil {
		return st, err
	}
	// The expected counts, copy by copy.
	for c := 0; c < copies; c++ {
		fx := &r.fixtures[c%len(r.fixtures)]
		for dir, m := range fx.counts.Dirs {
			d, err := remapDir(dir, c)
			if err != nil {
				return st, fmt.Errorf("replay: %s: %w", fx.name, err)
			}
			into := map[string]uint64{}
			for t, n := range m {
				if n > 0 {
					into[t] = n
				}
			}
			st.Counts.Dirs[d] = into
			st.Counts.Stream[d] = -1
		}
	}
	// Lane l plays copies l, l+Lanes, l+2*Lanes...: with a number of
	// lanes that is not a multiple of the fixtures, each lane plays
	// them all in turn.
	lanes := make(laneHeap, 0, o.Lanes)
	spread := r.fixtures[0].dur + time.Second
	for l := 0; l < o.Lanes; l++ {
		ln := &lane{id: l, copy: l, step: o.Lanes, copies: copies, r: r,
			at: o.Start.Add(spread * time.Duration(l) / time.Duration(o.Lanes))}
		ln.startCopy()
		lanes = append(lanes, ln)
	}
	heap.Init(&lanes)
	var frame []byte
	for len(lanes) > 0 {
		ln := lanes[0]
		fx := &r.fixtures[ln.copy%len(r.fixtures)]
		p := &fx.packets[ln.pkt]
		frame = rewriteFrame(append(frame[:0], p.data...), ln.copy, ln.conns)
		ts := ln.at.Add(p.ts)
		if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			return st, err
		}
		st.Packets++
		ln.pkt++
		if ln.pkt == len(fx.packets) {
			st.Conns += uint64(len(ln.conns))
			ln.at = ln.at.Add(fx.dur + time.Second)
			ln.copy += ln.step
			if ln.copy >= copies {
				heap.Pop(&lanes)
				continue
			}
			ln.startCopy()
		}
		heap.Fix(&lanes, 0)
	}
	return st, nil
}

// lane plays copies one after the other.
type lane struct {
	id, copy, step, copies int
	r                      *Replay
	pkt                    int       // next packet of the copy's fixture
	at                     time.Time // capture time of the copy's first packet
	conns                  map[[2]netip.AddrPort]bool
}

func (l *lane) startCopy() {
	l.pkt = 0
	l.conns = map[[2]netip.AddrPort]bool{}
}

func (l *lane) next() time.Time {
	fx := &l.r.fixtures[l.copy%len(l.r.fixtures)]
	return l.at.Add(fx.packets[l.pkt].ts)
}

type laneHeap []*lane

func (h laneHeap) Len() int { return len(h) }
func (h laneHeap) Less(i, j int) bool {
	a, b := h[i].next(), h[j].next()
	if !a.Equal(b) {
		return a.Before(b)
	}
	return h[i].id < h[j].id
}
func (h laneHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *laneHeap) Push(x any)   { *h = append(*h, x.(*lane)) }
func (h *laneHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// remapAddr gives a fixture's IPv4 address its copy's prefix.
func remapAddr(a [4]byte, c int) [4]byte {
	return [4]byte{10, byte(c >> 8), byte(c), a[3]}
}

// remapPort maps the ephemeral ports of copy c one to one onto
// 1024-65535; the ports below 1024 (the failover ports among them) stay.
func remapPort(p uint16, c int) uint16 {
	if p < 1024 {
		return p
	}
	const n = 65536 - 1024
	return uint16(1024 + (int(p)-1024+c*7919)%n)
}

// seqOffset is the shift of the sequence numbers that end e of copy c
// sends (a splitmix64 step: different for every copy and end).
func seqOffset(e netip.AddrPort, c int) uint32 {
	a := e.Addr().As4()
	z := uint64(c)<<32 | uint64(binary.BigEndian.Uint32(a[:]))<<16 ^ uint64(e.Port())
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return uint32(z ^ (z >> 31))
}

func remapDir(dir string, c int) (string, error) {
	from, to, ok := strings.Cut(dir, "->")
	if !ok {
		return "", fmt.Errorf("direction %q", dir)
	}
	var out [2]string
	for i, s := range []string{from, to} {
		ap, err := netip.ParseAddrPort(s)
		if err != nil || !ap.Addr().Is4() {
			return "", fmt.Errorf("direction %q: not IPv4", dir)
		}
		out[i] = netip.AddrPortFrom(netip.AddrFrom4(remapAddr(ap.Addr().As4(), c)), remapPort(ap.Port(), c)).String()
	}
	return out[0] + "->" + out[1], nil
}

// rewriteFrame turns a fixture's Ethernet frame into copy c's, in place;
// conns collects the copy's four-tuples. A frame that is not TCP over
// IPv4 is left as it is.
func rewriteFrame(frame []byte, c int, conns map[[2]netip.AddrPort]bool) []byte {
	ip, ok := ipv4Of(frame)
	if !ok {
		return frame
	}
	ihl := int(ip[0]&0x0f) * 4
	tcp := ip[ihl:]
	if int(tcp[12]>>4)*4 < 20 || int(tcp[12]>>4)*4 > len(tcp) {
		return frame
	}
	src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(tcp[0:]))
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), binary.BigEndian.Uint16(tcp[2:]))
	k := [2]netip.AddrPort{src, dst}
	if dst.Addr().Less(src.Addr()) || (dst.Addr() == src.Addr() && dst.Port() < src.Port()) {
		k = [2]netip.AddrPort{dst, src}
	}
	conns[k] = true
	binary.BigEndian.PutUint32(tcp[4:], binary.BigEndian.Uint32(tcp[4:])+seqOffset(src, c))
	if tcp[13]&0x10 != 0 { // ACK: the other end's numbering
		binary.BigEndian.PutUint32(tcp[8:], binary.BigEndian.Uint32(tcp[8:])+seqOffset(dst, c))
	}
	sa, da := remapAddr(src.Addr().As4(), c), remapAddr(dst.Addr().As4(), c)
	copy(ip[12:16], sa[:])
	copy(ip[16:20], da[:])
	binary.BigEndian.PutUint16(tcp[0:], remapPort(src.Port(), c))
	binary.BigEndian.PutUint16(tcp[2:], remapPort(dst.Port(), c))
	// Checksums (RFC 791 §3.1, RFC 9293 §3.1: the pseudo-header).
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum16(0, ip[:ihl])))
	tcp[16], tcp[17] = 0, 0
	s := sum16(0, ip[12:20])
	s += 6 + uint32(len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^fold(sum16(s, tcp)))
	return frame
}

// sum16 adds b as big-endian 16-bit words to s (an odd byte padded).
func sum16(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
