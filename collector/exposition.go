package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"sort"
	"sync"

	"github.com/go-kit/log"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The text expositions of /metrics written from bytes encoded once per
// render, as kube-state-metrics writes its metrics stores: a target's
// series are encoded when its observation changes them (in the formats
// scraped so far) and copied by every scrape until the next render.
// Encoding the families on every scrape was most of a scrape's time
// (BenchmarkGather500Targets against BenchmarkScrape500Targets; README.md
// "Performance").
//
// The output is the one expfmt's encoder writes for the families Gather
// returns: each family's series are encoded one target at a time (every
// series line of the text formats depends on its own series only), the
// HELP and TYPE lines are written once per family, families in name
// order, and within a family the targets in name order, each target's
// contract series before its source's own (Gather's merge order).

// TextFormat is a text exposition format the agent writes from its
// encoded bytes.
type TextFormat int

const (
	// FormatText is the Prometheus text format 0.0.4.
	FormatText TextFormat = iota
	// FormatOpenMetrics is OpenMetrics 1.0 (and 0.0.1) text, without its "# EOF" line
	// (the caller's encoder writes it after its own families).
	FormatOpenMetrics
	numTextFormats
)

// TextFormatOf says whether a negotiated format is one the agent writes
// from its encoded bytes: the text format and OpenMetrics 1.0. Names and
// label names of the contract are legacy names, which every escaping
// scheme leaves as they are.
func TextFormatOf(f expfmt.Format) (TextFormat, bool) {
	switch f.FormatType() {
	case expfmt.TypeTextPlain:
		return FormatText, true
	case expfmt.TypeOpenMetrics:
		// 0.0.1 and 1.0.0 are the same encoding (expfmt's NewEncoder).
		_, params, err := mime.ParseMediaType(string(f))
		if v := params["version"]; err == nil && (v == expfmt.OpenMetricsVersion_1_0_0 || v == expfmt.OpenMetricsVersion_0_0_1) {
			return FormatOpenMetrics, true
		}
	}
	return 0, false
}

// encodedFamily is one family of one target: its HELP and TYPE lines
// (the same for every target) and its series lines.
type encodedFamily struct {
	id           int32 // familyID of its name (familyNames gives it back)
	header, body []byte
}

// encodedTarget is a target's families encoded in one format, in name
// order.
type encodedTarget struct {
	families []encodedFamily
}

// encodeFamilies encodes mfs one family at a time and splits each into
// its comment lines and its series. The target's bytes are one
// allocation: the encoding buffer is reused between targets, so that a
// poll leaves little garbage besides the families it rendered.
func encodeFamilies(mfs []*dto.MetricFamily, format TextFormat) (*encodedTarget, error) {
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer encodeBuffers.Put(buf)
	buf.Reset()
	type span struct{ start, split, end int }
	spans := make([]span, 0, len(mfs))
	named := make([]*dto.MetricFamily, 0, len(mfs))
	for _, mf := range mfs {
		if len(mf.Metric) == 0 {
			continue
		}
		start := buf.Len()
		var err error
		if format == FormatOpenMetrics {
			_, err = expfmt.MetricFamilyToOpenMetrics(buf, mf)
		} else {
			_, err = expfmt.MetricFamilyToText(buf, mf)
		}
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
		b := buf.Bytes()
		split := start
		for split < len(b) && b[split] == '#' {
			nl := bytes.IndexByte(b[split:], '\n')
			if nl < 0 {
				split = len(b)
				break
			}
			split += nl + 1
		}
		spans = append(spans, span{start, split, len(b)})
		named = append(named, mf)
	}
	all := bytes.Clone(buf.Bytes())
	et := &encodedTarget{families: make([]encodedFamily, len(spans))}
	for i, sp := range spans {
		et.families[i] = encodedFamily{id: familyID(named[i].GetName()), header: all[sp.start:sp.split:sp.split], body: all[sp.split:sp.end:sp.end]}
	}
	return et, nil
}

// encodeBuffers holds the buffers encodeFamilies encodes into.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// rerender renders the target's families again; the bytes encoded from
// the previous render are dropped. ts.mu is held.
func (ts *targetState) rerender() {
	ts.families = ts.render()
	ts.encoded = [numTextFormats]*encodedTarget{}
	ts.renders++
}

