//go:build linux

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The whole binary's entry point: serve a config file, reload it on SIGHUP
// (keeping the old targets when the new file is broken), stop on SIGTERM.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	write := func(text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("targets:\n  - {name: sim-a, source: simulated, pair: p, server: a}\n")
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		// Info level: listenAddr reads the bound port from the log.
		done <- run([]string{"--config.file", path, "--web.listen-address", "127.0.0.1:0", "--log.level", "info"}, &stdout, &stderr)
	}()
	addr := listenAddr(t, stderr.String)
	url := "http://" + addr + "/metrics"
	waitBody := func(what string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if code, body := tryGet(url); code == 200 && ok(body) {
				return
			}
			if time.Now().After(deadline) {
				_, body := tryGet(url)
				t.Fatalf("waiting for %s; last scrape:\n%.2000s\nstderr: %s", what, body, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitBody("sim-a", func(b string) bool { return strings.Contains(b, `dhcp_failover_up{target="sim-a"}`) })

	write("targets:\n  - {name: sim-b, source: simulated, pair: p, server: a}\n")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitBody("sim-b after SIGHUP", func(b string) bool {
		return strings.Contains(b, `dhcp_failover_up{target="sim-b"}`) && !strings.Contains(b, `target="sim-a"`)
	})

	write("targets:\n  - {name: sim-c, source: nope}\n")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitBody("a failed reload", func(b string) bool {
		return strings.Contains(b, "dhcp_failover_exporter_config_last_reload_successful 0") &&
			strings.Contains(b, `dhcp_failover_up{target="sim-b"}`)
	})

	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run exited %d after SIGTERM: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

func tryGet(url string) (int, string) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, fmt.Sprint(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}
