package collector

// The leases source follows an ISC dhcpd leases file on the exporter's
// host (docs/isc-leases.md). dhcpd appends a `failover peer "NAME" state`
// record on every state change (server/db.c, write_failover_state), so the
// file is a history: the source counts every change it finds in records
// appended since the exporter started, at the date each record carries,
// and reports them to the agent as exact history (HasHistory).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/isclog"
	"github.com/dhcpfailover/dhcp_failover_exporter/journal"
	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

func init() {
	registerSource("leases", newLeasesSource)
}

// Bounds of the leases source.
const (
	// leasesMaxHeld bounds the records of one relationship held while a
	// replaced file is read up to its end (dhcpd's rewrite writes one).
	leasesMaxHeld = 4096
	// leasesMaxPending bounds the transitions kept for the agent while
	// polls fail (a relationship named in the filter is missing...).
	leasesMaxPending = 10000
)

type leasesSource struct {
	want   map[string]bool
	names  []string // the filter, sorted
	logger log.Logger

	mu     sync.Mutex // Poll and Close
	follow *leases.Follower
	// initial: the first file has not been read to its end yet; its
	// records set the state and count nothing.
	initial bool
	// replaced: reading, up to its end, a file that replaced the one
	// followed before (dhcpd's rewrite, a truncation): records up to the
	// last one identical to what was known are not counted again.
	replaced bool
	rels     map[string]*leaseRel
	// warnedDropped: the Table's address bound was logged.
	warnedDropped bool

	// The log follower (log_file), if any, and its refusal counts per
	// network of dhcpd.conf (docs/isc-log.md).
	log        *isclog.Follower
	journal    *journal.Follower // instead of log: dhcpd logs to the journal
	refused    *isclog.Counter
	nets4      *isclog.Networks               // the counter's networks, for SetInterfaces
	ifacesAt   time.Time                      // when the host's interfaces were last read
	interfaces func() map[string][]netip.Addr // hostInterfaces; a test's own
	nets       map[string][]string            // shared network: the failover peers of its pools, sorted
	logErr     string                         // the log follower's last error, logged once
	warnLong   bool                           // a line past isclog.MaxLine was logged
}

// leaseRel is what the source knows of one relationship.
type leaseRel struct {
	last    leases.Record
	pending []failover.Transition // found since the last successful poll
	held    []leases.Record       // replaced file: records after the last one Same as last
	settled bool                  // replaced file: held overflowed, records are applied at once
}

func newLeasesSource(t config.Target, logger log.Logger) (Source, error) {
	c, ok := t.Settings.(*config.Leases)
	if !ok {
		return nil, fmt.Errorf("leases: settings of type %T", t.Settings)
	}
	pools, subnets, err := c.LeaseConf()
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	s, err := newLeasesSourceWith(c.Path, c.Relationships, pools, logger)
	if err != nil {
		return nil, err
	}
	switch {
	case c.LogFile != "":
		s.followLog(pools, subnets)
		s.log = isclog.NewFollower(c.LogFile)
	case c.Journal != "":
		s.followLog(pools, subnets)
		s.journal = journal.NewFollower(c.Journal, c.JournalIdentifier)
	}
	return s, nil
}

// followLog counts the refusals of dhcpd's log (its file or the journal)
// over the networks of its configuration.
func (s *leasesSource) followLog(pools []leases.Pool, subnets []leases.Subnet) {
	s.nets4 = isclog.NewNetworks(subnets)
	s.refused = isclog.NewCounter(s.nets4)
	if s.interfaces == nil {
		s.interfaces = hostInterfaces
	}
	s.nets = map[string][]string{}
	for _, p := range pools {
		if p.SharedNetwork == "" || p.Peer == "" || slices.Contains(s.nets[p.SharedNetwork], p.Peer) {
			continue
		}
		s.nets[p.SharedNetwork] = append(s.nets[p.SharedNetwork], p.Peer)
		slices.Sort(s.nets[p.SharedNetwork])
	}
}

func newLeasesSourceWith(path string, relationships []string, pools []leases.Pool, logger log.Logger) (*leasesSource, error) {
	f, err := leases.NewFollower(path, pools)
	if err != nil {
		return nil, err
	}
	s := &leasesSource{
		follow:  f,
		logger:  logger,
		initial: true,
		rels:    map[string]*leaseRel{},
	}
	s.want, s.names = relationshipFilter(relationships)
	return s, nil
}

// Poll reads what was appended to the file since the last poll (a stat
// and a read from the last offset) and returns the last record of each
// relationship with the transitions found since the previous successful
// poll.
func (s *leasesSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	stop := time.Time{}
	if d, ok := ctx.Deadline(); ok {
		// Leave a quarter of the budget to answer: a late answer is
		// discarded by the agent, and the transitions in it with it.
		now := time.Now()
		stop = now.Add(d.Sub(now) * 3 / 4)
	}
	if s.refused != nil {
		// First: the log's first Follow marks the point counting starts
		// from, whatever becomes of the leases file's first read.
		s.readLog(ctx, stop)
	}
	if err := s.follow.Follow(ctx, stop, s); err != nil && !(errors.Is(err, leases.ErrStopped) && !s.initial) {
		// (A huge append read in part still gives the state as of the
		// records read so far; the rest comes with the next poll.)
		return nil, classifyLeasesError(err)
	}
	return s.observation(ctx)
}

