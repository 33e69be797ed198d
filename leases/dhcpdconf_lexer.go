package leases

// The tokens of dhcpd.conf as dhcpd's lexer (common/conflex.c) splits
// them, as far as ReadDHCPDConf needs: punctuation, quoted strings, `#`
// comments to the end of the line, and words (everything else up to a
// space or punctuation).

type confKind uint8

const (
	ctEOF confKind = iota
	ctWord
	ctString
	ctPunct
)

type confToken struct {
	kind confKind
	text []byte
}

func (t confToken) is(c byte) bool { return t.kind == ctPunct && t.text[0] == c }

// maxConfToken bounds a word or a string (dhcpd's lexer takes 1500 bytes).
const maxConfToken = 8 << 10

type confLexer struct {
	b     []byte
	pos   int
	line  int
	back  confToken
	haveB bool
	str   []byte
}

func (l *confLexer) unread(t confToken) { l.back, l.haveB = t, true }

func isConfPunct(c byte) bool {
	return c == '{' || c == '}' || c == ';' || c == ',' || c == '=' || c == '(' || c == ')'
}

func (l *confLexer) next() confToken {
	if l.haveB {
		l.haveB = false
		return l.back
	}
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case isSpace(c):
			l.pos++
		case c == '#':
			for l.pos < len(l.b) && l.b[l.pos] != '\n' {
				l.pos++
			}
		case isConfPunct(c):
			l.pos++
			return confToken{ctPunct, l.b[l.pos-1 : l.pos]}
		case c == '"':
			return l.quoted()
		default:
			start := l.pos
			for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isConfPunct(l.b[l.pos]) && l.b[l.pos] != '"' && l.b[l.pos] != '#' {
				l.pos++
			}
			w := l.b[start:l.pos]
			if len(w) > maxConfToken {
				w = w[:maxConfToken]
			}
			return confToken{ctWord, w}
		}
	}
	return confToken{kind: ctEOF}
}

// quoted reads a string; `\` escapes the next byte. An unterminated
// string ends at the end of the file.
func (l *confLexer) quoted() confToken {
	l.pos++
	l.str = l.str[:0]
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '"':
			return confToken{ctString, l.str}
		case '\n':
			l.line++
		case '\\':
			if l.pos < len(l.b) {
				c = l.b[l.pos]
				l.pos++
			}
		}
		if len(l.str) < maxConfToken {
			l.str = append(l.str, c)
		}
	}
	return confToken{ctString, l.str}
}
