//go:build windows

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
)

// addPlatformFlags adds the Windows service's flags. platformMain reads
// them with flagArg before kingpin parses the command line; registering
// them here makes kingpin accept them and --help list them.
func addPlatformFlags(app *kingpin.Application) {
	app.Flag("service.name", "Name of the Windows service (the name given to sc.exe create); also the Event Log source of the service's logs.").
		Default(exporterName).String()
	app.Flag("log.file", "Append logs to this file instead of writing them to standard error or, for the Windows service, to the Windows Event Log.").
		PlaceHolder("PATH").String()
}

// platformMain runs the exporter as a console program, or as a service
// when the Service Control Manager started the process: the SCM kills a
// process that does not register with it (error 1053).
func platformMain(args []string) int {
	isService, err := svc.IsWindowsService()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot tell whether this process is a Windows service: %v\n", exporterName, err)
		return 1
	}
	if !isService {
		return runConsole(args)
	}
	return runService(args)
}

// runConsole is run, with the logs in --log.file when it is given.
func runConsole(args []string) int {
	stderr := io.Writer(os.Stderr)
	if path, _ := flagArg(args, "log.file"); path != "" {
		f, err := openLogFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
			return 2
		}
		defer f.Close()
		stderr = f
	}
	return run(args, os.Stdout, stderr)
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open --log.file: %w", err)
	}
	return f, nil
}

// runService runs the exporter under svc.Run. Its logs, and anything run
// writes to stdout or stderr, go to --log.file if given, else to the
// Application log under the source --service.name.
func runService(args []string) int {
	name := exporterName
	if n, _ := flagArg(args, "service.name"); n != "" {
		name = n
	}
	// Opened in every case: it is where a --log.file that cannot be opened
	// is reported. RegisterEventSource succeeds for a source that is not
	// registered too; such entries go to the Application log without their
	// description header.
	var events eventReporter
	if el, err := eventlog.Open(name); err == nil {
		defer el.Close()
		events = el
	}
	stdout, stderr := io.Discard, io.Discard
	if events != nil {
		stdout, stderr = eventWriter{events, eventInfo}, eventWriter{events, eventError}
	}
	path, _ := flagArg(args, "log.file")
	var fileErr error
	if path != "" {
		f, err := openLogFile(path)
		if err == nil {
			defer f.Close()
			stdout, stderr = f, f
		}
		fileErr = err
	}
	format, _ := flagArg(args, "log.format")
	logger, _, err := newLogger(stderr, "info", format)
	if err != nil {
		logger, _, _ = newLogger(stderr, "info", "logfmt")
	}

	run := func(stop <-chan struct{}) int { return runUntil(args, stdout, stderr, stop) }
	switch {
	case fileErr != nil:
		level.Error(logger).Log("msg", "Cannot write the log file; the service stops", "err", fileErr)
		run = func(<-chan struct{}) int { return 2 }
	case path == "" && !eventSourceRegistered(name):
		level.Warn(logger).Log("msg", "Event Log source is not registered: entries lack their description; register it with eventcreate or New-EventLog (docs/windows.md)", "source", name)
	}
	h := &windowsService{name: name, run: run, logger: logger}
	if err := svc.Run(name, h); err != nil {
		level.Error(logger).Log("msg", "Cannot run as a Windows service", "service", name, "err", err)
		return 1
	}
	return h.result.code
}

// eventSourceRegistered reports whether name is a registered source of the
// Application log. Only a missing key counts as not registered: a key the
// service's account may not read gets the benefit of the doubt.
func eventSourceRegistered(name string) bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Services\EventLog\Application\`+name, registry.QUERY_VALUE)
	if err != nil {
		return !errors.Is(err, registry.ErrNotExist)
	}
	k.Close()
	return true
}

// windowsService is the svc.Handler: serviceLoop (service.go) with the
// svc types translated.
type windowsService struct {
	name   string
	run    func(stop <-chan struct{}) int
	logger log.Logger
	result serviceResult
}

// Execute returns whether the code is service-specific, and the code.
func (s *windowsService) Execute(args []string, requests <-chan svc.ChangeRequest, changes chan<- svc.Status) (bool, uint32) {
	// args[0] is the name the SCM started the service under. For a service
	// in its own process svc.Run's name is not checked, so a mismatch
	// only means the logs go to another Event Log source.
	if len(args) > 0 && !strings.EqualFold(args[0], s.name) {
		level.Warn(s.logger).Log("msg", "The service's name differs from --service.name, which names the Event Log source", "service", args[0], "service_name_flag", s.name)
	}
	s.result = serviceLoop(s.run, requests, svcCmd, func(st serviceStatus) { changes <- svcStatus(st) }, defaultServiceTimings)
	if s.result.timedOut {
		level.Warn(s.logger).Log("msg", "The exporter did not stop in time; the service stops anyway", "timeout", defaultServiceTimings.stopTimeout)
	}
	if s.result.code == 0 {
		return false, 0
	}
	// A service-specific code: the SCM logs event 7024 with it, and
	// recovery actions run when the failure-actions flag is set.
	return true, uint32(s.result.code)
}

func svcCmd(r svc.ChangeRequest) serviceCmd {
	switch r.Cmd {
	case svc.Interrogate:
		return cmdInterrogate
	case svc.Stop:
		return cmdStop
	case svc.Shutdown:
		return cmdShutdown
	}
	return cmdOther
}

func svcStatus(s serviceStatus) svc.Status {
	st := svc.Status{CheckPoint: s.CheckPoint, WaitHint: uint32(s.WaitHint.Milliseconds())}
	switch s.State {
	case stateStartPending:
		st.State = svc.StartPending
	case stateRunning:
		st.State = svc.Running
		st.Accepts = svc.AcceptStop | svc.AcceptShutdown
	case stateStopPending:
		st.State = svc.StopPending
	}
	return st
}
