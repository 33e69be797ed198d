package collector

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"reflect"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	dto "github.com/prometheus/client_model/go"
)

// stopGrace bounds how long Stop waits for a target's goroutines. A source
// that ignores its context (a hung server behind a blocking call) is left
// to finish on its own rather than holding up a reload.
const stopGrace = 2 * time.Second

// Agent polls every configured target on its interval, keeps the latest
// observation of each, and is the prometheus.Gatherer that renders them.
type Agent struct {
	logger log.Logger
	now    func() time.Time

	applyMu sync.Mutex // serialises ApplyConfig and Stop
	stopped bool       // set by Stop, under applyMu: no target starts after it
	mu      sync.RWMutex
	runners map[string]*runner
	states  map[string]*targetState // kept across reloads while a target keeps its name
}

// runner owns the goroutines of one target.
type runner struct {
	cfg    config.Target
	src    Source
	state  *targetState
	cancel context.CancelFunc
	done   chan struct{}
	// inflight is set while a poll that overran its deadline still runs
	// (a source that ignores its context); owned by the poll loop.
	inflight chan struct{}
	// gen is the runner's generation of its target's state: a late result
	// of a replaced runner carries an old one and is dropped.
	gen uint64
	// files digests the files the target's settings name (secrets,
	// certificates), read when its source was built.
	files string
	// srcEncoded holds the source's own metrics as the last scrape of
	// each text format encoded them (GenerationalMetricsSource).
	srcMu      sync.Mutex
	srcEncoded [numTextFormats]generationEncoded
}

// generationEncoded is a source's own metrics encoded at a generation.
type generationEncoded struct {
	gen uint64
	et  *encodedTarget
}

// NewAgent returns an agent with no targets; ApplyConfig starts them.
func NewAgent(logger log.Logger) *Agent {
	return &Agent{logger: logger, now: time.Now, runners: map[string]*runner{}, states: map[string]*targetState{}}
}

// ApplyConfig replaces the targets: unchanged targets keep running, changed
// ones are restarted, removed ones are stopped. All sources are built before
// anything is changed, so a source that cannot be built leaves the running
// targets as they were. Sources are built and old targets are waited for
// outside the lock that scrapes take: a reload never holds up a scrape.
func (a *Agent) ApplyConfig(cfg *config.Config) error {
	_, err := a.ApplyConfigChanges(cfg)
	return err
}

// TargetChanges says what applying a configuration did, by target name
// (sorted): targets started, stopped, and restarted because their
// settings or the files they name changed; the others kept running.
type TargetChanges struct {
	Added, Removed, Rebuilt []string
	Unchanged               int
}

// ApplyConfigChanges is ApplyConfig that also says what changed.
func (a *Agent) ApplyConfigChanges(cfg *config.Config) (TargetChanges, error) {
	var ch TargetChanges
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	if a.stopped {
		return ch, errAgentStopped
	}
	a.mu.RLock()
	current := make(map[string]*runner, len(a.runners))
	for name, r := range a.runners {
		current[name] = r
	}
	a.mu.RUnlock()

	fresh := map[string]Source{}
	files := map[string]string{}
	for _, t := range cfg.Targets {
		files[t.Name] = config.FilesFingerprint(t)
		if old, ok := current[t.Name]; ok && reflect.DeepEqual(old.cfg, t) && old.files == files[t.Name] {
			continue
		}
		src, err := NewSource(t, a.logger)
		if err != nil {
			for _, s := range fresh {
				closeSource(s)
			}
			return ch, err
		}
		fresh[t.Name] = src
	}
	keep := map[string]bool{}
	for _, t := range cfg.Targets {
		keep[t.Name] = true
		switch _, running := current[t.Name]; {
		case !running:
			ch.Added = append(ch.Added, t.Name)
		case fresh[t.Name] != nil:
			ch.Rebuilt = append(ch.Rebuilt, t.Name)
		default:
			ch.Unchanged++
		}
	}
	for name := range current {
		if !keep[name] {
			ch.Removed = append(ch.Removed, name)
		}
	}
	sort.Strings(ch.Added)
	sort.Strings(ch.Removed)
	sort.Strings(ch.Rebuilt)

	a.mu.Lock()
	var stopping []*runner
	for name, r := range a.runners {
		if _, replaced := fresh[name]; replaced || !keep[name] {
			r.cancel() // before its successor starts on the same state
			stopping = append(stopping, r)
			delete(a.runners, name)
		}
	}
	for name := range a.states {
		if !keep[name] {
			delete(a.states, name)
		}
	}
	for _, t := range cfg.Targets {
		src, ok := fresh[t.Name]
		if !ok {
			continue
		}
		st, ok := a.states[t.Name]
		if !ok {
			st = newTargetState(t.Name, a.now())
			st.onUnknown = a.unknownStateLogger(t.Name)
			a.states[t.Name] = st
		}
		st.setGrace(t.DownGrace, a.now)
		r := a.start(t, src, st)
		r.files = files[t.Name]
		a.runners[t.Name] = r
	}
	a.mu.Unlock()
	a.stopRunners(stopping)
	return ch, nil
}

