package main

// The pool panels (docs/metrics.md, "Pools"): what each server may still
// hand out.

// outOfContact restricts a per-pool expression to the servers that have
// lost contact with their partner.
func outOfContact(expr string, v []string) string {
	return `(` + expr + `) and on (job, instance, target, relationship) (` + sel("dhcp_failover_communication_interrupted", v) + ` == 1)`
}

// timeToExhaustion is the seconds until a server's own share is empty at
// its rate of the last 30 minutes; absent while the share is not falling.
func timeToExhaustion(v []string) string {
	free := sel("dhcp_failover_pool_local_free_addresses", v)
	return free + ` / (-deriv(` + free + `[30m]) > 0)`
}

// poolUse is the share of each pool bound to clients (the states
// DHCPFailoverPoolNearlyFull counts).
func poolUse(v []string) string {
	return `sum by (target, pool) (` + sel("dhcp_failover_pool_addresses", v, `state=~"active|abandoned|bootp|reserved|assigned|in_use"`) + `)` +
		` / on (target, pool) max by (target, pool) (` + sel("dhcp_failover_pool_size", v) + ` > 0)`
}

// relationshipPools adds the row of a relationship's pools.
func relationshipPools(b *builder, v []string) {
	b.row("Pools")
	b.add(timeseries("Own free share",
		"Addresses each server may allocate on its own while out of contact with its partner (ISC primary: FREE, secondary: BACKUP leases; Windows: free on this server). Out of contact, a server whose share reaches 0 answers no new client. Kea has no split pool.",
		"short",
		series("A", `max by (target, pool) (`+sel("dhcp_failover_pool_local_free_addresses", v)+`)`, "{{target}} {{pool}}")), 12, 7)
	b.add(timeseries("Pool use",
		"Share of each pool bound to clients as each server sees it (ISC active, abandoned, bootp, reserved; Kea assigned; Windows in use); DHCPFailoverPoolNearlyFull fires above 90%.",
		"percentunit",
		series("A", poolUse(v), "{{target}} {{pool}}")), 12, 7)
	b.add(timeseries("Addresses by state",
		"Addresses of each pool by binding state, as each server sees them (ISC binding states, Kea assigned/declined, Windows in use/free).",
		"short",
		series("A", `max by (target, pool, state) (`+sel("dhcp_failover_pool_addresses", v)+`) > 0`, "{{target}} {{pool}} {{state}}")), 24, 7)
	relationshipSharedNetworks(b, v)
}

// refusedExpr is the refusals per interval at each place a server reports
// (shared network, subnet), by reason, leaving out `nak` as the refusal
// alerts do (docs/metrics.md, "Shared networks and refusals").
func refusedExpr(by string, v []string) string {
	return `sum by (` + by + `) (increase(` + sel("dhcp_failover_clients_refused_total", v, `reason!="nak"`) + `[$__rate_interval])) > 0`
}

// sharedNetworkDryIn is the seconds until a server's own share of a shared
// network is empty at its rate of the last 30 minutes; absent while the
// share is not falling.
func sharedNetworkDryIn(v []string) string {
	free := sel("dhcp_failover_shared_network_local_free_addresses", v)
	return free + ` / (-deriv(` + free + `[30m]) > 0)`
}

