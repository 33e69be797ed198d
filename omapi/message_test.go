package omapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

func header(authLen uint32, op Op) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint32(b, authLen)
	b = binary.BigEndian.AppendUint32(b, uint32(op))
	return append(b, make([]byte, 12)...)
}

// countingReader counts what the decoder pulled from the stream.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless claims a huge value and then supplies zeros for ever.
type endless struct{}

func (endless) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestReadMessageBounds(t *testing.T) {
	huge := header(0, OpUpdate)
	huge = append(huge, 0, 4, 'n', 'a', 'm', 'e')
	huge = binary.BigEndian.AppendUint32(huge, 0xffffffff)

	justOver := header(0, OpUpdate)
	justOver = append(justOver, 0, 1, 'x')
	justOver = binary.BigEndian.AppendUint32(justOver, MaxValueLen+1)

	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrClosed},
		{"short header", header(0, OpUpdate)[:10], ErrProtocol},
		{"value of 4 GiB", huge, ErrProtocol},
		{"value one over 64 KiB", justOver, ErrProtocol},
		{"signature of 65 bytes", append(header(65, OpUpdate), 0, 0, 0, 0), ErrProtocol},
		{"no end of values", append(header(0, OpUpdate), 0, 1, 'x', 0, 0, 0, 1, 7), ErrProtocol},
		{"missing signature", append(header(16, OpUpdate), 0, 0, 0, 0, 1, 2, 3), ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := &countingReader{r: bytes.NewReader(c.in)}
			_, err := ReadMessage(cr)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}

	// Many values, each within its bound, add up past the message bound:
	// the decoder stops at 1 MiB and never reads (or holds) more.
	msg := header(0, OpUpdate)
	val := make([]byte, MaxValueLen)
	for i := 0; len(msg) < 2*MaxMessageLen; i++ {
		msg = append(msg, 0, 1, 'v')
		msg = binary.BigEndian.AppendUint32(msg, MaxValueLen)
		msg = append(msg, val...)
	}
	cr := &countingReader{r: bytes.NewReader(msg)}
	if _, err := ReadMessage(cr); !errors.Is(err, ErrProtocol) {
		t.Fatalf("2 MiB message: err = %v, want ErrProtocol", err)
	}
	if cr.n > MaxMessageLen+4096 {
		t.Fatalf("decoder read %d bytes of an oversized message", cr.n)
	}

	// A 4 GiB claim costs no 4 GiB allocation.
	allocs := testing.AllocsPerRun(5, func() {
		ReadMessage(io.MultiReader(bytes.NewReader(huge), endless{}))
	})
	if allocs > 50 {
		t.Fatalf("%v allocations for a rejected claim", allocs)
	}
}

func TestDecodeMessageRoundTrip(t *testing.T) {
	key := labKey(t)
	m := &Message{AuthID: 7, Op: OpRefresh, Handle: 3, ID: 9, RID: 0,
		Message: []Value{{Name: "a", Data: []byte("x")}, {Name: "null"}},
		Object:  []Value{{Name: "b", Data: Uint32(42)}}}
	for _, k := range []*Key{nil, key} {
		b := m.Encode(k)
		got, err := DecodeMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Op != m.Op || got.Handle != 3 || got.ID != 9 || len(got.Message) != 2 || got.Message[1].Data != nil {
			t.Fatalf("round trip: %+v", got)
		}
		if k != nil && !got.Verify(k, 7) {
			t.Fatal("signature does not verify")
		}
		if k == nil && got.Verify(key, 7) {
			t.Fatal("unsigned message verifies")
		}
		if _, err := DecodeMessage(append(b, 0)); !errors.Is(err, ErrProtocol) {
			t.Fatalf("trailing byte: %v", err)
		}
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{OpOpen: "open", OpDelete: "delete", 0: "op(0)", 4000000000: "op(4000000000)"} {
		if got := op.String(); got != want {
			t.Errorf("%d: %q, want %q", uint32(op), got, want)
		}
	}
}

func TestDecodeFailoverStateErrors(t *testing.T) {
	base := func() []Value {
		return []Value{
			{Name: "name", Data: []byte("fo")},
			{Name: "local-state", Data: Uint32(2)},
			{Name: "partner-state", Data: Uint32(3)},
			{Name: "hierarchy", Data: Uint32(1)},
		}
	}
	if f, err := DecodeFailoverState(base()); err != nil || f.IsPrimary() || f.Partner.Code != 3 || f.Partner.State != failover.CommunicationInt || !f.Local.STOS.IsZero() {
		t.Fatalf("minimal object: %+v, %v", f, err)
	}
	for _, drop := range []string{"name", "local-state", "partner-state", "hierarchy"} {
		var vs []Value
		for _, v := range base() {
			if v.Name != drop {
				vs = append(vs, v)
			}
		}
		if _, err := DecodeFailoverState(vs); !errors.Is(err, ErrProtocol) {
			t.Errorf("without %s: %v", drop, err)
		}
	}
	for _, bad := range []Value{
		{Name: "mclt", Data: []byte{1, 2}},
		{Name: "local-stos", Data: make([]byte, 8)},
		{Name: "load-balance-hba", Data: make([]byte, 31)},
	} {
		if _, err := DecodeFailoverState(append(base(), bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s of %d bytes: %v", bad.Name, len(bad.Data), err)
		}
	}
	// partner-address of any size is ignored, unknown values skipped.
	vs := append(base(), Value{Name: "partner-address", Data: make([]byte, 3)}, Value{Name: "future", Data: []byte("?")})
	if _, err := DecodeFailoverState(vs); err != nil {
		t.Fatal(err)
	}
	// A code outside the table is kept as sent, marked unknown.
	vs = append(base(), Value{Name: "local-state", Data: Uint32(77)})
	f, err := DecodeFailoverState(vs)
	if err != nil || f.Local.Known || f.Local.Code != 77 || f.Local.State != failover.NoState || f.Local.ISCName() != "unknown (77)" {
		t.Fatalf("unknown code: %+v, %v", f, err)
	}
	if !f.Partner.Known || f.Partner.ISCName() != "communications-interrupted" {
		t.Fatalf("partner: %+v", f.Partner)
	}
}
