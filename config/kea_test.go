package config

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	promconfig "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

func TestKeaValid(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	ca := filepath.Join(dir, "ca.pem")
	for _, f := range []string{pw, ca} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, yaml string
		want       Kea
	}{
		{"control agent", `{url: "http://10.0.0.1:8000/", relationship: pair}`,
			Kea{URL: "http://10.0.0.1:8000/", Service: KeaServiceDHCP4, Relationship: "pair"}},
		{"daemon http socket, empty service", `{url: "http://10.0.0.1:8004/", service: "", relationship: pair}`,
			Kea{URL: "http://10.0.0.1:8004/", Service: KeaServiceNone, Relationship: "pair"}},
		{"daemon http socket, service none", `{url: "http://10.0.0.1:8004/", service: none, relationship: pair}`,
			Kea{URL: "http://10.0.0.1:8004/", Service: KeaServiceNone, Relationship: "pair"}},
		{"unix socket", `{socket: /run/kea/kea4-ctrl-socket, relationship: pair}`,
			Kea{Socket: "/run/kea/kea4-ctrl-socket", Relationship: "pair"}},
		{"hub", `{socket: /s, relationships: {hub-a: a, hub-b: b}, ha_heartbeat: true}`,
			Kea{Socket: "/s", Relationships: map[string]string{"hub-a": "a", "hub-b": "b"}, HAHeartbeat: true}},
		{"auth and tls", `{url: "https://kea:8000/", service: dhcp6, relationship: p, basic_auth: {username: u, password_file: ` + pw + `}, tls: {ca_file: ` + ca + `, server_name: kea}}`,
			Kea{URL: "https://kea:8000/", Service: KeaServiceDHCP6, Relationship: "p", BasicAuth: &KeaBasicAuth{Username: "u", PasswordFile: pw}, TLS: &KeaTLSConfig{CAFile: ca, ServerName: "kea"}}},
		{"prometheus.yml keys", `{url: "https://kea:8000/", relationship: p, authorization: {type: Bearer, credentials_file: ` + pw + `}, tls_config: {ca_file: ` + ca + `, min_version: TLS13}}`,
			Kea{URL: "https://kea:8000/", Service: KeaServiceDHCP4, Relationship: "p", Authorization: &KeaAuthorization{Type: "Bearer", CredentialsFile: pw}, TLSConfig: &KeaTLSConfig{CAFile: ca, MinVersion: promconfig.TLSVersion(tls.VersionTLS13)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte("targets:\n- {name: k, source: kea, " + strings.TrimSuffix(strings.TrimPrefix(tc.yaml, "{"), "}") + "}\n"))
			if err != nil {
				t.Fatal(err)
			}
			got := c.Targets[0].Settings.(*Kea)
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v %+v %+v\nwant %+v %+v %+v", *got, got.BasicAuth, got.TLS, tc.want, tc.want.BasicAuth, tc.want.TLS)
			}
		})
	}
}

