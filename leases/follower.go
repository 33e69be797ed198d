package leases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Bounds of a Follower.
const (
	// ReadSize is the bytes read per system call.
	ReadSize = 64 << 10
	// tailSize is the bytes before the read offset checked again on every
	// Follow, to notice a file rewritten in place.
	tailSize = 32
)

// ErrStopped says Follow's stop time came before the end of the file; the
// next Follow goes on from there.
var ErrStopped = errors.New("leases: stopped before the end of the file")

// Restart says why a Follower reads a file from its start again.
type Restart uint8

const (
	// RestartReplaced: a new file took the path (dhcpd's rewrite, db.c
	// new_lease_file: it finishes the old file, links it to .leases~ and
	// renames a new one over the path).
	RestartReplaced Restart = iota + 1
	// RestartTruncated: the file got shorter, or the bytes before the read
	// offset changed (rewritten in place): nothing dhcpd does, but an
	// operator or a tool may.
	RestartTruncated
)

func (r Restart) String() string {
	switch r {
	case RestartReplaced:
		return "replaced"
	case RestartTruncated:
		return "truncated or rewritten in place"
	}
	return "unknown"
}

// Handler receives what a Follower reads, in file order.
type Handler interface {
	// Restart says that the records that follow come from the start of
	// a file again (not called for the first file opened).
	Restart(Restart)
	// Record is one failover state record.
	Record(Record)
	// Damaged reports damaged statements that were skipped.
	Damaged(error)
	// End says the end of the file was reached.
	End()
}

// Follower follows one leases file as dhcpd appends to it, across dhcpd's
// rewrites (a new file renamed over the path), truncation and removal:
// each Follow reads what was written since the last and hands the records
// to a Handler. It also keeps the newest binding state of every address
// (a Table over the pools it was given) and the counts per pool.
//
// A Follower is not safe for concurrent use.
type Follower struct {
	path   string
	pools  []Pool
	f      *os.File
	fi     os.FileInfo // of f
	off    int64       // bytes of f read and fed to parser
	tail   []byte      // the bytes of f just before off
	parser Parser
	buf    []byte
	recs   []Record
	opened bool // a first file was opened
	// done is the table of the last file read to its end; building the
	// one being read (the same table once done).
	done, building *Table
}

// NewFollower follows path, counting addresses over pools (which may be
// empty: every address is then outside every pool).
func NewFollower(path string, pools []Pool) (*Follower, error) {
	t, err := NewTable(pools)
	if err != nil {
		return nil, err
	}
	f := &Follower{path: path, pools: pools, building: t}
	f.parser.Bindings = t
	return f, nil
}

// Path is the followed path.
func (f *Follower) Path() string { return f.path }

// Offset is how many bytes of the current file were read.
func (f *Follower) Offset() int64 { return f.off }

// Pools returns the counts per pool as of the last file read to its end
// and what was appended to it since; ok is false before a first file was
// read to its end.
func (f *Follower) Pools() (counts []PoolCounts, dropped int, ok bool) {
	if f.done == nil {
		return nil, 0, false
	}
	return f.done.Counts(), f.done.Dropped(), true
}

// Close closes the open file, if any.
func (f *Follower) Close() error {
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}

// Follow brings the follower up to the end of the file the path names
// now, or up to stop (if not zero), handing what it reads to h. Its errors
// wrap the os error, ctx's error or ErrStopped.
func (f *Follower) Follow(ctx context.Context, stop time.Time, h Handler) error {
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.f != nil {
			// Gone (or unreadable): what dhcpd wrote to it before is
			// still history; read it, then wait for a new file.
			f.read(context.Background(), time.Time{}, h)
			f.Close()
		}
		return fmt.Errorf("leases: %w", err)
	}
	switch {
	case f.f == nil || !os.SameFile(fi, f.fi):
		if f.f != nil {
			// The open descriptor still reads the old inode: read its
			// last records so that none is lost.
			f.read(context.Background(), time.Time{}, h)
			f.Close()
		}
		file, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("leases: %w", err)
		}
		ofi, err := file.Stat()
		if err != nil {
			file.Close()
			return fmt.Errorf("leases: %w", err)
		}
		f.f, f.fi = file, ofi
		if f.opened {
			f.restart(RestartReplaced, h)
		}
		f.opened = true
	case fi.Size() < f.off || !f.tailIntact():
		f.restart(RestartTruncated, h)
	}
	return f.read(ctx, stop, h)
}

// restart reads the current descriptor from its start.
func (f *Follower) restart(why Restart, h Handler) {
	f.off, f.tail = 0, f.tail[:0]
	f.parser = Parser{}
	if f.done != nil {
		// Keep serving the last complete counts while the new file is read.
		f.building, _ = NewTable(f.pools) // the pools were checked by NewFollower
	} else {
		f.building.Reset()
	}
	f.parser.Bindings = f.building
	h.Restart(why)
}

// tailIntact checks that the bytes just before the read offset are still
// those read: a file rewritten in place to at least its old size would
// otherwise be read from the middle of a statement.
func (f *Follower) tailIntact() bool {
	if len(f.tail) == 0 {
		return true
	}
	var b [tailSize]byte
	n, err := f.f.ReadAt(b[:len(f.tail)], f.off-int64(len(f.tail)))
	return n == len(f.tail) && (err == nil || errors.Is(err, io.EOF)) && bytes.Equal(b[:n], f.tail)
}

// read feeds the file from f.off to its end, or until stop.
func (f *Follower) read(ctx context.Context, stop time.Time, h Handler) error {
	if f.buf == nil {
		f.buf = make([]byte, ReadSize)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("leases: %w", err)
		}
		if !stop.IsZero() && time.Now().After(stop) {
			return ErrStopped
		}
		n, err := f.f.ReadAt(f.buf, f.off)
		if n > 0 {
			f.feed(f.buf[:n], h)
		}
		if err == io.EOF || n == 0 && err == nil {
			f.done = f.building
			h.End()
			return nil
		}
		if err != nil {
			return fmt.Errorf("leases: %w", err)
		}
	}
}

func (f *Follower) feed(b []byte, h Handler) {
	var err error
	f.recs, err = f.parser.Feed(f.recs[:0], b)
	if err != nil {
		h.Damaged(err)
	}
	f.off += int64(len(b))
	if len(b) >= tailSize {
		f.tail = append(f.tail[:0], b[len(b)-tailSize:]...)
	} else {
		f.tail = append(f.tail, b...)
		if len(f.tail) > tailSize {
			f.tail = f.tail[:copy(f.tail, f.tail[len(f.tail)-tailSize:])]
		}
	}
	for i := range f.recs {
		h.Record(f.recs[i])
	}
}
