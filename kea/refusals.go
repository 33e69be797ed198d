package kea

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
)

// Refusals are the server's counts of DHCPv4 requests it could not
// satisfy, as its statistics manager keeps them (docs/kea.md, "Refusals").
//
// Kea counts an allocation failure in allocateUnreservedLease4
// (src/lib/dhcpsrv/alloc_engine.cc, the same in 2.2, 2.6 and 3.0) under
// three statistics at once, each globally and for the subnet it tried
// last (subnet[ID].…):
//
//   - v4-allocation-fail-shared-network or v4-allocation-fail-subnet:
//     whether the client is on a shared network (the scope);
//   - v4-allocation-fail-no-pools (no pool was usable, no address tried)
//     or v4-allocation-fail (addresses were tried, none was free): the
//     cause, exactly one of the two;
//   - v4-allocation-fail-classes, whenever the packet has a class, which
//     is always (dhcp4_srv.cc adds the class ALL to every packet).
//
// The cause pair counts every failure once, so it is what is read:
// v4-allocation-fail is PoolExhausted, v4-allocation-fail-no-pools is
// NoPools. The scope pair and -classes count the same failures again and
// are not read (the ARM's "v4-allocation-fail … the number of lease
// allocation attempts that the server made before giving up" is this
// cause; Kea ARM, "Statistics in the DHCPv4 Server").
type Refusals struct {
	// Subnets holds every subnet the statistics name (any subnet[ID].
	// statistic, such as total-addresses, which Kea creates with the
	// configuration), by ID, its counts 0 until Kea creates its
	// allocation-failure statistics at the first failure. At most
	// MaxStatsRows, the lowest IDs; the counts of the rest are in the
	// server-wide remainder.
	Subnets []SubnetRefusals
	// PoolExhausted and NoPools are what the global statistics count
	// beyond the sum of the subnets listed (never negative): failures
	// counted under a subnet the statistics no longer name, or beyond
	// MaxStatsRows. The family then sums to Kea's global count.
	PoolExhausted, NoPools int64
	// NAKs is pkt4-nak-sent, the DHCPNAKs sent, a global statistic only.
	NAKs int64
}

// SubnetRefusals are one subnet's allocation failures.
type SubnetRefusals struct {
	SubnetID      int64
	PoolExhausted int64 // subnet[ID].v4-allocation-fail
	NoPools       int64 // subnet[ID].v4-allocation-fail-no-pools
}

// The statistics read, as Kea names them (Kea ARM, "Statistics in the
// DHCPv4 Server").
const (
	statAllocFail        = "v4-allocation-fail"
	statAllocFailNoPools = "v4-allocation-fail-no-pools"
	statNAKSent          = "pkt4-nak-sent"
)

// subnetStatName is any per-subnet statistic: subnet[ID].X (pools'
// subnet[ID].pool[N].X included; they name the subnet too).
var subnetStatName = regexp.MustCompile(`^subnet\[([0-9]{1,10})\]\.(.{1,64})$`)

// ParseRefusals reads the refusal counts from a statistic-get-all answer.
func ParseRefusals(b []byte) (Refusals, error) {
	all, err := decodeStatisticGetAll(b)
	if err != nil {
		return Refusals{}, err
	}
	return refusalsFrom(all)
}

// decodeStatisticGetAll decodes a statistic-get-all answer: each
// statistic is a list of [value, time] samples, the newest first (Kea
// ARM, "Statistics").
func decodeStatisticGetAll(b []byte) (map[string][][]json.RawMessage, error) {
	args, err := parseAnswer("statistic-get-all", b)
	if err != nil {
		return nil, err
	}
	var all map[string][][]json.RawMessage
	if err := json.Unmarshal(args, &all); err != nil {
		return nil, fmt.Errorf("%w: statistic-get-all: %v", ErrProtocol, cleanText(err.Error()))
	}
	return all, nil
}

// latest is a statistic's newest value; ok is false where the statistic
// or its samples are missing.
func latest(all map[string][][]json.RawMessage, name string) (v int64, ok bool, err error) {
	samples := all[name]
	if len(samples) == 0 || len(samples[0]) == 0 {
		return 0, false, nil
	}
	v, err = parseCount(samples[0][0])
	if err != nil {
		return 0, false, fmt.Errorf("statistic-get-all: %s: %w", cleanText(name), err)
	}
	return v, true, nil
}

func refusalsFrom(all map[string][][]json.RawMessage) (Refusals, error) {
	var r Refusals
	ids := map[int64]bool{}
	for name := range all {
		m := subnetStatName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		ids[id] = true
	}
	sorted := make([]int64, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	if len(sorted) > MaxStatsRows {
		sorted = sorted[:MaxStatsRows]
	}
	var sumExhausted, sumNoPools int64
	var errs []error
	for _, id := range sorted {
		prefix := "subnet[" + strconv.FormatInt(id, 10) + "]."
		s := SubnetRefusals{SubnetID: id}
		var err error
		if s.PoolExhausted, _, err = latest(all, prefix+statAllocFail); err != nil {
			errs = append(errs, err)
		}
		if s.NoPools, _, err = latest(all, prefix+statAllocFailNoPools); err != nil {
			errs = append(errs, err)
		}
		sumExhausted = addSat(sumExhausted, s.PoolExhausted)
		sumNoPools = addSat(sumNoPools, s.NoPools)
		r.Subnets = append(r.Subnets, s)
		if len(errs) > 0 {
			break
		}
	}
	global := func(name string, sum int64) int64 {
		v, _, err := latest(all, name)
		if err != nil {
			errs = append(errs, err)
		}
		if v <= sum {
			return 0
		}
		return v - sum
	}
	r.PoolExhausted = global(statAllocFail, sumExhausted)
	r.NoPools = global(statAllocFailNoPools, sumNoPools)
	r.NAKs = global(statNAKSent, 0)
	if err := errors.Join(errs...); err != nil {
		return Refusals{}, err
	}
	return r, nil
}

// addSat adds two counts, saturating at the largest int64 (a hostile
// server's counts cannot wrap the sum).
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// Statistics is what one poll reads of the server's statistics: the
// address statistics (LeaseStats) and the refusals, each with its own
// error, so that one may be had without the other.
type Statistics struct {
	Addresses    []AddressStats
	AddressesErr error
	Refusals     Refusals
	RefusalsErr  error
}

// Statistics reads the address statistics and the refusals with one
// statistic-get-all and, where the server has stat_cmds, one
// stat-lease4-get (preferred for the addresses, as in LeaseStats). Both
// commands only read.
func (c *Client) Statistics(ctx context.Context) Statistics {
	var st Statistics
	var all map[string][][]json.RawMessage
	b, err := c.do(ctx, "statistic-get-all", nil)
	if err == nil {
		all, err = decodeStatisticGetAll(b)
	}
	if err == nil {
		st.Refusals, st.RefusalsErr = refusalsFrom(all)
	} else {
		st.RefusalsErr = err
	}
	b, err = c.do(ctx, "stat-lease4-get", nil)
	if err == nil {
		if st.Addresses, err = ParseStatLease4Get(b); err == nil {
			return st
		}
	}
	if !errors.Is(err, ErrNotFound) {
		st.AddressesErr = err
		return st
	}
	if all == nil {
		st.AddressesErr = st.RefusalsErr
		return st
	}
	st.Addresses, st.AddressesErr = addressStatsFrom(all)
	return st
}
