package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/go-kit/log/level"
)

// Every line, the exporter's own and the toolkit's through the slog
// bridge, has one timestamp key, ts, in UTC RFC 3339, in the same place:
// level, ts, caller, msg.
func TestOneTimestampKey(t *testing.T) {
	logfmtLine := regexp.MustCompile(`^level=(info|warn) ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z caller=\S+:\d+ msg=`)
	var buf bytes.Buffer
	logger, bridge, err := newLogger(&buf, "info", "logfmt")
	if err != nil {
		t.Fatal(err)
	}
	level.Info(logger).Log("msg", "own line", "k", "v")
	slogFor(bridge).Info("Listening on", "address", "127.0.0.1:9647")
	slogFor(bridge).Warn("TLS is disabled.", "http2", false)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if !logfmtLine.MatchString(l) || strings.Contains(l, "time=") {
			t.Errorf("line does not start level=… ts=… caller=… msg= or has time=: %s", l)
		}
	}

	buf.Reset()
	logger, bridge, err = newLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	level.Info(logger).Log("msg", "own line")
	slogFor(bridge).Info("Listening on", "address", "127.0.0.1:9647")
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		ts, ok := m["ts"].(string)
		if _, dup := m["time"]; dup || !ok || !strings.HasSuffix(ts, "Z") {
			t.Errorf("json line without one UTC ts key: %s", l)
		}
	}
}
