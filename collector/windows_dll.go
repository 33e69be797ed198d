//go:build windows && (amd64 || arm64)

package collector

import (
	"fmt"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/dhcpsapi"
	"github.com/go-kit/log"
)

// Only 64-bit Windows builds carry the windows source: dhcpsapi decodes
// the 64-bit layout of the API's structures.

func init() {
	registerSource("windows", newWindowsSource)
}

func newWindowsSource(t config.Target, logger log.Logger) (Source, error) {
	w, ok := t.Settings.(*config.Windows)
	if !ok {
		return nil, fmt.Errorf("windows: settings of type %T", t.Settings)
	}
	api, err := dhcpsapi.OpenDLL(w.Server)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	return newWindowsSourceWith(api, w.Server, w.Relationships, logger), nil
}
