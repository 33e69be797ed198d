// Every rule group of the mixin: one file per group, each adding its group
// to prometheusAlerts.groups. `go run ./mixin/gen` writes each group to
// alerts/<group name>.rules.yml, or to the file ruleFiles names for it.
(import 'failover.libsonnet') +
{
  // Group name -> rule file under alerts/, for groups whose file is not
  // named after the group.
  ruleFiles+:: {},
}
