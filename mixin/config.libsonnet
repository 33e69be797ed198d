// The settings of the dhcp_failover_exporter mixin. Override them with
//   (import 'mixin.libsonnet') + { _config+:: { ... } }
// (docs/alerts.md has examples).
{
  _config+:: {
    // Label matchers that select the exporter's series in every alert
    // expression: the one job that scrapes the exporter's /metrics. Series of
    // any other job (a /probe job of the same exporter, a second Prometheus
    // job) are ignored, so one condition pages once. For alerting on a
    // /probe job instead, select that job here.
    dhcpFailoverSelector: 'job="dhcp_failover"',

    // A series missing for less than this (failed scrapes of the exporter
    // write stale markers; a restarted exporter is briefly empty) keeps its
    // last value in the alert expressions, so that a firing alert does not
    // resolve and a pending one does not restart its `for:`. '' turns it
    // off. A down DHCP server is not a gap: the exporter keeps its series
    // for its own `down_grace` with dhcp_failover_up 0 (docs/metrics.md).
    scrapeGapTolerance: '2m',

    // keep_firing_for of the critical (paging) alerts; '' (the default):
    // none. docs/alerts.md explains why the shipped rules do without it.
    keepFiringFor: '',

    // `for:` of each alert.
    forDurations: {
      partnerDown: '1m',
      communicationInterrupted: '2m',
      communicationInterruptedTooLong: '30m',
      splitBrain: '1m',
      shutdown: '5m',
      partnerViewMismatch: '10m',
      // Shorter than any down_grace plus scrapeGapTolerance (the earliest
      // a down target's state alerts can resolve), so a down target pages
      // as TargetDown before its state alerts resolve.
      targetDown: '1m',
      unackedUpdatesHigh: '10m',
      // Group dhcp-failover-peer.
      partnerNotAnswering: '1m',
      // Group dhcp-failover-leases. The long ones keep one burst of
      // clients (a shift starting, a switch reboot) from paging.
      freeShareRunningOut: '15m',
      freeShareExhausted: '2m',
      poolNearlyFull: '15m',
      // Refusal alerts: short, because a refusal is a client without an
      // address; the window below, not for:, keeps bursts from flapping.
      clientsRefusedOutOfContact: '1m',
      clientsRefused: '1m',
    },

    thresholds: {
      // DHCPFailoverStateFlapping: more than flappingChanges state changes
      // of one side within flappingWindow.
      flappingWindow: '30m',
      flappingChanges: 4,
      // DHCPFailoverStuck: seconds in POTENTIAL_CONFLICT, RESOLUTION_INT,
      // CONFLICT_DONE or RECOVER; seconds beyond the MCLT in RECOVER_WAIT.
      stuckSeconds: 3600,
      recoverWaitMarginSeconds: 600,
      // DHCPFailoverUnackedUpdatesHigh: share of max-unacked-updates.
      unackedRatio: 0.8,
      // DHCPFailoverPartnerNotAnswering: seconds without an answer above
      // this multiple of the server's max-response-delay, or above
      // notAnsweringFallbackSeconds where the peer tap has not seen it.
      notAnsweringResponseDelays: 2,
      notAnsweringFallbackSeconds: 120,
      // DHCPFailoverFreeShareRunningOut: predict_linear over freeShareWindow
      // says the server's own free share is empty within freeShareHorizon
      // (simple durations: '30m', '1h').
      freeShareWindow: '30m',
      freeShareHorizon: '1h',
      // DHCPFailoverPoolNearlyFull: share of the pool bound to clients.
      poolFullRatio: 0.9,
      // DHCPFailoverClientsRefused*: range of increase() over the refusal
      // counter. A client retries every few seconds to minutes, so one
      // refused client is a burst with gaps; the alert holds for this long
      // after the last refusal and so does not flap between bursts.
      refusedWindow: '15m',
    },

    // runbook_url of an alert: this base and the alert's name in lower case
    // (the anchor of its section in docs/runbook.md).
    runbookURLBase: 'https://github.com/dhcpfailover/dhcp_failover_exporter/blob/main/docs/runbook.md#',

    // Prefix of the Grafana dashboard UIDs ('overview', 'relationship' follow).
    dashboardUIDPrefix: 'dhcp-failover-',
  },
}
