//go:build linux

package netnstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a process started in a host's namespace.
type Proc struct {
	Pid     int
	LogPath string
	Name    string

	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	err  error // exit status, valid once done is closed
}

var logSeq struct {
	sync.Mutex
	n int
}

// Start runs argv inside h's namespace through `ip netns exec` (which execs
// the command, so Pid is the program's own PID). stdout and stderr go to a
// log file under t.TempDir(); its tail is printed if the test fails. The
// process is killed by PID in t.Cleanup.
func (h *Host) Start(t testing.TB, name string, argv ...string) *Proc {
	t.Helper()
	if len(argv) == 0 {
		t.Fatalf("netnstest: Start %s: empty argv", name)
	}
	logSeq.Lock()
	logSeq.n++
	n := logSeq.n
	logSeq.Unlock()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%s-%d.log", h.Name, name, n))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("netnstest: %v", err)
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a ^C to the test does not reach the daemons
	// before their cleanup does, and they never read the test's stdin.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("netnstest: start %s in %s: %v", name, h.NS, err)
	}
	p := &Proc{Pid: cmd.Process.Pid, LogPath: logPath, Name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("netnstest: last lines of %s (%s in %s, pid %d):\n%s", logPath, name, h.NS, p.Pid, tail(logPath, 40))
		}
	})
	return p
}

// Signal sends sig to the process, unless it has already exited (its PID
// may then belong to someone else).
func (p *Proc) Signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("netnstest: %s (pid %d) has exited", p.Name, p.Pid)
	default:
	}
	return syscall.Kill(p.Pid, sig)
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil for status 0).
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("netnstest: %s (pid %d) still running after %s", p.Name, p.Pid, timeout)
	}
}

// Kill sends SIGKILL (continuing a stopped process first) and waits for it.
func (p *Proc) kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(p.Pid, syscall.SIGKILL)
	_ = syscall.Kill(p.Pid, syscall.SIGCONT)
	_ = p.Wait(10 * time.Second)
}

// Log returns the process's output so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	l := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// Run runs a one-shot command in h's namespace (bounded by 30 s) and
// returns its combined output.
func (h *Host) Run(t testing.TB, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS}, argv...)...).CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("netnstest: %s in %s: timed out after %s", strings.Join(argv, " "), h.NS, cmdTimeout)
	}
	return string(out), err
}
