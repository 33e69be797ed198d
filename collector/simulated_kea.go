package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
	"github.com/go-kit/log"
)

// The emulated Kea server (docs/simulated.md, "Emulated sources"): the
// Kea source itself (collector/kea.go, kea_pools.go) polls a control
// channel whose answers the simulation writes, in the shape Kea 3.0's
// are recorded in kea/testdata/recorded. The kea package decodes them as
// it decodes a real server's. The pair is in contact all along: both
// servers load-balancing, as in status-get-3.0-load-balancing-*.

// simKeaURL is the emulated control channel's address: never dialled,
// the transport answers in process (.invalid, RFC 2606).
const simKeaURL = "http://kea.simulated.invalid/"

// simKeaSubnets are the emulated pair's subnets (stat-lease4-get and
// subnet4-list): two in one shared network, as kea/testdata's
// subnet4-list-3.0.4.json has them.
var simKeaSubnets = []struct {
	id          int64
	third, size int
	network     string
}{
	{id: 1, third: 1, size: 200, network: "campus"},
	{id: 2, third: 2, size: 100, network: "campus"},
}

// simKeaSource is the Kea source over the emulated channel; it reports
// vendor simulated, as every simulated server does.
type simKeaSource struct {
	*keaSource
}

func newSimKeaSource(s *config.Simulated, server int, logger log.Logger) (Source, error) {
	t := &simKeaTransport{pair: s.Pair, server: server, now: time.Now}
	t.started = t.now()
	c, err := kea.New(kea.Options{URL: simKeaURL, Service: "dhcp4", Transport: t})
	if err != nil {
		return nil, err
	}
	cfg := config.Kea{Relationship: s.Pair + "-lb", HAHeartbeat: true}
	return &simKeaSource{&keaSource{client: c, cfg: cfg, logger: logger, now: time.Now, warned: map[string]bool{}}}, nil
}

// Poll implements Source.
func (s *simKeaSource) Poll(ctx context.Context) ([]failover.Relationship, error) {
	return asSimulated(s.keaSource.Poll(ctx))
}

// asSimulated marks the relationships of an emulated server as the
// simulation's (docs/simulated.md, "Emulated sources"): the real source's
// decoding, a vendor no one runs.
func asSimulated(rels []failover.Relationship, err error) ([]failover.Relationship, error) {
	for i := range rels {
		rels[i].Vendor = failover.VendorSimulated
	}
	return rels, err
}

// simKeaTransport answers the commands the Kea source sends.
type simKeaTransport struct {
	pair    string
	server  int // 0 = a (primary), 1 = b (secondary)
	now     func() time.Time
	started time.Time // the NAK counter counts from here, as Kea's from its start
}

// RoundTrip implements http.RoundTripper.
func (t *simKeaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var req struct {
		Command string `json:"command"`
	}
	if r.Body != nil {
		err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("simulated kea: %w", err)
		}
	}
	answer := map[string]any{"result": 0}
	if args, ok := t.answer(req.Command, t.now()); ok {
		answer["arguments"] = args
	} else {
		// What the Control Agent answers to a command the daemon lacks.
		answer = map[string]any{"result": 2, "text": fmt.Sprintf("'%s' command not supported.", req.Command)}
	}
	b, err := json.Marshal([]any{answer}) // the Control Agent's list of one
	if err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": []string{"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       r,
	}, nil
}

func (t *simKeaTransport) name(server int) string { return t.pair + "-" + serverName(server) }

func (t *simKeaTransport) role(server int) string {
	if server == 0 {
		return "primary"
	}
	return "secondary"
}

