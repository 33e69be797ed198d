// Rule group dhcp-failover: the state of failover relationships and of the
// exporter's polls. Written against the exporter's metric contract
// (docs/metrics.md); every alert carries `severity` and the annotations
// summary, description and runbook_url (docs/runbook.md has one section per
// alert). Matching across the two servers of a pair (split brain, view
// mismatch) is on the `job` and `relationship` labels: scrape both servers
// of a pair under one job. Durations in descriptions come from
// dhcp_failover_state_start_time_seconds (time in the current state as the
// server reports it, or since the exporter first saw it).
local util = import '../lib/util.libsonnet';

{
  prometheusAlerts+:: {
    local c = $._config,
    local f = c.forDurations,
    local t = c.thresholds,
    local s(m, matchers='') = util.selector(c, m, matchers),
    local alert(name, severity, expr, forDuration, summary, description) =
      util.alert(c, name, severity, expr, forDuration, summary, description),

    local sel = {
      localState(state): s('dhcp_failover_state', 'side="local", state="%s"' % state),
      localStates(re): s('dhcp_failover_state', 'side="local", state=~"%s"' % re),
      localStart: s('dhcp_failover_state_start_time_seconds', 'side="local"'),
      commInt: s('dhcp_failover_communication_interrupted'),
      codeLocal: s('dhcp_failover_state_code', 'side="local"'),
      codePartner: s('dhcp_failover_state_code', 'side="partner"'),
      up: s('dhcp_failover_up'),
    },

    // Lost contact: local COMMUNICATION_INT, or the communication_interrupted
    // flag (RESOLUTION_INT for ISC and Windows, Kea's own flag). PARTNER_DOWN
    // is excluded: contact is lost there too, but that decision has been
    // taken and DHCPFailoverPartnerDown pages for it. Value: seconds in the
    // current local state. Shared by the two communication alerts.
    local commIntExpr = |||
      (
        (
          max without (state, side) (%(commIntState)s == 1)
          or
          %(commInt)s == 1
        )
        unless ignoring (side, state)
        (%(partnerDown)s == 1)
      )
      * ignoring (side)
      (time() - %(start)s)
    ||| % {
      commIntState: sel.localState('COMMUNICATION_INT'),
      commInt: sel.commInt,
      partnerDown: sel.localState('PARTNER_DOWN'),
      start: sel.localStart,
    },

    // dhcp_failover_state_code{side="local"} of targets polled successfully.
    local codeLocalUp = '%s and on (job, instance, target) (%s == 1)' % [sel.codeLocal, sel.up],

    groups+: [{
      name: 'dhcp-failover',
      rules: [
        // The server believes its partner is down and serves the whole pool
        // alone; value: seconds in PARTNER_DOWN.
        alert(
          'DHCPFailoverPartnerDown', 'critical',
          |||
            (%(partnerDown)s == 1)
            * ignoring (state) group_left ()
            (time() - %(start)s)
          ||| % { partnerDown: sel.localState('PARTNER_DOWN'), start: sel.localStart },
          f.partnerDown,
          'DHCP failover server {{ $labels.target }} is in PARTNER_DOWN.',
          |||
            {{ $labels.target }} has been in PARTNER_DOWN in failover relationship
            {{ $labels.relationship }} for {{ $value | humanizeDuration }}: it serves the whole
            address pool alone and its partner must not serve clients.
          |||,
        ),

        alert(
          'DHCPFailoverCommunicationInterrupted', 'warning',
          commIntExpr,
          f.communicationInterrupted,
          'DHCP failover server {{ $labels.target }} has lost contact with its partner.',
          |||
            {{ $labels.target }} has lost contact with its partner in failover relationship
            {{ $labels.relationship }}; it has been in its current state for
            {{ $value | humanizeDuration }}. Each server now serves only its own share of
            free addresses and extends leases by at most the MCLT.
          |||,
        ),

        // The same condition, held long enough that someone must decide:
        // partner really down (set PARTNER_DOWN) or bring the link back.
        alert(
          'DHCPFailoverCommunicationInterruptedTooLong', 'critical',
          commIntExpr,
          f.communicationInterruptedTooLong,
          'DHCP failover server {{ $labels.target }} has been out of contact with its partner for too long.',
          |||
            {{ $labels.target }} has lost contact with its partner in failover relationship
            {{ $labels.relationship }} and has been in its current state for
            {{ $value | humanizeDuration }}. Its free addresses run out and lease times stay
            capped at the MCLT: decide whether the partner is down (PARTNER_DOWN) or restore
            the connection.
          |||,
        ),

        // Two servers of one relationship both in PARTNER_DOWN: both serve the
        // whole pool. Targets are counted once each (two exporter replicas
        // polling one server are not two servers). Value: seconds since the
        // later of the two entered PARTNER_DOWN.
        alert(
          'DHCPFailoverSplitBrain', 'critical',
          |||
            (
              time()
              - max by (job, relationship) (
                  %(start)s
                  and ignoring (state)
                  (%(partnerDown)s == 1)
                )
            )
            and on (job, relationship)
            (
              count by (job, relationship) (
                max by (job, relationship, target) (%(partnerDown)s == 1)
              ) >= 2
            )
          ||| % { partnerDown: sel.localState('PARTNER_DOWN'), start: sel.localStart },
          f.splitBrain,
          'Split brain in DHCP failover relationship {{ $labels.relationship }}.',
          |||
            Both servers of failover relationship {{ $labels.relationship }}
            ({{ range $i, $s := printf "max by (target) (dhcp_failover_state{job=%q,relationship=%q,side=\"local\",state=\"PARTNER_DOWN\"} == 1)" $labels.job $labels.relationship | query | sortByLabel "target" }}{{ if $i }}, {{ end }}{{ $s.Labels.target }}{{ end }})
            have been in PARTNER_DOWN together for {{ $value | humanizeDuration }}: each serves the
            whole pool, and the same address can be leased to two clients.
          |||,
        ),

        // More than flappingChanges state changes of one side in the window.
        // The transition counter also counts changes between polls, but a
        // from/to series is born at its first transition, which increase()
        // cannot see; changes() of the state code sees those. Whichever is
        // above the threshold wins. Range functions ride over scrape gaps.
        alert(
          'DHCPFailoverStateFlapping', 'warning',
          |||
            round(sum without (from, to) (increase(dhcp_failover_state_transitions_total{%(sel)s}[%(w)s]))) > %(n)d
            or
            changes(dhcp_failover_state_code{%(sel)s}[%(w)s]) > %(n)d
          ||| % { sel: c.dhcpFailoverSelector, w: t.flappingWindow, n: t.flappingChanges },
          '',
          'DHCP failover state of {{ $labels.target }} is flapping.',
          |||
            The {{ $labels.side }} state of {{ $labels.target }} in failover relationship
            {{ $labels.relationship }} changed {{ $value }} times in the last %s.
          ||| % util.words(t.flappingWindow),
        ),

        // Transitional states that should end by themselves: POTENTIAL_CONFLICT,
        // RESOLUTION_INT, CONFLICT_DONE and RECOVER within stuckSeconds;
        // RECOVER_WAIT lasts one MCLT by design (draft §9.2), so it is allowed
        // recoverWaitMarginSeconds more (needs dhcp_failover_mclt_seconds).
        // Thresholds are on the time in state the server reports, not on
        // `for:`, so a server found stuck after a restart of Prometheus or the
        // exporter is reported at once. Value: seconds in the state.
        alert(
          'DHCPFailoverStuck', 'warning',
          |||
            (
              (%(transitional)s == 1)
              * ignoring (state) group_left ()
              (time() - %(start)s)
              > %(stuck)d
            )
            or
            (
              (%(recoverWait)s == 1)
              * ignoring (state) group_left ()
              (time() - %(start)s)
              > ignoring (side, state) group_left ()
              (%(mclt)s + %(margin)d)
            )
          ||| % {
            transitional: sel.localStates('POTENTIAL_CONFLICT|RESOLUTION_INT|CONFLICT_DONE|RECOVER'),
            recoverWait: sel.localState('RECOVER_WAIT'),
            start: sel.localStart,
            mclt: s('dhcp_failover_mclt_seconds'),
            stuck: t.stuckSeconds,
            margin: t.recoverWaitMarginSeconds,
          },
          '',
          'DHCP failover server {{ $labels.target }} is stuck in {{ $labels.state }}.',
          |||
            {{ $labels.target }} has been in {{ $labels.state }} in failover relationship
            {{ $labels.relationship }} for {{ $value | humanizeDuration }}; this state should end by
            itself (RECOVER_WAIT after one MCLT, the others within minutes). The pair does not
            balance its pool until it does.
          |||,
        ),

        // Value: seconds in the state.
        alert(
          'DHCPFailoverShutdown', 'warning',
          |||
            (%(down)s == 1)
            * ignoring (state) group_left ()
            (time() - %(start)s)
          ||| % { down: sel.localStates('SHUTDOWN|PAUSED'), start: sel.localStart },
          f.shutdown,
          'DHCP failover server {{ $labels.target }} is in {{ $labels.state }}.',
          |||
            {{ $labels.target }} has been in {{ $labels.state }} in failover relationship
            {{ $labels.relationship }} for {{ $value | humanizeDuration }}: it does not serve
            clients, and its partner should take over in PARTNER_DOWN.
          |||,
        ),

        // A server's view of its partner (side="partner") differs from the
        // state the partner reports itself (the other target of the same
        // relationship, side="local"). Only with both servers polled
        // successfully, and not while contact is lost (the view is then stale
        // by definition). Value: the partner view as dhcp_failover_state_code.
        alert(
          'DHCPFailoverPartnerViewMismatch', 'warning',
          |||
            (
              max by (job, relationship, target) (
                %(codePartner)s and on (job, instance, target) (%(up)s == 1)
              )
              != on (job, relationship, target)
              (
                sum by (job, relationship) (
                  max by (job, relationship, target) (
                    %(codeLocalUp)s
                  )
                )
                - on (job, relationship) group_right ()
                max by (job, relationship, target) (
                  %(codeLocalUp)s
                )
              )
            )
            and on (job, relationship)
            (
              count by (job, relationship) (
                max by (job, relationship, target) (
                  %(codeLocalUp)s
                )
              ) == 2
            )
            unless on (job, relationship)
            (max by (job, relationship) (%(commInt)s) == 1)
          ||| % { codePartner: sel.codePartner, up: sel.up, codeLocalUp: codeLocalUp, commInt: sel.commInt },
          f.partnerViewMismatch,
          "DHCP failover server {{ $labels.target }} disagrees with its partner about the partner's state.",
          |||
            In failover relationship {{ $labels.relationship }}, {{ $labels.target }} sees its partner in
            {{ range printf "dhcp_failover_state{job=%%q,relationship=%%q,target=%%q,side=\"partner\"} == 1" $labels.job $labels.relationship $labels.target | query }}{{ .Labels.state }}{{ end }},
            but the partner
            {{ range printf "dhcp_failover_state{job=%%q,relationship=%%q,target!=%%q,side=\"local\"} == 1" $labels.job $labels.relationship $labels.target | query }}{{ .Labels.target }} reports {{ .Labels.state }}{{ end }};
            the two have disagreed for at least %s.
          ||| % util.words(f.partnerViewMismatch),
        ),

        // The exporter cannot poll the server (the exporter's own scrape
        // failing is Prometheus' `up`, not this). The exporter keeps the
        // target's relationship series for its down_grace with up 0, and
        // this `for:` is shorter than any grace: a down target pages as
        // TargetDown while its state alerts still fire.
        alert(
          'DHCPFailoverTargetDown', 'warning',
          '%s == 0' % sel.up,
          f.targetDown,
          'DHCP failover exporter cannot poll {{ $labels.target }}.',
          |||
            The exporter {{ $labels.instance }} has not polled {{ $labels.target }} successfully for at
            least %s (relationships seen in the last hour:
            {{ range $i, $s := printf "max by (relationship) (last_over_time(dhcp_failover_relationship_info{job=%%q,target=%%q}[1h]))" $labels.job $labels.target | query | sortByLabel "relationship" }}{{ if $i }}, {{ end }}{{ $s.Labels.relationship }}{{ else }}none{{ end }};
            poll errors in the last 5 minutes:
            {{ range $i, $s := printf "sum by (reason) (increase(dhcp_failover_poll_errors_total{job=%%q,instance=%%q,target=%%q}[5m])) > 0" $labels.job $labels.instance $labels.target | query | sortByLabel "reason" }}{{ if $i }}, {{ end }}{{ $s.Labels.reason }}{{ else }}none{{ end }}).
            Its failover state is unknown.
          ||| % util.words(f.targetDown),
        ),

        // Binding updates sent and not yet acknowledged, against the bound the
        // server was configured with (max-unacked-updates). Value: the ratio.
        alert(
          'DHCPFailoverUnackedUpdatesHigh', 'warning',
          |||
            %(unacked)s
            / (%(max)s > 0)
            >= %(ratio)g
          ||| % { unacked: s('dhcp_failover_unacked_updates'), max: s('dhcp_failover_max_unacked_updates'), ratio: t.unackedRatio },
          f.unackedUpdatesHigh,
          'DHCP failover server {{ $labels.target }} has many unacknowledged binding updates.',
          |||
            {{ $labels.target }} has had {{ $value | humanizePercentage }} of its maximum of
            unacknowledged binding updates outstanding in failover relationship
            {{ $labels.relationship }} for at least %s: its partner is slow to
            acknowledge, and at the maximum the server stops sending updates.
          ||| % util.words(f.unackedUpdatesHigh),
        ),
      ],
    }],
  },
}
