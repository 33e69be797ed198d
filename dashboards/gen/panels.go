package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dhcpfailover/dhcp_failover_exporter/failover"
)

// builder places panels on Grafana's 24-column grid, left to right, and
// numbers them.
type builder struct {
	panels     []*panel
	x, y, rowH int
	nextID     int
}

// add places p with width w and height h, wrapping to a new line when the
// current one is full.
func (b *builder) add(p *panel, w, h int) {
	if b.x+w > 24 {
		b.newline()
	}
	b.nextID++
	p.ID = b.nextID
	p.GridPos = gridPos{H: h, W: w, X: b.x, Y: b.y}
	b.x += w
	b.rowH = max(b.rowH, h)
	b.panels = append(b.panels, p)
}

func (b *builder) newline() {
	b.y += b.rowH
	b.x, b.rowH = 0, 0
}

// row starts a row titled title on a line of its own.
func (b *builder) row(title string) {
	if b.x > 0 {
		b.newline()
	}
	collapsed := false
	b.add(&panel{Type: "row", Title: title, Collapsed: &collapsed, Panels: []*panel{}}, 24, 1)
	b.newline()
}

// sel writes a selector of metric restricted to the dashboard's variables
// (vars, e.g. "job", "relationship") and to extra matchers.
func sel(metric string, vars []string, extra ...string) string {
	var m []string
	for _, v := range vars {
		m = append(m, fmt.Sprintf(`%s=~"$%s"`, v, v))
	}
	m = append(m, extra...)
	return metric + "{" + strings.Join(m, ", ") + "}"
}

// series is a range query drawn over time.
func series(ref, expr, legend string) target {
	return target{Datasource: promDS, EditorMode: "code", Expr: expr, LegendFormat: legend, Range: true, RefID: ref}
}

// instant is a query evaluated once at the end of the range, as a table.
func instant(ref, expr string) target {
	return target{Datasource: promDS, EditorMode: "code", Expr: expr, Format: "table", Instant: true, RefID: ref}
}

func fptr(f float64) *float64 { return &f }

func baseThresholds() thresholds {
	return thresholds{Mode: "absolute", Steps: []step{{Color: "green"}}}
}

// stateColors gives every FSM_STATE a colour: green serving normally,
// orange/red degraded, blue recovering, purple/grey not serving.
var stateColors = map[failover.State]string{
	failover.NoState:           "#808080",
	failover.Init:              "#808080",
	failover.Startup:           "light-blue",
	failover.Normal:            "green",
	failover.CommunicationInt:  "orange",
	failover.PartnerDown:       "red",
	failover.PotentialConflict: "dark-red",
	failover.ConflictDone:      "yellow",
	failover.ResolutionInt:     "dark-orange",
	failover.Recover:           "blue",
	failover.RecoverWait:       "semi-dark-blue",
	failover.RecoverDone:       "light-green",
	failover.Paused:            "purple",
	failover.Shutdown:          "dark-purple",
}

// stateMappings maps dhcp_failover_state_code values to FSM_STATE names.
func stateMappings() []mapping {
	opts := map[string]mappingResult{}
	for _, s := range failover.States() {
		opts[strconv.Itoa(int(s))] = mappingResult{Color: stateColors[s], Index: int(s), Text: s.String()}
	}
	return []mapping{{Type: "value", Options: opts}}
}

// boolMappings names the two values of a 0/1 gauge; bad is the colour of
// the value that needs attention.
func boolMappings(zero, one string, zeroColor, oneColor string) []mapping {
	return []mapping{{Type: "value", Options: map[string]mappingResult{
		"0": {Color: zeroColor, Index: 0, Text: zero},
		"1": {Color: oneColor, Index: 1, Text: one},
	}}}
}

