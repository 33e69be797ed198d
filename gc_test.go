package main

import (
	"runtime/debug"
	"testing"
)

// TestGCPercent: without GOGC the exporter's own target applies; any GOGC
// the operator sets (a number or "off") is left to the runtime.
func TestGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	if !setGCPercent(func(string) string { return "" }) {
		t.Fatal("GOGC unset: default not applied")
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GOGC unset: GC percent %d, want %d", got, defaultGCPercent)
	}
	for _, v := range []string{"200", "off"} {
		if setGCPercent(func(k string) string {
			if k == "GOGC" {
				return v
			}
			return ""
		}) {
			t.Fatalf("GOGC=%s overridden", v)
		}
		if got := debug.SetGCPercent(100); got != 100 {
			t.Fatalf("GOGC=%s: GC percent changed to %d", v, got)
		}
	}
}
