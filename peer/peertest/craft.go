// Package peertest holds test helpers for the peer-protocol tap: captures
// made from the project's fixtures. It is imported by tests only.
package peertest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// CraftCapture copies a pcap fixture into dir with byte strings of its
// frames replaced by others of the same length (TCP sequence numbers stay
// right; the tap does not check checksums): the options of a hostile or
// broken peer. repl holds old, new pairs; the test fails if nothing matched.
func CraftCapture(t testing.TB, fixture, dir string, repl ...string) string {
	t.Helper()
	in, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(fixture))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(repl); i += 2 {
			if len(repl[i]) != len(repl[i+1]) {
				t.Fatalf("replacement %q -> %q changes the length", repl[i], repl[i+1])
			}
			hits += bytes.Count(data, []byte(repl[i]))
			data = bytes.ReplaceAll(data, []byte(repl[i]), []byte(repl[i+1]))
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if hits == 0 {
		t.Fatalf("%s: nothing replaced", fixture)
	}
	return path
}
