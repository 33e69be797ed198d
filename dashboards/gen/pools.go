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
}
