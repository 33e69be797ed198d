package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateAnalyze = flag.Bool("update-analyze", false, "rewrite the analyze golden files")

// TestAnalyzeGolden runs `analyze` on a real capture (a secondary killed,
// the primary forced to partner-down, the secondary restarted) and
// compares the output with the reviewed golden files.
func TestAnalyzeGolden(t *testing.T) {
	const capture = "peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap"
	for _, tc := range []struct{ format, golden string }{
		{"text", "peer/testdata/golden/analyze-fault.txt"},
		{"json", "peer/testdata/golden/analyze-fault.json"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"analyze", "--format=" + tc.format, capture}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if tc.format == "json" && !json.Valid(stdout.Bytes()) {
				t.Fatal("output is not valid JSON")
			}
			if *updateAnalyze {
				os.MkdirAll(filepath.Dir(tc.golden), 0o755)
				if err := os.WriteFile(tc.golden, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("%v (run with -update-analyze to create it)", err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update-analyze and review the diff):\n%s", tc.golden, stdout.String())
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	for _, args := range [][]string{
		{"analyze", "does-not-exist.pcap"},
		{"analyze", "main.go"}, // not a capture
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 1 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	// --port takes a list of ports: with only 9999 nothing is decoded.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"analyze", "--port=9999", "--no-timeline", "peer/testdata/isc-startup.pcap"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !bytes.Contains(stdout.Bytes(), []byte("0 on the failover ports, 0 messages, 0 connections")) {
		t.Errorf("--port=9999:\n%s", stdout.String())
	}
}
