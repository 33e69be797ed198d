package isclog

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
var ErrStopped = errors.New("isclog: stopped before the end of the file")

// Restart says why a Follower reads a file from its start.
type Restart uint8

const (
	// RestartRotated: a new file took the path (logrotate's rename and
	// create, a syslog daemon reopening the path).
	RestartRotated Restart = iota + 1
	// RestartTruncated: the file got shorter (logrotate's copytruncate),
	// or the bytes before the read offset changed.
	RestartTruncated
)

func (r Restart) String() string {
	switch r {
	case RestartRotated:
		return "rotated"
	case RestartTruncated:
		return "truncated or rewritten in place"
	}
	return "unknown"
}

// Handler receives what a Follower reads, in file order.
type Handler interface {
	// Line is one complete line without its newline, at most MaxLine
	// bytes; the slice is valid only during the call.
	Line([]byte)
	// Restart says that the lines that follow come from the start of a
	// file.
	Restart(Restart)
}

// Follower follows a log file as it is appended to, across rotation
// (a new file renamed over the path), truncation and removal, in the
// manner of leases.Follower. The first file found when the follower
// starts is read from its end: only lines written after the start count.
// A file that appears later (after rotation, or the first one if the path
// did not exist at the start) is read from its start. Memory is bounded:
// a read buffer of ReadSize and one partial line of at most MaxLine bytes;
// a longer line is skipped up to its newline.
//
// A Follower is not safe for concurrent use.
type Follower struct {
	path    string
	f       *os.File
	fi      os.FileInfo
	off     int64
	tail    []byte
	buf     []byte
	partial []byte // a line without its newline yet
	// skipping: drop bytes up to the next newline (a line past MaxLine,
	// or the middle of a line where the first file was entered).
	skipping bool
	started  bool // Follow was called once
	// Long counts the lines skipped for being longer than MaxLine.
	Long int
}

// NewFollower follows path.
func NewFollower(path string) *Follower {
	return &Follower{path: path}
}

// Path is the followed path.
func (f *Follower) Path() string { return f.path }

// Offset is how many bytes of the current file were read.
func (f *Follower) Offset() int64 { return f.off }

// Close closes the open file, if any.
func (f *Follower) Close() error {
	if f.f == nil {
		return nil
	}
	err := f.f.Close()
	f.f = nil
	return err
}

// Follow reads the lines written since the last Follow, up to the end of
// the file the path names now or up to stop (if not zero), handing them
// to h. Its errors wrap the os error, ctx's error or ErrStopped.
func (f *Follower) Follow(ctx context.Context, stop time.Time, h Handler) error {
	first := !f.started
	f.started = true
	fi, err := os.Stat(f.path)
	if err != nil {
		if f.f != nil {
			// Gone: read what was written to it before, then wait for a
			// new file.
			f.drain(h)
		}
		return fmt.Errorf("isclog: %w", err)
	}
	switch {
	case f.f == nil || !os.SameFile(fi, f.fi):
		reopened := f.f != nil
		if reopened {
			// The old inode (the rotated file) may hold lines written
			// since the last Follow: read them first.
			f.drain(h)
		}
		file, err := os.Open(f.path)
		if err != nil {
			return fmt.Errorf("isclog: %w", err)
		}
		ofi, err := file.Stat()
		if err != nil {
			file.Close()
			return fmt.Errorf("isclog: %w", err)
		}
		f.f, f.fi = file, ofi
		f.off, f.tail, f.partial, f.skipping = 0, f.tail[:0], f.partial[:0], false
		if first {
			f.seekEnd()
		} else {
			h.Restart(RestartRotated)
		}
	case fi.Size() < f.off || !f.tailIntact():
		f.off, f.tail, f.partial, f.skipping = 0, f.tail[:0], f.partial[:0], false
		h.Restart(RestartTruncated)
	}
	return f.read(ctx, stop, h)
}

// seekEnd starts at the end of the file, skipping the rest of a line
// being written there.
func (f *Follower) seekEnd() {
	size := f.fi.Size()
	if size == 0 {
		return
	}
	var b [1]byte
	if n, _ := f.f.ReadAt(b[:], size-1); n == 1 && b[0] != '\n' {
		f.skipping = true
	}
	f.off = size
	if size >= tailSize {
		f.tail = append(f.tail[:0], make([]byte, tailSize)...)
		if n, _ := f.f.ReadAt(f.tail, size-tailSize); n != tailSize {
			f.tail = f.tail[:0]
		}
	}
}

// drain reads the open descriptor to its end, hands over a last line
// without its newline, and closes it.
func (f *Follower) drain(h Handler) {
	f.read(context.Background(), time.Time{}, h)
	if len(f.partial) > 0 && !f.skipping {
		h.Line(f.partial)
	}
	f.partial = f.partial[:0]
	f.Close()
}

// tailIntact checks that the bytes just before the read offset are still
// those read.
func (f *Follower) tailIntact() bool {
	if len(f.tail) == 0 {
		return true
	}
	var b [tailSize]byte
	n, err := f.f.ReadAt(b[:len(f.tail)], f.off-int64(len(f.tail)))
	return n == len(f.tail) && (err == nil || errors.Is(err, io.EOF)) && bytes.Equal(b[:n], f.tail)
}

func (f *Follower) read(ctx context.Context, stop time.Time, h Handler) error {
	if f.buf == nil {
		f.buf = make([]byte, ReadSize)
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("isclog: %w", err)
		}
		if !stop.IsZero() && time.Now().After(stop) {
			return ErrStopped
		}
		n, err := f.f.ReadAt(f.buf, f.off)
		if n > 0 {
			f.feed(f.buf[:n], h)
		}
		if err == io.EOF || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("isclog: %w", err)
		}
	}
}

// feed splits b into lines; a line cut by the end of b waits in partial.
func (f *Follower) feed(b []byte, h Handler) {
	f.off += int64(len(b))
	if len(b) >= tailSize {
		f.tail = append(f.tail[:0], b[len(b)-tailSize:]...)
	} else {
		f.tail = append(f.tail, b...)
		if len(f.tail) > tailSize {
			f.tail = f.tail[:copy(f.tail, f.tail[len(f.tail)-tailSize:])]
		}
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if !f.skipping {
				if len(f.partial)+len(b) > MaxLine {
					f.partial, f.skipping = f.partial[:0], true
					f.Long++
				} else {
					f.partial = append(f.partial, b...)
				}
			}
			return
		}
		line := b[:i]
		b = b[i+1:]
		switch {
		case f.skipping:
			f.skipping = false
		case len(f.partial) > 0:
			if len(f.partial)+len(line) > MaxLine {
				f.Long++
			} else {
				f.partial = append(f.partial, line...)
				h.Line(f.partial)
			}
			f.partial = f.partial[:0]
		case len(line) > MaxLine:
			f.Long++
		default:
			h.Line(line)
		}
	}
}
