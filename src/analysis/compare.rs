//! Designs side by side: the figures an architect weighs, one row per topology.

use super::{Analysis, Verdict};
use crate::duration::Duration;
use crate::model::Topology;
use serde::Serialize;
use std::collections::BTreeSet;

/// Version of the JSON document `meridian compare --format json` prints.
/// 2: `cost_ratio` is null without a complete baseline, `cost_ratio_at_least` marks a ratio of
/// a lower-bound total; `rto_objective_seconds` per design.
/// 3: `rto_floor_seconds` and `rpo_seconds` are the figures the objectives gate on (the
/// analysis's `verdict`), named by `rto_case` and `rpo_case`; `no_recovery` and `passed` (the
/// gate `check` applies).
/// 4: `rto_p50_seconds`, `rto_p90_seconds`, `rto_p99_seconds` (when users are served again,
/// `analyze --distribution`) per design, and `ranked_on` (`compare --on`): what `fastest` is.
pub const JSON_FORMAT_VERSION: u32 = 4;

/// What `fastest` ranks designs by: the RTO floor, or a percentile of when the lost region's
/// clients are served again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RankOn {
    #[default]
    Floor,
    P50,
    P90,
    P99,
}

impl RankOn {
    fn percentile(self) -> Option<crate::model::Percentile> {
        match self {
            RankOn::Floor => None,
            RankOn::P50 => Some(crate::model::Percentile::P50),
            RankOn::P90 => Some(crate::model::Percentile::P90),
            RankOn::P99 => Some(crate::model::Percentile::P99),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Design {
    /// File stem or directory name.
    pub name: String,
    pub path: String,
    pub routing: Vec<&'static str>,
    pub data_patterns: Vec<String>,
    /// Distinct AWS regions serving traffic.
    pub regions: Vec<String>,
    /// The RTO floor the RTO objective gates on (`rto_case`), as `check` shows it.
    pub rto_floor_seconds: Option<f64>,
    /// The slowest loss's percentiles of when its clients are served again, under the same
    /// failure (`rto_case`); a loss with no distribution gives its floor.
    pub rto_p50_seconds: Option<f64>,
    pub rto_p90_seconds: Option<f64>,
    pub rto_p99_seconds: Option<f64>,
    /// Some loss has no distribution (an accelerator, a failover tree, mixed checks): its
    /// floor stands in for its percentiles.
    pub percentiles_from_floor: bool,
    /// The percentile the design's RTO objective gates on (`rto_percentile`) and its figure,
    /// as `check` shows them; null when the floor gates.
    pub rto_percentile: Option<crate::model::Percentile>,
    pub rto_percentile_seconds: Option<f64>,
    pub rto_case: crate::model::RtoCase,
    /// The worst loss of the worst service, as its formula.
    pub critical_path: Option<String>,
    /// The RPO the RPO objective gates on (`rpo_case`).
    pub rpo_seconds: Option<f64>,
    pub rpo_case: crate::model::RpoCase,
    pub monthly_usd: f64,
    pub cost_complete: bool,
    /// Monthly cost over the cheapest complete design's; null when no design's total is
    /// complete (a lower bound is never a baseline).
    pub cost_ratio: Option<f64>,
    /// The ratio is of a lower-bound total: the design costs at least that much more.
    pub cost_ratio_at_least: bool,
    /// The design's RTO objective, when it declares one.
    pub rto_objective_seconds: Option<f64>,
    /// `met`, `breached`, `unknown` or `none` (no objectives declared).
    pub objectives: &'static str,
    /// Objectives not met, by name.
    pub objectives_not_met: Vec<&'static str>,
    /// Services with no recovery from some region loss.
    pub no_recovery: Vec<String>,
    /// `check`'s gate on this design.
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub format_version: u32,
    pub designs: Vec<Design>,
    /// What `fastest` ranks by (`compare --on`).
    pub ranked_on: RankOn,
    /// Name of the design with the lowest RTO floor, or percentile (ties: first given).
    pub fastest: Option<String>,
    /// Name of the cheapest design among those with a complete total (ties: first given).
    pub cheapest: Option<String>,
}

pub fn compare(designs: &[(String, String, &Topology, &Analysis)], on: RankOn) -> Comparison {
    // Only complete totals are baselines: a lower bound could hide any real cost.
    let cheapest = designs
        .iter()
        .filter(|(_, _, _, a)| a.cost.complete)
        .map(|(_, _, _, a)| a.cost.monthly_usd)
        .fold(f64::INFINITY, f64::min);
    let rows: Vec<Design> = designs
        .iter()
        .map(|(name, path, t, a)| design(name, path, t, a, cheapest))
        .collect();
    let pick = |key: &dyn Fn(&Design) -> Option<f64>| {
        rows.iter()
            .filter_map(|d| key(d).map(|k| (k, d)))
            .fold(None::<(f64, &Design)>, |best, (k, d)| match best {
                Some((bk, _)) if bk <= k => best,
                _ => Some((k, d)),
            })
            .map(|(_, d)| d.name.clone())
    };
    Comparison {
        format_version: JSON_FORMAT_VERSION,
        ranked_on: on,
        fastest: pick(&|d| match on.percentile() {
            None => d.rto_floor_seconds,
            Some(crate::model::Percentile::P50) => d.rto_p50_seconds,
            Some(crate::model::Percentile::P90) => d.rto_p90_seconds,
            Some(crate::model::Percentile::P99) => d.rto_p99_seconds,
        }),
        cheapest: pick(&|d| d.cost_complete.then_some(d.monthly_usd)),
        designs: rows,
    }
}

/// The data patterns of a design's services, with their consistency where it has one.
fn data_patterns(a: &Analysis) -> BTreeSet<String> {
    let name_of = |v: serde_json::Result<serde_json::Value>| {
        v.ok().and_then(|v| v.as_str().map(String::from))
    };
    a.services
        .values()
        .filter_map(|s| {
            let pattern = name_of(serde_json::to_value(s.data_pattern?))?;
            Some(match s.consistency {
                Some(c) => format!("{pattern} ({})", name_of(serde_json::to_value(c))?),
                None => pattern,
            })
        })
        .collect()
}

/// The overall verdict of a design's objectives (the analysis's), and those not met.
fn verdict(a: &Analysis) -> (&'static str, Vec<&'static str>) {
    let not_met: Vec<&'static str> = a
        .objectives
        .iter()
        .filter(|o| o.verdict != Verdict::Met)
        .map(|o| o.objective.as_str())
        .collect();
    (a.verdict.objectives.as_str(), not_met)
}

fn design(name: &str, path: &str, t: &Topology, a: &Analysis, cheapest: f64) -> Design {
    let routing: BTreeSet<&'static str> = a.services.values().map(|s| s.routing).collect();
    let regions: BTreeSet<String> = t
        .services
        .values()
        .flat_map(|s| s.regions.values().map(|r| r.aws_region.clone()))
        .collect();
    let case = a.verdict.rto_case;
    let worst = a
        .services
        .values()
        .filter(|s| {
            super::rto_of(s, case).map(Duration::as_secs_f64) == a.verdict.rto_seconds
                || (a.verdict.rto_seconds.is_none() && s.rto_unknown.is_some())
        })
        .find_map(|s| {
            s.region_losses
                .iter()
                .find(|l| Some(&l.region) == s.worst_region.as_ref())
                .map(|l| match &l.unknown {
                    Some(u) if u.kind == super::UnknownKind::NoRecovery => {
                        format!("lose {}: no recovery: {}", l.region, u.reason)
                    }
                    Some(u) => format!("lose {}: unknown: {}", l.region, u.reason),
                    None => l.formula.clone(),
                })
        });
    let (objectives, not_met) = verdict(a);
    let slowest = super::distribution::slowest(t, &a.services, case);
    let from_floor = slowest.values().any(|s| s.fell_back);
    let slowest_of = |p| {
        slowest
            .values()
            .try_fold(0.0_f64, |acc, s| s.of(p).map(|d| acc.max(d)))
            .filter(|_| !a.services.is_empty())
    };
    Design {
        rto_p50_seconds: slowest_of(crate::model::Percentile::P50),
        rto_p90_seconds: slowest_of(crate::model::Percentile::P90),
        rto_p99_seconds: slowest_of(crate::model::Percentile::P99),
        percentiles_from_floor: from_floor,
        rto_percentile: a.verdict.rto_percentile,
        rto_percentile_seconds: a.verdict.rto_percentile_seconds,
        name: name.to_string(),
        path: path.to_string(),
        routing: routing.into_iter().collect(),
        data_patterns: data_patterns(a).into_iter().collect(),
        regions: regions.into_iter().collect(),
        rto_floor_seconds: a.verdict.rto_seconds,
        rto_case: a.verdict.rto_case,
        critical_path: worst,
        rpo_seconds: a.verdict.rpo_seconds,
        rpo_case: a.verdict.rpo_case,
        monthly_usd: a.cost.monthly_usd,
        cost_complete: a.cost.complete,
        cost_ratio: (cheapest > 0.0 && cheapest.is_finite())
            .then(|| (a.cost.monthly_usd / cheapest * 100.0).round() / 100.0),
        cost_ratio_at_least: !a.cost.complete,
        rto_objective_seconds: t
            .objectives
            .as_ref()
            .and_then(|o| o.rto)
            .map(Duration::as_secs_f64),
        objectives,
        objectives_not_met: not_met,
        no_recovery: a.verdict.no_recovery.clone(),
        passed: a.verdict.passed,
    }
}
