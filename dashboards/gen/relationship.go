package main

// relationship is one failover relationship in depth: both sides' states
// over time, the timers, the update backlog, and what the Kea and peer-tap
// sources add.
func relationship() *dashboard {
	v := []string{"job", "relationship", "target"}
	byTarget := []string{"job", "target"}
	var b builder

	b.row("State")
	b.add(stateTimeline("Local state",
		"Each server's own failover state over time.",
		stateMappings(),
		series("A", `max by (target) (`+sel("dhcp_failover_state_code", v, `side="local"`)+`)`, "{{target}}")), 24, 6)
	b.add(stateTimeline("Partner state as seen",
		"Each server's view of its partner's state. It should match the partner's own row above; a lasting difference is DHCPFailoverPartnerViewMismatch. Windows does not report it.",
		stateMappings(),
		series("A", `max by (target) (`+sel("dhcp_failover_state_code", v, `side="partner"`)+`)`, "{{target}} sees its partner")), 24, 6)
	b.add(stateTimeline("Contact with the partner",
		"1 while the server has lost contact with its partner (COMMUNICATION_INT or RESOLUTION_INT for ISC and Windows; Kea's communication-interrupted flag).",
		boolMappings("in contact", "interrupted", "green", "orange"),
		series("A", `max by (target) (`+sel("dhcp_failover_communication_interrupted", v)+`)`, "{{target}}")), 12, 5)
	b.add(stateTimeline("Targets up",
		"Whether the exporter's last poll of each server succeeded.",
		boolMappings("down", "up", "red", "green"),
		series("A", `max by (target) (`+sel("dhcp_failover_up", byTarget)+`)`, "{{target}}")), 12, 5)

	starts := table("State start times",
		"When each side entered its current state, as the server reports it (start-time-of-state), or when the exporter first saw it.",
		"dateTimeAsIso",
		map[string]string{"target": "Server", "side": "Side", "Value": "Entered at"},
		instant("A", `1000 * max by (target, side) (`+sel("dhcp_failover_state_start_time_seconds", v)+`)`))
	b.add(starts, 12, 6)
	b.add(barGauge("Time in current state",
		"How long each side has been in its current state.",
		"s",
		instant("A", `max by (target, side) (time() - `+sel("dhcp_failover_state_start_time_seconds", v)+`)`)), 12, 6)

	b.add(table("Servers",
		"Vendor, role and mode of each server in the relationship.",
		"none",
		map[string]string{"target": "Server", "vendor": "Vendor", "role": "Role", "mode": "Mode", "Value": ""},
		instant("A", `max by (target, vendor, role, mode) (`+sel("dhcp_failover_relationship_info", v)+`)`)), 6, 6)
	b.add(table("Native state names",
		"Each server's own name for its state and its partner's (Kea hot-standby, ISC recover-wait, Windows PartnerDown...).",
		"none",
		map[string]string{"target": "Server", "side": "Side", "state": "Native state", "Value": ""},
		instant("A", `max by (target, side, state) (`+sel("dhcp_failover_native_state_info", v)+`)`)), 6, 6)
	b.add(timeseries("Transitions per hour",
		"State changes per hour by side and change (from → to); from = to means the state was left and re-entered between two polls.",
		"suffix: /h",
		series("A", `3600 * sum by (target, side, from, to) (rate(`+sel("dhcp_failover_state_transitions_total", v)+`[$__rate_interval]))`, "{{target}} {{side}} {{from}} → {{to}}")), 12, 6)

	relationshipPools(&b, v)

	b.row("Timers and binding updates")
	b.add(stat("MCLT", "Maximum client lead time: how far a server may extend a lease beyond what its partner knows, and how long RECOVER_WAIT lasts.", "s",
		instant("A", `max by (target) (`+sel("dhcp_failover_mclt_seconds", v)+`)`)), 6, 5)
	b.add(stat("Max response delay", "Seconds without a message after which a server considers the connection to its partner lost.", "s",
		instant("A", `max by (target) (`+sel("dhcp_failover_max_response_delay_seconds", v)+`)`)), 6, 5)
	b.add(timeseries("Unacked binding updates",
		"Binding updates sent to the partner and not yet acknowledged, against the configured maximum (ISC max-unacked-updates); at the maximum a server stops sending updates.",
		"short",
		series("A", `max by (target) (`+sel("dhcp_failover_unacked_updates", v)+`)`, "{{target}}"),
		series("B", `max by (target) (`+sel("dhcp_failover_max_unacked_updates", v)+`)`, "{{target}} maximum")), 12, 5)
	b.add(timeseries("Time since last contact with the partner",
		"Seconds since the server last heard from its partner, where the source reports it (Kea's age).",
		"s",
		series("A", `max by (target) (time() - `+sel("dhcp_failover_partner_last_contact_timestamp_seconds", v)+`)`, "{{target}}")), 12, 6)
	b.add(timeseries("Poll duration",
		"How long the exporter's last poll of each server took.",
		"s",
		series("A", `max by (target) (`+sel("dhcp_failover_poll_duration_seconds", byTarget)+`)`, "{{target}}")), 12, 6)

	b.row("Kea HA")
	b.add(timeseries("Kea clients while the partner is unreachable",
		"Kea's failure-detection counters for the partner: clients trying to get a lease from it (connecting), those left unanswered (unacked), and how many more unacked clients it takes to declare the partner down (left).",
		"short",
		series("A", `max by (target) (`+sel("dhcp_failover_kea_connecting_clients", v)+`)`, "{{target}} connecting"),
		series("B", `max by (target) (`+sel("dhcp_failover_kea_unacked_clients", v)+`)`, "{{target}} unacked"),
		series("C", `max by (target) (`+sel("dhcp_failover_kea_unacked_clients_left", v)+`)`, "{{target}} left before partner-down")), 12, 6)
	b.add(timeseries("Kea analyzed packets",
		"Packets Kea analysed for the partner's failure detection since contact was lost.",
		"short",
		series("A", `max by (target) (`+sel("dhcp_failover_kea_analyzed_packets", v)+`)`, "{{target}}")), 6, 6)
	b.add(timeseries("Kea clock skew",
		"Clock difference between the two Kea servers as Kea reports it; Kea stops HA when it exceeds 60 s.",
		"s",
		series("A", `max by (target) (`+sel("dhcp_failover_kea_clock_skew_seconds", v)+`)`, "{{target}}")), 6, 6)

	b.row("Failover peer protocol (tap)")
	b.add(stateTimeline("Failover connection",
		"Whether a failover TCP connection (port 647) between the partners is established, as the peer tap sees it.",
		boolMappings("down", "up", "red", "green"),
		series("A", `max by (target, local_address, partner_address) (`+sel("dhcp_failover_peer_connection_up", v)+`)`, "{{target}} {{local_address}} ↔ {{partner_address}}")), 12, 6)
	b.add(timeseries("Messages",
		"Failover messages per second by direction and type (CONNECT, STATE, BNDUPD, BNDACK, CONTACT...).",
		"cps",
		series("A", `sum by (target, direction, message) (rate(`+sel("dhcp_failover_peer_messages_total", v)+`[$__rate_interval]))`, "{{target}} {{direction}} {{message}}")), 12, 6)
	b.add(timeseries("Time since last message",
		"Seconds since the last failover message in each direction; above the max response delay the partners drop the connection.",
		"s",
		series("A", `max by (target, direction) (time() - `+sel("dhcp_failover_peer_last_message_timestamp_seconds", v)+`)`, "{{target}} {{direction}}")), 6, 6)
	b.add(timeseries("Binding update backlog",
		"BNDUPD messages seen without their BNDACK yet, by direction.",
		"short",
		series("A", `max by (target, direction) (`+sel("dhcp_failover_peer_pending_updates", v)+`)`, "{{target}} {{direction}}")), 6, 6)
	b.add(timeseries("Rejects",
		"Rejections per interval by reason (from CONNECTACK, DISCONNECT and BNDACK reject-reason).",
		"short",
		series("A", `sum by (target, reason) (increase(`+sel("dhcp_failover_peer_rejects_total", v)+`[$__rate_interval]))`, "{{target}} {{reason}}")), 6, 6)
	b.add(timeseries("Clock offset",
		"Message time field minus capture time, by direction; ISC rejects a partner more than 60 s off.",
		"s",
		series("A", `max by (target, direction) (`+sel("dhcp_failover_peer_clock_offset_seconds", v)+`)`, "{{target}} {{direction}}")), 6, 6)

	return &dashboard{
		Description: "One DHCPv4 failover relationship in depth: state timelines of both sides, start times, MCLT, binding-update backlog, Kea HA counters and the failover peer protocol.",
		Panels:      b.panels,
		Tags:        []string{"dhcp", "dhcp-failover"},
		Templating:  templating{List: []variable{datasourceVar(), jobVar(), relationshipVar(false), targetVar()}},
		Title:       "DHCP failover / Relationship",
		UID:         "dhcp-failover-relationship",
		Links:       []link{dashboardLinks()},
	}
}
