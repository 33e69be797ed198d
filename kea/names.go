package kea

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
)

// SubnetName is what a person recognises a Kea subnet by: its prefix and
// the shared network that holds it (empty for a subnet on its own).
type SubnetName struct {
	Prefix        string
	SharedNetwork string
}

// Names maps subnet IDs, as Kea's statistics carry them (subnet[ID]...),
// to their names.
type Names map[int64]SubnetName

// maxSubnets bounds the subnets read from one answer or configuration:
// more than a large site's, so that a hostile answer cannot grow memory.
const maxSubnets = 65536

// maxNameLen bounds a shared network's name (a label value).
const maxNameLen = 128

// SubnetNames asks for subnet4-list: the subnet_cmds hook library's
// command (Kea ARM, "subnet_cmds: Subnet Commands"; Debian ships it from
// Kea 3.0), which answers every subnet's ID, prefix and shared network in
// one read-only call. Without the hook the error wraps ErrNotFound.
func (c *Client) SubnetNames(ctx context.Context) (Names, error) {
	b, err := c.do(ctx, "subnet4-list", nil)
	if err != nil {
		return nil, err
	}
	return ParseSubnet4List(b)
}

// ParseSubnet4List reads a subnet4-list answer, as Kea 3.0.4 answers it
// (kea/testdata/subnet4-list-3.0.4.json):
//
//	{"arguments": {"subnets": [{"id": 11, "shared-network-name": "campus",
//	  "subnet": "10.10.1.0/24"}, {"id": 20, "shared-network-name": null, ...}]},
//	 "result": 0, "text": "4 IPv4 subnets found"}
//
// An empty list is result 3 in Kea ("0 IPv4 subnets found"): no names.
func ParseSubnet4List(b []byte) (Names, error) {
	args, err := parseAnswer("subnet4-list", b)
	if err != nil {
		if re, ok := err.(*ResultError); ok && re.Result == resultEmpty {
			return Names{}, nil
		}
		return nil, err
	}
	var a struct {
		Subnets []struct {
			ID            *int64  `json:"id"`
			Subnet        string  `json:"subnet"`
			SharedNetwork *string `json:"shared-network-name"`
		} `json:"subnets"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("%w: subnet4-list: %v", ErrProtocol, err)
	}
	if len(a.Subnets) > maxSubnets {
		return nil, fmt.Errorf("%w: subnet4-list: %d subnets, more than %d", ErrProtocol, len(a.Subnets), maxSubnets)
	}
	names := Names{}
	for _, s := range a.Subnets {
		if s.ID == nil {
			return nil, fmt.Errorf("%w: subnet4-list: a subnet without id", ErrProtocol)
		}
		net := ""
		if s.SharedNetwork != nil {
			net = *s.SharedNetwork
		}
		n, err := subnetName(s.Subnet, net)
		if err != nil {
			return nil, fmt.Errorf("%w: subnet4-list: subnet %d: %v", ErrProtocol, *s.ID, err)
		}
		names[*s.ID] = n
	}
	return names, nil
}

// subnetName checks a prefix and a shared network's name, and writes the
// prefix in its canonical form.
func subnetName(prefix, network string) (SubnetName, error) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil || !p.Addr().Is4() {
		return SubnetName{}, fmt.Errorf("subnet is not an IPv4 prefix")
	}
	if len(network) > maxNameLen || !printable(network) {
		return SubnetName{}, fmt.Errorf("shared network name is longer than %d bytes or not printable", maxNameLen)
	}
	return SubnetName{Prefix: p.Masked().String(), SharedNetwork: network}, nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return false
		}
	}
	return true
}
