package main

import "time"

// The Windows service's control loop, without the Windows API: the states
// the exporter reports to the Service Control Manager and the controls it
// answers. main_windows.go translates svc.ChangeRequest and svc.Status to
// and from these types; the loop itself builds and is tested on every OS.

// serviceState is the subset of SCM states (SERVICE_STATUS.dwCurrentState)
// the exporter passes through. Stopped is reported by svc.Run itself once
// Execute returns.
type serviceState int

const (
	stateStartPending serviceState = iota
	stateRunning
	stateStopPending
)

func (s serviceState) String() string {
	switch s {
	case stateStartPending:
		return "StartPending"
	case stateRunning:
		return "Running"
	case stateStopPending:
		return "StopPending"
	}
	return "unknown"
}

// serviceStatus is one SetServiceStatus call. Only Running accepts Stop and
// Shutdown; the pending states accept no control (Interrogate is always
// allowed). While StopPending, CheckPoint goes up by one every
// serviceTimings.checkpoint and WaitHint says how long the SCM should wait
// for the next one, as SERVICE_STATUS requires.
type serviceStatus struct {
	State      serviceState
	CheckPoint uint32
	WaitHint   time.Duration
}

// serviceCmd is a control request from the SCM, reduced to what the
// exporter does with it.
type serviceCmd int

const (
	cmdInterrogate serviceCmd = iota // report the current status again
	cmdStop                          // SERVICE_CONTROL_STOP: sc.exe stop, Stop-Service
	cmdShutdown                      // SERVICE_CONTROL_SHUTDOWN: the system is shutting down
	cmdOther                         // a control the exporter does not accept
)

// serviceTimings bounds a stop. runUntil needs at most about 7 s to stop:
// 5 s for the HTTP server's Shutdown and collector.Agent's 2 s stopGrace.
// After stopTimeout the loop gives up on it and returns, so svc.Run reports
// Stopped and the process exits within the SCM's wait even if a target's
// call into a DHCP server hangs. The exporter keeps no state on disk, so an
// abandoned shutdown loses nothing.
type serviceTimings struct {
	startWaitHint time.Duration // WaitHint of StartPending
	checkpoint    time.Duration // interval between StopPending checkpoints
	stopTimeout   time.Duration // longest wait for run to return after a stop
}

var defaultServiceTimings = serviceTimings{
	startWaitHint: 10 * time.Second,
	checkpoint:    time.Second,
	stopTimeout:   10 * time.Second,
}

// serviceResult says how the service ended.
type serviceResult struct {
	code      int  // run's exit code; 0 if run did not return in time
	requested bool // the SCM asked for the stop (Stop or Shutdown)
	timedOut  bool // run had not returned stopTimeout after the request
}

// serviceLoop runs the exporter as a service: it reports StartPending,
// starts run, reports Running, and answers controls until run returns on
// its own (a bad config, a port in use) or a Stop or Shutdown arrives.
// Then it closes run's stop channel, reports StopPending with checkpoints,
// and returns when run has returned or stopTimeout has passed. cmdOf maps
// the platform's control request (svc.ChangeRequest) to a serviceCmd.
//
// report must not block for long: on Windows it is a send to svc.Run's
// loop, which always receives. The loop keeps reading requests while it
// waits for run, so the SCM's control dispatcher is never left blocked.
func serviceLoop[R any](run func(stop <-chan struct{}) int, requests <-chan R, cmdOf func(R) serviceCmd, report func(serviceStatus), t serviceTimings) serviceResult {
	report(serviceStatus{State: stateStartPending, WaitHint: t.startWaitHint})
	stop := make(chan struct{})
	done := make(chan int, 1) // run's goroutine never blocks on it, even when abandoned
	go func() { done <- run(stop) }()
	current := serviceStatus{State: stateRunning}
	report(current)

running:
	for {
		select {
		case code := <-done:
			return serviceResult{code: code}
		case r := <-requests:
			switch cmdOf(r) {
			case cmdStop, cmdShutdown:
				break running
			default:
				// Interrogate, and anything the SCM should not have sent
				// since Running accepts only Stop and Shutdown: answer with
				// the status as it is.
				report(current)
			}
		}
	}

	close(stop)
	current = serviceStatus{State: stateStopPending, CheckPoint: 1, WaitHint: t.stopTimeout}
	report(current)
	tick := time.NewTicker(t.checkpoint)
	defer tick.Stop()
	deadline := time.NewTimer(t.stopTimeout)
	defer deadline.Stop()
	for {
		select {
		case code := <-done:
			return serviceResult{code: code, requested: true}
		case <-deadline.C:
			return serviceResult{requested: true, timedOut: true}
		case <-tick.C:
			current.CheckPoint++
			report(current)
		case <-requests:
			report(current)
		}
	}
}
