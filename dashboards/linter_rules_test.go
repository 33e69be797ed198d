package dashboards

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The rules of Grafana's dashboard linter (grafana/dashboard-linter, whose
// rules are documented in its docs/rules/) that TestDashboardsLint does not
// already check, for CI machines where the linter cannot be fetched:
// template-datasource-rule (the variable's label), template-job-rule (job
// labelled job, multi-select, allValue .+), template-on-time-change-reload-rule
// (refresh on time range change), template-label-promql-rule (a
// label_values() query), panel-title-description-rule (the title half),
// every variable used by a query, and ids unique over rows and panels.
// template-instance-rule and target-instance-rule are linterExceptions.

// rawDashboard is the part of a dashboard's JSON these rules read.
type rawDashboard struct {
	Templating struct {
		List []struct {
			Name       string      `json:"name"`
			Label      string      `json:"label"`
			Type       string      `json:"type"`
			Multi      bool        `json:"multi"`
			AllValue   *string     `json:"allValue"`
			Refresh    int         `json:"refresh"`
			Definition string      `json:"definition"`
			Datasource *DataSource `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []rawPanel `json:"panels"`
}

type rawPanel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []rawPanel `json:"panels"`
}

// lintLinterRules applies the rules above to one dashboard's JSON.
func lintLinterRules(data []byte) []error {
	var d rawDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return []error{err}
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	var exprs []string
	ids := map[int]bool{}
	var walk func([]rawPanel)
	walk = func(ps []rawPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				bad("panel id %d used twice (rows included)", p.ID)
			}
			ids[p.ID] = true
			if strings.TrimSpace(p.Title) == "" {
				bad("panel %d (%s): no title", p.ID, p.Type)
			}
			for _, q := range p.Targets {
				exprs = append(exprs, q.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	all := strings.Join(exprs, "\n")
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			if v.Name != "datasource" || v.Label != "Data source" {
				bad("datasource variable %q labelled %q, want datasource labelled \"Data source\"", v.Name, v.Label)
			}
			continue
		case "query":
		default:
			continue
		}
		if v.Refresh != 2 {
			bad("variable %s: refresh %d, want 2 (on time range change)", v.Name, v.Refresh)
		}
		if !strings.HasPrefix(v.Definition, "label_values(") || !strings.HasSuffix(v.Definition, ")") {
			bad("variable %s: query %q is not label_values(...)", v.Name, v.Definition)
		}
		if !strings.Contains(all, "$"+v.Name) {
			bad("variable %s: used by no query", v.Name)
		}
		if v.Name != "job" && !strings.Contains(v.Definition, `job=~"$job"`) {
			bad("variable %s: query %q does not follow $job", v.Name, v.Definition)
		}
		if v.Name == "job" {
			if !strings.EqualFold(v.Label, "job") || !v.Multi || v.AllValue == nil || *v.AllValue != ".+" {
				bad("variable job: label %q, multi %v, allValue %v: want label job, multi-select, allValue .+", v.Label, v.Multi, v.AllValue)
			}
		}
	}
	return errs
}

func TestDashboardLinterRules(t *testing.T) {
	for _, name := range Names() {
		data, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lintLinterRules(data) {
			t.Errorf("%s: %v", name, e)
		}
	}
}

// The rules catch what they are for, on a dashboard broken on purpose.
func TestDashboardLinterRulesCatch(t *testing.T) {
	broken := `{"templating": {"list": [
	  {"name": "ds", "label": "Prometheus", "type": "datasource"},
	  {"name": "job", "label": "Job", "type": "query", "multi": false, "refresh": 1, "definition": "label_values(up, job)"},
	  {"name": "unused", "type": "query", "refresh": 2, "definition": "up"}]},
	 "panels": [{"id": 1, "type": "row", "title": "r", "panels": [{"id": 1, "type": "stat", "targets": [{"expr": "up{job=~\"$job\"}"}]}]}]}`
	got := fmt.Sprint(lintLinterRules([]byte(broken)))
	for _, want := range []string{
		`datasource variable "ds"`, "variable job: refresh 1", "variable job: label", "variable unused: query \"up\" is not label_values",
		"variable unused: used by no query", "variable unused: query \"up\" does not follow $job", "panel id 1 used twice", "panel 1 (stat): no title",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("not caught: %s\n(got %s)", want, got)
		}
	}
}
