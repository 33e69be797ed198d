package failover

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Text options on the wire: ISC sends ASCII bytes; Microsoft's stack sends
// UTF-16LE ("Unicode string ... with the terminating NULL character",
// MS-DHCPF §2.2.11). Both may end in NULs, which are not part of the text.

// decodeUTF16LE decodes little-endian UTF-16, dropping an odd final byte
// and trailing NULs; unpaired surrogates become U+FFFD.
func decodeUTF16LE(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < n; i++ {
		u := uint16(b[2*i]) | uint16(b[2*i+1])<<8
		if utf16.IsSurrogate(rune(u)) && i+1 < n {
			u2 := uint16(b[2*i+2]) | uint16(b[2*i+3])<<8
			if r := utf16.DecodeRune(rune(u), rune(u2)); r != utf8.RuneError {
				sb.WriteRune(r)
				i++
				continue
			}
		}
		if utf16.IsSurrogate(rune(u)) {
			sb.WriteRune(utf8.RuneError)
			continue
		}
		sb.WriteRune(rune(u))
	}
	return sb.String()
}

// appendUTF16LE appends s as UTF-16LE, with a terminating NUL if nul.
func appendUTF16LE(dst []byte, s string, nul bool) []byte {
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			dst = append(dst, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		dst = append(dst, byte(r), byte(r>>8))
	}
	if nul {
		dst = append(dst, 0, 0)
	}
	return dst
}

// decodeASCII returns the option bytes as a string without trailing NULs
// (ISC's names are not NUL-terminated, but a C peer could send one).
func decodeASCII(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

// EncodeUTF16LE returns s as Microsoft puts text on the wire: UTF-16LE,
// with a terminating NUL when nul is set (client-matched-policy).
func EncodeUTF16LE(s string, nul bool) []byte { return appendUTF16LE(nil, s, nul) }