// answer is the arguments of command's answer at now (false: unknown).
func (t *simKeaTransport) answer(command string, now time.Time) (any, bool) {
	o := simOctet(t.pair)
	self, partner := t.server, 1-t.server
	systemTime := now.UTC().Format("2006-01-02 15:04:05")
	switch command {
	case "status-get":
		// b's clock runs 1 s ahead of a's: clock-skew is the partner's
		// clock minus the server's own, in whole seconds (Kea 3.0+).
		skew := 1
		if t.server == 1 {
			skew = -1
		}
		return map[string]any{
			"high-availability": []any{map[string]any{
				"ha-mode": "load-balancing",
				"ha-servers": map[string]any{
					"local": map[string]any{
						"role": t.role(self), "scopes": []string{t.name(self)}, "server-name": t.name(self),
						"state": "load-balancing", "system-time": systemTime,
					},
					"remote": map[string]any{
						// Heartbeats every 10 s (Kea's heartbeat-delay).
						"age": now.Unix() % 10, "analyzed-packets": 0, "clock-skew": skew,
						"communication-interrupted": false, "connecting-clients": 0, "in-touch": true,
						"last-scopes": []string{t.name(partner)}, "last-state": "load-balancing",
						"role": t.role(partner), "server-name": t.name(partner), "system-time": systemTime,
						"unacked-clients": 0, "unacked-clients-left": 0,
					},
				},
			}},
			"multi-threading-enabled": false, "pid": 4242 + t.server,
			"sockets": map[string]any{"status": "ready"}, "uptime": int64(now.Sub(t.started).Seconds()),
		}, true
	case "ha-heartbeat":
		return map[string]any{
			"date-time": now.UTC().Format(http.TimeFormat), "scopes": []string{t.name(self)},
			"state": "load-balancing", "unsent-update-count": 0,
		}, true
	case "stat-lease4-get":
		var rows [][]int64
		for _, sn := range simKeaSubnets {
			rows = append(rows, []int64{sn.id, int64(sn.size), 0, int64(simKeaAssigned(sn.size, now)), 1})
		}
		return map[string]any{"result-set": map[string]any{
			"columns":   []string{"subnet-id", "total-addresses", "cumulative-assigned-addresses", "assigned-addresses", "declined-addresses"},
			"rows":      rows,
			"timestamp": now.UTC().Format("2006-01-02 15:04:05.000000"),
		}}, true
	case "statistic-get-all":
		stamp := now.UTC().Format("2006-01-02 15:04:05.000000")
		sample := func(v int64) [][]any { return [][]any{{v, stamp}} }
		// A DHCPNAK every 30 s (clients that moved in from elsewhere);
		// no allocation fails: the pair is in contact, its pools far
		// from full.
		all := map[string]any{
			"pkt4-nak-sent":               sample(int64(now.Sub(t.started) / (30 * time.Second))),
			"v4-allocation-fail":          sample(0),
			"v4-allocation-fail-no-pools": sample(0),
		}
		for _, sn := range simKeaSubnets {
			p := fmt.Sprintf("subnet[%d].", sn.id)
			all[p+"v4-allocation-fail"] = sample(0)
			all[p+"v4-allocation-fail-no-pools"] = sample(0)
			all[p+"total-addresses"] = sample(int64(sn.size))
			all[p+"assigned-addresses"] = sample(int64(simKeaAssigned(sn.size, now)))
			all[p+"declined-addresses"] = sample(1)
		}
		return all, true
	case "subnet4-list":
		var subnets []any
		for _, sn := range simKeaSubnets {
			subnets = append(subnets, map[string]any{"id": sn.id, "shared-network-name": t.pair + "-" + sn.network,
				"subnet": fmt.Sprintf("10.%d.%d.0/24", o, sn.third)})
		}
		return map[string]any{"subnets": subnets}, true
	}
	return nil, false
}

// simKeaAssigned is a subnet's assigned addresses at now: 40 to 60% of
// it, over an hour (the same on both servers, which update each other).
func simKeaAssigned(size int, now time.Time) int {
	phase := float64(now.Unix()%3600) / 3600
	return int(float64(size) * (0.5 + 0.1*math.Sin(2*math.Pi*phase)))
}
