package omapi

import (
	"bytes"
	"testing"
)

// FuzzReadMessage feeds arbitrary bytes to the decoder (seeded with every
// message of the real captures): it must never panic, never accept more
// than its bounds, and what it accepts must re-encode to a message that
// decodes to the same values. The client's kept decoder, its buffer
// holding a previous message, must decode the same.
func FuzzReadMessage(f *testing.F) {
	seeds := fixtureMessages(f)
	for _, m := range seeds {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		kept := decoder{r: bytes.NewReader(seeds[len(seeds)-1])}
		var km Message
		if err := kept.message(&km); err != nil {
			t.Fatal(err)
		}
		kr := bytes.NewReader(b)
		kept.r = kr
		kerr := kept.message(&km)
		// DecodeMessage also rejects trailing bytes.
		if whole := kerr == nil && kr.Len() == 0; (err == nil) != whole {
			t.Fatalf("DecodeMessage: %v, kept decoder: %v with %d bytes left", err, kerr, kr.Len())
		}
		if err != nil {
			return
		}
		if km.Op != m.Op || len(km.Object) != len(m.Object) || !bytes.Equal(km.signed, m.signed) {
			t.Fatal("the kept decoder decoded another message")
		}
		if len(b) > MaxMessageLen || len(m.Signature) > MaxSignatureLen {
			t.Fatalf("accepted %d bytes / %d-byte signature", len(b), len(m.Signature))
		}
		for _, v := range append(append([]Value(nil), m.Message...), m.Object...) {
			if len(v.Data) > MaxValueLen {
				t.Fatalf("value of %d bytes", len(v.Data))
			}
		}
		// Decoding the object as a failover state must not panic either.
		DecodeFailoverState(m.Object)
		statusError(m)

		unsigned := *m
		re := unsigned.Encode(nil)
		m2, err := DecodeMessage(re)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if len(m2.Message) != len(m.Message) || len(m2.Object) != len(m.Object) {
			t.Fatalf("value counts changed: %d/%d -> %d/%d", len(m.Message), len(m.Object), len(m2.Message), len(m2.Object))
		}
		for i := range m.Object {
			if m.Object[i].Name != m2.Object[i].Name || !bytes.Equal(m.Object[i].Data, m2.Object[i].Data) {
				t.Fatalf("object value %d changed", i)
			}
		}
	})
}
