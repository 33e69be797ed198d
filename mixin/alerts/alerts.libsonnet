// Every rule group of the mixin: one file per group, each adding its group
// to prometheusAlerts.groups. `go run ./mixin/gen` writes each group to
// alerts/<group name>.rules.yml, or to the file ruleFiles names for it.
(import 'failover.libsonnet') +
(import 'peer.libsonnet') +
(import 'leases.libsonnet') +
{
  // Group name -> rule file under alerts/, for groups whose file is not
  // named after the group (the promtool tests' rule_files name these).
  ruleFiles+:: {
    'dhcp-failover-peer': 'peer.rules.yml',
    'dhcp-failover-leases': 'leases.rules.yml',
  },
}
