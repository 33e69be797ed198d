package peertest

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Counts are the failover messages of a capture by TCP stream direction
// ("10.251.7.1:647->10.251.7.2:53763") and type, as Wireshark's dhcpfo
// dissector counts them, with what the counts file says about the capture.
type Counts struct {
	// Local is the server whose interface the capture was taken on
	// ("# local A" in the counts file).
	Local netip.Addr
	// Strangers are the TCP streams (tshark's tcp.stream) that are not
	// the two partners' conversation ("# strangers N M"): a third party,
	// a CONNECT the local server refused. The tap leaves them out.
	Strangers map[int]bool
	// Dirs holds the counts by direction; Stream the tshark stream of
	// each direction (-1 if the file does not say).
	Dirs   map[string]map[string]uint64
	Stream map[string]int
}

// Sum returns the counts by type of the partners' conversation, seen from
// the local server: sent (by Local) and received.
func (c Counts) Sum() (sent, received map[string]uint64) {
	sent, received = map[string]uint64{}, map[string]uint64{}
	for dir, m := range c.Dirs {
		if c.Strangers[c.Stream[dir]] {
			continue
		}
		into := received
		if from, _, _ := strings.Cut(dir, "->"); strings.HasPrefix(from, c.Local.String()+":") {
			into = sent
		}
		for t, n := range m {
			into[t] += n
		}
	}
	return sent, received
}

// TsharkArgs are tshark's arguments for the per-message fields of a
// capture whose failover ports are 647 (dissected by default) and 847.
func TsharkArgs(pcap string) []string {
	return []string{"-r", pcap, "-d", "tcp.port==847,dhcpfo", "-Y", "dhcpfo", "-T", "fields",
		"-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "dhcpfo.type"}
}

// Tshark runs tshark on pcap and returns its counts (Local and Strangers
// unset). A TCP segment carrying several messages gives several types.
func Tshark(pcap string) (Counts, error) {
	cmd := exec.Command("tshark", TsharkArgs(pcap)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Counts{}, fmt.Errorf("tshark %s: %v: %s", pcap, err, stderr.String())
	}
	c := Counts{Dirs: map[string]map[string]uint64{}, Stream: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 6 {
			return Counts{}, fmt.Errorf("tshark %s: line %q", pcap, sc.Text())
		}
		stream, err := strconv.Atoi(f[0])
		if err != nil {
			return Counts{}, fmt.Errorf("tshark %s: stream %q", pcap, f[0])
		}
		dir := f[1] + ":" + f[2] + "->" + f[3] + ":" + f[4]
		c.Stream[dir] = stream
		if c.Dirs[dir] == nil {
			c.Dirs[dir] = map[string]uint64{}
		}
		for _, t := range strings.Split(f[5], ",") {
			n, err := strconv.Atoi(t)
			if err != nil || !failover.MessageType(n).Valid() {
				return Counts{}, fmt.Errorf("tshark %s: message type %q", pcap, t)
			}
			c.Dirs[dir][failover.MessageType(n).String()]++
		}
	}
	return c, nil
}

// ReadCounts reads a counts file: "# local A", "# strangers N ... (why)", and
// one line per direction: a name ("stream-N-..." or "tshark-stream-N"),
// the direction, then key=value fields, the message types among them.
// TOTAL and TSHARK lines are left to the caller.
func ReadCounts(path string) (Counts, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Counts{}, err
	}
	c := Counts{Dirs: map[string]map[string]uint64{}, Stream: map[string]int{}, Strangers: map[int]bool{}}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || line[0] == '\t':
		case f[0] == "#" && len(f) >= 3 && f[1] == "local":
			if c.Local, err = netip.ParseAddr(f[2]); err != nil {
				return Counts{}, fmt.Errorf("%s: %v", path, err)
			}
		case f[0] == "#" && len(f) >= 2 && f[1] == "strangers":
			for _, s := range f[2:] {
				if strings.HasPrefix(s, "(") {
					break // a comment follows
				}
				n, err := strconv.Atoi(s)
				if err != nil {
					return Counts{}, fmt.Errorf("%s: strangers: %v", path, err)
				}
				c.Strangers[n] = true
			}
		case f[0][0] == '#' || f[0] == "TOTAL" || f[0] == "TSHARK" || len(f) < 2:
		default:
			dir := f[1]
			c.Stream[dir] = -1
			if s, ok := strings.CutPrefix(f[0], "tshark-stream-"); ok {
				c.Stream[dir], _ = strconv.Atoi(s)
			} else if s, ok := strings.CutPrefix(f[0], "stream-"); ok {
				s, _, _ = strings.Cut(s, "-")
				c.Stream[dir], _ = strconv.Atoi(s)
			}
			m := map[string]uint64{}
			for _, kv := range f[2:] {
				k, v, ok := strings.Cut(kv, "=")
				n, err := strconv.ParseUint(v, 10, 64)
				if !ok || err != nil || k != strings.ToUpper(k) {
					continue // messages=, trailing_bytes=, complete_from_syn=
				}
				m[k] = n
			}
			c.Dirs[dir] = m
		}
	}
	if !c.Local.IsValid() {
		return Counts{}, fmt.Errorf("%s: no \"# local\" line", path)
	}
	return c, nil
}

