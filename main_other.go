//go:build !windows

package main

import (
	"os"

	"github.com/alecthomas/kingpin/v2"
)

// platformMain is the process entry point. Outside Windows the exporter is
// always a console program: a service manager (systemd) talks to it with
// signals, which run handles.
func platformMain(args []string) int {
	return run(args, os.Stdout, os.Stderr)
}

// addPlatformFlags adds no flags outside Windows: --service.name and
// --log.file exist for the Windows service only (main_windows.go).
func addPlatformFlags(*kingpin.Application) {}
