// Rule group dhcp-failover-leases: will clients still get addresses, and are
// they turned away now? Over the pool families and the refusal counter of
// docs/metrics.md ("Pools", "Shared networks and refusals"), in
// alerts/leases.rules.yml. Conventions as in failover.libsonnet: every
// instant selector through the job selector and the scrape-gap tolerance;
// the range of predict_linear takes the job selector alone (a range
// function rides over scrape gaps by itself).
local util = import '../lib/util.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local f = c.forDurations,
    local t = c.thresholds,
    local s(m, matchers='') = util.selector(c, m, matchers),
    local alert(name, severity, expr, forDuration, summary, description) =
      util.alert(c, name, severity, expr, forDuration, summary, description),

    local localFree = s('dhcp_failover_pool_local_free_addresses'),
    local commInt = s('dhcp_failover_communication_interrupted'),

    // Refusals at one place (shared network, subnet) within the window,
    // over every reason that is a lack of addresses: `nak` is left out, a
    // client asking for an address of another network is NAKed too
    // (docs/metrics.md, "Shared networks and refusals"). A range function
    // rides over scrape gaps by itself and increase() over counter resets
    // (a restarted server or log follower), so the job selector alone.
    local refused = |||
      sum without (reason) (
        increase(dhcp_failover_clients_refused_total{%(sel)s, reason!="nak"}[%(w)s])
      ) > 0
    ||| % { sel: c.dhcpFailoverSelector, w: t.refusedWindow },

    // Out of contact: the local side in any state but NORMAL (state_code 3,
    // docs/metrics.md), or the communication_interrupted flag (Kea reports
    // NORMAL-like states with the flag set).
    local outOfContact = |||
      (%(code)s != 3)
      or on (job, instance, target, relationship)
      (%(commInt)s == 1)
    ||| % { code: s('dhcp_failover_state_code', 'side="local"'), commInt: commInt },

    groups+: [{
      name: 'dhcp-failover-leases',
      rules: [
        // Out of contact, a server allocates only its own share of the free
        // addresses (ISC primary: FREE, secondary: BACKUP; Windows: its
        // free addresses). The trend over a window long enough that one
        // burst of clients does not page predicts the share empty within
        // the horizon; value: the predicted share.
        alert(
          'DHCPFailoverFreeShareRunningOut', 'warning',
          |||
            (
              predict_linear(dhcp_failover_pool_local_free_addresses{%(sel)s}[%(w)s], %(h)d) <= 0
              and %(localFree)s > 0
            )
            and on (job, instance, target, relationship) (%(commInt)s == 1)
          ||| % {
            sel: c.dhcpFailoverSelector,
            w: t.freeShareWindow,
            h: util.seconds(t.freeShareHorizon),
            localFree: localFree,
            commInt: commInt,
          },
          f.freeShareRunningOut,
          'DHCP failover server {{ $labels.target }} will run out of its own free addresses within %s.' % util.words(t.freeShareHorizon),
          |||
            {{ $labels.target }} is out of contact with its partner in failover relationship
            {{ $labels.relationship }} and may only allocate its own share of pool {{ $labels.pool }};
            at the rate of the last %s that share is empty within %s. Restore the
            connection, or put the server into PARTNER_DOWN once the partner is known to be down.
          ||| % [util.words(t.freeShareWindow), util.words(t.freeShareHorizon)],
        ),

        // Out of contact with no address of its own share left: new clients
        // of this server get no address (DHCPDISCOVERs go unanswered) until
        // the link is back or the server is in PARTNER_DOWN and the MCLT
        // has passed.
        alert(
          'DHCPFailoverFreeShareExhausted', 'critical',
          |||
            (%(localFree)s == 0)
            and on (job, instance, target, relationship) (%(commInt)s == 1)
          ||| % { localFree: localFree, commInt: commInt },
          f.freeShareExhausted,
          'DHCP failover server {{ $labels.target }} has no free address of its own left.',
          |||
            {{ $labels.target }} is out of contact with its partner in failover relationship
            {{ $labels.relationship }} and its share of pool {{ $labels.pool }} is exhausted: new
            clients get no address from it. Restore the connection, or put the server into
            PARTNER_DOWN once the partner is known to be down (it may then use the partner's
            addresses after the MCLT).
          |||,
        ),

        // In any failover state: the addresses bound to clients (ISC
        // active, abandoned, bootp, reserved; Kea assigned, which includes
        // declined; Windows in_use) over the pool's size; value: that
        // share. Every state of a pool has a series (0 included), so a
        // pool that empties is seen at once through the gap tolerance.
        alert(
          'DHCPFailoverPoolNearlyFull', 'warning',
          |||
            sum without (state) (%(bound)s)
              / (%(size)s > 0)
            > %(ratio)g
          ||| % {
            bound: s('dhcp_failover_pool_addresses', 'state=~"active|abandoned|bootp|reserved|assigned|in_use"'),
            size: s('dhcp_failover_pool_size'),
            ratio: t.poolFullRatio,
          },
          f.poolNearlyFull,
          'DHCP pool {{ $labels.pool }} of {{ $labels.target }} is nearly full.',
          |||
            {{ $value | humanizePercentage }} of pool {{ $labels.pool }} in failover relationship
            {{ $labels.relationship }} is bound to clients, as {{ $labels.target }} sees it.
          |||,
        ),

        // Clients turned away while the pair is out of contact: each server
        // serves only its own share (or, in PARTNER_DOWN, its partner's only
        // after the MCLT), so refusals now mean clients without an address
        // until someone acts. Value: refusals in the window.
        alert(
          'DHCPFailoverClientsRefusedOutOfContact', 'critical',
          '(\n%s)\nand on (job, instance, target, relationship)\n(\n%s)\n' % [refused, outOfContact],
          f.clientsRefusedOutOfContact,
          'DHCP failover server {{ $labels.target }} refuses clients while out of contact with its partner.',
          |||
            {{ $labels.target }} could not give an address to clients{{ if $labels.shared_network }} of shared network
            {{ $labels.shared_network }}{{ end }}{{ if $labels.subnet }} (subnet {{ $labels.subnet }}){{ end }}
            within the last %s while out of contact with its partner in failover relationship
            {{ $labels.relationship }}. Restore the connection, or put the server into
            PARTNER_DOWN once the partner is known to be down and mind the MCLT before
            the partner's addresses become usable.
          ||| % util.words(t.refusedWindow),
        ),

        // Clients turned away in any state: a pool that is too small, a
        // class that excludes clients, a shared network without pools.
        alert(
          'DHCPFailoverClientsRefused', 'warning',
          refused,
          f.clientsRefused,
          'DHCP server {{ $labels.target }} refuses clients.',
          |||
            {{ $labels.target }} could not give an address to clients{{ if $labels.shared_network }} of shared network
            {{ $labels.shared_network }}{{ end }}{{ if $labels.subnet }} (subnet {{ $labels.subnet }}){{ end }}
            within the last %s (failover relationship {{ $labels.relationship }}).
          ||| % util.words(t.refusedWindow),
        ),
      ],
    }],
  },
}