func (a *Agent) unknownStateLogger(target string) func(string, string) {
	return func(rel, native string) {
		level.Warn(a.logger).Log("msg", "Unknown failover state reported, shown as NO_STATE", "target", target, "relationship", rel, "state", native)
	}
}

// Stop stops every target.
func (a *Agent) Stop() {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	a.stopped = true
	a.mu.Lock()
	var all []*runner
	for name, r := range a.runners {
		all = append(all, r)
		delete(a.runners, name)
	}
	a.mu.Unlock()
	a.stopRunners(all)
}

func (a *Agent) stopRunners(rs []*runner) {
	for _, r := range rs {
		r.cancel()
	}
	deadline := time.After(stopGrace)
	for _, r := range rs {
		select {
		case <-r.done:
			closeSource(r.src)
		case <-deadline:
			level.Warn(a.logger).Log("msg", "Target did not stop in time; its poll is abandoned", "target", r.cfg.Name)
			go func(r *runner) { <-r.done; closeSource(r.src) }(r)
		}
	}
}

func closeSource(s Source) {
	if c, ok := s.(Closer); ok {
		c.Close()
	}
}

func (a *Agent) start(t config.Target, src Source, st *targetState) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cfg: t, src: src, state: st, cancel: cancel, done: make(chan struct{}), gen: st.nextGeneration()}
	var wg sync.WaitGroup
	if w, ok := src.(Watcher); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				// A watcher reads untrusted input for months: a panic in
				// it is logged with its stack and shows as a failed
				// target, never a dead exporter.
				if p := recover(); p != nil {
					err := a.panicked(t.Name, p)
					st.observeAs(r.gen, a.now(), pushed, nil, err)
				}
			}()
			w.Run(ctx, func(rels []failover.Relationship, err error) {
				if ctx.Err() == nil {
					st.observeAs(r.gen, a.now(), pushed, rels, err)
				}
			})
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.pollLoop(ctx, r)
	}()
	go func() {
		wg.Wait()
		if r.inflight != nil {
			<-r.inflight
		}
		close(r.done)
	}()
	return r
}

