// Package alerts holds the Prometheus alerting rules of
// dhcp_failover_exporter (dhcp-failover.rules.yml, generated from the
// monitoring mixin in mixin/) and their promtool unit tests (tests/*.yml);
// its Go tests run promtool and check the conventions.
package alerts