// encodeRendered encodes the latest render in the formats scrapes have
// asked for (wanted): the poll that changed the series pays for their
// encoding, once, and a scrape only copies bytes. A format nobody scraped
// is encoded by its first scrape. The families are immutable once
// rendered, so they are encoded without ts.mu: a scrape never waits on an
// encoding. Once encoded, the families themselves are dropped until a
// Gather asks for them (protobuf, /probe): a scrape of the text formats
// needs only the bytes, a third of the families' memory. ts.mu is not
// held.
func (ts *targetState) encodeRendered() {
	ts.mu.Lock()
	families, renders, wanted := ts.families, ts.renders, ts.wanted
	ts.mu.Unlock()
	if families == nil {
		return
	}
	var encoded [numTextFormats]*encodedTarget
	for f, want := range wanted {
		if want {
			// An error is the scrape's to report: it encodes again.
			encoded[f], _ = encodeFamilies(families, TextFormat(f))
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.renders != renders {
		return // rendered again meanwhile: the encoding of that render will do
	}
	for f, et := range encoded {
		if ts.encoded[f] == nil {
			ts.encoded[f] = et
		}
	}
	ts.dropEncodedFamilies()
}

// dropEncodedFamilies lets the families go once every wanted format is
// encoded, unless a Gather uses them; ts.mu is held.
func (ts *targetState) dropEncodedFamilies() {
	if ts.gathered {
		return
	}
	for f, want := range ts.wanted {
		if want && ts.encoded[f] == nil {
			return
		}
	}
	ts.families = nil
}

// renderedFamilies returns the families of the latest render, rendering
// them again if rerender dropped them; ts.mu is held.
func (ts *targetState) renderedFamilies() []*dto.MetricFamily {
	if ts.families == nil {
		ts.families = ts.render()
	}
	return ts.families
}

// snapshotEncoded is snapshot in an encoded format.
func (ts *targetState) snapshotEncoded(format TextFormat) (*encodedTarget, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.shown && !ts.up && !ts.inGrace(ts.clock()) {
		ts.shown = false
		ts.rerender()
	}
	ts.wanted[format] = true
	if et := ts.encoded[format]; et != nil {
		return et, nil
	}
	et, err := encodeFamilies(ts.renderedFamilies(), format)
	if err != nil {
		return nil, err
	}
	ts.encoded[format] = et
	ts.dropEncodedFamilies()
	return et, nil
}

// WriteText writes what Gather returns in format, from the encoded bytes
// of every target (a source's own metrics are rendered and encoded now,
// as Gather renders them). It returns the bytes written.
func (a *Agent) WriteText(w io.Writer, format TextFormat) (int64, error) {
	if format < 0 || format >= numTextFormats {
		return 0, fmt.Errorf("collector: unknown text format %d", format)
	}
	a.mu.RLock()
	names := make([]string, 0, len(a.runners))
	for name := range a.runners {
		names = append(names, name)
	}
	sort.Strings(names)
	// Each target's contract families, then its source's own, in Gather's
	// order; each list in name order.
	ets := make([]*encodedTarget, 0, len(names))
	var firstErr error
	for _, name := range names {
		r := a.runners[name]
		et, err := r.state.snapshotEncoded(format)
		if err != nil {
			firstErr = fmt.Errorf("target %s: %w", name, err)
			break
		}
		ets = append(ets, et)
		if ms, ok := r.src.(MetricsSource); ok {
			et, err := r.sourceEncoded(a.logger, name, ms, format)
			if err != nil {
				firstErr = fmt.Errorf("target %s: %w", name, err)
				break
			}
			ets = append(ets, et)
		}
	}
	a.mu.RUnlock()
	if firstErr != nil {
		return 0, firstErr
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, writeBuffer)
	mergeFamilies(bw, ets)
	err := bw.Flush()
	return cw.n, err
}

// sourceEncoded returns the source's own metrics encoded in format: the
// bytes of an earlier scrape while a GenerationalMetricsSource says they
// have not changed, else rendered and encoded now.
func (r *runner) sourceEncoded(logger log.Logger, target string, ms MetricsSource, format TextFormat) (*encodedTarget, error) {
	gs, ok := ms.(GenerationalMetricsSource)
	if !ok {
		return encodeFamilies(renderSourceMetrics(logger, target, ms), format)
	}
	gen, cacheable := gs.MetricsGeneration()
	r.srcMu.Lock()
	defer r.srcMu.Unlock()
	if c := r.srcEncoded[format]; cacheable && c.et != nil && c.gen == gen {
		return c.et, nil
	}
	et, err := encodeFamilies(renderSourceMetrics(logger, target, ms), format)
	if err != nil {
		return nil, err
	}
	// The generation read before rendering: a change during the render
	// leaves a newer generation, and the next scrape renders again.
	r.srcEncoded[format] = generationEncoded{}
	if cacheable {
		r.srcEncoded[format] = generationEncoded{gen: gen, et: et}
	}
	return et, nil
}

// writeBuffer is what WriteText hands its writer at once: a gzip writer
// compresses and checksums a few large writes faster than a target's
// family at a time (tens of bytes for a target's up series).
const writeBuffer = 32 << 10

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
