package leases

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Errors. Every error the package returns wraps one of these; none quotes
// the file's content (a path given to the exporter may name any file), only
// offsets and what was expected.
var (
	ErrSyntax   = errors.New("leases: syntax error")
	ErrTooLarge = errors.New("leases: statement too large")
)

// Side is one end's state as a failover record carries it.
type Side struct {
	State failover.State
	// Native is the ISC name as written ("communications-interrupted").
	Native string
	// Since is the date after `at`, in UTC; zero for `never` or when the
	// statement has no date (dhcpd then means "now", which the file no
	// longer tells).
	Since time.Time
}

// Record is one `failover peer "NAME" state { ... }` statement
// (dhcpd.leases(5); written by dhcpd's write_failover_state on every
// state change and at every rewrite of the file).
type Record struct {
	Peer    string
	My      Side
	Partner Side
	// MCLT is written only by the secondary (dhcpd learns it from the
	// primary and keeps it across restarts), so its presence tells the role.
	MCLT failover.Optional[time.Duration]
	// Offset is where the statement starts in the bytes fed to the Parser.
	Offset int64
}

// Same reports whether two records say the same thing: same peer, same
// states and dates on both sides, same MCLT. The offset is not compared.
func (r Record) Same(o Record) bool {
	return r.Peer == o.Peer && r.My.State == o.My.State && r.My.Since.Equal(o.My.Since) &&
		r.Partner.State == o.Partner.State && r.Partner.Since.Equal(o.Partner.Since) && r.MCLT == o.MCLT
}

// Bounds of the values inside a record.
const (
	maxMCLT  = 1<<32 - 1    // seconds: the wire field (draft-12 §12.15) is 32 bits
	maxEpoch = 253402300799 // 9999-12-31 23:59:59 UTC
)

// tokenizer splits one complete failover statement (held in memory, at
// most MaxRecordSize bytes) the way dhcpd's conflex.c does for what can
// appear in it: words, quoted strings, `{ } ;`, and `#` comments to the
// end of the line.
type tokenizer struct {
	b   []byte
	pos int
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokPunct // one of { } ;
)

type token struct {
	kind tokKind
	text []byte // word bytes, decoded string, or the punctuation byte
}

func isSpace(c byte) bool {
	// NUL counts as space: dhcpd does not open the file O_APPEND, so after
	// someone else truncates it the next write lands at dhcpd's old offset
	// and leaves a hole that reads as zeros.
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0
}

func isDelim(c byte) bool {
	return isSpace(c) || c == '{' || c == '}' || c == ';' || c == '"' || c == '#'
}

func (t *tokenizer) next() (token, error) {
	for t.pos < len(t.b) {
		c := t.b[t.pos]
		switch {
		case isSpace(c):
			t.pos++
		case c == '#':
			for t.pos < len(t.b) && t.b[t.pos] != '\n' {
				t.pos++
			}
		case c == '{' || c == '}' || c == ';':
			t.pos++
			return token{tokPunct, t.b[t.pos-1 : t.pos]}, nil
		case c == '"':
			return t.str()
		default:
			start := t.pos
			for t.pos < len(t.b) && !isDelim(t.b[t.pos]) {
				t.pos++
			}
			return token{tokWord, t.b[start:t.pos]}, nil
		}
	}
	return token{kind: tokEOF}, nil
}

