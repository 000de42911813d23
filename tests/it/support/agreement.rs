//! One verdict on every surface: random valid topologies (every routing policy, data pattern,
//! dependency fallback, anycast, `rto_case`/`rpo_case`, objectives met, breached and unknown),
//! each checked for agreement between `analyze`, `check`'s gate, `compare`, `plan`'s recovery,
//! `simulate --fail R` for every region, lint `SS006`, the `alerts` thresholds and the SVG
//! timeline (same floor, same RPO, same verdict, same worst region; no bar for a loss without a
//! floor). The generator reports its coverage and fails when a cell of routing x data pattern
//! x RTO case has fewer than 20 designs.
//!
//! The checks compare surfaces with each other and with facts read off the topology itself
//! (which region holds a writer), not with the code's own helpers.

use meridian::analysis::{self, Analysis, ObjectiveKind, UnknownKind, Verdict, WriteEffect};
use meridian::model::{DataPattern, RpoCase, RtoCase, Topology};
use meridian::simulate::{self, Scenario};
use meridian::source::Sources;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A small deterministic generator (xorshift64*): the same designs on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const AWS: &[&str] = &[
    "us-east-1",
    "eu-west-1",
    "ap-southeast-1",
    "us-west-2",
    "ap-northeast-1",
    "eu-central-1",
];
const ROUTINGS: &[&str] = &["latency", "weighted", "failover", "geolocation"];
const DATA: &[&str] = &[
    "none",
    "primary-replica",
    "partitioned",
    "multi-master-strong",
    "multi-master-eventual",
];
const GEO: &[&[&str]] = &[
    &["NA"],
    &["EU", "GB"],
    &["AS"],
    &["SA"],
    &["OC"],
    &["DE", "FR"],
];

/// What one generated design exercises, for the coverage report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    pub routing: &'static str,
    pub data: &'static str,
    pub rto_case: &'static str,
}

/// One random valid design: its HCL and the cell of its first service.
pub fn design(rng: &mut Rng) -> (String, Cell) {
    let mut hcl = String::new();
    let rto_case = *rng.pick(&["fast", "dark"]);
    objectives(rng, rto_case, &mut hcl);
    let services = 1 + rng.below(2);
    let mut cell = None;
    for i in 0..services {
        let routing = *rng.pick(ROUTINGS);
        let data = *rng.pick(DATA);
        cell.get_or_insert(Cell {
            routing,
            data,
            rto_case,
        });
        service(rng, &format!("s{i}"), routing, data, &mut hcl);
    }
    if rng.chance(35) {
        let fallback = *rng.pick(&["none", "local-cache", "replica", "static"]);
        let _ = writeln!(
            hcl,
            "dependency \"auth\" {{\n  kind = \"auth\"\n  region = \"{}\"\n  fallback = \"{fallback}\"\n  used_by = [\"s0\"]\n}}",
            rng.pick(&AWS[..3])
        );
    }
    (hcl, cell.expect("at least one service"))
}

fn objectives(rng: &mut Rng, rto_case: &str, hcl: &mut String) {
    if rng.chance(15) {
        return;
    }
    hcl.push_str("objectives {\n");
    if rng.chance(85) {
        let _ = writeln!(
            hcl,
            "  rto = \"{}\"",
            rng.pick(&["45s", "90s", "100s", "5m", "15m"])
        );
        if rto_case == "dark" || rng.chance(20) {
            let _ = writeln!(hcl, "  rto_case = \"{rto_case}\"");
        }
        if rng.chance(25) {
            let p = rng.pick(&["p50", "p90", "p99"]);
            let _ = writeln!(hcl, "  rto_percentile = \"{p}\"");
        }
    }
    if rng.chance(75) {
        let _ = writeln!(hcl, "  rpo = \"{}\"", rng.pick(&["0s", "1s", "5s", "30s"]));
        if rng.chance(50) {
            let _ = writeln!(
                hcl,
                "  rpo_case = \"{}\"",
                rng.pick(&["bound", "typical", "worst"])
            );
        }
    }
    hcl.push_str("}\n");
}

