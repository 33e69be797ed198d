package failover

import "strconv"

// DigestType is the first octet of the message-digest option
// (draft-12 §12.17). draft-12 defines HMAC-MD5; Microsoft computes
// HMAC-SHA256 over the message with the digest zeroed and requires the
// option in every message once a shared secret is set (MS-DHCPF §2.2);
// ISC 4.4 neither sends nor checks it. The codec carries the type and the
// bytes; it never needs, holds or prints the secret.
type DigestType uint8

// DigestHMACMD5 is draft-12's digest type 1.
const DigestHMACMD5 DigestType = 1

// String names the digest type, or "unknown (N)".
func (t DigestType) String() string {
	if t == DigestHMACMD5 {
		return "HMAC-MD5"
	}
	return "unknown (" + strconv.Itoa(int(t)) + ")"
}

// MessageDigest is the decoded message-digest option. Digest aliases the
// message bytes.
type MessageDigest struct {
	Type   DigestType
	Digest []byte
}

// MessageDigest returns the message-digest option.
func (m *Message) MessageDigest() (MessageDigest, bool) {
	d, ok := m.Option(OptMessageDigest)
	if !ok {
		return MessageDigest{}, false
	}
	return MessageDigest{Type: DigestType(d[0]), Digest: d[1:]}, true
}

// AddMessageDigest appends the message-digest option.
func (b *Builder) AddMessageDigest(d MessageDigest) {
	data := make([]byte, 0, 1+len(d.Digest))
	data = append(data, uint8(d.Type))
	b.Add(OptMessageDigest, append(data, d.Digest...))
}
