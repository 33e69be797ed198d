// Package peer observes the failover peer protocol passively: it reads
// pcap/pcapng captures or a live AF_PACKET socket, reassembles the TCP
// conversations on the failover ports, frames and decodes the messages
// with package failover, keeps a model of each conversation (announced
// states, counters, backlog, clock offset), and from it a model of the
// local server's relationships (Model: which connections are whose,
// strangers left out, a partner that does not answer).
//
// It never sends a packet (docs/peer.md: a third party speaking the
// protocol would disturb the failover it watches). It imports no
// Prometheus, logging or configuration code.
package peer
