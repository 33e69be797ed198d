package main

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/alecthomas/kingpin/v2"
)

// Where a Windows service's logs go. A service has no console, so
// main_windows.go hands runUntil an eventWriter (the Windows Event Log) or
// the --log.file file as its stderr; the go-kit logger built from it by
// newLogger stays the one logger. These parts build on every OS so that
// they are tested on Linux.

// eventLevel is the Event Log entry type of one log line.
type eventLevel int

const (
	eventInfo eventLevel = iota
	eventWarning
	eventError
)

// Event IDs of the exporter's entries, one per entry type. A source
// registered with eventcreate.exe has EventCreate.exe as its message file,
// which renders IDs 1 to 1000 as the entry's own text; New-EventLog's
// EventLogMessages.dll renders every ID that way.
const (
	eventIDInfo    = 1
	eventIDWarning = 2
	eventIDError   = 3
)

// eventReporter is the part of *eventlog.Log the writer uses.
type eventReporter interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// eventWriter turns each Write into one Event Log entry. go-kit's logfmt
// and JSON loggers write each record with a single Write, so one record is
// one entry. The entry type comes from the record's level; a Write with no
// level (kingpin's usage errors, run's own messages before the logger
// exists) gets fallback.
type eventWriter struct {
	r        eventReporter
	fallback eventLevel
}

func (w eventWriter) Write(p []byte) (int, error) {
	msg := eventMessage(p)
	if msg == "" {
		return len(p), nil
	}
	lvl, ok := lineLevel(p)
	if !ok {
		lvl = w.fallback
	}
	var err error
	switch lvl {
	case eventError:
		err = w.r.Error(eventIDError, msg)
	case eventWarning:
		err = w.r.Warning(eventIDWarning, msg)
	default:
		err = w.r.Info(eventIDInfo, msg)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// maxEventBytes bounds one entry's text. ReportEvent takes strings of at
// most 31,839 UTF-16 code units; UTF-8 never needs fewer bytes than UTF-16
// needs code units, so 31,000 bytes stays below that with room for the
// truncation note.
const maxEventBytes = 31000

// eventMessage is the text of one entry: the record without its line end,
// with NUL bytes (which would end the UTF-16 string early) replaced, and
// cut at maxEventBytes on a rune boundary.
func eventMessage(p []byte) string {
	s := strings.TrimRight(string(p), "\r\n")
	s = strings.ReplaceAll(s, "\x00", `\x00`)
	if len(s) > maxEventBytes {
		cut := maxEventBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " …(truncated)"
	}
	return s
}

// lineLevel finds the level of a go-kit record: the first `level=` key of
// logfmt, or the `"level":"` key of JSON. go-kit's level package puts the
// level before the message and error, so a logfmt value that happens to
// contain "level=" comes after the real key; inside a JSON string every
// quote is escaped, so the JSON pattern cannot match inside a value.
func lineLevel(p []byte) (eventLevel, bool) {
	var v []byte
	if i := bytes.Index(p, []byte(`"level":"`)); i >= 0 {
		v = p[i+len(`"level":"`):]
	} else if bytes.HasPrefix(p, []byte("level=")) {
		v = p[len("level="):]
	} else if i := bytes.Index(p, []byte(" level=")); i >= 0 {
		v = p[i+len(" level="):]
	} else {
		return eventInfo, false
	}
	switch {
	case bytes.HasPrefix(v, []byte("error")):
		return eventError, true
	case bytes.HasPrefix(v, []byte("warn")):
		return eventWarning, true
	case bytes.HasPrefix(v, []byte("info")), bytes.HasPrefix(v, []byte("debug")):
		return eventInfo, true
	}
	return eventInfo, false
}

// flagArg returns the value of the long flag --name in args, read the way
// kingpin reads it ("--name=value" or "--name value", nothing after "--",
// @file arguments expanded), and whether it is there. The Windows service
// needs --service.name and --log.file before runUntil parses the command
// line: svc.Run needs the name, and the logs (kingpin's own errors
// included) need somewhere to go. kingpin still parses both flags
// (main_windows.go registers them), so --help lists them and a malformed
// command line is reported as usual. For a repeated flag the last one wins
// here; kingpin then rejects the repetition.
func flagArg(args []string, name string) (string, bool) {
	long := "--" + name
	args = append([]string(nil), args...)
	expansions := 0
	// expand replaces an @file argument at i by the file's lines, as
	// kingpin's lexer does wherever it meets one, flag values included.
	expand := func(i int) bool {
		if !kingpin.EnableFileExpansion || i >= len(args) || !strings.HasPrefix(args[i], "@") || expansions >= maxArgFiles {
			return false
		}
		expansions++
		lines, err := kingpin.ExpandArgsFromFile(args[i][1:])
		if err != nil {
			return false // kingpin reports the error when it parses
		}
		args = append(append(append([]string(nil), args[:i]...), lines...), args[i+1:]...)
		return true
	}
	var value string
	var found bool
	for i := 0; i < len(args); i++ {
		for expand(i) {
		}
		if i >= len(args) {
			break
		}
		switch a := args[i]; {
		case a == "--":
			return value, found
		case a == long:
			for expand(i + 1) {
			}
			if i+1 < len(args) {
				value, found = args[i+1], true
				i++
			}
		case strings.HasPrefix(a, long+"="):
			value, found = a[len(long)+1:], true
		}
	}
	return value, found
}

// maxArgFiles bounds the @file expansions flagArg follows, so that a file
// that names itself cannot keep it busy.
const maxArgFiles = 16
