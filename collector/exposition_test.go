package collector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/prometheus/common/expfmt"
)

// TestWriteTextIsGatherEncoded: the bytes WriteText copies are what
// expfmt's encoder writes for the families Gather returns, in both text
// formats: families merged across targets (HELP and TYPE once), counters,
// a source's own metrics in the same family as another target's, pools
// and shared networks, a target that is down, and after a poll that
// changed the series (the encoded bytes of the previous render dropped).
func TestWriteTextIsGatherEncoded(t *testing.T) {
	setFakeFunc(t, "extras", func() Source { return benchExtras{} })
	setFakeFunc(t, "pools", func() Source { return poolSource{name: "srv"} })
	failing := &fakeSource{results: []fakeResult{{err: Classified(ReasonConnect, errors.New("connection refused"))}}}
	setFake(t, "failing", failing)
	c := simulatedConfig(3, benchInterval)
	for i := 0; i < 2; i++ {
		c.Targets = append(c.Targets,
			fakeTarget(fmt.Sprintf("x-%d", i), "extras", benchInterval),
			fakeTarget(fmt.Sprintf("pools-%d", i), "pools", benchInterval))
	}
	c.Targets = append(c.Targets, fakeTarget("down", "failing", benchInterval))
	a := startAgent(t, c)
	check := func(when string) {
		t.Helper()
		for _, tc := range []struct {
			format expfmt.Format
			tf     TextFormat
		}{
			{expfmt.NewFormat(expfmt.TypeTextPlain), FormatText},
			{expfmt.NewFormat(expfmt.TypeOpenMetrics), FormatOpenMetrics},
		} {
			var got bytes.Buffer
			n, err := a.WriteText(&got, tc.tf)
			if err != nil {
				t.Fatal(err)
			}
			mfs, err := a.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			enc := expfmt.NewEncoder(&want, tc.format)
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					t.Fatal(err)
				}
			}
			if n != int64(got.Len()) {
				t.Errorf("%s, %s: WriteText says %d bytes, wrote %d", when, tc.format, n, got.Len())
			}
			if got.String() != want.String() {
				t.Errorf("%s, %s: WriteText differs from Gather encoded:\n%s", when, tc.format, firstDiff(got.String(), want.String()))
			}
			if !bytes.Contains(got.Bytes(), []byte("# TYPE dhcp_failover_pool_addresses gauge")) || !bytes.Contains(got.Bytes(), []byte(`dhcp_failover_up{target="down"} 0`)) {
				t.Fatalf("%s, %s: the case lacks what it tests:\n%s", when, tc.format, got.String())
			}
		}
	}
	// The first scrapes encode what the first polls rendered; after the
	// next poll the families are encoded at once and dropped, and Gather
	// renders them again.
	for _, tf := range []TextFormat{FormatText, FormatOpenMetrics} {
		if _, err := a.WriteText(io.Discard, tf); err != nil {
			t.Fatal(err)
		}
	}
	repoll(a, 0, 1)
	a.mu.RLock()
	st := a.runners["sim-00000-a"].state
	a.mu.RUnlock()
	st.mu.Lock()
	dropped := st.families == nil && st.encoded[FormatText] != nil && st.encoded[FormatOpenMetrics] != nil
	st.mu.Unlock()
	if !dropped {
		t.Error("a poll after text scrapes kept the families or did not encode them")
	}
	check("after a poll, families dropped")
	check("second scrape")
	st.observe(time.Now(), time.Millisecond, []failover.Relationship{rel("pair-00000-lb", failover.PartnerDown, failover.Recover, time.Now(), time.Now())}, nil)
	check("after a poll")
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	gl, wl := bytes.Split([]byte(got), []byte("\n")), bytes.Split([]byte(want), []byte("\n"))
	for i := 0; i < len(gl) || i < len(wl); i++ {
		var g, w []byte
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if !bytes.Equal(g, w) {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, g, w)
		}
	}
	return ""
}
