package peer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
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
	if len(ids) != c.Len() {
		panic("All and Len differ")
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
// the IDs are 1..n, and any other IDs (0, repeated, a gap, a whole chunk
// missing) are sorted in, repeated ones in the order they came.
func TestAnalysisReports(t *testing.T) {
	analysisOf := func(ids ...int) *analysis {
		a := &analysis{}
		for i, id := range ids {
			a.put(&ConnReport{ID: id, Client: strconv.Itoa(i)})
			a.ndone++
		}
		return a
	}
	n := 2*connChunk + 5
	ids := idRange(1, n)
	// Closed in another order than opened: the last chunk fills last.
	slices.Reverse(ids[connChunk:])
	a := analysisOf(ids...)
	first, last := &a.done[0][0], &a.done[2][0]
	c := a.reports()
	if got := connIDs(&c); !slices.Equal(got, idRange(1, n)) {
		t.Fatalf("dense: %d reports, not 1..%d in order", c.Len(), n)
	}
	if c.At(0) != first || c.At(2*connChunk) != last || a.done[0] != nil {
		t.Errorf("dense: the chunks were copied, or the analysis still holds them")
	}
	// Appended after the last chunk, which the analysis left partly empty.
	for i := range connChunk {
		c.Append(&ConnReport{ID: n + 1 + i})
	}
	if got := connIDs(&c); !slices.Equal(got, idRange(1, n+connChunk)) {
		t.Errorf("appended after the analysis's chunks: IDs %v..., want 1..%d", got[n-2:n+2], n+connChunk)
	}

	for _, tc := range []struct {
		name string
		ids  []int
		want []int
	}{
		{"gap in a full chunk", append(idRange(1, 10), idRange(12, connChunk+3)...), append(idRange(1, 10), idRange(12, connChunk+3)...)},
		{"gap in the last chunk", []int{1, 2, 4}, []int{1, 2, 4}},
		{"a chunk with no ID", append(idRange(1, connChunk), 2*connChunk+1), append(idRange(1, connChunk), 2*connChunk+1)},
		{"ID zero", []int{2, 0, 1}, []int{0, 1, 2}},
		{"ID twice", []int{1, 2, 3, 2}, []int{1, 2, 2, 3}},
		{"none", nil, nil},
	} {
		c := analysisOf(tc.ids...).reports()
		if got := connIDs(&c); !slices.Equal(got, tc.want) {
			t.Errorf("%s: IDs %v, want %v", tc.name, got, tc.want)
		}
	}
	// Repeated IDs keep the order they were stored in.
	c = analysisOf(3, 2, 1, 2).reports()
	if c.At(1).Client != "1" || c.At(2).Client != "3" {
		t.Errorf("ID 2 twice: clients %q, %q, want 1, 3", c.At(1).Client, c.At(2).Client)
	}
}

// TestConnReportsCopy: a copy shares the connections, as a slice does,
// and appending to it leaves the original's own unchanged.
func TestConnReportsCopy(t *testing.T) {
	c := MakeConnReports(ConnReport{ID: 1})
	d := c
	d.Append(&ConnReport{ID: 2})
	c.Append(&ConnReport{ID: 3})
	if got := connIDs(&c); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("original after appends to both: %v, want [1 3]", got)
	}
	d.At(0).Client = "x"
	if c.At(0).Client != "x" {
		t.Error("a change through a copy is not seen")
	}
}

// TestConnReportsJSON: the connections marshal as encoding/json marshals
// a slice of them, with or without HTML escaping, an empty list as [],
// and read back.
func TestConnReportsJSON(t *testing.T) {
	var rs []ConnReport
	for i := range connChunk + 2 {
		rs = append(rs, ConnReport{ID: i + 1, Client: "10.0.0.1:1", Relationship: "a<b>&c",
			Sides: [2]SideReport{{From: "a", Messages: map[string]uint64{"STATE": 1}}, {From: "b"}}})
	}
	c := MakeConnReports(rs...)
	for _, escape := range []bool{true, false} {
		var got, want bytes.Buffer
		for _, x := range []struct {
			v   any
			out *bytes.Buffer
		}{{c, &got}, {rs, &want}} {
			enc := json.NewEncoder(x.out)
			enc.SetEscapeHTML(escape)
			enc.SetIndent("", "  ")
			if err := enc.Encode(x.v); err != nil {
				t.Fatal(err)
			}
		}
		if got.String() != want.String() {
			t.Errorf("escape HTML %v: differs from the slice's JSON", escape)
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
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
