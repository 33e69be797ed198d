package collector

import (
	"errors"
	"fmt"
	"os"

	"github.com/dhcpfailover/dhcp_failover_exporter/config"
	"github.com/dhcpfailover/dhcp_failover_exporter/kea"
	"github.com/dhcpfailover/dhcp_failover_exporter/peer"
)

// Preflight lists what a valid configuration's targets would stumble on
// once the exporter runs, as --config.check warnings: a peer target that
// cannot capture (its interface missing, or CAP_NET_RAW lacking: the same
// open the source does, closed at once), a file a target reads that does
// not exist or cannot be read, and, when run as root, a file only root can
// read, which the systemd service (DynamicUser=yes, examples/systemd/)
// would be refused. None of these is an error: an interface or a file may
// appear before the exporter starts, and the check may run elsewhere.
func Preflight(cfg *config.Config) []string {
	var out []string
	root := os.Geteuid() == 0
	for _, t := range cfg.Targets {
		where := fmt.Sprintf("target %q", t.Name)
		var files []string
		switch s := t.Settings.(type) {
		case *config.Peer:
			if s.Interface != "" {
				if w := preflightCapture(s); w != "" {
					out = append(out, where+": "+w)
				}
			} else {
				files = append(files, s.PcapFile)
			}
		case *config.Leases:
			files = append(files, s.Path)
			if s.LogFile != "" {
				files = append(files, s.LogFile)
			}
		case *config.Kea:
			if s.ConfigFile != "" {
				if w := preflightFile(s.ConfigFile, root); w != "" {
					out = append(out, where+": config_file: "+w)
				} else if _, err := kea.ReadConfigFile(s.ConfigFile); err != nil {
					out = append(out, where+": config_file: "+err.Error()+" (subnets are named by ID)")
				}
			}
		}
		if fr, ok := t.Settings.(config.FileReferrer); ok {
			files = append(files, fr.ReferencedFiles()...)
		}
		for _, f := range files {
			if w := preflightFile(f, root); w != "" {
				out = append(out, where+": "+w)
			}
		}
	}
	return out
}

func preflightCapture(p *config.Peer) string {
	c, err := peer.OpenLive(p.Interface, p.Ports)
	switch {
	case err == nil:
		c.Close()
		return ""
	case errors.Is(err, peer.ErrNeedCapNetRaw):
		return fmt.Sprintf("interface %s: cannot capture: %v", p.Interface, peer.ErrNeedCapNetRaw)
	case errors.Is(err, peer.ErrNoInterface):
		return fmt.Sprintf("interface %s does not exist on this host (the tap retries until it appears)", p.Interface)
	}
	return fmt.Sprintf("interface %s: cannot capture: %v", p.Interface, err)
}

// preflightFile checks that path can be opened for reading; as root, also
// that someone other than root may read it.
func preflightFile(path string, root bool) string {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Sprintf("file %s does not exist", path)
		}
		return fmt.Sprintf("file %s cannot be read: %v", path, err)
	}
	defer f.Close()
	if !root {
		return ""
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode().Perm()&0o004 != 0 || !ownedByRoot(fi) {
		return ""
	}
	return fmt.Sprintf("file %s is readable only by root (or its group): the systemd service runs as a dynamic user and would get permission denied; pass it with LoadCredential= and name it as ${CREDENTIALS_DIRECTORY}/NAME (examples/systemd/)", path)
}
