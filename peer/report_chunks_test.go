package peer

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// TestWriteFormatted: items in order across many chunks of both
// goroutines, whatever their count; the first error of format or of the
// writer ends the output and is returned, with no goroutine left blocked
// (go test -race; a blocked goroutine would hang the test's later cases).
func TestWriteFormatted(t *testing.T) {
	item := func(b []byte, i int) ([]byte, error) { return strconv.AppendInt(append(b, ' '), int64(i), 10), nil }
	for _, n := range []int{0, 1, summaryChunk, summaryChunk + 1, 3*summaryChunk - 1, 40 * summaryChunk} {
		var want, got bytes.Buffer
		for i := 0; i < n; i++ {
			b, _ := item(nil, i)
			want.Write(b)
		}
		if err := writeFormatted(&got, n, item); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d items: output differs (%d bytes, want %d)", n, got.Len(), want.Len())
		}
	}
	bad := errors.New("bad item")
	for _, at := range []int{0, summaryChunk + 3, 7*summaryChunk + 1} {
		var got bytes.Buffer
		var calls atomic.Int64
		err := writeFormatted(&got, 20*summaryChunk, func(b []byte, i int) ([]byte, error) {
			calls.Add(1)
			if i == at {
				return b, bad
			}
			return item(b, i)
		})
		if !errors.Is(err, bad) {
			t.Errorf("format error at %d: got %v", at, err)
		}
		n := calls.Load()
		time.Sleep(10 * time.Millisecond)
		if calls.Load() != n {
			t.Errorf("format error at %d: format called after writeFormatted returned", at)
		}
		if bytes.Contains(got.Bytes(), []byte(" "+strconv.Itoa(at)+" ")) {
			t.Errorf("format error at %d: the item was written", at)
		}
	}
	for _, after := range []int{0, 1, 5} {
		w := &failingWriter{after: after}
		if err := writeFormatted(w, 20*summaryChunk, item); !errors.Is(err, errWriteFailed) {
			t.Errorf("write error after %d writes: got %v", after, err)
		}
		if w.writes != after+1 {
			t.Errorf("write error after %d writes: %d writes", after, w.writes)
		}
	}
}

var errWriteFailed = errors.New("write failed")

type failingWriter struct{ after, writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, errWriteFailed
	}
	return len(p), nil
}

// TestReportManyConnections: a report of more connections than one chunk
// is written, in text and in JSON, as one goroutine writing each summary
// in turn would write it.
func TestReportManyConnections(t *testing.T) {
	r := &Report{Packets: 9, Messages: 7}
	for i := 1; i <= 5*summaryChunk+17; i++ {
		r.Connections.Append(&ConnReport{ID: i, Client: "10.0.0.1:" + strconv.Itoa(1000+i), Server: "10.0.0.2:647", Relationship: "fo-" + strconv.Itoa(i%7)})
	}
	var got bytes.Buffer
	if err := r.WriteText(&got); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, c := range r.Connections.All() {
		want = appendConnText(want, c)
	}
	if !bytes.HasPrefix(got.Bytes(), want) || bytes.Count(got.Bytes(), []byte("== connection #")) != r.Connections.Len() {
		t.Errorf("text summaries differ from those written one by one")
	}
	got.Reset()
	js := NewJSONStream(&got, false)
	if err := js.Close(r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Connections []ConnReport `json:"connections"`
	}
	if err := json.Unmarshal(got.Bytes(), &doc); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, got.Bytes(), "", "  "); err != nil || indented.String() != got.String() {
		t.Errorf("JSON is not indented as encoding/json indents it")
	}
	if len(doc.Connections) != r.Connections.Len() {
		t.Fatalf("JSON: %d connections, want %d", len(doc.Connections), r.Connections.Len())
	}
	for i, c := range doc.Connections {
		if c.ID != i+1 || c.Relationship != r.Connections.At(i).Relationship {
			t.Fatalf("JSON connection %d: %+v", i, c)
		}
	}
}