fn service(rng: &mut Rng, name: &str, routing: &str, data: &str, hcl: &mut String) {
    let n = match routing {
        "failover" => 2,
        _ => 2 + rng.below(2),
    };
    // Distinct AWS regions, sometimes two labels in one (not under latency: one record a region).
    let mut aws: Vec<&str> = Vec::new();
    while aws.len() < n {
        let r = *rng.pick(AWS);
        if !aws.contains(&r) {
            aws.push(r);
        }
    }
    let labels: Vec<String> = aws.iter().map(|r| (*r).to_string()).collect();
    let _ = writeln!(
        hcl,
        "service \"{name}\" {{\n  zone = \"example.com\"\n  domain = \"{name}.example.com\"\n  routing = \"{routing}\"\n  ttl = {}",
        rng.pick(&[0, 30, 60, 120])
    );
    if data == "none" && rng.chance(70) {
        hcl.push_str("  stateless = true\n");
    }
    let anycast = matches!(routing, "latency" | "weighted") && rng.chance(20);
    if anycast {
        let _ = writeln!(
            hcl,
            "  anycast {{\n    accelerator = \"a1.awsglobalaccelerator.com\"\n    interval = 10\n    threshold = {}\n    lb_detection = \"30s\"\n  }}",
            1 + rng.below(3)
        );
    }
    if rng.chance(85) {
        let _ = writeln!(
            hcl,
            "  health_check {{\n    type = \"{}\"\n    path = \"/healthz\"\n    interval = {}\n    failure_threshold = {}\n  }}",
            rng.pick(&["HTTPS", "HTTP"]),
            rng.pick(&[10, 30]),
            1 + rng.below(5)
        );
    }
    let default_at = rng.below(n + 1); // n: no `*` default
    for (i, label) in labels.iter().enumerate() {
        let other = &labels[(i + 1) % n];
        region(rng, routing, (label, other), i, (n, default_at), hcl);
    }
    data_block(rng, data, &labels, hcl);
    hcl.push_str("}\n");
}

fn region(
    rng: &mut Rng,
    routing: &str,
    (label, other): (&str, &str),
    i: usize,
    (n, default_at): (usize, usize),
    hcl: &mut String,
) {
    let _ = writeln!(hcl, "  region \"{label}\" {{");
    match routing {
        "weighted" => {
            let _ = writeln!(hcl, "    weight = {}", rng.pick(&[0, 1, 50, 100, 100]));
        }
        "failover" => {
            let _ = writeln!(
                hcl,
                "    role = \"{}\"",
                if i == 0 { "primary" } else { "secondary" }
            );
        }
        "geolocation" => {
            let mut locs: Vec<String> = GEO[i % GEO.len()]
                .iter()
                .map(|l| format!("\"{l}\""))
                .collect();
            if i == default_at {
                locs.push("\"*\"".into());
            }
            let _ = writeln!(hcl, "    locations = [{}]", locs.join(", "));
        }
        _ => {
            if n > 2 && rng.chance(15) {
                let _ = writeln!(hcl, "    failover_to = [\"{other}\"]");
            }
        }
    }
    let capacity = *rng.pick(&[1.0, 1.0, 0.5, 0.4]);
    if capacity < 1.0 {
        let _ = writeln!(hcl, "    capacity = {capacity}");
        if rng.chance(80) {
            let _ = writeln!(hcl, "    scale_up = \"{}\"", rng.pick(&["2m", "10m"]));
        }
    }
    // Sometimes the region's own check, replacing the service's (or where it has none).
    if rng.chance(15) {
        let _ = writeln!(
            hcl,
            "    health_check {{\n      type = \"HTTP\"\n      interval = {}\n      failure_threshold = {}\n    }}",
            rng.pick(&[10, 30]),
            1 + rng.below(5)
        );
    }
    let _ = writeln!(hcl, "    target = \"{label}.example.net\"\n  }}");
}

