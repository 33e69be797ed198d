//go:build linux

package netnstest

import (
	"strings"
	"testing"
)

func TestRaceReport(t *testing.T) {
	if r := RaceReport("level=info msg=\"Listening on\"\n"); r != "" {
		t.Fatalf("report in a clean log: %q", r)
	}
	log := "level=info msg=start\n==================\nWARNING: DATA RACE\nWrite at 0x00c000123 by goroutine 7:\n  main.f()\n"
	r := RaceReport(log)
	if !strings.HasPrefix(r, "WARNING: DATA RACE\n") || !strings.Contains(r, "main.f()") || strings.Contains(r, "msg=start") {
		t.Fatalf("report %q", r)
	}
	long := "WARNING: DATA RACE" + strings.Repeat("\nframe", 500)
	if n := strings.Count(RaceReport(long), "\n"); n != 199 {
		t.Fatalf("%d lines in the report, want it cut at 200", n+1)
	}
}
