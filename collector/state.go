package collector

import (
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	dto "github.com/prometheus/client_model/go"
)

// transitionKey names one transition counter of a relationship.
type transitionKey struct {
	partner  bool
	from, to failover.State
}

// sideMemory is what the agent remembers of one side between polls.
type sideMemory struct {
	seen      bool
	state     failover.State
	start     time.Time // as reported; zero if the source has none
	firstSeen time.Time // when the agent first saw the current state
}

// relState is the agent's memory of one relationship of one target.
type relState struct {
	present     bool // in the latest successful observation
	obs         failover.Relationship
	local       sideMemory
	partner     sideMemory
	transitions map[transitionKey]float64
	created     map[transitionKey]time.Time
}

// targetState holds everything rendered for one target. Its metrics are
// rebuilt after every observation, so that a scrape only copies them: a
// scrape never waits on a server, and costs the same however slow it is.
type targetState struct {
	name string

	mu        sync.Mutex
	polled    bool
	up        bool
	lastPoll  time.Time
	duration  time.Duration
	lastErr   error
	errors    map[Reason]float64
	createdAt time.Time
	rels      map[string]*relState
	relOrder  []string
	families  []*dto.MetricFamily // rendered at observation time, shared by Gathers; nil once encoded (exposition.go)
	// encoded holds families in each text exposition format a scrape has
	// asked for, encoded when they are rendered (exposition.go).
	encoded   [numTextFormats]*encodedTarget
	wanted    [numTextFormats]bool              // formats scraped since the target started
	gathered  bool                              // whether a Gather has asked for the families (they are kept)
	renders   uint64                            // counts rerender's renders
	onUnknown func(relationship, native string) // logs an unknown state once
	gen       uint64                            // generation of the runner that owns the state
	// unknown holds the native names of the unknown states logged, cut to
	// failover.MaxStateNameLen, at most maxUnknownStates of them.
	unknown map[string]bool
	// grace is the target's down_grace: while its polls have failed for
	// less than that (since downSince, the end of the first failed poll
	// after a successful one), the relationship series stay as the last
	// successful poll left them. shown says whether families carry them.
	grace     time.Duration
	downSince time.Time
	shown     bool
	clock     func() time.Time // for snapshot's check of the grace
}

// maxUnknownStates bounds the unknown states a target logs (and
// remembers having logged): a hostile server inventing a new name on
// every poll costs at most this many log lines.
const maxUnknownStates = 16

func newTargetState(name string, now time.Time) *targetState {
	ts := &targetState{
		name:      name,
		errors:    map[Reason]float64{},
		createdAt: now,
		rels:      map[string]*relState{},
		unknown:   map[string]bool{},
		clock:     time.Now,
	}
	// up=0 and the error counters exist before the first poll ends, so a
	// target whose first poll hangs is already visible as down.
	ts.rerender()
	return ts
}

// pushed is the duration given to observe for an observation a Watcher
// pushed: it is not a poll, so the poll duration and time stay as they were.
const pushed time.Duration = -1

// nextGeneration hands the state to a new runner: results of the runners
// before it are dropped from now on.
func (ts *targetState) nextGeneration() uint64 {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.gen++
	return ts.gen
}

// observeAs is observe for the runner of generation gen; a replaced
// runner's late result is dropped.
func (ts *targetState) observeAs(gen uint64, now time.Time, took time.Duration, rels []failover.Relationship, err error) {
	ts.mu.Lock()
	current := gen == ts.gen
	if current {
		ts.observeLocked(now, took, rels, err)
	}
	ts.mu.Unlock()
	if current {
		ts.encodeRendered()
	}
}

// observe records the outcome of one poll (or one pushed observation) and
// rebuilds the target's metrics.
func (ts *targetState) observe(now time.Time, took time.Duration, rels []failover.Relationship, err error) {
	ts.mu.Lock()
	ts.observeLocked(now, took, rels, err)
	ts.mu.Unlock()
	ts.encodeRendered()
}