fn data_block(rng: &mut Rng, data: &str, labels: &[String], hcl: &mut String) {
    let lag = |rng: &mut Rng, hcl: &mut String| {
        let _ = writeln!(
            hcl,
            "    replication_lag = \"{}\"",
            rng.pick(&["200ms", "1s"])
        );
        if rng.chance(50) {
            let _ = writeln!(
                hcl,
                "    replication_lag_max = \"{}\"",
                rng.pick(&["2s", "10s"])
            );
        }
    };
    match data {
        "primary-replica" => {
            let _ = writeln!(
                hcl,
                "  data {{\n    pattern = \"primary-replica\"\n    primary = \"{}\"",
                rng.pick(labels)
            );
            lag(rng, hcl);
            if rng.chance(80) {
                let _ = writeln!(hcl, "    promotion = \"{}\"", rng.pick(&["60s", "5m"]));
            }
            hcl.push_str("  }\n");
        }
        "partitioned" => {
            hcl.push_str("  data {\n    pattern = \"partitioned\"\n");
            if rng.chance(30) {
                let _ = writeln!(
                    hcl,
                    "    shards = {{ a = \"{}\", b = \"{}\" }}",
                    rng.pick(labels),
                    rng.pick(labels)
                );
            }
            lag(rng, hcl);
            let _ = writeln!(hcl, "    promotion = \"60s\"\n  }}");
        }
        "multi-master-strong" => {
            hcl.push_str(
                "  data {\n    pattern = \"multi-master\"\n    consistency = \"strong\"\n",
            );
            if labels.len() == 2 && rng.chance(50) {
                let w = AWS.iter().find(|a| !labels.iter().any(|l| l == *a));
                let _ = writeln!(hcl, "    witness = \"{}\"", w.expect("a free region"));
            }
            hcl.push_str("  }\n");
        }
        "multi-master-eventual" => {
            hcl.push_str(
                "  data {\n    pattern = \"multi-master\"\n    consistency = \"eventual\"\n",
            );
            lag(rng, hcl);
            hcl.push_str("  }\n");
        }
        _ => {}
    }
}

/// The design's topology; panics with the diagnostics when the generator made an invalid one.
pub fn topology(hcl: &str) -> Topology {
    let sources = Sources::from_texts([("design.hcl", hcl)]);
    let checked = meridian::check(&sources);
    match checked.valid() {
        Some(t) => t.clone(),
        None => panic!(
            "the generator made an invalid design:\n{hcl}\n{}",
            meridian::render::diagnostics::human(&checked.diagnostics, &sources, false)
        ),
    }
}

