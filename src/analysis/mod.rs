//! Recovery analysis: the RTO floor of each service as a critical path, its RPO, and the
//! verdict on the topology's objectives.
//!
//! Consumes a validated [`Topology`]; produces an [`Analysis`]. Pure functions, no I/O. The
//! figures and acceptance cases come from `../shared/reference/multi-region-patterns.md`: DNS
//! failover with 10 s x 3 checks and a 60 s TTL has a 90 s floor, anycast with 10 s x 3 a 30 s
//! floor, and a warm standby is bounded by its promotion and scale-up times.

pub mod compare;
pub mod cost;
pub mod detection;
pub mod distribution;
pub mod geo;
pub mod needs;
mod rto;

pub use cost::{CostItem, CostReport, Prices};
pub use rto::{
    same_zone_group, steady_shares, watching_threshold, Part, RegionLoss, Spread, Step, StepKind,
    Taker, Unknown, UnknownKind, WriteEffect,
};

use crate::duration::Duration;
use crate::model::{Consistency, DataPattern, RpoCase, RtoCase, Topology};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the JSON document `meridian analyze --format json` prints.
/// 2: each objective names its `services`; `check --format json` adds `passed` and `unknown`.
/// 3: losses are of AWS regions, with labels, takers, stranded locations, dark floors and the
/// kind of an unknown floor; services add `dark_rto_floor_seconds`, `rto_unknown`,
/// `rpo_worst_seconds`.
/// 4: `verdict` (the figures the objectives gate on and the gate's outcome, computed once for
/// every surface); each objective lists its per-service `figures`; the RPO is the declared bound
/// (`replication_lag_max`) where there is one, with `rpo_typical_seconds` beside it; each region
/// loss says what it does to `writes` and the `writes_at_risk_seconds`.
pub const JSON_FORMAT_VERSION: u32 = 4;

/// Alias records to a load balancer are answered with this fixed TTL.
pub const ALIAS_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub format_version: u32,
    pub services: BTreeMap<String, ServiceAnalysis>,
    /// The worst RTO floor over every service, when every one could be computed.
    pub rto_floor_seconds: Option<Duration>,
    /// The same when the lost region goes dark.
    pub dark_rto_floor_seconds: Option<Duration>,
    /// The worst RPO over every service (each service's bound where it declares one).
    pub rpo_seconds: Option<Duration>,
    pub cost: CostReport,
    pub objectives: Vec<ObjectiveResult>,
    /// The one verdict every surface renders.
    pub verdict: RecoveryVerdict,
}

/// The figures the objectives gate on and the gate's outcome, computed once: `analyze`,
/// `check`, `plan`, `compare`, `simulate`, `lint`, `alerts` and the pictures all render this,
/// and none recomputes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryVerdict {
    /// Which RTO figure is shown and gated: the RTO objective's case, `fast` without one.
    pub rto_case: RtoCase,
    /// The worst RTO floor under that case; null when some service's is unknown, or when no
    /// service is declared (nothing to recover).
    pub rto_seconds: Option<f64>,
    /// The percentile the RTO objective gates on instead of the floor (`rto_percentile`), and
    /// its figure (the slowest service's); null without one.
    pub rto_percentile: Option<crate::model::Percentile>,
    pub rto_percentile_seconds: Option<f64>,
    /// Which RPO figure is shown and gated: the RPO objective's case, `bound` without one.
    pub rpo_case: RpoCase,
    /// The worst RPO under that case; null when some service's is unknown.
    pub rpo_seconds: Option<f64>,
    /// `none` (no objectives), `met`, `breached` or `unknown`.
    pub objectives: Overall,
    /// Services with no recovery from some region loss, sorted.
    pub no_recovery: Vec<String>,
    /// The topology declares no service and no registry: nothing to promise.
    pub empty: bool,
    /// `check`'s gate: objectives met (or none), every loss recoverable, something declared.
    pub passed: bool,
}

/// The objectives taken together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    None,
    Met,
    Breached,
    Unknown,
}

