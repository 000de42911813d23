//! Prometheus alerting rules for a topology: replication lag (warn, page), each region's
//! Route 53 health check, and the RTO objective.
//!
//! Consumes a validated [`Topology`]; produces a [`RuleFile`] (one group per service), which
//! [`RuleFile::yaml`] writes in Prometheus's rule-file format. Nothing here prints.
//!
//! Metrics:
//! - replication lag: a gauge in seconds with `service` and `region` labels (`--lag-metric`,
//!   default `meridian_replication_lag_seconds`; map your database exporter's metric to it with a
//!   recording rule). Thresholds follow the RPO objective they protect: page at min(30 s, rpo),
//!   warn at min(5 s, rpo / 2); the reference's 5 s and 30 s apply when no RPO is declared.
//! - health checks: the CloudWatch exporter's `aws_route53_health_check_status_minimum`
//!   (namespace AWS/Route53, dimension HealthCheckId, us-east-1), joined to the check's tags
//!   through `aws_resource_info` (the exporter's `aws_tag_select` on `route53:healthcheck`). The
//!   tags are those `tag_health_checks = true` writes: `Name` (the check's address) and
//!   `meridian:topology-id`; without them no rule can find a check, and none is written.

use crate::duration::Duration;
use crate::model::{DataPattern, Service, Topology};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The reference's thresholds ("Alert at 5 seconds, page at 30 seconds").
pub const LAG_WARN: Duration = Duration::from_secs(5);
pub const LAG_PAGE: Duration = Duration::from_secs(30);

/// The lag thresholds that protect an RPO objective: page at min(30 s, rpo), warn at
/// min(5 s, rpo / 2); the reference's 5 s and 30 s without an objective. Explicit settings win.
pub fn lag_thresholds(
    rpo: Option<Duration>,
    warn: Option<Duration>,
    page: Option<Duration>,
) -> (Duration, Duration) {
    let (w, p) = match rpo {
        Some(r) => (
            LAG_WARN.min(Duration::from_millis(r.as_millis() / 2)),
            LAG_PAGE.min(r),
        ),
        None => (LAG_WARN, LAG_PAGE),
    };
    (warn.unwrap_or(w), page.unwrap_or(p))
}