func (ts *targetState) observeLocked(now time.Time, took time.Duration, rels []failover.Relationship, err error) {
	if took != pushed {
		ts.polled = true
		ts.lastPoll = now
		ts.duration = took
	}
	ts.lastErr = err
	if err != nil {
		if ts.up {
			ts.downSince = now
		}
		ts.up = false
		ts.errors[Classify(err)]++
		ts.shown = ts.inGrace(now)
		ts.rerender()
		return
	}
	ts.up = true
	ts.shown = true
	ts.downSince = time.Time{}
	seen := make(map[string]bool, len(rels))
	for i := range rels {
		r := rels[i]
		ts.sanitize(&r)
		if seen[r.Name] {
			continue // a source reporting one name twice: keep the first
		}
		seen[r.Name] = true
		rs, ok := ts.rels[r.Name]
		if !ok {
			rs = &relState{transitions: map[transitionKey]float64{}, created: map[transitionKey]time.Time{}}
			ts.rels[r.Name] = rs
			ts.relOrder = append(ts.relOrder, r.Name)
		}
		rs.present = true
		if r.HasHistory {
			for _, t := range r.Transitions {
				rs.count(transitionKey{t.Partner, t.From, t.To}, now)
			}
		}
		rs.local.update(now, r.Local, !r.HasHistory, rs, false)
		rs.partner.update(now, r.Partner, !r.HasHistory, rs, true)
		rs.obs = r
	}
	for name, rs := range ts.rels {
		if !seen[name] {
			rs.present = false
		}
	}
	ts.rerender()
}

// sanitize is the one path of an unknown state and of every string a
// server reports: a state outside FSM_STATE (a source reports
// failover.UnknownState with its vendor's name in Native) becomes NO_STATE
// and is logged once per native name, for a bounded number of names
// (docs/metrics.md: "an unknown code from any source maps to NO_STATE and
// is logged once"); every string that becomes a label value is made valid
// UTF-8 and cut (failover.Cut) before it is kept, logged or labelled.
// Names come from the wire (a relationship name in a CONNECT) or a hostile
// server: one invalid label value would fail every scrape, and one huge
// name kept or logged per poll would grow the heap and the log.
func (ts *targetState) sanitize(r *failover.Relationship) {
	r.Name = labelValue(r.Name)
	r.Local.Native = failover.Cut(r.Local.Native, failover.MaxStateNameLen)
	r.Partner.Native = failover.Cut(r.Partner.Native, failover.MaxStateNameLen)
	r.PartnerName = labelValue(r.PartnerName)
	r.PartnerAddress = labelValue(r.PartnerAddress)
	r.Vendor = failover.Vendor(labelValue(string(r.Vendor)))
	r.Role = failover.Role(labelValue(string(r.Role)))
	r.Mode = failover.Mode(labelValue(string(r.Mode)))
	for _, s := range []*failover.Side{&r.Local, &r.Partner} {
		if s.State.Valid() {
			continue
		}
		native := s.Native
		if native == "" {
			native = s.State.String()
		}
		if !ts.unknown[native] && len(ts.unknown) < maxUnknownStates {
			ts.unknown[native] = true
			if ts.onUnknown != nil {
				ts.onUnknown(r.Name, native)
			}
		}
		s.State = failover.NoState
	}
}

// labelValue returns s as valid UTF-8 of at most failover.MaxNameLen
// bytes, cut at a rune boundary.
func labelValue(s string) string { return failover.Cut(s, failover.MaxNameLen) }

