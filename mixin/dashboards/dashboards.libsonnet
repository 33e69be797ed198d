// The Grafana dashboards are generated in Go (dashboards/gen) and committed
// as JSON; the mixin serves them with its dashboard UID prefix.
{
  grafanaDashboards+:: {
    local withUID(d, suffix) = d { uid: $._config.dashboardUIDPrefix + suffix },
    'dhcp-failover-overview.json':
      withUID(std.parseJson(importstr '../../dashboards/dhcp-failover-overview.json'), 'overview'),
    'dhcp-failover-relationship.json':
      withUID(std.parseJson(importstr '../../dashboards/dhcp-failover-relationship.json'), 'relationship'),
  },
}
