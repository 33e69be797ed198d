// Every rule group of the mixin: one file per group, each adding its group
// to prometheusAlerts.groups. `go run ./mixin/gen` writes each group to
// alerts/<group name>.rules.yml.
(import 'failover.libsonnet')
