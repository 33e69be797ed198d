// Rule group dhcp-failover-leases: will clients still get addresses? Over
// the pool families of docs/metrics.md ("Pools"), in
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
      ],
    }],
  },
}
