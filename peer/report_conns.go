package peer

import (
	"bytes"
	"encoding/json"
	"iter"
)

// ConnReports are the connections of a Report, in ID order. They stay in
// the chunks of a thousand the analysis filled them into: joining them
// into one slice at the end was a single allocation of some 500 bytes per
// connection (14 MB for a capture of 27,000), made as the collector
// starts a cycle because of it, so the copy ran with write barriers on and
// its pages were faulted in twice; that took 80 to 130 ms of a 0.5 s
// analysis (docs/peer.md, "Speed"), and held the summaries twice while it
// lasted. Like a slice, a copy of a ConnReports shares the connections of
// the original: a change through one is seen through the other, and Append
// to one of two copies may overwrite what the other appends. Its zero value
// is empty and ready to use.
type ConnReports struct {
	// chunks: each of capacity connChunk, each full but the last; a
	// chunk's length is not used (copies may have appended to it).
	chunks [][]ConnReport
	n      int
}

// connChunk is the number of connections in a chunk.
const connChunk = 1024

// MakeConnReports returns the reports rs, in the order given.
func MakeConnReports(rs ...ConnReport) ConnReports {
	var c ConnReports
	for i := range rs {
		c.Append(&rs[i])
	}
	return c
}

// Len returns the number of connections.
func (c *ConnReports) Len() int { return c.n }

// At returns the i-th connection, 0 <= i < Len, in place: changes to it
// are changes to the report.
func (c *ConnReports) At(i int) *ConnReport {
	if i < 0 || i >= c.n {
		panic("peer: ConnReports index out of range")
	}
	return &c.chunks[i/connChunk][:connChunk][i%connChunk]
}

// All returns the connections in order, with their indexes.
func (c *ConnReports) All() iter.Seq2[int, *ConnReport] {
	return func(yield func(int, *ConnReport) bool) {
		for i := range c.n {
			if !yield(i, &c.chunks[i/connChunk][:connChunk][i%connChunk]) {
				return
			}
		}
	}
}

// Append adds a copy of r after the others.
func (c *ConnReports) Append(r *ConnReport) {
	ci := c.n / connChunk
	if ci == len(c.chunks) {
		c.chunks = append(c.chunks[:ci], make([]ConnReport, connChunk))
	}
	c.chunks[ci][:connChunk][c.n%connChunk] = *r
	c.n++
}

// adopt appends a chunk that analysis filled from its start with n
// connections, whole: only the last chunk may hold fewer than connChunk.
func (c *ConnReports) adopt(ch []ConnReport, n int) {
	c.chunks = append(c.chunks, ch[:n:connChunk])
	c.n += n
}

// MarshalJSON writes the connections as one JSON array, what
// encoding/json writes for a slice of them (but [] for none, never null).
// HTML characters are left as they are: encoding/json escapes a
// Marshaler's output itself when its encoder is asked to.
func (c ConnReports) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('[')
	for i, r := range c.All() {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(r); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads a JSON array of connections (null for none).
func (c *ConnReports) UnmarshalJSON(b []byte) error {
	var rs []ConnReport
	if err := json.Unmarshal(b, &rs); err != nil {
		return err
	}
	*c = MakeConnReports(rs...)
	return nil
}
