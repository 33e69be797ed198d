// Package e2e holds the end-to-end test of the dashboards and alert rules:
// the exporter's demo scraped by a real Prometheus that notifies a real
// Alertmanager, all on 127.0.0.1 (see e2e_test.go).
package e2e
