// Command dhcp_failover_exporter is a Prometheus exporter for DHCPv4
// failover: it polls ISC dhcpd, Kea HA and Windows DHCP servers for their
// failover state and renders it as the FSM_STATE metric contract.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/dhcpfailover/dhcp_failover_exporter/collector"
	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
)

const exporterName = "dhcp_failover_exporter"

// subcommands beyond the exporter itself register here (the pcap analyzer).
var subcommands []func(app *kingpin.Application, stdout, stderr io.Writer) (cmd *kingpin.CmdClause, run func() int)

func main() {
	setGCPercent(os.Getenv)
	os.Exit(platformMain(os.Args[1:]))
}

// Without the Makefile's -ldflags (go run, go install) the version comes
// from the module's build information, so build_info is never empty.
func init() {
	if version.Version != "" {
		return
	}
	version.Version = "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && version.Revision == "" {
				version.Revision = s.Value
			}
		}
	}
}

// exitCode carries kingpin's wish to exit (after --help or --version) out
// of Parse, so that run returns instead of exiting the process.
type exitCode int

func run(args []string, stdout, stderr io.Writer) int {
	return runUntil(args, stdout, stderr, nil)
}

// runUntil is run that also shuts down, as on SIGTERM, when stop is closed:
// the Windows service's Stop (service.go). A nil stop never fires.
func runUntil(args []string, stdout, stderr io.Writer, stop <-chan struct{}) (code int) {
	app := kingpin.New(exporterName, "Prometheus exporter for DHCPv4 failover (ISC dhcpd, Kea HA, Windows DHCP).")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(func(c int) { panic(exitCode(c)) })
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	var (
		configFile    = app.Flag("config.file", "Exporter configuration file.").Default("dhcp_failover_exporter.yml").String()
		configCheck   = app.Flag("config.check", "Validate the configuration file and exit.").Bool()
		metricsPath   = app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
		adhocProbes   = app.Flag("web.probe-adhoc", "Allow /probe?source=KIND&... for servers that are not configured targets (off: anyone who can reach the exporter could make it connect anywhere).").Default("false").Bool()
		demo          = app.Flag("demo", "Serve two embedded simulated failover pairs (no configuration file needed).").Bool()
		demoCycle     = app.Flag("demo.cycle", "Duration of one whole fault cycle of the demo.").Default("10m").Duration()
		logLevel      = app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
		logFormat     = app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")
		toolkitFlags  = kingpinflag.AddFlags(app, ":9647")
		serveCmd      = app.Command("serve", "Run the exporter (the default).").Default()
		commandRunner = map[string]func() int{}
	)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	addPlatformFlags(app)
	for _, sc := range subcommands {
		cmd, f := sc(app, stdout, stderr)
		commandRunner[cmd.FullCommand()] = f
	}
	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	if f, ok := commandRunner[cmd]; ok {
		return f()
	}
	if cmd != serveCmd.FullCommand() {
		return 2
	}

	logger, bridgeLogger, err := newLogger(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 2
	}
	if *configCheck {
		cfg, err := config.Load(*configFile)
		if err == nil {
			err = collector.CheckBuilt(cfg)
		}
		if err == nil && len(cfg.Targets) == 0 {
			err = fmt.Errorf("%s: no targets: the exporter would poll nothing (add at least one under targets:, see the README's configuration reference; or run with --demo)", *configFile)
		}
		if err != nil {
			// Every error found, one per line, each naming file,
			// target and line where known.
			for _, e := range config.ErrorList(err) {
				fmt.Fprintf(stderr, "%s: invalid configuration: %v\n", exporterName, e)
			}
			return 1
		}
		for _, w := range append(cfg.Warnings(), collector.Preflight(cfg)...) {
			fmt.Fprintf(stderr, "%s: warning: %s: %s\n", exporterName, *configFile, w)
		}
		fmt.Fprintf(stdout, "%s: configuration %s is valid (%d targets)\n", exporterName, *configFile, len(cfg.Targets))
		return 0
	}

	level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	var loader func() (*config.Config, error)
	if *demo {
		if *demoCycle < config.MinSimulatedCycle {
			fmt.Fprintf(stderr, "%s: --demo.cycle must be at least %s\n", exporterName, model.Duration(config.MinSimulatedCycle))
			return 2
		}
		level.Info(logger).Log("msg", "Demo mode: serving two simulated failover pairs, not real DHCP servers", "cycle", *demoCycle)
		// Anchored once: a reload (SIGHUP) keeps the pairs' phases.
		demoStart := time.Now()
		loader = func() (*config.Config, error) { return config.DemoConfigFrom(*demoCycle, demoStart), nil }
	} else {
		path := *configFile
		loader = func() (*config.Config, error) { return config.Load(path) }
	}
	// Signals are caught before the first load: a SIGHUP or SIGTERM sent
	// while it runs must not kill the process by default.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	term := make(chan os.Signal, 1)
	signal.Notify(term, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(term)

	e := newExporter(logger, loader, *metricsPath, *adhocProbes)
	if err := e.reload(); err != nil {
		level.Error(logger).Log("msg", "Cannot load configuration", "err", err)
		return 1
	}
	stopReloads := make(chan struct{})
	reloadsDone := make(chan struct{})
	defer func() {
		// No reload may start targets once the agent stops.
		close(stopReloads)
		<-reloadsDone
		e.agent.Stop()
	}()
	go func() {
		defer close(reloadsDone)
		for {
			select {
			case <-stopReloads:
				return
			case <-hup:
				if err := e.reload(); err != nil {
					level.Error(logger).Log("msg", "Reload failed; keeping the previous configuration", "err", err)
				}
			}
		}
	}()

	srv := &http.Server{Handler: e.routes(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- web.ListenAndServe(srv, toolkitFlags, slogFor(bridgeLogger)) }()
	select {
	case err := <-errc:
		level.Error(logger).Log("msg", "HTTP server failed", "err", err)
		return 1
	case s := <-term:
		level.Info(logger).Log("msg", "Shutting down", "signal", s)
	case <-stop:
		level.Info(logger).Log("msg", "Shutting down", "reason", "stop requested")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		level.Warn(logger).Log("msg", "HTTP server did not shut down cleanly", "err", err)
	}
	return 0
}
