package peer

import (
	"math/rand/v2"
	"testing"
)

// TestAppendNanoDecimal: the decimal of whole nanoseconds is byte for
// byte what appendJSONFloat prints for the nearest double, on the edges
// and on random offsets of every magnitude the fast path takes.
func TestAppendNanoDecimal(t *testing.T) {
	cases := []int64{0, 1000, -1000, 1001, 999_999_999, 1e9, -1e9, 1_000_000_001, 123_456_789_012_345, 999_999_999_999_999, -999_999_999_999_999, 5e14, 100_000, 1_500_000}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		ns := r.Int64N(1e15-1000) + 1000
		if r.IntN(2) == 0 {
			ns = -ns
		}
		// Offsets of captures in microseconds, and small ones.
		switch r.IntN(3) {
		case 0:
			ns -= ns % 1000
		case 1:
			ns %= 1e10
		}
		if ns > -1000 && ns < 1000 {
			continue
		}
		cases = append(cases, ns)
	}
	for _, ns := range cases {
		want, _ := appendJSONFloat(nil, float64(ns)/1e9)
		if got := appendNanoDecimal(nil, ns); string(got) != string(want) {
			t.Fatalf("%d ns: %s, strconv %s", ns, got, want)
		}
	}
}
