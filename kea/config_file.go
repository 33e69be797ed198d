package kea

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Reading Kea's own configuration file for the subnets' names, where the
// exporter runs on the Kea host and the subnet_cmds hook is not loaded
// (docs/kea.md, "Subnet names"). Kea's file is JSON with comments (#, //
// and /* */) and <?include "path"?> directives (Kea ARM, "Comments and
// User Context", "Including Files"). Only the subnets' IDs, prefixes and
// shared networks are decoded, into structs that have no other field:
// passwords and keys in the file are never kept, and errors give byte
// offsets and file names, never the file's content.

// Bounds of one configuration: its files together, the depth and number
// of includes.
const (
	maxConfigSize    = 16 << 20
	maxIncludeDepth  = 8
	maxIncludedFiles = 256
	includeOpen      = "<?include"
	includeClose     = "?>"
)

// ErrConfig: the configuration file cannot be read or is not Kea's.
var ErrConfig = errors.New("kea: configuration file")

// ReadConfigFile reads the subnets' names from Kea's configuration file at
// path. A relative include is looked up as Kea 3.0.4 looks it up, from
// the working directory, which is / for Debian's systemd units (tested:
// with / as its working directory Kea refuses `<?include "nets.json"?>`
// beside its configuration file, "Can't open include file nets.json");
// when it is not found there, from the including file's directory.
func ReadConfigFile(path string) (Names, error) {
	pp := &preprocessor{read: readBoundedFile}
	b, err := pp.file(path, 0)
	if err != nil {
		return nil, err
	}
	return parseConfigJSON(b, path)
}

// ParseConfig reads the subnets' names from a configuration already in
// memory; include reads an included file (nil: includes are refused).
func ParseConfig(b []byte, include func(path string) ([]byte, error)) (Names, error) {
	pp := &preprocessor{read: include}
	if include == nil {
		pp.read = func(string) ([]byte, error) { return nil, errors.New("includes are not read here") }
	}
	out, err := pp.text(b, "(configuration)", ".", 0)
	if err != nil {
		return nil, err
	}
	return parseConfigJSON(out, "(configuration)")
}

type preprocessor struct {
	read  func(path string) ([]byte, error)
	total int
	files int
	open  []string // the include chain, for cycles
}

func readBoundedFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	return b, nil
}

func (pp *preprocessor) file(path string, depth int) ([]byte, error) {
	for _, o := range pp.open {
		if o == path {
			return nil, fmt.Errorf("%w %s: includes itself (through %v)", ErrConfig, path, pp.open)
		}
	}
	pp.files++
	if pp.files > maxIncludedFiles {
		return nil, fmt.Errorf("%w %s: more than %d included files", ErrConfig, path, maxIncludedFiles)
	}
	b, err := pp.read(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrConfig, path, err)
	}
	pp.open = append(pp.open, path)
	defer func() { pp.open = pp.open[:len(pp.open)-1] }()
	return pp.text(b, path, filepath.Dir(path), depth)
}

// text strips the comments of one file and replaces its includes by the
// included files' text, leaving strings untouched.
func (pp *preprocessor) text(b []byte, name, dir string, depth int) ([]byte, error) {
	pp.total += len(b)
	if pp.total > maxConfigSize {
		return nil, fmt.Errorf("%w %s: the configuration and its includes are larger than %d bytes", ErrConfig, name, maxConfigSize)
	}
	var out bytes.Buffer
	out.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return nil, fmt.Errorf("%w %s: string not closed (offset %d)", ErrConfig, name, i)
			}
			out.Write(b[i : j+1])
			i = j + 1
		case c == '#' || c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			end := bytes.Index(b[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("%w %s: comment not closed (offset %d)", ErrConfig, name, i)
			}
			out.WriteByte(' ')
			i += 2 + end + 2
		case c == '<' && bytes.HasPrefix(b[i:], []byte(includeOpen)):
			end := bytes.Index(b[i:], []byte(includeClose))
			if end < 0 {
				return nil, fmt.Errorf("%w %s: include not closed (offset %d)", ErrConfig, name, i)
			}
			var path string
			arg := bytes.TrimSpace(b[i+len(includeOpen) : i+end])
			if err := json.Unmarshal(arg, &path); err != nil || path == "" {
				return nil, fmt.Errorf("%w %s: include at offset %d: want a quoted path", ErrConfig, name, i)
			}
			if depth+1 > maxIncludeDepth {
				return nil, fmt.Errorf("%w %s: includes nested deeper than %d", ErrConfig, name, maxIncludeDepth)
			}
			inc, err := pp.file(pp.resolve(path, dir), depth+1)
			if err != nil {
				return nil, err
			}
			out.Write(inc)
			i += end + len(includeClose)
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.Bytes(), nil
}

// resolve finds a relative include as Kea does (ReadConfigFile), then
// beside the including file.
func (pp *preprocessor) resolve(path, dir string) string {
	if filepath.IsAbs(path) {
		return path
	}
	fromRoot := filepath.Join("/", path)
	if _, err := os.Stat(fromRoot); err == nil {
		return fromRoot
	}
	return filepath.Join(dir, path)
}

// configSubnet is the only part of a subnet decoded.
type configSubnet struct {
	ID     *int64 `json:"id"`
	Subnet string `json:"subnet"`
}

func parseConfigJSON(b []byte, name string) (Names, error) {
	var c struct {
		Dhcp4 *struct {
			Subnet4        []configSubnet `json:"subnet4"`
			SharedNetworks []struct {
				Name    string         `json:"name"`
				Subnet4 []configSubnet `json:"subnet4"`
			} `json:"shared-networks"`
		} `json:"Dhcp4"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w %s: not JSON after comments and includes (offset %d)", ErrConfig, name, se.Offset)
		}
		return nil, fmt.Errorf("%w %s: not a Kea configuration: %v", ErrConfig, name, err)
	}
	if c.Dhcp4 == nil {
		return nil, fmt.Errorf("%w %s: no Dhcp4 object", ErrConfig, name)
	}
	names := Names{}
	add := func(s configSubnet, network string) error {
		// Kea numbers a subnet without an id itself, in an order that
		// changes with the file: such a subnet keeps its subnet-ID name.
		if s.ID == nil {
			return nil
		}
		if len(names) >= maxSubnets {
			return fmt.Errorf("%w %s: more than %d subnets", ErrConfig, name, maxSubnets)
		}
		n, err := subnetName(s.Subnet, network)
		if err != nil {
			return fmt.Errorf("%w %s: subnet %d: %v", ErrConfig, name, *s.ID, err)
		}
		names[*s.ID] = n
		return nil
	}
	for _, s := range c.Dhcp4.Subnet4 {
		if err := add(s, ""); err != nil {
			return nil, err
		}
	}
	for _, sn := range c.Dhcp4.SharedNetworks {
		for _, s := range sn.Subnet4 {
			if err := add(s, sn.Name); err != nil {
				return nil, err
			}
		}
	}
	return names, nil
}
