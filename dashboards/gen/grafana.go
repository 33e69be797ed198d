package main

// The subset of Grafana's dashboard JSON model (schema version 39) that the
// dashboards use. Structs rather than maps keep the output's key order
// stable, so that a regenerated file diffs only where the generator changed.

// schemaVersion is the dashboard schema the JSON is written in (Grafana 10.4+).
const schemaVersion = 39

type dashboard struct {
	Annotations   annotations `json:"annotations"`
	Description   string      `json:"description"`
	Editable      bool        `json:"editable"`
	GraphTooltip  int         `json:"graphTooltip"`
	ID            *int        `json:"id"`
	Links         []link      `json:"links"`
	Panels        []*panel    `json:"panels"`
	Refresh       string      `json:"refresh"`
	SchemaVersion int         `json:"schemaVersion"`
	Tags          []string    `json:"tags"`
	Templating    templating  `json:"templating"`
	Time          timeRange   `json:"time"`
	Timepicker    struct{}    `json:"timepicker"`
	Timezone      string      `json:"timezone"`
	Title         string      `json:"title"`
	UID           string      `json:"uid"`
	Version       int         `json:"version"`
}

type annotations struct {
	List []annotation `json:"list"`
}

type annotation struct {
	BuiltIn    int            `json:"builtIn"`
	Datasource datasourceRef  `json:"datasource"`
	Enable     bool           `json:"enable"`
	Hide       bool           `json:"hide"`
	IconColor  string         `json:"iconColor"`
	Name       string         `json:"name"`
	Target     map[string]any `json:"target,omitempty"`
	Type       string         `json:"type"`
}

type link struct {
	AsDropdown  bool     `json:"asDropdown"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
	Tags        []string `json:"tags"`
	Title       string   `json:"title"`
	Type        string   `json:"type"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type templating struct {
	List []variable `json:"list"`
}

type variable struct {
	AllValue    string         `json:"allValue,omitempty"`
	Current     map[string]any `json:"current"`
	Datasource  *datasourceRef `json:"datasource,omitempty"`
	Definition  string         `json:"definition,omitempty"`
	Description string         `json:"description"`
	Hide        int            `json:"hide"`
	IncludeAll  bool           `json:"includeAll"`
	Label       string         `json:"label"`
	Multi       bool           `json:"multi"`
	Name        string         `json:"name"`
	Options     []any          `json:"options"`
	Query       any            `json:"query"`
	Refresh     int            `json:"refresh"`
	Regex       string         `json:"regex"`
	Sort        int            `json:"sort,omitempty"`
	Type        string         `json:"type"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// promDS is the reference every panel and query uses: the datasource
// variable, so that one import works with any Prometheus data source.
var promDS = &datasourceRef{Type: "prometheus", UID: "${datasource}"}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type panel struct {
	Collapsed       *bool          `json:"collapsed,omitempty"`
	Datasource      *datasourceRef `json:"datasource,omitempty"`
	Description     string         `json:"description,omitempty"`
	FieldConfig     *fieldConfig   `json:"fieldConfig,omitempty"`
	GridPos         gridPos        `json:"gridPos"`
	ID              int            `json:"id"`
	Options         map[string]any `json:"options,omitempty"`
	Panels          []*panel       `json:"panels,omitempty"`
	Targets         []target       `json:"targets,omitempty"`
	Title           string         `json:"title"`
	Transformations []any          `json:"transformations,omitempty"`
	Type            string         `json:"type"`
}

type target struct {
	Datasource   *datasourceRef `json:"datasource"`
	EditorMode   string         `json:"editorMode"`
	Expr         string         `json:"expr"`
	Format       string         `json:"format,omitempty"`
	Instant      bool           `json:"instant"`
	LegendFormat string         `json:"legendFormat,omitempty"`
	Range        bool           `json:"range"`
	RefID        string         `json:"refId"`
}

type fieldConfig struct {
	Defaults  fieldDefaults `json:"defaults"`
	Overrides []override    `json:"overrides"`
}

type fieldDefaults struct {
	Color      map[string]any `json:"color,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Mappings   []mapping      `json:"mappings"`
	Max        *float64       `json:"max,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	Thresholds thresholds     `json:"thresholds"`
	Unit       string         `json:"unit"`
}

type thresholds struct {
	Mode  string `json:"mode"`
	Steps []step `json:"steps"`
}

type step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

type mapping struct {
	Options map[string]mappingResult `json:"options"`
	Type    string                   `json:"type"`
}

type mappingResult struct {
	Color string `json:"color"`
	Index int    `json:"index"`
	Text  string `json:"text"`
}

type override struct {
	Matcher    matcher    `json:"matcher"`
	Properties []property `json:"properties"`
}

type matcher struct {
	ID      string `json:"id"`
	Options string `json:"options"`
}

type property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}
