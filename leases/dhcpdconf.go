package leases

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Bounds of ReadDHCPDConf.
const (
	// MaxConfSize bounds one configuration file, MaxConfTotal all files
	// read through includes together.
	MaxConfSize  = 8 << 20
	MaxConfTotal = 32 << 20
	// MaxIncludeDepth bounds nested includes (dhcpd has no bound; a
	// file that includes itself would otherwise never end).
	MaxIncludeDepth = 8
	// maxConfNesting bounds nested blocks (shared-network, subnet, group,
	// pool, class...): dhcpd's parser recurses the same way.
	maxConfNesting = 64
)

// ErrConf is wrapped by every error of ReadDHCPDConf and ParseDHCPDConf.
// The errors name files and line numbers, never the content.
var ErrConf = errors.New("leases: dhcpd.conf")

// ReadDHCPDConf reads the address pools of a dhcpd.conf (dhcpd.conf(5)) and
// of the files it includes: every `pool` with its `range` statements and
// its `failover peer`, and every `range` given directly in a subnet (a
// pool of its own, outside failover). Everything else is skipped, however
// dhcpd would read it. A relative include is taken relative to the
// directory of the file that includes it.
func ReadDHCPDConf(path string) ([]Pool, error) {
	c := &confReader{open: readBounded}
	if err := c.file(path, 0, confScope{}, nil); err != nil {
		return nil, err
	}
	c.placePools()
	return c.pools, nil
}

// Subnet is a `subnet A netmask M` of dhcpd.conf and the shared network
// that holds it: the enclosing `shared-network NAME`, or for a subnet
// outside every shared network its own prefix, as dhcpd names the
// implicit network it makes of it (server/confpars.c,
// parse_subnet_declaration: "Make the shared network name from network
// number").
type Subnet struct {
	Prefix        netip.Prefix
	SharedNetwork string
}

// ReadDHCPDConfSubnets is ReadDHCPDConf that also returns the subnets, in
// the order of the configuration (at most MaxPools of them; those past it
// are left out).
func ReadDHCPDConfSubnets(path string) ([]Pool, []Subnet, error) {
	c := &confReader{open: readBounded}
	if err := c.file(path, 0, confScope{}, nil); err != nil {
		return nil, nil, err
	}
	c.placePools()
	return c.pools, c.exportSubnets(), nil
}

// ParseDHCPDConfSubnets is ParseDHCPDConf that also returns the subnets.
func ParseDHCPDConfSubnets(b []byte) ([]Pool, []Subnet, error) {
	c := &confReader{open: func(string, int64) ([]byte, error) {
		return nil, errors.New("include not followed")
	}}
	if err := c.parse("dhcpd.conf", b, 0, confScope{}, nil); err != nil {
		return nil, nil, err
	}
	c.placePools()
	return c.pools, c.exportSubnets(), nil
}

func (c *confReader) exportSubnets() []Subnet {
	out := make([]Subnet, 0, len(c.subnets))
	for _, sn := range c.subnets {
		s := Subnet{Prefix: sn.prefix, SharedNetwork: sn.shared}
		if s.SharedNetwork == "" {
			s.SharedNetwork = sn.prefix.String()
		}
		out = append(out, s)
	}
	return out
}

// ParseDHCPDConf reads the pools of one configuration held in memory;
// includes are not followed (they are reported as errors).
func ParseDHCPDConf(b []byte) ([]Pool, error) {
	c := &confReader{open: func(string, int64) ([]byte, error) {
		return nil, errors.New("include not followed")
	}}
	if err := c.parse("dhcpd.conf", b, 0, confScope{}, nil); err != nil {
		return nil, err
	}
	c.placePools()
	return c.pools, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("longer than %d bytes", limit)
	}
	return b, nil
}

type confReader struct {
	open    func(path string, limit int64) ([]byte, error)
	total   int64
	pools   []Pool
	subnets []confSubnet
	reading []string // the files being read, outermost first
}

// confScope is where a statement stands: the shared network and the
// subnet around it.
type confScope struct {
	shared string
	subnet netip.Prefix
}

type confSubnet struct {
	prefix netip.Prefix
	shared string
}

// maxSubnets bounds the subnets ReadDHCPDConf keeps to place pools.
const maxSubnets = MaxPools

func (c *confReader) file(path string, depth int, sc confScope, pool *Pool) error {
	clean := filepath.Clean(path)
	for _, r := range c.reading {
		if r == clean {
			return fmt.Errorf("%w: %s: include cycle refused", ErrConf, path)
		}
	}
	limit := min(int64(MaxConfSize), MaxConfTotal-c.total)
	b, err := c.open(path, limit)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConf, path, err)
	}
	c.total += int64(len(b))
	c.reading = append(c.reading, clean)
	defer func() { c.reading = c.reading[:len(c.reading)-1] }()
	return c.parse(path, b, depth, sc, pool)
}

func (c *confReader) parse(path string, b []byte, depth int, sc confScope, pool *Pool) error {
	p := &confParser{c: c, path: path, depth: depth, lx: confLexer{b: b, line: 1}}
	return p.block(0, sc, pool)
}

