package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/alecthomas/kingpin/v2"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
)

// The analyze subcommand: what an operator runs on a capture when
// failover misbehaves (docs/peer.md).
func init() {
	subcommands = append(subcommands, analyzeCommand)
}

func analyzeCommand(app *kingpin.Application, stdout, stderr io.Writer) (*kingpin.CmdClause, func() int) {
	cmd := app.Command("analyze", "Decode the failover conversations in a pcap or pcapng file: a timeline and a summary per connection.")
	file := cmd.Arg("file", "Capture file (pcap or pcapng), e.g. from tcpdump -w.").Required().String()
	format := cmd.Flag("format", "Output format.").Default("text").Enum("text", "json")
	ports := cmd.Flag("port", "TCP port of the failover protocol (repeatable; default 647 and 847).").Uint16List()
	timeline := cmd.Flag("timeline", "Print every message (--no-timeline: the summaries only).").Default("true").Bool()
	return cmd, func() int {
		return runAnalyze(*file, *format, *ports, *timeline, stdout, stderr)
	}
}

func runAnalyze(file, format string, ports []uint16, timeline bool, stdout, stderr io.Writer) int {
	c, err := peer.OpenFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 1
	}
	defer c.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w := bufio.NewWriterSize(stdout, 64<<10)
	defer w.Flush()
	o := peer.AnalyzeOptions{Ports: ports, CollectTimeline: format == "json" && timeline}
	if format == "text" && timeline {
		var line []byte
		o.Timeline = func(e *peer.Event) {
			line = e.AppendText(line[:0])
			w.Write(line)
		}
	}
	r, err := peer.Analyze(ctx, c, o)
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if e := enc.Encode(r); e != nil {
			fmt.Fprintf(stderr, "%s: %v\n", exporterName, e)
			return 1
		}
	default:
		if e := r.WriteText(w); e != nil {
			fmt.Fprintf(stderr, "%s: %v\n", exporterName, e)
			return 1
		}
	}
	if err != nil {
		w.Flush()
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 1
	}
	return 0
}
