package peer

import (
	"io"
	"testing"
	"time"
)

// checkLRU checks the eviction lists of t against its table: every
// connection in the list of its state (open, closed) and each list in
// increasing lastSeen, so that evict takes what a scan of the table for
// the least recently seen closed, else open, connection would take.
func checkLRU(tb testing.TB, t *Tracker) {
	tb.Helper()
	n := 0
	var want *Conn
	for _, c := range t.table {
		if want == nil || (c.Closed && !want.Closed) || (c.Closed == want.Closed && c.lastSeen < want.lastSeen) {
			want = c
		}
	}
	for _, l := range []*connList{&t.open, &t.closed} {
		var prev *Conn
		for c := l.head; c != nil; prev, c = c, c.lruNext {
			n++
			if c.lruList != l || c.lruPrev != prev || c.Closed != (l == &t.closed) || t.table[c.key] != c {
				tb.Fatalf("conn %d misplaced (closed %v)", c.ID, c.Closed)
			}
			if prev != nil && prev.lastSeen >= c.lastSeen {
				tb.Fatalf("conn %d (seen %d) after conn %d (seen %d)", c.ID, c.lastSeen, prev.ID, prev.lastSeen)
			}
		}
		if l.tail != prev {
			tb.Fatal("tail is not the last connection")
		}
	}
	if n != len(t.table) {
		tb.Fatalf("%d connections in the lists, %d in the table", n, len(t.table))
	}
	got := t.closed.head
	if got == nil {
		got = t.open.head
	}
	if got != want {
		tb.Fatalf("evict would take %v, the scan %v", got, want)
	}
}

// TestTrackerLRU replays many connections through a small table, with
// an idle expiry now and then, and checks the eviction order after every
// packet.
func TestTrackerLRU(t *testing.T) {
	path, _ := writeReplay(t, t.TempDir(), 4, 8)
	c, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tr := NewTracker(Options{MaxConns: 16})
	for i := 0; ; i++ {
		data, ts, link, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tr.Packet(link, ts, data)
		if i%1000 == 999 {
			tr.Expire(ts, 5*time.Second)
		}
		checkLRU(t, tr)
	}
	if tr.Stats().Evicted == 0 {
		t.Error("nothing evicted")
	}
}
