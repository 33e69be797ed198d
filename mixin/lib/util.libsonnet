// Helpers shared by the rule groups of the mixin.
{
  // oneLine joins the lines of a ||| block with single spaces, as YAML's
  // folded style (>-) does, so that descriptions read as one paragraph.
  oneLine(s):: std.join(' ', std.filter(function(l) l != '', std.split(s, '\n'))),

  // words spells a simple Prometheus duration for descriptions:
  // '1m' -> '1 minute', '10m' -> '10 minutes', '2h' -> '2 hours'. A compound
  // duration ('1h30m') is returned as written.
  words(d)::
    local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };
    local unit = std.substr(d, std.length(d) - 1, 1);
    local num = std.substr(d, 0, std.length(d) - 1);
    local simple = std.objectHas(units, unit) && std.length(num) > 0 &&
                   std.all([std.member('0123456789', c) for c in std.stringChars(num)]);
    if !simple then d
    else num + ' ' + units[unit] + (if num == '1' then '' else 's'),

  // seconds is the number of seconds of a simple Prometheus duration
  // ('90s', '30m', '1h'), for functions that take seconds (predict_linear).
  seconds(d)::
    local mult = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    local unit = std.substr(d, std.length(d) - 1, 1);
    local num = std.substr(d, 0, std.length(d) - 1);
    assert std.objectHas(mult, unit) && std.length(num) > 0 &&
           std.all([std.member('0123456789', c) for c in std.stringChars(num)]) :
           'not a simple duration: ' + d;
    std.parseInt(num) * mult[unit],

  // selector returns the selector of metric m with the mixin's job selector
  // and the extra matchers; with a gap tolerance it is wrapped in
  // last_over_time() so that a series missing for less than the tolerance
  // (a failed scrape writes stale markers) keeps its last value.
  selector(config, m, matchers=''):: (
    local inner = '%s{%s%s}' % [m, config.dhcpFailoverSelector, if matchers == '' then '' else ', ' + matchers];
    if config.scrapeGapTolerance == '' then inner
    else 'last_over_time(%s[%s])' % [inner, config.scrapeGapTolerance]
  ),

  // alert is an alerting rule with the mixin's conventions: `severity`,
  // the annotations summary, description (one line) and runbook_url (the
  // alert's section of docs/runbook.md), keep_firing_for on the critical
  // alerts where config.keepFiringFor is set; forDuration '' means no for:.
  alert(config, name, severity, expr, forDuration, summary, description):: {
    alert: name,
    expr: expr,
    [if forDuration != '' then 'for']: forDuration,
    [if config.keepFiringFor != '' && severity == 'critical' then 'keep_firing_for']: config.keepFiringFor,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: $.oneLine(description),
      runbook_url: config.runbookURLBase + std.asciiLower(name),
    },
  },
}
