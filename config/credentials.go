package config

import (
	"errors"
	"os"
	"strings"
)

// CredentialsVar is the variable systemd sets, in a service with
// LoadCredential= or SetCredential=, to the directory holding the
// service's credentials (systemd.exec(5), "Credentials"; on current
// systemd /run/credentials/UNIT/). A secret file path may begin with
// ${CREDENTIALS_DIRECTORY}/: it then names the credential whatever the
// unit's name (an instance, a renamed copy), where a literal
// /run/credentials/dhcp_failover_exporter.service/ path would not; see
// docs/systemd-credentials.md.
const CredentialsVar = "CREDENTIALS_DIRECTORY"

const credentialsPrefix = "${" + CredentialsVar + "}/"

// errNoCredentialsDir: a path names a credential outside a service that
// was given any.
var errNoCredentialsDir = errors.New("$" + CredentialsVar + " is not set: this path names a systemd credential (LoadCredential= in the service unit), which exists only for the running service; to check the configuration as the service sees it, run the check under systemd-run with the unit's LoadCredential= lines (docs/systemd-credentials.md)")

// expandCredentials replaces a leading ${CREDENTIALS_DIRECTORY}/ in *p by
// the directory systemd gave the service. Nothing else is expanded: a
// path is otherwise taken as written.
func expandCredentials(p *string) error {
	if !strings.HasPrefix(*p, credentialsPrefix) {
		return nil
	}
	dir := os.Getenv(CredentialsVar)
	if dir == "" {
		return errNoCredentialsDir
	}
	*p = strings.TrimSuffix(dir, "/") + "/" + strings.TrimPrefix(*p, credentialsPrefix)
	return nil
}

// expandCredentialPaths expands the secret and TLS file paths of the
// settings that have them, naming the field of a path that cannot be.
func expandCredentialPaths(s SourceSettings) error {
	type field struct {
		name string
		p    *string
	}
	var fields []field
	switch s := s.(type) {
	case *OMAPI:
		if s.Key != nil {
			fields = append(fields, field{"key.secret_file", &s.Key.SecretFile})
		}
	case *Kea:
		if s.BasicAuth != nil {
			fields = append(fields, field{"basic_auth.username_file", &s.BasicAuth.UsernameFile}, field{"basic_auth.password_file", &s.BasicAuth.PasswordFile})
		}
		if s.Authorization != nil {
			fields = append(fields, field{"authorization.credentials_file", &s.Authorization.CredentialsFile})
		}
		for _, t := range []*KeaTLSConfig{s.TLS, s.TLSConfig} {
			if t != nil {
				fields = append(fields, field{"tls.ca_file", &t.CAFile}, field{"tls.cert_file", &t.CertFile}, field{"tls.key_file", &t.KeyFile})
			}
		}
	}
	for _, f := range fields {
		if err := expandCredentials(f.p); err != nil {
			return errors.New("field " + f.name + ": " + err.Error())
		}
	}
	return nil
}
