package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every fault of a file is reported at once, one error per target, each
// naming file, target and line: three missing secret files need one run,
// not three. Decoding errors (an unknown field) come with the validation
// errors of the targets that decoded.
func TestLoadReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	omapi := func(name, secret string) string {
		return "  - name: " + name + "\n    source: omapi\n    address: 10.0.0.1\n    relationships: [fo]\n" +
			"    key: {name: k, algorithm: hmac-md5, secret_file: " + filepath.Join(dir, secret) + "}\n"
	}
	path := filepath.Join(dir, "c.yml")
	text := "targets:\n" + omapi("a", "a.key") + omapi("b", "b.key") +
		"  - name: c\n    source: omapi\n    bogus: 1\n" + omapi("d", "d.key")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	errs := ErrorList(err)
	want := []string{
		`target "c": line 14: unknown field "bogus" (source omapi)`,
		`target "a": field key: field secret_file: open ` + filepath.Join(dir, "a.key") + `: no such file or directory (line 2)`,
		`target "b": field key: field secret_file: open ` + filepath.Join(dir, "b.key") + `: no such file or directory (line 7)`,
		`target "d": field key: field secret_file: open ` + filepath.Join(dir, "d.key") + `: no such file or directory (line 15)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, e := range errs {
		if got := e.Error(); got != path+": "+want[i] {
			t.Errorf("error %d:\n got %s\nwant %s: %s", i, got, path, want[i])
		}
	}
}

// A secret path under ${CREDENTIALS_DIRECTORY} (systemd LoadCredential=)
// is read from the directory systemd names; without it the error says
// what the path is for, and never shows a secret.
func TestCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "omapi.key"), []byte(testSecret+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	text := []byte("targets:\n- name: a\n  source: omapi\n  address: 10.0.0.1\n  relationships: [fo]\n" +
		"  key: {name: k, algorithm: hmac-md5, secret_file: '${CREDENTIALS_DIRECTORY}/omapi.key'}\n")
	t.Setenv(CredentialsVar, dir)
	c, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	k := c.Targets[0].Settings.(*OMAPI).Key
	if k.SecretFile != filepath.Join(dir, "omapi.key") {
		t.Errorf("secret_file expanded to %q", k.SecretFile)
	}
	if s, err := k.SecretValue(); err != nil || s.Value() != testSecret {
		t.Errorf("secret from the credentials directory: %v", err)
	}
	t.Setenv(CredentialsVar, "")
	_, err = Parse(text)
	if err == nil || !strings.Contains(err.Error(), "$CREDENTIALS_DIRECTORY is not set") || !strings.Contains(err.Error(), "field key.secret_file") {
		t.Errorf("without $CREDENTIALS_DIRECTORY: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), testSecret) {
		t.Error("the error shows the secret")
	}
}

// Within one target too, every missing file is its own error.
func TestKeaReportsEveryMissingFile(t *testing.T) {
	_, err := Parse([]byte("targets:\n- name: k\n  source: kea\n  url: https://kea:8000/\n  relationship: p\n" +
		"  basic_auth: {username: u, password_file: /nonexistent/pw}\n  tls_config: {ca_file: /nonexistent/ca, cert_file: /nonexistent/c, key_file: /nonexistent/k}\n"))
	errs := ErrorList(err)
	if len(errs) != 4 {
		t.Fatalf("got %d errors, want 4 (password, ca, cert, key):\n%v", len(errs), err)
	}
	for i, f := range []string{"basic_auth: field password_file: open /nonexistent/pw", "tls_config: field ca_file: stat /nonexistent/ca",
		"tls_config: field cert_file: stat /nonexistent/c", "tls_config: field key_file: stat /nonexistent/k"} {
		if want := `target "k": field ` + f + ": no such file or directory (line 2)"; errs[i].Error() != want {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], want)
		}
	}
}
