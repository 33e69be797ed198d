package integration

// The Windows build for real: the exporter cross-built for windows/amd64
// runs under Wine against a fake dhcpsapi.dll compiled by mingw-w64 from
// C declarations of Microsoft's documented structures
// (testdata/wine/dhcpsapi.c), so that a C compiler lays out the structures
// and the DLL loading, the calls, the pointer chasing and
// DhcpRpcFreeMemory run as on Windows.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/internal/testenv"
)

// run runs a command with env under ctx, failing the test with its output.
func runCmd(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func TestWindowsBuildUnderWine(t *testing.T) {
	testenv.NeedBinaries(t, "wine", "wineboot", "wineserver", "x86_64-w64-mingw32-gcc")
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	// A prefix of this run only; Wine's debug channels off; the fake DLLs
	// (native) preferred to Wine's builtin ones; no Mono or Gecko installer.
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEARCH=win64",
		"WINEDLLOVERRIDES=dhcpsapi=n;bcryptprimitives=n;mscoree=;mshtml=", "DISPLAY=")
	t.Cleanup(func() {
		// This prefix's wineserver only (wineserver -k acts on WINEPREFIX).
		cmd := exec.Command("wineserver", "-k")
		cmd.Env = env
		cmd.Run()
	})

	// Wine initialises a prefix in tens of seconds, longer on a loaded
	// machine.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	runCmd(t, ctx, dir, env, "wineboot", "--init")
	system32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(system32); err != nil {
		t.Fatalf("wineboot made no system32: %v", err)
	}
	// The exporter loads dhcpsapi.dll from System32 only
	// (windows.NewLazySystemDLL), as it must on Windows: the fake goes
	// there, in this run's prefix. bcryptprimitives.dll: see its source.
	src, _ := filepath.Abs("testdata/wine")
	runCmd(t, ctx, dir, env, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-Wall", "-Werror",
		"-o", filepath.Join(system32, "dhcpsapi.dll"), filepath.Join(src, "dhcpsapi.c"))
	// The same declarations for 32-bit Windows: the 386 offsets of the
	// superscope and MIB structures (dhcpsapi/layout_server.go), checked
	// by the compiler alone.
	runCmd(t, ctx, dir, env, "x86_64-w64-mingw32-gcc", "-m32", "-fsyntax-only", "-Wall", "-Werror", filepath.Join(src, "dhcpsapi.c"))
	runCmd(t, ctx, dir, env, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-Wall", "-Werror",
		"-o", filepath.Join(system32, "bcryptprimitives.dll"), filepath.Join(src, "bcryptprimitives.c"), "-lbcrypt")
	exe := filepath.Join(dir, "dhcp_failover_exporter.exe")
	root, _ := filepath.Abs("..")
	runCmd(t, ctx, root, append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0"),
		"go", "build", "-o", exe, ".")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	writeFile(t, filepath.Join(dir, "config.yml"), "targets:\n  - {name: win, source: windows, poll_interval: 2s, timeout: 2s}\n", 0o644)
	log, err := os.Create(filepath.Join(dir, "exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("wine", exe, "--config.file=config.yml", "--web.listen-address="+addr, "--log.level=debug")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("exporter log:\n%s", b)
		}
	})

	client := &http.Client{Timeout: 5 * time.Second}
	var m metrics
	var body, meter string
	// The fake reports, as the partner name of "fo-meter", the number of
	// the enumeration call and how many blocks were outstanding when it was
	// called: from the third call on, 0 says the exporter freed every block
	// of every earlier answer (relationships, scope statistics, subnets).
	waitFor(t, 3*time.Minute, "the Windows exporter's first polls under Wine", func() error {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the exporter under Wine exited: %v", err)
		default:
		}
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return err
		}
		body, m = string(b), parseExposition(string(b))
		if m.Get("dhcp_failover_up", "target", "win") != 1 {
			return fmt.Errorf("not up yet")
		}
		for s := range m {
			if strings.HasPrefix(s, "dhcp_failover_partner_info{") && label(s, "relationship") == "fo-meter" {
				var call, outstanding int
				n := label(s, "partner_name")
				if _, err := fmt.Sscanf(n, "call-%d-outstanding-%d", &call, &outstanding); err != nil {
					t.Fatalf("fo-meter partner name %q: %v", n, err)
				}
				if call < 3 {
					return fmt.Errorf("the fake DLL says %s", n)
				}
				if outstanding != 0 {
					t.Fatalf("the fake DLL says %s: the exporter did not free every block", n)
				}
				meter = s
				return nil
			}
		}
		return fmt.Errorf("no partner_info of fo-meter yet")
	})

	want := map[string]float64{
		meter: 1,
		series("dhcp_failover_partner_info", "partner_address", "192.0.2.1", "partner_name", "dhcp-a.example.net", "relationship", "fo-lab", "target", "win"): 1,
		series("dhcp_failover_relationship_info", "mode", "hot-standby", "relationship", "fo-lab", "role", "standby", "target", "win", "vendor", "windows"):   1,
		series("dhcp_failover_state", "relationship", "fo-lab", "side", "local", "state", "COMMUNICATION_INT", "target", "win"):                               1,
		series("dhcp_failover_state", "relationship", "fo-meter", "side", "local", "state", "NORMAL", "target", "win"):                                        1,
		series("dhcp_failover_mclt_seconds", "relationship", "fo-lab", "target", "win"):                                                                       3600,
		series("dhcp_failover_safe_period_seconds", "relationship", "fo-lab", "target", "win"):                                                                7200,
		series("dhcp_failover_hot_standby_reserve_ratio", "relationship", "fo-lab", "target", "win"):                                                          0.05,
		series("dhcp_failover_scopes", "relationship", "fo-lab", "target", "win"):                                                                             2,
		series("dhcp_failover_pool_size", "pool", "192.0.2.0/24", "relationship", "fo-lab", "target", "win"):                                                  200,
		series("dhcp_failover_pool_size", "pool", "198.51.100.0/23", "relationship", "fo-lab", "target", "win"):                                               500,
		series("dhcp_failover_pool_addresses", "pool", "192.0.2.0/24", "relationship", "fo-lab", "state", "in_use", "target", "win"):                          50,
		series("dhcp_failover_pool_addresses", "pool", "192.0.2.0/24", "relationship", "fo-lab", "state", "free", "target", "win"):                            150,
		series("dhcp_failover_pool_local_free_addresses", "pool", "192.0.2.0/24", "relationship", "fo-lab", "target", "win"):                                  8,
		series("dhcp_failover_pool_local_free_addresses", "pool", "198.51.100.0/23", "relationship", "fo-lab", "target", "win"):                               1,
		series("dhcp_failover_windows_pool_partner_free_addresses", "pool", "192.0.2.0/24", "relationship", "fo-lab", "target", "win"):                        142,
		series("dhcp_failover_windows_clock_offset_max_seconds", "target", "win"):                                                                             60,
		// The superscope as shared network, a scope in none as its own.
		series("dhcp_failover_pool_info", "pool", "192.0.2.0/24", "relationship", "fo-lab", "shared_network", "campus", "subnet", "192.0.2.0/24", "target", "win"):                1,
		series("dhcp_failover_pool_info", "pool", "198.51.100.0/23", "relationship", "fo-lab", "shared_network", "198.51.100.0/23", "subnet", "198.51.100.0/23", "target", "win"): 1,
		series("dhcp_failover_shared_network_size", "relationship", "fo-lab", "shared_network", "campus", "target", "win"):                                                        200,
		series("dhcp_failover_shared_network_local_free_addresses", "relationship", "fo-lab", "shared_network", "campus", "target", "win"):                                        8,
		series("dhcp_failover_windows_scope_info", "pool", "198.51.100.0/23", "relationship", "fo-lab", "scope_name", "lab-wifi", "target", "win"):                                1,
		// DhcpGetMibInfoV5: NAKs as the server's refusals, with the first
		// relationship by name; declines; pending offers.
		series("dhcp_failover_clients_refused_total", "reason", "nak", "relationship", "fo-lab", "shared_network", "", "subnet", "", "target", "win"): 17,
		series("dhcp_failover_windows_declines_total", "target", "win"):                                                                               3,
		series("dhcp_failover_windows_pool_pending_offers", "pool", "192.0.2.0/24", "relationship", "fo-lab", "target", "win"):                        4,
		series("dhcp_failover_windows_pool_pending_offers", "pool", "198.51.100.0/23", "relationship", "fo-lab", "target", "win"):                     1,
	}
	for s, v := range want {
		if got, ok := m[s]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", s, got, ok, v)
		}
	}
	// The server clock is this machine's: within a few seconds.
	if off := m.Get("dhcp_failover_windows_clock_offset_seconds", "target", "win"); !(off > -5 && off < 5) {
		t.Errorf("clock offset %v", off)
	}
	// The server started an hour ago, by its clock, which is this machine's.
	if st := m.Get("dhcp_failover_windows_server_start_time_seconds", "target", "win"); st < float64(time.Now().Add(-time.Hour-time.Minute).Unix()) || st > float64(time.Now().Add(-time.Hour+time.Minute).Unix()) {
		t.Errorf("server start time %v", st)
	}
	if strings.Contains(body, "never-read-secret") {
		t.Error("the relationship's shared secret reached /metrics")
	}
	if m.Sum("dhcp_failover_poll_errors_total", "target", "win") != 0 {
		t.Errorf("poll errors: %v", m.Sum("dhcp_failover_poll_errors_total", "target", "win"))
	}
}

// parseExposition maps each series of a text exposition to its value.
func parseExposition(text string) metrics {
	m := metrics{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				m[line[:i]] = v
			}
		}
	}
	return m
}
