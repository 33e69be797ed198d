package omapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// labKey is the lab-only key of the dhcpd that produced testdata/*.pcap.
const (
	labKeyName   = "omapi_key"
	labKeySecret = "3lHQ/zMKZHjSve7RGyTmGyj1PGXFqMwJ/Lbp3ZkvCFg="
)

func labKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewKey(labKeyName, "hmac-md5", labKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// streamMessages reads a testdata stream: the connection start, then
// messages to the end.
func streamMessages(t testing.TB, name string) []*Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 || binary.BigEndian.Uint32(b) != ProtocolVersion || binary.BigEndian.Uint32(b[4:]) != HeaderLen {
		t.Fatalf("%s: no connection start", name)
	}
	r := bufio.NewReader(bytes.NewReader(b[8:]))
	var ms []*Message
	for {
		m, err := ReadMessage(r)
		if errors.Is(err, ErrClosed) {
			return ms
		}
		if err != nil {
			t.Fatalf("%s: message %d: %v", name, len(ms)+1, err)
		}
		ms = append(ms, m)
	}
}

// fixtureMessages returns the raw bytes of every message in testdata,
// for fuzz seeds.
func fixtureMessages(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob("testdata/session-*.bin")
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := &sliceReader{b: b[8:]}
		for len(r.b) > 0 {
			before := r.b
			if _, err := ReadMessage(r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, before[:len(before)-len(r.b)])
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d fixture messages", len(out))
	}
	return out
}

func TestFixtureSessionOK(t *testing.T) {
	key := labKey(t)
	client := streamMessages(t, "session-1-ok-client.bin")
	server := streamMessages(t, "session-1-ok-server.bin")
	if len(client) != 2 || len(server) != 2 {
		t.Fatalf("%d client / %d server messages, want 2/2", len(client), len(server))
	}

	// The authenticator exchange is unsigned; its answer's handle is the
	// authid of everything after.
	auth, authReply := client[0], server[0]
	if auth.Op != OpOpen || auth.AuthID != 0 || len(auth.Signature) != 0 {
		t.Errorf("authenticator open: %+v", auth)
	}
	if typ, _ := auth.GetMessage("type"); string(typ) != "authenticator" {
		t.Errorf("authenticator type %q", typ)
	}
	if alg, _ := auth.Get("algorithm"); string(alg) != key.Algorithm() {
		t.Errorf("algorithm %q, we send %q", alg, key.Algorithm())
	}
	if authReply.Op != OpUpdate || authReply.RID != auth.ID || authReply.Handle != 1 {
		t.Errorf("authenticator reply: op %s rid %d handle %d", authReply.Op, authReply.RID, authReply.Handle)
	}

	open, reply := client[1], server[1]
	if !open.Verify(key, 1) {
		t.Error("the reference client's OPEN does not verify with the lab key")
	}
	if !reply.Verify(key, 1) {
		t.Error("dhcpd's UPDATE does not verify with the lab key")
	}
	wrong, _ := NewKey(labKeyName, "hmac-md5", "AAAAAAAAAAAAAAAAAAAAAA==")
	if reply.Verify(wrong, 1) {
		t.Error("dhcpd's UPDATE verifies with a wrong key")
	}

	// Our encoder produces the reference client's message byte for byte,
	// signature included.
	ours := &Message{AuthID: 1, Op: OpOpen, ID: open.ID,
		Message: []Value{{Name: "type", Data: []byte("failover-state")}},
		Object:  []Value{{Name: "name", Data: []byte("fo-lab")}}}
	raw, _ := os.ReadFile("testdata/session-1-ok-client.bin")
	if got, want := ours.Encode(key), raw[len(raw)-len(ours.Encode(key)):]; !bytes.Equal(got, want) {
		t.Errorf("encoded OPEN\n got %x\nwant %x", got, want)
	}

	fs, err := DecodeFailoverState(reply.Object)
	if err != nil {
		t.Fatal(err)
	}
	stos := time.Unix(1795714425, 0).UTC()
	checks := []struct {
		name      string
		got, want any
	}{
		{"name", fs.Name, "fo-lab"},
		{"partner-port", fs.PartnerPort, uint32(847)},
		{"local-port", fs.LocalPort, uint32(647)},
		{"max-outstanding-updates", fs.MaxOutstandingUpdates, uint32(10)},
		{"mclt", fs.MCLT, 60 * time.Second},
		{"load-balance-max-secs", fs.LoadBalanceMax, 3 * time.Second},
		{"load-balance-hba", fs.LoadBalanceHBA, append(bytes.Repeat([]byte{0xff}, 16), make([]byte, 16)...)},
		{"partner-state", fs.Partner.Code, uint32(2)},
		{"partner-state", fs.Partner.State, failover.Normal},
		{"local-state", fs.Local.Code, uint32(2)},
		{"local-state", fs.Local.State, failover.Normal},
		{"local-state", fs.Local.ISCName(), "normal"},
		{"partner-stos", fs.Partner.STOS, stos},
		{"local-stos", fs.Local.STOS, stos},
		{"hierarchy", fs.Hierarchy, uint32(0)},
		{"primary", fs.IsPrimary(), true},
		{"max-response-delay", fs.MaxResponseDelay, 5 * time.Second},
		{"cur-unacked-updates", fs.CurUnackedUpdates, uint32(0)},
		{"skew", fs.Skew, uint32(0)},
	}
	for _, c := range checks {
		if g, w := c.got, c.want; !equal(g, w) {
			t.Errorf("%s = %v, want %v", c.name, g, w)
		}
	}
	if !fs.Has("mclt") || fs.Has("no-such-value") {
		t.Error("Has does not say which values were sent")
	}
}

func equal(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		return bytes.Equal(ab, b.([]byte))
	}
	if at, ok := a.(time.Time); ok {
		return at.Equal(b.(time.Time))
	}
	return a == b
}

func TestFixtureWrongKey(t *testing.T) {
	server := streamMessages(t, "session-2-wrongkey-server.bin")
	if len(server) != 2 {
		t.Fatalf("%d messages", len(server))
	}
	st := server[1]
	// dhcpd cannot verify the OPEN and answers an unsigned status.
	if st.Op != OpStatus || st.AuthID != 0 || len(st.Signature) != 0 {
		t.Fatalf("got %s authid %d siglen %d", st.Op, st.AuthID, len(st.Signature))
	}
	se := statusError(st)
	if se == nil || se.Result != ResultInvalidKey || !errors.Is(se, ErrAuth) {
		t.Fatalf("status %v, want DHCP_R_INVALIDKEY matching ErrAuth", se)
	}
}

func TestFixtureNotFound(t *testing.T) {
	key := labKey(t)
	server := streamMessages(t, "session-3-notfound-server.bin")
	st := server[len(server)-1]
	if !st.Verify(key, 1) {
		t.Error("signed status does not verify")
	}
	se := statusError(st)
	if se == nil || se.Result != ResultNotFound || se.Message != "no object matches specification" || !errors.Is(se, ErrNotFound) {
		t.Fatalf("status %v, want 23 matching ErrNotFound", se)
	}
}
