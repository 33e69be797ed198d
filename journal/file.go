// Package journal reads systemd journal files, read-only and in pure Go:
// the entries of a journald file in order, with their fields, for the
// exporter's count of the clients dhcpd refused where dhcpd logs to the
// journal (docs/isc-log.md, "The systemd journal").
//
// The format is systemd's "Journal File Format" (docs/JOURNAL_FILE_FORMAT.md
// in the systemd source, https://systemd.io/JOURNAL_FILE_FORMAT/); section
// names below are that document's. Every offset and size read from a file
// is checked before it is used, and the walk of a file is bounded by its
// size, so no input makes the reader loop, allocate without bound or panic.
package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Errors of the reader.
var (
	ErrNotJournal  = errors.New("journal: not a journal file")
	ErrUnsupported = errors.New("journal: unsupported journal file")
	ErrCorrupt     = errors.New("journal: corrupt journal file")
)

// Header incompatible flags ("Header").
const (
	flagCompressedXZ   = 1 << 0
	flagCompressedLZ4  = 1 << 1
	flagKeyedHash      = 1 << 2
	flagCompressedZSTD = 1 << 3
	flagCompact        = 1 << 4
	knownIncompatible  = flagCompressedXZ | flagCompressedLZ4 | flagKeyedHash | flagCompressedZSTD | flagCompact
)

// Object types and object flags ("Objects").
const (
	objectData       = 1
	objectEntry      = 3
	objectEntryArray = 6

	objectCompressedXZ   = 1 << 0
	objectCompressedLZ4  = 1 << 1
	objectCompressedZSTD = 1 << 2
)

// Bounds. journald's own limits are far below them: an entry has a few
// dozen fields, a field at most a few tens of kilobytes (LineMax=48K).
const (
	maxObject      = 64 << 20 // any object read whole
	maxEntryFields = 1 << 16  // items of one entry
	maxField       = 1 << 20  // a data object's payload, decompressed
)

// Header is the part of a journal file's header the reader uses.
type Header struct {
	FileID           [16]byte
	Compact          bool
	NEntries         uint64
	headerSize       uint64
	arenaSize        uint64
	entryArrayOffset uint64
}

// headerMin is the header up to tail_entry_monotonic, what every file
// since systemd 187 has.
const headerMin = 208

// ReadHeader reads and checks the header of a journal file.
func ReadHeader(r io.ReaderAt) (Header, error) {
	var b [headerMin]byte
	if n, err := r.ReadAt(b[:], 0); n < len(b) {
		if err == nil || err == io.EOF {
			return Header{}, fmt.Errorf("%w: %d bytes of header", ErrNotJournal, n)
		}
		return Header{}, err
	}
	if !bytes.Equal(b[:8], []byte("LPKSHHRH")) {
		return Header{}, fmt.Errorf("%w: signature %q", ErrNotJournal, b[:8])
	}
	le := binary.LittleEndian
	incompatible := le.Uint32(b[12:])
	h := Header{
		headerSize:       le.Uint64(b[88:]),
		arenaSize:        le.Uint64(b[96:]),
		NEntries:         le.Uint64(b[152:]),
		entryArrayOffset: le.Uint64(b[176:]),
	}
	copy(h.FileID[:], b[24:40])
	if u := incompatible &^ knownIncompatible; u != 0 {
		return Header{}, fmt.Errorf("%w: incompatible flags %#x", ErrUnsupported, u)
	}
	h.Compact = incompatible&flagCompact != 0
	if h.headerSize < headerMin || h.headerSize > 1<<20 || h.arenaSize > 1<<50 {
		return Header{}, fmt.Errorf("%w: header size %d, arena %d", ErrCorrupt, h.headerSize, h.arenaSize)
	}
	return h, nil
}

// end is the first offset past the arena: no object lies beyond it.
func (h *Header) end() uint64 { return h.headerSize + h.arenaSize }

// File reads the objects of one journal file.
type File struct {
	r   io.ReaderAt
	h   Header
	buf []byte // the last object read
	dec decompressor
}

// Open reads the header of r.
func Open(r io.ReaderAt) (*File, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	return &File{r: r, h: h}, nil
}

// Header returns the header as read by Open or the last Refresh.
func (f *File) Header() Header { return f.h }

// Refresh reads the header again: journald updates it after each entry
// of a file it writes.
func (f *File) Refresh() error {
	h, err := ReadHeader(f.r)
	if err != nil {
		return err
	}
	if h.FileID != f.h.FileID {
		return fmt.Errorf("%w: file ID changed under the reader", ErrCorrupt)
	}
	f.h = h
	return nil
}

