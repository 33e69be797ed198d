package failover

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMessageTypeNames(t *testing.T) {
	want := []string{"POOLREQ", "POOLRESP", "BNDUPD", "BNDACK", "CONNECT", "CONNECTACK",
		"UPDREQALL", "UPDDONE", "UPDREQ", "STATE", "CONTACT", "DISCONNECT"}
	for i, typ := range MessageTypes() {
		if int(typ) != i+1 || typ.String() != want[i] || !typ.Valid() {
			t.Errorf("type %d: %q valid=%v", uint8(typ), typ, typ.Valid())
		}
		if p, ok := ParseMessageType(want[i]); !ok || p != typ {
			t.Errorf("ParseMessageType(%q) = %v, %v", want[i], p, ok)
		}
	}
	for _, bad := range []MessageType{0, 13, 255} {
		if bad.Valid() || bad.String() != "unknown ("+strconv.Itoa(int(bad))+")" {
			t.Errorf("MessageType(%d) = %q", uint8(bad), bad)
		}
	}
	if _, ok := ParseMessageType("state"); ok {
		t.Error("ParseMessageType is case-insensitive")
	}
}

func TestRejectReasonNames(t *testing.T) {
	for _, tc := range []struct {
		r          RejectReason
		text, name string
	}{
		{1, "illegal IP address", "illegal_ip_address"},
		{2, "fatal conflict", "fatal_conflict"},
		{3, "missing binding information", "missing_binding_information"},
		{4, "connection time mismatch", "connection_time_mismatch"},
		{5, "invalid MCLT", "invalid_mclt"},
		{6, "miscellaneous", "miscellaneous"},
		{7, "duplicate connection", "duplicate_connection"},
		{8, "invalid partner", "invalid_partner"},
		{9, "TLS not supported", "tls_not_supported"},
		{10, "TLS supported but not configured", "tls_not_configured"},
		{11, "TLS required", "tls_required"},
		{12, "message digest not supported", "message_digest_not_supported"},
		{13, "message digest not configured", "message_digest_not_configured"},
		{14, "protocol version mismatch", "protocol_version_mismatch"},
		{15, "outdated binding information", "outdated_binding_information"},
		{16, "less critical binding information", "less_critical_binding_information"},
		{17, "no traffic within sufficient time", "no_traffic"},
		{18, "hash bucket assignment conflict", "hash_bucket_assignment_conflict"},
		{19, "IP not reserved on this server", "ip_not_reserved"},
		{20, "message digest failed", "message_digest_failed"},
		{21, "missing message digest", "missing_message_digest"},
		{254, "unknown", "unknown"},
		{0, "unknown (0)", "code_0"},
		{22, "unknown (22)", "code_22"},
		{255, "unknown (255)", "code_255"},
	} {
		if got := tc.r.String(); got != tc.text {
			t.Errorf("RejectReason(%d).String() = %q, want %q", uint8(tc.r), got, tc.text)
		}
		if got := tc.r.Name(); got != tc.name {
			t.Errorf("RejectReason(%d).Name() = %q, want %q", uint8(tc.r), got, tc.name)
		}
	}
	// Label values must be distinct for distinct codes.
	seen := map[string]int{}
	for c := 0; c < 256; c++ {
		n := RejectReason(c).Name()
		if prev, dup := seen[n]; dup {
			t.Errorf("codes %d and %d share the name %q", prev, c, n)
		}
		seen[n] = c
	}
}

