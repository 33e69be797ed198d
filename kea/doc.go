// Package kea reads the High Availability state of a Kea DHCP server over
// its control channel: `status-get` (and optionally `ha-heartbeat`) through
// the Control Agent, the daemon's own HTTP control socket or its UNIX socket.
//
// It only ever sends these read-only commands (never config-get, whose
// answer carries the server's secrets), bounds every answer's size, honours
// the caller's deadline, and imports no Prometheus, logging or config code.
package kea
