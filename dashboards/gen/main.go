// Command gen writes the Grafana dashboards of dhcp_failover_exporter.
//
// The committed JSON under dashboards/ is what users import; this program
// is how it is kept consistent (state colours and names from the failover
// package, one selector style, one layout). Run from the module root:
//
//	go run ./dashboards/gen
//
// and commit the regenerated files; a test fails while they differ.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// outputs maps each file name to the dashboard written into it.
var outputs = []struct {
	file  string
	build func() *dashboard
}{
	{"dhcp-failover-overview.json", overview},
	{"dhcp-failover-relationship.json", relationship},
}

func main() {
	dir := flag.String("out", "dashboards", "directory to write the dashboards into")
	flag.Parse()
	for _, o := range outputs {
		data, err := render(o.build())
		if err == nil {
			err = os.WriteFile(filepath.Join(*dir, o.file), data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", o.file, err)
			os.Exit(1)
		}
	}
}

// render completes the fields every dashboard shares and encodes it as
// indented JSON.
func render(d *dashboard) ([]byte, error) {
	d.Annotations = annotations{List: []annotation{{
		BuiltIn:    1,
		Datasource: datasourceRef{Type: "grafana", UID: "-- Grafana --"},
		Enable:     true,
		Hide:       true,
		IconColor:  "rgba(0, 211, 255, 1)",
		Name:       "Annotations & Alerts",
		Type:       "dashboard",
	}}}
	d.Editable = false // provisioned from the mixin or a file: edits belong in dashboards/gen
	d.GraphTooltip = 1 // shared crosshair: line up the two servers of a pair
	d.Refresh = "30s"
	d.SchemaVersion = schemaVersion
	d.Time = timeRange{From: "now-6h", To: "now"}
	d.Timezone = "browser"
	d.Version = 1
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func datasourceVar() variable {
	return variable{
		Current:     map[string]any{},
		Description: "Prometheus data source that scrapes dhcp_failover_exporter.",
		Label:       "Data source",
		Name:        "datasource",
		Options:     []any{},
		Query:       "prometheus",
		Refresh:     1,
		Type:        "datasource",
	}
}

// queryVar is a variable filled from label values of the data source.
func queryVar(name, label, desc, query string, multi bool) variable {
	v := variable{
		Current:     map[string]any{},
		Datasource:  promDS,
		Definition:  query,
		Description: desc,
		IncludeAll:  multi,
		Label:       label,
		Multi:       multi,
		Name:        name,
		Options:     []any{},
		Query:       map[string]any{"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
		Refresh:     2, // on time range change: relationships come and go
		Sort:        1,
		Type:        "query",
	}
	if multi {
		v.AllValue = ".+"
	}
	return v
}

func jobVar() variable {
	return queryVar("job", "Job", "Prometheus job(s) scraping the exporter.", `label_values(dhcp_failover_up, job)`, true)
}

func relationshipVar(multi bool) variable {
	return queryVar("relationship", "Relationship", "Failover relationship name (ISC failover peer, Windows relationship, Kea name from the exporter config).",
		`label_values(dhcp_failover_state{job=~"$job"}, relationship)`, multi)
}

func targetVar() variable {
	return queryVar("target", "Server", "Polled servers (targets) of the relationship.",
		`label_values(dhcp_failover_state{job=~"$job", relationship=~"$relationship"}, target)`, true)
}

// dashboardLinks links the dashboards to each other, keeping the variables.
func dashboardLinks() link {
	return link{AsDropdown: false, IncludeVars: true, KeepTime: true, Tags: []string{"dhcp-failover"}, Title: "DHCP failover", Type: "dashboards"}
}
