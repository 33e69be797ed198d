package main

// overview is every relationship at a glance: what on-call opens first.
func overview() *dashboard {
	v := []string{"job", "relationship"}
	jobOnly := []string{"job"}
	var b builder

	b.add(withThresholds(stat("Relationships", "Failover relationships reported by the polled servers (each counted once, whichever server reports it).", "none",
		instant("A", `count(count by (relationship) (`+sel("dhcp_failover_relationship_info", v)+`))`)), baseThresholds()), 4, 4)
	b.add(withThresholds(stat("Targets down", "Servers the exporter could not poll at its last attempt (dhcp_failover_up = 0).", "none",
		instant("A", `count(`+sel("dhcp_failover_up", jobOnly)+` == 0) or vector(0)`)), alarmThresholds()), 5, 4)
	b.add(withThresholds(stat("In PARTNER_DOWN", "Servers whose own state is PARTNER_DOWN: each serves its whole pool alone.", "none",
		instant("A", `count(`+sel("dhcp_failover_state", v, `side="local"`, `state="PARTNER_DOWN"`)+` == 1) or vector(0)`)), alarmThresholds()), 5, 4)
	b.add(withThresholds(stat("Lost contact", "Servers that have lost contact with their partner (COMMUNICATION_INT, RESOLUTION_INT, or Kea's communication-interrupted flag).", "none",
		instant("A", `count(`+sel("dhcp_failover_communication_interrupted", v)+` == 1) or vector(0)`)), alarmThresholds()), 5, 4)
	b.add(withThresholds(stat("Firing alerts", "DHCPFailover* alerts firing in this Prometheus (the ALERTS series of the rule file alerts/dhcp-failover.rules.yml).", "none",
		instant("A", `count(ALERTS{alertname=~"DHCPFailover.*", alertstate="firing", job=~"$job"}) or vector(0)`)), alarmThresholds()), 5, 4)

	states := table("Relationships",
		"One row per server and relationship: the server's own state, its view of its partner's state, and how long it has been in its state. The two rows of a relationship should show each other's state.",
		"none",
		map[string]string{"relationship": "Relationship", "target": "Server", "Value #A": "Local state", "Value #B": "Partner state (as seen)", "Value #C": "In local state for"},
		instant("A", `max by (relationship, target) (`+sel("dhcp_failover_state_code", v, `side="local"`)+`)`),
		instant("B", `max by (relationship, target) (`+sel("dhcp_failover_state_code", v, `side="partner"`)+`)`),
		instant("C", `max by (relationship, target) (time() - `+sel("dhcp_failover_state_start_time_seconds", v, `side="local"`)+`)`),
	)
	states.FieldConfig.Overrides = []override{
		columnOverride("Local state", property{ID: "mappings", Value: stateMappings()}, colouredCells()),
		columnOverride("Partner state (as seen)", property{ID: "mappings", Value: stateMappings()}, colouredCells()),
		columnOverride("In local state for", property{ID: "unit", Value: "s"}),
	}
	b.add(states, 24, 9)

	overviewExhaustion(&b, v)

	b.add(stateTimeline("Local state over time",
		"Each server's own failover state. NORMAL is green; COMMUNICATION_INT orange; PARTNER_DOWN red; the recovery states blue.",
		stateMappings(),
		series("A", `max by (relationship, target) (`+sel("dhcp_failover_state_code", v, `side="local"`)+`)`, "{{relationship}} {{target}}")), 24, 8)

	b.add(timeseries("Transitions per hour",
		"State changes per hour, by server and side (local = its own state, partner = its view of the partner), including changes between two polls where the source reveals them.",
		"suffix: /h",
		series("A", `3600 * sum by (relationship, target, side) (rate(`+sel("dhcp_failover_state_transitions_total", v)+`[$__rate_interval]))`, "{{relationship}} {{target}} {{side}}")), 12, 8)
	b.add(barGauge("Time in current state",
		"How long each server has been in its current state, as the server reports it (or since the exporter first saw it, where the server does not say).",
		"s",
		instant("A", `max by (relationship, target) (time() - `+sel("dhcp_failover_state_start_time_seconds", v, `side="local"`)+`)`)), 12, 8)

	b.add(stateTimeline("Targets up",
		"Whether the exporter's last poll of each server succeeded. A server that cannot be polled has no failover state: see its poll errors.",
		boolMappings("down", "up", "red", "green"),
		series("A", `max by (target) (`+sel("dhcp_failover_up", jobOnly)+`)`, "{{target}}")), 12, 8)
	b.add(timeseries("Poll errors",
		"Failed polls per second by server and reason (timeout, connect, auth, protocol, not_found, other).",
		"cps",
		series("A", `sum by (target, reason) (rate(`+sel("dhcp_failover_poll_errors_total", jobOnly)+`[$__rate_interval])) > 0`, "{{target}} {{reason}}")), 12, 8)

	alerts := table("Firing alerts",
		"DHCPFailover* alerts firing now in this Prometheus, with their labels. Runbook: docs/runbook.md.",
		"none",
		map[string]string{"alertname": "Alert", "severity": "Severity", "relationship": "Relationship", "target": "Server", "Value": "Firing"},
		instant("A", `sum by (alertname, severity, relationship, target) (ALERTS{alertname=~"DHCPFailover.*", alertstate="firing", job=~"$job"})`))
	b.add(alerts, 24, 7)

	return &dashboard{
		Description: "DHCPv4 failover: every relationship, both servers' own and partner states, transitions, time in state, servers that cannot be polled and firing alerts.",
		Panels:      b.panels,
		Tags:        []string{"dhcp", "dhcp-failover"},
		Templating:  templating{List: []variable{datasourceVar(), jobVar(), relationshipVar(true)}},
		Title:       "DHCP failover / Overview",
		UID:         "dhcp-failover-overview",
		Links:       []link{dashboardLinks()},
	}
}

func withThresholds(p *panel, t thresholds) *panel {
	p.FieldConfig.Defaults.Thresholds = t
	return p
}