// Close implements Closer.
func (s *leasesSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log != nil {
		s.log.Close()
	}
	if s.journal != nil {
		s.journal.Close()
	}
	return s.follow.Close()
}

// readLog counts the refusals logged since the last poll, from the log
// file or the journal. Its failures (a log missing or unreadable) do not
// fail the poll, which is about the leases file: they are logged once per
// change, and the counts stay.
func (s *leasesSource) readLog(ctx context.Context, stop time.Time) {
	s.refreshInterfaces(time.Now())
	var err error
	var where []any
	var skipped bool
	if s.journal != nil {
		err = s.journal.Follow(ctx, stop, func(m []byte) { s.refused.Line(m) })
		where, skipped = []any{"journal", s.journal.Dir()}, s.journal.Unsupported > 0
	} else {
		err = s.log.Follow(ctx, stop, logLines{s})
		where, skipped = []any{"path", s.log.Path()}, s.log.Long > 0
	}
	if errors.Is(err, isclog.ErrStopped) || errors.Is(err, journal.ErrStopped) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil // the rest comes with the next poll
	}
	switch {
	case err != nil && err.Error() != s.logErr:
		s.logErr = err.Error()
		level.Warn(s.logger).Log(append([]any{"msg", "Cannot read dhcpd's log; refusal counters stand still"}, append(where, "err", err)...)...)
	case err == nil && s.logErr != "":
		s.logErr = ""
		level.Info(s.logger).Log(append([]any{"msg", "dhcpd's log read again"}, where...)...)
	}
	if skipped && !s.warnLong {
		s.warnLong = true
		level.Warn(s.logger).Log(append([]any{"msg", "Parts of dhcpd's log skipped: lines longer than max_line bytes, or journal fields compressed with XZ or LZ4", "max_line", isclog.MaxLine}, where...)...)
	}
}

// logLines hands the log follower's lines to the refusal counter.
type logLines struct{ s *leasesSource }

func (l logLines) Line(b []byte) { l.s.refused.Line(b) }

func (l logLines) Restart(why isclog.Restart) {
	level.Debug(l.s.logger).Log("msg", "dhcpd's log file read from its start", "path", l.s.log.Path(), "why", why.String())
}

func classifyLeasesError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Classified(ReasonNotFound, err)
	case errors.Is(err, leases.ErrStopped), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Classified(ReasonTimeout, err)
	}
	return Classified(ReasonOther, err)
}

// Restart implements leases.Handler.
func (s *leasesSource) Restart(why leases.Restart) {
	level.Debug(s.logger).Log("msg", "Leases file read again from its start", "path", s.follow.Path(), "why", why.String())
	if s.initial {
		return // the first read just starts over
	}
	s.replaced = true
	for _, r := range s.rels {
		r.held, r.settled = r.held[:0], false
	}
}

// Damaged implements leases.Handler.
func (s *leasesSource) Damaged(err error) {
	level.Warn(s.logger).Log("msg", "Damaged statements in the leases file skipped", "path", s.follow.Path(), "err", err)
}

// Record implements leases.Handler.
func (s *leasesSource) Record(rec leases.Record) {
	if len(s.want) > 0 && !s.want[rec.Peer] {
		return
	}
	r := s.rels[rec.Peer]
	switch {
	case r == nil:
		// A relationship seen for the first time (at start, or added to
		// dhcpd's configuration since): its state, no transition.
		s.rels[rec.Peer] = &leaseRel{last: rec}
	case s.initial:
		r.last = rec
	case s.replaced && !r.settled:
		if rec.Same(r.last) {
			r.held = r.held[:0] // everything up to here was seen before
			return
		}
		r.held = append(r.held, rec)
		if len(r.held) >= leasesMaxHeld {
			s.settle(r)
			r.settled = true
		}
	default:
		s.apply(r, rec)
	}
}

// End implements leases.Handler: the first read is done, and a replaced
// file's held records are counted.
func (s *leasesSource) End() {
	s.initial = false
	if s.replaced {
		for _, r := range s.rels {
			s.settle(r)
		}
		s.replaced = false
	}
}

func (s *leasesSource) settle(r *leaseRel) {
	for _, rec := range r.held {
		s.apply(r, rec)
	}
	r.held = r.held[:0]
}

