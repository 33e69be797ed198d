package kea

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The names of the recorded configuration, as Kea 3.0.4's subnet4-list
// gives them.
var recordedNames = Names{
	11: {Prefix: "10.10.1.0/24", SharedNetwork: "campus"},
	12: {Prefix: "10.10.2.0/24", SharedNetwork: "campus"},
	20: {Prefix: "10.20.0.0/24"},
	31: {Prefix: "10.30.0.0/24", SharedNetwork: "lab net"},
}

func TestParseSubnet4ListRecorded(t *testing.T) {
	b, err := os.ReadFile("testdata/subnet4-list-3.0.4.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSubnet4List(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recordedNames) {
		t.Errorf("got %v, want %v", got, recordedNames)
	}
}

func TestParseSubnet4ListErrors(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   error
	}{
		// Kea 3.0.4 without the hook: result 2.
		{`{ "result": 2, "text": "'subnet4-list' command not supported." }`, ErrNotFound},
		{`{"result": 0, "arguments": {"subnets": [{"subnet": "10.0.0.0/24"}]}}`, ErrProtocol},
		{`{"result": 0, "arguments": {"subnets": [{"id": 1, "subnet": "2001:db8::/64"}]}}`, ErrProtocol},
		{`{"result": 0, "arguments": {"subnets": [{"id": 1, "subnet": "10.0.0.0/24", "shared-network-name": "a\u0000b"}]}}`, ErrProtocol},
		{`{"result": 0, "arguments": {"subnets": {}}}`, ErrProtocol},
		{`not json`, ErrProtocol},
	} {
		if _, err := ParseSubnet4List([]byte(tc.answer)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.answer, err, tc.want)
		}
	}
	// No subnet at all is Kea's result 3: no names, no error.
	names, err := ParseSubnet4List([]byte(`{ "result": 3, "text": "0 IPv4 subnets found" }`))
	if err != nil || len(names) != 0 {
		t.Errorf("empty: %v %v", names, err)
	}
}

// Kea's own configuration file gives the same names as subnet4-list did
// on the server that ran it; comments are stripped outside strings only.
func TestReadConfigFileRecorded(t *testing.T) {
	got, err := ReadConfigFile("testdata/kea-3.0.4-names.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recordedNames) {
		t.Errorf("got %v, want %v", got, recordedNames)
	}
}

func TestReadConfigFileIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("nets.json", `/* included */ { "name": "campus", "subnet4": [ <?include "subnets.json"?> ] } # end`)
	write("subnets.json", `{ "id": 7, "subnet": "192.0.2.0/24" }, { "subnet": "198.51.100.0/24" }`)
	main := write("kea-dhcp4.conf", `{ "Dhcp4": { "shared-networks": [ <?include "`+filepath.Join(dir, "nets.json")+`"?> ],
	  "subnet4": [ { "id": 8, "subnet": "203.0.113.0/25" } ] } }`)
	got, err := ReadConfigFile(main)
	if err != nil {
		t.Fatal(err)
	}
	// The subnet without an id is left out: Kea numbers it itself.
	want := Names{7: {Prefix: "192.0.2.0/24", SharedNetwork: "campus"}, 8: {Prefix: "203.0.113.0/25"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	cycle := write("cycle.conf", `{ "Dhcp4": { "subnet4": [ <?include "`+filepath.Join(dir, "cycle.conf")+`"?> ] } }`)
	if _, err := ReadConfigFile(cycle); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := ReadConfigFile(filepath.Join(dir, "missing.conf")); !errors.Is(err, ErrConfig) {
		t.Errorf("missing: %v", err)
	}
}

// No error of the configuration reader shows the file's content: a
// password in a broken file stays out of the message.
func TestConfigErrorsKeepSecrets(t *testing.T) {
	const secret = "hunter2-do-not-print"
	for _, conf := range []string{
		`{ "Dhcp4": { "hosts-database": { "password": "` + secret + `" }, "subnet4": [ { "id": 1, "subnet": "` + secret + `" } ] } }`,
		`{ "Dhcp4": { "hosts-database": { "password": "` + secret + `" } `,
		`{ "Dhcp4": { "hosts-database": { "password": "` + secret + `" }, "subnet4": [ { "id": "` + secret + `" } ] } }`,
		`{ "Dhcp4": { "hosts-database": { "password": "` + secret + `" }, "subnet4": [ { "id": 1, "subnet": "10.0.0.0/8" } ], "shared-networks": [ { "name": 5 } ] } }`,
		`{ "Dhcp4": { "password": "` + secret,
		`<?include ` + secret + `?>`,
	} {
		_, err := ParseConfig([]byte(conf), nil)
		if err == nil {
			t.Errorf("no error for %s", conf)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}
