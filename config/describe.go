package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// addressKeys are the settings keys that say where a source's server is,
// in order of preference.
var addressKeys = []string{"address", "url", "socket", "path", "interface", "pcap_file", "pair", "server"}

// Describe returns where a target's server is (its address, URL, socket,
// file or interface as configured) and the relationships the
// configuration names for it (none: every relationship the server has),
// for the landing page. It reads the settings' yaml keys, so a new source
// needs nothing of its own here.
func Describe(t Target) (address string, relationships []string) {
	if t.Settings == nil {
		return "", nil
	}
	v := reflect.ValueOf(t.Settings)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", nil
	}
	byKey := map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		byKey[name] = v.Field(i)
	}
	for _, k := range addressKeys {
		if f, ok := byKey[k]; ok && f.Kind() == reflect.String && f.String() != "" {
			address = f.String()
			break
		}
	}
	if f, ok := byKey["relationship"]; ok && f.Kind() == reflect.String && f.String() != "" {
		relationships = append(relationships, f.String())
	}
	if f, ok := byKey["relationships"]; ok {
		switch f.Kind() {
		case reflect.Slice:
			for i := 0; i < f.Len(); i++ {
				relationships = append(relationships, fmt.Sprint(f.Index(i).Interface()))
			}
		case reflect.Map:
			for _, k := range f.MapKeys() {
				relationships = append(relationships, fmt.Sprint(f.MapIndex(k).Interface()))
			}
			sort.Strings(relationships)
		}
	}
	return address, relationships
}
