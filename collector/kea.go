package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	promconfig "github.com/prometheus/common/config"
)

// The Kea source reads `status-get` (docs/protocol.md §5) and turns
// each high-availability entry into one relationship (docs/kea.md).

func init() {
	registerSource("kea", newKeaSource)
	registerGauge("kea_connecting_clients", "Kea HA: clients seen trying to get a lease from the partner while communication is interrupted (remote.connecting-clients).")
	registerGauge("kea_unacked_clients", "Kea HA: clients the partner has not answered while communication is interrupted (remote.unacked-clients).")
	registerGauge("kea_unacked_clients_left", "Kea HA: further unanswered clients before the server declares its partner down (remote.unacked-clients-left).")
	registerGauge("kea_analyzed_packets", "Kea HA: packets analysed since communication was interrupted (remote.analyzed-packets).")
	registerGauge("kea_clock_skew_seconds", "Kea HA: difference between the server's and its partner's clocks, Kea 3.0+ (remote.clock-skew).")
	registerGauge("kea_partner_in_touch", "Kea HA: 1 once the server has communicated with its partner since it started (remote.in-touch).")
	registerGauge("kea_unsent_updates", "Kea HA: leases allocated without a lease update to the partner (ha-heartbeat unsent-update-count; with ha_heartbeat: true).")
}

// maxKeaWarned bounds the names a source remembers having warned about,
// so that a hostile server inventing names cannot grow it.
const maxKeaWarned = 64

type keaSource struct {
	client *kea.Client
	cfg    config.Kea
	logger log.Logger
	now    func() time.Time

	mu     sync.Mutex
	warned map[string]bool

	subnets keaNames // polls are serial (agent.go): no lock
}

func newKeaSource(t config.Target, logger log.Logger) (Source, error) {
	k, ok := t.Settings.(*config.Kea)
	if !ok {
		return nil, fmt.Errorf("kea: settings of type %T", t.Settings)
	}
	o := kea.Options{URL: k.URL, Socket: k.Socket}
	if k.Service != config.KeaServiceNone {
		o.Service = string(k.Service)
	}
	if k.URL != "" {
		rt, err := keaRoundTripper(k)
		if err != nil {
			return nil, err
		}
		o.Transport = rt
	}
	c, err := kea.New(o)
	if err != nil {
		return nil, err
	}
	return &keaSource{client: c, cfg: *k, logger: logger, now: time.Now, warned: map[string]bool{}}, nil
}

// keaMaxHeaderBytes bounds the response headers of a Kea answer (the body
// is bounded by the kea package).
const keaMaxHeaderBytes = 64 << 10

// keaRoundTripper builds the HTTP transport of a url target from its
// prometheus/common settings, as blackbox_exporter does, out of common's
// own round trippers: basic auth and authorization headers whose password
// and credentials files are read on every request, and TLS whose CA,
// certificate and key files are read again when they change. Beneath them
// a transport of the exporter's: no keep-alives (one poll every few
// seconds), no HTTP/2, no proxy, response headers bounded. Redirects and
// the bound on an answer are the kea package's. common's errors name
// settings and files, never their contents.
func keaRoundTripper(k *config.Kea) (http.RoundTripper, error) {
	hc := k.HTTPClientConfig()
	newRT := func(tc *tls.Config) (http.RoundTripper, error) {
		var rt http.RoundTripper = &http.Transport{
			Proxy:                  nil,
			DialContext:            (&net.Dialer{KeepAlive: -1}).DialContext,
			TLSClientConfig:        tc,
			DisableKeepAlives:      true,
			DisableCompression:     true,
			MaxResponseHeaderBytes: keaMaxHeaderBytes,
		}
		if a := hc.Authorization; a != nil {
			typ := a.Type
			if typ == "" {
				typ = "Bearer"
			}
			rt = promconfig.NewAuthorizationCredentialsRoundTripper(typ, secretReader(a.Credentials, a.CredentialsFile), rt)
		}
		if b := hc.BasicAuth; b != nil {
			rt = promconfig.NewBasicAuthRoundTripper(secretReader(promconfig.Secret(b.Username), b.UsernameFile), secretReader(b.Password, b.PasswordFile), rt)
		}
		return rt, nil
	}
	tc, err := promconfig.NewTLSConfig(&hc.TLSConfig)
	if err != nil {
		return nil, fmt.Errorf("kea: field tls_config: %w", err)
	}
	t := hc.TLSConfig
	settings := promconfig.TLSRoundTripperSettings{
		CA:   secretReader(promconfig.Secret(t.CA), t.CAFile),
		Cert: secretReader(promconfig.Secret(t.Cert), t.CertFile),
		Key:  secretReader(t.Key, t.KeyFile),
	}
	if settings.CA == nil && settings.Cert == nil && settings.Key == nil {
		return newRT(tc)
	}
	rt, err := promconfig.NewTLSRoundTripper(tc, settings, newRT)
	if err != nil {
		return nil, fmt.Errorf("kea: field tls_config: %w", err)
	}
	return rt, nil
}

