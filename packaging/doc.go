// Package packaging tests what the project ships, with the tools a user
// runs: the release tarballs (make tarball) and their binary, the example
// configurations (--config.check, promtool check config), the container
// image (podman), and the systemd units (systemd-analyze verify, socket
// activation). `make packaging` builds the tarballs first; `make test` runs
// it.
package packaging
