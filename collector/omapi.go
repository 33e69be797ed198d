package collector

import (
	"context"
	"errors"
	"fmt"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
	"github.com/go-kit/log"
)

// The omapi source: ISC dhcpd's failover-state objects read over OMAPI
// (docs/protocol.md §3), one kept connection per target.

const gaugeLoadBalanceMax = "load_balance_max_seconds"

func init() {
	registerSource("omapi", newOMAPISource)
	registerGauge(gaugeLoadBalanceMax, "Load balancing override: a client whose secs field is at least this many seconds is served whatever the hash bucket assignment says (ISC load balance max seconds).")
}

type omapiSource struct {
	client        *omapi.Client
	relationships []string
}

func newOMAPISource(t config.Target, _ log.Logger) (Source, error) {
	s, ok := t.Settings.(*config.OMAPI)
	if !ok {
		return nil, fmt.Errorf("omapi: settings of type %T", t.Settings)
	}
	var key *omapi.Key
	if s.Key != nil {
		secret, err := s.Key.SecretValue()
		if err != nil {
			return nil, fmt.Errorf("omapi: key: %w", err)
		}
		if key, err = omapi.NewKey(s.Key.Name, s.Key.Algorithm, secret.Value()); err != nil {
			return nil, err
		}
	}
	return &omapiSource{client: omapi.NewClient(s.Address, key), relationships: s.Relationships}, nil
}

// Poll reads every configured relationship on the kept connection. One
// failure fails the poll: a relationship that is configured but missing
// is a problem the target's up and reason must show.
func (s *omapiSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	rels := make([]failover.Relationship, 0, len(s.relationships))
	for _, name := range s.relationships {
		fs, err := s.client.FailoverState(ctx, name)
		if err != nil {
			return nil, classifyOMAPI(fmt.Errorf("relationship %q: %w", name, err))
		}
		rels = append(rels, relationshipFromOMAPI(fs))
	}
	return rels, nil
}

// Close implements Closer: it drops the kept connection.
func (s *omapiSource) Close() error { return s.client.Close() }

// classifyOMAPI gives the reason the omapi package's errors carry;
// timeouts and connect failures stay net errors for Classify.
func classifyOMAPI(err error) error {
	switch {
	case errors.Is(err, omapi.ErrAuth):
		return Classified(ReasonAuth, err)
	case errors.Is(err, omapi.ErrNotFound):
		return Classified(ReasonNotFound, err)
	case errors.Is(err, omapi.ErrProtocol):
		return Classified(ReasonProtocol, err)
	case errors.Is(err, omapi.ErrClosed):
		// The server closed the connection (or crashed) before answering.
		return Classified(ReasonConnect, err)
	}
	return err
}

func relationshipFromOMAPI(fs *omapi.FailoverState) failover.Relationship {
	r := failover.Relationship{
		Name:    fs.Name,
		Vendor:  failover.VendorISC,
		Role:    failover.RoleSecondary,
		Local:   iscSide(fs.Local),
		Partner: iscSide(fs.Partner),
	}
	if fs.IsPrimary() {
		r.Role = failover.RolePrimary
	}
	if splitBuckets(fs.LoadBalanceHBA) {
		r.Mode = failover.ModeLoadBalance
	}
	r.CommunicationInterrupted = failover.Some(failover.CommunicationInterruptedFromState(r.Local.State))
	// dhcpd 4.4 sends every value; an older or newer one may not: report
	// only what was said.
	if fs.Has("mclt") {
		r.MCLT = failover.Some(fs.MCLT)
	}
	if fs.Has("max-response-delay") {
		r.MaxResponseDelay = failover.Some(fs.MaxResponseDelay)
	}
	if fs.Has("cur-unacked-updates") {
		r.UnackedUpdates = failover.Some(int(fs.CurUnackedUpdates))
	}
	if fs.Has("max-outstanding-updates") {
		r.MaxUnackedUpdates = failover.Some(int(fs.MaxOutstandingUpdates))
	}
	if fs.Has("load-balance-max-secs") {
		r.Gauges = []failover.Gauge{{Name: gaugeLoadBalanceMax, Value: fs.LoadBalanceMax.Seconds()}}
	}
	return r
}

// iscSide passes on a side as omapi mapped it. An unknown code is passed
// on as failover.UnknownState so that the agent logs it once and renders
// NO_STATE (docs/metrics.md); its native name keeps the number.
func iscSide(s omapi.Side) failover.Side {
	side := failover.Side{Reported: true, StartTime: s.STOS, State: s.State, Native: s.ISCName()}
	if !s.Known {
		side.State = failover.UnknownState
	}
	return side
}

// splitBuckets reports whether a hash bucket assignment gives some
// buckets to each server: the pool is load-balanced (ISC `split` strictly
// between 0 and 256). All or none is ISC's way to run one server hot and
// the other standby, but nothing in OMAPI says so: the mode stays empty.
func splitBuckets(hba []byte) bool {
	var someSet, someClear bool
	for _, b := range hba {
		someSet = someSet || b != 0
		someClear = someClear || b != 0xff
	}
	return someSet && someClear
}
