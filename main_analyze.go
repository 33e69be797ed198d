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
	// bounded by the connections of the capture, not its messages. The
	// events are written by a goroutine of their own (formatting is half
	// the work), fed in batches, in order.
	var js *peer.JSONStream
	var write func(e *peer.Event) error
	switch {
	case format == "json":
		js = peer.NewJSONStream(w, timeline)
		if timeline {
			write = js.Event
		}
	case timeline:
		var line []byte
		write = func(e *peer.Event) error {
			line = e.AppendText(line[:0])
			_, err := w.Write(line)
			return err
		}
	}
	var tl *timelineWriter
	if write != nil {
		tl = newTimelineWriter(write, cancel)
		o.EventSlot, o.Timeline = tl.slot, tl.commit
	}
	r, err := peer.Analyze(ctx, c, o)
	var werr error
	if tl != nil {
		werr = tl.close()
	}
	if werr == nil {
		if js != nil {
			werr = js.Close(r)
		} else {
			werr = r.WriteText(w)
		}
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

// timelineWriter hands the events of an analysis to a goroutine that
// writes them, in batches: the analysis decodes the next packets while
// the previous events are formatted. Its goroutine ends with close.
type timelineWriter struct {
	write  func(*peer.Event) error
	cancel func() // called on the first write error: the analysis stops
	cur    []peer.Event
	full   chan []peer.Event // to the writer, in order
	free   chan []peer.Event // emptied batches back
	done   chan error        // the first write error, when the writer ends
}

// Batches of events in flight: enough to keep both goroutines busy, a
// few hundred kilobytes in all.
const (
	timelineBatch   = 1024
	timelineBatches = 4
)

func newTimelineWriter(write func(*peer.Event) error, cancel func()) *timelineWriter {
	t := &timelineWriter{write: write, cancel: cancel,
		full: make(chan []peer.Event, timelineBatches), free: make(chan []peer.Event, timelineBatches),
		done: make(chan error, 1)}
	for range timelineBatches - 1 {
		t.free <- make([]peer.Event, 0, timelineBatch)
	}
	t.cur = make([]peer.Event, 0, timelineBatch)
	go t.run()
	return t
}

func (t *timelineWriter) run() {
	var err error
	for batch := range t.full {
		for i := range batch {
			if err == nil {
				if err = t.write(&batch[i]); err != nil {
					t.cancel()
				}
			}
		}
		// The events are not cleared: slot hands each out again to be
		// overwritten whole, and a few batches' strings are all they hold.
		t.free <- batch[:0]
	}
	t.done <- err
}

// slot returns the place of the next event in the current batch, for
// Analyze to fill (peer.AnalyzeOptions.EventSlot): no event is copied.
func (t *timelineWriter) slot() *peer.Event {
	t.cur = t.cur[:len(t.cur)+1]
	return &t.cur[len(t.cur)-1]
}

// commit takes the event slot returned, filled; a full batch goes to the
// writer.
func (t *timelineWriter) commit(*peer.Event) {
	if len(t.cur) == timelineBatch {
		t.full <- t.cur
		t.cur = <-t.free
	}
}

// close writes what is queued, ends the goroutine and returns the first
// write error.
func (t *timelineWriter) close() error {
	if len(t.cur) > 0 {
		t.full <- t.cur
		t.cur = nil
	}
	close(t.full)
	return <-t.done
}
