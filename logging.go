package main

import (
	"fmt"
	"io"
	"log/slog"

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
// the one place the two logging APIs meet.
func slogFor(l log.Logger) *slog.Logger {
	return slog.New(sloggokit.NewGoKitHandler(l, slog.LevelDebug))
}
