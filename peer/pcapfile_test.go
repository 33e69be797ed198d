package peer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// frame is one packet as a reader returns it.
type frame struct {
	data []byte
	ts   time.Time
	link LinkType
}

// readAll reads every frame of a capture with this package's readers.
func readAll(b []byte) ([]frame, error) {
	c, err := NewFileCapture(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []frame
	for {
		data, ts, link, err := c.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		if len(data) > maxFrame {
			return out, errors.New("frame beyond maxFrame")
		}
		out = append(out, frame{bytes.Clone(data), ts, link})
	}
}

// readAllPcapgo reads the same with gopacket's pcapgo, the reference.
func readAllPcapgo(b []byte) ([]frame, error) {
	var next func() ([]byte, gopacket.CaptureInfo, error)
	var link func(int) LinkType
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == ngSHB {
		ng, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{})
		if err != nil {
			return nil, err
		}
		next = ng.ReadPacketData
		link = func(i int) LinkType {
			ifc, _ := ng.Interface(i)
			return LinkType(ifc.LinkType)
		}
	} else {
		pr, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		next = pr.ReadPacketData
		link = func(int) LinkType { return LinkType(pr.LinkType()) }
	}
	var out []frame
	for {
		data, ci, err := next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		out = append(out, frame{data, ci.Timestamp, link(ci.InterfaceIndex)})
	}
}

func sameFrames(t *testing.T, name string, got, want []frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d frames, pcapgo %d", name, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].data, want[i].data) || !got[i].ts.Equal(want[i].ts) || got[i].link != want[i].link {
			t.Fatalf("%s: frame %d: %d bytes at %v link %d; pcapgo %d bytes at %v link %d", name, i,
				len(got[i].data), got[i].ts, got[i].link, len(want[i].data), want[i].ts, want[i].link)
		}
	}
}

// captureFiles are the real captures of the lab's pairs, pcap and pcapng.
func captureFiles(tb testing.TB) map[string][]byte {
	files := map[string][]byte{}
	for _, pat := range []string{"testdata/*.pcap", "testdata/*.pcapng"} {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				tb.Fatal(err)
			}
			files[filepath.Base(p)] = b
		}
	}
	if len(files) < 2 {
		tb.Fatal("no captures in testdata")
	}
	return files
}

// TestCaptureReadersMatchPcapgo: on every real capture, frames, times and
// link types equal what gopacket's pcapgo reads.
func TestCaptureReadersMatchPcapgo(t *testing.T) {
	for name, b := range captureFiles(t) {
		got, err := readAll(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := readAllPcapgo(b)
		if err != nil {
			t.Fatalf("%s: pcapgo: %v", name, err)
		}
		sameFrames(t, name, got, want)
	}
}

// byteOrder reads and appends.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock is one pcapng block in byte order o.
func ngBlock(o byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, body...)
	return o.AppendUint32(b, n)
}

func ngSection(o byteOrder) []byte {
	body := o.AppendUint32(nil, 0x1a2b3c4d)
	body = o.AppendUint16(body, 1)
	body = o.AppendUint16(body, 0)
	body = o.AppendUint64(body, ^uint64(0)) // section length unknown
	return ngBlock(o, ngSHB, body)
}

func ngIface(o byteOrder, link uint16, snaplen uint32, opts ...[]byte) []byte {
	body := o.AppendUint16(nil, link)
	body = o.AppendUint16(body, 0)
	body = o.AppendUint32(body, snaplen)
	for _, op := range opts {
		body = append(body, op...)
	}
	return ngBlock(o, ngIDB, body)
}

func ngOption(o byteOrder, code uint16, v []byte) []byte {
	b := o.AppendUint16(nil, code)
	b = o.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func ngEnhanced(o byteOrder, ifIndex uint32, units uint64, data []byte) []byte {
	body := o.AppendUint32(nil, ifIndex)
	body = o.AppendUint32(body, uint32(units>>32))
	body = o.AppendUint32(body, uint32(units))
	body = o.AppendUint32(body, uint32(len(data)))
	body = o.AppendUint32(body, uint32(len(data)))
	return ngBlock(o, ngEPB, append(body, data...))
}

// TestPcapngVariants: the parts of pcapng the lab's captures do not use —
// big-endian sections, several interfaces and sections, timestamp
// resolutions and offsets, simple and obsolete packet blocks, blocks to
// skip — read as section 4 of the pcapng draft says.
func TestPcapngVariants(t *testing.T) {
	for _, o := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		var f []byte
		f = append(f, ngSection(o)...)
		f = append(f, ngIface(o, 1, 0)...)                                                                         // Ethernet, µs
		f = append(f, ngIface(o, 113, 0, ngOption(o, 9, []byte{9}), ngOption(o, 14, o.AppendUint64(nil, 100)))...) // Linux SLL, ns, +100 s
		f = append(f, ngIface(o, 0, 0, ngOption(o, 9, []byte{0x80 | 10}))...)                                      // BSD null, 2^-10 s
		f = append(f, ngBlock(o, 4, []byte{0, 0, 0, 0})...)                                                        // name resolution: skipped
		f = append(f, ngEnhanced(o, 0, 1_500_000_250, []byte("a"))...)
		f = append(f, ngEnhanced(o, 1, 2_000_000_007, []byte("bb"))...)
		f = append(f, ngEnhanced(o, 2, 3<<10|512, []byte("ccc"))...)
		f = append(f, ngBlock(o, ngSPB, append(o.AppendUint32(nil, 4), "dddd"...))...)
		opb := o.AppendUint16(nil, 1)
		opb = o.AppendUint16(opb, 0)
		opb = o.AppendUint32(opb, 0)
		opb = o.AppendUint32(opb, 5)
		opb = o.AppendUint32(opb, 1)
		opb = o.AppendUint32(opb, 1)
		f = append(f, ngBlock(o, ngOPB, append(opb, 'e'))...)
		// A new section numbers its interfaces afresh.
		f = append(f, ngSection(o)...)
		f = append(f, ngIface(o, 101, 0)...)
		f = append(f, ngEnhanced(o, 0, 7_000_000, []byte("f"))...)
		got, err := readAll(f)
		if err != nil {
			t.Fatalf("%v: %v", o, err)
		}
		want := []frame{
			{[]byte("a"), time.Unix(1500, 250_000), 1},
			{[]byte("bb"), time.Unix(102, 7), 113},
			{[]byte("ccc"), time.Unix(3, 500_000_000), 0},
			{[]byte("dddd"), time.Unix(3, 500_000_000), 1}, // SPB: no time of its own, the previous one's
			{[]byte("e"), time.Unix(100, 5), 113},
			{[]byte("f"), time.Unix(7, 0), 101},
		}
		if len(got) != len(want) {
			t.Fatalf("%v: %d frames, want %d", o, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].data, want[i].data) || !got[i].ts.Equal(want[i].ts) || got[i].link != want[i].link {
				t.Errorf("%v: frame %d = %q at %v link %d, want %q at %v link %d", o, i,
					got[i].data, got[i].ts, got[i].link, want[i].data, want[i].ts, want[i].link)
			}
		}
	}
}

