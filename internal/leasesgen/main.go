// Command leasesgen writes a large dhcpd.conf and dhcpd.leases pair for
// scripts/bench.d/leases.sh (leases/leasestest).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dhcpfailover/dhcp_failover_exporter/leases/leasestest"
)

func main() {
	dir := flag.String("dir", ".", "directory to write dhcpd.conf and dhcpd.leases into")
	size := flag.Int64("size", 1<<30, "leases file size in bytes (about)")
	subnets := flag.Int("subnets", 256, "number of /24 subnets of 200 pool addresses each")
	flag.Parse()
	o := leasestest.Options{Subnets: *subnets, Size: *size}
	if err := write(*dir, o); err != nil {
		fmt.Fprintln(os.Stderr, "leasesgen:", err)
		os.Exit(1)
	}
}

func write(dir string, o leasestest.Options) error {
	conf, err := os.Create(filepath.Join(dir, "dhcpd.conf"))
	if err != nil {
		return err
	}
	if err := leasestest.Conf(conf, o); err != nil {
		return err
	}
	if err := conf.Close(); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "dhcpd.leases"))
	if err != nil {
		return err
	}
	n, err := leasestest.Leases(f, o)
	if err != nil {
		return err
	}
	fmt.Printf("leasesgen: %d lease records over %d addresses\n", n*o.Addresses(), o.Addresses())
	return f.Close()
}
