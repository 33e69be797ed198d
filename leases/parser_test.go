package leases

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

func parseAll(t testing.TB, b []byte) ([]Record, error) {
	t.Helper()
	var p Parser
	return p.Feed(nil, b)
}

func utc(s string) time.Time {
	tm, err := time.Parse("2006/01/02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return tm
}

// The fault-cycle files of the lab (SIGKILL of the secondary, partner-down
// on the primary, restart of the secondary, back to normal).
func TestFixtures(t *testing.T) {
	for _, tc := range []struct {
		file   string
		n      int
		secRec bool // records carry mclt: written by the secondary
		first  [2]string
		last   [2]string
	}{
		{"primary-fault-cycle.leases", 17, false, [2]string{"recover", "unknown-state"}, [2]string{"normal", "normal"}},
		{"secondary-fault-cycle.leases", 8, true, [2]string{"normal", "normal"}, [2]string{"normal", "normal"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := parseAll(t, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.n {
				t.Fatalf("%d records, want %d", len(recs), tc.n)
			}
			if got := bytes.Count(b, []byte("failover peer")); got != tc.n {
				t.Fatalf("fixture has %d failover statements", got)
			}
			for _, r := range recs {
				if r.Peer != "fo-lab" {
					t.Errorf("peer %q", r.Peer)
				}
				if mclt, ok := r.MCLT.Get(); ok != tc.secRec || ok && mclt != time.Minute {
					t.Errorf("mclt %v %v", mclt, ok)
				}
				if !bytes.HasPrefix(b[r.Offset:], []byte("failover peer")) {
					t.Errorf("offset %d does not point at the statement", r.Offset)
				}
			}
			f, l := recs[0], recs[len(recs)-1]
			if f.My.Native != tc.first[0] || f.Partner.Native != tc.first[1] || l.My.Native != tc.last[0] || l.Partner.Native != tc.last[1] {
				t.Errorf("first %s/%s last %s/%s", f.My.Native, f.Partner.Native, l.My.Native, l.Partner.Native)
			}
			if !f.My.Since.Equal(utc("2026/11/26 17:34:05")) {
				t.Errorf("first date %v", f.My.Since)
			}
		})
	}
}

func TestPrimaryRecordValues(t *testing.T) {
	b, _ := os.ReadFile("testdata/primary-fault-cycle.leases")
	recs, _ := parseAll(t, b)
	// line 1260 of the fixture
	r := recs[10]
	want := Record{Peer: "fo-lab",
		My:      Side{failover.PartnerDown, "partner-down", utc("2026/11/26 17:34:09")},
		Partner: Side{failover.Normal, "normal", utc("2026/11/26 17:34:05")}}
	if !r.Same(want) {
		t.Fatalf("got %+v", r)
	}
}

// Any split of the input gives the same records: the incremental parser
// holds a half-written statement until its end arrives.
func TestSplitInvariance(t *testing.T) {
	for _, f := range []string{"primary-fault-cycle.leases", "secondary-fault-cycle.leases"} {
		b, _ := os.ReadFile("testdata/" + f)
		want, _ := parseAll(t, b)
		// byte by byte
		var p Parser
		var got []Record
		for i := range b {
			var err error
			if got, err = p.Feed(got, b[i:i+1]); err != nil {
				t.Fatal(err)
			}
		}
		sameRecords(t, got, want)
		// random pieces
		rng := rand.New(rand.NewSource(1))
		for round := 0; round < 50; round++ {
			var p Parser
			var got []Record
			for i := 0; i < len(b); {
				n := 1 + rng.Intn(300)
				if i+n > len(b) {
					n = len(b) - i
				}
				got, _ = p.Feed(got, b[i:i+n])
				i += n
			}
			sameRecords(t, got, want)
		}
	}
}

func sameRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Same(want[i]) || got[i].Offset != want[i].Offset {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHalfWritten(t *testing.T) {
	rec := "failover peer \"fo-lab\" state {\n  my state normal at 4 2026/11/26 17:34:05;\n  partner state normal at 4 2026/11/26 17:34:05;\n}\n"
	var p Parser
	for cut := 0; cut < len(rec)-2; cut++ { // the record ends at the brace
		p = Parser{}
		got, err := p.Feed(nil, []byte(rec[:cut]))
		if err != nil || len(got) != 0 {
			t.Fatalf("cut %d: %v %v", cut, got, err)
		}
		if cut > 0 && !p.Pending() {
			t.Fatalf("cut %d: not pending", cut)
		}
		got, err = p.Feed(nil, []byte(rec[cut:]))
		if err != nil || len(got) != 1 {
			t.Fatalf("cut %d: %v %v", cut, got, err)
		}
		if p.Pending() {
			t.Fatalf("cut %d: still pending", cut)
		}
		got, _ = p.Feed(nil, []byte("\n"))
		if len(got) != 0 {
			t.Fatal("record returned twice")
		}
	}
}

func TestDateForms(t *testing.T) {
	for _, tc := range []struct {
		date string
		want time.Time
	}{
		{"at 4 2026/11/26 16:39:00", utc("2026/11/26 16:39:00")},
		{"at 0 1999/01/01 00:00:00", utc("1999/01/01 00:00:00")},
		{"at epoch 1795710240; # Thu Nov 26 16:24:00 2026\n", time.Unix(1795710240, 0).UTC()},
		{"at never", time.Time{}},
		{"", time.Time{}},
	} {
		in := "failover peer \"p\" state {\n my state partner-down " + tc.date
		if !strings.HasSuffix(tc.date, "\n") {
			in += ";"
		}
		in += "\n partner state recover-wait at never;\n mclt 3600;\n}\n"
		recs, err := parseAll(t, []byte(in))
		if err != nil || len(recs) != 1 {
			t.Fatalf("%q: %v %v", tc.date, recs, err)
		}
		r := recs[0]
		if !r.My.Since.Equal(tc.want) || r.My.State != failover.PartnerDown || r.Partner.State != failover.RecoverWait {
			t.Errorf("%q: %+v", tc.date, r)
		}
		if m, _ := r.MCLT.Get(); m != time.Hour {
			t.Errorf("mclt %v", m)
		}
	}
}

// Everything that is not a failover record is skipped, whatever it holds.
func TestSkipsOtherStatements(t *testing.T) {
	in := `# The format of this file is documented in the dhcpd.leases(5) manual page.
authoring-byte-order little-endian;
server-duid "\000\001\000\0012\233*\015\002\372\000\000\000\001";
lease 10.0.0.1 {
  starts 4 2026/11/26 17:34:05;
  binding state active;
  hardware ethernet 02:fa:00:00:01:01;
  uid "\001\002\372\000\000\001\001";
  client-hostname "a } b; failover peer \"x\" state { my state normal; }";
  set vendor-class-identifier = "{;#";
  # a comment with { and "
  on expiry { set x = "}"; }
}
host h1 { dynamic; hardware ethernet 00:01:02:03:04:05; fixed-address 10.0.0.9; }
failover-like-word x;
subclass "c" 1:2:3 { lease limit 1; }
failover peer fo-lab2 state {
  my state normal at 4 2026/11/26 17:34:05; # trailing { comment
  partner state normal at 4 2026/11/26 17:34:05;
}
failover peer "fo-lab" state {
  my state communications-interrupted at 4 2026/11/26 16:39:00;
  partner state normal at 4 2026/11/26 16:37:40;
}
`
	recs, err := parseAll(t, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Peer != "fo-lab2" || recs[1].Peer != "fo-lab" || recs[1].My.State != failover.CommunicationInt {
		t.Fatalf("%+v", recs)
	}
}

// A hole of zeros (a write at dhcpd's old offset after someone else
// truncated the file) reads as white space.
func TestNULHole(t *testing.T) {
	in := append(make([]byte, 5000), "failover peer \"p\" state { my state normal; partner state normal; }"...)
	recs, err := parseAll(t, in)
	if err != nil || len(recs) != 1 || recs[0].Offset != 5000 {
		t.Fatalf("%v %v", recs, err)
	}
}

func TestDamagedRecords(t *testing.T) {
	good := "failover peer \"ok\" state {\n my state normal at 4 2026/11/26 17:34:05;\n partner state normal at 4 2026/11/26 17:34:05;\n}\n"
	for _, tc := range []struct {
		name, bad string
		want      error
	}{
		{"unknown state", "failover peer \"x\" state { my state bogus; partner state normal; }\n", ErrSyntax},
		{"no partner", "failover peer \"x\" state { my state normal; }\n", ErrSyntax},
		{"twice", "failover peer \"x\" state { my state normal; my state normal; partner state normal; }\n", ErrSyntax},
		{"bad date", "failover peer \"x\" state { my state normal at 4 2026/02/30 00:00:00; partner state normal; }\n", ErrSyntax},
		{"bad time", "failover peer \"x\" state { my state normal at 4 2026/02/03 24:00:00; partner state normal; }\n", ErrSyntax},
		{"bad weekday", "failover peer \"x\" state { my state normal at 7 2026/02/03 00:00:00; partner state normal; }\n", ErrSyntax},
		{"huge epoch", "failover peer \"x\" state { my state normal at epoch 999999999999999; partner state normal; }\n", ErrSyntax},
		{"huge mclt", "failover peer \"x\" state { my state normal; partner state normal; mclt 4294967296; }\n", ErrSyntax},
		{"empty name", "failover peer \"\" state { my state normal; partner state normal; }\n", ErrSyntax},
		{"not utf8", "failover peer \"\\377\" state { my state normal; partner state normal; }\n", ErrSyntax},
		{"not state", "failover peer \"x\" { my state normal; partner state normal; }\n", ErrSyntax},
		{"semicolon", "failover peer \"x\" state;\n", ErrSyntax},
		{"unknown item", "failover peer \"x\" state { my state normal; partner state normal; split 128; }\n", ErrSyntax},
		{"stray brace", "}\n", ErrSyntax},
		{"huge record", "failover peer \"x\" state {\n" + strings.Repeat(" my state normal;\n", MaxRecordSize/10) + "}\n", ErrTooLarge},
		{"runaway lease", "lease 10.0.0.1 {\n" + strings.Repeat("  binding state free;\n", MaxStatementSize/15) + "\n", ErrTooLarge},
		{"runaway string", "failover peer \"x" + strings.Repeat("a", MaxRecordSize) + "\n", ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good + tc.bad + good
			for _, piece := range []int{len(in), 4096, 7} {
				var p Parser
				var recs []Record
				var errs []error
				for i := 0; i < len(in); i += piece {
					var err error
					recs, err = p.Feed(recs, []byte(in[i:min(i+piece, len(in))]))
					if err != nil {
						errs = append(errs, err)
					}
				}
				if len(recs) != 2 || recs[0].Peer != "ok" || recs[1].Peer != "ok" {
					t.Fatalf("piece %d: %d records %+v", piece, len(recs), recs)
				}
				if len(errs) != 1 || !errors.Is(errs[0], tc.want) {
					t.Fatalf("piece %d: errors %v, want one %v", piece, errs, tc.want)
				}
				if cap(p.buf) > MaxRecordSize+64<<10 {
					t.Fatalf("buffer grew to %d", cap(p.buf))
				}
			}
		})
	}
}

// Errors name offsets, never the file's content: the path may point at
// any file the exporter can read.
func TestErrorsDoNotQuoteContent(t *testing.T) {
	in := "failover peer \"s3cr3t\" state { my state s3cr3t; partner state normal; }\nfailover peer s3cr3t s3cr3t\n}\n"
	_, err := parseAll(t, []byte(in))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v", err)
	}
}

func TestManyErrorsBounded(t *testing.T) {
	in := strings.Repeat("}\n", 1000)
	_, err := parseAll(t, []byte(in))
	if err == nil || !strings.Contains(err.Error(), "992 more") {
		t.Fatalf("%v", err)
	}
}
