package omapi

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkCodecRefresh is the public codec's share of one poll on a kept
// connection: encode and sign a REFRESH, read dhcpd's signed UPDATE (the
// recorded answer of testdata/session-1-ok-server.bin), verify it and
// decode the failover state, with a new HMAC and buffers per message. No
// network.
func BenchmarkCodecRefresh(b *testing.B) {
	key := labKey(b)
	raw, err := os.ReadFile("testdata/session-1-ok-server.bin")
	if err != nil {
		b.Fatal(err)
	}
	server := streamMessages(b, "session-1-ok-server.bin")
	update := raw[len(raw)-len(server[1].Encode(key)):]
	r := bytes.NewReader(update)
	refresh := &Message{AuthID: 1, Op: OpRefresh, Handle: 2, ID: 7}
	b.SetBytes(int64(len(update)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = refresh.Encode(key)
		r.Reset(update)
		m, err := ReadMessage(r)
		if err != nil {
			b.Fatal(err)
		}
		if !m.Verify(key, 1) {
			b.Fatal("does not verify")
		}
		if _, err := DecodeFailoverState(m.Object); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodecRefreshKept is the same work as the Client does it on a
// kept connection: keyed HMAC, encode buffer, decoder buffer and answer
// reused; only what the observation keeps is allocated.
func BenchmarkCodecRefreshKept(b *testing.B) {
	key := labKey(b)
	raw, err := os.ReadFile("testdata/session-1-ok-server.bin")
	if err != nil {
		b.Fatal(err)
	}
	server := streamMessages(b, "session-1-ok-server.bin")
	update := raw[len(raw)-len(server[1].Encode(key)):]
	r := bytes.NewReader(update)
	c := NewClient("", key)
	c.dec.r = r
	refresh := &Message{AuthID: 1, Op: OpRefresh, Handle: 2, ID: 7}
	b.SetBytes(int64(len(update)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.out = refresh.appendEncoded(c.out[:0], c.mac, key.alg.size)
		r.Reset(update)
		if err := c.dec.message(&c.reply); err != nil {
			b.Fatal(err)
		}
		if !c.reply.verify(c.mac, key.alg.size, 1) {
			b.Fatal("does not verify")
		}
		if _, err := decodeFailoverState(c.reply.Object, "fo-lab"); err != nil {
			b.Fatal(err)
		}
	}
}
