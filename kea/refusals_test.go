package kea

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// statisticGetAllCaptures are the real statistic-get-all answers of
// kea/testdata (README.md says where each comes from).
func statisticGetAllCaptures(t testing.TB) map[string][]byte {
	names, err := filepath.Glob(filepath.Join("testdata", "kea-*-statistic-get-all*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no statistic-get-all captures: %v", err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

func TestParseRefusalsRecorded(t *testing.T) {
	for name, b := range statisticGetAllCaptures(t) {
		r, err := ParseRefusals(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(r.Subnets) == 0 {
			t.Errorf("%s: no subnets", name)
		}
		// Kea's own global counts are the family's sum.
		all, _ := decodeStatisticGetAll(b)
		for _, c := range []struct {
			stat   string
			server int64
			sub    func(SubnetRefusals) int64
		}{
			{statAllocFail, r.PoolExhausted, func(s SubnetRefusals) int64 { return s.PoolExhausted }},
			{statAllocFailNoPools, r.NoPools, func(s SubnetRefusals) int64 { return s.NoPools }},
		} {
			want, _, _ := latest(all, c.stat)
			got := c.server
			for _, s := range r.Subnets {
				got += c.sub(s)
			}
			if got != want {
				t.Errorf("%s: %s: family sums to %d, Kea says %d", name, c.stat, got, want)
			}
		}
		if want, _, _ := latest(all, statNAKSent); r.NAKs != want {
			t.Errorf("%s: NAKs %d, want %d", name, r.NAKs, want)
		}
		t.Logf("%s: %+v", name, r)
	}
	// The Kea 2.2 standby of integration/kea_pools_test.go: one subnet, no
	// refusal yet (Kea creates the subnet's allocation-failure statistics
	// at its first failure: the subnet is known by total-addresses).
	r, err := ParseRefusals(statisticGetAllCaptures(t)["kea-2.2-statistic-get-all.json"])
	if err != nil {
		t.Fatal(err)
	}
	if want := (Refusals{Subnets: []SubnetRefusals{{SubnetID: 1}}}); !reflect.DeepEqual(r, want) {
		t.Errorf("2.2: %+v, want %+v", r, want)
	}
	// The primaries of integration/kea_refusals_test.go after 6 relayed
	// DISCOVERs to subnet 1 (its pool all leased), 3 to subnet 2 (no pool)
	// and 2 DHCPREQUESTs NAKed. Kea counts the 9 failures again under the
	// scope pair (-subnet 9, -shared-network 0) and under -classes (9:
	// every packet is in ALL), which is why neither is read.
	for _, line := range []string{"2.6", "3.0"} {
		name := "kea-" + line + "-statistic-get-all-refusals.json"
		b := statisticGetAllCaptures(t)[name]
		r, err := ParseRefusals(b)
		if err != nil {
			t.Fatal(err)
		}
		want := Refusals{Subnets: []SubnetRefusals{{1, 6, 0}, {2, 0, 3}}, NAKs: 2}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("%s: %+v, want %+v", name, r, want)
		}
		all, _ := decodeStatisticGetAll(b)
		for stat, want := range map[string]int64{
			"v4-allocation-fail": 6, "v4-allocation-fail-no-pools": 3,
			"v4-allocation-fail-subnet": 9, "v4-allocation-fail-shared-network": 0, "v4-allocation-fail-classes": 9,
		} {
			if got, _, _ := latest(all, stat); got != want {
				t.Errorf("%s: %s = %d, want %d", name, stat, got, want)
			}
		}
	}
}

func TestParseRefusals(t *testing.T) {
	const head = `{"result":0,"arguments":{`
	for _, tc := range []struct {
		name string
		in   string
		want Refusals
		err  error
	}{
		{
			name: "subnets and remainder",
			in: head + `"v4-allocation-fail":[[9,"t2"],[1,"t1"]],"v4-allocation-fail-no-pools":[[4,"t"]],
				"v4-allocation-fail-subnet":[[10,"t"]],"v4-allocation-fail-shared-network":[[3,"t"]],"v4-allocation-fail-classes":[[13,"t"]],
				"pkt4-nak-sent":[[2,"t"]],
				"subnet[2].v4-allocation-fail":[[5,"t"]],"subnet[2].v4-allocation-fail-no-pools":[[1,"t"]],
				"subnet[2].v4-allocation-fail-subnet":[[6,"t"]],"subnet[2].v4-allocation-fail-classes":[[6,"t"]],
				"subnet[1].total-addresses":[[10,"t"]],"subnet[1].pool[0].total-addresses":[[10,"t"]],
				"subnet[3].v4-allocation-fail-no-pools":[[2,"t"]]}}`,
			// 9 = 5 + 4 left to the server; 4 = 1 + 2 + 1 left.
			want: Refusals{
				Subnets:       []SubnetRefusals{{1, 0, 0}, {2, 5, 1}, {3, 0, 2}},
				PoolExhausted: 4, NoPools: 1, NAKs: 2,
			},
		},
		{
			name: "subnets above the global (a reset global): never negative",
			in:   head + `"v4-allocation-fail":[[1,"t"]],"subnet[7].v4-allocation-fail":[[5,"t"]]}}`,
			want: Refusals{Subnets: []SubnetRefusals{{7, 5, 0}}},
		},
		{
			name: "saturating sums",
			in:   head + `"v4-allocation-fail":[[9223372036854775807,"t"]],"subnet[1].v4-allocation-fail":[[9223372036854775807,"t"]],"subnet[2].v4-allocation-fail":[[9223372036854775807,"t"]]}}`,
			want: Refusals{Subnets: []SubnetRefusals{{1, 9223372036854775807, 0}, {2, 9223372036854775807, 0}}},
		},
		{
			name: "no statistics",
			in:   head + `}}`,
		},
		{
			name: "empty samples are missing statistics",
			in:   head + `"v4-allocation-fail":[],"pkt4-nak-sent":[[]],"subnet[4].v4-allocation-fail":[]}}`,
			want: Refusals{Subnets: []SubnetRefusals{{SubnetID: 4}}},
		},
		{
			name: "the UNIX socket's bare object and the HTTP list alike",
			in:   `[` + head + `"pkt4-nak-sent":[[3,"t"]]}}]`,
			want: Refusals{NAKs: 3},
		},
		{name: "negative", in: head + `"v4-allocation-fail":[[-1,"t"]]}}`, err: ErrProtocol},
		{name: "not a number", in: head + `"subnet[1].v4-allocation-fail-no-pools":[["x","t"]]}}`, err: ErrProtocol},
		{name: "float", in: head + `"pkt4-nak-sent":[[1.5,"t"]]}}`, err: ErrProtocol},
		{name: "arguments not an object", in: head[:len(head)-1] + `[]}`, err: ErrProtocol},
		{name: "command error", in: `{"result":1,"text":"error"}`, err: ErrCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRefusals([]byte(tc.in))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// More subnets than MaxStatsRows: the lowest IDs are kept, and the rest's
// failures count server-wide, so the family still sums to Kea's total.
func TestParseRefusalsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"result":0,"arguments":{"v4-allocation-fail":[[` + "10000" + `,"t"]]`)
	for i := 0; i < MaxStatsRows+10; i++ {
		b.WriteString(`,"subnet[` + strconv.Itoa(i+1) + `].v4-allocation-fail":[[2,"t"]]`)
	}
	b.WriteString(`}}`)
	r, err := ParseRefusals([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Subnets) != MaxStatsRows || r.Subnets[0].SubnetID != 1 || r.Subnets[MaxStatsRows-1].SubnetID != MaxStatsRows {
		t.Fatalf("%d subnets, %+v … %+v", len(r.Subnets), r.Subnets[0], r.Subnets[len(r.Subnets)-1])
	}
	if want := int64(10000 - 2*MaxStatsRows); r.PoolExhausted != want {
		t.Errorf("server-wide %d, want %d", r.PoolExhausted, want)
	}
}

// FuzzParseRefusals: never a panic, at most MaxStatsRows subnets, sorted
// and distinct, no negative count; seeded with the real captures.
func FuzzParseRefusals(f *testing.F) {
	for _, b := range statisticGetAllCaptures(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"result":0,"arguments":{"v4-allocation-fail":[[3,"t"]],"subnet[1].v4-allocation-fail":[[2,"t"]],"pkt4-nak-sent":[[1,"t"]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRefusals(b)
		if err != nil {
			return
		}
		if len(r.Subnets) > MaxStatsRows {
			t.Fatalf("%d subnets", len(r.Subnets))
		}
		if !sort.SliceIsSorted(r.Subnets, func(i, j int) bool { return r.Subnets[i].SubnetID < r.Subnets[j].SubnetID }) {
			t.Fatalf("not sorted: %+v", r.Subnets)
		}
		for i, s := range r.Subnets {
			if i > 0 && s.SubnetID == r.Subnets[i-1].SubnetID {
				t.Fatalf("subnet %d twice", s.SubnetID)
			}
			if s.SubnetID < 0 || s.PoolExhausted < 0 || s.NoPools < 0 {
				t.Fatalf("%+v", s)
			}
		}
		if r.PoolExhausted < 0 || r.NoPools < 0 || r.NAKs < 0 {
			t.Fatalf("%+v", r)
		}
	})
}
