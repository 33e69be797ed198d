package collector

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/kea/keatest"
)

// The HTTP client comes from prometheus/common's settings: a password file
// is read again when it changes, without a reload, and an authorization
// header is sent as prometheus.yml configures it.
func TestKeaHTTPClientSettings(t *testing.T) {
	answer := keaFixture(t, "status-get-2.2-ca-primary.json")
	t.Run("password file rotated", func(t *testing.T) {
		ks := keatest.New("status-get", answer)
		ks.SetBasicAuth("exporter", "first-pw")
		srv := httptest.NewServer(ks)
		defer srv.Close()
		pwFile := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(pwFile, []byte("first-pw\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair, basic_auth: {username: exporter, password_file: "+pwFile+"}}\n", nil)
		if _, err := pollKea(t, s); err != nil {
			t.Fatal(err)
		}
		ks.SetBasicAuth("exporter", "second-pw")
		if _, err := pollKea(t, s); Classify(err) != ReasonAuth {
			t.Fatalf("old password against the new one: %v", err)
		}
		if err := os.WriteFile(pwFile, []byte("second-pw\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := pollKea(t, s); err != nil {
			t.Fatalf("after the file changed: %v", err)
		}
	})
	t.Run("authorization", func(t *testing.T) {
		var got atomic.Value
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.Header.Get("Authorization"))
			w.Write(answer)
		}))
		defer srv.Close()
		s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair, authorization: {type: Bearer, credentials: tok3n}}\n", nil)
		if _, err := pollKea(t, s); err != nil {
			t.Fatal(err)
		}
		if got.Load() != "Bearer tok3n" {
			t.Errorf("Authorization: %q", got.Load())
		}
	})
	t.Run("redirects not followed", func(t *testing.T) {
		var followed atomic.Bool
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			followed.Store(true)
			w.Write(answer)
		}))
		defer target.Close()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}))
		defer srv.Close()
		s := newKeaTestSource(t, "- {name: a, source: kea, url: '"+srv.URL+"', relationship: pair, basic_auth: {username: exporter, password: pw}}\n", nil)
		_, err := pollKea(t, s)
		if err == nil || followed.Load() || !strings.Contains(err.Error(), "307") {
			t.Fatalf("redirect: err %v, followed %v", err, followed.Load())
		}
	})
}
