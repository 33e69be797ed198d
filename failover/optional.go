package failover

// Optional holds a value a source may or may not report. The zero value is
// "not reported", so a source only sets what its server actually says.
type Optional[T any] struct {
	value T
	ok    bool
}

// Some returns a reported value.
func Some[T any](v T) Optional[T] { return Optional[T]{value: v, ok: true} }

// Get returns the value and whether it was reported.
func (o Optional[T]) Get() (T, bool) { return o.value, o.ok }

// OK reports whether the value was reported.
func (o Optional[T]) OK() bool { return o.ok }
