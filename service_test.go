package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fastTimings keep the loop's tests short; the ratios match the defaults.
var fastTimings = serviceTimings{startWaitHint: time.Second, checkpoint: 20 * time.Millisecond, stopTimeout: 300 * time.Millisecond}

// fakeSCM plays the Service Control Manager: it sends control requests on a
// channel, as svc.Run does, and records every status the handler reports.
type fakeSCM struct {
	requests chan serviceCmd
	statuses chan serviceStatus
	result   chan serviceResult
}

func startFakeSCM(run func(stop <-chan struct{}) int, t serviceTimings) *fakeSCM {
	f := &fakeSCM{requests: make(chan serviceCmd), statuses: make(chan serviceStatus, 1000), result: make(chan serviceResult, 1)}
	go func() {
		f.result <- serviceLoop(run, f.requests, func(c serviceCmd) serviceCmd { return c }, func(s serviceStatus) { f.statuses <- s }, t)
	}()
	return f
}

func (f *fakeSCM) expect(t *testing.T, want serviceStatus) {
	t.Helper()
	select {
	case got := <-f.statuses:
		if got != want {
			t.Fatalf("status %+v (%v), want %+v (%v)", got, got.State, want, want.State)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no status reported; want %+v", want)
	}
}

func (f *fakeSCM) send(t *testing.T, c serviceCmd) {
	t.Helper()
	select {
	case f.requests <- c:
	case <-time.After(5 * time.Second):
		t.Fatalf("the handler does not read control %d", c)
	}
}

func (f *fakeSCM) wait(t *testing.T) serviceResult {
	t.Helper()
	select {
	case r := <-f.result:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not return")
	}
	return serviceResult{}
}

// noMoreStatuses checks that nothing but StopPending checkpoints arrived
// after the last expected status.
func (f *fakeSCM) noMoreStatuses(t *testing.T) {
	t.Helper()
	for {
		select {
		case s := <-f.statuses:
			if s.State != stateStopPending {
				t.Fatalf("unexpected status %+v (%v)", s, s.State)
			}
		default:
			return
		}
	}
}

var (
	startPending = serviceStatus{State: stateStartPending, WaitHint: fastTimings.startWaitHint}
	running      = serviceStatus{State: stateRunning}
)

func stopPending(cp uint32) serviceStatus {
	return serviceStatus{State: stateStopPending, CheckPoint: cp, WaitHint: fastTimings.stopTimeout}
}

// runUntilStopped stands in for runUntil: it returns code once stop closes.
func runUntilStopped(code int, stopped chan<- struct{}) func(<-chan struct{}) int {
	return func(stop <-chan struct{}) int {
		<-stop
		close(stopped)
		return code
	}
}

func TestServiceLoopStopAndShutdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  serviceCmd
		code int
	}{
		{"stop", cmdStop, 0},
		{"shutdown", cmdShutdown, 0},
		{"stop, run fails while stopping", cmdStop, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stopped := make(chan struct{})
			scm := startFakeSCM(runUntilStopped(tc.code, stopped), fastTimings)
			scm.expect(t, startPending)
			scm.expect(t, running)
			// Interrogate, and a control Running does not accept, are
			// answered with the current status and change nothing.
			scm.send(t, cmdInterrogate)
			scm.expect(t, running)
			scm.send(t, cmdOther)
			scm.expect(t, running)
			select {
			case <-stopped:
				t.Fatal("run stopped before any stop request")
			default:
			}
			scm.send(t, tc.cmd)
			scm.expect(t, stopPending(1))
			got := scm.wait(t)
			if want := (serviceResult{code: tc.code, requested: true}); got != want {
				t.Fatalf("result %+v, want %+v", got, want)
			}
			<-stopped
			scm.noMoreStatuses(t)
		})
	}
}

// The exporter ends by itself (bad config, port in use): the loop returns
// its code without a stop request, so the SCM records the failure.
func TestServiceLoopRunEndsByItself(t *testing.T) {
	release := make(chan struct{})
	scm := startFakeSCM(func(stop <-chan struct{}) int { <-release; return 1 }, fastTimings)
	scm.expect(t, startPending)
	scm.expect(t, running)
	close(release)
	if got, want := scm.wait(t), (serviceResult{code: 1}); got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	scm.noMoreStatuses(t)
}

