package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	sloggokit "github.com/tjhop/slog-gokit"
)

// newLogger builds the go-kit logger from --log.level and --log.format. The
// second logger has the level filter but no ts/caller of its own, for the
// slog bridge, which adds its own time and source.
func newLogger(w io.Writer, lvl, format string) (log.Logger, log.Logger, error) {
	var l log.Logger
	switch format {
	case "logfmt":
		l = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		l = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, nil, fmt.Errorf("unknown log format %q (logfmt or json)", format)
	}
	var opt level.Option
	switch lvl {
	case "debug":
		opt = level.AllowDebug()
	case "info":
		opt = level.AllowInfo()
	case "warn":
		opt = level.AllowWarn()
	case "error":
		opt = level.AllowError()
	default:
		return nil, nil, fmt.Errorf("unknown log level %q (debug, info, warn or error)", lvl)
	}
	l = level.NewFilter(l, opt)
	return log.With(l, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller), l, nil
}

// slogFor bridges to the *slog.Logger that exporter-toolkit takes; this is
// the one place the two logging APIs meet. Its lines carry the exporter's
// own timestamp key, in the same place and format (see ownOrder).
func slogFor(l log.Logger) *slog.Logger {
	return slog.New(sloggokit.NewGoKitHandler(ownOrder(l), slog.LevelDebug))
}

// ownOrder rewrites a bridged slog line (level, caller, time, msg, ...)
// the way the exporter's own lines are written: level, ts in UTC RFC 3339,
// caller, then the rest. Without it the toolkit's lines would say time=
// where every other line says ts=.
func ownOrder(next log.Logger) log.Logger {
	return log.LoggerFunc(func(kv ...any) error {
		var lvl, ts, caller, rest []any
		for i := 0; i+1 < len(kv); i += 2 {
			switch k, v := kv[i], kv[i+1]; k {
			case slog.TimeKey:
				if t, ok := v.(time.Time); ok {
					v = t.UTC().Format(time.RFC3339Nano)
				}
				ts = []any{"ts", v}
			case "caller":
				caller = []any{k, v}
			case level.Key():
				lvl = []any{k, v}
			default:
				rest = append(rest, k, v)
			}
		}
		out := make([]any, 0, len(kv))
		out = append(append(append(append(out, lvl...), ts...), caller...), rest...)
		return next.Log(out...)
	})
}
