package kea

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// MaxStatsRows bounds the subnets and pools read from one statistics
// answer; the rest are left out.
const MaxStatsRows = 4096

// AddressStats is the address statistics of one subnet, or of one pool of
// a subnet, as the server counts them.
type AddressStats struct {
	SubnetID int64
	// Pool is the pool's index in the subnet (Kea's pool[N]); -1 for the
	// whole subnet.
	Pool     int
	Total    int64
	Assigned int64
	Declined int64
}

// LeaseStats reads the address statistics of every subnet: with
// stat-lease4-get (the stat_cmds hook library, counted from the lease
// database) where the server has it, else from statistic-get-all (the
// server's statistics manager), which also has per-pool figures on the
// versions that keep them. Both commands only read.
func (c *Client) LeaseStats(ctx context.Context) ([]AddressStats, error) {
	b, err := c.do(ctx, "stat-lease4-get", nil)
	if err == nil {
		var s []AddressStats
		if s, err = ParseStatLease4Get(b); err == nil {
			return s, nil
		}
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if b, err = c.do(ctx, "statistic-get-all", nil); err != nil {
		return nil, err
	}
	return ParseStatisticGetAll(b)
}

// ParseStatLease4Get reads a stat-lease4-get answer: a result-set with
// the columns subnet-id, total-addresses, assigned-addresses and
// declined-addresses (others are ignored), one row per subnet (Kea ARM,
// "stat_cmds: Statistics Commands for Supplemental Lease Statistics").
func ParseStatLease4Get(b []byte) ([]AddressStats, error) {
	args, err := parseAnswer("stat-lease4-get", b)
	if err != nil {
		return nil, err
	}
	var w struct {
		ResultSet *struct {
			Columns []string            `json:"columns"`
			Rows    [][]json.RawMessage `json:"rows"`
		} `json:"result-set"`
	}
	if err := json.Unmarshal(args, &w); err != nil || w.ResultSet == nil {
		return nil, fmt.Errorf("%w: stat-lease4-get: no result-set", ErrProtocol)
	}
	col := map[string]int{}
	for i, c := range w.ResultSet.Columns {
		col[c] = i
	}
	for _, c := range []string{"subnet-id", "total-addresses", "assigned-addresses", "declined-addresses"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%w: stat-lease4-get: no column %s", ErrProtocol, c)
		}
	}
	var out []AddressStats
	for _, row := range w.ResultSet.Rows {
		if len(out) == MaxStatsRows {
			break
		}
		get := func(name string) (int64, error) {
			i := col[name]
			if i >= len(row) {
				return 0, fmt.Errorf("%w: stat-lease4-get: short row", ErrProtocol)
			}
			return parseCount(row[i])
		}
		var s AddressStats
		var errs [4]error
		s.SubnetID, errs[0] = get("subnet-id")
		s.Total, errs[1] = get("total-addresses")
		s.Assigned, errs[2] = get("assigned-addresses")
		s.Declined, errs[3] = get("declined-addresses")
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		s.Pool = -1
		out = append(out, s)
	}
	sortStats(out)
	return out, nil
}

// statName is a statistics-manager name of an address statistic:
// subnet[ID].X-addresses or subnet[ID].pool[N].X-addresses.
var statName = regexp.MustCompile(`^subnet\[([0-9]{1,10})\]\.(?:pool\[([0-9]{1,6})\]\.)?(total|assigned|declined)-addresses$`)

// ParseStatisticGetAll reads the address statistics from a
// statistic-get-all answer: each statistic is a list of [value, time]
// samples, the newest first (Kea ARM, "Statistics").
func ParseStatisticGetAll(b []byte) ([]AddressStats, error) {
	all, err := decodeStatisticGetAll(b)
	if err != nil {
		return nil, err
	}
	return addressStatsFrom(all)
}

func addressStatsFrom(all map[string][][]json.RawMessage) ([]AddressStats, error) {
	type key struct {
		subnet int64
		pool   int
	}
	byKey := map[key]*AddressStats{}
	for name, samples := range all {
		m := statName.FindStringSubmatch(name)
		if m == nil || len(samples) == 0 || len(samples[0]) == 0 {
			continue
		}
		v, err := parseCount(samples[0][0])
		if err != nil {
			return nil, fmt.Errorf("statistic-get-all: %s: %w", name, err)
		}
		k := key{pool: -1}
		k.subnet, _ = strconv.ParseInt(m[1], 10, 64)
		if m[2] != "" {
			k.pool, _ = strconv.Atoi(m[2])
		}
		s := byKey[k]
		if s == nil {
			if len(byKey) == MaxStatsRows {
				continue
			}
			s = &AddressStats{SubnetID: k.subnet, Pool: k.pool}
			byKey[k] = s
		}
		switch m[3] {
		case "total":
			s.Total = v
		case "assigned":
			s.Assigned = v
		case "declined":
			s.Declined = v
		}
	}
	out := make([]AddressStats, 0, len(byKey))
	for _, s := range byKey {
		out = append(out, *s)
	}
	sortStats(out)
	return out, nil
}

func sortStats(s []AddressStats) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].SubnetID != s[j].SubnetID {
			return s[i].SubnetID < s[j].SubnetID
		}
		return s[i].Pool < s[j].Pool
	})
}

// parseCount reads a non-negative integer JSON number.
func parseCount(raw json.RawMessage) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: not a count", ErrProtocol)
	}
	return n, nil
}