// A run that does not stop: controls are still read and answered while
// StopPending, and after stopTimeout the loop returns anyway.
func TestServiceLoopStopTimeout(t *testing.T) {
	never := make(chan struct{})
	defer close(never)
	timings := fastTimings
	timings.checkpoint = time.Hour // no checkpoints in between: replies are exact
	begin := time.Now()
	scm := startFakeSCM(func(<-chan struct{}) int { <-never; return 0 }, timings)
	scm.expect(t, startPending)
	scm.expect(t, running)
	scm.send(t, cmdStop)
	scm.expect(t, stopPending(1))
	scm.send(t, cmdStop) // a second stop while stopping
	scm.expect(t, stopPending(1))
	scm.send(t, cmdInterrogate)
	scm.expect(t, stopPending(1))
	got := scm.wait(t)
	if want := (serviceResult{requested: true, timedOut: true}); got != want {
		t.Fatalf("result %+v, want %+v", got, want)
	}
	if d := time.Since(begin); d < timings.stopTimeout {
		t.Fatalf("returned after %v, before stopTimeout %v", d, timings.stopTimeout)
	}
	scm.noMoreStatuses(t)
}

// While StopPending, the checkpoint goes up by one every interval, so the
// SCM does not take the wait for a hang.
func TestServiceLoopCheckpoints(t *testing.T) {
	never := make(chan struct{})
	defer close(never)
	scm := startFakeSCM(func(<-chan struct{}) int { <-never; return 0 }, fastTimings)
	scm.expect(t, startPending)
	scm.expect(t, running)
	scm.send(t, cmdStop)
	scm.wait(t)
	var last uint32
	for done := false; !done; {
		select {
		case s := <-scm.statuses:
			if want := stopPending(last + 1); s != want {
				t.Fatalf("status %+v, want %+v", s, want)
			}
			last = s.CheckPoint
		default:
			done = true
		}
	}
	// 300 ms at one checkpoint per 20 ms, with a wide margin for a busy machine.
	if max := uint32(fastTimings.stopTimeout/fastTimings.checkpoint) + 1; last < 3 || last > max {
		t.Fatalf("%d checkpoints within stopTimeout, want 3 to %d", last, max)
	}
}

func TestDefaultServiceTimings(t *testing.T) {
	d := defaultServiceTimings
	// runUntil's own bound: 5 s HTTP shutdown + 2 s agent stopGrace.
	if d.stopTimeout < 7*time.Second {
		t.Errorf("stopTimeout %v is shorter than runUntil's own shutdown", d.stopTimeout)
	}
	if d.checkpoint >= d.stopTimeout {
		t.Errorf("checkpoint %v must come well within the WaitHint %v", d.checkpoint, d.stopTimeout)
	}
}

// freeAddr returns a loopback address nothing listened on a moment ago
// (a target whose polls must fail). An exporter under test listens on
// 127.0.0.1:0 instead, and listenAddr reads the port it got.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// listeningOn is the exporter-toolkit's log line naming the bound address.
var listeningOn = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// listenAddr waits until an exporter started with --web.listen-address
// 127.0.0.1:0 logs (at info level) the address it listens on, and returns
// it: no port is chosen, closed and reused, so no other process can take
// it in between.
func listenAddr(t *testing.T, logs func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningOn.FindStringSubmatch(logs()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter did not log its listening address; logs:\n%s", logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitServing waits until the exporter at addr answers /-/healthy.
func waitServing(t *testing.T, addr string, logs *syncBuffer) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter at %s not serving: %v\nlogs: %s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkClosed checks that the HTTP server was shut down: nothing accepts
// connections on its address any more.
func checkClosed(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after run returned", addr)
	}
}

// The stop channel path of the real entry point: closing stop shuts the
// HTTP server down and run returns 0, as after SIGTERM.
func TestRunUntilStop(t *testing.T) {
	var stdout, stderr syncBuffer
	stop := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- runUntil([]string{"--demo", "--web.listen-address", "127.0.0.1:0"}, &stdout, &stderr, stop)
	}()
	addr := listenAddr(t, stderr.String)
	waitServing(t, addr, &stderr)
	close(stop)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("runUntil returned %d after stop; logs: %s", code, stderr.String())
		}
	case <-time.After(defaultServiceTimings.stopTimeout):
		t.Fatal("runUntil did not return within the service's stopTimeout")
	}
	checkClosed(t, addr)
	if !strings.Contains(stderr.String(), `msg="Shutting down" reason="stop requested"`) {
		t.Errorf("no shutdown log line; logs: %s", stderr.String())
	}
}

