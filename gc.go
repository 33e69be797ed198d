package main

import (
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// Every scrape renders and encodes tens of megabytes of short-lived
// buffers at a large site, so the heap the runtime's default (100) lets
// grow between collections is most of the process's RSS. At 1,000
// relationships 50 keeps RSS under 48 MiB for about the same CPU as 100
// (README, "Performance"); Prometheus itself lowers it the same way (75).
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless the operator chose a
// value (GOGC, including "off"), which always wins.
func setGCPercent(getenv func(string) string) (set bool) {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
