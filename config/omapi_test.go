package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const testSecret = "b21hcGktdGVzdC1zZWNyZXQtbm90LXJlYWwtMTIzNA=="

func TestOMAPIConfig(t *testing.T) {
	good := "- name: a\n  source: omapi\n  relationships: [fo]\n"
	for addr, want := range map[string]string{
		"10.0.0.1":        "10.0.0.1:7911",
		"dhcp.example":    "dhcp.example:7911",
		"10.0.0.1:9000":   "10.0.0.1:9000",
		"::1":             "[::1]:7911",
		"[2001:db8::1]":   "[2001:db8::1]:7911",
		"[::1]:7912":      "[::1]:7912",
		"localhost:07911": "localhost:07911",
	} {
		c, err := Parse([]byte("targets:\n" + good + "  address: \"" + addr + "\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		tgt := c.Targets[0]
		if got := tgt.Settings.(*OMAPI).Address; got != want {
			t.Errorf("address %q became %q, want %q", addr, got, want)
		}
	}
	secretFile := filepath.Join(t.TempDir(), "notbase64")
	os.WriteFile(secretFile, []byte("not base64 !!"), 0o600)
	for _, c := range []struct{ yaml, want string }{
		{"  address: 10.0.0.1\n", "field relationships is required"},
		{"  address: 10.0.0.1\n  relationships: [fo, fo]\n", `"fo" listed twice`},
		{"  relationships: [fo]\n", "field address is required"},
		{"  address: 10.0.0.1:99999\n  relationships: [fo]\n", "field address: port"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5}\n", "exactly one of secret and secret_file"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5, secret: " + testSecret + ", secret_file: /x}\n", "exactly one of secret and secret_file"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md4, secret: " + testSecret + "}\n", "unknown algorithm"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {algorithm: hmac-md5, secret: " + testSecret + "}\n", "field key: field name is required"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5, secret: \"zz not base64 secret\"}\n", "not a base64 secret"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5, secret_file: " + secretFile + "}\n", "not a base64 secret"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5, secret_file: /nonexistent/x}\n", "field secret_file"},
		{"  address: 10.0.0.1\n  relationships: [fo]\n  port: 7911\n", `unknown field "port"`},
	} {
		_, err := Parse([]byte("targets:\n- name: a\n  source: omapi\n" + c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `target "a"`) {
			t.Errorf("%s: err = %v, want %q", c.yaml, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "zz not base64") || strings.Contains(err.Error(), testSecret) {
			t.Errorf("secret in %q", err)
		}
	}
}

func TestOMAPISecretNotRendered(t *testing.T) {
	c, err := Parse([]byte("targets:\n- name: a\n  source: omapi\n  address: 10.0.0.1\n  relationships: [fo]\n  key: {name: k, algorithm: hmac-md5, secret: " + testSecret + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out) + fmt.Sprintf("%v %+v %#v", c.Targets[0], c.Targets[0].Settings, c.Targets[0].Settings.(*OMAPI).Key)
	if strings.Contains(s, testSecret) || !strings.Contains(string(out), "<secret>") {
		t.Fatalf("rendered config shows the secret or no mask:\n%s", s)
	}
}