// TestPcapVariants: big-endian and nanosecond pcap files.
func TestPcapVariants(t *testing.T) {
	for _, c := range []struct {
		o     byteOrder
		magic uint32
		nsec  int64
	}{{binary.BigEndian, 0xa1b2c3d4, 7000}, {binary.LittleEndian, 0xa1b23c4d, 7}, {binary.BigEndian, 0xa1b23c4d, 7}} {
		h := c.o.AppendUint32(nil, c.magic)
		h = c.o.AppendUint16(h, 2)
		h = c.o.AppendUint16(h, 4)
		h = append(h, make([]byte, 8)...)
		h = c.o.AppendUint32(h, 65535)
		h = c.o.AppendUint32(h, 0x10000000|113) // FCS bits above the link type
		h = c.o.AppendUint32(h, 10)
		h = c.o.AppendUint32(h, 7)
		h = c.o.AppendUint32(h, 2)
		h = c.o.AppendUint32(h, 60)
		h = append(h, "xy"...)
		got, err := readAll(h)
		if err != nil || len(got) != 1 || string(got[0].data) != "xy" || !got[0].ts.Equal(time.Unix(10, c.nsec)) || got[0].link != 113 {
			t.Errorf("%#x %v: %+v, %v", c.magic, c.o, got, err)
		}
	}
}

// TestCaptureCutAnywhere: a capture cut at any byte gives the frames
// before the cut and then ErrCaptureTrunc (or ErrNotCapture inside the
// file header), and a reader's error sticks.
func TestCaptureCutAnywhere(t *testing.T) {
	for name, b := range captureFiles(t) {
		b = b[:min(len(b), 3000)]
		full, _ := readAll(b)
		for cut := range len(b) {
			c, err := NewFileCapture(bytes.NewReader(b[:cut]))
			if err != nil {
				if !errors.Is(err, ErrNotCapture) {
					t.Fatalf("%s cut at %d: %v", name, cut, err)
				}
				continue
			}
			n := 0
			for {
				_, _, _, err = c.Next()
				if err != nil {
					break
				}
				n++
			}
			if n > len(full) || (err != io.EOF && !errors.Is(err, ErrCaptureTrunc)) {
				t.Fatalf("%s cut at %d: %d frames of %d, %v", name, cut, n, len(full), err)
			}
			if _, _, _, again := c.Next(); again != err {
				t.Fatalf("%s cut at %d: error %v, then %v", name, cut, err, again)
			}
		}
	}
}

// secondsResolution tells whether a pcapng interface of b counts its
// time in whole seconds.
func secondsResolution(b []byte) bool {
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != ngSHB {
		return false
	}
	r, err := newNgReader(bufio.NewReader(bytes.NewReader(b)))
	for err == nil {
		for _, ifc := range r.ifaces {
			if ifc.resol == 0 {
				return true
			}
		}
		_, _, _, _, err = r.packet()
	}
	return false
}

// FuzzCaptureFile: any input, no panic, frames within bounds; where
// pcapgo reads an input to its end without error, this package reads the
// same frames.
func FuzzCaptureFile(f *testing.F) {
	for _, b := range captureFiles(f) {
		f.Add(b[:min(len(b), 2048)])
	}
	var o byteOrder = binary.LittleEndian
	f.Add(append(append(ngSection(o), ngIface(o, 1, 0, ngOption(o, 9, []byte{9}))...), ngEnhanced(o, 0, 5, []byte("x"))...))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readAll(b)
		if err != nil {
			return
		}
		want, werr := readAllPcapgo(b)
		if werr != nil {
			return
		}
		if secondsResolution(b) {
			// pcapgo reads if_tsresol 0 as its default, microseconds;
			// the pcapng draft (section 4.2) as 10^-0, seconds.
			for i := range want {
				want[i].ts = got[min(i, len(got)-1)].ts
			}
		}
		sameFrames(t, "input", got, want)
	})
}
