package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The lint rules every dashboard follows: schema version ≥ 39;
// variables datasource, job and relationship (and target on the
// relationship dashboard); every panel has a description, a unit and the
// datasource variable; every range is [$__rate_interval]; counters only
// inside rate() or increase(); every selector of an exporter metric is
// restricted to the dashboard's variables; only metrics of the contract.

// metricLabels lists the metrics the dashboards may use and which of the
// dashboard variables their selectors must carry (docs/metrics.md; Kea
// gauges and the unacked bound are source extras).
var metricLabels = map[string][]string{
	"dhcp_failover_state":                                  {"job", "relationship"},
	"dhcp_failover_state_code":                             {"job", "relationship"},
	"dhcp_failover_state_start_time_seconds":               {"job", "relationship"},
	"dhcp_failover_state_transitions_total":                {"job", "relationship"},
	"dhcp_failover_relationship_info":                      {"job", "relationship"},
	"dhcp_failover_native_state_info":                      {"job", "relationship"},
	"dhcp_failover_mclt_seconds":                           {"job", "relationship"},
	"dhcp_failover_max_response_delay_seconds":             {"job", "relationship"},
	"dhcp_failover_unacked_updates":                        {"job", "relationship"},
	"dhcp_failover_max_unacked_updates":                    {"job", "relationship"},
	"dhcp_failover_communication_interrupted":              {"job", "relationship"},
	"dhcp_failover_partner_last_contact_timestamp_seconds": {"job", "relationship"},
	"dhcp_failover_kea_connecting_clients":                 {"job", "relationship"},
	"dhcp_failover_kea_unacked_clients":                    {"job", "relationship"},
	"dhcp_failover_kea_unacked_clients_left":               {"job", "relationship"},
	"dhcp_failover_kea_analyzed_packets":                   {"job", "relationship"},
	"dhcp_failover_kea_clock_skew_seconds":                 {"job", "relationship"},
	"dhcp_failover_up":                                     {"job"},
	"dhcp_failover_poll_duration_seconds":                  {"job"},
	"dhcp_failover_last_poll_timestamp_seconds":            {"job"},
	"dhcp_failover_poll_errors_total":                      {"job"},
	"dhcp_failover_peer_connection_up":                     {"job", "relationship"},
	"dhcp_failover_peer_messages_total":                    {"job", "relationship"},
	"dhcp_failover_peer_last_message_timestamp_seconds":    {"job", "relationship"},
	"dhcp_failover_peer_rejects_total":                     {"job", "relationship"},
	"dhcp_failover_peer_pending_updates":                   {"job", "relationship"},
	"dhcp_failover_peer_clock_offset_seconds":              {"job", "relationship"},
	"dhcp_failover_pool_addresses":                         {"job", "relationship"},
	"dhcp_failover_pool_size":                              {"job", "relationship"},
	"dhcp_failover_pool_local_free_addresses":              {"job", "relationship"},

	// Shared networks and refusals.
	"dhcp_failover_pool_info":                               {"job", "relationship"},
	"dhcp_failover_shared_network_size":                     {"job", "relationship"},
	"dhcp_failover_shared_network_addresses":                {"job", "relationship"},
	"dhcp_failover_shared_network_local_free_addresses":     {"job", "relationship"},
	"dhcp_failover_clients_refused_total":                   {"job", "relationship"},
	"dhcp_failover_partner_down_takeover_timestamp_seconds": {"job", "relationship"},

	"ALERTS": {"job"},
}

// units the dashboards may use: Grafana unit ids, and custom "suffix:" units.
var knownUnits = map[string]bool{
	"none": true, "short": true, "s": true, "dateTimeAsIso": true, "cps": true, "percentunit": true,
}

// functions that take a range vector and may be given a counter.
var counterFuncs = map[string]bool{"rate": true, "increase": true}

func loadAll(t *testing.T) map[string]*Dashboard {
	t.Helper()
	out := map[string]*Dashboard{}
	names := Names()
	if len(names) != 2 {
		t.Fatalf("dashboards: %v, want the overview and the relationship dashboard", names)
	}
	for _, n := range names {
		d, err := Load(n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = d
	}
	return out
}

func TestDashboardsLint(t *testing.T) {
	uids := map[string]string{}
	for name, d := range loadAll(t) {
		t.Run(name, func(t *testing.T) {
			if d.SchemaVersion < 39 {
				t.Errorf("schemaVersion %d, want ≥ 39", d.SchemaVersion)
			}
			if d.UID == "" || d.Title == "" {
				t.Errorf("uid %q, title %q: both required", d.UID, d.Title)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = name
			vars := lintVariables(t, name, d)
			ids := map[int]bool{}
			panels := d.AllPanels()
			if len(panels) == 0 {
				t.Fatal("no panels")
			}
			for _, p := range panels {
				where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if ids[p.ID] {
					t.Errorf("%s: duplicate id", where)
				}
				ids[p.ID] = true
				if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("%s: grid position %+v outside the 24 columns", where, p.GridPos)
				}
				if strings.TrimSpace(p.Description) == "" {
					t.Errorf("%s: no description", where)
				}
				if u := p.FieldConfig.Defaults.Unit; !knownUnits[u] && !strings.HasPrefix(u, "suffix:") {
					t.Errorf("%s: unit %q is not one of the units in use (%v or suffix:...)", where, u, knownUnits)
				}
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("%s: datasource %+v, want the ${datasource} variable", where, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no queries", where)
				}
				for _, q := range p.Targets {
					if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
						t.Errorf("%s query %s: datasource %+v, want ${datasource}", where, q.RefID, q.Datasource)
					}
					for _, e := range lintExpr(q.Expr, vars) {
						t.Errorf("%s query %s: %v\n\t%s", where, q.RefID, e, q.Expr)
					}
				}
			}
		})
	}
}