// placePools gives a pool declared directly in a shared network (outside
// its subnets) the subnet of that network that holds its first address,
// as dhcpd does (dhcpd.conf(5), "The pool declaration": a pool in a
// shared network draws its ranges from the network's subnets).
func (c *confReader) placePools() {
	for i := range c.pools {
		pl := &c.pools[i]
		if pl.Subnet != "" || len(pl.Ranges) == 0 {
			continue
		}
		for _, sn := range c.subnets {
			if sn.shared == pl.SharedNetwork && sn.prefix.Contains(pl.Ranges[0].First) {
				pl.Subnet = sn.prefix.String()
				if pl.SharedNetwork == "" {
					pl.SharedNetwork = pl.Subnet
				}
				break
			}
		}
	}
}

// place sets the subnet and shared network of a pool declared in sc.
func (sc confScope) place(pl *Pool) {
	pl.SharedNetwork = sc.shared
	if sc.subnet.IsValid() {
		pl.Subnet = sc.subnet.String()
		if pl.SharedNetwork == "" {
			// A subnet outside every shared network is a network of its
			// own, named by its prefix (docs/isc-leases.md).
			pl.SharedNetwork = pl.Subnet
		}
	}
}

// confParser reads one file's statements.
type confParser struct {
	c     *confReader
	path  string
	depth int // of includes
	lx    confLexer
}

func (p *confParser) errorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s line %d: %s", ErrConf, p.path, p.lx.line, fmt.Sprintf(format, a...))
}

// block reads statements up to the `}` that closes the block (nesting >
// 0) or the end of the file; pool is the pool being read, if any.
func (p *confParser) block(nesting int, sc confScope, pool *Pool) error {
	if nesting > maxConfNesting {
		return p.errorf("blocks nested more than %d deep", maxConfNesting)
	}
	for {
		t := p.lx.next()
		switch {
		case t.kind == ctEOF:
			if nesting > 0 {
				return p.errorf("end of file inside a block")
			}
			return nil
		case t.is('}'):
			if nesting == 0 {
				return p.errorf("unbalanced }")
			}
			return nil
		case t.is(';'):
			continue
		case t.kind != ctWord:
			if err := p.skip(t, nesting); err != nil {
				return err
			}
			continue
		}
		var err error
		switch string(t.text) {
		case "subnet":
			err = p.subnet(nesting, sc, pool)
		case "shared-network":
			err = p.sharedNetwork(nesting, sc, pool)
		case "group":
			err = p.scope(nesting, sc, pool)
		case "pool":
			err = p.pool(nesting, sc)
		case "range":
			err = p.rangeStatement(sc, pool)
		case "failover":
			err = p.failover(pool, nesting)
		case "include":
			err = p.include(sc, pool)
		default:
			err = p.skip(t, nesting)
		}
		if err != nil {
			return err
		}
	}
}

// skip skips the rest of a statement: up to `;` or through a block.
func (p *confParser) skip(t confToken, nesting int) error {
	for {
		switch {
		case t.kind == ctEOF:
			return p.errorf("end of file inside a statement")
		case t.is(';'):
			return nil
		case t.is('}'):
			p.lx.unread(t) // the end of the enclosing block
			return nil
		case t.is('{'):
			return p.skipBlock(nesting + 1)
		}
		t = p.lx.next()
	}
}

// skipBlock skips up to the `}` that closes a block just opened.
func (p *confParser) skipBlock(nesting int) error {
	if nesting > maxConfNesting {
		return p.errorf("blocks nested more than %d deep", maxConfNesting)
	}
	for depth := 1; depth > 0; {
		t := p.lx.next()
		switch {
		case t.kind == ctEOF:
			return p.errorf("end of file inside a block")
		case t.is('{'):
			depth++
			if nesting+depth > maxConfNesting {
				return p.errorf("blocks nested more than %d deep", maxConfNesting)
			}
		case t.is('}'):
			depth--
		}
	}
	return nil
}

// scope reads a `group {` (or what is left of another declaration) up to
// the brace, then the block. A declaration without a block is skipped.
func (p *confParser) scope(nesting int, sc confScope, pool *Pool) error {
	for {
		t := p.lx.next()
		switch {
		case t.is('{'):
			return p.block(nesting+1, sc, pool)
		case t.kind == ctEOF, t.is(';'), t.is('}'):
			return p.skip(t, nesting)
		}
	}
}

// subnet reads `subnet A netmask M {` and its block (dhcpd.conf(5), "The
// subnet statement").
func (p *confParser) subnet(nesting int, sc confScope, pool *Pool) error {
	a, kw, m := p.lx.next(), p.lx.next(), p.lx.next()
	addr, err1 := netip.ParseAddr(string(a.text))
	mask, err2 := netip.ParseAddr(string(m.text))
	if a.kind != ctWord || kw.kind != ctWord || string(kw.text) != "netmask" || m.kind != ctWord ||
		err1 != nil || err2 != nil || !addr.Is4() || !mask.Is4() {
		return p.errorf("subnet: expected A netmask M with IPv4 addresses")
	}
	ones, bits := net.IPMask(mask.AsSlice()).Size()
	if bits == 0 {
		return p.errorf("subnet: netmask is not contiguous")
	}
	sc.subnet = netip.PrefixFrom(addr, ones).Masked()
	if len(p.c.subnets) < maxSubnets {
		p.c.subnets = append(p.c.subnets, confSubnet{sc.subnet, sc.shared})
	}
	return p.scope(nesting, sc, pool)
}

