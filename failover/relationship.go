package failover

import "time"

// Vendor names the implementation a relationship was read from; it is the
// `vendor` label of dhcp_failover_relationship_info.
type Vendor string

// Vendors.
const (
	VendorISC       Vendor = "isc"
	VendorKea       Vendor = "kea"
	VendorWindows   Vendor = "windows"
	VendorSimulated Vendor = "simulated"
)

// Role is the polled server's role in the relationship.
type Role string

// Roles.
const (
	RolePrimary   Role = "primary"
	RoleSecondary Role = "secondary"
	RoleStandby   Role = "standby"
	RoleBackup    Role = "backup"
)

// Mode is the relationship's mode; empty where the source does not say.
type Mode string

// Modes.
const (
	ModeLoadBalance   Mode = "load-balance"
	ModeHotStandby    Mode = "hot-standby"
	ModePassiveBackup Mode = "passive-backup"
)

// Side is one end's state as the polled server reports it.
type Side struct {
	// Reported is false where the source says nothing about this side
	// (Windows does not report the partner's state): nothing is rendered
	// for it rather than a made-up NO_STATE.
	Reported bool
	State    State
	// Native is the server's own name for the state ("recover-wait",
	// "hot-standby", "PartnerDown"); empty if the source has none.
	Native string
	// StartTime is when the state was entered as the server reports it
	// (start-time-of-state, STOS); zero if not reported.
	StartTime time.Time
}

// Transition is one state change of one side, as revealed by a source that
// keeps history (leases file records, Windows PrevState).
type Transition struct {
	Partner bool // false: the local side; true: the partner side
	From    State
	To      State
	At      time.Time
}

// Gauge is a source-specific number, rendered as dhcp_failover_<Name> with
// the target and relationship labels when the exporter knows the name.
type Gauge struct {
	Name  string
	Value float64
}

// Relationship is one observation of one failover relationship from one
// server: what a source returns from a poll.
type Relationship struct {
	Name   string
	Vendor Vendor
	Role   Role
	Mode   Mode

	Local   Side
	Partner Side

	MCLT             Optional[time.Duration]
	MaxResponseDelay Optional[time.Duration]
	UnackedUpdates   Optional[int]
	// MaxUnackedUpdates is the configured bound for UnackedUpdates (ISC
	// max-outstanding-updates), so that alerts can compare the two.
	MaxUnackedUpdates Optional[int]
	// CommunicationInterrupted is derived from the local state where the
	// source has no flag of its own (ISC, Windows); Kea reports its own.
	CommunicationInterrupted Optional[bool]
	PartnerLastContact       Optional[time.Time]

	// PartnerName and PartnerAddress identify the partner server where the
	// source says who it is (Windows: the relationship's other server;
	// Kea 2.6+: the remote server-name); empty if not reported.
	PartnerName    string
	PartnerAddress string

	// Transitions, when HasHistory is set, are the exact state changes the
	// source saw since its previous observation; the agent counts these
	// instead of diffing two observations.
	HasHistory  bool
	Transitions []Transition

	// Gauges are further numbers a source reports (Kea client counters,
	// Windows safe period...).
	Gauges []Gauge

	// Pools are the address pools of the relationship, where the source
	// sees them (failover/pool.go).
	Pools []Pool

	// Refusals count the requests the server could not satisfy, where
	// the source sees them (failover/refusal.go). Refusals in a network
	// outside every relationship are reported with the target's first
	// relationship by name, as pools outside failover are.
	Refusals []Refusal
}

// CommunicationInterruptedFromState says whether a local state means that
// the server has lost contact with its partner (draft §9.2: the two
// "interrupted" states are the ones entered on losing the connection).
// PARTNER_DOWN is not included: it is its own, louder condition, and a
// server stays in it while its partner reconnects in RECOVER.
func CommunicationInterruptedFromState(s State) bool {
	return s == CommunicationInt || s == ResolutionInt
}
