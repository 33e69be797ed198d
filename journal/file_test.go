package journal

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
)

// gunzip reads a gzip-compressed file of testdata: the journal files made
// by the real systemd-journal-remote (systemd 252) from the export files
// beside them, and journalctl's export of each (without __CURSOR).
func gunzip(tb testing.TB, name string) []byte {
	tb.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// exportOf writes the entries of a journal file as journalctl -o export
// does (text fields only), from this package's reader.
func exportOf(b []byte) (string, error) {
	f, err := Open(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	r := NewReader(f, nil)
	var out strings.Builder
	for {
		e, ok := r.Next()
		if !ok {
			break
		}
		fmt.Fprintf(&out, "__REALTIME_TIMESTAMP=%d\n", e.Realtime)
		for _, fl := range e.Fields {
			out.Write(fl)
			out.WriteByte('\n')
		}
		out.WriteByte('\n')
	}
	if r.Err() != nil {
		return out.String(), r.Err()
	}
	if r.Seen() != f.Header().NEntries {
		return out.String(), fmt.Errorf("%d entries read, the header says %d", r.Seen(), f.Header().NEntries)
	}
	return out.String(), nil
}

// canonical drops from an export what journalctl takes from the entry
// object rather than its data (the monotonic time, the boot ID), and sorts
// the fields of each entry: journald stores an entry's items in the order
// of their data objects in the file, journalctl prints them otherwise.
func canonical(s string) string {
	var out []string
	for _, entry := range strings.Split(s, "\n\n") {
		var fields []string
		for _, l := range strings.Split(entry, "\n") {
			if l != "" && !strings.HasPrefix(l, "__MONOTONIC_TIMESTAMP=") && !strings.HasPrefix(l, "_BOOT_ID=") {
				fields = append(fields, l)
			}
		}
		sort.Strings(fields)
		out = append(out, strings.Join(fields, "\n"))
	}
	return strings.Join(out, "\n\n")
}

// TestReadRealFiles: the compact (systemd 252's default, zstd, keyed
// hash) and the regular layout read as journalctl reads them: every entry,
// every field, in order, including a 2 KB message journald compressed.
func TestReadRealFiles(t *testing.T) {
	for _, name := range []string{"compact", "regular"} {
		b := gunzip(t, name+".journal.gz")
		got, err := exportOf(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, want := canonical(got), canonical(string(gunzip(t, name+".export.gz")))
		if got != want {
			t.Fatalf("%s: the reader's export differs from journalctl's:\n%.600s\nwant:\n%.600s", name, got, want)
		}
		if !strings.Contains(got, "network big: no free leases xxxx") {
			t.Fatalf("%s: the long (compressed) message is missing", name)
		}
		h, _ := ReadHeader(bytes.NewReader(b))
		if h.Compact != (name == "compact") || h.NEntries != 600 {
			t.Fatalf("%s: header %+v", name, h)
		}
	}
}

// TestReadFieldFilter: fields want rejects are not returned.
func TestReadFieldFilter(t *testing.T) {
	f, err := Open(bytes.NewReader(gunzip(t, "compact.journal.gz")))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(f, func(n []byte) bool { return string(n) == "MESSAGE" })
	n := 0
	for e, ok := r.Next(); ok; e, ok = r.Next() {
		if len(e.Fields) != 1 || !bytes.HasPrefix(e.Fields[0], []byte("MESSAGE=")) {
			t.Fatalf("entry %d: fields %q", n, e.Fields)
		}
		if _, ok := e.Field("MESSAGE"); !ok {
			t.Fatal("Field(MESSAGE) not found")
		}
		n++
	}
	if r.Err() != nil || n != 600 {
		t.Fatalf("%d entries, %v", n, r.Err())
	}
}

// TestCutAnywhere: a file cut short, or with a byte changed, reads to an
// error or to fewer entries, never a panic or a loop.
func TestCutAnywhere(t *testing.T) {
	b := gunzip(t, "compact.journal.gz")
	// The file is preallocated: its objects end where its bytes stop
	// being zero.
	end := len(bytes.TrimRight(b, "\x00"))
	for _, cut := range []int{0, 7, 100, 207, 208, 300, 4096, end / 3, end / 2, end - 1} {
		if _, err := exportOf(b[:cut]); err == nil {
			t.Fatalf("cut at %d: no error", cut)
		}
	}
	if _, err := exportOf([]byte("not a journal at all, but long enough for a header; not a journal at all, but long enough for a header; not a journal at all, but long enough for a header; not a journal at all, but long enough.")); !errors.Is(err, ErrNotJournal) {
		t.Fatalf("not a journal: %v", err)
	}
}

// FuzzJournalFile: any bytes, no panic; what reads without error has as
// many entries as its header says.
func FuzzJournalFile(f *testing.F) {
	for _, name := range []string{"compact", "regular"} {
		b := gunzip(f, name+".journal.gz")
		// The head of each file: the header and its first objects (the
		// fuzzer mutates these; a whole 8 MiB file would be slow).
		f.Add(b[:min(len(b), 16<<10)])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = exportOf(b)
	})
}

func BenchmarkJournalRead(b *testing.B) {
	data := gunzip(b, "compact.journal.gz")
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		f, err := Open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		r := NewReader(f, func(n []byte) bool { return string(n) == "MESSAGE" || string(n) == "SYSLOG_IDENTIFIER" })
		for _, ok := r.Next(); ok; _, ok = r.Next() {
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// TestSkip: skipping lands where reading every entry does, on both
// layouts (the files' 600 entries span several arrays).
func TestSkip(t *testing.T) {
	for _, name := range []string{"compact", "regular"} {
		b := gunzip(t, name+".journal.gz")
		f, err := Open(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(f, nil)
		n, err := r.Skip()
		if err != nil || n != 600 || r.Seen() != 600 {
			t.Fatalf("%s: skipped %d, seen %d, %v", name, n, r.Seen(), err)
		}
		if _, ok := r.Next(); ok {
			t.Fatalf("%s: an entry after the end", name)
		}
		// Skipped from inside the first arrays.
		r = NewReader(f, nil)
		for range 5 {
			r.Next()
		}
		if n, err := r.Skip(); err != nil || n != 595 {
			t.Fatalf("%s: skipped %d after 5, %v", name, n, err)
		}
	}
}