// object reads the object at off, of type typ, whole into f.buf
// ("Objects": every object starts with type, flags and size, 8-aligned).
// min is the least size of that type.
func (f *File) object(off uint64, typ uint8, min uint64) ([]byte, error) {
	if off%8 != 0 || off < f.h.headerSize || off+16 > f.h.end() {
		return nil, fmt.Errorf("%w: object offset %d", ErrCorrupt, off)
	}
	var hd [16]byte
	if _, err := f.r.ReadAt(hd[:], int64(off)); err != nil {
		return nil, fmt.Errorf("%w: object at %d: %w", ErrCorrupt, off, err)
	}
	size := binary.LittleEndian.Uint64(hd[8:])
	if hd[0] != typ || size < min || size > maxObject || off+size > f.h.end() {
		return nil, fmt.Errorf("%w: object at %d: type %d size %d, want type %d", ErrCorrupt, off, hd[0], size, typ)
	}
	if uint64(cap(f.buf)) < size {
		f.buf = make([]byte, size)
	}
	b := f.buf[:size]
	if _, err := f.r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("%w: object at %d: %w", ErrCorrupt, off, err)
	}
	return b, nil
}

// Entry is one journal entry: its sequence number, its time and its
// fields, each "NAME=value" (valid until the next read of its File).
type Entry struct {
	Seqnum   uint64
	Realtime uint64 // µs since the epoch
	Fields   [][]byte
}

// Field returns the value of the first field called name.
func (e *Entry) Field(name string) ([]byte, bool) {
	for _, f := range e.Fields {
		if len(f) > len(name) && f[len(name)] == '=' && string(f[:len(name)]) == name {
			return f[len(name)+1:], true
		}
	}
	return nil, false
}

// entry reads the entry object at off with the fields for which want
// returns true, given each field's name ("Entry Objects": items are data
// object offsets, 4 bytes each in a compact file, else 8 plus a hash).
// A field whose data is compressed in a way this reader cannot read is
// left out, and unsupported counts it.
func (f *File) entry(off uint64, want func(name []byte) bool, e *Entry, unsupported *int) error {
	b, err := f.object(off, objectEntry, 64)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	e.Seqnum, e.Realtime = le.Uint64(b[16:]), le.Uint64(b[24:])
	item := 16
	if f.h.Compact {
		item = 4
	}
	n := (len(b) - 64) / item
	if n > maxEntryFields {
		return fmt.Errorf("%w: entry at %d with %d fields", ErrCorrupt, off, n)
	}
	// The items are copied out: reading a data object reuses f.buf.
	offs := make([]uint64, n)
	for i := range offs {
		p := b[64+i*item:]
		if f.h.Compact {
			offs[i] = uint64(le.Uint32(p))
		} else {
			offs[i] = le.Uint64(p)
		}
	}
	e.Fields = e.Fields[:0]
	for _, d := range offs {
		v, err := f.data(d, want)
		switch {
		case errors.Is(err, ErrUnsupported):
			*unsupported++
			continue
		case err != nil:
			return err
		case v != nil:
			e.Fields = append(e.Fields, v)
		}
	}
	return nil
}

// data reads the payload of the data object at off ("Data Objects"), nil
// if want rejects its name. The payload is a copy.
func (f *File) data(off uint64, want func(name []byte) bool) ([]byte, error) {
	head := uint64(64)
	if f.h.Compact {
		head = 72
	}
	b, err := f.object(off, objectData, head)
	if err != nil {
		return nil, err
	}
	p := b[head:]
	switch flags := b[1]; {
	case flags == 0:
	case flags == objectCompressedZSTD:
		if p, err = f.dec.zstd(p, maxField); err != nil {
			return nil, err
		}
	case flags == objectCompressedXZ, flags == objectCompressedLZ4:
		return nil, fmt.Errorf("%w: data compressed with flags %#x (XZ or LZ4)", ErrUnsupported, flags)
	default:
		return nil, fmt.Errorf("%w: data object flags %#x", ErrCorrupt, flags)
	}
	eq := bytes.IndexByte(p, '=')
	if eq <= 0 {
		return nil, fmt.Errorf("%w: data object at %d without a field name", ErrCorrupt, off)
	}
	if want != nil && !want(p[:eq]) {
		return nil, nil
	}
	if len(p) > maxField {
		return nil, fmt.Errorf("%w: field of %d bytes", ErrUnsupported, len(p))
	}
	return bytes.Clone(p), nil
}