// update compares a newly reported side with the remembered one. With
// diff set (the source keeps no history of its own), a changed state
// counts from→to; an unchanged state with a later start time counts X→X:
// the state was left and entered again between two polls, through states
// the exporter did not see. increase() of the X→X series shows it.
func (m *sideMemory) update(now time.Time, s failover.Side, diff bool, rs *relState, partner bool) {
	if !s.Reported {
		return
	}
	if m.seen && diff {
		switch {
		case s.State != m.state:
			rs.count(transitionKey{partner, m.state, s.State}, now)
		case !s.StartTime.IsZero() && !m.start.IsZero() && s.StartTime.After(m.start):
			rs.count(transitionKey{partner, s.State, s.State}, now)
		}
	}
	if !m.seen || s.State != m.state {
		m.firstSeen = now
	}
	m.seen = true
	m.state = s.State
	m.start = s.StartTime
}

func (rs *relState) count(k transitionKey, now time.Time) {
	if _, ok := rs.created[k]; !ok {
		rs.created[k] = now
	}
	rs.transitions[k]++
}

// startTime is the side's start time as reported, else as first observed.
func (m *sideMemory) startTime() time.Time {
	if !m.start.IsZero() {
		return m.start
	}
	return m.firstSeen
}

// setGrace sets the target's down_grace (a runner's config).
func (ts *targetState) setGrace(grace time.Duration, clock func() time.Time) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.grace = grace
	ts.clock = clock
}

// inGrace reports whether a down target's relationship series are still
// shown at now; ts.mu is held.
func (ts *targetState) inGrace(now time.Time) bool {
	return !ts.downSince.IsZero() && now.Sub(ts.downSince) < ts.grace
}

// snapshot returns the rendered metric families; they are immutable and
// shared by every scrape until the next observation replaces them, or
// until the grace of a down target ends: the first scrape after it
// renders the target again without its relationship series.
func (ts *targetState) snapshot() []*dto.MetricFamily {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.gathered = true
	if ts.shown && !ts.up && !ts.inGrace(ts.clock()) {
		ts.shown = false
		ts.rerender()
	}
	return ts.renderedFamilies()
}

// TargetStatus is what the landing page shows of a target.
type TargetStatus struct {
	Name, Source string
	Polled, Up   bool
	LastPoll     time.Time
	// LastError and LastReason are the last failed poll's, while down.
	LastError  string
	LastReason Reason
	// Address is where the server is, as configured; Configured the
	// relationships the configuration names (none: all the server has).
	Address    string
	Configured []string
	// DownSince is when the target went down after a successful poll;
	// while it is down for less than its grace (Kept), Relationships are
	// the last successful poll's, still exported.
	DownSince     time.Time
	Kept          bool
	Relationships []RelationshipStatus
}

// RelationshipStatus is one relationship's current states.
type RelationshipStatus struct {
	Name                           string
	Local, Partner                 string
	LocalSeverity, PartnerSeverity Severity
	PartnerNotReported             bool
	LocalNative                    string
}

func (ts *targetState) status(source string) TargetStatus {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	st := TargetStatus{Name: ts.name, Source: source, Polled: ts.polled, Up: ts.up, LastPoll: ts.lastPoll}
	if ts.lastErr != nil && !ts.up {
		st.LastError = ts.lastErr.Error()
		st.LastReason = Classify(ts.lastErr)
	}
	st.DownSince = ts.downSince
	shown := ts.up || ts.inGrace(ts.clock())
	st.Kept = !ts.up && shown
	if !shown {
		return st
	}
	for _, n := range ts.relOrder {
		rs := ts.rels[n]
		if !rs.present {
			continue
		}
		r := RelationshipStatus{Name: n, Local: rs.obs.Local.State.String(), LocalNative: rs.obs.Local.Native,
			LocalSeverity: SeverityOf(rs.obs.Local.State)}
		if rs.obs.Partner.Reported {
			r.Partner = rs.obs.Partner.State.String()
			r.PartnerSeverity = SeverityOf(rs.obs.Partner.State)
		} else {
			r.PartnerNotReported = true
		}
		st.Relationships = append(st.Relationships, r)
	}
	return st
}