impl Overall {
    pub fn as_str(self) -> &'static str {
        match self {
            Overall::None => "none",
            Overall::Met => "met",
            Overall::Breached => "breached",
            Overall::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceAnalysis {
    pub routing: &'static str,
    pub data_pattern: Option<DataPattern>,
    /// multi-master only.
    pub consistency: Option<Consistency>,
    /// The worst region loss; `None` when a loss has no automatic recovery or lacks an input.
    pub rto_floor_seconds: Option<Duration>,
    /// The same when the lost region goes dark (probes time out instead of failing fast).
    pub dark_rto_floor_seconds: Option<Duration>,
    /// Why the floor is unknown, when it is: `no_recovery` or `unknown` (an input is missing).
    pub rto_unknown: Option<Unknown>,
    /// The AWS region whose loss sets the floor.
    pub worst_region: Option<String>,
    /// One timeline per AWS region the service runs in.
    pub region_losses: Vec<RegionLoss>,
    /// The RPO: the declared bound (`replication_lag_max`) where there is one, else the
    /// typical lag (an objective is a promise, and AWS calls `rds.global_db_rpo` the upper bound).
    pub rpo_seconds: Option<Duration>,
    /// The typical RPO (the declared `replication_lag`), shown beside the bound.
    pub rpo_typical_seconds: Option<Duration>,
    /// The worst-case RPO (`replication_lag_max`), when declared.
    pub rpo_worst_seconds: Option<Duration>,
    /// How the RPO follows from the data block.
    pub rpo_basis: String,
    /// Risks not folded into the figures.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Breached,
    /// The figure could not be computed (missing input, no automatic failover).
    Unknown,
}

/// An objective of the `objectives` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    Rto,
    Rpo,
    MonthlyCost,
}

impl ObjectiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveKind::Rto => "rto",
            ObjectiveKind::Rpo => "rpo",
            ObjectiveKind::MonthlyCost => "monthly_cost",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    #[serde(rename = "seconds")]
    Seconds,
    #[serde(rename = "USD")]
    Usd,
}

/// Which figure an objective gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    Fast,
    Dark,
    Bound,
    Typical,
    Worst,
}

impl Case {
    pub fn as_str(self) -> &'static str {
        match self {
            Case::Fast => "fast",
            Case::Dark => "dark",
            Case::Bound => "bound",
            Case::Typical => "typical",
            Case::Worst => "worst",
        }
    }
}

/// One service's figure for a duration objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigure {
    pub service: String,
    /// Null when it cannot be computed.
    pub seconds: Option<f64>,
    /// The figure is over the target.
    pub over: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveResult {
    pub objective: ObjectiveKind,
    pub target: f64,
    pub actual: Option<f64>,
    /// target - actual: positive is headroom, negative the overrun.
    pub margin: Option<f64>,
    pub unit: Unit,
    pub verdict: Verdict,
    pub reason: Option<String>,
    /// The services that decide the verdict: those whose figure is unknown, else those over
    /// the target, else the one with the worst figure. Empty for the cost objective.
    pub services: Vec<String>,
    /// Which figure it gates on: `fast` or `dark` (rto), `bound`, `typical` or `worst` (rpo);
    /// null for the cost.
    pub case: Option<Case>,
    /// Every service's figure under that case (duration objectives; empty for the cost).
    #[serde(default)]
    pub figures: Vec<ServiceFigure>,
    /// The RTO objective gates on this percentile of when the lost region's clients are
    /// served again (`rto_percentile`), not on the floor; null otherwise.
    #[serde(default)]
    pub percentile: Option<crate::model::Percentile>,
    /// Under a percentile: the services with a loss that has no distribution, whose floor
    /// gates instead (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floor_gates: Vec<String>,
}

impl ObjectiveResult {
    /// The figure of one service under this objective's case, when it has one.
    pub fn figure(&self, service: &str) -> Option<&ServiceFigure> {
        self.figures.iter().find(|f| f.service == service)
    }
}

impl Analysis {
    /// True when a known figure is over its objective.
    pub fn objectives_breached(&self) -> bool {
        self.objectives
            .iter()
            .any(|o| o.verdict == Verdict::Breached)
    }

    /// True when an objective's figure cannot be computed.
    pub fn objectives_unknown(&self) -> bool {
        self.objectives
            .iter()
            .any(|o| o.verdict == Verdict::Unknown)
    }

    /// Services with no recovery from some region loss, with why.
    pub fn no_recovery(&self) -> Vec<(&str, &str)> {
        self.services
            .iter()
            .filter_map(|(name, s)| {
                let u = s.rto_unknown.as_ref()?;
                (u.kind == UnknownKind::NoRecovery).then_some((name.as_str(), u.reason.as_str()))
            })
            .collect()
    }

