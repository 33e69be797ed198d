package collector

// The leases source follows an ISC dhcpd leases file on the exporter's
// host (docs/isc-leases.md). dhcpd appends a `failover peer "NAME" state`
// record on every state change (server/db.c, write_failover_state), so the
// file is a history: the source counts every change it finds in records
// appended since the exporter started, at the date each record carries,
// and reports them to the agent as exact history (HasHistory).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

func init() {
	registerSource("leases", newLeasesSource)
}

// Bounds of the leases source.
const (
	leasesReadSize = 64 << 10 // bytes read per system call
	leasesTailSize = 32       // bytes before the read offset re-checked on every poll
	// leasesMaxHeld bounds the records of one relationship held while a
	// replaced file is read up to its end (dhcpd's rewrite writes one).
	leasesMaxHeld = 4096
	// leasesMaxPending bounds the transitions kept for the agent while
	// polls fail (a relationship named in the filter is missing...).
	leasesMaxPending = 10000
)

type leasesSource struct {
	path   string
	want   map[string]bool
	names  []string // the filter, sorted
	logger log.Logger

	mu     sync.Mutex // Poll and Close
	f      *os.File
	fi     os.FileInfo // of f
	off    int64       // bytes of f read and fed to parser
	tail   []byte      // the bytes of f just before off
	parser leases.Parser
	// initial: the first file has not been read to its end yet; its
	// records set the state and count nothing.
	initial bool
	// replaced: reading, up to its end, a file that replaced the one
	// followed before (dhcpd's rewrite, a truncation): records up to the
	// last one identical to what was known are not counted again.
	replaced bool
	rels     map[string]*leaseRel
	buf      []byte
	recs     []leases.Record
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
	return newLeasesSourceWith(c.Path, c.Relationships, logger), nil
}

func newLeasesSourceWith(path string, relationships []string, logger log.Logger) *leasesSource {
	s := &leasesSource{
		path:    path,
		logger:  logger,
		initial: true,
		rels:    map[string]*leaseRel{},
	}
	s.want, s.names = relationshipFilter(relationships)
	return s
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
	if err := s.follow(ctx, stop); err != nil && !(errors.Is(err, errReadStopped) && !s.initial) {
		// (A huge append read in part still gives the state as of the
		// records read so far; the rest comes with the next poll.)
		return nil, err
	}
	return s.observation(ctx)
}

// Close implements Closer.
func (s *leasesSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func classifyFileError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return Classified(ReasonNotFound, fmt.Errorf("leases: %w", err))
	}
	return Classified(ReasonOther, fmt.Errorf("leases: %w", err))
}

// errReadStopped says the poll's budget ended before the end of the file;
// the next poll goes on from there.
var errReadStopped = errors.New("leases: poll budget spent before the end of the file")

// follow brings the source up to the end of the file the path names now.
func (s *leasesSource) follow(ctx context.Context, stop time.Time) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		if s.f != nil {
			// Gone (or unreadable): what dhcpd wrote to it before is
			// still history; read it, then wait for a new file.
			s.read(context.Background(), time.Time{})
			s.f.Close()
			s.f = nil
		}
		return classifyFileError(err)
	}
	switch {
	case s.f == nil || !os.SameFile(fi, s.fi):
		if s.f != nil {
			// dhcpd's rewrite (db.c new_lease_file): it finished the
			// old file, linked it to .leases~ and renamed a new one over
			// the path. The open descriptor still reads the old inode:
			// read its last records so that none is lost.
			s.read(context.Background(), time.Time{})
			s.f.Close()
			s.f = nil
			level.Debug(s.logger).Log("msg", "Leases file replaced, reading the new one from its start", "path", s.path)
		}
		f, err := os.Open(s.path)
		if err != nil {
			return classifyFileError(err)
		}
		ofi, err := f.Stat()
		if err != nil {
			f.Close()
			return classifyFileError(err)
		}
		s.f, s.fi = f, ofi
		s.restart()
	case fi.Size() < s.off || !s.tailIntact():
		// Truncated, or rewritten in place: nothing dhcpd does, but
		// an operator or a tool may; start again from the top.
		level.Debug(s.logger).Log("msg", "Leases file truncated or rewritten in place, reading it from its start", "path", s.path)
		s.restart()
	}
	return s.read(ctx, stop)
}

// restart reads the current descriptor from its start, as a file that
// replaces what was read so far.
func (s *leasesSource) restart() {
	s.off, s.tail, s.parser = 0, s.tail[:0], leases.Parser{}
	if s.initial {
		return // the first read just starts over
	}
	s.replaced = true
	for _, r := range s.rels {
		r.held, r.settled = r.held[:0], false
	}
}

// tailIntact checks that the bytes just before the read offset are still
// those read: a file rewritten in place to at least its old size would
// otherwise be read from the middle of a statement.
func (s *leasesSource) tailIntact() bool {
	if len(s.tail) == 0 {
		return true
	}
	var b [leasesTailSize]byte
	n, err := s.f.ReadAt(b[:len(s.tail)], s.off-int64(len(s.tail)))
	return n == len(s.tail) && (err == nil || errors.Is(err, io.EOF)) && bytes.Equal(b[:n], s.tail)
}

// read feeds the file from s.off to its end, or until stop.
func (s *leasesSource) read(ctx context.Context, stop time.Time) error {
	if s.buf == nil {
		s.buf = make([]byte, leasesReadSize)
	}
	for {
		if err := ctx.Err(); err != nil {
			return Classified(ReasonTimeout, fmt.Errorf("leases: %w", err))
		}
		if !stop.IsZero() && time.Now().After(stop) {
			return Classified(ReasonTimeout, errReadStopped)
		}
		n, err := s.f.ReadAt(s.buf, s.off)
		if n > 0 {
			s.feed(s.buf[:n])
		}
		if err == io.EOF || n == 0 && err == nil {
			s.reachedEnd()
			return nil
		}
		if err != nil {
			return classifyFileError(err)
		}
	}
}

func (s *leasesSource) feed(b []byte) {
	var err error
	s.recs, err = s.parser.Feed(s.recs[:0], b)
	if err != nil {
		level.Warn(s.logger).Log("msg", "Damaged statements in the leases file skipped", "path", s.path, "err", err)
	}
	s.off += int64(len(b))
	if len(b) >= leasesTailSize {
		s.tail = append(s.tail[:0], b[len(b)-leasesTailSize:]...)
	} else {
		s.tail = append(s.tail, b...)
		if len(s.tail) > leasesTailSize {
			s.tail = s.tail[:copy(s.tail, s.tail[len(s.tail)-leasesTailSize:])]
		}
	}
	for i := range s.recs {
		s.record(s.recs[i])
	}
}

func (s *leasesSource) record(rec leases.Record) {
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

// reachedEnd is called at the end of the file: the first read is done, and
// a replaced file's held records are counted.
func (s *leasesSource) reachedEnd() {
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
		return nil, Classified(ReasonTimeout, fmt.Errorf("leases: first read of %s not finished (%d bytes read)", s.path, s.off))
	}
	var missing []string
	for _, n := range s.names {
		if s.rels[n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, Classified(ReasonNotFound, fmt.Errorf("leases: %s: no failover state record for %q", s.path, missing))
	}
	if len(s.rels) == 0 {
		return nil, Classified(ReasonNotFound, fmt.Errorf("leases: %s: no failover state record", s.path))
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
	return out, nil
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
