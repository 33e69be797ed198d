package collector

import (
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/go-kit/log"
)

func peerBenchTarget(b *testing.B) config.Target {
	s := &config.Peer{PcapFile: "../peer/testdata/isc-fault-P1-kill-partnerdown-restart.pcap", LocalAddress: "10.250.0.1"}
	tg := config.Target{Name: "tap", Source: "peer", PollInterval: time.Second, Timeout: time.Second, Settings: s}
	if err := tg.Validate(); err != nil {
		b.Fatal(err)
	}
	return tg
}

// BenchmarkPeerSourceReplay replays a real capture (149+148 messages:
// secondary killed, partner-down, restart) through `source: peer`:
// capture file, tracker, relationship model and one render of the
// observations (one op = the whole file).
func BenchmarkPeerSourceReplay(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		src, err := NewSource(peerBenchTarget(b), log.NewNopLogger())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.Poll(b.Context()); err != nil {
			b.Fatal(err)
		}
		closeSource(src)
	}
}