fn secs(d: Option<meridian::duration::Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// Every disagreement between the surfaces, in words (empty: they agree).
pub fn disagreements(t: &Topology, a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    gate(t, a, &mut out);
    compare(t, a, &mut out);
    plan(t, a, &mut out);
    simulations(t, a, &mut out);
    lint(t, a, &mut out);
    alerts(t, &mut out);
    svg(a, &mut out);
    out
}

/// Under `rto_percentile`, check's figure is `analyze --distribution`'s: the slowest loss's
/// percentile under the case's failure (its floor where it has no distribution), never over
/// the floor.
fn percentile_gate(
    t: &Topology,
    a: &Analysis,
    obj: &meridian::analysis::ObjectiveResult,
    p: meridian::model::Percentile,
    out: &mut Vec<String>,
) {
    use meridian::analysis::distribution::{distribution, Mode, Model};
    let m = Model {
        client_cache_seconds: 0.0,
        ..Model::default()
    };
    let mode = match t
        .objectives
        .as_ref()
        .map(|o| o.rto_case)
        .unwrap_or_default()
    {
        RtoCase::Fast => Mode::Fast,
        RtoCase::Dark => Mode::Dark,
    };
    let d = distribution(t, a, &m);
    let pick = |x: &meridian::analysis::distribution::Percentiles| match p {
        meridian::model::Percentile::P50 => x.p50_seconds,
        meridian::model::Percentile::P90 => x.p90_seconds,
        meridian::model::Percentile::P99 => x.p99_seconds,
    };
    let expected = d
        .services
        .values()
        .flat_map(|s| s.losses.iter().filter(|l| l.mode == mode))
        .map(|l| l.percentiles.as_ref().map_or(l.floor_seconds, pick))
        .try_fold(0.0_f64, |acc, v| v.map(|v| acc.max(v)))
        .filter(|_| !d.services.is_empty());
    let close = match (expected, obj.actual) {
        (Some(x), Some(y)) => (x - y).abs() < 0.001,
        (x, y) => x == y,
    };
    if !close {
        out.push(format!(
            "check's {} {:?} != the distribution's {expected:?}",
            p.as_str(),
            obj.actual
        ));
    }
    if let (Some(x), Some(floor)) = (obj.actual, a.verdict.rto_seconds) {
        if x > floor + 0.05 {
            out.push(format!("check's {} {x} over the floor {floor}", p.as_str()));
        }
    }
}

/// The verdict's figures are the worst of the services' under the objectives' cases, and the
/// gate is the objectives' verdicts plus no recovery.
fn gate(t: &Topology, a: &Analysis, out: &mut Vec<String>) {
    let o = t.objectives.as_ref();
    let case = o.map(|o| o.rto_case).unwrap_or_default();
    let rto: Option<f64> = a
        .services
        .values()
        .map(|s| match case {
            RtoCase::Fast => secs(s.rto_floor_seconds),
            RtoCase::Dark => secs(s.dark_rto_floor_seconds),
        })
        .try_fold(0.0_f64, |m, v| v.map(|v| m.max(v)));
    if rto != a.verdict.rto_seconds {
        out.push(format!(
            "verdict rto {:?} != worst service {rto:?}",
            a.verdict.rto_seconds
        ));
    }
    if let Some(obj) = a.objective(ObjectiveKind::Rto) {
        if let Some(p) = obj.percentile {
            percentile_gate(t, a, obj, p, out);
        } else if obj.actual != a.verdict.rto_seconds {
            out.push(format!(
                "check's rto actual {:?} != verdict {:?}",
                obj.actual, a.verdict.rto_seconds
            ));
        }
        let over = obj.actual.is_some_and(|x| x > obj.target);
        if (obj.verdict == Verdict::Breached) != over {
            out.push(format!(
                "rto verdict {:?} with actual {:?} and target {}",
                obj.verdict, obj.actual, obj.target
            ));
        }
    }
    if let Some(obj) = a.objective(ObjectiveKind::Rpo) {
        if obj.actual != a.verdict.rpo_seconds {
            out.push(format!(
                "check's rpo actual {:?} != verdict {:?}",
                obj.actual, a.verdict.rpo_seconds
            ));
        }
        // The default gates on the declared bound where there is one.
        let rpo_case = o.map(|o| o.rpo_case).unwrap_or_default();
        for (name, s) in &a.services {
            let d = t.services[name].data.as_ref();
            let declared_max = d.and_then(|d| d.replication_lag_max);
            if rpo_case == RpoCase::Bound && declared_max.is_some() && s.rpo_seconds != declared_max
            {
                out.push(format!(
                    "{name}: the bound {declared_max:?} is not the gated RPO {:?}",
                    s.rpo_seconds
                ));
            }
        }
    }
    let no_recovery: Vec<&String> = a
        .services
        .iter()
        .filter(|(_, s)| {
            s.rto_unknown
                .as_ref()
                .is_some_and(|u| u.kind == UnknownKind::NoRecovery)
        })
        .map(|(n, _)| n)
        .collect();
    let failed = a.objectives.iter().any(|o| o.verdict != Verdict::Met) || !no_recovery.is_empty();
    if a.gate_failed() != failed {
        out.push(format!(
            "check's gate {} but objectives/no recovery say {failed}",
            a.gate_failed()
        ));
    }
}

fn compare(t: &Topology, a: &Analysis, out: &mut Vec<String>) {
    let c = analysis::compare::compare(&[("d".into(), "d".into(), t, a)], Default::default());
    let d = &c.designs[0];
    if d.rto_floor_seconds != a.verdict.rto_seconds || d.rpo_seconds != a.verdict.rpo_seconds {
        out.push(format!(
            "compare shows rto {:?} rpo {:?}, check {:?} {:?}",
            d.rto_floor_seconds, d.rpo_seconds, a.verdict.rto_seconds, a.verdict.rpo_seconds
        ));
    }
    if d.passed == a.gate_failed() || d.no_recovery != a.verdict.no_recovery {
        out.push(format!(
            "compare passed {} / no recovery {:?}, check gate failed {}",
            d.passed,
            d.no_recovery,
            a.gate_failed()
        ));
    }
    let breached = a.objectives.iter().any(|o| o.verdict == Verdict::Breached);
    if (d.objectives == "breached") != breached {
        out.push(format!(
            "compare says objectives {} and check breached={breached}",
            d.objectives
        ));
    }
    // The human table names the case of a dark floor and says NO RECOVERY.
    let text = meridian::render::compare::human(&c);
    if !a.verdict.no_recovery.is_empty() && !text.contains("NO RECOVERY") {
        out.push("compare's table hides a loss with no recovery".into());
    }
}

fn plan(t: &Topology, a: &Analysis, out: &mut Vec<String>) {
    let live = meridian::provider::LiveState::default();
    let r = match meridian::plan::recovery(t, a, &live) {
        Ok(r) => r,
        Err(e) => return out.push(format!("plan's recovery failed: {e}")),
    };
    if r.rto_floor_after_seconds != a.verdict.rto_seconds || r.rto_case != a.verdict.rto_case {
        out.push(format!(
            "plan's floor {:?} ({:?}) != check's {:?}",
            r.rto_floor_after_seconds, r.rto_case, a.verdict.rto_seconds
        ));
    }
    if r.rpo_seconds != a.verdict.rpo_seconds || r.no_recovery != a.verdict.no_recovery {
        out.push("plan's RPO or no-recovery list differs from check's".into());
    }
    if r.objectives != a.objectives {
        out.push("plan carries other objectives than check".into());
    }
    if r.before() != meridian::plan::Before::NothingLive {
        out.push("a never-applied design has something live before".into());
    }
}

/// Which AWS regions hold a writer of `name`, read off the topology.
fn writer_regions(t: &Topology, a: &Analysis, name: &str) -> Option<Vec<String>> {
    let s = &t.services[name];
    let d = s.data.as_ref()?;
    let shares = analysis::steady_shares(s);
    let serving = || {
        s.regions
            .values()
            .filter(|r| shares.get(&r.name).copied().unwrap_or(0.0) > 0.0)
            .map(|r| r.aws_region.clone())
            .collect()
    };
    let _ = a;
    Some(match d.pattern {
        DataPattern::PrimaryReplica => d
            .primary
            .as_ref()
            .and_then(|p| s.regions.get(p))
            .map(|r| vec![r.aws_region.clone()])
            .unwrap_or_default(),
        DataPattern::Partitioned if !d.shards.is_empty() => d
            .shards
            .values()
            .filter_map(|home| s.regions.get(home))
            .map(|r| r.aws_region.clone())
            .collect(),
        DataPattern::Partitioned => serving(),
        DataPattern::MultiMaster => return None,
    })
}

fn simulations(t: &Topology, a: &Analysis, out: &mut Vec<String>) {
    for region in simulate::regions(t) {
        let sim = simulate::simulate(
            t,
            a,
            &Scenario::Fail {
                region: region.clone(),
            },
        );
        for (name, o) in &sim.services {
            let Some(loss) = a.services[name]
                .region_losses
                .iter()
                .find(|l| l.region == region)
            else {
                continue;
            };
            let floor = match a.verdict.rto_case {
                RtoCase::Fast => loss.floor_seconds,
                RtoCase::Dark => loss.dark_floor_seconds,
            };
            if o.rto_seconds != floor {
                out.push(format!(
                    "simulate --fail {region}: {name} rto {:?}, analyze {floor:?}",
                    o.rto_seconds
                ));
            }
            if o.detection.fires != loss.detected_by.is_some() {
                out.push(format!(
                    "simulate --fail {region}: {name} detection {} / analyze {:?}",
                    o.detection.fires, loss.detected_by
                ));
            }
            // Facts off the topology: no check and no accelerator, or no record in the
            // region, detect nothing.
            let s = &t.services[name];
            let inherits = s.regions.values().any(|r| {
                r.aws_region == region
                    && matches!(&r.endpoint, meridian::model::Endpoint::Alias(a) if a.evaluate_target_health)
            });
            let checked = s
                .regions
                .values()
                .any(|r| r.aws_region == region && s.check(r).is_some());
            let watched =
                checked || s.anycast.as_ref().is_some_and(|a| a.accelerator.is_some()) || inherits;
            let here = s.regions.values().any(|r| r.aws_region == region);
            if o.detection.fires && !(watched && here) {
                out.push(format!(
                    "simulate --fail {region}: {name} detects with nothing declared to ({})",
                    o.detection.why
                ));
            }
            if o.writes_fail.is_some() != loss.writes.writes_fail() {
                out.push(format!(
                    "simulate --fail {region}: {name} writes_fail {:?}, analyze {:?}",
                    o.writes_fail, loss.writes
                ));
            }
            let text = meridian::render::simulate::human(std::slice::from_ref(&sim));
            let risky = loss.writes.risks_writes()
                && loss.writes_at_risk_seconds != Some(meridian::duration::Duration::ZERO);
            if !risky && section(&text, name).contains("writes at risk") {
                out.push(format!("simulate --fail {region}: {name} reports writes at risk where analyze loses none"));
            }
            if let Some(writers) = writer_regions(t, a, name) {
                let holds = writers.contains(&region);
                if !holds && loss.writes != WriteEffect::Untouched {
                    out.push(format!(
                        "lose {region}: {name} holds no writer there but writes {:?}",
                        loss.writes
                    ));
                }
                if holds && loss.writes != WriteEffect::Promote {
                    out.push(format!(
                        "lose {region}: {name}'s writer is there but writes {:?}",
                        loss.writes
                    ));
                }
            }
        }
    }
}

/// The lines of one service's section in `simulate`'s human text: `  NAME:` and the lines
/// indented under it.
fn section(text: &str, name: &str) -> String {
    let head = format!("  {name}:");
    text.lines()
        .skip_while(|l| *l != head)
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn lint(t: &Topology, a: &Analysis, out: &mut Vec<String>) {
    let sources = Sources::from_texts([("design.hcl", "")]);
    let report = meridian::lint::lint_with(t, a, &sources, &meridian::lint::Config::default());
    let mut denied: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.rule.as_str() == "SS006")
        .filter_map(|f| f.service.clone())
        .collect();
    denied.sort();
    let mut over: Vec<String> = a
        .objective(ObjectiveKind::Rpo)
        .map(|o| {
            o.figures
                .iter()
                .filter(|f| f.over)
                .map(|f| f.service.clone())
                .collect()
        })
        .unwrap_or_default();
    over.sort();
    if denied != over {
        out.push(format!(
            "lint SS006 denies {denied:?}, check's RPO objective is over for {over:?}"
        ));
    }
}

fn alerts(t: &Topology, out: &mut Vec<String>) {
    let rpo = t.objectives.as_ref().and_then(|o| o.rpo);
    let (warn, page) = meridian::alerts::lag_thresholds(rpo, None, None);
    if let Some(r) = rpo {
        if page > r || warn > page {
            out.push(format!(
                "alerts page at {page} and warn at {warn} under an RPO objective of {r}"
            ));
        }
    }
    let options = meridian::alerts::Options {
        lag_warn: warn,
        lag_page: page,
        ..meridian::alerts::Options::default()
    };
    let file = meridian::alerts::rules(t, &options);
    for rule in file.groups.iter().flat_map(|g| &g.rules) {
        if rule.alert == "MeridianReplicationLagCritical" {
            let limit: f64 = rule
                .expr
                .rsplit("> ")
                .next()
                .and_then(|x| x.trim().parse().ok())
                .unwrap_or(f64::NAN);
            if Some(limit) != Some(page.as_secs_f64()) {
                out.push(format!(
                    "the page rule fires at {limit}, the threshold is {page}"
                ));
            }
        }
    }
}

/// The SVG's data attributes say what it draws; a loss with no floor has no bar.
fn svg(a: &Analysis, out: &mut Vec<String>) {
    let svg = match meridian::render::analysis::timeline_svg(a) {
        Ok(s) => s,
        Err(e) => return out.push(format!("the timeline cannot be drawn: {e}")),
    };
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[at..].split('"').next()?.to_string())
    };
    let fig = |v: Option<f64>| v.map_or("unknown".to_string(), |x| format!("{x}"));
    let Some(head) = svg.split("<g data-service").next() else {
        return;
    };
    if attr(head, "data-rto-seconds").as_deref() != Some(fig(a.verdict.rto_seconds).as_str()) {
        out.push(format!(
            "the SVG's floor {:?} is not check's {:?}",
            attr(head, "data-rto-seconds"),
            a.verdict.rto_seconds
        ));
    }
    if attr(head, "data-passed") != Some(a.verdict.passed.to_string()) {
        out.push("the SVG's verdict is not check's".into());
    }
    for tag in svg.split("<g ").filter(|t| t.starts_with("data-service=")) {
        let tag = tag.split("/>").next().unwrap_or(tag);
        let name = attr(tag, "data-service").unwrap_or_default();
        let Some(s) = a.services.get(&name) else {
            out.push(format!("the SVG draws an unknown service {name}"));
            continue;
        };
        let floor = match a.verdict.rto_case {
            RtoCase::Fast => secs(s.rto_floor_seconds),
            RtoCase::Dark => secs(s.dark_rto_floor_seconds),
        };
        if attr(tag, "data-floor-seconds") != Some(fig(floor)) {
            out.push(format!(
                "the SVG draws {name}'s floor as {:?}, analyze says {floor:?}",
                attr(tag, "data-floor-seconds")
            ));
        }
        if attr(tag, "data-worst-region").as_deref() != s.worst_region.as_deref() {
            out.push(format!("the SVG's worst region of {name} is not analyze's"));
        }
        let bars: usize = attr(tag, "data-bars")
            .and_then(|b| b.parse().ok())
            .unwrap_or(usize::MAX);
        if floor.is_none() && bars != 0 {
            out.push(format!(
                "the SVG draws {bars} bars for {name}, which has no floor"
            ));
        }
        if floor.is_some() && bars == 0 {
            out.push(format!(
                "the SVG draws no bar for {name}, which has a floor"
            ));
        }
    }
}