    /// `check` fails on a failed objective, on any service with no recovery from some
    /// region loss, objectives or not, and on a topology that declares nothing.
    pub fn gate_failed(&self) -> bool {
        !self.verdict.passed
    }

    /// The objective of a kind, when declared.
    pub fn objective(&self, kind: ObjectiveKind) -> Option<&ObjectiveResult> {
        self.objectives.iter().find(|o| o.objective == kind)
    }
}

/// One service's RTO floor under a case.
pub fn rto_of(s: &ServiceAnalysis, case: RtoCase) -> Option<Duration> {
    match case {
        RtoCase::Fast => s.rto_floor_seconds,
        RtoCase::Dark => s.dark_rto_floor_seconds,
    }
}

/// One service's RPO under a case.
pub fn rpo_of(s: &ServiceAnalysis, case: RpoCase) -> Option<Duration> {
    rpo_under(case, s.rpo_typical_seconds, s.rpo_worst_seconds)
}

/// The RPO a case takes from the typical lag and the declared bound: the bound where there is
/// one (`bound`), the typical lag (`typical`), the bound only (`worst`).
fn rpo_under(
    case: RpoCase,
    typical: Option<Duration>,
    worst: Option<Duration>,
) -> Option<Duration> {
    match case {
        RpoCase::Bound => worst.or(typical),
        RpoCase::Typical => typical,
        RpoCase::Worst => worst,
    }
}

/// The analysis with the built-in prices (and the topology's `prices` block).
pub fn analyze(t: &Topology) -> Analysis {
    analyze_with_prices(t, &BTreeMap::new())
}

/// The analysis with extra price overrides (a `--prices` file), applied after the topology's.
pub fn analyze_with_prices(t: &Topology, price_overrides: &BTreeMap<String, f64>) -> Analysis {
    let cost = cost::cost(t, price_overrides);
    let everywhere = rto::topology_regions(t);
    let services: BTreeMap<String, ServiceAnalysis> = t
        .services
        .iter()
        .map(|(name, s)| (name.clone(), service(s, t, &everywhere)))
        .collect();
    let worst_of = |f: fn(&ServiceAnalysis) -> Option<Duration>| -> Option<Duration> {
        services
            .values()
            .map(f)
            .try_fold(Duration::ZERO, |acc, d| d.map(|d| acc.max(d)))
    };
    let rto_floor = worst_of(|s| s.rto_floor_seconds);
    let dark_floor = worst_of(|s| s.dark_rto_floor_seconds);
    let rpo = worst_of(|s| s.rpo_seconds);
    let objectives = objectives(t, &services, &cost);
    let verdict = recovery_verdict(t, &services, &objectives);
    Analysis {
        format_version: JSON_FORMAT_VERSION,
        services,
        rto_floor_seconds: rto_floor,
        dark_rto_floor_seconds: dark_floor,
        rpo_seconds: rpo,
        cost,
        objectives,
        verdict,
    }
}

/// The verdict every surface renders: the gated figures and the gate.
fn recovery_verdict(
    t: &Topology,
    services: &BTreeMap<String, ServiceAnalysis>,
    objectives: &[ObjectiveResult],
) -> RecoveryVerdict {
    let o = t.objectives.as_ref();
    let rto_case = o.map(|o| o.rto_case).unwrap_or_default();
    let rpo_case = o.map(|o| o.rpo_case).unwrap_or_default();
    let worst = |f: &dyn Fn(&ServiceAnalysis) -> Option<Duration>| {
        services
            .values()
            .map(f)
            .try_fold(Duration::ZERO, |acc, d| d.map(|d| acc.max(d)))
            .map(Duration::as_secs_f64)
    };
    let overall = if objectives.is_empty() {
        Overall::None
    } else if objectives.iter().any(|o| o.verdict == Verdict::Breached) {
        Overall::Breached
    } else if objectives.iter().any(|o| o.verdict == Verdict::Unknown) {
        Overall::Unknown
    } else {
        Overall::Met
    };
    let no_recovery: Vec<String> = services
        .iter()
        .filter(|(_, s)| {
            s.rto_unknown
                .as_ref()
                .is_some_and(|u| u.kind == UnknownKind::NoRecovery)
        })
        .map(|(n, _)| n.clone())
        .collect();
    let empty = t.services.is_empty() && t.registries.is_empty();
    // No service: nothing to recover, which is no figure rather than a 0 s recovery.
    let any = !services.is_empty();
    let gated = objectives
        .iter()
        .find(|o| o.objective == ObjectiveKind::Rto && o.percentile.is_some());
    RecoveryVerdict {
        rto_case,
        rto_seconds: worst(&|s| rto_of(s, rto_case)).filter(|_| any),
        rto_percentile: gated.and_then(|o| o.percentile),
        rto_percentile_seconds: gated.and_then(|o| o.actual),
        rpo_case,
        rpo_seconds: worst(&|s| rpo_of(s, rpo_case)).filter(|_| any),
        passed: matches!(overall, Overall::None | Overall::Met) && no_recovery.is_empty() && !empty,
        objectives: overall,
        no_recovery,
        empty,
    }
}

