package omapi

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// algorithm is an HMAC that ISC dhcpd 4.4 accepts for OMAPI keys
// (omapip/isclib.c maps these names to its DST algorithms).
type algorithm struct {
	name string // as sent in the authenticator's `algorithm` value
	size int    // signature length
	hash func() hash.Hash
}

var algorithms = []algorithm{
	// dhcpd.conf says "hmac-md5"; the config parser turns an algorithm
	// name without a dot into a DNS-style name by appending
	// ".SIG-ALG.REG.INT." (server/confpars.c), and the authenticator's
	// algorithm must match that stored name.
	{"hmac-md5.SIG-ALG.REG.INT.", md5.Size, md5.New},
	{"hmac-sha1.SIG-ALG.REG.INT.", sha1.Size, sha1.New},
	{"hmac-sha224.SIG-ALG.REG.INT.", sha256.Size224, sha256.New224},
	{"hmac-sha256.SIG-ALG.REG.INT.", sha256.Size, sha256.New},
	{"hmac-sha384.SIG-ALG.REG.INT.", sha512.Size384, sha512.New384},
	{"hmac-sha512.SIG-ALG.REG.INT.", sha512.Size, sha512.New},
}

// Algorithms lists the accepted algorithm names (as written in dhcpd.conf).
func Algorithms() []string {
	return []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}
}

func lookupAlgorithm(name string) (algorithm, bool) {
	n := strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(name), "."), ".sig-alg.reg.int")
	for _, a := range algorithms {
		if n+".SIG-ALG.REG.INT." == a.name {
			return a, true
		}
	}
	return algorithm{}, false
}

// Key is an OMAPI key: the name and algorithm the server knows it by and
// the decoded secret. Its String and error texts never show the secret.
type Key struct {
	Name   string
	alg    algorithm
	secret []byte
}

// ErrBadKey: the key given to NewKey is unusable.
var ErrBadKey = errors.New("omapi: bad key")

// NewKey builds a key from its name, algorithm ("hmac-md5", "hmac-sha256",
// ...) and base64 secret, as dhcpd.conf's `key` statement gives them.
func NewKey(name, algorithm, secretBase64 string) (*Key, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty key name", ErrBadKey)
	}
	a, ok := lookupAlgorithm(algorithm)
	if !ok {
		return nil, fmt.Errorf("%w: unknown algorithm %q (one of %s)", ErrBadKey, algorithm, strings.Join(Algorithms(), ", "))
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimSpace(secretBase64))
	if err != nil {
		// The decoder's error names the offending byte offset only.
		return nil, fmt.Errorf("%w: secret of key %q is not valid base64", ErrBadKey, name)
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("%w: secret of key %q is empty", ErrBadKey, name)
	}
	return &Key{Name: name, alg: a, secret: s}, nil
}

// Algorithm returns the algorithm name sent to the server.
func (k *Key) Algorithm() string { return k.alg.name }

// String names the key without its secret.
func (k Key) String() string { return fmt.Sprintf("key %q (%s)", k.Name, k.alg.name) }

// GoString is String, so that %#v does not print the secret either.
func (k Key) GoString() string { return k.String() }

// mac returns a keyed HMAC of the key's algorithm, to keep and reuse for
// every message of a connection (hashing the key once).
func (k *Key) mac() *mac {
	return &mac{h: hmac.New(k.alg.hash, k.secret)}
}

// mac is a keyed HMAC with a scratch buffer for the signature it
// compares; one goroutine at a time.
type mac struct {
	h   hash.Hash
	sum [MaxSignatureLen]byte
}

// sign appends the HMAC of b to dst.
func (m *mac) sign(dst, b []byte) []byte {
	m.h.Reset()
	m.h.Write(b)
	return m.h.Sum(dst)
}

func (m *mac) verify(b, sig []byte) bool {
	return hmac.Equal(m.sign(m.sum[:0], b), sig)
}
