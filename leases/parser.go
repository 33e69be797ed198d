// Package leases reads the failover state records of an ISC dhcpd leases
// file (dhcpd.leases(5)) incrementally, as the file is appended to.
package leases

import (
	"errors"
	"fmt"
)

// Bounds. A failover record is about 150 bytes and a lease block rarely
// more than a few KiB; anything past these is damage, reported as an error
// for that statement, never buffered.
const (
	// MaxRecordSize bounds a failover statement, from `failover` to its
	// closing brace; it is the only statement the parser buffers.
	MaxRecordSize = 16 << 10
	// MaxLeaseSize bounds a lease statement read for its binding state
	// (when the Parser has a Table); dhcpd writes a few hundred bytes.
	MaxLeaseSize = 64 << 10
	// maxLeaseParts bounds the sub-statements of a lease looked at.
	maxLeaseParts = 256
	// MaxStatementSize bounds any other top-level statement (lease,
	// host, class...), which is skipped without being buffered.
	MaxStatementSize = 1 << 20
	// maxErrors is how many statement errors one Feed reports in detail.
	maxErrors = 8
)

type scanState uint8

const (
	stBetween scanState = iota // at depth 0, before a statement
	stWord                     // reading the first word of a statement
	stSkip                     // inside a statement that is not a failover record
	stCapture                  // inside a failover statement, buffering it
	stLease                    // inside a lease statement, buffering it for its binding state
	stResync                   // after a damaged statement: wait for a line starting with a letter
)

// Parser splits the bytes of a leases file into top-level statements and
// parses the failover state records among them; everything else (lease,
// host, class and subclass blocks, server-duid, authoring-byte-order,
// comments, quoted strings with braces or semicolons inside) is skipped by
// tracking braces, strings and comments the way dhcpd's tokenizer does.
//
// Feed it the file's bytes in any pieces: a statement split across two
// calls (dhcpd half-way through writing it) is held until its end arrives
// and returned exactly once. Only a failover statement is buffered (at
// most MaxRecordSize bytes); a half-written lease block costs nothing.
// The zero value is ready to use at the start of a file.
//
// With Bindings set, lease statements are read too (at most MaxLeaseSize
// bytes each) and the newest binding state of each address goes into it.
type Parser struct {
	Bindings *Table

	off       int64 // offset of the next byte fed
	st        scanState
	stmtStart int64 // offset where the current statement began
	depth     int
	inStr     bool
	esc       bool
	inComment bool
	word      [8]byte
	wordLen   int
	buf       []byte // the failover or lease statement being captured
	parts     []int  // lease: offsets in buf where its sub-statements start
	nl        bool   // stResync: the previous byte was a newline

	errs    []error
	nErrors int
}

// Offset returns how many bytes have been fed.
func (p *Parser) Offset() int64 { return p.off }

// Pending reports whether the bytes fed end inside a statement (a record
// or a lease block dhcpd has not finished writing).
func (p *Parser) Pending() bool { return p.st != stBetween && p.st != stResync }

// Feed parses b, the bytes that follow those fed before, and appends the
// failover records completed in b to dst. Damaged statements do not stop
// it: each is skipped, and the returned error (if any) describes them,
// wrapping ErrSyntax or ErrTooLarge with the statement's offset.
func (p *Parser) Feed(dst []Record, b []byte) ([]Record, error) {
	p.errs, p.nErrors = p.errs[:0], 0
	i := 0
	for i < len(b) {
		switch p.st {
		case stBetween:
			i = p.between(b, i)
		case stWord:
			i = p.firstWord(b, i)
		case stSkip, stCapture, stLease:
			var done bool
			var n int
			n, done = p.body(b, i)
			i = n
			if done {
				dst = p.endStatement(dst)
			}
		case stResync:
			i = p.resync(b, i)
		}
	}
	p.off += int64(len(b))
	return dst, p.err()
}

// at converts an index into b to an absolute offset.
func (p *Parser) at(i int) int64 { return p.off + int64(i) }

