package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// Kea is the settings of a `source: kea` target: a Kea DHCP server's HA
// status read over its control channel (docs/kea.md).
type Kea struct {
	// URL is the http(s) address of a Control Agent or of the daemon's
	// own HTTP control socket (Kea 2.7.2+). Exactly one of URL and Socket.
	URL string `yaml:"url,omitempty"`
	// Socket is the path of the daemon's UNIX control socket.
	Socket string `yaml:"socket,omitempty"`
	// Service is the Control Agent service commands are forwarded to:
	// dhcp4 (the default with url) or dhcp6; "none" (or an empty value)
	// sends no service, as the daemon's own HTTP socket wants.
	Service KeaService `yaml:"service,omitempty"`
	// BasicAuth is HTTP basic authentication (Kea 1.9+), url only.
	BasicAuth *KeaBasicAuth `yaml:"basic_auth,omitempty"`
	// TLS is for https URLs.
	TLS *KeaTLS `yaml:"tls,omitempty"`
	// Relationship names the server's one HA relationship (the
	// `relationship` label). Kea before 2.6 does not name relationships,
	// so both servers of a pair must be given the same name here.
	Relationship string `yaml:"relationship,omitempty"`
	// Relationships maps each relationship of a server with several (the
	// hub of a hub-and-spoke setup, Kea 2.6+) by the local server-name Kea
	// reports for it to the `relationship` label; a list in the file
	// (KeaRelationships).
	Relationships KeaRelationships `yaml:"relationships,omitempty"`
	// HAHeartbeat also sends ha-heartbeat each poll, for Kea's
	// unsent-update-count.
	HAHeartbeat bool `yaml:"ha_heartbeat,omitempty"`
}

// KeaService is a Control Agent service name; KeaServiceNone sends none.
type KeaService string

// Services.
const (
	KeaServiceDHCP4 KeaService = "dhcp4"
	KeaServiceDHCP6 KeaService = "dhcp6"
	KeaServiceNone  KeaService = "none"
)

// UnmarshalYAML makes an explicit empty value (`service: ""`) mean "no
// service", which an absent key (the dhcp4 default) cannot.
func (s *KeaService) UnmarshalYAML(n *yaml.Node) error {
	var v string
	if err := n.Decode(&v); err != nil {
		return err
	}
	if v == "" {
		v = string(KeaServiceNone)
	}
	*s = KeaService(v)
	return nil
}

// KeaBasicAuth is a Control Agent (or HTTP socket) client's credentials.
type KeaBasicAuth struct {
	Username string `yaml:"username"`
	// Password or PasswordFile (a file holding it): exactly one.
	Password     Secret `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
}

// KeaTLS is the TLS client side of an https URL.
type KeaTLS struct {
	// CAFile verifies the server's certificate; empty: the system roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// CertFile and KeyFile are the client certificate Kea asks for with
	// cert-required; both or neither.
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName         string `yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify,omitempty"`
}

func init() {
	RegisterSource("kea", func() SourceSettings { return &Kea{} })
}

// SetDefaults implements SourceSettingsDefaulter: the Control Agent's
// dhcp4 service for a URL.
func (k *Kea) SetDefaults() {
	k.singleRelationship()
	if k.URL != "" && k.Service == "" {
		k.Service = KeaServiceDHCP4
	}
}

// Validate implements SourceSettings. No error shows the URL: it could
// carry a password, which is refused.
func (k *Kea) Validate() error {
	switch {
	case k.URL == "" && k.Socket == "":
		return errors.New("one of the fields url and socket is required")
	case k.URL != "" && k.Socket != "":
		return errors.New("fields url and socket: give only one")
	}
	if k.URL != "" {
		if err := validKeaURL(k.URL, k.TLS != nil); err != nil {
			return fmt.Errorf("field url: %w", err)
		}
	} else {
		if strings.ContainsRune(k.Socket, 0) {
			return errors.New("field socket: contains a NUL byte")
		}
		switch {
		case k.BasicAuth != nil:
			return errors.New("field basic_auth: applies to url only (the UNIX socket has no authentication)")
		case k.TLS != nil:
			return errors.New("field tls: applies to url only")
		case k.Service != "" && k.Service != KeaServiceNone:
			return errors.New("field service: applies to url only")
		}
	}
	switch k.Service {
	case "", KeaServiceDHCP4, KeaServiceDHCP6, KeaServiceNone:
	default:
		return fmt.Errorf("field service: %q is not one of dhcp4, dhcp6, none", string(k.Service))
	}
	if k.BasicAuth != nil {
		if err := k.BasicAuth.validate(); err != nil {
			return fmt.Errorf("field basic_auth: %w", err)
		}
	}
	if k.TLS != nil {
		if err := k.TLS.validate(); err != nil {
			return fmt.Errorf("field tls: %w", err)
		}
	}
	return k.validateNames()
}

func validKeaURL(raw string, hasTLS bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("does not parse as a URL")
	}
	if u.User != nil {
		return errors.New("must not carry credentials: use basic_auth")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("has no host")
	}
	if hasTLS && u.Scheme != "https" {
		return errors.New("tls settings need an https URL")
	}
	return nil
}

func (k *Kea) validateNames() error {
	switch {
	case k.Relationship == "" && len(k.Relationships) == 0:
		return errors.New("one of the fields relationship and relationships is required: Kea before 2.6 does not name its relationships, and both servers of a pair need the same name")
	case k.Relationship != "" && len(k.Relationships) > 0:
		return errors.New("fields relationship and relationships: give only one")
	case k.Relationship != "":
		if err := validKeaName(k.Relationship); err != nil {
			return fmt.Errorf("field relationship: %w", err)
		}
		return nil
	}
	keys := make([]string, 0, len(k.Relationships))
	for s := range k.Relationships {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, server := range keys {
		name := k.Relationships[server]
		if err := validKeaName(server); err != nil {
			return fmt.Errorf("field relationships: server name: %w", err)
		}
		if err := validKeaName(name); err != nil {
			return fmt.Errorf("field relationships: %s: %w", server, err)
		}
		if other, dup := seen[name]; dup {
			return fmt.Errorf("field relationships: %s and %s both named %q", other, server, name)
		}
		seen[name] = server
	}
	return nil
}

func validKeaName(s string) error {
	switch {
	case s == "":
		return errors.New("empty name")
	case len(s) > failover.MaxNameLen:
		return fmt.Errorf("name longer than %d bytes", failover.MaxNameLen)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%q contains a control character", s)
	}
	return nil
}

func (b *KeaBasicAuth) validate() error {
	if b.Username == "" {
		return errors.New("field username is required")
	}
	if strings.ContainsRune(b.Username, ':') || strings.IndexFunc(b.Username, unicode.IsControl) >= 0 {
		return errors.New("field username: no ':' or control characters (RFC 7617)")
	}
	if (b.Password == "") == (b.PasswordFile == "") {
		return errors.New("exactly one of password and password_file is required")
	}
	_, err := b.PasswordValue()
	return err
}

// PasswordValue returns the password, read from password_file if that is
// how it was given. Errors name the file, never the password.
func (b *KeaBasicAuth) PasswordValue() (Secret, error) {
	if b.PasswordFile == "" {
		return b.Password, nil
	}
	s, err := ReadSecretFile(b.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("field password_file: %w", err)
	}
	if s == "" {
		return "", fmt.Errorf("field password_file: %s is empty", b.PasswordFile)
	}
	return s, nil
}

func (t *KeaTLS) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("fields cert_file and key_file: give both or neither")
	}
	for _, f := range []struct{ field, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("field %s: %w", f.field, err)
		}
	}
	return nil
}