// relationshipSharedNetworks adds the shared-network panels beside the
// pools: where clients draw their addresses, whether they are turned away,
// and when a server in PARTNER_DOWN may take its partner's free addresses
// (docs/runbook.md, "After PARTNER_DOWN: the takeover arithmetic").
func relationshipSharedNetworks(b *builder, v []string) {
	b.add(timeseries("Clients refused",
		"Requests each server could not satisfy per interval, by shared network, subnet (empty: the whole network) and reason, NAKs left out. Out of contact this pages as DHCPFailoverClientsRefusedOutOfContact; partner_holds_free means the server's own share is dry while the partner still holds free addresses.",
		"short",
		series("A", refusedExpr("target, shared_network, subnet, reason", v), "{{target}} {{shared_network}} {{subnet}} {{reason}}")), 12, 7)
	b.add(timeseries("Own free share per shared network",
		"Addresses each server may allocate on its own in each shared network (its pools' own shares summed); a client may draw from any pool of its network, so a network at 0 is what turns clients away. Kea has no split pool.",
		"short",
		series("A", `max by (target, shared_network) (`+sel("dhcp_failover_shared_network_local_free_addresses", v)+`)`, "{{target}} {{shared_network}}")), 12, 7)
	b.add(withThresholds(stat("Partner's pool usable in",
		"While a server is in PARTNER_DOWN: time until it may allocate its partner's free addresses (the state's start plus the MCLT, draft-ietf-dhc-failover-12 PARTNER-DOWN state); 0 once it may. No value outside PARTNER_DOWN and for Kea. Until then it serves only its own share: compare with the time the share lasts, beside.",
		"s",
		instant("A", `max by (target) (clamp_min(`+sel("dhcp_failover_partner_down_takeover_timestamp_seconds", v)+` - time(), 0))`)),
		thresholds{Mode: "absolute", Steps: []step{{Color: "green"}, {Color: "orange", Value: fptr(1)}}}), 6, 6)
	t := table("Own share per shared network: how long it lasts",
		"Per server and shared network: addresses of its own share, and at the rate of the last 30 minutes how long until none is left (empty while the share is not falling). If that is shorter than \"Partner's pool usable in\", clients are refused in between (docs/runbook.md, the takeover arithmetic).",
		"none",
		map[string]string{"target": "Server", "shared_network": "Shared network", "Value #A": "Own free addresses", "Value #B": "Own share lasts", "Value #C": "Network size"},
		instant("A", `max by (target, shared_network) (`+sel("dhcp_failover_shared_network_local_free_addresses", v)+`)`),
		instant("B", `max by (target, shared_network) (`+sharedNetworkDryIn(v)+`)`),
		instant("C", `max by (target, shared_network) (`+sel("dhcp_failover_shared_network_size", v)+`)`),
	)
	t.FieldConfig.Overrides = []override{
		columnOverride("Own share lasts", property{ID: "unit", Value: "s"}),
	}
	b.add(t, 18, 6)
	b.add(timeseries("Shared network addresses by state",
		"Addresses of each shared network by state (the states of the pools, summed over the network's pools), as each server sees them.",
		"short",
		series("A", `max by (target, shared_network, state) (`+sel("dhcp_failover_shared_network_addresses", v)+`) > 0`, "{{target}} {{shared_network}} {{state}}")), 24, 7)
}

// overviewExhaustion adds the table of own shares of servers out of
// contact, with their time to exhaustion.
func overviewExhaustion(b *builder, v []string) {
	t := table("Out of contact: time to exhaustion",
		"Servers that have lost contact with their partner, per pool: the addresses they may still allocate on their own and, at the rate of the last 30 minutes, how long until none is left (empty while the share is not falling). Runbook: DHCPFailoverFreeShareRunningOut.",
		"none",
		map[string]string{"relationship": "Relationship", "target": "Server", "pool": "Pool", "Value #A": "Own free addresses", "Value #B": "Time to exhaustion"},
		instant("A", `max by (relationship, target, pool) (`+outOfContact(sel("dhcp_failover_pool_local_free_addresses", v), v)+`)`),
		instant("B", `max by (relationship, target, pool) (`+outOfContact(timeToExhaustion(v), v)+`)`),
	)
	t.FieldConfig.Overrides = []override{
		columnOverride("Time to exhaustion", property{ID: "unit", Value: "s"}),
	}
	b.add(t, 24, 7)
	b.add(timeseries("Clients refused",
		"Requests each server could not satisfy per interval, by relationship and shared network, NAKs left out (DHCPFailoverClientsRefused; out of contact DHCPFailoverClientsRefusedOutOfContact pages). The relationship dashboard splits them by subnet and reason beside the shares.",
		"short",
		series("A", refusedExpr("relationship, target, shared_network", v), "{{relationship}} {{target}} {{shared_network}}")), 24, 7)
}
