package failover

import (
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"normal", 64, "normal"},
		{"abcdef", 3, "abc"},
		{"a\xffb", 64, "a\uFFFDb"},
		{"aé", 2, "a"}, // é is 2 bytes: no half rune
		{strings.Repeat("x", 1<<20), 64, strings.Repeat("x", 64)},
		{strings.Repeat("\xff", 1<<20), 6, "\uFFFD"}, // a run of invalid bytes is one U+FFFD
	} {
		if got := Cut(c.in, c.n); got != c.want {
			t.Errorf("Cut(%.20q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
