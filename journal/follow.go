package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrStopped: Follow stopped at its deadline with entries left to read;
// the next call goes on from there.
var ErrStopped = errors.New("journal: stopped before the end of the journal")

// Follower hands on the messages a program logs to the system journal as
// journald writes them: a poll reads what the active file (system.journal)
// gained since the last one. journald rotates that file by renaming it
// (system@….journal) and starting a new one: the follower reads the rest
// of the renamed file through the descriptor it holds, then the new file
// from its start, so that no entry is lost or read twice.
type Follower struct {
	dir   string
	ident string

	file   *os.File
	r      *Reader
	fileID [16]byte
	seen   uint64 // entries of fileID already passed
	known  bool   // fileID and seen are set
	// Unsupported counts fields left out (compressed with XZ or LZ4, or
	// larger than the reader takes).
	Unsupported int
}

// NewFollower follows the entries whose SYSLOG_IDENTIFIER or _COMM is
// ident in the journal directory dir: /var/log/journal (persistent) or
// /run/log/journal (volatile), or the machine's directory inside.
func NewFollower(dir, ident string) *Follower {
	return &Follower{dir: dir, ident: ident}
}

// Dir is the directory given to NewFollower.
func (f *Follower) Dir() string { return f.dir }

// Close releases the open file.
func (f *Follower) Close() error {
	if f.file == nil {
		return nil
	}
	err := f.file.Close()
	f.file, f.r = nil, nil
	return err
}

// Active finds the active system journal file in dir: dir/system.journal,
// else in the directory of this machine's ID (/etc/machine-id), else in
// the one subdirectory that has one.
func Active(dir string) (string, error) {
	p := filepath.Join(dir, "system.journal")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		p := filepath.Join(dir, strings.TrimSpace(string(id)), "system.journal")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	found, _ := filepath.Glob(filepath.Join(dir, "*", "system.journal"))
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("journal: no system.journal in %s or its machine directories: %w", dir, fs.ErrNotExist)
	}
	return "", fmt.Errorf("journal: %d machine directories with a system.journal in %s: give the one of this host", len(found), dir)
}

// Follow reads the entries written since the last call (on the first,
// it only moves to the end: what was logged before the follower started
// is not handed on) and calls message with the MESSAGE of each that
// matches, in order. It stops at stop (if not zero) with ErrStopped, or
// when ctx ends.
func (f *Follower) Follow(ctx context.Context, stop time.Time, message func([]byte)) error {
	p, err := Active(f.dir)
	if err != nil {
		return err
	}
	if f.file != nil {
		st, err1 := os.Stat(p)
		held, err2 := f.file.Stat()
		if err1 != nil || err2 != nil || !os.SameFile(st, held) {
			// Rotated (or deleted): the rest of the old file first.
			if err := f.read(ctx, stop, message); err != nil {
				return err
			}
			f.Close()
		}
	}
	first := !f.known
	if f.file == nil {
		if err := f.open(p); err != nil {
			return err
		}
		if first {
			// Start at the end.
			if _, err := f.r.Skip(); err != nil {
				f.Close()
				return err
			}
			f.seen = f.r.Seen()
			return nil
		}
	}
	return f.read(ctx, stop, message)
}

// open opens path: a file already partly read (the same file ID, after
// an error) is skipped to where the follower was; another file (after a
// rotation) is read from its start.
func (f *Follower) open(path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	jf, err := Open(fh)
	if err != nil {
		fh.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	f.file = fh
	f.r = NewReader(jf, wanted)
	id := jf.Header().FileID
	if f.known && id == f.fileID {
		for f.r.Seen() < f.seen {
			if _, ok, err := jf.next(&f.r.c); err != nil || !ok {
				break
			}
		}
		return nil
	}
	f.known = true
	f.fileID, f.seen = id, 0
	return nil
}

// wanted: the fields the follower reads.
func wanted(name []byte) bool {
	switch string(name) {
	case "MESSAGE", "SYSLOG_IDENTIFIER", "_COMM":
		return true
	}
	return false
}

// read hands on the entries of the open file past the follower's place.
func (f *Follower) read(ctx context.Context, stop time.Time, message func([]byte)) error {
	if err := f.r.Refresh(); err != nil {
		f.Close()
		return err
	}
	id := []byte(f.ident)
	for n := 0; ; n++ {
		if n&255 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !stop.IsZero() && time.Now().After(stop) {
				return ErrStopped
			}
		}
		e, ok := f.r.Next()
		if !ok {
			break
		}
		f.seen = f.r.Seen()
		s, ok1 := e.Field("SYSLOG_IDENTIFIER")
		c, ok2 := e.Field("_COMM")
		if (ok1 && bytes.Equal(s, id)) || (ok2 && bytes.Equal(c, id)) {
			if m, ok := e.Field("MESSAGE"); ok {
				message(m)
			}
		}
	}
	f.Unsupported = f.r.Unsupported
	if err := f.r.Err(); err != nil {
		// Reopened at the next call, and skipped to f.seen.
		f.Close()
		return err
	}
	return nil
}
