//go:build !race

package netnstest

// raceEnabled: this test binary was built without -race; so is the
// exporter it runs.
const raceEnabled = false
