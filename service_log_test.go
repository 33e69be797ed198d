package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-kit/log/level"
)

func TestLineLevel(t *testing.T) {
	for _, tc := range []struct {
		line string
		want eventLevel
		ok   bool
	}{
		{`level=info ts=2026-01-01T00:00:00Z msg=x`, eventInfo, true},
		{`level=debug msg=x`, eventInfo, true},
		{`level=warn msg=x`, eventWarning, true},
		{`level=error msg=x`, eventError, true},
		{`ts=x caller=main.go:1 level=warn msg=x`, eventWarning, true},
		// The first key is the real one; a later value cannot override it.
		{`level=info msg="Reload failed" err="bad level=error"`, eventInfo, true},
		{`{"caller":"main.go:1","err":"x \"level\":\"error\"","level":"info","msg":"m"}`, eventInfo, true},
		{`{"level":"error","msg":"m"}`, eventError, true},
		{`{"level":"warn","msg":"m"}`, eventWarning, true},
		// No level: kingpin's errors and run's messages before the logger.
		{`dhcp_failover_exporter: unknown long flag '--nope'`, eventInfo, false},
		{`loglevel=error msg=x`, eventInfo, false},
		{`level=fatal msg=x`, eventInfo, false},
		{``, eventInfo, false},
	} {
		got, ok := lineLevel([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("lineLevel(%q) = %v, %v; want %v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// The exporter's own loggers (go-kit in both formats, and the slog bridge
// exporter-toolkit logs through) map to the right entry types and IDs.
func TestEventWriterWithLoggers(t *testing.T) {
	for _, format := range []string{"logfmt", "json"} {
		t.Run(format, func(t *testing.T) {
			events := &fakeEvents{}
			logger, bridge, err := newLogger(eventWriter{events, eventError}, "debug", format)
			if err != nil {
				t.Fatal(err)
			}
			level.Debug(logger).Log("msg", "d")
			level.Info(logger).Log("msg", "i", "err", "looks like level=error")
			level.Warn(logger).Log("msg", "w")
			level.Error(logger).Log("msg", "e", "err", `quoted "level":"info" text`)
			slogFor(bridge).Warn("bridged")
			want := []struct {
				lvl eventLevel
				id  uint32
				msg string
			}{
				{eventInfo, eventIDInfo, "d"},
				{eventInfo, eventIDInfo, "i"},
				{eventWarning, eventIDWarning, "w"},
				{eventError, eventIDError, "e"},
				{eventWarning, eventIDWarning, "bridged"},
			}
			got := events.list()
			if len(got) != len(want) {
				t.Fatalf("%d entries, want %d:\n%s", len(got), len(want), events.String())
			}
			for i, w := range want {
				g := got[i]
				if g.lvl != w.lvl || g.id != w.id || !strings.Contains(g.msg, w.msg) {
					t.Errorf("entry %d = %+v, want type %v ID %d with %q", i, g, w.lvl, w.id, w.msg)
				}
				if strings.HasSuffix(g.msg, "\n") {
					t.Errorf("entry %d keeps its line end: %q", i, g.msg)
				}
			}
		})
	}
}

// Writes without a level take the writer's fallback: stderr's are errors
// (usage errors, "invalid configuration"), stdout's are information.
func TestEventWriterFallback(t *testing.T) {
	events := &fakeEvents{}
	fmt.Fprintf(eventWriter{events, eventError}, "%s: invalid configuration: x\n", exporterName)
	fmt.Fprintf(eventWriter{events, eventInfo}, "%s: configuration x is valid\n", exporterName)
	if n, err := (eventWriter{events, eventError}).Write([]byte("\r\n")); n != 2 || err != nil {
		t.Errorf("empty record: Write = %d, %v; want 2, nil", n, err)
	}
	got := events.list()
	if len(got) != 2 || got[0].lvl != eventError || got[0].id != eventIDError || got[1].lvl != eventInfo || got[1].id != eventIDInfo {
		t.Fatalf("entries %+v", got)
	}
	events.failing = true
	if n, err := (eventWriter{events, eventInfo}).Write([]byte("level=info msg=x\n")); err == nil || n != 0 {
		t.Errorf("failing report: Write = %d, %v; want 0 and the error", n, err)
	}
}

func TestEventMessage(t *testing.T) {
	if got := eventMessage([]byte("level=info msg=a\r\n")); got != "level=info msg=a" {
		t.Errorf("line end not trimmed: %q", got)
	}
	if got := eventMessage([]byte("a\x00b\n")); got != `a\x00b` {
		t.Errorf("NUL not replaced: %q", got)
	}
	// Long records are cut on a rune boundary and stay within ReportEvent's
	// 31,839 UTF-16 code units, for any mix of 1- to 4-byte runes.
	for _, r := range []string{"a", "é", "€", "😀"} {
		long := strings.Repeat(r, 40000)
		got := eventMessage([]byte(long + "\n"))
		if !utf8.ValidString(got) {
			t.Errorf("%q: cut inside a rune", r)
		}
		if !strings.HasSuffix(got, "(truncated)") || len(got) > maxEventBytes+len(" …(truncated)") {
			t.Errorf("%q: %d bytes, suffix %q", r, len(got), got[len(got)-20:])
		}
		if n := len(utf16.Encode([]rune(got))); n > 31839 {
			t.Errorf("%q: %d UTF-16 code units", r, n)
		}
	}
	short := strings.Repeat("x", maxEventBytes)
	if got := eventMessage([]byte(short)); got != short {
		t.Error("a record of exactly maxEventBytes was changed")
	}
}

func TestFlagArg(t *testing.T) {
	dir := t.TempDir()
	argFile := filepath.Join(dir, "args")
	os.WriteFile(argFile, []byte("# comment\n--service.name\nfrom-file\n"), 0o644)
	valueFile := filepath.Join(dir, "value")
	os.WriteFile(valueFile, []byte("value-from-file\n"), 0o644)
	loop := filepath.Join(dir, "loop")
	os.WriteFile(loop, []byte("@"+loop+"\n"), 0o644)
	for _, tc := range []struct {
		args  []string
		value string
		found bool
	}{
		{nil, "", false},
		{[]string{"--config.file=x.yml"}, "", false},
		{[]string{"--service.name=svc-a", "--config.file=x.yml"}, "svc-a", true},
		{[]string{"--config.file", "x.yml", "--service.name", "svc-b"}, "svc-b", true},
		{[]string{"--service.name="}, "", true},
		{[]string{"--service.name"}, "", false}, // no value: kingpin rejects it
		{[]string{"--service.name=a", "--service.name=b"}, "b", true},
		{[]string{"--service.namex=a", "--xservice.name=b", "-service.name=c"}, "", false},
		{[]string{"--", "--service.name=after"}, "", false},
		{[]string{"--service.name=before", "--", "--service.name=after"}, "before", true},
		{[]string{"@" + argFile}, "from-file", true},
		{[]string{"--service.name", "@" + valueFile}, "value-from-file", true},
		{[]string{"@" + filepath.Join(dir, "missing"), "--service.name=x"}, "x", true},
		{[]string{"@" + loop, "--service.name=y"}, "y", true},
	} {
		in := append([]string(nil), tc.args...)
		value, found := flagArg(tc.args, "service.name")
		if value != tc.value || found != tc.found {
			t.Errorf("flagArg(%q) = %q, %v; want %q, %v", tc.args, value, found, tc.value, tc.found)
		}
		if strings.Join(in, "\x00") != strings.Join(tc.args, "\x00") {
			t.Errorf("flagArg changed its argument slice: %q", tc.args)
		}
	}
}

// On every OS but Windows the service's flags do not exist: the command
// line of Linux stays as it was.
func TestPlatformFlags(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows flags exist on Windows")
	}
	var stdout, stderr syncBuffer
	if code := run([]string{"--log.file=x.log", "--config.check"}, &stdout, &stderr); code != 2 {
		t.Errorf("--log.file accepted outside Windows: exit %d, stderr %s", code, stderr.String())
	}
	var help syncBuffer
	run([]string{"--help"}, &help, &stderr)
	if h := help.String(); strings.Contains(h, "service.name") || strings.Contains(h, "log.file") || !strings.Contains(h, "--config.file") {
		t.Errorf("--help outside Windows:\n%s", h)
	}
}
