package peer

import "io"

// The connection summaries are written after the whole capture has been
// read, when the decoding goroutine has finished and a second core is
// idle: formatting 27,000 summaries alone took a tenth of analyze's time
// on the replay of docs/peer.md. writeFormatted formats them on two
// goroutines, chunk by chunk, and writes the chunks in order.

// summaryChunk is how many items one chunk holds: a few tens of
// kilobytes of output.
const summaryChunk = 256

// writeFormatted writes items 0 to n-1 to w in order, each appended by
// format (which must be safe to call from two goroutines at once for
// different items). Odd chunks are formatted by a second goroutine while
// the caller formats and writes the even ones. It returns the first
// error of format or of w; nothing more is written after it.
func writeFormatted(w io.Writer, n int, format func(b []byte, i int) ([]byte, error)) error {
	chunks := (n + summaryChunk - 1) / summaryChunk
	formatChunk := func(b []byte, c int) ([]byte, error) {
		end := min((c+1)*summaryChunk, n)
		for i := c * summaryChunk; i < end; i++ {
			var err error
			if b, err = format(b, i); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	type formatted struct {
		b   []byte
		err error
	}
	odd := make(chan formatted, 1)
	free := make(chan []byte, 1)
	stop := make(chan struct{})
	done := make(chan struct{})
	// On return the second goroutine is told to stop and waited for:
	// format is never called once writeFormatted has returned.
	defer func() { close(stop); <-done }()
	if chunks <= 1 {
		close(done)
	} else {
		go func() {
			defer close(done)
			for c := 1; c < chunks; c += 2 {
				select {
				case <-stop:
					return
				default:
				}
				var b []byte
				select {
				case b = <-free:
				default:
				}
				b, err := formatChunk(b[:0], c)
				select {
				case odd <- formatted{b, err}:
				case <-stop:
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	var even []byte
	for c := 0; c < chunks; c += 2 {
		var err error
		if even, err = formatChunk(even[:0], c); err != nil {
			return err
		}
		if _, err := w.Write(even); err != nil {
			return err
		}
		if c+1 < chunks {
			f := <-odd
			if f.err != nil {
				return f.err
			}
			if _, err := w.Write(f.b); err != nil {
				return err
			}
			select { // for the goroutine's next chunk, if it has none yet
			case free <- f.b:
			default:
			}
		}
	}
	return nil
}
