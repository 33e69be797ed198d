package peer

import (
	"encoding/json"
	"slices"
	"testing"
)

func connIDs(c *ConnReports) []int {
	var ids []int
	for i, r := range c.All() {
		if c.At(i) != r {
			panic("At and All differ")
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func idRange(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// TestAnalysisReports: the summaries come out in ID order whichever
// order the connections closed in; the chunks are the report's own when
// the IDs are 1..n, and any other IDs (0, repeated, a gap) are sorted in.
func TestAnalysisReports(t *testing.T) {
	reports := func(ids ...int) (*analysis, ConnReports) {
		a := &analysis{}
		for _, id := range ids {
			a.put(&ConnReport{ID: id})
			a.ndone++
		}
		return a, a.reports()
	}
	n := 2*connChunk + 5
	ids := idRange(1, n)
	// Closed in another order than opened: the last chunk fills last.
	slices.Reverse(ids[connChunk:])
	a, c := reports(ids...)
	if got := connIDs(&c); !slices.Equal(got, idRange(1, n)) || c.Len() != n {
		t.Fatalf("dense: %d reports, not 1..%d in order", c.Len(), n)
	}
	if len(c.chunks) != 3 || a.done[0] != nil {
		t.Errorf("dense: %d chunks; the analysis still holds them: %v", len(c.chunks), a.done[0] != nil)
	}

	for _, tc := range []struct {
		name string
		ids  []int
		want []int
	}{
		{"gap in a full chunk", append(idRange(1, 10), idRange(12, connChunk+3)...), append(idRange(1, 10), idRange(12, connChunk+3)...)},
		{"gap in the last chunk", []int{1, 2, 4}, []int{1, 2, 4}},
		{"ID zero", []int{2, 0, 1}, []int{0, 1, 2}},
		{"ID twice", []int{1, 2, 2, 3}, []int{1, 2, 2, 3}},
		{"none", nil, nil},
	} {
		_, c := reports(tc.ids...)
		if got := connIDs(&c); !slices.Equal(got, tc.want) || c.Len() != len(tc.want) {
			t.Errorf("%s: IDs %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestConnReportsJSON: the connections marshal as one array, an empty
// one too, and read back.
func TestConnReportsJSON(t *testing.T) {
	var c ConnReports
	for i := range connChunk + 2 {
		c.Append(&ConnReport{ID: i + 1, Client: "10.0.0.1:1", Sides: [2]SideReport{{From: "a"}, {From: "b"}}})
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var rs []ConnReport
	if err := json.Unmarshal(b, &rs); err != nil || len(rs) != c.Len() || rs[connChunk].ID != connChunk+1 {
		t.Fatalf("as an array: %d reports, %v", len(rs), err)
	}
	var back ConnReports
	if err := json.Unmarshal(b, &back); err != nil || !slices.Equal(connIDs(&back), connIDs(&c)) {
		t.Fatalf("read back: %v", err)
	}
	if b, err := json.Marshal(ConnReports{}); err != nil || string(b) != "[]" {
		t.Errorf("empty: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte("null"), &back); err != nil || back.Len() != 0 {
		t.Errorf("null: %d reports, %v", back.Len(), err)
	}
	defer func() {
		if recover() == nil {
			t.Error("At past the end did not panic")
		}
	}()
	back.At(0)
}