func TestKeaInvalid(t *testing.T) {
	const pw = "Sup3r-secret-pw"
	tests := []struct{ yaml, want string }{
		{`relationship: p`, `target "k": one of the fields url and socket is required`},
		{`url: "http://a/", socket: /s, relationship: p`, `target "k": fields url and socket: give only one`},
		{`url: "http://a/"`, `target "k": one of the fields relationship and relationships is required`},
		{`url: "http://a/", relationship: p, relationships: {a: b}`, `target "k": fields relationship and relationships: give only one`},
		{`url: "ftp://a/", relationship: p`, `target "k": field url: scheme "ftp": want http or https`},
		{`url: "http:///x", relationship: p`, `target "k": field url: has no host`},
		{`url: "http://u:` + pw + `@a/", relationship: p`, `target "k": field url: must not carry credentials: use basic_auth`},
		{`url: "http://a/%zz` + pw + `", relationship: p`, `target "k": field url: does not parse as a URL`},
		{`url: "http://a/", relationship: p, tls: {}`, `target "k": field url: tls settings need an https URL`},
		{`url: "http://a/", relationship: p, service: dhcp46`, `target "k": field service: "dhcp46" is not one of dhcp4, dhcp6, none`},
		{`socket: /s, relationship: p, service: dhcp4`, `target "k": field service: applies to url only`},
		{`socket: /s, relationship: p, basic_auth: {username: u, password: x}`, `target "k": field basic_auth: applies to url only (the UNIX socket has no authentication)`},
		{`socket: /s, relationship: p, tls: {}`, `target "k": field tls_config: applies to url only`},
		{`socket: /s, relationship: p, authorization: {credentials: x}`, `target "k": field authorization: applies to url only`},
		{`url: "https://a/", relationship: p, tls: {}, tls_config: {}`, `target "k": fields tls and tls_config: give only one`},
		{`url: "http://a/", relationship: p, authorization: {type: Bearer}`, `target "k": field authorization: one of credentials and credentials_file is required`},
		{`url: "http://a/", relationship: p, basic_auth: {username: u, password: x}, authorization: {credentials: x}`, `target "k": http client settings: at most one of basic_auth, oauth2 & authorization must be configured`},
		{`url: "http://a/", relationship: p, basic_auth: {password: x}`, `target "k": field basic_auth: field username is required`},
		{`url: "http://a/", relationship: p, basic_auth: {username: "a:b", password: x}`, `target "k": field basic_auth: field username: no ':' or control characters (RFC 7617)`},
		{`url: "http://a/", relationship: p, basic_auth: {username: u}`, `target "k": field basic_auth: exactly one of password and password_file is required`},
		{`url: "http://a/", relationship: p, basic_auth: {username: u, password: x, password_file: /f}`, `target "k": field basic_auth: exactly one of password and password_file is required`},
		{`url: "http://a/", relationship: p, basic_auth: {username: u, password_file: /nonexistent/pw}`, `target "k": field basic_auth: field password_file: open /nonexistent/pw: no such file or directory`},
		{`url: "https://a/", relationship: p, tls: {cert_file: /c}`, `target "k": field tls: fields cert_file and key_file: give both or neither`},
		{`url: "https://a/", relationship: p, tls: {ca_file: /nonexistent/ca}`, `target "k": field tls: field ca_file: stat /nonexistent/ca: no such file or directory`},
		{`url: "http://a/", relationships: {a: x, b: x}`, `target "k": field relationships: a and b both named "x"`},
		{`url: "http://a/", relationships: {a: ""}`, `target "k": field relationships: a: empty name`},
		{`url: "http://a/", relationship: "a\tb"`, `target "k": field relationship: "a\tb" contains a control character`},
		{`url: "http://a/", relationship: p, basic_auth: {username: u, passwd: x}`, `unknown field "passwd"`},
		{`url: "http://a/", relationship: p, tls_config: {cafile: x}`, `unknown field "cafile"`},
		{`url: "http://a/", relationship: p, config_get: true`, `unknown field "config_get"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := Parse([]byte("targets:\n- {name: k, source: kea, " + tc.yaml + "}\n"))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// No secret shows when the settings are printed or marshalled: common's
// Secret masks itself only in YAML and JSON, the settings' types mask
// every fmt verb.
func TestKeaPasswordHidden(t *testing.T) {
	const pw, token, key = "Sup3r-secret-pw", "t0ken-never-shown", "inline-key-never-shown"
	c, err := Parse([]byte("targets:\n- {name: k, source: kea, url: 'https://a/', relationship: p, basic_auth: {username: u, password: '" + pw + "'}}\n" +
		"- {name: k2, source: kea, url: 'https://a/', relationship: p, authorization: {credentials: '" + token + "'}, tls_config: {insecure_skip_verify: true}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Targets[0].Settings.(*Kea)
	k2 := c.Targets[1].Settings.(*Kea)
	k2.TLSConfig.Key = key
	for _, v := range []any{k, k2, *k, *k2, c.Targets[0], c.Targets[1], c} {
		y, _ := yaml.Marshal(v)
		j, _ := json.Marshal(v)
		for _, s := range []string{fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v), string(y), string(j)} {
			for _, secret := range []string{pw, token, key} {
				if strings.Contains(s, secret) {
					t.Errorf("secret shown: %s", s)
				}
			}
		}
	}
	if hc := k.HTTPClientConfig(); string(hc.BasicAuth.Password) != pw {
		t.Errorf("password = %q", hc.BasicAuth.Password)
	}
}
