package peer

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// MaxTextLen bounds, in bytes, a text option taken from the wire
// (relationship-name, vendor-class, message) once cleaned: the bound of
// every name (failover.MaxNameLen, dhcpd's token buffer), so that a
// relationship the tap sees has the name dhcpd.conf and the config give it.
const MaxTextLen = failover.MaxNameLen

// truncMark ends a text cut at MaxTextLen.
const truncMark = "…"

// cleanText makes a text option from the wire safe to use as a Prometheus
// label value, in JSON and on a terminal: invalid UTF-8 and runes that are
// not printable (control bytes such as ESC, Unicode format characters such
// as bidi overrides) become U+FFFD, and a text longer than MaxTextLen
// bytes is cut at a rune boundary and ends in "…". The bytes come from
// anyone who can reach the failover port (failover's decoder passes ISC's
// ASCII options through as they are). A clean ASCII text is returned as
// it is, without allocating.
func cleanText(s string) string {
	if len(s) <= MaxTextLen && printableASCII(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // an invalid byte comes as utf8.RuneError
		if !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	t := b.String()
	if len(t) <= MaxTextLen {
		return t
	}
	cut := MaxTextLen - len(truncMark)
	for !utf8.RuneStart(t[cut]) {
		cut--
	}
	return t[:cut] + truncMark
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