// secretReader reads a secret given inline or in a file (read on every
// use); nil when neither is given.
func secretReader(inline promconfig.Secret, file string) promconfig.SecretReader {
	switch {
	case file != "":
		return promconfig.NewFileSecret(file)
	case inline != "":
		return promconfig.NewInlineSecret(string(inline))
	}
	return nil
}

// Close implements Closer.
func (s *keaSource) Close() error {
	s.client.Close()
	return nil
}

// Poll implements Source.
func (s *keaSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	st, err := s.client.StatusGet(ctx)
	if err != nil {
		return nil, classifyKea(err)
	}
	now := s.now()
	names, err := s.names(st.Relationships)
	if err != nil {
		return nil, err
	}
	out := make([]failover.Relationship, 0, len(st.Relationships))
	for i, r := range st.Relationships {
		if names[i] == "" {
			continue
		}
		rel := s.relationship(names[i], r, now)
		if s.cfg.HAHeartbeat {
			s.addHeartbeat(ctx, &rel, r, len(st.Relationships) > 1)
		}
		out = append(out, rel)
	}
	s.addKeaPools(ctx, out)
	return out, nil
}

// names gives the `relationship` label of each entry, "" to skip it.
// Kea before 2.6 names neither relationships nor servers in status-get:
// the label comes from the config (docs/kea.md).
func (s *keaSource) names(rels []kea.Relationship) ([]string, error) {
	names := make([]string, len(rels))
	if s.cfg.Relationship != "" {
		if len(rels) != 1 {
			return nil, Classified(ReasonNotFound, fmt.Errorf("kea: the server reports %d HA relationships: name each with relationships: [{name: <label>, server_name: <server-name>}, ...]", len(rels)))
		}
		names[0] = s.cfg.Relationship
		return names, nil
	}
	found := map[string]bool{}
	for i, r := range rels {
		server := r.Local.ServerName
		if server == "" {
			if len(rels) == 1 && len(s.cfg.Relationships) == 1 {
				// Kea < 2.6 has one relationship and does not say its
				// server-name: the one mapping given is for it.
				for srv, n := range s.cfg.Relationships {
					names[i], found[srv] = n, true
				}
				continue
			}
			return nil, Classified(ReasonProtocol, errors.New("kea: the server does not report its server-name (Kea before 2.6): use relationship: <name>"))
		}
		n, ok := s.cfg.Relationships[server]
		if !ok {
			server = failover.Cut(server, failover.MaxNameLen)
			s.warnOnce("server:"+server, "Kea HA relationship not in the target's relationships: skipped", "server_name", server)
			continue
		}
		names[i], found[server] = n, true
	}
	var missing []string
	for srv := range s.cfg.Relationships {
		if !found[srv] {
			missing = append(missing, srv)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, Classified(ReasonNotFound, fmt.Errorf("kea: no HA relationship with local server-name %s", strings.Join(missing, ", ")))
	}
	return names, nil
}

func (s *keaSource) relationship(name string, r kea.Relationship, now time.Time) failover.Relationship {
	rel := failover.Relationship{
		Name:   name,
		Vendor: failover.VendorKea,
		Role:   keaRole(r.Local.Role),
		Mode:   keaMode(r.Mode),
	}
	m := r.Remote
	commInt := m != nil && m.CommunicationInterrupted != nil && *m.CommunicationInterrupted
	// Strings from the server are cut before they are kept (the agent
	// cuts them again before it labels or logs them).
	rel.Local = failover.Side{Reported: true, State: s.state(r.Local.State, commInt), Native: failover.Cut(r.Local.State, failover.MaxStateNameLen)}
	if m == nil {
		return rel // passive-backup: Kea says nothing of the partners
	}
	rel.Partner = failover.Side{Reported: true, State: failover.NoState, Native: failover.Cut(m.LastState, failover.MaxStateNameLen)}
	rel.PartnerName = failover.Cut(m.ServerName, failover.MaxNameLen) // Kea 2.6+
	if m.LastState != "" {
		rel.Partner.State = s.state(m.LastState, false)
	}
	if m.CommunicationInterrupted != nil {
		rel.CommunicationInterrupted = failover.Some(*m.CommunicationInterrupted)
	}
	// Before the first contact (in-touch false) Kea reports age 0: that
	// is no contact at all.
	if m.Age != nil && *m.Age >= 0 && (m.InTouch == nil || *m.InTouch) {
		rel.PartnerLastContact = failover.Some(now.Add(-time.Duration(*m.Age) * time.Second).Truncate(time.Second))
	}
	// Kea has no count of unacknowledged lease updates in status-get; the
	// nearest is unacked-clients, the clients the partner has left
	// unanswered (docs/kea.md explains the choice).
	if m.UnackedClients != nil {
		rel.UnackedUpdates = failover.Some(int(*m.UnackedClients))
	}
	gauge := func(name string, v *int64) {
		if v != nil {
			rel.Gauges = append(rel.Gauges, failover.Gauge{Name: name, Value: float64(*v)})
		}
	}
	gauge("kea_connecting_clients", m.ConnectingClients)
	gauge("kea_unacked_clients", m.UnackedClients)
	gauge("kea_unacked_clients_left", m.UnackedClientsLeft)
	gauge("kea_analyzed_packets", m.AnalyzedPackets)
	gauge("kea_clock_skew_seconds", m.ClockSkew)
	if m.InTouch != nil {
		v := int64(0)
		if *m.InTouch {
			v = 1
		}
		gauge("kea_partner_in_touch", &v)
	}
	return rel
}

// addHeartbeat adds unsent-update-count. A failure costs only that gauge:
// status-get answered, so the target is up.
func (s *keaSource) addHeartbeat(ctx context.Context, rel *failover.Relationship, r kea.Relationship, several bool) {
	server := ""
	if several {
		server = r.Local.ServerName
	}
	hb, err := s.client.HAHeartbeat(ctx, server)
	if err != nil {
		level.Debug(s.logger).Log("msg", "Kea ha-heartbeat failed", "relationship", rel.Name, "err", err)
		return
	}
	if hb.UnsentUpdateCount != nil {
		rel.Gauges = append(rel.Gauges, failover.Gauge{Name: "kea_unsent_updates", Value: float64(*hb.UnsentUpdateCount)})
	}
}

// state maps a Kea state name; an unknown one is failover.UnknownState,
// which the agent renders as NO_STATE and logs once (sanitize).
func (s *keaSource) state(name string, commInterrupted bool) failover.State {
	st, ok := failover.StateFromKea(name, commInterrupted)
	if !ok {
		return failover.UnknownState
	}
	return st
}

func (s *keaSource) warnOnce(key string, msg string, kv ...any) {
	s.mu.Lock()
	if s.warned[key] || len(s.warned) >= maxKeaWarned {
		s.mu.Unlock()
		return
	}
	s.warned[key] = true
	s.mu.Unlock()
	level.Warn(s.logger).Log(append([]any{"msg", msg}, kv...)...)
}

func keaRole(r string) failover.Role {
	switch failover.Role(r) {
	case failover.RolePrimary, failover.RoleSecondary, failover.RoleStandby, failover.RoleBackup:
		return failover.Role(r)
	}
	return ""
}

func keaMode(m string) failover.Mode {
	switch m {
	case "load-balancing":
		return failover.ModeLoadBalance
	case "hot-standby":
		return failover.ModeHotStandby
	case "passive-backup":
		return failover.ModePassiveBackup
	}
	return ""
}

// classifyKea gives a kea error its poll-error reason; network errors are
// left to Classify (timeout, connect).
func classifyKea(err error) error {
	var cve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, kea.ErrAuth):
		return Classified(ReasonAuth, err)
	case errors.Is(err, kea.ErrNotFound):
		return Classified(ReasonNotFound, err)
	case errors.Is(err, kea.ErrUnavailable), errors.Is(err, kea.ErrClosed):
		return Classified(ReasonConnect, err)
	case errors.Is(err, kea.ErrProtocol), errors.Is(err, kea.ErrTooLarge):
		return Classified(ReasonProtocol, err)
	case errors.Is(err, kea.ErrCommand):
		return Classified(ReasonOther, err)
	case errors.As(err, &cve):
		return Classified(ReasonConnect, err)
	}
	return err
}
