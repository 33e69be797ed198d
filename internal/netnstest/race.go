//go:build race

package netnstest

// raceEnabled: this test binary was built with -race, so the exporter it
// runs is too (BuildExporter), and its concurrency under the tests'
// reconnects and reloads is checked by the race detector.
const raceEnabled = true
