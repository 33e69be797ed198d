package failover

import (
	"strings"
	"unicode/utf8"
)

// Bounds on the text a server reports or a user configures, written once
// here for every source and for the config (docs/protocol.md, "Bounds").

// MaxNameLen bounds, in bytes, a name: a relationship (failover peer) name,
// a server or partner name. ISC dhcpd reads every token of dhcpd.conf and
// of its leases file into a 1500-byte buffer (tokbuf in common/conflex.c),
// so no name it uses is longer; Kea and Windows names are shorter still.
// A longer name from a server is cut (Cut); a longer configured name is a
// config error.
const MaxNameLen = 1500

// MaxStateNameLen bounds, in bytes, a server's own name for a state
// (Side.Native): the longest real one, Kea's "communication-recovery", is
// 22 bytes.
const MaxStateNameLen = 64

// UnknownState is what a source reports for a state outside its vendor's
// vocabulary, with the vendor's name or number in Side.Native: the
// collector renders it as NoState and logs it once (docs/metrics.md).
const UnknownState State = 255

// Cut returns s as valid UTF-8 (invalid bytes become U+FFFD) of at most n
// bytes, cut at a rune boundary. A string that is cut is copied, so that
// keeping the result does not keep the whole of s alive.
func Cut(s string, n int) string {
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	if len(s) > 4*n+4 {
		// Never scan more than can end up in the result.
		s = s[:4*n+4]
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.Clone(s)
}
