package peer

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// fixtureStreams returns the byte streams one end sent on each
// connection of the fixtures (the framed messages, in order): every real
// capture of testdata/, the fault captures among them.
func fixtureStreams(t testing.TB) [][]byte {
	var out [][]byte
	paths, err := filepath.Glob("testdata/*.pcap")
	if err != nil || len(paths) < 9 {
		t.Fatalf("fixtures: %v %v", paths, err)
	}
	for _, path := range paths {
		streams := map[[2]int][]byte{}
		var order [][2]int
		if _, err := ReadFile(path, Options{OnMessage: func(c *Conn, from int, _ time.Time, m *failover.Message) {
			k := [2]int{c.ID, from}
			if _, ok := streams[k]; !ok {
				order = append(order, k)
			}
			streams[k] = append(streams[k], m.Bytes()...)
		}}); err != nil {
			t.Fatal(err)
		}
		for _, k := range order {
			out = append(out, streams[k])
		}
	}
	return out
}

// reference frames a stream in one piece, as the tracker must whatever
// the segmentation.
func reference(stream []byte) [][]byte {
	var msgs [][]byte
	s := failover.NewSplitter(failover.SplitterOptions{Resync: true})
	s.Feed(stream, func(b []byte) { msgs = append(msgs, slices.Clone(b)) })
	return msgs
}

// segmentStream cuts stream into TCP segments as ctrl says and builds the
// frames of a connection carrying it from epB to epA: each control byte
// gives a segment length (1..64, or up to 1460 when its top bit is set),
// and its low bits may swap the segment with the next one, send it twice
// or, if lossy, drop it. Segments move by one place at most.
func segmentStream(ctrl, stream []byte, lossy bool) (frames [][]byte, dropped bool) {
	const isn = 0xfffff000 // wraps around during the stream
	frames = append(frames, appendFrame(nil, epB, epA, isn, tcpSYN, nil))
	frames = append(frames, appendFrame(nil, epA, epB, 7, tcpSYN|tcpACK, nil))
	var segs [][]byte
	swapped := false
	seq := uint32(isn + 1)
	for i, off := 0, 0; off < len(stream); i++ {
		c := byte(7)
		if len(ctrl) > 0 {
			c = ctrl[i%len(ctrl)]
		}
		n := 1 + int(c>>2&0x0f)*4
		if c&0x80 != 0 {
			n = 1 + int(c&0x7f)*11
		}
		n = min(n, len(stream)-off)
		f := appendFrame(nil, epB, epA, seq, tcpACK, stream[off:off+n])
		switch {
		case c&3 == 1:
			segs = append(segs, f, f) // retransmitted
		case c&3 == 2 && lossy:
			dropped = true
		default:
			segs = append(segs, f)
		}
		// Swap with the previous segment, unless that one was just
		// swapped: a segment moves by one place at most, well within
		// the reassembler's bounds (a hole held longer is given up).
		if c&3 == 3 && len(segs) >= 2 && !swapped {
			segs[len(segs)-1], segs[len(segs)-2] = segs[len(segs)-2], segs[len(segs)-1]
			swapped = true
		} else {
			swapped = false
		}
		off += n
		seq += uint32(n)
	}
	frames = append(frames, segs...)
	frames = append(frames, appendFrame(nil, epB, epA, seq, tcpFIN|tcpACK, nil))
	return frames, dropped
}

func runFrames(frames [][]byte) (msgs [][]byte, tr *Tracker) {
	ts := time.Unix(1795713600, 0)
	model := NewModel(ModelOptions{Local: epA.Addr})
	tr = NewTracker(Options{OnConn: model.OnConn, OnMessage: func(c *Conn, from int, ts time.Time, m *failover.Message) {
		model.OnMessage(c, from, ts, m)
		if c.Ends[from] == epB {
			msgs = append(msgs, slices.Clone(m.Bytes()))
		}
	}})
	for _, f := range frames {
		tr.Packet(LinkEthernet, ts, f)
	}
	tr.Finish()
	return msgs, tr
}

// FuzzReassembly feeds a failover byte stream cut into arbitrary TCP
// segments (reordered, retransmitted, optionally lost) through the tap:
// without loss the messages must be exactly those of the stream framed in
// one piece; with loss, fewer, and never a panic.
func FuzzReassembly(f *testing.F) {
	for _, s := range fixtureStreams(f) {
		// Short seeds keep the fuzzer fast; 1500 bytes hold CONNECT,
		// STATEs and the first BNDUPDs of the startup capture.
		s = s[:min(len(s), 1500)]
		f.Add([]byte{0x07, 0x81, 0x13, 0xff, 0x22}, s, false)
		f.Add([]byte{0x03, 0x41, 0x8e}, s, true)
	}
	f.Fuzz(func(t *testing.T, ctrl, stream []byte, lossy bool) {
		if len(stream) > 64<<10 {
			return
		}
		frames, dropped := segmentStream(ctrl, stream, lossy)
		got, tr := runFrames(frames)
		want := reference(stream)
		if !dropped {
			if len(got) != len(want) {
				t.Fatalf("%d messages, want %d", len(got), len(want))
			}
			for i := range got {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("message %d differs", i)
				}
			}
		}
		for _, c := range tr.Conns() {
			for i := range c.half {
				if len(c.half[i].held) != 0 {
					t.Fatalf("bytes still held after Finish")
				}
			}
		}
	})
}

// FuzzPacket hands arbitrary frames of every link type to the tracker
// and the relationship model.
func FuzzPacket(f *testing.F) {
	for _, s := range fixtureStreams(f) {
		f.Add(uint8(LinkEthernet), appendFrame(nil, epB, epA, 1, tcpACK, s[:min(len(s), 300)]))
	}
	f.Add(uint8(LinkRaw), []byte{0x45, 0, 0, 40})
	f.Add(uint8(LinkLinuxSLL), make([]byte, 60))
	f.Fuzz(func(t *testing.T, link uint8, frame []byte) {
		model := NewModel(ModelOptions{Local: epA.Addr})
		tr := NewTracker(Options{Ports: []uint16{647, 847, 0, 65535}, OnConn: model.OnConn, OnMessage: model.OnMessage})
		ts := time.Unix(0, 0)
		for _, l := range []LinkType{LinkType(link), LinkEthernet, LinkRaw, LinkLinuxSLL, LinkLinuxSLL2, LinkNull} {
			tr.Packet(l, ts, frame)
			ts = ts.Add(time.Second)
		}
		tr.Expire(ts.Add(time.Hour), time.Minute)
		tr.Finish()
		model.Prune(ts.Add(48 * time.Hour))
		for _, r := range model.Relationships() {
			model.Unanswered(r, ts)
		}
	})
}
