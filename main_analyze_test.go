package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
)

var updateAnalyze = flag.Bool("update-analyze", false, "rewrite the analyze golden files")

// TestAnalyzeGolden runs `analyze` on a real capture (a secondary killed,
// the primary forced to partner-down, the secondary restarted) and
// compares the output with the reviewed golden files.
func TestAnalyzeGolden(t *testing.T) {
	const capture = "peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap"
	for _, tc := range []struct{ format, golden string }{
		{"text", "peer/testdata/golden/analyze-fault.txt"},
		{"json", "peer/testdata/golden/analyze-fault.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"analyze", "--format=" + tc.format, capture}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if tc.format == "json" && !json.Valid(stdout.Bytes()) {
				t.Fatal("output is not valid JSON")
			}
			if *updateAnalyze {
				os.MkdirAll(filepath.Dir(tc.golden), 0o755)
				if err := os.WriteFile(tc.golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("%v (run with -update-analyze to create it)", err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update-analyze and review the diff):\n%s", tc.golden, stdout.String())
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "does-not-exist.pcap"},
		{"analyze", "main.go"}, // not a capture
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	// --port takes a list of ports: with only 9999 nothing is decoded.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"analyze", "--port=9999", "--no-timeline", "peer/testdata/isc-startup.pcap"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !bytes.Contains(stdout.Bytes(), []byte("0 on the failover ports, 0 messages, 0 connections")) {
		t.Errorf("--port=9999:\n%s", stdout.String())
	}
}

// fixtureCounts is what a capture's counts.txt lists (written by the lab
// scripts from the raw TCP streams, and equal to Wireshark's counts): per
// direction ("10.250.0.1:647->10.250.0.2:60361") the messages by type,
// their total and the STATE messages in order; and the totals by type.
type fixtureCounts struct {
	dirs   map[string]map[string]uint64
	totals map[string]uint64 // by direction
	states map[string][]string
	byType map[string]uint64
}

func readFixtureCounts(t *testing.T, path string) fixtureCounts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fc := fixtureCounts{dirs: map[string]map[string]uint64{}, totals: map[string]uint64{}, states: map[string][]string{}, byType: map[string]uint64{}}
	kv := func(f string) (string, uint64) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseUint(v, 10, 64)
		return k, n
	}
	dir := ""
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || fields[0][0] == '#' || fields[0] == "TSHARK":
		case fields[0] == "STATE":
			// STATE time=T from=A:P state=S stos=N flags=F, under its direction.
			var state, stos string
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "state":
					state = v
				case "stos":
					stos = v
				}
			}
			fc.states[dir] = append(fc.states[dir], state+" stos="+stos)
		case fields[0] == "TOTAL":
			for _, f := range fields[1:] {
				k, n := kv(f)
				fc.byType[k] = n
			}
		default:
			dir = fields[1]
			fc.dirs[dir] = map[string]uint64{}
			for _, f := range fields[2:] {
				switch k, n := kv(f); k {
				case "messages":
					fc.totals[dir] = n
				case "trailing_bytes", "complete_from_syn":
				default:
					fc.dirs[dir][k] = n
				}
			}
		}
	}
	return fc
}

