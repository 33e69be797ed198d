package main

import (
	"bufio"
	"context"
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
	// A failed write (a closed pipe) ends the analysis: the rest of a
	// large capture would be read for nothing.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := bufio.NewWriterSize(stdout, 64<<10)
	o := peer.AnalyzeOptions{Ports: ports}
	// Both formats stream the timeline as it is read: memory stays
	// bounded by the connections of the capture, not its messages.
	var js *peer.JSONStream
	switch {
	case format == "json":
		js = peer.NewJSONStream(w, timeline)
		if timeline {
			o.Timeline = func(e *peer.Event) {
				if err := js.Event(e); err != nil {
					cancel()
				}
			}
		}
	case timeline:
		var line []byte
		o.Timeline = func(e *peer.Event) {
			line = e.AppendText(line[:0])
			if _, err := w.Write(line); err != nil {
				cancel()
			}
		}
	}
	r, err := peer.Analyze(ctx, c, o)
	var werr error
	if js != nil {
		werr = js.Close(r)
	} else {
		werr = r.WriteText(w)
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr != nil {
		// Also when a write error cancelled the analysis: it is the
		// cause, err just says "canceled".
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, werr)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", exporterName, err)
		return 1
	}
	return 0
}
