package journal

// Reader reads the entries of one file in order, from where it left off:
// Next after the end returns false, and true again once journald has
// written more (after Refresh).
type Reader struct {
	f           *File
	c           cursor
	want        func(name []byte) bool
	e           Entry
	err         error
	Unsupported int // fields left out: compressed with XZ or LZ4, or too large
}

// NewReader reads the entries of f, keeping the fields want accepts (all
// if want is nil).
func NewReader(f *File, want func(name []byte) bool) *Reader {
	return &Reader{f: f, want: want}
}

// Next returns the next entry, valid until the following call; false at
// the end of the file or on an error (Err), which sticks.
func (r *Reader) Next() (*Entry, bool) {
	if r.err != nil {
		return nil, false
	}
	off, ok, err := r.f.next(&r.c)
	if err == nil && ok {
		err = r.f.entry(off, r.want, &r.e, &r.Unsupported)
	}
	if err != nil {
		r.err = err
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return &r.e, true
}

// Err is the error that stopped the reader, if any.
func (r *Reader) Err() error { return r.err }

// Seen is how many entries Next has returned.
func (r *Reader) Seen() uint64 { return r.c.seen }

// Refresh reads the file's header again, for what journald wrote since.
func (r *Reader) Refresh() error {
	if r.err != nil {
		return r.err
	}
	if err := r.f.Refresh(); err != nil {
		r.err = err
	}
	return r.err
}

// Skip moves past the entries the header counts without reading them,
// and returns how many it passed.
func (r *Reader) Skip() (uint64, error) {
	start := r.c.seen
	if err := r.f.skipFull(&r.c); err != nil {
		r.err = err
		return r.c.seen - start, err
	}
	for r.err == nil {
		_, ok, err := r.f.next(&r.c)
		if err != nil {
			r.err = err
			break
		}
		if !ok {
			break
		}
	}
	return r.c.seen - start, r.err
}
