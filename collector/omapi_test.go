package collector

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi"
	"github.com/dhcpfailover/dhcp_failover_exporter/omapi/omapitest"
	"github.com/go-kit/log"
)

const omapiTestSecret = "b21hcGktdGVzdC1zZWNyZXQtbm90LXJlYWwtMTIzNA=="

func omapiTarget(t *testing.T, yaml string) config.Target {
	t.Helper()
	c, err := config.Parse([]byte("targets:\n" + yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c.Targets[0]
}

func omapiFake(t *testing.T, key *omapi.Key) *omapitest.Server {
	t.Helper()
	s, err := omapitest.New(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	stos := time.Unix(1795714425, 0)
	s.SetFailoverState(omapi.FailoverState{
		Name: "fo-lab", Hierarchy: 0,
		Local:   omapi.Side{Code: 3, STOS: stos},
		Partner: omapi.Side{Code: 2, STOS: stos.Add(-time.Minute)},
		MCLT:    time.Minute, MaxResponseDelay: 5 * time.Second, LoadBalanceMax: 3 * time.Second,
		LoadBalanceHBA:        append(bytes.Repeat([]byte{0xff}, 16), make([]byte, 16)...),
		MaxOutstandingUpdates: 10, CurUnackedUpdates: 2,
	})
	s.SetFailoverState(omapi.FailoverState{Name: "fo-two", Local: omapi.Side{Code: 254}, Partner: omapi.Side{Code: 6}, Hierarchy: 1})
	return s
}

func TestOMAPISourcePoll(t *testing.T) {
	key, _ := omapi.NewKey("omapi_key", "hmac-sha256", omapiTestSecret)
	srv := omapiFake(t, key)
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte(omapiTestSecret+"\n"), 0o600)
	tgt := omapiTarget(t, fmt.Sprintf(`- name: a
  source: omapi
  address: %s
  relationships: [fo-lab, fo-two]
  key: {name: omapi_key, algorithm: hmac-sha256, secret_file: %s}
`, srv.Addr, secretFile))
	src, err := NewSource(tgt, log.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer src.(Closer).Close()

	for poll := 0; poll < 3; poll++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		rels, err := src.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) != 2 {
			t.Fatalf("%d relationships", len(rels))
		}
		r := rels[0]
		mclt, _ := r.MCLT.Get()
		mrd, _ := r.MaxResponseDelay.Get()
		un, _ := r.UnackedUpdates.Get()
		maxUn, _ := r.MaxUnackedUpdates.Get()
		ci, _ := r.CommunicationInterrupted.Get()
		if r.Name != "fo-lab" || r.Vendor != failover.VendorISC || r.Role != failover.RolePrimary || r.Mode != failover.ModeLoadBalance ||
			r.Local.State != failover.CommunicationInt || r.Local.Native != "communications-interrupted" || !r.Local.Reported ||
			r.Partner.State != failover.Normal || r.Partner.Native != "normal" ||
			r.Local.StartTime.Unix() != 1795714425 || r.Partner.StartTime.Unix() != 1795714365 ||
			mclt != time.Minute || mrd != 5*time.Second || un != 2 || maxUn != 10 || !ci ||
			len(r.Gauges) != 1 || r.Gauges[0] != (failover.Gauge{Name: "load_balance_max_seconds", Value: 3}) {
			t.Fatalf("fo-lab mapped to %+v", r)
		}
		r = rels[1]
		ci, _ = r.CommunicationInterrupted.Get()
		if r.Role != failover.RoleSecondary || r.Mode != "" || r.Local.State != failover.RecoverWait || r.Local.Native != "recover-wait" ||
			r.Partner.State != failover.Recover || !r.Local.StartTime.IsZero() || ci {
			t.Fatalf("fo-two mapped to %+v", r)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("%d connections for 3 polls of 2 relationships", n)
	}
	for _, op := range srv.Received() {
		if op != omapi.OpOpen && op != omapi.OpRefresh {
			t.Fatalf("the source sent %s", op)
		}
	}
}

func TestOMAPISourceErrors(t *testing.T) {
	key, _ := omapi.NewKey("omapi_key", "hmac-md5", omapiTestSecret)
	srv := omapiFake(t, key)
	closed, _ := omapitest.New(nil)
	closedAddr := closed.Addr
	closed.Close()
	hung := omapiFake(t, nil)
	hung.SetHang(true)

	wrong := "d3Jvbmctc2VjcmV0LWZvci10aGUtdGVzdA=="
	cases := []struct {
		name, addr, rels, key string
		want                  Reason
	}{
		// Only the hung server needs the poll's deadline to expire; the
		// others get an answer (or a refusal) well within 5 s, even on a
		// loaded CI machine.
		{"wrong key", srv.Addr, "[fo-lab]", "{name: omapi_key, algorithm: hmac-md5, secret: " + wrong + "}", ReasonAuth},
		{"no key", srv.Addr, "[fo-lab]", "", ReasonAuth},
		{"unknown relationship", srv.Addr, "[fo-lab, nosuch]", "{name: omapi_key, algorithm: hmac-md5, secret: " + omapiTestSecret + "}", ReasonNotFound},
		{"nothing listening", closedAddr, "[fo-lab]", "", ReasonConnect},
		{"hung server", hung.Addr, "[fo-lab]", "", ReasonTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := fmt.Sprintf("- name: a\n  source: omapi\n  address: %s\n  relationships: %s\n", c.addr, c.rels)
			if c.key != "" {
				y += "  key: " + c.key + "\n"
			}
			var logBuf bytes.Buffer
			src, err := NewSource(omapiTarget(t, y), log.NewLogfmtLogger(&logBuf))
			if err != nil {
				t.Fatal(err)
			}
			defer src.(Closer).Close()
			timeout := 5 * time.Second
			if c.want == ReasonTimeout {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err = src.Poll(ctx)
			if got := Classify(err); got != c.want {
				t.Fatalf("reason %q (%v), want %q", got, err, c.want)
			}
			for _, s := range []string{omapiTestSecret, wrong, "omapi-test-secret"} {
				if strings.Contains(err.Error(), s) || strings.Contains(logBuf.String(), s) {
					t.Fatalf("secret in %q / log %q", err, logBuf.String())
				}
			}
		})
	}
}