// pollLoop polls at once, then every poll_interval. Polls of one target are
// sequential, so there is never more than one in flight; a poll that
// overruns its interval delays the next tick rather than stacking up.
// After the first poll each target waits a phase of its own within the
// interval (from a hash of its name, as Prometheus spreads its scrapes),
// so that hundreds of targets do not all poll in the same instant.
func (a *Agent) pollLoop(ctx context.Context, r *runner) {
	a.pollOnce(ctx, r)
	phase := time.NewTimer(spreadPhase(r.cfg.Name, r.cfg.PollInterval))
	select {
	case <-ctx.Done():
		phase.Stop()
		return
	case <-phase.C:
	}
	tick := time.NewTicker(r.cfg.PollInterval)
	defer tick.Stop()
	for {
		a.pollOnce(ctx, r)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// spreadPhase is a stable offset in [0, interval) for a target.
func spreadPhase(name string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

func (a *Agent) pollOnce(ctx context.Context, r *runner) {
	start := a.now()
	if r.inflight != nil {
		select {
		case <-r.inflight:
			r.inflight = nil
		default:
			// The previous poll ignored its deadline and still runs: do not
			// start a second one against the same server.
			r.state.observeAs(r.gen, a.now(), 0, nil, Classified(ReasonTimeout, errPollStillRunning))
			return
		}
	}
	pctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	type result struct {
		rels []failover.Relationship
		err  error
	}
	done := make(chan struct{})
	resc := make(chan result, 1)
	go func() {
		defer close(done)
		rels, err := pollSafely(pctx, r.src, func(p any) error { return a.panicked(r.cfg.Name, p) })
		resc <- result{rels, err}
	}()
	var res result
	select {
	case res = <-resc:
	case <-pctx.Done():
		// Give a source that honours its context a moment to say why.
		select {
		case res = <-resc:
		case <-time.After(50 * time.Millisecond):
			r.inflight = done
			res.err = pctx.Err()
		}
	}
	if ctx.Err() != nil {
		return // stopped mid-poll: the result belongs to a target being replaced
	}
	// A successful answer that arrived within the grace above is kept even
	// if the deadline passed meanwhile: a source with history (the leases
	// file) has handed its transitions over and must not lose them.
	a.logHealth(r, res.err)
	r.state.observeAs(r.gen, a.now(), a.now().Sub(start), res.rels, res.err)
}

var (
	errPollStillRunning = errors.New("previous poll has not returned")
	errAgentStopped     = errors.New("the exporter is shutting down")
)

// logHealth logs a target's changes of health: one warning when it goes
// down, one info line when it is back. While it stays down, a change of
// reason (a host off the segment alternates "i/o timeout" and "no route
// to host") and every other failed poll are logged at debug only, so the
// default log says when and why without a line per poll interval.
func (a *Agent) logHealth(r *runner, err error) {
	r.state.mu.Lock()
	polled, wasUp, prevErr := r.state.polled, r.state.up, r.state.lastErr
	r.state.mu.Unlock()
	switch {
	case err != nil && (wasUp || !polled):
		level.Warn(a.logger).Log("msg", "Target cannot be polled", "target", r.cfg.Name, "reason", Classify(err), "err", err)
	case err != nil && Classify(prevErr) != Classify(err):
		level.Debug(a.logger).Log("msg", "Target still down, for another reason", "target", r.cfg.Name, "reason", Classify(err), "previous_reason", Classify(prevErr), "err", err)
	case err != nil:
		level.Debug(a.logger).Log("msg", "Poll failed", "target", r.cfg.Name, "reason", Classify(err), "err", err)
	case polled && !wasUp:
		level.Info(a.logger).Log("msg", "Target polled again", "target", r.cfg.Name)
	}
}

// pollSafely turns a panicking source into a failed poll (onPanic logs it
// and gives the error): one broken source must not take the exporter down.
func pollSafely(ctx context.Context, s Source, onPanic func(any) error) (rels []failover.Relationship, err error) {
	defer func() {
		if p := recover(); p != nil {
			rels, err = nil, onPanic(p)
		}
	}()
	return s.Poll(ctx)
}

// panicked logs a source's panic with its stack, so that a crash caused by
// input can be debugged, and returns the poll error it becomes.
func (a *Agent) panicked(target string, p any) error {
	return logPanic(a.logger, target, p)
}

func logPanic(logger log.Logger, target string, p any) error {
	level.Error(logger).Log("msg", "Source panicked; the target is reported down", "target", target, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return Classified(ReasonOther, fmt.Errorf("source panicked: %v", p))
}

// Gather merges the families every target rendered when its latest
// observation arrived, and the own metrics of the sources that have them
// (rendered now, into families of their own, see source_metrics.go). It
// serves the formats /metrics does not copy from encoded bytes (protobuf,
// OpenMetrics 2.0; exposition.go writes the text formats) and /probe.
// Apart from the first Gather of a target whose families a text scrape
// let go (rendered again once, then kept), it only appends pointers and
// never waits on a server; the contract
// families were validated (and sorted) per target when they were rendered,
// and series of different targets differ in their target label, so the
// merge needs no further checks. This keeps a scrape of hundreds of
// targets cheap, where a registry would re-validate and re-sort every
// series on every scrape.
func (a *Agent) Gather() ([]*dto.MetricFamily, error) {
	a.mu.RLock()
	names := make([]string, 0, len(a.runners))
	for name := range a.runners {
		names = append(names, name)
	}
	sort.Strings(names)
	byName := map[string]*dto.MetricFamily{}
	merge := func(mfs []*dto.MetricFamily) {
		for _, mf := range mfs {
			m, ok := byName[mf.GetName()]
			if !ok {
				m = &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Unit: mf.Unit}
				byName[mf.GetName()] = m
			}
			m.Metric = append(m.Metric, mf.Metric...)
		}
	}
	for _, name := range names {
		r := a.runners[name]
		merge(r.state.snapshot())
		if ms, ok := r.src.(MetricsSource); ok {
			merge(renderSourceMetrics(a.logger, name, ms))
		}
	}
	a.mu.RUnlock()
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		out = append(out, mf)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// Status returns the landing page's view of every target, sorted by name.
func (a *Agent) Status() []TargetStatus {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]TargetStatus, 0, len(a.runners))
	for _, r := range a.runners {
		st := r.state.status(r.cfg.Source)
		st.Address, st.Configured = config.Describe(r.cfg)
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Target returns the configuration of a running target.
func (a *Agent) Target(name string) (config.Target, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	r, ok := a.runners[name]
	if !ok {
		return config.Target{}, false
	}
	return r.cfg, true
}