// lintVariables checks the variables and returns their names.
func lintVariables(t *testing.T, name string, d *Dashboard) map[string]bool {
	t.Helper()
	want := []string{"datasource", "job", "relationship"}
	if strings.Contains(name, "relationship") {
		want = append(want, "target")
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		switch v.Type {
		case "datasource":
			var q string
			if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" {
				t.Errorf("variable %s: query %s, want \"prometheus\"", v.Name, v.Query)
			}
		case "query":
			if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
				t.Errorf("variable %s: datasource %+v, want ${datasource}", v.Name, v.Datasource)
			}
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil || q.Query == "" || q.Query != v.Definition {
				t.Errorf("variable %s: query %s, definition %q: want the same label_values() query in both", v.Name, v.Query, v.Definition)
			}
		default:
			t.Errorf("variable %s: type %q", v.Name, v.Type)
		}
	}
	for _, w := range want {
		if !vars[w] {
			t.Errorf("variable %q missing (have %v)", w, vars)
		}
	}
	return vars
}

// token is a PromQL token: an identifier (with a leading $ for a
// dashboard variable), a string literal, or one punctuation character.
type token struct {
	kind byte // 'i' identifier, 's' string, 'p' punctuation
	text string
}

func tokenize(expr string) []token {
	var out []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			out = append(out, token{'s', expr[i+1 : min(j, len(expr))]})
			i = j + 1
		case c == '$' || c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.':
			j := i + 1
			for j < len(expr) && (expr[j] == '_' || expr[j] == ':' || expr[j] == '.' || expr[j] >= 'a' && expr[j] <= 'z' || expr[j] >= 'A' && expr[j] <= 'Z' || expr[j] >= '0' && expr[j] <= '9') {
				j++
			}
			out = append(out, token{'i', expr[i:j]})
			i = j
		default:
			out = append(out, token{'p', string(c)})
			i++
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$\{?(\w+)`)

// lintExpr applies the query rules to one expression.
func lintExpr(expr string, vars map[string]bool) []error {
	var errs []error
	if strings.TrimSpace(expr) == "" {
		return []error{fmt.Errorf("empty expression")}
	}
	for _, m := range varRef.FindAllStringSubmatch(expr, -1) {
		if !strings.HasPrefix(m[1], "__") && !vars[m[1]] {
			errs = append(errs, fmt.Errorf("uses undefined variable $%s", m[1]))
		}
	}
	toks := tokenize(expr)
	var calls []string // enclosing parentheses: the function name, or "" for grouping
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		switch {
		case tk.kind == 'p' && tk.text == "(":
			fn := ""
			if i > 0 && toks[i-1].kind == 'i' {
				fn = toks[i-1].text
			}
			calls = append(calls, fn)
		case tk.kind == 'p' && tk.text == ")":
			if len(calls) == 0 {
				errs = append(errs, fmt.Errorf("unbalanced parentheses"))
				return errs
			}
			calls = calls[:len(calls)-1]
		case tk.kind == 'p' && tk.text == "[":
			j := i + 1
			var inner []string
			for ; j < len(toks) && toks[j].text != "]"; j++ {
				inner = append(inner, toks[j].text)
			}
			// The one exception: deriv() over the 30m trend window of
			// DHCPFailoverFreeShareRunningOut (time to exhaustion), which
			// must not follow the zoom.
			trend := len(calls) > 0 && calls[len(calls)-1] == "deriv"
			if got := strings.Join(inner, ""); got != "$__rate_interval" && !(trend && got == "30m") {
				errs = append(errs, fmt.Errorf("range [%s], want [$__rate_interval]", got))
			}
			i = j
		case tk.kind == 'i' && (i+1 >= len(toks) || toks[i+1].text != "("):
			inBy := len(calls) > 0 && (calls[len(calls)-1] == "by" || calls[len(calls)-1] == "without" || calls[len(calls)-1] == "on" || calls[len(calls)-1] == "ignoring")
			if inBy || !isMetricName(tk.text) {
				continue
			}
			if strings.HasSuffix(tk.text, "_total") {
				if len(calls) == 0 || !counterFuncs[calls[len(calls)-1]] {
					errs = append(errs, fmt.Errorf("counter %s outside rate()/increase()", tk.text))
				}
			}
			labels, ok := metricLabels[tk.text]
			if !ok {
				errs = append(errs, fmt.Errorf("metric %s is not in the contract", tk.text))
				continue
			}
			matchers := map[string]string{}
			if i+1 < len(toks) && toks[i+1].text == "{" {
				j := i + 2
				for ; j+2 < len(toks) && toks[j].text != "}"; j++ {
					if toks[j].kind == 'i' && toks[j+1].kind == 'p' {
						op := toks[j+1].text
						k := j + 2
						if k < len(toks) && toks[k].kind == 'p' { // =~ != !~
							op += toks[k].text
							k++
						}
						if k < len(toks) && toks[k].kind == 's' {
							matchers[toks[j].text] = op + toks[k].text
							j = k
						}
					}
				}
				i = j
			}
			for _, l := range labels {
				if !vars[l] {
					continue
				}
				if got, want := matchers[l], `=~$`+l; got != want {
					errs = append(errs, fmt.Errorf("selector of %s: %s matcher %q, want %s=~\"$%s\"", tk.text, l, got, l, l))
				}
			}
			if vars["target"] && strings.HasPrefix(tk.text, "dhcp_failover_") && matchers["target"] != `=~$target` {
				errs = append(errs, fmt.Errorf("selector of %s: no target=~\"$target\" on a dashboard with a target variable", tk.text))
			}
		}
	}
	if len(calls) != 0 {
		errs = append(errs, fmt.Errorf("unbalanced parentheses"))
	}
	return errs
}

// isMetricName tells metric names from keywords, functions' parameters
// and numbers.
func isMetricName(s string) bool {
	return strings.HasPrefix(s, "dhcp_failover_") || s == "ALERTS" || strings.HasSuffix(s, "_total")
}

// The linter itself must catch what it is for.
func TestLintExprCatches(t *testing.T) {
	vars := map[string]bool{"job": true, "relationship": true, "datasource": true}
	bad := map[string]string{
		"counter outside rate":   `dhcp_failover_state_transitions_total{job=~"$job", relationship=~"$relationship"}`,
		"counter in sum":         `sum(dhcp_failover_poll_errors_total{job=~"$job"})`,
		"fixed range":            `rate(dhcp_failover_poll_errors_total{job=~"$job"}[5m])`,
		"no job":                 `dhcp_failover_up`,
		"no relationship":        `dhcp_failover_state{job=~"$job"}`,
		"unknown metric":         `dhcp_failover_bogus{job=~"$job", relationship=~"$relationship"}`,
		"undefined variable":     `dhcp_failover_up{job=~"$jobs"}`,
		"unbalanced parentheses": `sum(dhcp_failover_up{job=~"$job"}`,
	}
	for name, e := range bad {
		if errs := lintExpr(e, vars); len(errs) == 0 {
			t.Errorf("%s: %s passed the lint", name, e)
		}
	}
	good := []string{
		`3600 * sum by (relationship, target, side) (rate(dhcp_failover_state_transitions_total{job=~"$job", relationship=~"$relationship"}[$__rate_interval]))`,
		`count(dhcp_failover_up{job=~"$job"} == 0) or vector(0)`,
		`count(ALERTS{alertname=~"DHCPFailover.*", alertstate="firing", job=~"$job"}) or vector(0)`,
	}
	for _, e := range good {
		if errs := lintExpr(e, vars); len(errs) != 0 {
			t.Errorf("%s: %v", e, errs)
		}
	}
}

// linterExceptions are the rules of Grafana's dashboard linter
// (grafana/dashboard-linter, as mixins are linted) that these dashboards
// break on purpose, each with its reason. Its other findings are fixed:
// the dashboards are not editable (they are generated, and provisioned from
// the mixin; edits belong in dashboards/gen).
var linterExceptions = map[string]string{
	"template-instance-rule": "no `instance` variable: `instance` is the exporter " +
		"that polled a server, not the server (that is `target`); the two servers " +
		"of a pair may be polled by two exporter replicas, and a pair must be shown whole. " +
		"The variables are job, relationship and target.",
	"target-instance-rule": "no `instance=~\"$instance\"` matcher, for the same reason: " +
		"selectors carry job and relationship (and target on the relationship dashboard).",
}

func TestDashboardLinterFindings(t *testing.T) {
	for name, d := range loadAll(t) {
		if d.Editable {
			t.Errorf("%s: editable: true; generated dashboards are not editable", name)
		}
		for _, v := range d.Templating.List {
			if v.Name == "instance" {
				t.Errorf("%s: has an instance variable, but linterExceptions records its absence as deliberate: %s",
					name, linterExceptions["template-instance-rule"])
			}
		}
	}
	for rule, why := range linterExceptions {
		if strings.TrimSpace(why) == "" {
			t.Errorf("exception %s without a reason", rule)
		}
	}
}
