package peer

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// writeBenchCapture writes a pcap of one failover connection carrying
// about n messages, one per TCP segment as ISC sends them in steady
// state: the handshake, CONNECT/CONNECTACK, STATEs, then BNDUPD/BNDACK
// pairs with a CONTACT each way every 100 updates.
func writeBenchCapture(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	ts := time.Unix(1795713600, 0)
	seq := [2]uint32{1000, 5000}
	ends := [2]Endpoint{epB, epA} // the secondary connects to the primary's 647
	var frame, msg []byte
	put := func(from int, flags uint8, payload []byte) error {
		frame = appendFrame(frame[:0], ends[from], ends[1-from], seq[from], flags, payload)
		seq[from] += uint32(len(payload))
		if flags&(tcpSYN|tcpFIN) != 0 {
			seq[from]++
		}
		ts = ts.Add(50 * time.Microsecond)
		return w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame)
	}
	b := failover.NewBuilder(nil, failover.Header{})
	build := func(t failover.MessageType, xid uint32, add func(b *failover.Builder)) []byte {
		b.Reset(msg[:0], failover.Header{Type: t, Time: uint32(ts.Unix()), XID: xid})
		if add != nil {
			add(b)
		}
		m, err := b.Finish()
		if err != nil {
			panic(err)
		}
		msg = m
		return m
	}
	steps := []error{
		put(0, tcpSYN, nil), put(1, tcpSYN|tcpACK, nil), put(0, tcpACK, nil),
		put(1, tcpACK, build(failover.MsgConnect, 1, func(b *failover.Builder) {
			b.AddRelationshipName("fo-bench")
			b.AddU32(failover.OptMaxUnackedBndupd, 10)
			b.AddU32(failover.OptReceiveTimer, 5)
			b.AddString(failover.OptVendorClass, "isc-4.4.3-P1")
			b.AddU8(failover.OptProtocolVersion, 1)
			b.AddU32(failover.OptMCLT, 3600)
		})),
		put(0, tcpACK, build(failover.MsgConnectAck, 1, func(b *failover.Builder) {
			b.AddRelationshipName("fo-bench")
			b.AddU32(failover.OptReceiveTimer, 5)
		})),
		put(0, tcpACK, build(failover.MsgState, 2, func(b *failover.Builder) {
			b.AddState(failover.Normal)
			b.AddU8(failover.OptServerFlags, 0)
			b.AddU32(failover.OptStartTimeOfState, 1795713600)
		})),
		put(1, tcpACK, build(failover.MsgState, 2, func(b *failover.Builder) {
			b.AddState(failover.Normal)
			b.AddU8(failover.OptServerFlags, 0)
			b.AddU32(failover.OptStartTimeOfState, 1795713600)
		})),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	for i := 0; i < (n-4)/2; i++ {
		addr := netip.AddrFrom4([4]byte{10, 250, byte(i >> 8), byte(i)})
		bnd := func(b *failover.Builder) {
			b.AddAddr(failover.OptAssignedIPAddress, addr)
			b.AddU8(failover.OptBindingStatus, uint8(failover.BindingActive))
			b.Add(failover.OptClientHardwareAddress, []byte{1, 2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)})
			b.AddU32(failover.OptLeaseExpirationTime, uint32(ts.Unix())+600)
			b.AddU32(failover.OptPotentialExpirationTime, uint32(ts.Unix())+3600)
			b.AddU32(failover.OptClientLastTransactionTime, uint32(ts.Unix()))
			b.AddU32(failover.OptStartTimeOfState, uint32(ts.Unix()))
		}
		if err := put(1, tcpACK, build(failover.MsgBndUpd, uint32(10+i), bnd)); err != nil {
			return err
		}
		if err := put(0, tcpACK, build(failover.MsgBndAck, uint32(10+i), bnd)); err != nil {
			return err
		}
		if i%100 == 99 {
			put(1, tcpACK, build(failover.MsgContact, 0, nil))
			put(0, tcpACK, build(failover.MsgContact, 0, nil))
		}
	}
	put(1, tcpFIN|tcpACK, nil)
	put(0, tcpFIN|tcpACK, nil)
	return bw.Flush()
}

// benchMessages is the size of the benchmark capture (docs/peer.md
// reports its timings: a million messages).
const benchMessages = 1_000_000

var benchCapture struct {
	once sync.Once
	dir  string
	err  error
}

func benchFile(b *testing.B) string {
	benchCapture.once.Do(func() {
		benchCapture.dir, benchCapture.err = os.MkdirTemp("", "dfe-peer-bench-")
		if benchCapture.err == nil {
			benchCapture.err = writeBenchCapture(filepath.Join(benchCapture.dir, "bench.pcap"), benchMessages)
		}
	})
	if benchCapture.err != nil {
		b.Fatal(benchCapture.err)
	}
	return filepath.Join(benchCapture.dir, "bench.pcap")
}

// TestMain removes the generated capture.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchCapture.dir != "" {
		os.RemoveAll(benchCapture.dir)
	}
	os.Exit(code)
}

// BenchmarkTapLargeCapture: read, reassemble, frame, decode and model a
// capture of about a million messages (one op = the whole file).
func BenchmarkTapLargeCapture(b *testing.B) {
	path := benchFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	var msgs uint64
	for i := 0; i < b.N; i++ {
		tr, err := ReadFile(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		msgs = tr.Stats().Messages
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkTapModelLargeCapture: the same with the relationship model
// fed, as the peer source runs it (local: the primary).
func BenchmarkTapModelLargeCapture(b *testing.B) {
	path := benchFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	var msgs uint64
	for i := 0; i < b.N; i++ {
		m := NewModel(ModelOptions{Local: epA.Addr})
		tr, err := ReadFile(path, Options{OnConn: m.OnConn, OnMessage: m.OnMessage})
		if err != nil {
			b.Fatal(err)
		}
		msgs = tr.Stats().Messages
		if r := m.Relationships(); len(r) != 1 || r[0].Messages[DirSent][failover.MsgBndUpd]+r[0].Messages[DirReceived][failover.MsgBndUpd] == 0 {
			b.Fatalf("model %+v", r)
		}
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAnalyzeLargeCapture: the same with the analyzer's text
// timeline (one line per message) written to io.Discard.
func BenchmarkAnalyzeLargeCapture(b *testing.B) {
	path := benchFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	var msgs uint64
	for i := 0; i < b.N; i++ {
		c, err := OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		var line []byte
		r, err := Analyze(context.Background(), c, AnalyzeOptions{Timeline: func(e *Event) {
			line = e.AppendText(line[:0])
			io.Discard.Write(line)
		}})
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		msgs = r.Messages
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestWriteBenchCapture writes the benchmark capture where
// DFE_WRITE_BENCH_PCAP says, for timing tshark on the same file.
func TestWriteBenchCapture(t *testing.T) {
	path := os.Getenv("DFE_WRITE_BENCH_PCAP")
	if path == "" {
		t.Skip("set DFE_WRITE_BENCH_PCAP=FILE to write the benchmark capture")
	}
	if err := writeBenchCapture(path, benchMessages); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := tr.Stats(); s.Messages < benchMessages {
		t.Fatalf("%+v", s)
	}
}