// Format writes counts as a counts file: the header lines, one line per
// direction in stream order followed by its STATE messages, and the TOTAL
// and TSHARK lines.
func (c Counts) Format(name, header string, states map[string][]State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: failover messages per TCP stream direction, as tshark's dhcpfo dissector counts them:\n", name)
	fmt.Fprintf(&b, "#   tshark %s\n", strings.Join(TsharkArgs(name), " "))
	fmt.Fprintf(&b, "#   STATE lines: tshark %s -Y 'dhcpfo.type == 10' -T pdml\n", strings.Join(TsharkArgs(name)[:4], " "))
	b.WriteString(header)
	dirs := make([]string, 0, len(c.Dirs))
	for d := range c.Dirs {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool {
		if c.Stream[dirs[i]] != c.Stream[dirs[j]] {
			return c.Stream[dirs[i]] < c.Stream[dirs[j]]
		}
		return dirs[i] < dirs[j]
	})
	total := map[string]uint64{}
	for _, d := range dirs {
		var n uint64
		for _, v := range c.Dirs[d] {
			n += v
		}
		fmt.Fprintf(&b, "tshark-stream-%d\t%s\tmessages=%d\t%s\n", c.Stream[d], d, n, formatTypes(c.Dirs[d]))
		from, _, _ := strings.Cut(d, "->")
		for _, st := range states[d] {
			b.WriteString(st.Line(from) + "\n")
		}
		for t, v := range c.Dirs[d] {
			total[t] += v
		}
	}
	fmt.Fprintf(&b, "TOTAL\t%s\nTSHARK\t%s\n", formatTypes(total), formatTypes(total))
	return b.String()
}

func formatTypes(m map[string]uint64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// State is one STATE message as tshark decodes it.
type State struct {
	Time  uint32 // the message's time field
	Code  uint8  // server-state
	STOS  uint32 // start-time-of-state
	Flags uint8  // server-flags
}

// Line formats s as a counts file's STATE line (from is the sender).
func (s State) Line(from string) string {
	name := fmt.Sprintf("unknown(%d)", s.Code)
	if st, ok := failover.StateFromWire(s.Code); ok {
		name, _ = st.ISCName()
	}
	return fmt.Sprintf("\tSTATE time=%d from=%s state=%s stos=%d flags=%d", s.Time, from, name, s.STOS, s.Flags)
}

// TsharkStates runs tshark on pcap and returns its STATE messages by
// direction, in order (tshark's PDML: one element per message, also when
// a segment carries several).
func TsharkStates(pcap string) (map[string][]State, error) {
	args := TsharkArgs(pcap)[:4] // -r pcap -d 847
	cmd := exec.Command("tshark", append(args, "-Y", "dhcpfo.type == 10", "-T", "pdml")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tshark %s: %v: %s", pcap, err, stderr.String())
	}
	states := map[string][]State{}
	var src, dst, sport, dport string
	var cur *State
	var dir string
	flush := func() {
		if cur != nil {
			states[dir] = append(states[dir], *cur)
			cur = nil
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("tshark %s: PDML: %v", pcap, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(name string) string {
			for _, a := range se.Attr {
				if a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
		switch se.Name.Local {
		case "packet":
			flush()
		case "proto":
			if attr("name") == "dhcpfo" {
				flush()
				cur = &State{}
				dir = src + ":" + sport + "->" + dst + ":" + dport
			}
		case "field":
			v := attr("show")
			n, _ := strconv.ParseUint(v, 10, 32)
			switch attr("name") {
			case "ip.src":
				src = v
			case "ip.dst":
				dst = v
			case "tcp.srcport":
				sport = v
			case "tcp.dstport":
				dport = v
			}
			if cur == nil {
				continue
			}
			switch attr("name") {
			case "dhcpfo.type":
				if v != "10" {
					cur = nil // another message of the same segment
				}
			case "dhcpfo.time":
				t, _ := strconv.ParseUint(attr("value"), 16, 32)
				cur.Time = uint32(t)
			case "dhcpfo.serverstatus":
				cur.Code = uint8(n)
			case "dhcpfo.starttimeofstate":
				cur.STOS = uint32(n)
			case "dhcpfo.serverflag":
				cur.Flags = uint8(n)
			}
		}
	}
	flush()
	return states, nil
}
