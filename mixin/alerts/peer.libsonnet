// Rule group dhcp-failover-peer: alerts on the peer tap's metrics
// (docs/peer.md), in alerts/peer.rules.yml. Conventions as in
// failover.libsonnet: every series through the job selector and the
// scrape-gap tolerance.
local util = import '../lib/util.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local f = c.forDurations,
    local t = c.thresholds,
    local s(m, matchers='') = util.selector(c, m, matchers),
    local alert(name, severity, expr, forDuration, summary, description) =
      util.alert(c, name, severity, expr, forDuration, summary, description),

    groups+: [{
      name: 'dhcp-failover-peer',
      rules: [
        // The local server has been talking to its partner without a word
        // back for longer than notAnsweringResponseDelays times its own
        // receive timer (max-response-delay, from its CONNECT), or
        // notAnsweringFallbackSeconds where the tap has not seen that
        // timer. ISC gives up the connection after max-response-delay and
        // reconnects; a partner whose host still accepts TCP but whose
        // dhcpd is hung (SIGSTOP) answers neither. The value never goes
        // down while the partner stays silent (0 once it speaks, so a
        // recovery is seen at once through the gap tolerance).
        alert(
          'DHCPFailoverPartnerNotAnswering', 'warning',
          |||
            (
              %(unanswered)s
              > on (job, instance, target, relationship) group_left ()
                (%(n)g * %(mrd)s)
            )
            or
            (
              %(unanswered)s > %(fallback)g
              unless on (job, instance, target, relationship) %(mrd)s
            )
          ||| % {
            unanswered: s('dhcp_failover_peer_unanswered_seconds'),
            mrd: s('dhcp_failover_max_response_delay_seconds'),
            n: t.notAnsweringResponseDelays,
            fallback: t.notAnsweringFallbackSeconds,
          },
          f.partnerNotAnswering,
          'The failover partner of {{ $labels.target }} does not answer.',
          |||
            {{ $labels.target }} has been talking to its partner in failover relationship
            {{ $labels.relationship }} for {{ $value | humanizeDuration }} without a word back,
            and the partner has not closed the connection: its host accepts TCP but its DHCP
            server is hung, or the network between them drops packets.
          |||,
        ),
      ],
    }],
  },
}