func TestEnumStringsNeverPanic(t *testing.T) {
	for c := 0; c < 256; c++ {
		_ = BindingStatus(c).String()
		_ = DigestType(c).String()
		_ = MessageType(c).String()
		_ = RejectReason(c).String()
		_ = State(c).String()
	}
	for c := 0; c < 65536; c++ {
		_ = OptionCode(c).String()
	}
	for _, tc := range []struct{ got, want string }{
		{BindingActive.String(), "ACTIVE"},
		{BindingBackup.String(), "BACKUP"},
		{BindingStatus(0).String(), "unknown (0)"},
		{BindingStatus(8).String(), "unknown (8)"},
		{OptServerState.String(), "server-state"},
		{OptMicrosoftClientPolicy.String(), "ms-client-matched-policy"},
		{OptionCode(30).String(), "ms-option-30"},
		{OptionCode(0).String(), "unknown (0)"},
		{OptionCode(42).String(), "unknown (42)"},
		{DigestHMACMD5.String(), "HMAC-MD5"},
		{DigestType(7).String(), "unknown (7)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// microsoftState is a hand-assembled Microsoft-style STATE: payload offset
// 8 (no xid), UTF-16LE relationship name, a message digest.
var microsoftState = []byte{
	0x00, 0x3d, // length 61
	10,                     // STATE
	8,                      // payload offset 8
	0x6b, 0x08, 0x6a, 0x51, // time
	0x00, 22, 0x00, 0x0a, 'f', 0, 'o', 0, '-', 0, 'm', 0, 's', 0, // relationship-name "fo-ms"
	0x00, 24, 0x00, 0x01, 4, // server-state partner-down (wire 4)
	0x00, 23, 0x00, 0x01, 0, // server-flags
	0x00, 25, 0x00, 0x04, 0x6b, 0x08, 0x6a, 0x00, // start-time-of-state
	0x00, 17, 0x00, 0x11, 0x02, // message-digest, type 2, 16 bytes
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
}

func TestDecodeMicrosoft(t *testing.T) {
	var m Message
	if err := Decode(microsoftState, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Microsoft() || m.HasXID() || m.XID != 0 || m.Type != MsgState || m.Len() != 61 || m.NumOptions() != 5 {
		t.Fatalf("header: %+v", m)
	}
	if name, ok := m.RelationshipName(); !ok || name != "fo-ms" {
		t.Errorf("RelationshipName = %q, %v", name, ok)
	}
	if raw, _ := m.RelationshipNameBytes(); len(raw) != 10 {
		t.Errorf("RelationshipNameBytes = %x", raw)
	}
	if st, ok := m.ServerState(); !ok || st != PartnerDown {
		t.Errorf("ServerState = %v, %v", st, ok)
	}
	if f, ok := m.ServerFlags(); !ok || f.Startup() {
		t.Errorf("ServerFlags = %v, %v", f, ok)
	}
	if stos, ok := m.StartTimeOfState(); !ok || stos.Unix() != 0x6b086a00 {
		t.Errorf("StartTimeOfState = %v", stos)
	}
	d, ok := m.MessageDigest()
	if !ok || d.Type != 2 || !bytes.Equal(d.Digest, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}) {
		t.Errorf("MessageDigest = %+v, %v", d, ok)
	}
	re, err := m.AppendTo(nil)
	if err != nil || !bytes.Equal(re, microsoftState) {
		t.Errorf("AppendTo = %x, %v", re, err)
	}

	// The same built with the Builder, plus Microsoft's options 34/40/41
	// as a BNDUPD carries them.
	b := NewBuilder(nil, Header{Type: MsgBndUpd, PayloadOffset: PayloadOffsetMicrosoft, Time: 1})
	b.AddRelationshipName("fo-ms")
	b.AddAddr(OptAssignedIPAddress, netip.MustParseAddr("10.0.0.7"))
	b.AddU8(OptBindingStatus, uint8(BindingActive))
	b.AddAddr(OptMicrosoftServerIP, netip.MustParseAddr("10.0.0.1"))
	b.Add(OptMicrosoftClientPolicy, EncodeUTF16LE("Politique été", true))
	b.AddU32(OptMicrosoftExtAddressState, 0x10)
	b.AddMessageDigest(MessageDigest{Type: 2, Digest: bytes.Repeat([]byte{0xaa}, 32)})
	out, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := Decode(out, &m); err != nil {
		t.Fatal(err)
	}
	if name, _ := m.RelationshipName(); name != "fo-ms" {
		t.Errorf("RelationshipName = %q", name)
	}
	if a, ok := m.MicrosoftServerIP(); !ok || a != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("MicrosoftServerIP = %v", a)
	}
	if p, ok := m.MicrosoftClientPolicy(); !ok || p != "Politique été" {
		t.Errorf("MicrosoftClientPolicy = %q", p)
	}
	if v, ok := m.MicrosoftExtAddressState(); !ok || v != 0x10 {
		t.Errorf("MicrosoftExtAddressState = %v", v)
	}
	if d, ok := m.MessageDigest(); !ok || len(d.Digest) != 32 {
		t.Errorf("MessageDigest = %+v", d)
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{"", "fo-lab", "été", "日本", "emoji 😀 here"} {
		for _, nul := range []bool{false, true} {
			if got := decodeUTF16LE(EncodeUTF16LE(s, nul)); got != s {
				t.Errorf("round trip of %q (nul=%v) = %q", s, nul, got)
			}
		}
	}
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte{'a', 0, 'b'}, "a"},              // odd byte dropped
		{[]byte{0x00, 0xd8, 'a', 0}, "\ufffda"}, // lone high surrogate
		{[]byte{0x00, 0xdc}, "\ufffd"},          // lone low surrogate
		{[]byte{0, 0, 0, 0}, ""},
	} {
		if got := decodeUTF16LE(tc.in); got != tc.want {
			t.Errorf("decodeUTF16LE(%x) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// everyType builds one message of each type with the options ISC puts in
// it (docs/protocol.md §1), checks the typed accessors, and round
// trips it.
func TestEveryMessageTypeRoundTrips(t *testing.T) {
	hba := bytes.Repeat([]byte{0xff}, 16)
	hba = append(hba, make([]byte, 16)...)
	addr := netip.MustParseAddr("10.250.0.150")
	identity := func(b *Builder) {
		b.AddRelationshipName("fo-lab")
		b.AddU32(OptMaxUnackedBndupd, 10)
		b.AddU32(OptReceiveTimer, 5)
		b.AddText(OptVendorClass, "isc-4.4.3-P1")
		b.AddU8(OptProtocolVersion, 1)
	}
	binding := func(b *Builder) {
		b.AddAddr(OptAssignedIPAddress, addr)
		b.AddU8(OptBindingStatus, uint8(BindingActive))
		b.Add(OptClientIdentifier, []byte{1, 2, 3})
		b.Add(OptClientHardwareAddress, []byte{1, 0xde, 0xad, 0xbe, 0xef, 0, 1})
		b.AddU32(OptClientLastTransactionTime, 1795713600)
		b.AddU32(OptLeaseExpirationTime, 1795717200)
		b.AddU32(OptPotentialExpirationTime, 1795720800)
		b.AddU32(OptStartTimeOfState, 1795713600)
		b.Add(OptDDNS, append([]byte{0, 3}, "host.example"...))
		b.AddU16(OptIPFlags, 0)
		b.Add(OptClientReplyOptions, []byte{53, 1, 5})
		b.Add(OptClientRequestOptions, []byte{53, 1, 3})
		b.AddU8(OptDelayedService, 0)
		b.Add(OptVendorOptions, []byte{9})
	}
	for _, tc := range []struct {
		typ   MessageType
		build func(*Builder)
		check func(*testing.T, *Message)
	}{
		{MsgPoolReq, func(*Builder) {}, nil},
		{MsgPoolResp, func(b *Builder) { b.AddU32(OptAddressesTransferred, 12) }, func(t *testing.T, m *Message) {
			if v, ok := m.AddressesTransferred(); !ok || v != 12 {
				t.Errorf("AddressesTransferred = %v", v)
			}
		}},
		{MsgBndUpd, binding, func(t *testing.T, m *Message) {
			if a, ok := m.AssignedIPAddress(); !ok || a != addr {
				t.Errorf("AssignedIPAddress = %v", a)
			}
			if s, ok := m.BindingStatus(); !ok || s != BindingActive {
				t.Errorf("BindingStatus = %v", s)
			}
			if v, ok := m.LeaseExpirationTime(); !ok || v.Unix() != 1795717200 {
				t.Errorf("LeaseExpirationTime = %v", v)
			}
			if v, ok := m.PotentialExpirationTime(); !ok || v.Unix() != 1795720800 {
				t.Errorf("PotentialExpirationTime = %v", v)
			}
			if v, ok := m.ClientLastTransactionTime(); !ok || v.Unix() != 1795713600 {
				t.Errorf("ClientLastTransactionTime = %v", v)
			}
			if ht, hw, ok := m.ClientHardwareAddress(); !ok || ht != 1 || len(hw) != 6 {
				t.Errorf("ClientHardwareAddress = %d %x", ht, hw)
			}
			if id, ok := m.ClientIdentifier(); !ok || len(id) != 3 {
				t.Errorf("ClientIdentifier = %x", id)
			}
			if f, name, ok := m.DDNS(); !ok || f != 3 || string(name) != "host.example" {
				t.Errorf("DDNS = %d %q", f, name)
			}
			if v, ok := m.IPFlags(); !ok || v != 0 {
				t.Errorf("IPFlags = %v %v", v, ok)
			}
		}},
		{MsgBndAck, func(b *Builder) {
			b.AddAddr(OptAssignedIPAddress, addr)
			b.AddU8(OptRejectReason, uint8(RejectLessCriticalBindingInfo))
			b.AddString(OptMessage, "outdated")
		}, func(t *testing.T, m *Message) {
			if r, ok := m.RejectReason(); !ok || r != RejectLessCriticalBindingInfo {
				t.Errorf("RejectReason = %v", r)
			}
		}},
		{MsgConnect, func(b *Builder) {
			identity(b)
			b.AddU8(OptTLSRequest, 0)
			b.AddU32(OptMCLT, 60)
			b.Add(OptHashBucketAssignment, hba)
		}, func(t *testing.T, m *Message) {
			if n, ok := m.RelationshipName(); !ok || n != "fo-lab" {
				t.Errorf("RelationshipName = %q", n)
			}
			if v, ok := m.MaxUnackedBndupd(); !ok || v != 10 {
				t.Errorf("MaxUnackedBndupd = %v", v)
			}
			if v, ok := m.ReceiveTimer(); !ok || v != 5*time.Second {
				t.Errorf("ReceiveTimer = %v", v)
			}
			if v, ok := m.VendorClass(); !ok || v != "isc-4.4.3-P1" {
				t.Errorf("VendorClass = %q", v)
			}
			if v, ok := m.ProtocolVersion(); !ok || v != 1 {
				t.Errorf("ProtocolVersion = %v", v)
			}
			if v, ok := m.MCLT(); !ok || v != time.Minute {
				t.Errorf("MCLT = %v", v)
			}
			if v, ok := m.HashBucketAssignment(); !ok || !bytes.Equal(v, hba) {
				t.Errorf("HashBucketAssignment = %x", v)
			}
			if v, ok := m.U8(OptTLSRequest); !ok || v != 0 {
				t.Errorf("TLS-request = %v %v", v, ok)
			}
		}},
		{MsgConnectAck, func(b *Builder) {
			identity(b)
			b.AddU8(OptTLSReply, 0)
			b.AddU8(OptRejectReason, uint8(RejectInvalidPartner))
			b.AddText(OptMessage, "unknown failover relationship name")
		}, func(t *testing.T, m *Message) {
			if r, ok := m.RejectReason(); !ok || r.Name() != "invalid_partner" {
				t.Errorf("RejectReason = %v", r)
			}
			if s, ok := m.MessageText(); !ok || s != "unknown failover relationship name" {
				t.Errorf("MessageText = %q", s)
			}
		}},
		{MsgUpdReqAll, func(*Builder) {}, nil},
		{MsgUpdDone, func(*Builder) {}, nil},
		{MsgUpdReq, func(*Builder) {}, nil},
		{MsgState, func(b *Builder) {
			b.AddState(RecoverWait)
			b.AddU8(OptServerFlags, uint8(FlagStartup))
			b.AddU32(OptStartTimeOfState, 1795713652)
		}, func(t *testing.T, m *Message) {
			if c, _ := m.ServerStateCode(); c != 254 {
				t.Errorf("ServerStateCode = %d, want 254", c)
			}
			if s, ok := m.ServerState(); !ok || s != RecoverWait {
				t.Errorf("ServerState = %v", s)
			}
			if f, ok := m.ServerFlags(); !ok || !f.Startup() {
				t.Errorf("ServerFlags = %v", f)
			}
		}},
		{MsgContact, func(*Builder) {}, nil},
		{MsgDisconnect, func(b *Builder) {
			b.AddU8(OptRejectReason, uint8(RejectConnectionTimeMismatch))
			b.AddString(OptMessage, "time mismatch")
		}, func(t *testing.T, m *Message) {
			if r, ok := m.RejectReason(); !ok || r.Name() != "connection_time_mismatch" {
				t.Errorf("RejectReason = %v", r)
			}
		}},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			for _, off := range []uint8{0, PayloadOffsetMicrosoft} {
				b := NewBuilder([]byte("prefix"), Header{Type: tc.typ, PayloadOffset: off, Time: 1795713600, XID: 42})
				tc.build(b)
				out, err := b.Finish()
				if err != nil {
					t.Fatal(err)
				}
				if string(out[:6]) != "prefix" {
					t.Fatalf("Finish lost dst: %q", out[:6])
				}
				msg := out[6:]
				var m Message
				if err := Decode(msg, &m); err != nil {
					t.Fatal(err)
				}
				if m.Type != tc.typ || m.Time != 1795713600 || m.Timestamp().Unix() != 1795713600 {
					t.Errorf("header %+v", m)
				}
				if wantXID := uint32(42); off == PayloadOffsetMicrosoft {
					if m.XID != 0 || !m.Microsoft() {
						t.Errorf("Microsoft header: xid %d", m.XID)
					}
				} else if m.XID != wantXID || m.PayloadOffset != PayloadOffsetISC {
					t.Errorf("ISC header: xid %d offset %d", m.XID, m.PayloadOffset)
				}
				if tc.check != nil {
					tc.check(t, &m)
				}
				re, err := AppendMessage(nil, m.Header(), m.AppendOptions(nil)...)
				if err != nil || !bytes.Equal(re, msg) {
					t.Errorf("AppendMessage = %x, %v; want %x", re, err, msg)
				}
				re, err = m.AppendTo(nil)
				if err != nil || !bytes.Equal(re, msg) {
					t.Errorf("AppendTo = %x, %v", re, err)
				}
			}
		})
	}
}

func TestHeaderExtension(t *testing.T) {
	// draft-12 §6.1 lets later versions grow the header: offset 16 with
	// four bytes of extension is honoured and kept.
	out, err := AppendMessage(nil, Header{Type: MsgState, PayloadOffset: 16, Time: 9, XID: 7, Extra: []byte{1, 2, 3, 4}},
		OptionU8(OptServerState, 2), OptionU8(OptServerFlags, 0), OptionU32(OptStartTimeOfState, 5), OptionString(OptMessage, "x"), OptionU16(OptIPFlags, 1))
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := Decode(out, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.HeaderExtra(), []byte{1, 2, 3, 4}) || m.XID != 7 || !m.HasXID() {
		t.Errorf("extension %x xid %d", m.HeaderExtra(), m.XID)
	}
	if s, _ := m.ServerState(); s != Normal {
		t.Errorf("state %v", s)
	}
	re, _ := m.AppendTo(nil)
	if !bytes.Equal(re, out) {
		t.Errorf("AppendTo = %x, want %x", re, out)
	}
}

// msg assembles a message from raw parts for the error table; the length
// field is computed unless given.
func msg(typ, off byte, body ...byte) []byte {
	b := []byte{0, 0, typ, off, 0, 0, 0, 1}
	if off != PayloadOffsetMicrosoft {
		b = append(b, 0, 0, 0, 2)
	}
	b = append(b, body...)
	b[0], b[1] = byte(len(b)>>8), byte(len(b))
	return b
}

// decodeErrorCases are inputs Decode must refuse, with the sentinel it
// must wrap. Fuzzing crashers are added here as named regression cases.
var decodeErrorCases = []struct {
	name string
	in   []byte
	want error
}{
	{"empty", nil, ErrTruncated},
	{"7-bytes", make([]byte, 7), ErrTruncated},
	{"11-zero-bytes", make([]byte, 11), ErrLength},
	{"microsoft-length-7", append([]byte{0, 7}, msg(11, 8)[2:]...), ErrLength},
	{"over-2048", append(msg(11, 12), make([]byte, 2040)...), ErrTooLarge},
	{"length-field-short", append([]byte{0, 11}, msg(11, 12)[2:]...), ErrLength},
	{"length-field-bigger-than-slice", append([]byte{0, 13}, msg(11, 12)[2:]...), ErrLengthMismatch},
	{"length-field-smaller-than-slice", append(msg(11, 12), 0), ErrLengthMismatch},
	{"length-field-65535", append([]byte{0xff, 0xff}, msg(11, 12)[2:]...), ErrLength},
	{"type-0", msg(0, 12), ErrMessageType},
	{"type-13", msg(13, 12), ErrMessageType},
	{"type-255", msg(255, 12), ErrMessageType},
	{"offset-0", msg(11, 0, 0, 0, 0, 0), ErrPayloadOffset},
	{"offset-4", msg(11, 4, 0, 0, 0, 0), ErrPayloadOffset},
	{"offset-11", msg(11, 11, 0, 0, 0, 0), ErrPayloadOffset},
	{"offset-past-end", msg(11, 13), ErrPayloadOffset},
	{"option-header-cut-1", msg(11, 12, 0), ErrTrailingBytes},
	{"option-header-cut-3", msg(11, 12, 0, 24, 0), ErrTrailingBytes},
	{"option-overrun", msg(10, 12, 0, 24, 0, 2, 2), ErrOptionOverrun},
	{"option-overrun-max", msg(10, 12, 0, 16, 0xff, 0xff, 'a'), ErrOptionOverrun},
	{"trailing-after-options", msg(10, 12, 0, 24, 0, 1, 2, 0xff), ErrTrailingBytes},
	{"repeated-server-state", msg(10, 12, 0, 24, 0, 1, 2, 0, 24, 0, 1, 2), ErrDuplicateOption},
	{"repeated-relationship-name", msg(5, 12, 0, 22, 0, 1, 'a', 0, 23, 0, 1, 0, 0, 22, 0, 1, 'b'), ErrDuplicateOption},
	{"repeated-microsoft-41", msg(3, 8, 0, 41, 0, 4, 0, 0, 0, 1, 0, 41, 0, 4, 0, 0, 0, 1), ErrDuplicateOption},
	{"server-state-2-bytes", msg(10, 12, 0, 24, 0, 2, 0, 2), ErrOptionLength},
	{"server-state-empty", msg(10, 12, 0, 24, 0, 0), ErrOptionLength},
	{"mclt-3-bytes", msg(5, 12, 0, 15, 0, 3, 0, 0, 60), ErrOptionLength},
	{"ip-flags-1-byte", msg(3, 12, 0, 12, 0, 1, 0), ErrOptionLength},
	{"assigned-ip-16-bytes", msg(3, 12, append([]byte{0, 2, 0, 16}, make([]byte, 16)...)...), ErrOptionLength},
	{"digest-empty", msg(10, 8, 0, 17, 0, 0), ErrOptionLength},
	{"hardware-address-empty", msg(3, 12, 0, 5, 0, 0), ErrOptionLength},
	{"ddns-1-byte", msg(3, 12, 0, 9, 0, 1, 0), ErrOptionLength},
	{"microsoft-server-ip-3-bytes", msg(3, 8, 0, 34, 0, 3, 10, 0, 0), ErrOptionLength},
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range decodeErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{Type: MsgState, Time: 99}
			err := Decode(tc.in, &m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "failover: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if m.Type != 0 || m.Time != 0 || m.Len() != 0 || m.NumOptions() != 0 {
				t.Errorf("failed Decode left %+v", m)
			}
			if _, ok := m.ServerState(); ok {
				t.Error("failed Decode left options")
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		nopts int
	}{
		{"contact", msg(11, 12), 0},
		{"microsoft-8-byte-contact", msg(11, 8), 0},
		{"microsoft-contact", msg(11, 8, 0, 0, 0, 0), 1}, // option code 0, empty: unknown, skipped
		{"unknown-option-skipped", msg(10, 12, 0x12, 0x34, 0, 2, 1, 2, 0, 24, 0, 1, 2), 2},
		{"unknown-option-repeated", msg(11, 12, 0, 99, 0, 0, 0, 99, 0, 0), 2},
		{"empty-variable-options", msg(5, 12, 0, 22, 0, 0, 0, 16, 0, 0, 0, 11, 0, 0), 3},
		{"offset-equals-length", msg(11, 12), 0},
		{"all-41-codes", allOptions(), 41},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			if err := Decode(tc.in, &m); err != nil {
				t.Fatal(err)
			}
			if m.NumOptions() != tc.nopts {
				t.Errorf("%d options, want %d", m.NumOptions(), tc.nopts)
			}
			n := 0
			for range m.All() {
				n++
			}
			if n != tc.nopts {
				t.Errorf("All yields %d options", n)
			}
			re, err := m.AppendTo(nil)
			if err != nil || !bytes.Equal(re, tc.in) {
				t.Errorf("AppendTo = %x, %v", re, err)
			}
		})
	}
	var m Message
	if err := Decode(msg(10, 12, 0x12, 0x34, 0, 2, 1, 2), &m); err != nil {
		t.Fatal(err)
	}
	if d, ok := m.Option(0x1234); !ok || !bytes.Equal(d, []byte{1, 2}) || !m.Has(0x1234) || m.Has(0x1235) {
		t.Errorf("unknown option lookup: %x %v", d, ok)
	}
}

// allOptions is a message carrying every known option code once.
func allOptions() []byte {
	var body []byte
	for c := OptionCode(1); c <= MaxKnownOption; c++ {
		n := int(optionLen[c])
		if n <= 0 {
			n = -n + 1
		}
		body = append(body, 0, byte(c), 0, byte(n))
		body = append(body, make([]byte, n)...)
	}
	return msg(3, 12, body...)
}

func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     Header
		opts  []Option
		build func(*Builder)
		want  error
	}{
		{name: "type-0", h: Header{}, want: ErrMessageType},
		{name: "type-13", h: Header{Type: 13}, want: ErrMessageType},
		{name: "offset-9", h: Header{Type: MsgContact, PayloadOffset: 9}, want: ErrPayloadOffset},
		{name: "offset-16-without-extension", h: Header{Type: MsgContact, PayloadOffset: 16}, want: ErrPayloadOffset},
		{name: "extension-without-offset", h: Header{Type: MsgContact, Extra: []byte{1}}, want: ErrPayloadOffset},
		{name: "microsoft-with-extension", h: Header{Type: MsgContact, PayloadOffset: 8, Extra: []byte{1}}, want: ErrPayloadOffset},
		{name: "repeated-option", h: Header{Type: MsgState}, opts: []Option{OptionU8(OptServerState, 2), OptionU8(OptServerState, 2)}, want: ErrDuplicateOption},
		{name: "wrong-size", h: Header{Type: MsgState}, opts: []Option{OptionU32(OptServerState, 2)}, want: ErrOptionLength},
		{name: "too-large", h: Header{Type: MsgBndUpd}, opts: []Option{{OptClientIdentifier, make([]byte, 2030)}, {OptVendorOptions, make([]byte, 10)}}, want: ErrTooLarge},
		{name: "option-too-large", h: Header{Type: MsgBndUpd}, opts: []Option{{OptClientIdentifier, make([]byte, 70000)}}, want: ErrTooLarge},
		{name: "state-init", h: Header{Type: MsgState}, build: func(b *Builder) { b.AddState(Init) }, want: ErrOptionLength},
		{name: "ipv6-address", h: Header{Type: MsgBndUpd}, build: func(b *Builder) { b.AddAddr(OptAssignedIPAddress, netip.IPv6Loopback()) }, want: ErrOptionLength},
		{name: "string-too-large", h: Header{Type: MsgConnect}, build: func(b *Builder) { b.AddString(OptMessage, strings.Repeat("x", 3000)) }, want: ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			b := NewBuilder(dst, tc.h)
			for _, o := range tc.opts {
				b.AddOption(o)
			}
			if tc.build != nil {
				tc.build(b)
			}
			out, err := b.Finish()
			if !errors.Is(err, tc.want) || string(out) != "keep" {
				t.Errorf("Finish = %q, %v; want %v", out, err, tc.want)
			}
			if tc.build == nil {
				if out, err := AppendMessage(dst, tc.h, tc.opts...); !errors.Is(err, tc.want) || string(out) != "keep" {
					t.Errorf("AppendMessage = %q, %v", out, err)
				}
			}
		})
	}
}

