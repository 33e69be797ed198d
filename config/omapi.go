package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// OMAPI is the settings of a `source: omapi` target: an ISC dhcpd read
// through its OMAPI port (docs/isc.md).
type OMAPI struct {
	// Address is host:port of dhcpd's omapi-port; the port defaults to
	// DefaultOMAPIPort.
	Address string `yaml:"address"`
	// Relationships are the `failover peer` names to read. OMAPI cannot
	// list them, so at least one is required.
	Relationships []string `yaml:"relationships"`
	// Key is dhcpd's omapi-key, if it has one.
	Key *OMAPIKey `yaml:"key,omitempty"`
}

// OMAPIKey is an OMAPI key as dhcpd.conf's `key` statement declares it.
type OMAPIKey struct {
	Name      string `yaml:"name"`
	Algorithm string `yaml:"algorithm"`
	// Secret is the base64 secret; SecretFile a file holding it. Exactly
	// one of the two is set.
	Secret     Secret `yaml:"secret,omitempty"`
	SecretFile string `yaml:"secret_file,omitempty"`
}

// DefaultOMAPIPort is OMAPI's conventional port.
const DefaultOMAPIPort = "7911"

// omapiAlgorithms are the HMACs dhcpd 4.4 takes for OMAPI keys; the omapi
// package implements the same list (config stays a leaf package).
var omapiAlgorithms = []string{"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

func init() {
	RegisterSource("omapi", func() SourceSettings { return &OMAPI{} })
}

// SetDefaults implements SourceSettingsDefaulter: a missing port becomes
// 7911.
func (o *OMAPI) SetDefaults() {
	if o.Address == "" {
		return
	}
	if a, err := netip.ParseAddr(o.Address); err == nil {
		o.Address = net.JoinHostPort(a.String(), DefaultOMAPIPort)
		return
	}
	if _, _, err := net.SplitHostPort(o.Address); err != nil && strings.Contains(err.Error(), "missing port") {
		o.Address = net.JoinHostPort(strings.Trim(o.Address, "[]"), DefaultOMAPIPort)
	}
}

// Validate implements SourceSettings.
func (o *OMAPI) Validate() error {
	if o.Address == "" {
		return errors.New("field address is required")
	}
	host, port, err := net.SplitHostPort(o.Address)
	if err != nil {
		return fmt.Errorf("field address: %q is not host:port", o.Address)
	}
	if host == "" {
		return fmt.Errorf("field address: %q has no host", o.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("field address: port %q is not a number in 1..65535", port)
	}
	if len(o.Relationships) == 0 {
		return errors.New("field relationships is required: OMAPI cannot list failover relationships, name them")
	}
	if err := validRelationshipNames(o.Relationships); err != nil {
		return err
	}
	if o.Key != nil {
		if err := o.Key.validate(); err != nil {
			return fmt.Errorf("field key: %w", err)
		}
	}
	return nil
}

func (k *OMAPIKey) validate() error {
	if k.Name == "" {
		return errors.New("field name is required")
	}
	if k.Algorithm == "" {
		return fmt.Errorf("field algorithm is required (one of %s)", strings.Join(omapiAlgorithms, ", "))
	}
	if !knownOMAPIAlgorithm(k.Algorithm) {
		return fmt.Errorf("field algorithm: unknown algorithm %q (one of %s)", k.Algorithm, strings.Join(omapiAlgorithms, ", "))
	}
	if (k.Secret == "") == (k.SecretFile == "") {
		return errors.New("exactly one of secret and secret_file is required")
	}
	_, err := k.SecretValue()
	return err
}

func knownOMAPIAlgorithm(a string) bool {
	// dhcpd stores "hmac-sha256" as "hmac-sha256.SIG-ALG.REG.INT.": accept both.
	a = strings.TrimSuffix(strings.TrimSuffix(strings.ToLower(a), "."), ".sig-alg.reg.int")
	for _, n := range omapiAlgorithms {
		if a == n {
			return true
		}
	}
	return false
}

// SecretValue returns the key's secret, read from secret_file if that is
// how it was given, checked to be base64. Errors never show the secret.
func (k *OMAPIKey) SecretValue() (Secret, error) {
	s := k.Secret
	where := "field secret"
	if k.SecretFile != "" {
		var err error
		if s, err = ReadSecretFile(k.SecretFile); err != nil {
			return "", fmt.Errorf("field secret_file: %w", err)
		}
		where = "field secret_file: " + k.SecretFile
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Value()))
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("%s: not a base64 secret (as in dhcpd.conf's key statement)", where)
	}
	return s, nil
}
