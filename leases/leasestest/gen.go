// Package leasestest writes large dhcpd.conf and dhcpd.leases pairs for
// benchmarks: a leases file as dhcpd appends to it between two rewrites,
// where each address has many records (every renewal, expiry and
// reallocation appends one; dhcpd.leases(5): "the most recent entry is the
// one that is valid"). Its size grows with the records, the exporter's
// memory only with the addresses.
package leasestest

import (
	"bufio"
	"fmt"
	"io"
)

// Options shape a generated pair.
type Options struct {
	// Subnets is the number of /24 subnets (10.X.Y.0/24), each with one
	// failover pool of 200 addresses (.20 to .219).
	Subnets int
	// Size is the leases file's size in bytes, about.
	Size int64
}

const poolSize = 200

// Addresses is the number of pool addresses of o.
func (o Options) Addresses() int { return o.Subnets * poolSize }

// Conf writes the dhcpd.conf of o: a failover peer and the subnets, the
// first half of them in one shared network, the rest standing alone.
func Conf(w io.Writer, o Options) error {
	if o.Subnets < 2 || o.Subnets > 256*255 {
		return fmt.Errorf("leasestest: %d subnets, want 2 to %d", o.Subnets, 256*255)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, "failover peer \"fo-bench\" {\n  primary;\n  address 10.255.0.1;\n  peer address 10.255.0.2;\n  mclt 3600;\n  split 128;\n}\n\nshared-network \"bench\" {\n")
	for i := 0; i < o.Subnets; i++ {
		if i == o.Subnets/2 {
			fmt.Fprint(bw, "}\n\n")
		}
		a, b := subnet(i)
		fmt.Fprintf(bw, "subnet 10.%d.%d.0 netmask 255.255.255.0 {\n  pool { failover peer \"fo-bench\"; range 10.%d.%d.20 10.%d.%d.%d; }\n}\n", a, b, a, b, a, b, 20+poolSize-1)
	}
	return bw.Flush()
}

func subnet(i int) (int, int) { return i / 256, i % 256 }

var states = []string{"active", "active", "active", "free", "backup", "expired", "active", "released"}

// Leases writes the leases file of o and returns the number of whole
// rounds written: round after round over every address until the file
// has o.Size bytes, each record as dhcpd 4.4 writes one, binding states
// cycling so that the newest record of each address decides (Newest).
func Leases(w io.Writer, o Options) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var written int64
	n, _ := fmt.Fprint(bw, "# The format of this file is documented in the dhcpd.leases(5) manual page.\n# This lease file was written by isc-dhcp-4.4.3-P1\n\n# authoring-byte-order entry is generated, DO NOT DELETE\nauthoring-byte-order little-endian;\n\n")
	written += int64(n)
	round := 0
	for ; written < o.Size || round == 0; round++ {
		for i := 0; i < o.Subnets; i++ {
			a, b := subnet(i)
			for h := 20; h < 20+poolSize; h++ {
				st := states[(round+h)%len(states)]
				min, sec := round/60%60, round%60
				n, err := fmt.Fprintf(bw, "lease 10.%d.%d.%d {\n  starts 0 2026/12/06 03:%02d:%02d;\n  ends 0 2026/12/06 04:%02d:%02d;\n  tstp 0 2026/12/06 04:%02d:%02d;\n  cltt 0 2026/12/06 03:%02d:%02d;\n  binding state %s;\n  next binding state expired;\n  hardware ethernet 02:fa:%02x:%02x:%02x:%02x;\n  uid \"\\001\\002\\372\\000\\000\\001\\001\";\n  client-hostname \"host-%d-%d\";\n}\n",
					a, b, h, min, sec, min, sec, min, sec, min, sec, st, a, b, h, round&255, i, h)
				if err != nil {
					return round, err
				}
				written += int64(n)
			}
		}
	}
	return round, bw.Flush()
}

// Newest is the binding state the newest record of host h (20 to 219)
// has after rounds whole rounds, for checking counts.
func Newest(rounds, h int) string { return states[(rounds-1+h)%len(states)] }