// sharedNetwork reads `shared-network NAME {` and its block, NAME quoted
// or not (dhcpd.conf(5), "The shared-network statement").
func (p *confParser) sharedNetwork(nesting int, sc confScope, pool *Pool) error {
	t := p.lx.next()
	if t.kind != ctWord && t.kind != ctString {
		return p.errorf("shared-network: expected a name")
	}
	if len(t.text) == 0 || len(t.text) > failover.MaxNameLen || !utf8.Valid(t.text) {
		return p.errorf("shared-network: name empty, longer than %d bytes or not UTF-8", failover.MaxNameLen)
	}
	sc.shared, sc.subnet = string(t.text), netip.Prefix{}
	return p.scope(nesting, sc, pool)
}

// pool reads `pool { ... }`.
func (p *confParser) pool(nesting int, sc confScope) error {
	t := p.lx.next()
	if !t.is('{') {
		return p.skip(t, nesting)
	}
	var pl Pool
	sc.place(&pl)
	if err := p.block(nesting+1, sc, &pl); err != nil {
		return err
	}
	if len(pl.Ranges) > 0 {
		if len(p.c.pools) >= MaxPools {
			return p.errorf("more than %d pools", MaxPools)
		}
		p.c.pools = append(p.c.pools, pl)
	}
	return nil
}

// rangeStatement reads `range [dynamic-bootp] A [B];`. Outside a pool the
// range is a pool of its own, as dhcpd makes it.
func (p *confParser) rangeStatement(sc confScope, pool *Pool) error {
	var addrs []netip.Addr
	for {
		t := p.lx.next()
		if t.is(';') {
			break
		}
		if t.kind != ctWord {
			return p.errorf("range: expected addresses and ;")
		}
		if string(t.text) == "dynamic-bootp" && len(addrs) == 0 {
			continue
		}
		a, err := netip.ParseAddr(string(t.text))
		if err != nil || !a.Is4() || len(addrs) == 2 {
			return p.errorf("range: expected one or two IPv4 addresses")
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return p.errorf("range: expected one or two IPv4 addresses")
	}
	r := Range{addrs[0], addrs[len(addrs)-1]}
	if r.Last.Less(r.First) {
		// dhcpd accepts the two ends in either order.
		r.First, r.Last = r.Last, r.First
	}
	if pool != nil {
		if len(pool.Ranges) >= MaxRanges {
			return p.errorf("more than %d ranges in a pool", MaxRanges)
		}
		pool.Ranges = append(pool.Ranges, r)
		return nil
	}
	if len(p.c.pools) >= MaxPools {
		return p.errorf("more than %d pools", MaxPools)
	}
	pl := Pool{Ranges: []Range{r}}
	sc.place(&pl)
	p.c.pools = append(p.c.pools, pl)
	return nil
}

// failover reads `failover peer "NAME";` inside a pool; the declaration
// `failover peer "NAME" { ... }` and a `failover peer "NAME" state` record
// anywhere are skipped.
func (p *confParser) failover(pool *Pool, nesting int) error {
	t := p.lx.next()
	if t.kind != ctWord || string(t.text) != "peer" {
		return p.skip(t, nesting)
	}
	name := p.lx.next()
	if name.kind != ctWord && name.kind != ctString {
		return p.skip(name, nesting)
	}
	t = p.lx.next()
	if !t.is(';') {
		return p.skip(t, nesting)
	}
	if pool == nil {
		return nil // dhcpd only honours it in a pool
	}
	if len(name.text) == 0 || len(name.text) > failover.MaxNameLen || !utf8.Valid(name.text) {
		return p.errorf("failover peer: name empty, longer than %d bytes or not UTF-8", failover.MaxNameLen)
	}
	pool.Peer = string(name.text)
	return nil
}

// include reads `include "FILE";` and reads FILE.
func (p *confParser) include(sc confScope, pool *Pool) error {
	t := p.lx.next()
	if t.kind != ctString {
		return p.errorf("include: expected a quoted file name")
	}
	if !p.lx.next().is(';') {
		return p.errorf("include: expected ;")
	}
	if p.depth >= MaxIncludeDepth {
		return p.errorf("includes nested more than %d deep", MaxIncludeDepth)
	}
	name := string(t.text)
	if !filepath.IsAbs(name) {
		name = filepath.Join(filepath.Dir(p.path), name)
	}
	// dhcpd reads an included file in place (common/conflex.c), so its
	// statements stand in the scope of the include.
	return p.c.file(name, p.depth+1, sc, pool)
}
