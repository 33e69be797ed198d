package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"unicode"

	promconfig "github.com/prometheus/common/config"
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
	// HTTP client settings for url, written as in prometheus.yml
	// (github.com/prometheus/common/config): basic_auth (Kea 1.9+),
	// authorization, tls_config. Password, credentials and certificate
	// files are read again when they change, on the next poll.
	BasicAuth     *KeaBasicAuth     `yaml:"basic_auth,omitempty"`
	Authorization *KeaAuthorization `yaml:"authorization,omitempty"`
	TLSConfig     *KeaTLSConfig     `yaml:"tls_config,omitempty"`
	// TLS is the former name of tls_config (its keys ca_file, cert_file,
	// key_file, server_name and insecure_skip_verify are tls_config's),
	// still read.
	TLS *KeaTLSConfig `yaml:"tls,omitempty"`
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
	// ConfigFile is Kea's own configuration file (kea-dhcp4.conf) on the
	// exporter's host, read for the subnets' prefixes and shared networks
	// where the subnet_cmds hook is not loaded (docs/kea.md, "Subnet
	// names"); nothing else of it is kept.
	ConfigFile string `yaml:"config_file,omitempty"`
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

// KeaBasicAuth is prometheus/common's basic_auth (username, username_file,
// password, password_file), printed masked by the fmt verbs: common's
// Secret masks itself only in YAML and JSON.
type KeaBasicAuth promconfig.BasicAuth

// KeaAuthorization is prometheus/common's authorization (type,
// credentials, credentials_file), printed masked.
type KeaAuthorization promconfig.Authorization

// KeaTLSConfig is prometheus/common's tls_config (ca_file, cert_file,
// key_file, server_name, insecure_skip_verify, min_version, ...), printed
// masked (it may hold an inline key).
type KeaTLSConfig promconfig.TLSConfig

// Format implements fmt.Formatter: every verb prints the mask.
func (KeaBasicAuth) Format(f fmt.State, _ rune) { io.WriteString(f, secretMask) }

// Format implements fmt.Formatter: every verb prints the mask.
func (KeaAuthorization) Format(f fmt.State, _ rune) { io.WriteString(f, secretMask) }

// Format implements fmt.Formatter: every verb prints the mask.
func (KeaTLSConfig) Format(f fmt.State, _ rune) { io.WriteString(f, secretMask) }

// HTTPClientConfig returns the HTTP client settings of a url target as
// prometheus/common takes them: redirects off, HTTP/1.1 only.
func (k *Kea) HTTPClientConfig() promconfig.HTTPClientConfig {
	c := promconfig.HTTPClientConfig{FollowRedirects: false, EnableHTTP2: false}
	if k.BasicAuth != nil {
		c.BasicAuth = (*promconfig.BasicAuth)(k.BasicAuth)
	}
	if k.Authorization != nil {
		a := promconfig.Authorization(*k.Authorization)
		c.Authorization = &a
	}
	switch {
	case k.TLSConfig != nil:
		c.TLSConfig = promconfig.TLSConfig(*k.TLSConfig)
	case k.TLS != nil:
		c.TLSConfig = promconfig.TLSConfig(*k.TLS)
	}
	if c.TLSConfig.MinVersion == 0 {
		c.TLSConfig.MinVersion = promconfig.TLSVersion(tls.VersionTLS12)
	}
	return c
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
		if err := validKeaURL(k.URL, k.TLS != nil || k.TLSConfig != nil); err != nil {
			return fmt.Errorf("field url: %w", err)
		}
	} else {
		if strings.ContainsRune(k.Socket, 0) {
			return errors.New("field socket: contains a NUL byte")
		}
		switch {
		case k.BasicAuth != nil:
			return errors.New("field basic_auth: applies to url only (the UNIX socket has no authentication)")
		case k.Authorization != nil:
			return errors.New("field authorization: applies to url only")
		case k.TLS != nil || k.TLSConfig != nil:
			return errors.New("field tls_config: applies to url only")
		case k.Service != "" && k.Service != KeaServiceNone:
			return errors.New("field service: applies to url only")
		}
	}
	if strings.ContainsRune(k.ConfigFile, 0) {
		return errors.New("field config_file: contains a NUL byte")
	}
	switch k.Service {
	case "", KeaServiceDHCP4, KeaServiceDHCP6, KeaServiceNone:
	default:
		return fmt.Errorf("field service: %q is not one of dhcp4, dhcp6, none", string(k.Service))
	}
	if k.TLS != nil && k.TLSConfig != nil {
		return errors.New("fields tls and tls_config: give only one (tls is the former name of tls_config)")
	}
	// The files are all checked before returning, so that one run of
	// --config.check names every missing one.
	var fileErrs []error
	if k.BasicAuth != nil {
		if err := k.BasicAuth.validate(); err != nil {
			fileErrs = append(fileErrs, fmt.Errorf("field basic_auth: %w", err))
		}
	}
	if k.Authorization != nil && k.Authorization.Credentials == "" && k.Authorization.CredentialsFile == "" && k.Authorization.CredentialsRef == "" {
		fileErrs = append(fileErrs, errors.New("field authorization: one of credentials and credentials_file is required"))
	}
	for _, f := range []struct {
		field string
		t     *KeaTLSConfig
	}{{"tls", k.TLS}, {"tls_config", k.TLSConfig}} {
		if f.t == nil {
			continue
		}
		for _, err := range ErrorList(f.t.validate()) {
			fileErrs = append(fileErrs, fmt.Errorf("field %s: %w", f.field, err))
		}
	}
	if len(fileErrs) > 0 {
		return errors.Join(fileErrs...)
	}
	if k.URL != "" {
		// common's own checks (one of password and password_file, ...);
		// its errors name fields, never values.
		hc := k.HTTPClientConfig()
		if err := hc.Validate(); err != nil {
			return fmt.Errorf("http client settings: %w", err)
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
	if b.Username == "" && b.UsernameFile == "" && b.UsernameRef == "" {
		return errors.New("field username is required")
	}
	if strings.ContainsRune(b.Username, ':') || strings.IndexFunc(b.Username, unicode.IsControl) >= 0 {
		return errors.New("field username: no ':' or control characters (RFC 7617)")
	}
	if n := btoi(b.Password != "") + btoi(b.PasswordFile != "") + btoi(b.PasswordRef != ""); n != 1 {
		return errors.New("exactly one of password and password_file is required")
	}
	if b.PasswordFile != "" {
		// Read once here so that a missing or empty file is a config
		// error; the source reads it again on every poll.
		s, err := ReadSecretFile(b.PasswordFile)
		if err != nil {
			return fmt.Errorf("field password_file: %w", err)
		}
		if s == "" {
			return fmt.Errorf("field password_file: %s is empty", b.PasswordFile)
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *KeaTLSConfig) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") && t.Cert == "" && t.Key == "" {
		return errors.New("fields cert_file and key_file: give both or neither")
	}
	var errs []error
	for _, f := range []struct{ field, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f.field, err))
		}
	}
	return errors.Join(errs...)
}
