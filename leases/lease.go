package leases

import "fmt"

// parseLease reads the address and the binding state of one complete
// lease statement, as dhcpd's write_lease (server/db.c) writes it:
//
//	lease 192.0.2.10 {
//	  starts 4 2026/11/26 17:34:05;
//	  ...
//	  binding state active;
//	  next binding state expired;
//	  ...
//	}
//
// b is the statement, parts the offsets in b where its sub-statements
// start (after the opening brace, then after each `;` or nested block at
// depth 1 that may start with `binding`; strings and comments excluded). Only the sub-statement whose
// first words are `binding state` is read; `next binding state` and
// `rewind binding state` are what the lease becomes later.
func parseLease(b []byte, parts []int) (uint32, BindingState, error) {
	if len(parts) == 0 || b[parts[0]-1] != '{' {
		return 0, 0, fmt.Errorf("%w: lease without a block", ErrSyntax)
	}
	a, ok := parseIPv4(trimSpace(b[len("lease") : parts[0]-1]))
	if !ok {
		return 0, 0, fmt.Errorf("%w: lease address is not an IPv4 address", ErrSyntax)
	}
	for _, off := range parts {
		s := skipBlank(b[off:])
		if len(s) < len("binding state x;") || string(s[:7]) != "binding" || !isSpace(s[7]) {
			continue
		}
		s = skipBlank(s[7:])
		if len(s) < 6 || string(s[:5]) != "state" || !isSpace(s[5]) {
			continue
		}
		s = skipBlank(s[5:])
		n := 0
		for n < len(s) && !isDelim(s[n]) {
			n++
		}
		st, ok := bindingFromName(s[:n])
		if !ok || len(skipBlank(s[n:])) == 0 || skipBlank(s[n:])[0] != ';' {
			return 0, 0, fmt.Errorf("%w: unknown binding state", ErrSyntax)
		}
		return a, st, nil
	}
	return 0, 0, fmt.Errorf("%w: lease without a binding state", ErrSyntax)
}

// skipBlank skips spaces and `#` comments.
func skipBlank(b []byte) []byte {
	for len(b) > 0 {
		switch {
		case isSpace(b[0]):
			b = b[1:]
		case b[0] == '#':
			for len(b) > 0 && b[0] != '\n' {
				b = b[1:]
			}
		default:
			return b
		}
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// parseIPv4 parses a dotted quad without allocating: four decimal numbers
// of one to three digits, each at most 255.
func parseIPv4(b []byte) (uint32, bool) {
	var v uint32
	for part := 0; part < 4; part++ {
		n, digits := 0, 0
		for len(b) > 0 && b[0] >= '0' && b[0] <= '9' && digits < 4 {
			n = n*10 + int(b[0]-'0')
			b = b[1:]
			digits++
		}
		if digits == 0 || digits > 3 || n > 255 {
			return 0, false
		}
		v = v<<8 | uint32(n)
		if part < 3 {
			if len(b) == 0 || b[0] != '.' {
				return 0, false
			}
			b = b[1:]
		}
	}
	return v, len(b) == 0
}
