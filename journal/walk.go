package journal

import (
	"encoding/binary"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// cursor is a place in a file's chain of entry arrays ("Entry Array
// Objects": the header's entry_array_offset is the first; each holds the
// next one's offset; items are the entries' offsets in the order they were
// written, 4 bytes each in a compact file, else 8).
type cursor struct {
	array    uint64 // the array being read; 0 before the first
	capacity uint64 // its items; 0 until its header was read
	index    uint64 // its next item
	seen     uint64 // entries read so far
}

// next returns the offset of the next entry after c, ok false at the end
// of what the header says the file holds (or at an item journald has not
// written yet: the next call tries it again).
func (f *File) next(c *cursor) (off uint64, ok bool, err error) {
	item := uint64(8)
	if f.h.Compact {
		item = 4
	}
	le := binary.LittleEndian
	var b [8]byte
	// Each turn either returns or moves to an array further into the
	// file (arrays are appended, their offsets grow): bounded by its size.
	for {
		if c.seen >= f.h.NEntries {
			return 0, false, nil
		}
		if c.array == 0 {
			if f.h.entryArrayOffset == 0 {
				return 0, false, nil
			}
			c.array, c.capacity, c.index = f.h.entryArrayOffset, 0, 0
		}
		if c.capacity == 0 {
			if c.array%8 != 0 || c.array < f.h.headerSize || c.array+24 > f.h.end() {
				return 0, false, fmt.Errorf("%w: entry array offset %d", ErrCorrupt, c.array)
			}
			var hd [16]byte
			if _, err := f.r.ReadAt(hd[:], int64(c.array)); err != nil {
				return 0, false, fmt.Errorf("%w: entry array at %d: %w", ErrCorrupt, c.array, err)
			}
			size := le.Uint64(hd[8:])
			if hd[0] != objectEntryArray || size < 24+item || c.array+size > f.h.end() {
				return 0, false, fmt.Errorf("%w: entry array at %d: type %d size %d", ErrCorrupt, c.array, hd[0], size)
			}
			c.capacity = (size - 24) / item
		}
		if c.index < c.capacity {
			p := b[:item]
			if _, err := f.r.ReadAt(p, int64(c.array+24+c.index*item)); err != nil {
				return 0, false, fmt.Errorf("%w: entry array at %d: %w", ErrCorrupt, c.array, err)
			}
			if item == 4 {
				off = uint64(le.Uint32(p))
			} else {
				off = le.Uint64(p)
			}
			if off == 0 {
				return 0, false, nil
			}
			c.index++
			c.seen++
			return off, true, nil
		}
		nextArray, err := f.nextArray(c.array)
		if err != nil || nextArray == 0 {
			return 0, false, err
		}
		c.array, c.capacity, c.index = nextArray, 0, 0
	}
}

// nextArray reads the offset of the array after the one at array, 0 if
// none yet; it must lie further into the file, so that a walk ends.
func (f *File) nextArray(array uint64) (uint64, error) {
	var b [8]byte
	if _, err := f.r.ReadAt(b[:], int64(array+16)); err != nil {
		return 0, fmt.Errorf("%w: entry array at %d: %w", ErrCorrupt, array, err)
	}
	next := binary.LittleEndian.Uint64(b[:])
	if next != 0 && next <= array {
		return 0, fmt.Errorf("%w: entry array at %d links back to %d", ErrCorrupt, array, next)
	}
	return next, nil
}

// decompressor holds the zstd decoder, made on first use.
type decompressor struct {
	z   *zstd.Decoder
	out []byte
}

// zstd decompresses one zstd frame of at most limit bytes ("Data
// Objects": the payload of an object flagged COMPRESSED_ZSTD is one
// frame).
func (d *decompressor) zstd(src []byte, limit int) ([]byte, error) {
	if d.z == nil {
		z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderMaxWindow(uint64(max(limit, zstd.MinWindowSize))))
		if err != nil {
			return nil, err
		}
		d.z = z
	}
	out, err := d.z.DecodeAll(src, d.out[:0])
	if err != nil {
		return nil, fmt.Errorf("%w: zstd data: %w", ErrCorrupt, err)
	}
	if len(out) > limit {
		return nil, fmt.Errorf("%w: field of more than %d bytes", ErrUnsupported, limit)
	}
	d.out = out
	return out, nil
}

// skipFull moves c past the arrays that have a next one: journald links a
// new array only once the previous is full, so every item of such an
// array is an entry, and the start at the end of a large file reads two
// words per array rather than one per entry.
func (f *File) skipFull(c *cursor) error {
	for c.seen < f.h.NEntries {
		if c.array == 0 || c.capacity == 0 {
			// next reads the first array's header (and one entry).
			if _, ok, err := f.next(c); err != nil || !ok {
				return err
			}
			continue
		}
		nextArray, err := f.nextArray(c.array)
		left := c.capacity - c.index
		if err != nil || nextArray == 0 || c.seen+left > f.h.NEntries {
			return err
		}
		c.seen += left
		c.array, c.capacity, c.index = nextArray, 0, 0
	}
	return nil
}