// TestAnalyzeJSONFixtureCounts decodes the streamed JSON of every real
// capture with encoding/json, into the exported types and refusing
// unknown fields, and checks that its timeline and its summaries count
// the messages the fixture's counts.txt lists.
func TestAnalyzeJSONFixtureCounts(t *testing.T) {
	captures, err := filepath.Glob("peer/testdata/*.pcap")
	if err != nil || len(captures) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	for _, capture := range captures {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			want := readFixtureCounts(t, strings.TrimSuffix(capture, ".pcap")+".counts.txt")
			var stdout, stderr bytes.Buffer
			if code := run([]string{"analyze", "--format=json", capture}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var doc struct {
				Timeline *[]peer.Event `json:"timeline"`
				peer.Report
			}
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if dec.More() {
				t.Fatal("more than one JSON value")
			}
			if doc.Timeline == nil {
				t.Fatal("no timeline")
			}
			// The timeline, one array across the connections.
			dirs := map[string]map[string]uint64{}
			byType := map[string]uint64{}
			states := map[string][]string{}
			ids := map[int]bool{}
			for _, c := range doc.Connections.All() {
				ids[c.ID] = true
			}
			var last time.Time
			for _, e := range *doc.Timeline {
				dir := e.From + "->" + e.To
				if dirs[dir] == nil {
					dirs[dir] = map[string]uint64{}
				}
				dirs[dir][e.Message]++
				byType[e.Message]++
				if e.Message == "STATE" {
					states[dir] = append(states[dir], fmt.Sprintf("%s stos=%d", e.NativeState, e.StartTimeOfState.Unix()))
				}
				if !ids[e.Conn] {
					t.Errorf("event of connection %d, not in the summaries", e.Conn)
				}
				if e.Time.Before(last) {
					t.Errorf("event at %s after one at %s", e.Time, last)
				}
				last = e.Time
			}
			if !reflect.DeepEqual(dirs, want.dirs) {
				t.Errorf("timeline counts by direction\n got %v\nwant %v", dirs, want.dirs)
			}
			if !reflect.DeepEqual(byType, want.byType) {
				t.Errorf("timeline counts\n got %v\nwant %v", byType, want.byType)
			}
			if !reflect.DeepEqual(states, want.states) {
				t.Errorf("STATE messages\n got %v\nwant %v", states, want.states)
			}
			if n := uint64(len(*doc.Timeline)); n != doc.Messages {
				t.Errorf("%d events, messages %d", n, doc.Messages)
			}
			// The summaries count the same.
			for _, c := range doc.Connections.All() {
				for i, s := range c.Sides {
					if s.Total == 0 {
						continue
					}
					dir := s.From + "->" + c.Sides[1-i].From
					if !reflect.DeepEqual(s.Messages, want.dirs[dir]) || s.Total != want.totals[dir] {
						t.Errorf("connection %d from %s: %d messages %v, want %d %v", c.ID, s.From, s.Total, s.Messages, want.totals[dir], want.dirs[dir])
					}
				}
			}
		})
	}
}

// TestAnalyzeJSONEnds: the document stays one valid JSON value without a
// timeline and when the capture is cut short (the report's error says
// so); a failed write ends the analysis with the write error.
func TestAnalyzeJSONEnds(t *testing.T) {
	const capture = "peer/testdata/isc-startup.pcap"
	decode := func(t *testing.T, b []byte) map[string]json.RawMessage {
		t.Helper()
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%v:\n%s", err, b)
		}
		return doc
	}

	t.Run("no timeline", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"analyze", "--format=json", "--no-timeline", capture}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		doc := decode(t, stdout.Bytes())
		var conns []peer.ConnReport
		if err := json.Unmarshal(doc["connections"], &conns); err != nil || len(conns) != 2 {
			t.Fatalf("connections %+v: %v", conns, err)
		}
		// #1: the secondary's port 847 refusing the primary (RST).
		if n := conns[1].Sides[0].Total + conns[1].Sides[1].Total; n != 538 || conns[0].Closed != "RST" {
			t.Errorf("connections %+v", conns)
		}
		if _, ok := doc["timeline"]; ok || string(doc["messages"]) != "538" {
			t.Errorf("--no-timeline:\n%s", stdout.String())
		}
	})

	t.Run("cut short", func(t *testing.T) {
		full, err := os.ReadFile(capture)
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(t.TempDir(), "cut.pcap")
		if err := os.WriteFile(cut, full[:len(full)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"analyze", "--format=json", cut}, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		doc := decode(t, stdout.Bytes())
		var events []peer.Event
		if err := json.Unmarshal(doc["timeline"], &events); err != nil || len(events) == 0 {
			t.Errorf("timeline of %d events: %v", len(events), err)
		}
		if len(doc["error"]) == 0 || string(doc["messages"]) != strconv.Itoa(len(events)) {
			t.Errorf("error %s, messages %s, %d events", doc["error"], doc["messages"], len(events))
		}
	})

	t.Run("write error", func(t *testing.T) {
		for _, format := range []string{"json", "text"} {
			w := &failingWriter{left: 1 << 10}
			var stderr bytes.Buffer
			if code := run([]string{"analyze", "--format=" + format, capture}, w, &stderr); code != 1 || !strings.Contains(stderr.String(), errWriteFailed.Error()) {
				t.Errorf("%s: exit %d, stderr %q", format, code, stderr.String())
			}
		}
	})
}

var errWriteFailed = errors.New("write failed (test)")

// failingWriter takes left bytes, then fails every write.
type failingWriter struct{ left int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if len(b) > w.left {
		n := w.left
		w.left = 0
		return n, errWriteFailed
	}
	w.left -= len(b)
	return len(b), nil
}