/// Settings of the rules.
#[derive(Debug, Clone)]
pub struct Options {
    pub lag_warn: Duration,
    pub lag_page: Duration,
    pub lag_metric: String,
    /// The topology id, when the topology has been applied (its checks carry it as a tag).
    pub topology_id: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lag_warn: LAG_WARN,
            lag_page: LAG_PAGE,
            lag_metric: "meridian_replication_lag_seconds".into(),
            topology_id: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
    /// What could not be written, and why (not part of the rule file).
    #[serde(skip)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// Prometheus's duration syntax (`5m`, `1h30m`, `90s`), rounded up to whole seconds.
fn prom_duration(d: Duration) -> String {
    let secs = d.as_millis().div_ceil(1000).max(1);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    out
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// One alert about `s` (and a region of it), with its summary and description.
fn rule(
    alert: &str,
    expr: String,
    for_: String,
    severity: &str,
    s: &Service,
    region: Option<&str>,
    (summary, description): (String, String),
) -> Rule {
    let mut labels = BTreeMap::from([
        ("severity".to_string(), severity.to_string()),
        ("service".to_string(), s.name.clone()),
    ]);
    if let Some(r) = region {
        labels.insert("region".into(), r.to_string());
    }
    Rule {
        alert: alert.into(),
        expr,
        for_,
        labels,
        annotations: BTreeMap::from([
            ("summary".to_string(), summary),
            ("description".to_string(), description),
        ]),
    }
}

/// The AWS regions holding replicas that lag a writer.
fn lagging_regions(s: &Service) -> Vec<String> {
    let Some(d) = &s.data else { return Vec::new() };
    let mut out: Vec<String> = match d.pattern {
        DataPattern::PrimaryReplica => s
            .regions
            .values()
            .filter(|r| Some(&r.name) != d.primary.as_ref())
            .map(|r| r.aws_region.clone())
            .collect(),
        DataPattern::MultiMaster if d.consistency == crate::model::Consistency::Eventual => {
            s.regions.values().map(|r| r.aws_region.clone()).collect()
        }
        _ => Vec::new(),
    };
    out.sort();
    out.dedup();
    out
}

fn lag_rules(s: &Service, o: &Options, rpo: Option<Duration>) -> Vec<Rule> {
    let mut out = Vec::new();
    for region in lagging_regions(s) {
        let series = format!(
            "{}{{service=\"{}\", region=\"{region}\"}}",
            o.lag_metric, s.name
        );
        let rpo_note = rpo.map_or_else(String::new, |r| format!(" The RPO objective is {r}."));
        for (alert, limit, severity) in [
            ("MeridianReplicationLagHigh", o.lag_warn, "warning"),
            ("MeridianReplicationLagCritical", o.lag_page, "page"),
        ] {
            out.push(rule(
                alert,
                format!("max({series}) > {}", secs(limit)),
                "1m".into(),
                severity,
                s,
                Some(&region),
                (
                    format!("{} replication to {region} lags over {limit}", s.name),
                    format!("Losing the writer now loses the writes of the last {{{{ $value }}}} s.{rpo_note} Lag spikes before availability drops: it is the earliest warning of a brown-out."),
                ),
            ));
        }
    }
    out
}

/// The status of the checks of `s` whose address matches `name` (a PromQL matcher).
fn status(name_matcher: &str, o: &Options) -> String {
    let id = o.topology_id.as_ref().map_or_else(String::new, |id| {
        format!(", tag_meridian_topology_id='{id}'")
    });
    format!(
        "aws_route53_health_check_status_minimum * on (health_check_id) group_left (tag_Name) label_replace(aws_resource_info{{{name_matcher}{id}}}, \"health_check_id\", \"$1\", \"arn\", \".*/(.*)\")"
    )
}

/// `s` as a regular expression that matches only itself (RE2 syntax, before quoting).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` inside a single-quoted PromQL string.
fn quoted(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

fn health_rules(t: &Topology, s: &Service, o: &Options) -> Vec<Rule> {
    if !s.has_check() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut addresses = Vec::new();
    for (label, r) in &s.regions {
        let Some(h) = s.check(r) else { continue };
        let detect = Duration::from_secs(u64::from(h.interval) * u64::from(h.failure_threshold));
        let spec = crate::graph::region_check(s, r, h, t.health_check_scope);
        let address =
            crate::graph::check_address(s, label, &spec, t.health_check_scope).to_string();
        addresses.push(regex_escape(&address));
        out.push(rule(
            "MeridianRegionUnhealthy",
            format!("{} == 0", status(&format!("tag_Name='{}'", quoted(&address)), o)),
            "1m".into(),
            "warning",
            s,
            Some(&r.aws_region),
            (
                format!("Route 53 marks {} in {} unhealthy", s.name, r.aws_region),
                format!("{address} fails ({} s x {} = {} s to detect): Route 53 answers with the other regions. Check they took the traffic.", h.interval, h.failure_threshold, detect.as_secs_f64()),
            ),
        ));
    }
    // With a region unchecked, every check failing does not mean nothing serves.
    if s.regions.values().any(|r| s.check(r).is_none()) {
        return out;
    }
    addresses.sort();
    addresses.dedup();
    let all = status(&format!("tag_Name=~'{}'", quoted(&addresses.join("|"))), o);
    out.push(rule(
        "MeridianServiceDown",
        format!("max({all}) == 0"),
        "1m".into(),
        "page",
        s,
        None,
        (
            format!("{} has no healthy region", s.name),
            "Every region's health check fails: there is nowhere left to fail over to.".into(),
        ),
    ));
    if let Some(rto) = t.objectives.as_ref().and_then(|ob| ob.rto) {
        out.push(rule(
            "MeridianRtoObjectiveBreached",
            format!("max({all}) == 0"),
            prom_duration(rto),
            "page",
            s,
            None,
            (
                format!("{} has been down longer than its RTO objective ({rto})", s.name),
                "No region of the service has been healthy for the whole recovery-time objective: the objective is breached.".into(),
            ),
        ));
    }
    out
}

/// The rules of a topology: one group per service, in name order.
pub fn rules(t: &Topology, o: &Options) -> RuleFile {
    let rpo = t.objectives.as_ref().and_then(|ob| ob.rpo);
    let mut groups = Vec::new();
    let mut notes = Vec::new();
    if !t.tag_health_checks {
        notes.push("no health-check rules: set tag_health_checks = true, so the CloudWatch exporter can tell the checks apart by their Name tag".into());
    } else if o.topology_id.is_none() {
        notes.push("the topology has not been applied: its id is unknown, so the health-check rules match by address only (re-run after the first apply)".into());
    }
    for s in t.services.values() {
        let mut rules = lag_rules(s, o, rpo);
        if t.tag_health_checks {
            rules.extend(health_rules(t, s, o));
        }
        if !rules.is_empty() {
            groups.push(Group {
                name: format!("meridian.{}", s.name),
                rules,
            });
        }
    }
    RuleFile { groups, notes }
}

/// A YAML double-quoted scalar (JSON's escapes are YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl RuleFile {
    /// The rule file in Prometheus's YAML format.
    pub fn yaml(&self, header: &str) -> String {
        let mut y = String::new();
        for line in header.lines() {
            let _ = writeln!(y, "# {line}");
        }
        if self.groups.is_empty() {
            y.push_str("groups: []\n");
            return y;
        }
        y.push_str("groups:\n");
        for g in &self.groups {
            let _ = writeln!(y, "  - name: {}\n    rules:", q(&g.name));
            for r in &g.rules {
                let _ = writeln!(
                    y,
                    "      - alert: {}\n        expr: {}\n        for: {}",
                    r.alert,
                    q(&r.expr),
                    r.for_
                );
                for (key, map) in [("labels", &r.labels), ("annotations", &r.annotations)] {
                    let _ = writeln!(y, "        {key}:");
                    for (k, v) in map {
                        let _ = writeln!(y, "          {k}: {}", q(v));
                    }
                }
            }
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_rpo_objective() {
        let s = Duration::from_secs;
        assert_eq!(lag_thresholds(None, None, None), (s(5), s(30)));
        assert_eq!(
            lag_thresholds(Some(s(1)), None, None),
            (Duration::from_millis(500), s(1))
        );
        assert_eq!(lag_thresholds(Some(s(20)), None, None), (s(5), s(20)));
        assert_eq!(lag_thresholds(Some(s(300)), None, None), (s(5), s(30)));
        assert_eq!(
            lag_thresholds(Some(s(1)), Some(s(2)), Some(s(3))),
            (s(2), s(3))
        );
    }

    #[test]
    fn durations_in_prometheus_syntax() {
        assert_eq!(prom_duration(Duration::from_secs(900)), "15m");
        assert_eq!(prom_duration(Duration::from_secs(5430)), "1h30m30s");
        assert_eq!(prom_duration(Duration::from_millis(1500)), "2s");
    }
}