/// What the designs came to: objectives' verdicts, losses without recovery, and the features
/// they used, each counted.
pub type Outcomes = BTreeMap<&'static str, usize>;

fn outcomes(hcl: &str, a: &Analysis, o: &mut Outcomes) {
    *o.entry(match a.verdict.objectives {
        analysis::Overall::None => "objectives none",
        analysis::Overall::Met => "objectives met",
        analysis::Overall::Breached => "objectives breached",
        analysis::Overall::Unknown => "objectives unknown",
    })
    .or_default() += 1;
    let flags = [
        (
            !a.verdict.no_recovery.is_empty(),
            "a service with no recovery",
        ),
        (a.verdict.passed, "gate passed"),
        (!a.verdict.passed, "gate failed"),
        (hcl.contains("anycast {"), "anycast"),
        (
            hcl.contains("fallback = \"none\""),
            "dependency without fallback",
        ),
        (
            hcl.contains("fallback = \"local-cache\""),
            "dependency with a local cache",
        ),
        (
            hcl.contains("fallback = \"replica\""),
            "dependency with a replica",
        ),
        (
            hcl.contains("fallback = \"static\""),
            "dependency with a static default",
        ),
        (hcl.contains("rpo_case = \"typical\""), "rpo_case typical"),
        (hcl.contains("rpo_case = \"worst\""), "rpo_case worst"),
        (hcl.contains("replication_lag_max"), "a declared lag bound"),
        (hcl.contains("witness"), "a witness"),
        (hcl.contains("failover_to"), "failover_to"),
        (hcl.contains("shards = "), "declared shard homes"),
    ];
    for (hit, name) in flags {
        if hit {
            *o.entry(name).or_default() += 1;
        }
    }
}

/// Runs `count` designs from `seed`; returns the coverage by cell, the outcomes, and every
/// disagreement (the first 20 in full, the rest counted).
pub fn run(seed: u64, count: usize) -> (BTreeMap<Cell, usize>, Outcomes, Vec<String>) {
    let mut rng = Rng::new(seed);
    let mut coverage: BTreeMap<Cell, usize> = BTreeMap::new();
    let mut seen = Outcomes::new();
    let mut failures = Vec::new();
    let mut more = 0;
    for i in 0..count {
        let (hcl, cell) = design(&mut rng);
        *coverage.entry(cell).or_default() += 1;
        let t = topology(&hcl);
        let a = analysis::analyze(&t);
        outcomes(&hcl, &a, &mut seen);
        for d in disagreements(&t, &a) {
            if failures.len() < 20 {
                failures.push(format!("design {i}: {d}\n{hcl}"));
            } else {
                more += 1;
            }
        }
    }
    if more > 0 {
        failures.push(format!("... and {more} more disagreements"));
    }
    (coverage, seen, failures)
}
