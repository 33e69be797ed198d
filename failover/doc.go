// Package failover is the DHCPv4 failover protocol domain: the FSM_STATE
// vocabulary and its vendor mappings, the draft-12 wire codec (and
// Microsoft's variant), and the state machine of draft §9.2.
//
// It imports nothing of the project and no Prometheus, logging or network
// server code, so that every source and tool can share it.
package failover
