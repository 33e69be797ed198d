package leases

import (
	"errors"
	"fmt"
	"io"
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
	if err := c.file(path, 0); err != nil {
		return nil, err
	}
	return c.pools, nil
}

// ParseDHCPDConf reads the pools of one configuration held in memory;
// includes are not followed (they are reported as errors).
func ParseDHCPDConf(b []byte) ([]Pool, error) {
	c := &confReader{open: func(string, int64) ([]byte, error) {
		return nil, errors.New("include not followed")
	}}
	if err := c.parse("dhcpd.conf", b, 0); err != nil {
		return nil, err
	}
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
	open  func(path string, limit int64) ([]byte, error)
	total int64
	pools []Pool
}

func (c *confReader) file(path string, depth int) error {
	limit := min(int64(MaxConfSize), MaxConfTotal-c.total)
	b, err := c.open(path, limit)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrConf, path, err)
	}
	c.total += int64(len(b))
	return c.parse(path, b, depth)
}

func (c *confReader) parse(path string, b []byte, depth int) error {
	p := &confParser{c: c, path: path, depth: depth, lx: confLexer{b: b, line: 1}}
	return p.block(0, nil)
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
func (p *confParser) block(nesting int, pool *Pool) error {
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
		case "subnet", "shared-network", "group":
			err = p.scope(nesting)
		case "pool":
			err = p.pool(nesting)
		case "range":
			err = p.rangeStatement(pool)
		case "failover":
			err = p.failover(pool, nesting)
		case "include":
			err = p.include()
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

// scope reads `subnet A netmask M {`, `shared-network NAME {`, `group {`
// up to the brace, then the block. A subnet6 or shared-network without a
// block is skipped.
func (p *confParser) scope(nesting int) error {
	for {
		t := p.lx.next()
		switch {
		case t.is('{'):
			return p.block(nesting+1, nil)
		case t.kind == ctEOF, t.is(';'), t.is('}'):
			return p.skip(t, nesting)
		}
	}
}

// pool reads `pool { ... }`.
func (p *confParser) pool(nesting int) error {
	t := p.lx.next()
	if !t.is('{') {
		return p.skip(t, nesting)
	}
	var pl Pool
	if err := p.block(nesting+1, &pl); err != nil {
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
func (p *confParser) rangeStatement(pool *Pool) error {
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
	p.c.pools = append(p.c.pools, Pool{Ranges: []Range{r}})
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
func (p *confParser) include() error {
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
	return p.c.file(name, p.depth+1)
}
