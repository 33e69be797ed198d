package config

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Secret is a string that never prints its value: in logs, in errors, in
// a YAML or JSON rendering of the config, or through %v/%s/%q/%#v.
type Secret string

const secretMask = "<secret>"

// String implements fmt.Stringer.
func (Secret) String() string { return secretMask }

// GoString implements fmt.GoStringer, for %#v.
func (Secret) GoString() string { return secretMask }

// Format implements fmt.Formatter so that every verb prints the mask.
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, secretMask) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return secretMask, nil
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	return []byte(`"` + secretMask + `"`), nil
}

// Value returns the secret itself, for the one place that uses it.
func (s Secret) Value() string { return string(s) }

// ReadSecretFile reads a secret from a file (trailing newline removed); the
// error names the file, never its content.
func ReadSecretFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return "", fmt.Errorf("reading secret file %s: %w", path, err)
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("secret file %s: larger than 64 KiB", path)
	}
	return Secret(strings.TrimRight(string(b), "\r\n")), nil
}