/// One service: its region losses, the worst of them, and its RPO.
fn service(
    s: &crate::model::Service,
    t: &Topology,
    everywhere: &std::collections::BTreeSet<&str>,
) -> ServiceAnalysis {
    let (rpo_typical, rpo_basis) = rpo(s);
    let rpo_worst = rpo_worst(s, rpo_typical);
    // Writes at risk are the RPO the objective gates on, as every surface shows it.
    let rpo_case = t
        .objectives
        .as_ref()
        .map(|o| o.rpo_case)
        .unwrap_or_default();
    let at_risk = rpo_under(rpo_case, rpo_typical, rpo_worst);
    let mut region_losses = rto::region_losses(s, t, everywhere);
    for l in &mut region_losses {
        l.writes_at_risk_seconds = if l.writes.risks_writes() {
            at_risk
        } else {
            Some(Duration::ZERO)
        };
    }
    // The worst loss under the figure the RTO objective gates on (fast, or dark).
    let dark = t
        .objectives
        .as_ref()
        .is_some_and(|o| o.rto_case == RtoCase::Dark);
    let worst = region_losses.iter().max_by(|a, b| {
        // A loss with no floor is the worst of all; no recovery is worse than a missing input.
        let key = |l: &RegionLoss| {
            let (first, then) = if dark {
                (l.dark_floor_seconds, l.floor_seconds)
            } else {
                (l.floor_seconds, l.dark_floor_seconds)
            };
            (
                l.floor_seconds.is_none(),
                l.unknown
                    .as_ref()
                    .map(|u| u.kind == UnknownKind::NoRecovery),
                first,
                then,
            )
        };
        key(a).cmp(&key(b)).then_with(|| b.region.cmp(&a.region))
    });
    let rto_floor = worst.map_or(Some(Duration::ZERO), |w| w.floor_seconds);
    let dark_floor = region_losses
        .iter()
        .map(|l| l.dark_floor_seconds)
        .try_fold(Duration::ZERO, |acc, d| d.map(|d| acc.max(d)));
    let worst_region = worst.map(|w| w.region.clone());
    let rto_unknown = worst.and_then(|w| w.unknown.clone()).map(|u| Unknown {
        reason: format!(
            "losing {}: {}",
            worst_region.as_deref().unwrap_or("a region"),
            u.reason
        ),
        ..u
    });
    ServiceAnalysis {
        routing: s.routing.as_str(),
        data_pattern: s.data.as_ref().map(|d| d.pattern),
        consistency: s
            .data
            .as_ref()
            .filter(|d| d.pattern == DataPattern::MultiMaster)
            .map(|d| d.consistency),
        rto_floor_seconds: rto_floor,
        dark_rto_floor_seconds: dark_floor,
        rto_unknown,
        worst_region,
        notes: rto::notes(s),
        region_losses,
        rpo_seconds: rpo_under(RpoCase::Bound, rpo_typical, rpo_worst),
        rpo_typical_seconds: rpo_typical,
        rpo_worst_seconds: rpo_worst,
        rpo_basis,
    }
}