// str decodes a quoted string: `\` followed by three octal digits is a
// byte (dhcpd's print_quoted_string), any other escaped byte stands for
// itself.
func (t *tokenizer) str() (token, error) {
	t.pos++ // opening quote
	var out []byte
	for t.pos < len(t.b) {
		c := t.b[t.pos]
		t.pos++
		switch c {
		case '"':
			return token{tokString, out}, nil
		case '\\':
			if t.pos >= len(t.b) {
				return token{}, fmt.Errorf("%w: unterminated string", ErrSyntax)
			}
			if t.pos+3 <= len(t.b) && isOctal(t.b[t.pos]) && isOctal(t.b[t.pos+1]) && isOctal(t.b[t.pos+2]) {
				v := (t.b[t.pos]-'0')<<6 | (t.b[t.pos+1]-'0')<<3 | (t.b[t.pos+2] - '0')
				out = append(out, v)
				t.pos += 3
				continue
			}
			out = append(out, t.b[t.pos])
			t.pos++
		default:
			out = append(out, c)
		}
	}
	return token{}, fmt.Errorf("%w: unterminated string", ErrSyntax)
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func (t *tokenizer) word(what string) ([]byte, error) {
	tok, err := t.next()
	if err != nil {
		return nil, err
	}
	if tok.kind != tokWord {
		return nil, fmt.Errorf("%w: expected %s", ErrSyntax, what)
	}
	return tok.text, nil
}

func (t *tokenizer) keyword(kw string) error {
	w, err := t.word(kw)
	if err != nil {
		return err
	}
	if string(w) != kw {
		return fmt.Errorf("%w: expected %q", ErrSyntax, kw)
	}
	return nil
}

func (t *tokenizer) punct(p byte) error {
	tok, err := t.next()
	if err != nil {
		return err
	}
	if tok.kind != tokPunct || tok.text[0] != p {
		return fmt.Errorf("%w: expected %q", ErrSyntax, string(p))
	}
	return nil
}

// parseRecord parses one complete statement that starts with the word
// `failover`, following dhcpd's parse_failover_state_declaration:
//
//	failover peer "NAME" state {
//	  my state STATE [at DATE];
//	  partner state STATE [at DATE];
//	  [mclt N;]
//	}
//
// Each of the three items may appear once; both states are required
// (dhcpd always writes both).
func parseRecord(b []byte) (Record, error) {
	var r Record
	t := &tokenizer{b: b}
	if err := t.keyword("failover"); err != nil {
		return r, err
	}
	if err := t.keyword("peer"); err != nil {
		return r, err
	}
	name, err := t.next()
	if err != nil {
		return r, err
	}
	if name.kind != tokString && name.kind != tokWord {
		return r, fmt.Errorf("%w: expected the peer name", ErrSyntax)
	}
	if len(name.text) == 0 || len(name.text) > failover.MaxNameLen || !utf8.Valid(name.text) {
		return r, fmt.Errorf("%w: peer name empty, longer than %d bytes or not UTF-8", ErrSyntax, failover.MaxNameLen)
	}
	r.Peer = string(name.text)
	if err := t.keyword("state"); err != nil {
		return r, err
	}
	if err := t.punct('{'); err != nil {
		return r, err
	}
	var haveMy, havePartner bool
	for {
		tok, err := t.next()
		if err != nil {
			return r, err
		}
		if tok.kind == tokPunct && tok.text[0] == '}' {
			break
		}
		if tok.kind != tokWord {
			return r, fmt.Errorf("%w: expected my, partner, mclt or }", ErrSyntax)
		}
		switch string(tok.text) {
		case "my":
			if haveMy {
				return r, fmt.Errorf("%w: my state given twice", ErrSyntax)
			}
			haveMy = true
			if r.My, err = parseSide(t); err != nil {
				return r, err
			}
		case "partner":
			if havePartner {
				return r, fmt.Errorf("%w: partner state given twice", ErrSyntax)
			}
			havePartner = true
			if r.Partner, err = parseSide(t); err != nil {
				return r, err
			}
		case "mclt":
			if r.MCLT.OK() {
				return r, fmt.Errorf("%w: mclt given twice", ErrSyntax)
			}
			w, err := t.word("a number")
			if err != nil {
				return r, err
			}
			n, err := parseUint(w, maxMCLT)
			if err != nil {
				return r, fmt.Errorf("%w: mclt: %w", ErrSyntax, err)
			}
			r.MCLT = failover.Some(time.Duration(n) * time.Second)
			if err := t.punct(';'); err != nil {
				return r, err
			}
		default:
			return r, fmt.Errorf("%w: expected my, partner, mclt or }", ErrSyntax)
		}
	}
	if !haveMy || !havePartner {
		return r, fmt.Errorf("%w: record without my state or partner state", ErrSyntax)
	}
	if tok, err := t.next(); err != nil || tok.kind != tokEOF {
		return r, fmt.Errorf("%w: data after the closing brace", ErrSyntax)
	}
	return r, nil
}

// parseSide parses `state STATE [at DATE];` after `my` or `partner`.
func parseSide(t *tokenizer) (Side, error) {
	var s Side
	if err := t.keyword("state"); err != nil {
		return s, err
	}
	w, err := t.word("a state name")
	if err != nil {
		return s, err
	}
	st, ok := failover.StateFromISCName(string(w))
	if !ok {
		// dhcpd itself rejects an unknown name; a file we cannot read
		// one record of is still worth reading.
		return s, fmt.Errorf("%w: unknown state name", ErrSyntax)
	}
	s.State = st
	s.Native, _ = st.ISCName()
	tok, err := t.next()
	if err != nil {
		return s, err
	}
	if tok.kind == tokPunct && tok.text[0] == ';' {
		return s, nil // no date: dhcpd takes the time of reading
	}
	if tok.kind != tokWord || string(tok.text) != "at" {
		return s, fmt.Errorf("%w: expected at or ;", ErrSyntax)
	}
	if s.Since, err = parseDate(t); err != nil {
		return s, err
	}
	return s, t.punct(';')
}

// parseDate parses the three date forms of dhcpd.leases(5) (dhcpd's
// parse_date_core): `never`; `epoch N` (with `db-time-format local;`,
// followed on the line by a `# ...` comment the tokenizer drops); and
// `W YYYY/MM/DD HH:MM:SS` in UTC, the weekday W (0-6) being ignored as
// dhcpd ignores it.
func parseDate(t *tokenizer) (time.Time, error) {
	w, err := t.word("a date")
	if err != nil {
		return time.Time{}, err
	}
	switch string(w) {
	case "never":
		return time.Time{}, nil
	case "epoch":
		e, err := t.word("seconds since the epoch")
		if err != nil {
			return time.Time{}, err
		}
		n, err := parseUint(e, maxEpoch)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: epoch: %w", ErrSyntax, err)
		}
		return time.Unix(int64(n), 0).UTC(), nil
	}
	if len(w) != 1 || w[0] < '0' || w[0] > '6' {
		return time.Time{}, fmt.Errorf("%w: expected never, epoch or a weekday 0-6", ErrSyntax)
	}
	d, err := t.word("YYYY/MM/DD")
	if err != nil {
		return time.Time{}, err
	}
	c, err := t.word("HH:MM:SS")
	if err != nil {
		return time.Time{}, err
	}
	ymd, ok1 := splitNumbers(d, '/', [3]uint64{9999, 12, 31})
	hms, ok2 := splitNumbers(c, ':', [3]uint64{23, 59, 59})
	if !ok1 || !ok2 || ymd[0] < 1970 || ymd[1] < 1 || ymd[2] < 1 {
		return time.Time{}, fmt.Errorf("%w: bad date", ErrSyntax)
	}
	tm := time.Date(int(ymd[0]), time.Month(ymd[1]), int(ymd[2]), int(hms[0]), int(hms[1]), int(hms[2]), 0, time.UTC)
	if tm.Day() != int(ymd[2]) {
		return time.Time{}, fmt.Errorf("%w: bad date", ErrSyntax) // 2026/02/30
	}
	return tm, nil
}

// splitNumbers parses "A<sep>B<sep>C" with each part at most max[i].
func splitNumbers(b []byte, sep byte, max [3]uint64) ([3]uint64, bool) {
	var out [3]uint64
	i := 0
	for part := 0; part < 3; part++ {
		j := i
		for j < len(b) && b[j] != sep {
			j++
		}
		n, err := parseUint(b[i:j], max[part])
		if err != nil {
			return out, false
		}
		out[part] = n
		if part < 2 {
			if j >= len(b) {
				return out, false
			}
			j++
		} else if j != len(b) {
			return out, false
		}
		i = j
	}
	return out, true
}

// parseUint parses a decimal number of at most 12 digits not above max.
func parseUint(b []byte, max uint64) (uint64, error) {
	if len(b) == 0 || len(b) > 12 {
		return 0, errors.New("not a number")
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil || n > max {
		return 0, errors.New("number out of range")
	}
	return n, nil
}