// apply counts the changes from r.last to rec, side by side, at the dates
// rec carries. An unchanged state with a later date was left and entered
// again (the partner restarted in the same state): X→X, as the agent
// counts it for sources without history.
func (s *leasesSource) apply(r *leaseRel, rec leases.Record) {
	for _, side := range []struct {
		partner  bool
		old, new leases.Side
	}{{false, r.last.My, rec.My}, {true, r.last.Partner, rec.Partner}} {
		changed := side.old.State != side.new.State
		reentered := !changed && !side.old.Since.IsZero() && side.new.Since.After(side.old.Since)
		if !changed && !reentered {
			continue
		}
		if len(r.pending) >= leasesMaxPending {
			level.Warn(s.logger).Log("msg", "Too many leases-file transitions waiting for a successful poll; dropping the oldest", "relationship", rec.Peer)
			r.pending = append(r.pending[:0], r.pending[1:]...)
		}
		r.pending = append(r.pending, failover.Transition{Partner: side.partner, From: side.old.State, To: side.new.State, At: side.new.Since})
	}
	r.last = rec
}

// observation renders what is known, handing the pending transitions to
// the agent.
func (s *leasesSource) observation(ctx context.Context) ([]failover.Relationship, error) {
	if s.initial {
		return nil, Classified(ReasonTimeout, fmt.Errorf("leases: first read of %s not finished (%d bytes read)", s.follow.Path(), s.follow.Offset()))
	}
	var missing []string
	for _, n := range s.names {
		if s.rels[n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, Classified(ReasonNotFound, fmt.Errorf("leases: %s: no failover state record for %q", s.follow.Path(), missing))
	}
	if len(s.rels) == 0 {
		return nil, Classified(ReasonNotFound, fmt.Errorf("leases: %s: no failover state record", s.follow.Path()))
	}
	if err := ctx.Err(); err != nil {
		// The agent drops a late answer: keep the transitions for the next.
		return nil, Classified(ReasonTimeout, fmt.Errorf("leases: %w", err))
	}
	names := slices.Sorted(maps.Keys(s.rels))
	out := make([]failover.Relationship, 0, len(names))
	for _, n := range names {
		r := s.rels[n]
		out = append(out, leaseRelationship(r.last, r.pending))
		r.pending = nil
	}
	s.addPools(out)
	s.addRefusals(out)
	return out, nil
}

// addRefusals gives each relationship the refusals of the shared networks
// whose pools name it as their failover peer (the first by name if they
// name several, so that each refusal is counted once); those of networks
// outside failover and the whole server's go with the first relationship
// by name, as the pools outside failover do.
func (s *leasesSource) addRefusals(rels []failover.Relationship) {
	if s.refused == nil || len(rels) == 0 {
		return
	}
	at := make(map[string]int, len(rels))
	for i := range rels {
		at[rels[i].Name] = i
	}
	for _, r := range s.refused.Refusals() {
		i, ok := 0, true
		if peers := s.nets[r.SharedNetwork]; len(peers) > 0 {
			ok = false
			for _, peer := range peers {
				if i, ok = at[peer]; ok {
					break
				}
			}
		}
		if !ok {
			continue // the network's relationships are not reported (filtered out, or no state record yet)
		}
		rels[i].Refusals = append(rels[i].Refusals, r)
	}
}

// addPools gives each relationship the counts of its pools (the pools
// naming it as their failover peer). The pools outside failover and the
// addresses outside every pool go with the first relationship by name:
// once per target, in a series of their own.
func (s *leasesSource) addPools(rels []failover.Relationship) {
	counts, dropped, ok := s.follow.Pools()
	if !ok || len(rels) == 0 {
		return
	}
	if dropped > 0 && !s.warnedDropped {
		s.warnedDropped = true
		level.Warn(s.logger).Log("msg", "More addresses in the leases file than the exporter keeps; pool counts are short", "path", s.follow.Path(), "max", leases.MaxAddresses)
	}
	at := make(map[string]int, len(rels))
	for i := range rels {
		at[rels[i].Name] = i
	}
	for _, c := range counts {
		i, ok := 0, true
		if c.Pool != nil && c.Pool.Peer != "" {
			i, ok = at[c.Pool.Peer]
		}
		if !ok {
			continue // a relationship not reported (filtered out, or no state record yet)
		}
		rels[i].Pools = append(rels[i].Pools, c.Observation(rels[i].Role == failover.RoleSecondary))
	}
}

// leaseRelationship maps a record: dhcpd writes mclt only on the
// secondary (db.c: `if (state->i_am == secondary)`), so its presence tells
// the role; the lab's fixtures agree (docs/isc-leases.md).
func leaseRelationship(rec leases.Record, transitions []failover.Transition) failover.Relationship {
	r := failover.Relationship{
		Name:                     rec.Peer,
		Vendor:                   failover.VendorISC,
		Role:                     failover.RolePrimary,
		Local:                    failover.Side{Reported: true, State: rec.My.State, Native: rec.My.Native, StartTime: rec.My.Since},
		Partner:                  failover.Side{Reported: true, State: rec.Partner.State, Native: rec.Partner.Native, StartTime: rec.Partner.Since},
		MCLT:                     rec.MCLT,
		HasHistory:               true,
		Transitions:              transitions,
		CommunicationInterrupted: failover.Some(failover.CommunicationInterruptedFromState(rec.My.State)),
	}
	if rec.MCLT.OK() {
		r.Role = failover.RoleSecondary
	}
	return r
}

// Follows implements Follower: a probe of a leases target serves what the
// running source has followed, history included.
func (s *leasesSource) Follows() {}
