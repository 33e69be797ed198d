package isclog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type lines struct {
	got      []string
	restarts []Restart
}

func (l *lines) Line(b []byte)     { l.got = append(l.got, string(b)) }
func (l *lines) Restart(r Restart) { l.restarts = append(l.restarts, r) }

func (l *lines) take() []string {
	g := l.got
	l.got = nil
	return g
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func follow(t *testing.T, f *Follower, h Handler) {
	t.Helper()
	if err := f.Follow(context.Background(), time.Time{}, h); err != nil {
		t.Fatal(err)
	}
}

func eq(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n") && len(a) == len(b)
}

// TestFollowerFromEnd: history before the start is not read; a line being
// written at the start is skipped whole; partial lines wait for their
// newline.
func TestFollowerFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.log")
	appendFile(t, path, strings.Repeat("old history\n", 10)+"half of a li")
	f := NewFollower(path)
	defer f.Close()
	var h lines
	follow(t, f, &h)
	if g := h.take(); len(g) != 0 {
		t.Fatalf("history read: %q", g)
	}
	appendFile(t, path, "ne\nnew 1\nnew 2 partial")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"new 1"}) {
		t.Fatalf("got %q", g)
	}
	appendFile(t, path, " and its end\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"new 2 partial and its end"}) {
		t.Fatalf("got %q", g)
	}
	if len(h.restarts) != 0 {
		t.Errorf("restarts %v", h.restarts)
	}
}

// TestFollowerRotation: logrotate's rename and create; the old file's last
// lines are read before the new file, which is read from its start.
func TestFollowerRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dhcpd.log")
	appendFile(t, path, "old\n")
	f := NewFollower(path)
	defer f.Close()
	var h lines
	follow(t, f, &h)
	appendFile(t, path, "a\nlast before rotation")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"a"}) {
		t.Fatalf("got %q", g)
	}
	appendFile(t, path, "'s end\nb\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	// The path missing between rename and create.
	if err := f.Follow(context.Background(), time.Time{}, &h); !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("Follow on a missing path: %v", err)
	}
	if g := h.take(); !eq(g, []string{"last before rotation's end", "b"}) {
		t.Fatalf("got %q", g)
	}
	appendFile(t, path, "c\nd\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"c", "d"}) {
		t.Fatalf("got %q", g)
	}
	// Rename over the path without a gap.
	appendFile(t, path+".new", "e\n")
	appendFile(t, path, "d2\n")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"d2", "e"}) {
		t.Fatalf("got %q", g)
	}
	if !(len(h.restarts) == 2 && h.restarts[0] == RestartRotated && h.restarts[1] == RestartRotated) {
		t.Errorf("restarts %v", h.restarts)
	}
}

// TestFollowerTruncation: logrotate's copytruncate, and a file rewritten
// in place to its old size.
func TestFollowerTruncation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.log")
	appendFile(t, path, "")
	f := NewFollower(path)
	defer f.Close()
	var h lines
	follow(t, f, &h)
	appendFile(t, path, "one line of the log, long enough\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"one line of the log, long enough"}) {
		t.Fatalf("got %q", g)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "x\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"x"}) {
		t.Fatalf("got %q", g)
	}
	if err := os.WriteFile(path, []byte("y\n"), 0o644); err != nil { // in place, same size
		t.Fatal(err)
	}
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"y"}) {
		t.Fatalf("got %q", g)
	}
	if !(len(h.restarts) == 2 && h.restarts[0] == RestartTruncated && h.restarts[1] == RestartTruncated) {
		t.Errorf("restarts %v", h.restarts)
	}
}

// TestFollowerMissingAtStart: a file that appears after the start is
// read from its start.
func TestFollowerMissingAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.log")
	f := NewFollower(path)
	defer f.Close()
	var h lines
	if err := f.Follow(context.Background(), time.Time{}, &h); err == nil {
		t.Fatal("no error on a missing file")
	}
	appendFile(t, path, "first\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"first"}) {
		t.Fatalf("got %q", g)
	}
}

// TestFollowerLongLines: a line past MaxLine is skipped whole, in one
// read or across reads, and memory stays bounded.
func TestFollowerLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcpd.log")
	appendFile(t, path, "")
	f := NewFollower(path)
	defer f.Close()
	var h lines
	follow(t, f, &h)
	long := strings.Repeat("z", 3*ReadSize)
	appendFile(t, path, "a\n"+long+"\nb\n"+strings.Repeat("y", MaxLine)+"\n"+strings.Repeat("w", MaxLine-10))
	follow(t, f, &h)
	appendFile(t, path, strings.Repeat("w", 20)+"\nc\n")
	follow(t, f, &h)
	if g := h.take(); !eq(g, []string{"a", "b", strings.Repeat("y", MaxLine), "c"}) {
		t.Fatalf("got %d lines", len(g))
	}
	if f.Long != 2 {
		t.Errorf("Long = %d, want 2", f.Long)
	}
	if cap(f.partial) > 2*MaxLine {
		t.Errorf("partial line buffer %d bytes", cap(f.partial))
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestFeedSplits: the lines are the same wherever reads cut the file.
func TestFeedSplits(t *testing.T) {
	b, err := os.ReadFile("testdata/syslog.log")
	if err != nil {
		t.Fatal(err)
	}
	var whole lines
	(&Follower{}).feed(b, &whole)
	if len(whole.got) != strings.Count(string(b), "\n") {
		t.Fatalf("%d lines of %d", len(whole.got), strings.Count(string(b), "\n"))
	}
	for cut := 0; cut <= len(b); cut++ {
		for _, step := range []int{1, 7, 100} {
			var h lines
			f := &Follower{}
			f.feed(b[:cut], &h)
			for rest := b[cut:]; len(rest) > 0; {
				n := min(step, len(rest))
				f.feed(rest[:n], &h)
				rest = rest[n:]
			}
			if !eq(h.got, whole.got) {
				t.Fatalf("cut %d step %d: %d lines, want %d", cut, step, len(h.got), len(whole.got))
			}
		}
	}
}
