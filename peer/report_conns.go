package peer

import (
	"encoding/json"
	"iter"
)

// ConnReports are the connections of a Report, in ID order. They stay in
// the chunks of a thousand the analysis filled them into: joining them
// into one slice at the end was a single allocation of about a kilobyte
// per connection (27 MB for a capture of 27,000), made as the collector
// starts a cycle because of it, so the copy ran with write barriers on and
// its pages were faulted in twice; that took 80 to 130 ms of a 0.6 s
// analysis (docs/peer.md, "Speed"), and doubled the report's memory while
// it lasted. Its zero value is empty and ready to use.
type ConnReports struct {
	chunks [][]ConnReport // each full (connChunk) but the last
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
	return &c.chunks[i/connChunk][i%connChunk]
}

// All returns the connections in order, with their indexes.
func (c *ConnReports) All() iter.Seq2[int, *ConnReport] {
	return func(yield func(int, *ConnReport) bool) {
		i := 0
		for _, ch := range c.chunks {
			for j := range ch {
				if !yield(i, &ch[j]) {
					return
				}
				i++
			}
		}
	}
}

// Append adds a copy of r after the others.
func (c *ConnReports) Append(r *ConnReport) {
	if k := len(c.chunks); k == 0 || len(c.chunks[k-1]) == connChunk {
		c.chunks = append(c.chunks, make([]ConnReport, 0, connChunk))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, *r)
	c.n++
}

// adopt appends a chunk that analysis filled, whole: only the last chunk
// may be shorter than connChunk.
func (c *ConnReports) adopt(ch []ConnReport) {
	c.chunks = append(c.chunks, ch)
	c.n += len(ch)
}

// MarshalJSON writes the connections as one JSON array.
func (c ConnReports) MarshalJSON() ([]byte, error) {
	b := []byte{'['}
	for i, r := range c.All() {
		if i > 0 {
			b = append(b, ',')
		}
		j, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		b = append(b, j...)
	}
	return append(b, ']'), nil
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