/// The RTO objective: on the floor of its case, or on a percentile of when the lost region's
/// clients are served again (`rto_percentile`), the floor where a loss has no distribution.
fn rto_objective(
    t: &Topology,
    o: &crate::model::Objectives,
    target: Duration,
    services: &BTreeMap<String, ServiceAnalysis>,
) -> ObjectiveResult {
    let gated = o
        .rto_percentile
        .map(|_| distribution::slowest(t, services, o.rto_case))
        .unwrap_or_default();
    let to_duration = |s: f64| Duration::from_millis((s * 1000.0).round() as u64);
    let figures = per_service(services, |s| {
        let why = s.rto_unknown.as_ref().map(|u| u.reason.as_str());
        (rto_of(s, o.rto_case), why)
    });
    let figures: Vec<Figure> = figures
        .into_iter()
        .map(|f| match (gated.get(f.service), o.rto_percentile) {
            (Some(g), Some(p)) => Figure {
                value: g.of(p).map(to_duration),
                ..f
            },
            _ => f,
        })
        .collect();
    let mut o_rto = duration_objective(ObjectiveKind::Rto, target, &figures);
    o_rto.case = Some(match o.rto_case {
        RtoCase::Fast => Case::Fast,
        RtoCase::Dark => Case::Dark,
    });
    o_rto.percentile = o.rto_percentile;
    o_rto.floor_gates = gated
        .iter()
        .filter(|(_, g)| g.fell_back)
        .map(|(name, _)| name.clone())
        .collect();
    o_rto
}

/// The verdict on each declared objective.
fn objectives(
    t: &Topology,
    services: &BTreeMap<String, ServiceAnalysis>,
    cost: &CostReport,
) -> Vec<ObjectiveResult> {
    let mut objectives = Vec::new();
    let Some(o) = &t.objectives else {
        return objectives;
    };
    if let Some(target) = o.rto {
        objectives.push(rto_objective(t, o, target, services));
    }
    if let Some(target) = o.rpo {
        let figures = per_service(services, |s| {
            let why = match o.rpo_case {
                RpoCase::Worst if s.rpo_typical_seconds.is_some() => {
                    "the objective gates on the worst case, and replication_lag_max is not declared"
                }
                _ => s.rpo_basis.as_str(),
            };
            (rpo_of(s, o.rpo_case), Some(why))
        });
        let mut o_rpo = duration_objective(ObjectiveKind::Rpo, target, &figures);
        o_rpo.case = Some(match o.rpo_case {
            RpoCase::Bound => Case::Bound,
            RpoCase::Typical => Case::Typical,
            RpoCase::Worst => Case::Worst,
        });
        objectives.push(o_rpo);
    }
    if let Some(target) = o.monthly_cost {
        objectives.push(cost_objective(target, cost));
    }
    objectives
}

fn cost_objective(target: f64, cost: &CostReport) -> ObjectiveResult {
    let actual = cost.monthly_usd;
    // Missing inputs only add cost: over budget is a breach even when incomplete.
    let verdict = if actual > target {
        Verdict::Breached
    } else if cost.complete {
        Verdict::Met
    } else {
        Verdict::Unknown
    };
    ObjectiveResult {
        objective: ObjectiveKind::MonthlyCost,
        target,
        actual: Some(actual),
        margin: Some(round2(target - actual)),
        unit: Unit::Usd,
        verdict,
        services: Vec::new(),
        case: None,
        figures: Vec::new(),
        percentile: None,
        floor_gates: Vec::new(),
        reason: (!cost.complete).then(|| {
            let missing: Vec<&str> = cost
                .items
                .iter()
                .filter_map(|i| i.missing_input.as_deref())
                .collect();
            format!("cost inputs missing: {}", missing.join(", "))
        }),
    }
}

/// The worst-case RPO: `replication_lag_max` where the RPO follows the lag; the same as the
/// typical one where it does not (stateless, strong quorum).
fn rpo_worst(s: &crate::model::Service, typical: Option<Duration>) -> Option<Duration> {
    match &s.data {
        Some(d)
            if d.pattern != DataPattern::MultiMaster || d.consistency == Consistency::Eventual =>
        {
            d.replication_lag_max
        }
        _ => typical,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One service's figure for an objective, and why it is unknown when it is.
struct Figure<'a> {
    service: &'a str,
    value: Option<Duration>,
    why: Option<&'a str>,
}

fn per_service<'a>(
    services: &'a BTreeMap<String, ServiceAnalysis>,
    f: impl Fn(&'a ServiceAnalysis) -> (Option<Duration>, Option<&'a str>),
) -> Vec<Figure<'a>> {
    services
        .iter()
        .map(|(name, s)| {
            let (value, why) = f(s);
            Figure {
                service: name,
                value,
                why,
            }
        })
        .collect()
}

