//go:build windows

package main

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
)

// These run only on a Windows host; on Linux, `make windows-check` builds
// and vets them.

func TestWindowsFlags(t *testing.T) {
	var help, stderr syncBuffer
	run([]string{"--help"}, &help, &stderr)
	for _, flag := range []string{"--service.name", "--log.file"} {
		if !strings.Contains(help.String(), flag) {
			t.Errorf("--help does not list %s:\n%s", flag, help.String())
		}
	}
}

func TestSvcTranslation(t *testing.T) {
	for _, tc := range []struct {
		in   serviceStatus
		want svc.Status
	}{
		{serviceStatus{State: stateStartPending, WaitHint: 10 * time.Second}, svc.Status{State: svc.StartPending, WaitHint: 10000}},
		{serviceStatus{State: stateRunning}, svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}},
		{serviceStatus{State: stateStopPending, CheckPoint: 4, WaitHint: 10 * time.Second}, svc.Status{State: svc.StopPending, CheckPoint: 4, WaitHint: 10000}},
	} {
		if got := svcStatus(tc.in); got != tc.want {
			t.Errorf("svcStatus(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for cmd, want := range map[svc.Cmd]serviceCmd{
		svc.Interrogate: cmdInterrogate,
		svc.Stop:        cmdStop,
		svc.Shutdown:    cmdShutdown,
		svc.Pause:       cmdOther,
		svc.PreShutdown: cmdOther,
	} {
		if got := svcCmd(svc.ChangeRequest{Cmd: cmd}); got != want {
			t.Errorf("svcCmd(%d) = %d, want %d", cmd, got, want)
		}
	}
}

func TestEventSourceRegistered(t *testing.T) {
	if eventSourceRegistered("dhcp_failover_exporter-test-no-such-source") {
		t.Error("a source that does not exist counts as registered")
	}
}
