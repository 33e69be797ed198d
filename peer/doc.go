// Package peer observes the failover peer protocol passively: it reads
// pcap/pcapng captures or a live AF_PACKET socket, reassembles the TCP
// conversations on the failover ports, frames and decodes the messages
// with package failover, and keeps a model of each conversation
// (relationship, announced states, counters, backlog, clock offset).
//
// It never sends a packet (design.md: "Why not poll over TCP 647
// directly"). It imports no Prometheus, logging or configuration code.
package peer
