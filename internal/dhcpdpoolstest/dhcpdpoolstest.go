// Package dhcpdpoolstest compares the leases package's counts with those
// of dhcpd-pools(1) on the same dhcpd.conf and leases file, by the mapping
// docs/isc-leases.md defines ("The numbers of dhcpd-pools").
package dhcpdpoolstest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/dhcpfailover/dhcp_failover_exporter/leases"
)

// Row is one line of dhcpd-pools: a range ("A-B") or a shared network.
type Row struct {
	Name                    string // the range, or the shared network
	Network                 string // the shared network
	Max, Cur, Touch, Backup int
}

func (r Row) String() string {
	return fmt.Sprintf("%s %s max=%d cur=%d touch=%d bu=%d", r.Network, r.Name, r.Max, r.Cur, r.Touch, r.Backup)
}

// Report is what dhcpd-pools prints, by range and by shared network.
type Report struct{ Ranges, Networks []Row }

// Run runs dhcpd-pools with -A (a subnet outside every shared network is a
// network named by its prefix, as docs/isc-leases.md names it) and CSV output,
// the one format that has the backup count.
func Run(conf, leasesFile string) ([]byte, error) {
	out, err := exec.Command("dhcpd-pools", "-A", "-f", "c", "-c", conf, "-l", leasesFile).Output()
	if err != nil {
		return nil, fmt.Errorf("dhcpd-pools: %w", err)
	}
	return out, nil
}

// Parse reads the "Ranges:" and "Shared networks:" sections of
// `dhcpd-pools -f c`.
func Parse(b []byte) (Report, error) {
	var rep Report
	var section string
	for _, line := range strings.Split(string(b), "\n") {
		switch strings.TrimSpace(line) {
		case `"Ranges:"`, `"Shared networks:"`, `"Sum of all ranges:"`:
			section = strings.Trim(strings.TrimSpace(line), `":`)
			continue
		case "":
			continue
		}
		if section == "Sum of all ranges" {
			continue // dhcpd-pools 2.29 misquotes its last fields
		}
		f, err := csv.NewReader(strings.NewReader(line)).Read()
		if err != nil {
			return rep, fmt.Errorf("dhcpd-pools output %q: %w", line, err)
		}
		if f[0] == "shared net name" || f[0] == "name" {
			continue
		}
		num := func(i int) int {
			if i >= len(f) {
				err = fmt.Errorf("dhcpd-pools output %q: short", line)
				return 0
			}
			n, e := strconv.Atoi(f[i])
			if e != nil {
				err = e
			}
			return n
		}
		switch section {
		case "Ranges":
			rep.Ranges = append(rep.Ranges, Row{Network: f[0], Name: f[1] + "-" + f[2], Max: num(3), Cur: num(4), Touch: num(6), Backup: num(9)})
		case "Shared networks":
			rep.Networks = append(rep.Networks, Row{Network: f[0], Name: f[0], Max: num(1), Cur: num(2), Touch: num(4), Backup: num(7)})
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// Touched is dhcpd-pools' "touch": addresses in the leases file that are
// neither active, free nor backup (docs/isc-leases.md).
func Touched(c [leases.NumBindingStates]int) int {
	return c[leases.BindingFree] + c[leases.BindingExpired] + c[leases.BindingReleased] + c[leases.BindingAbandoned] +
		c[leases.BindingReset] + c[leases.BindingReserved] + c[leases.BindingBootp]
}

// Count reads the dhcpd.conf and the leases file with the leases package
// and reports them as dhcpd-pools would: each range a pool of its own for
// the per-range rows (same code, finer table), the pools summed by
// SharedNetwork for the network rows. Networks the leases package cannot
// place (SharedNetwork empty) are left out, as dhcpd-pools leaves out
// nothing: a test then sees the difference.
func Count(conf, leasesFile string) (Report, error) {
	pools, err := leases.ReadDHCPDConf(conf)
	if err != nil {
		return Report{}, err
	}
	var split []leases.Pool
	for _, p := range pools {
		for _, r := range p.Ranges {
			q := p
			q.Ranges = []leases.Range{r}
			split = append(split, q)
		}
	}
	tab, err := leases.NewTable(split)
	if err != nil {
		return Report{}, err
	}
	b, err := os.ReadFile(leasesFile)
	if err != nil {
		return Report{}, err
	}
	p := leases.Parser{Bindings: tab}
	if _, err := p.Feed(nil, b); err != nil {
		return Report{}, err
	}
	var rep Report
	nets := map[string]*Row{}
	var order []string
	for _, c := range tab.Counts() {
		if c.Pool == nil {
			continue // outside every range: dhcpd-pools ignores them too
		}
		row := Row{Name: c.Pool.Name(), Network: c.Pool.SharedNetwork, Max: c.Pool.Size(),
			Cur: c.Counts[leases.BindingActive], Touch: Touched(c.Counts), Backup: c.Counts[leases.BindingBackup]}
		rep.Ranges = append(rep.Ranges, row)
		n := nets[row.Network]
		if n == nil {
			n = &Row{Name: row.Network, Network: row.Network}
			nets[row.Network] = n
			order = append(order, row.Network)
		}
		n.Max, n.Cur, n.Touch, n.Backup = n.Max+row.Max, n.Cur+row.Cur, n.Touch+row.Touch, n.Backup+row.Backup
	}
	for _, name := range order {
		rep.Networks = append(rep.Networks, *nets[name])
	}
	return rep, nil
}

// Diff lists the rows where two reports differ, in no particular order
// of the tools; empty when they agree.
func Diff(got, want Report) string {
	var out bytes.Buffer
	diff := func(kind string, g, w []Row) {
		gs, ws := rowSet(g), rowSet(w)
		for k := range ws {
			if !gs[k] {
				fmt.Fprintf(&out, "%s only in dhcpd-pools: %s\n", kind, k)
			}
		}
		for k := range gs {
			if !ws[k] {
				fmt.Fprintf(&out, "%s only in leases: %s\n", kind, k)
			}
		}
	}
	diff("range", got.Ranges, want.Ranges)
	diff("network", got.Networks, want.Networks)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	sort.Strings(lines)
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func rowSet(rows []Row) map[string]bool {
	m := map[string]bool{}
	for _, r := range rows {
		m[r.String()] = true
	}
	return m
}
