package failover

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The fixture streams are the TCP payload ISC dhcpd 4.4.3-P1 sent in each
// direction of the lab's failover connections, with counts.txt written
// from the pcaps (and cross-checked with Wireshark's dissector).

const streamsDir = "testdata/streams"

type fixtureState struct {
	time, stos uint32
	state      string // ISC name
	flags      uint8
}

type fixtureStream struct {
	dir, file string
	messages  int
	complete  bool // complete_from_syn
	counts    map[string]int
	states    []fixtureState
	data      []byte
}

func (s fixtureStream) name() string { return filepath.Base(s.dir) + "/" + s.file }

func atoiField(t testing.TB, kv string) (string, int) {
	t.Helper()
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		t.Fatalf("counts.txt: bad field %q", kv)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("counts.txt: bad number in %q", kv)
	}
	return k, n
}

// loadStreams parses every counts.txt under testdata/streams and loads the
// streams it lists.
func loadStreams(t testing.TB) []fixtureStream {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(streamsDir, "*"))
	if err != nil || len(dirs) != 4 {
		t.Fatalf("want 4 fixture folders in %s, got %v (%v)", streamsDir, dirs, err)
	}
	var out []fixtureStream
	for _, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, "counts.txt"))
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "stream-"):
				cols := strings.Split(line, "\t")
				if len(cols) < 6 {
					t.Fatalf("%s: short line %q", dir, line)
				}
				s := fixtureStream{dir: dir, file: cols[0], counts: map[string]int{}}
				_, s.messages = atoiField(t, cols[2])
				if _, tb := atoiField(t, cols[3]); tb != 0 {
					t.Fatalf("%s: trailing bytes in %s", dir, s.file)
				}
				s.complete = cols[4] == "complete_from_syn=yes"
				for _, kv := range strings.Fields(cols[5]) {
					k, n := atoiField(t, kv)
					s.counts[k] = n
				}
				if s.data, err = os.ReadFile(filepath.Join(dir, s.file)); err != nil {
					t.Fatal(err)
				}
				out = append(out, s)
				listed = append(listed, s.file)
			case strings.HasPrefix(line, "\tSTATE "):
				var st fixtureState
				for _, kv := range strings.Fields(line)[1:] {
					k, v, _ := strings.Cut(kv, "=")
					n, _ := strconv.ParseUint(v, 10, 32)
					switch k {
					case "time":
						st.time = uint32(n)
					case "stos":
						st.stos = uint32(n)
					case "flags":
						st.flags = uint8(n)
					case "state":
						st.state = v
					}
				}
				last := &out[len(out)-1]
				last.states = append(last.states, st)
			}
		}
		f.Close()
		bins, _ := filepath.Glob(filepath.Join(dir, "*.bin"))
		for i := range bins {
			bins[i] = filepath.Base(bins[i])
		}
		sort.Strings(bins)
		sort.Strings(listed)
		if strings.Join(bins, ",") != strings.Join(listed, ",") {
			t.Fatalf("%s: counts.txt lists %v, folder holds %v", dir, listed, bins)
		}
	}
	return out
}

// splitAll frames a whole stream and returns copies of its messages.
func splitAll(t testing.TB, data []byte, o SplitterOptions) ([][]byte, *Splitter) {
	t.Helper()
	s := NewSplitter(o)
	var msgs [][]byte
	if err := s.Feed(data, func(m []byte) { msgs = append(msgs, append([]byte(nil), m...)) }); err != nil {
		t.Fatalf("Feed: %v", err)
	}
	return msgs, s
}

// fixtureMessages returns every message of every fixture stream.
func fixtureMessages(t testing.TB) [][]byte {
	var all [][]byte
	for _, s := range loadStreams(t) {
		msgs, _ := splitAll(t, s.data, SplitterOptions{Resync: !s.complete})
		all = append(all, msgs...)
	}
	return all
}

// firstOfType returns the first fixture message of the given type.
func firstOfType(t testing.TB, typ MessageType) []byte {
	t.Helper()
	for _, b := range fixtureMessages(t) {
		if MessageType(b[2]) == typ {
			return b
		}
	}
	t.Fatalf("no %v in the fixtures", typ)
	return nil
}