func (p *Parser) between(b []byte, i int) int {
	for i < len(b) {
		c := b[i]
		switch {
		case p.inComment:
			if c == '\n' {
				p.inComment = false
			}
			i++
		case isSpace(c) || c == ';':
			i++
		case c == '#':
			p.inComment = true
			i++
		case c == '}':
			p.fail(p.at(i), fmt.Errorf("%w: unbalanced }", ErrSyntax))
			i++
		case isWordByte(c):
			p.startStatement(p.at(i))
			p.st = stWord
			return i
		default:
			// A statement starting with a quote or a brace: not one dhcpd
			// writes, but skip it by the same rules.
			p.startStatement(p.at(i))
			p.st = stSkip
			return i
		}
	}
	return i
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func (p *Parser) startStatement(off int64) {
	p.stmtStart = off
	p.depth, p.inStr, p.esc, p.inComment = 0, false, false, false
	p.wordLen = 0
	p.buf = p.buf[:0]
	p.parts = p.parts[:0]
}

// firstWord reads the statement's first word to decide whether to capture
// (`failover`) or skip it; the word may be split across Feed calls.
func (p *Parser) firstWord(b []byte, i int) int {
	for i < len(b) && isWordByte(b[i]) {
		if p.wordLen == len(p.word) {
			p.st = stSkip // longer than "failover"
			return i
		}
		p.word[p.wordLen] = b[i]
		p.wordLen++
		i++
	}
	if i == len(b) {
		return i // the word may go on in the next piece
	}
	switch w := string(p.word[:p.wordLen]); {
	case w == "failover":
		p.st = stCapture
		p.buf = append(p.buf[:0], "failover"...)
	case w == "lease" && p.Bindings != nil:
		p.st = stLease
		p.buf = append(p.buf[:0], "lease"...)
	default:
		p.st = stSkip
	}
	return i
}

// special marks the bytes that matter inside a statement outside strings
// and comments.
var special = [256]bool{'"': true, '#': true, '{': true, '}': true, ';': true}

// body scans a statement's bytes from b[i]; it returns the index after
// what it consumed and whether the statement ended there.
func (p *Parser) body(b []byte, i int) (int, bool) {
	start := i
	lease := p.st == stLease
	capture := p.st == stCapture || lease
	limit := int64(MaxStatementSize)
	switch {
	case lease:
		limit = MaxLeaseSize
	case capture:
		limit = MaxRecordSize
	}
	// Scan no further than one byte past the bound, so that what follows
	// a runaway statement in this piece is not lost with it.
	if rest := limit - (p.at(i) - p.stmtStart) + 1; int64(len(b)-i) > rest {
		b = b[:i+int(rest)]
	}
	done := false
scan:
	for i < len(b) {
		switch {
		case p.inComment:
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i < len(b) {
				p.inComment = false
				i++
			}
		case p.inStr:
			if p.esc { // the piece before ended with a backslash
				p.esc = false
				i++
				continue
			}
			for i < len(b) {
				c := b[i]
				if c == '\\' {
					if i+1 == len(b) {
						p.esc = true
						i++
						break
					}
					i += 2
					continue
				}
				i++
				if c == '"' {
					p.inStr = false
					break
				}
			}
		default:
			for i < len(b) && !special[b[i]] {
				i++
			}
			if i == len(b) {
				break scan
			}
			c := b[i]
			i++
			switch c {
			case '"':
				p.inStr = true
			case '#':
				p.inComment = true
			case '{':
				p.depth++
				if lease && p.depth == 1 {
					p.part(len(p.buf)+i-start, b[i:])
				}
			case '}':
				p.depth--
				if lease && p.depth == 1 {
					p.part(len(p.buf)+i-start, b[i:])
				}
				if p.depth <= 0 {
					if p.depth < 0 {
						p.fail(p.at(i-1), fmt.Errorf("%w: unbalanced }", ErrSyntax))
					}
					done = true
					break scan
				}
			case ';':
				if p.depth == 0 {
					done = true
					break scan
				}
				if lease && p.depth == 1 {
					p.part(len(p.buf)+i-start, b[i:])
				}
			}
		}
	}
	if p.at(i)-p.stmtStart > limit {
		p.tooLarge(limit)
		return i, false
	}
	if capture {
		p.buf = append(p.buf, b[start:i]...)
	}
	return i, done
}

func (p *Parser) tooLarge(limit int64) {
	p.fail(p.stmtStart, fmt.Errorf("%w: longer than %d bytes", ErrTooLarge, limit))
	p.st, p.nl = stResync, false
	p.buf, p.parts = p.buf[:0], p.parts[:0]
	if cap(p.buf) > 4<<10 {
		p.buf = nil // do not keep a large buffer for a damaged file
	}
}

func (p *Parser) endStatement(dst []Record) []Record {
	if p.st == stCapture {
		r, err := parseRecord(p.buf)
		if err != nil {
			p.fail(p.stmtStart, err)
		} else {
			r.Offset = p.stmtStart
			dst = append(dst, r)
		}
		p.buf = p.buf[:0]
	} else if p.st == stLease {
		if a, st, err := parseLease(p.buf, p.parts); err != nil {
			p.fail(p.stmtStart, err)
		} else {
			p.Bindings.Set(a, st)
		}
		p.buf, p.parts = p.buf[:0], p.parts[:0]
	}
	p.st = stBetween
	p.inComment = false
	return dst
}

// part notes where a lease's sub-statement starts in p.buf; next is what
// follows in the piece being fed. The lease's first part (the offset after
// its opening brace, where its address ends) is always noted; a later one
// only if it may be `binding state` (the check parseLease makes again on
// the whole statement), which the bytes in this piece usually rule out.
func (p *Parser) part(off int, next []byte) {
	if len(p.parts) > 0 {
		for _, c := range next {
			if isSpace(c) {
				continue
			}
			if c != 'b' && c != '#' {
				return
			}
			break
		}
	}
	if len(p.parts) < maxLeaseParts {
		p.parts = append(p.parts, off)
	}
}

// resync skips a damaged statement's remains up to a line that starts
// with a letter: dhcpd writes every top-level statement at the start of a
// line and indents what is inside.
func (p *Parser) resync(b []byte, i int) int {
	for i < len(b) {
		if p.nl && isWordByte(b[i]) {
			p.st = stBetween
			p.inComment = false
			return i
		}
		p.nl = b[i] == '\n'
		i++
	}
	return i
}

func (p *Parser) fail(off int64, err error) {
	p.nErrors++
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, fmt.Errorf("statement at offset %d: %w", off, err))
	}
}

func (p *Parser) err() error {
	if p.nErrors == 0 {
		return nil
	}
	errs := append([]error(nil), p.errs...)
	if p.nErrors > len(p.errs) {
		errs = append(errs, fmt.Errorf("leases: %d more damaged statements", p.nErrors-len(p.errs)))
	}
	return errors.Join(errs...)
}