// TestErrorsDoNotLeakPayload: error text names options and lengths, never
// option data (a digest, a name), so nothing a peer sends ends up in logs.
func TestErrorsDoNotLeakPayload(t *testing.T) {
	secret := []byte("s3cr3t-digest-bytes")
	for _, in := range [][]byte{
		msg(10, 8, append(append([]byte{0, 17, 0, byte(len(secret) + 1), 1}, secret...), 0)...),
		msg(10, 8, append(append([]byte{0, 17, 0, byte(len(secret) + 1), 1}, secret...), 0, 17, 0, 1, 1)...),
		msg(10, 8, append([]byte{0, 22, 0, 99}, secret...)...),
	} {
		var m Message
		err := Decode(in, &m)
		if err == nil {
			t.Fatal("decoded")
		}
		if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error leaks payload: %v", err)
		}
	}
}

// TestDecodeAllocs: the hot path (decode STATE, CONTACT, BNDUPD and read
// their options) allocates nothing.
func TestDecodeAllocs(t *testing.T) {
	state := firstOfType(t, MsgState)
	contact := firstOfType(t, MsgContact)
	bndupd := firstOfType(t, MsgBndUpd)
	var m Message
	allocs := testing.AllocsPerRun(200, func() {
		if Decode(state, &m) != nil {
			panic("state")
		}
		readState(&m)
		if Decode(contact, &m) != nil {
			panic("contact")
		}
		if Decode(bndupd, &m) != nil {
			panic("bndupd")
		}
		readBndUpd(&m)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decode", allocs)
	}
}

var sink struct {
	state State
	flags ServerFlags
	t     time.Time
	addr  netip.Addr
	bs    BindingStatus
	n     int
}

func readState(m *Message) {
	sink.state, _ = m.ServerState()
	sink.flags, _ = m.ServerFlags()
	sink.t, _ = m.StartTimeOfState()
}

func readBndUpd(m *Message) {
	sink.addr, _ = m.AssignedIPAddress()
	sink.bs, _ = m.BindingStatus()
	sink.t, _ = m.LeaseExpirationTime()
	sink.t, _ = m.PotentialExpirationTime()
	sink.t, _ = m.StartTimeOfState()
	_, hw, _ := m.ClientHardwareAddress()
	sink.n = len(hw)
}