/// The verdict on a duration objective over every service's figure: unknown when any is.
fn duration_objective(
    name: ObjectiveKind,
    target: Duration,
    figures: &[Figure],
) -> ObjectiveResult {
    let t = target.as_secs_f64();
    let unknown: Vec<&Figure> = figures.iter().filter(|f| f.value.is_none()).collect();
    let actual = if unknown.is_empty() {
        figures.iter().filter_map(|f| f.value).max()
    } else {
        None
    };
    let (verdict, services) = match actual {
        None if !unknown.is_empty() => (
            Verdict::Unknown,
            unknown.iter().map(|f| f.service.to_string()).collect(),
        ),
        // No service at all: nothing can be late.
        None => (Verdict::Met, Vec::new()),
        Some(a) if a <= target => (
            Verdict::Met,
            figures
                .iter()
                .filter(|f| f.value == Some(a))
                .map(|f| f.service.to_string())
                .collect(),
        ),
        Some(_) => (
            Verdict::Breached,
            figures
                .iter()
                .filter(|f| f.value.is_some_and(|v| v > target))
                .map(|f| f.service.to_string())
                .collect(),
        ),
    };
    let reason = (!unknown.is_empty()).then(|| {
        let parts: Vec<String> = unknown
            .iter()
            .map(|f| match f.why {
                Some(why) => format!("service {}: {why}", f.service),
                None => format!("service {}", f.service),
            })
            .collect();
        let what = if name == ObjectiveKind::Rto {
            "no computable RTO floor"
        } else {
            "no computable RPO"
        };
        format!("{what} for {}", parts.join("; "))
    });
    let a = actual.map(Duration::as_secs_f64);
    ObjectiveResult {
        objective: name,
        target: t,
        actual: a,
        // To the millisecond the figures have (a percentile's tenths would print 32.800000000000004).
        margin: a.map(|a| ((t - a) * 1000.0).round() / 1000.0),
        unit: Unit::Seconds,
        verdict,
        reason,
        services,
        case: None,
        percentile: None,
        floor_gates: Vec::new(),
        figures: figures
            .iter()
            .map(|f| ServiceFigure {
                service: f.service.to_string(),
                seconds: f.value.map(Duration::as_secs_f64),
                over: f.value.is_some_and(|v| v > target),
            })
            .collect(),
    }
}

fn rpo(s: &crate::model::Service) -> (Option<Duration>, String) {
    if s.stateless {
        return (
            Some(Duration::ZERO),
            "stateless (declared `stateless = true`): it keeps no data a region loss could lose"
                .into(),
        );
    }
    let Some(d) = &s.data else {
        return (
            None,
            "no data block: the RPO is unknown (declare `data`, or `stateless = true` for a service that keeps no data)".into(),
        );
    };
    match (d.pattern, d.consistency) {
        (DataPattern::MultiMaster, Consistency::Strong) => {
            let voters = rto::voters(s, d);
            match voters.len() {
                n if n >= 3 => (
                    Some(Duration::ZERO),
                    format!("multi-master, strong consistency: every acknowledged write is on a quorum of the {n} voting regions"),
                ),
                // Two data-holding voters: a write is acknowledged only once it is in both. A
                // witness holds no data, so a region and a witness are not that.
                2 if d.witness.is_none() => (
                    Some(Duration::ZERO),
                    "multi-master, strong consistency with two voting regions: every acknowledged write is in both (RPO 0), but losing either stops writes (a quorum needs three voters, or two and a `witness`)".into(),
                ),
                n => (
                    None,
                    format!("multi-master, strong consistency needs a write quorum of at least three voting AWS regions (or two and a `witness`); this service has {n}"),
                ),
            }
        }
        (pattern, _) => {
            let what = match pattern {
                DataPattern::PrimaryReplica => "primary-replica",
                DataPattern::Partitioned => "partitioned",
                DataPattern::MultiMaster => "multi-master, eventual consistency",
            };
            let window = match (d.replication_lag, d.replication_lag_max) {
                (Some(lag), Some(max)) if max != lag => format!("up to {max}, typically {lag}"),
                (Some(lag), _) => lag.to_string(),
                (None, Some(max)) => {
                    format!("up to {max}; the typical replication_lag is not declared")
                }
                (None, None) => {
                    return (
                        None,
                        "replication_lag is not declared: the RPO is unknown".into(),
                    )
                }
            };
            (
                d.replication_lag,
                format!("{what}: asynchronous replication, writes within the replication lag ({window}) may be lost"),
            )
        }
    }
}