func newPanel(typ, title, desc, unit string, targets ...target) *panel {
	return &panel{
		Type:        typ,
		Title:       title,
		Description: desc,
		Datasource:  promDS,
		Targets:     targets,
		FieldConfig: &fieldConfig{
			Defaults:  fieldDefaults{Unit: unit, Mappings: []mapping{}, Thresholds: baseThresholds(), Color: map[string]any{"mode": "palette-classic"}},
			Overrides: []override{},
		},
	}
}

func timeseries(title, desc, unit string, targets ...target) *panel {
	p := newPanel("timeseries", title, desc, unit, targets...)
	p.FieldConfig.Defaults.Custom = map[string]any{"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never", "spanNulls": false}
	p.Options = map[string]any{
		"legend":  map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": true},
		"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
	}
	return p
}

// stateTimeline draws a coded value (state code, 0/1 flag) as coloured bands.
func stateTimeline(title, desc string, mappings []mapping, targets ...target) *panel {
	p := newPanel("state-timeline", title, desc, "none", targets...)
	p.FieldConfig.Defaults.Mappings = mappings
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "thresholds"}
	p.FieldConfig.Defaults.Custom = map[string]any{"fillOpacity": 80, "lineWidth": 0}
	p.Options = map[string]any{
		"alignValue":  "left",
		"legend":      map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": false},
		"mergeValues": true,
		"rowHeight":   0.9,
		"showValue":   "auto",
		"tooltip":     map[string]any{"mode": "single", "sort": "none"},
	}
	return p
}

func stat(title, desc, unit string, targets ...target) *panel {
	p := newPanel("stat", title, desc, unit, targets...)
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "thresholds"}
	p.Options = map[string]any{
		"colorMode":     "background",
		"graphMode":     "none",
		"justifyMode":   "auto",
		"orientation":   "auto",
		"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
		"textMode":      "auto",
	}
	return p
}

// alarmThresholds colours a count green at 0 and red from 1.
func alarmThresholds() thresholds {
	return thresholds{Mode: "absolute", Steps: []step{{Color: "green"}, {Color: "red", Value: fptr(1)}}}
}

func barGauge(title, desc, unit string, targets ...target) *panel {
	p := newPanel("bargauge", title, desc, unit, targets...)
	p.FieldConfig.Defaults.Min = fptr(0)
	p.FieldConfig.Defaults.Color = map[string]any{"mode": "continuous-BlPu"}
	p.Options = map[string]any{
		"displayMode":   "basic",
		"orientation":   "horizontal",
		"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
		"showUnfilled":  true,
	}
	return p
}

// table shows instant queries; several queries with the same labels are
// merged into one row per label set. rename maps columns to their titles;
// a column renamed to "" is hidden (the constant 1 of an _info metric).
func table(title, desc, unit string, rename map[string]string, targets ...target) *panel {
	p := newPanel("table", title, desc, unit, targets...)
	p.FieldConfig.Defaults.Custom = map[string]any{"align": "auto", "cellOptions": map[string]any{"type": "auto"}, "filterable": true}
	p.Options = map[string]any{"cellHeight": "sm", "showHeader": true, "footer": map[string]any{"show": false}}
	if len(targets) > 1 {
		p.Transformations = append(p.Transformations, map[string]any{"id": "merge", "options": map[string]any{}})
	}
	exclude, names := map[string]bool{"Time": true}, map[string]string{}
	for from, to := range rename {
		if to == "" {
			exclude[from] = true
		} else {
			names[from] = to
		}
	}
	p.Transformations = append(p.Transformations, map[string]any{"id": "organize", "options": map[string]any{
		"excludeByName": exclude,
		"renameByName":  names,
	}})
	return p
}

// columnOverride sets properties of one (renamed) table column.
func columnOverride(name string, props ...property) override {
	return override{Matcher: matcher{ID: "byName", Options: name}, Properties: props}
}

func colouredCells() property {
	return property{ID: "custom.cellOptions", Value: map[string]any{"type": "color-background", "mode": "basic"}}
}