// The whole service path short of the Windows API: serviceLoop running the
// real runUntil with its logs going to the Event Log writer. A Stop ends
// it with 0 and a free port; the entries carry the right types and no
// secret from the configuration.
func TestServiceLoopRunsExporter(t *testing.T) {
	const password = "svc-kea-password-never-logged-7"
	refused := freeAddr(t) // polls fail: the failures are logged at debug
	path := filepath.Join(t.TempDir(), "config.yml")
	cfg := "targets:\n  - name: kea\n    source: kea\n    url: http://" + refused + "/\n    relationship: p\n" +
		"    poll_interval: 1s\n    timeout: 500ms\n    basic_auth: {username: exporter, password: \"" + password + "\"}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	events := &fakeEvents{}
	stdout, stderr := eventWriter{events, eventInfo}, eventWriter{events, eventError}
	args := []string{"--config.file", path, "--web.listen-address", "127.0.0.1:0", "--log.level", "debug"}
	scm := startFakeSCM(func(stop <-chan struct{}) int { return runUntil(args, stdout, stderr, stop) }, defaultServiceTimings)
	scm.expect(t, serviceStatus{State: stateStartPending, WaitHint: defaultServiceTimings.startWaitHint})
	scm.expect(t, serviceStatus{State: stateRunning})
	addr := listenAddr(t, events.String)
	var logs syncBuffer
	waitServing(t, addr, &logs)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(events.String(), "Poll failed") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	scm.send(t, cmdStop)
	scm.expect(t, serviceStatus{State: stateStopPending, CheckPoint: 1, WaitHint: defaultServiceTimings.stopTimeout})
	if got, want := scm.wait(t), (serviceResult{requested: true}); got != want {
		t.Fatalf("result %+v, want %+v; events:\n%s", got, want, events.String())
	}
	checkClosed(t, addr)
	all := events.String()
	for _, want := range []string{
		"info 1 ", // "Starting dhcp_failover_exporter"
		`msg="Shutting down" reason="stop requested"`,
		"Poll failed",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in the events:\n%s", want, all)
		}
	}
	if strings.Contains(all, password) {
		t.Fatalf("the password leaked into the Event Log:\n%s", all)
	}
	for _, e := range events.list() {
		if want, ok := lineLevel([]byte(e.msg)); !ok || want != e.lvl {
			t.Errorf("entry of type %v has level %v: %s", e.lvl, want, e.msg)
		}
	}
}

// fakeEvents records what eventWriter reports, as *eventlog.Log would.
type fakeEvents struct {
	buf     syncBuffer
	entries []fakeEntry
	failing bool
}

type fakeEntry struct {
	lvl eventLevel
	id  uint32
	msg string
}

func (f *fakeEvents) add(lvl eventLevel, id uint32, msg string) error {
	f.buf.mu.Lock()
	defer f.buf.mu.Unlock()
	if f.failing {
		return os.ErrClosed
	}
	f.entries = append(f.entries, fakeEntry{lvl, id, msg})
	name := [...]string{"info", "warning", "error"}[lvl]
	f.buf.b.WriteString(name + " " + string(rune('0'+id)) + " " + msg + "\n")
	return nil
}

func (f *fakeEvents) Info(id uint32, msg string) error    { return f.add(eventInfo, id, msg) }
func (f *fakeEvents) Warning(id uint32, msg string) error { return f.add(eventWarning, id, msg) }
func (f *fakeEvents) Error(id uint32, msg string) error   { return f.add(eventError, id, msg) }
func (f *fakeEvents) String() string                      { return f.buf.String() }

func (f *fakeEvents) list() []fakeEntry {
	f.buf.mu.Lock()
	defer f.buf.mu.Unlock()
	return append([]fakeEntry(nil), f.entries...)
}
