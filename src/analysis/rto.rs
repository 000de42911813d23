//! The recovery timeline of losing one AWS region, and its critical path.
//!
//! A loss is the loss of an AWS region: every region block of the service in it (its
//! `aws_region`) is lost together. The timeline is a small DAG: the loss, then detection, then
//! the steps that run in parallel (resolvers dropping the cached answer, promoting a replica,
//! scaling up the regions that take the lost load), then recovery. Its longest path is the RTO
//! floor: `floor = detection + max(shift, promotion, scale-up)`.
//!
//! Who takes the lost load follows Route 53's routing policies (developer guide, "Choosing a
//! routing policy" and "How Amazon Route 53 chooses records when health checking is
//! configured"): failover sends everything to the secondary; weighted spreads the lost share
//! over the surviving non-zero weights, or over the weight-0 records when no non-zero record
//! is left; latency sends each lost region's users to the next-nearest healthy region;
//! geolocation falls back to the record of the next larger area (subdivision, country,
//! continent, `*`). A survivor scales up only when its new share of the load exceeds its
//! `capacity`.

use super::{geo, ALIAS_TTL};
use crate::duration::Duration;
use crate::model::{
    Consistency, Data, DataPattern, Endpoint, HealthCheckType, PromotionMode, Region, Role,
    Routing, Service, Topology,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Detection,
    TrafficShift,
    Promotion,
    ScaleUp,
}

/// One step of a recovery timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub kind: StepKind,
    /// What the step is, with its arithmetic: `detect 10 s x 3 = 30 s`.
    pub formula: String,
    /// `None` when it cannot be computed.
    pub seconds: Option<Duration>,
    /// Where a declared range (`promotion_min`, `scale_up_max`, ...) spreads the step: what
    /// `analyze --distribution` draws from. None: the step takes its value every time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

/// One part of a step as drawn: triangular over (min, typical, max), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Part {
    pub min_seconds: f64,
    pub typical_seconds: f64,
    pub max_seconds: f64,
}

impl Part {
    fn of(typical: Duration, range: Option<crate::model::Range>) -> Part {
        let r = range.unwrap_or(crate::model::Range {
            min: typical,
            max: typical,
        });
        Part {
            min_seconds: r.min.as_secs_f64(),
            typical_seconds: typical.as_secs_f64(),
            max_seconds: r.max.as_secs_f64(),
        }
    }
}

/// How a step's parts make its time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "of", content = "parts")]
pub enum Spread {
    /// One after the other (deciding, then promoting).
    Sum(Vec<Part>),
    /// Side by side: the slowest decides (each region that must scale up).
    Max(Vec<Part>),
}

impl Spread {
    /// The fastest and slowest the step can take.
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Spread::Sum(p) => (
                p.iter().map(|x| x.min_seconds).sum(),
                p.iter().map(|x| x.max_seconds).sum(),
            ),
            Spread::Max(p) => (
                p.iter().map(|x| x.min_seconds).fold(0.0, f64::max),
                p.iter().map(|x| x.max_seconds).fold(0.0, f64::max),
            ),
        }
    }

    /// ` (range 30-120 s)`, for a formula.
    fn words(&self) -> String {
        let (lo, hi) = self.bounds();
        format!(" (range {}-{} s)", trim(lo), trim(hi))
    }
}

fn trim(v: f64) -> String {
    let v = (v * 1000.0).round() / 1000.0;
    if v.fract() == 0.0 {
        format!("{}", v as u64)
    } else {
        format!("{v}")
    }
}

/// Why a floor has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownKind {
    /// Nothing can take the traffic or the writes: no automatic recovery exists.
    NoRecovery,
    /// An input the floor needs is not declared.
    Unknown,
}

/// A floor that has no value, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    pub kind: UnknownKind,
    pub reason: String,
}

/// A surviving region's share of the load before and after the loss.
#[derive(Debug, Clone, Serialize)]
pub struct Taker {
    pub region: String,
    pub share_before: f64,
    pub share_after: f64,
    pub capacity: f64,
    /// Its new share exceeds its capacity.
    pub must_scale: bool,
}

/// What losing a region does to a service's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteEffect {
    /// The lost region holds no writer: no write fails, none is lost.
    Untouched,
    /// A writer (the primary, a shard's home) is lost: its writes fail until a replica is
    /// promoted, and those not yet replicated are lost.
    Promote,
    /// Eventual multi-master: the lost region accepted writes; its users write elsewhere once
    /// moved, and its unreplicated writes are at risk.
    Unreplicated,
    /// Strong multi-master: a vote is lost, a majority remains.
    QuorumKept,
    /// Strong multi-master: no majority remains, writes stop.
    QuorumLost,
}

impl WriteEffect {
    /// The loss can lose acknowledged writes (up to the RPO).
    pub fn risks_writes(self) -> bool {
        matches!(
            self,
            WriteEffect::Promote | WriteEffect::Unreplicated | WriteEffect::QuorumLost
        )
    }

    /// Writes fail until recovery (or for ever, without one).
    pub fn writes_fail(self) -> bool {
        matches!(self, WriteEffect::Promote | WriteEffect::QuorumLost)
    }

    /// The lost region held a writer or a vote.
    pub fn holds_writes(self) -> bool {
        self != WriteEffect::Untouched
    }
}

/// The timeline of losing one AWS region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionLoss {
    /// The AWS region lost.
    pub region: String,
    /// The service's region blocks in it.
    pub labels: Vec<String>,
    /// False when the lost regions serve no traffic (a failover secondary, weight 0).
    pub carries_traffic: bool,
    /// The lost region holds a writer (primary, shard home, an eventual multi-master region
    /// serving users) or a quorum vote: `writes` is not `untouched`.
    pub holds_writes: bool,
    /// What the loss does to writes.
    pub writes: WriteEffect,
    /// The acknowledged writes the loss can lose: the service's RPO where a writer is lost,
    /// 0 where none is; null when that RPO is unknown.
    pub writes_at_risk_seconds: Option<Duration>,
    /// What detects the loss (`detect 10 s x 3 = 30 s`); null when nothing declared does: no
    /// health check, or no record of the service in the lost region (a witness, a dependency's
    /// home).
    pub detected_by: Option<String>,
    /// Why detection's timing cannot be known, when something may detect the loss but its
    /// timing is not declared (a load balancer's checks, an undeclared alias target).
    pub detection_unknown: Option<String>,
    pub steps: Vec<Step>,
    /// The RTO floor when the region fails fast (interval x threshold detection); `None`
    /// when it cannot be computed (see `unknown`).
    pub floor_seconds: Option<Duration>,
    /// The floor when the region goes dark: every probe also waits the connect timeout.
    pub dark_floor_seconds: Option<Duration>,
    /// The steps on the longest path, in order.
    pub critical_path: Vec<StepKind>,
    /// The whole computation on one line.
    pub formula: String,
    /// Why the floor is unknown, when it is.
    pub unknown: Option<Unknown>,
    /// Inputs the floor needs and the topology does not declare.
    pub missing: Vec<String>,
    /// The surviving regions that take the lost load.
    pub takers: Vec<Taker>,
    /// Geolocation: locations whose users have no healthy record left.
    pub stranded: Vec<String>,
    /// What else the loss does, beside the floor.
    pub notes: Vec<String>,
}

impl RegionLoss {
    /// The floor under the figure an RTO objective gates on.
    pub fn floor_under(&self, case: crate::model::RtoCase) -> Option<Duration> {
        match case {
            crate::model::RtoCase::Fast => self.floor_seconds,
            crate::model::RtoCase::Dark => self.dark_floor_seconds,
        }
    }

    /// Its computation, or why it has none: `unknown: <why>`.
    pub fn formula_or_why(&self) -> String {
        match &self.unknown {
            Some(u) => format!("unknown: {}", u.reason),
            None => self.formula.clone(),
        }
    }
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{} s", s as u64)
    } else {
        format!("{s} s")
    }
}

fn pct(v: f64) -> String {
    let p = (v * 1000.0).round() / 10.0;
    if p.fract() == 0.0 {
        format!("{} %", p as i64)
    } else {
        format!("{p} %")
    }
}

/// One timeline per AWS region the service runs in, in region order.
/// Every AWS region the topology names (services and dependencies), each once: what a
/// service's losses are looked for in beyond its own regions. Computed once per analysis.
pub fn topology_regions(t: &Topology) -> BTreeSet<&str> {
    t.services
        .values()
        .flat_map(|o| o.regions.values().map(|r| r.aws_region.as_str()))
        .chain(
            t.dependencies
                .values()
                .flat_map(|d| d.regions.iter().map(String::as_str)),
        )
        .collect()
}

/// What losing each region (its own, its witness's, and any of `everywhere` whose loss stalls
/// it through a dependency) does to `s`.
pub fn region_losses(s: &Service, t: &Topology, everywhere: &BTreeSet<&str>) -> Vec<RegionLoss> {
    let witness = s.data.as_ref().and_then(|d| d.witness.as_deref());
    let aws: BTreeSet<&str> = s
        .regions
        .values()
        .map(|r| r.aws_region.as_str())
        .chain(witness)
        .collect();
    let shares = steady_shares(s);
    // Regions the service does not run in matter when losing them stalls it (a dependency).
    let elsewhere: BTreeSet<&str> = everywhere
        .iter()
        .copied()
        .filter(|a| !aws.contains(a) && stalled(s, t, a).is_some())
        .collect();
    let mut all = aws;
    all.extend(elsewhere);
    all.into_iter().map(|a| loss(s, t, a, &shares)).collect()
}

/// Why losing `aws` stalls a surviving region of `s` (a dependency it cannot reach), if so.
fn stalled(s: &Service, t: &Topology, aws: &str) -> Option<String> {
    let reasons: Vec<String> = s
        .regions
        .iter()
        .filter(|(_, r)| r.aws_region != aws)
        .filter_map(|(label, _)| super::needs::stall(t, s, label, super::needs::Cut::Lost(aws)))
        .map(|st| st.reason)
        .collect();
    (!reasons.is_empty()).then(|| format!("surviving regions stall: {}", reasons.join("; ")))
}

/// Each region's steady share of the service's traffic.
pub fn steady_shares(s: &Service) -> BTreeMap<String, f64> {
    let n = s.regions.len().max(1) as f64;
    let equal = |_: &Region| 1.0 / n;
    match s.routing {
        Routing::Failover => s
            .regions
            .values()
            .map(|r| {
                let share = if r.role == Some(Role::Secondary) {
                    0.0
                } else {
                    1.0
                };
                (r.name.clone(), share)
            })
            .collect(),
        Routing::Weighted => {
            let total: f64 = s.regions.values().map(weight).sum();
            s.regions
                .values()
                .map(|r| {
                    let share = if total > 0.0 {
                        weight(r) / total
                    } else {
                        equal(r)
                    };
                    (r.name.clone(), share)
                })
                .collect()
        }
        Routing::Latency | Routing::Geolocation => s
            .regions
            .values()
            .map(|r| (r.name.clone(), r.load_share.unwrap_or_else(|| equal(r))))
            .collect(),
    }
}

fn weight(r: &Region) -> f64 {
    f64::from(r.weight.unwrap_or(0))
}

/// Where the lost load goes: shares received by label, or why nothing can take it.
struct Moved {
    received: BTreeMap<String, f64>,
    /// Geolocation locations whose users have nowhere to go.
    stranded: Vec<String>,
    /// How the choice was made, for the notes.
    how: Vec<String>,
}

fn moved(
    s: &Service,
    lost: &BTreeSet<&str>,
    lost_share: f64,
    shares: &BTreeMap<String, f64>,
) -> Moved {
    let mut m = Moved {
        received: BTreeMap::new(),
        stranded: Vec::new(),
        how: Vec::new(),
    };
    let survivors: Vec<&Region> = s
        .regions
        .values()
        .filter(|r| !lost.contains(r.name.as_str()))
        .collect();
    match s.routing {
        Routing::Failover => {
            if let Some(sec) = survivors.iter().find(|r| r.role == Some(Role::Secondary)) {
                if lost_share > 0.0 {
                    m.received.insert(sec.name.clone(), lost_share);
                }
            }
        }
        Routing::Weighted => {
            let lost_weighted = lost
                .iter()
                .any(|l| s.regions.get(*l).is_some_and(|r| weight(r) > 0.0));
            weighted(&survivors, lost_share, lost_weighted, &mut m);
        }
        Routing::Latency => latency(s, lost, &survivors, shares, &mut m),
        Routing::Geolocation => geolocation(s, lost, shares, &mut m),
    }
    m
}

/// Weighted: the lost share goes to the surviving non-zero weights in proportion; with none
/// left, Route 53 answers with the weight-0 records, equally (as it does when every weight is
/// 0 from the start).
fn weighted(survivors: &[&Region], lost_share: f64, lost_weighted: bool, m: &mut Moved) {
    if lost_share <= 0.0 {
        return;
    }
    let total: f64 = survivors.iter().map(|r| weight(r)).sum();
    if total > 0.0 {
        for r in survivors.iter().filter(|r| weight(r) > 0.0) {
            m.received
                .insert(r.name.clone(), lost_share * weight(r) / total);
        }
        return;
    }
    if !survivors.is_empty() {
        if lost_weighted {
            m.how.push(
                "no record with a non-zero weight is left: Route 53 answers with the weight-0 records, equally"
                    .into(),
            );
        }
        let each = lost_share / survivors.len() as f64;
        for r in survivors {
            m.received.insert(r.name.clone(), each);
        }
    }
}

/// Latency: each lost region's users go to its `failover_to`, else to the surviving region
/// with the lowest typical round-trip time from it.
fn latency(
    s: &Service,
    lost: &BTreeSet<&str>,
    survivors: &[&Region],
    shares: &BTreeMap<String, f64>,
    m: &mut Moved,
) {
    for l in lost {
        let Some(r) = s.regions.get(*l) else { continue };
        let share = shares.get(*l).copied().unwrap_or(0.0);
        let declared = r
            .failover_to
            .iter()
            .find(|t| survivors.iter().any(|x| &x.name == *t));
        let target = match declared {
            Some(t) => {
                m.how.push(format!("{l}'s users go to {t} (failover_to)"));
                Some(t.clone())
            }
            None => nearest(r, survivors, shares, m),
        };
        if let Some(t) = target {
            *m.received.entry(t).or_default() += share;
        }
    }
}

/// The surviving region nearest `r` by typical round-trip time. Regions equally near are a tie
/// Route 53's own measurements decide: the one left with the least spare capacity is assumed
/// (the worse case), and the note says so.
fn nearest(
    r: &Region,
    survivors: &[&Region],
    shares: &BTreeMap<String, f64>,
    m: &mut Moved,
) -> Option<String> {
    let timed: Vec<(u32, &Region)> = survivors
        .iter()
        .filter_map(|x| geo::rtt_ms(&r.aws_region, &x.aws_region).map(|ms| (ms, *x)))
        .collect();
    let best = timed.iter().map(|(ms, _)| *ms).min()?;
    let tied: Vec<&Region> = timed
        .iter()
        .filter(|(ms, _)| *ms == best)
        .map(|(_, x)| *x)
        .collect();
    let spare = |x: &Region| {
        x.capacity
            - shares.get(&x.name).copied().unwrap_or(0.0)
            - m.received.get(&x.name).copied().unwrap_or(0.0)
    };
    let pick = tied.iter().min_by(|a, b| {
        spare(a)
            .total_cmp(&spare(b))
            .then_with(|| a.name.cmp(&b.name))
    })?;
    if tied.len() > 1 {
        let names: Vec<&str> = tied.iter().map(|x| x.name.as_str()).collect();
        m.how.push(format!(
            "{}'s users go to {} ({} are equally near by typical round-trip time: assumed the one with the least spare capacity; set failover_to to say)",
            r.name,
            pick.name,
            names.join(" and ")
        ));
    } else {
        m.how.push(format!(
            "{}'s users go to {}, the nearest surviving region by typical round-trip time",
            r.name, pick.name
        ));
    }
    Some(pick.name.clone())
}

/// Geolocation: each lost location's users fall back to the record of the next larger area
/// that a surviving region holds; with none, they are stranded.
fn geolocation(s: &Service, lost: &BTreeSet<&str>, shares: &BTreeMap<String, f64>, m: &mut Moved) {
    let holder: BTreeMap<&str, &Region> = s
        .regions
        .values()
        .flat_map(|r| r.locations.iter().map(move |l| (l.as_str(), r)))
        .collect();
    for l in lost {
        let Some(r) = s.regions.get(*l) else { continue };
        let per_location = shares.get(*l).copied().unwrap_or(0.0) / r.locations.len().max(1) as f64;
        for location in &r.locations {
            let mut area = geo::parent(location);
            let taker = loop {
                match area {
                    None => break None,
                    Some(a) => match holder.get(a.as_str()) {
                        Some(h) if !lost.contains(h.name.as_str()) => break Some((a, *h)),
                        _ => area = geo::parent(&a),
                    },
                }
            };
            match taker {
                Some((a, h)) => {
                    m.how
                        .push(format!("{location} falls back to {a} in {}", h.name));
                    *m.received.entry(h.name.clone()).or_default() += per_location;
                }
                None => m.stranded.push(location.clone()),
            }
        }
    }
}

/// The connect timeout a Route 53 checker waits before a probe of a dark endpoint fails.
fn connect_timeout(kind: HealthCheckType) -> Duration {
    match kind {
        HealthCheckType::Tcp => Duration::from_secs(10),
        _ => Duration::from_secs(4),
    }
}

/// Detection of the loss: fast (interval x threshold) and dark (each probe also waits the
/// connect timeout). `Err` says why nothing detects it.
fn detection(s: &Service, t: &Topology, lost: &[&Region]) -> Result<(Step, Duration), Unknown> {
    group_detection(s, t, lost, 0)
}

/// How deep an alias chain is followed (a -> b -> c ...) before the detection is unknown.
const MAX_ALIAS_DEPTH: usize = 8;

/// The detection of losing the records `lost` of `s`: its accelerator, its health check, or,
/// without either, each lost record's own: an alias with `evaluate_target_health` inherits its
/// target's health, any other record is never marked unhealthy. The worst one decides: no
/// recovery over unknown over the slowest detection.
fn group_detection(
    s: &Service,
    t: &Topology,
    lost: &[&Region],
    depth: usize,
) -> Result<(Step, Duration), Unknown> {
    if let Some(a) = s.anycast.as_ref().filter(|a| a.accelerator.is_some()) {
        return accelerator_detection(a, lost);
    }
    let each: Vec<Result<(Step, Duration), Unknown>> = lost
        .iter()
        .map(|r| match (s.check(r), &r.endpoint) {
            (Some(h), _) => Ok(check_detection(h)),
            (None, Endpoint::Alias(a)) if a.evaluate_target_health => {
                alias_detection(s, t, a, &r.aws_region, depth)
            }
            (None, _) => Err(Unknown {
                kind: UnknownKind::NoRecovery,
                reason: format!(
                    "no health check watches {} of {}: Route 53 keeps answering with the lost region",
                    r.name, s.name
                ),
            }),
        })
        .collect();
    worst_detection(each).unwrap_or_else(|| {
        Err(Unknown {
            kind: UnknownKind::NoRecovery,
            reason: "no health check: Route 53 keeps answering with the lost region".into(),
        })
    })
}

/// The worst of several detections: no recovery, then unknown, then the slowest; None for
/// none.
fn worst_detection(
    each: Vec<Result<(Step, Duration), Unknown>>,
) -> Option<Result<(Step, Duration), Unknown>> {
    let rank = |d: &Result<(Step, Duration), Unknown>| match d {
        Err(u) if u.kind == UnknownKind::NoRecovery => (2, None),
        Err(_) => (1, None),
        Ok((step, _)) => (0, step.seconds),
    };
    each.into_iter()
        .reduce(|a, b| if rank(&b) > rank(&a) { b } else { a })
}

/// A health check's detection: `interval x threshold` fast, `threshold x (interval +
/// connect timeout)` dark.
fn check_detection(h: &crate::model::HealthCheck) -> (Step, Duration) {
    let fast = Duration::from_secs(u64::from(h.interval) * u64::from(h.failure_threshold));
    let timeout = connect_timeout(h.kind);
    let dark = Duration::from_secs(
        u64::from(h.failure_threshold) * (u64::from(h.interval) + timeout.as_millis() / 1000),
    );
    (
        Step {
            kind: StepKind::Detection,
            formula: format!(
                "detect {} s x {} = {}",
                h.interval,
                h.failure_threshold,
                secs(fast)
            ),
            seconds: Some(fast),
            spread: None,
        },
        dark,
    )
}

/// An alias with `evaluate_target_health` inherits its target's health (R53DG "How Amazon
/// Route 53 chooses records when health checking is configured"): to a record group of the
/// same zone, it is unhealthy only when every record of that group is. So when every record of
/// the group is in the lost AWS region, its detection is the group's (its checks, its
/// accelerator, or its own aliases', followed down the chain); a group with nothing watching it
/// is always healthy (no recovery). A group with records elsewhere keeps the alias healthy and
/// its users follow the group's own failover, and a group the topology does not declare, or a
/// load balancer, has timing Meridian cannot know: unknown, with the reason.
fn alias_detection(
    s: &Service,
    t: &Topology,
    a: &crate::model::Alias,
    lost_aws: &str,
    depth: usize,
) -> Result<(Step, Duration), Unknown> {
    let unknown = |reason: String| {
        Err(Unknown {
            kind: UnknownKind::Unknown,
            reason,
        })
    };
    if !in_zone(&a.name, &s.zone) {
        return unknown("detection by evaluate_target_health: the load balancer's health-check timing is not declared (add a health_check block)".into());
    }
    let Some(target) = same_zone_group(t, &s.zone, &a.name) else {
        return unknown(format!("the alias to {} evaluates the health of a record group this topology does not declare: its detection cannot be known", a.name));
    };
    if depth >= MAX_ALIAS_DEPTH {
        return unknown(format!("the alias to {} starts a chain of aliases deeper than {MAX_ALIAS_DEPTH}: its detection is not followed", a.name));
    }
    let lost: Vec<&Region> = target
        .regions
        .values()
        .filter(|r| r.aws_region == lost_aws)
        .collect();
    if lost.len() < target.regions.len() {
        return unknown(format!("the alias to {} stays healthy while that group has records outside {lost_aws}: these users follow {}'s own failover, which this loss does not model", a.name, target.name));
    }
    group_detection(target, t, &lost, depth + 1).map(|(mut step, dark)| {
        step.formula = format!("{} (via the alias to {})", step.formula, a.name);
        (step, dark)
    })
}

/// The TTL resolvers cache for an alias to `name` in `zone`: Route 53 answers with the target
/// record's TTL, and an alias target that is itself an alias passes its own target's on (the
/// longest of the group's records); an alias to a load balancer is 60 s.
fn group_ttl(t: &Topology, zone: &str, name: &str, depth: usize) -> Result<Duration, String> {
    let Some(target) = same_zone_group(t, zone, name) else {
        return Err(format!("a record in the same zone: its TTL is what resolvers cache, and {name} is not declared"));
    };
    if depth >= MAX_ALIAS_DEPTH {
        return Err(format!(
            "the chain of aliases from {name} is deeper than {MAX_ALIAS_DEPTH}"
        ));
    }
    if target
        .anycast
        .as_ref()
        .is_some_and(|a| a.accelerator.is_some())
    {
        return Ok(ALIAS_TTL);
    }
    let mut worst = Duration::ZERO;
    for r in target.regions.values() {
        let ttl = match &r.endpoint {
            Endpoint::Alias(a) if in_zone(&a.name, zone) => group_ttl(t, zone, &a.name, depth + 1)?,
            Endpoint::Alias(_) => ALIAS_TTL,
            _ => Duration::from_secs(u64::from(target.ttl)),
        };
        worst = worst.max(ttl);
    }
    Ok(worst)
}

/// The failure threshold of what watches `s` in the AWS region `aws` (its accelerator, its
/// health check, or the check an `evaluate_target_health` alias inherits from its same-zone
/// group, down the chain); None when nothing declared does, or only a load balancer whose
/// threshold is not declared.
pub fn watching_threshold(s: &Service, t: &Topology, aws: &str) -> Option<u32> {
    threshold_at(s, t, aws, 0)
}

fn threshold_at(s: &Service, t: &Topology, aws: &str, depth: usize) -> Option<u32> {
    if let Some(a) = s.anycast.as_ref().filter(|a| a.accelerator.is_some()) {
        return Some(a.threshold);
    }
    let here: Vec<&crate::model::Region> =
        s.regions.values().filter(|r| r.aws_region == aws).collect();
    if here.is_empty() {
        return s.health_check.as_ref().map(|h| h.failure_threshold);
    }
    // Every region there must be watched (one that is not keeps answering): the slowest to
    // trip decides.
    here.iter()
        .map(|r| match (s.check(r), &r.endpoint) {
            (Some(h), _) => Some(h.failure_threshold),
            (None, Endpoint::Alias(a)) if a.evaluate_target_health && depth < MAX_ALIAS_DEPTH => {
                same_zone_group(t, &s.zone, &a.name)
                    .and_then(|g| threshold_at(g, t, aws, depth + 1))
            }
            (None, _) => None,
        })
        .collect::<Option<Vec<u32>>>()
        .and_then(|v| v.into_iter().max())
}

/// The service whose records an alias to `name` in `zone` evaluates.
pub fn same_zone_group<'a>(t: &'a Topology, zone: &str, name: &str) -> Option<&'a Service> {
    t.services
        .values()
        .find(|o| o.domain == name && o.zone == zone)
}

/// Detection behind a Global Accelerator (developer guide, "Health check options"): the
/// accelerator's own checks (`interval x threshold`) for EC2 and Elastic IP endpoints (`ips`);
/// a load-balancer endpoint (an alias region) is as healthy as the load balancer says, after
/// the declared `lb_detection`. A CNAME target is not an endpoint an accelerator can have.
fn accelerator_detection(
    a: &crate::model::Anycast,
    lost: &[&Region],
) -> Result<(Step, Duration), Unknown> {
    let own = Duration::from_secs(u64::from(a.interval) * u64::from(a.threshold));
    let mut worst: Option<(Duration, String)> = None;
    for r in lost {
        let (d, formula) = match (&r.endpoint, a.lb_detection) {
            (Endpoint::Ips(_), _) => (
                own,
                format!("detect (accelerator) {} s x {} = {}", a.interval, a.threshold, secs(own)),
            ),
            (Endpoint::Alias(_), Some(lb)) => {
                (lb, format!("detect (load balancer, via the accelerator) {}", secs(lb)))
            }
            (Endpoint::Alias(_), None) => return Err(Unknown {
                kind: UnknownKind::Unknown,
                reason: format!("{} is a load-balancer endpoint of the accelerator: it follows the load balancer's health checks, whose timing is not declared (set anycast.lb_detection)", r.name),
            }),
            (Endpoint::Target(_), _) => return Err(Unknown {
                kind: UnknownKind::NoRecovery,
                reason: format!("{} is a CNAME target: an accelerator's endpoints are load balancers, EC2 instances or Elastic IPs", r.name),
            }),
        };
        if worst.as_ref().is_none_or(|(w, _)| d > *w) {
            worst = Some((d, formula));
        }
    }
    let (d, formula) = worst.unwrap_or((own, format!("detect (accelerator) {}", secs(own))));
    Ok((
        Step {
            kind: StepKind::Detection,
            formula,
            seconds: Some(d),
            spread: None,
        },
        d,
    ))
}

/// The TTL resolvers may cache for the lost records.
fn shift(s: &Service, t: &Topology, lost: &[&Region]) -> Result<Step, String> {
    if s.anycast.as_ref().is_some_and(|a| a.accelerator.is_some()) {
        return Ok(Step {
            kind: StepKind::TrafficShift,
            formula: "no DNS TTL (accelerator) 0 s".into(),
            seconds: Some(Duration::ZERO),
            spread: None,
        });
    }
    let mut worst: Option<(Duration, String)> = None;
    for r in lost {
        let (ttl, what) = match &r.endpoint {
            Endpoint::Alias(a) if in_zone(&a.name, &s.zone) => (
                group_ttl(t, &s.zone, &a.name, 0)
                    .map_err(|why| format!("{} is an alias to {}: {why}", r.name, a.name))?,
                format!("alias to {} in the zone: its TTL", a.name),
            ),
            Endpoint::Alias(_) => (ALIAS_TTL, "alias TTL".to_string()),
            _ => (Duration::from_secs(u64::from(s.ttl)), "DNS TTL".to_string()),
        };
        if worst.as_ref().is_none_or(|(w, _)| ttl > *w) {
            worst = Some((ttl, what));
        }
    }
    let (ttl, what) = worst.unwrap_or((Duration::ZERO, "DNS TTL".into()));
    Ok(Step {
        kind: StepKind::TrafficShift,
        formula: format!("{what} {}", secs(ttl)),
        seconds: Some(ttl),
        spread: None,
    })
}

fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Whether losing `lost` interrupts writes, and the quorum arithmetic when it is a vote.
enum Writes {
    Untouched,
    /// A writer was lost: a replica must be promoted.
    Promote(&'static str),
    /// Strong multi-master: a vote was lost but a majority remains.
    QuorumKept(String),
    /// Strong multi-master: no majority remains.
    QuorumLost(String),
}

fn writes(s: &Service, lost_aws: &str, lost: &[&Region], shares: &BTreeMap<String, f64>) -> Writes {
    let Some(d) = &s.data else {
        return Writes::Untouched;
    };
    // A partitioned design homes a shard in every region that serves users; a standby that
    // serves none (weight 0, failover secondary) homes none.
    let serves = |r: &&&Region| shares.get(&r.name).copied().unwrap_or(0.0) > 0.0;
    match d.pattern {
        DataPattern::PrimaryReplica
            if lost
                .iter()
                .any(|r| d.primary.as_deref() == Some(r.name.as_str())) =>
        {
            Writes::Promote("promote replica")
        }
        // Declared shard homes hold writes whether or not they serve users.
        DataPattern::Partitioned if !d.shards.is_empty() => {
            let homes_here = d
                .shards
                .values()
                .any(|home| lost.iter().any(|r| &r.name == home));
            if homes_here {
                Writes::Promote("promote shard replica")
            } else {
                Writes::Untouched
            }
        }
        DataPattern::Partitioned if lost.iter().any(|r| serves(&r)) => {
            Writes::Promote("promote shard replica")
        }
        DataPattern::MultiMaster if d.consistency == Consistency::Strong => {
            let voters = voters(s, d);
            let left = voters.iter().filter(|v| v.as_str() != lost_aws).count();
            let arithmetic = format!(
                "{left} of {} voting regions ({}) remain",
                voters.len(),
                voters.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            if left * 2 > voters.len() {
                Writes::QuorumKept(arithmetic)
            } else {
                Writes::QuorumLost(arithmetic)
            }
        }
        _ => Writes::Untouched,
    }
}

/// The AWS regions that vote in a strong multi-master quorum: every region of the service
/// and the witness.
pub fn voters(s: &Service, d: &Data) -> BTreeSet<String> {
    s.regions
        .values()
        .map(|r| r.aws_region.clone())
        .chain(d.witness.clone())
        .collect()
}

/// Promoting a replica after the writer's region is lost.
fn promotion(d: &Data, what: &str, missing: &mut Vec<String>) -> Step {
    let by = d
        .promoted_by
        .as_ref()
        .map(|b| format!(", by {b}"))
        .unwrap_or_default();
    let seconds = match (d.promotion_mode, d.promotion, d.decision_time) {
        (PromotionMode::Automatic, Some(p), _) => Some(p),
        (PromotionMode::Manual, Some(p), Some(decide)) => {
            Some(Duration::from_millis(decide.as_millis() + p.as_millis()))
        }
        _ => None,
    };
    if d.promotion.is_none() {
        missing.push(format!(
            "data.promotion: the lost region held writes and a replica must take over ({what})"
        ));
    }
    if d.promotion_mode == PromotionMode::Manual && d.decision_time.is_none() {
        missing.push(
            "data.decision_time: promotion is manual and the time to decide is not declared".into(),
        );
    }
    let formula = match (d.promotion_mode, d.promotion, d.decision_time) {
        (PromotionMode::Automatic, Some(p), _) => format!("{what} {} (automatic{by})", secs(p)),
        (PromotionMode::Manual, Some(p), Some(decide)) => format!(
            "decide {} + {what} {} = {} (manual{by})",
            secs(decide),
            secs(p),
            secs(Duration::from_millis(decide.as_millis() + p.as_millis()))
        ),
        (PromotionMode::Manual, _, _) => format!("decide + {what}: unknown (manual{by})"),
        (PromotionMode::Automatic, None, _) => format!("{what}: unknown"),
    };
    let spread = promotion_spread(d);
    Step {
        kind: StepKind::Promotion,
        formula: match &spread {
            Some(x) if seconds.is_some() => format!("{formula}{}", x.words()),
            _ => formula,
        },
        seconds,
        spread,
    }
}

/// A promotion's declared ranges: (decision, then) promotion, when any range is declared.
fn promotion_spread(d: &Data) -> Option<Spread> {
    let promote = Part::of(d.promotion?, d.promotion_range);
    match d.promotion_mode {
        PromotionMode::Automatic if d.promotion_range.is_some() => Some(Spread::Sum(vec![promote])),
        PromotionMode::Manual if d.promotion_range.is_some() || d.decision_time_range.is_some() => {
            let decide = Part::of(d.decision_time?, d.decision_time_range);
            Some(Spread::Sum(vec![decide, promote]))
        }
        _ => None,
    }
}

/// The surviving regions that take the lost load, with their shares before and after.
fn takers(
    s: &Service,
    shares: &BTreeMap<String, f64>,
    received: &BTreeMap<String, f64>,
) -> Vec<Taker> {
    received
        .iter()
        .filter_map(|(name, got)| {
            let r = s.regions.get(name)?;
            let before = shares.get(name).copied().unwrap_or(0.0);
            let after = before + got;
            Some(Taker {
                region: name.clone(),
                share_before: before,
                share_after: after,
                capacity: r.capacity,
                must_scale: after > r.capacity + 1e-9,
            })
        })
        .collect()
}

/// Scaling up the takers whose new share exceeds their capacity: the slowest one. Each needs
/// a declared `scale_up` and, when the service names its registry, the images in its region.
fn scale_up(
    s: &Service,
    t: &Topology,
    takers: &[Taker],
    missing: &mut Vec<String>,
    blocked: &mut Vec<String>,
) -> Option<Step> {
    let mut slowest: Option<(Duration, &Taker)> = None;
    for k in takers.iter().filter(|k| k.must_scale) {
        let Some(r) = s.regions.get(&k.region) else {
            continue;
        };
        if let Some(why) = images_missing(s, t, r) {
            blocked.push(why);
        }
        match r.scale_up {
            Some(d) => {
                if slowest.is_none_or(|(w, _)| d > w) {
                    slowest = Some((d, k));
                }
            }
            None => missing.push(format!(
                "{}.scale_up: after the loss it carries {} of the peak load with capacity {}",
                k.region,
                pct(k.share_after),
                pct(k.capacity)
            )),
        }
    }
    let any = takers.iter().any(|k| k.must_scale);
    if !any {
        return None;
    }
    let spread = scale_spread(s, takers);
    Some(match slowest {
        Some((d, k)) => Step {
            kind: StepKind::ScaleUp,
            formula: format!(
                "scale up {} to {} {}{}",
                k.region,
                pct(k.share_after),
                secs(d),
                spread.as_ref().map(Spread::words).unwrap_or_default()
            ),
            seconds: Some(d),
            spread,
        },
        None => Step {
            kind: StepKind::ScaleUp,
            formula: "scale up: unknown".into(),
            seconds: None,
            spread: None,
        },
    })
}

/// The scale-ups side by side, when a region that must scale up declares a range.
fn scale_spread(s: &Service, takers: &[Taker]) -> Option<Spread> {
    let regions: Vec<&Region> = takers
        .iter()
        .filter(|k| k.must_scale)
        .filter_map(|k| s.regions.get(&k.region))
        .collect();
    regions.iter().any(|r| r.scale_up_range.is_some()).then(|| {
        Spread::Max(
            regions
                .iter()
                .filter_map(|r| Some(Part::of(r.scale_up?, r.scale_up_range)))
                .collect(),
        )
    })
}

/// Why a region cannot scale up: the service's images are not replicated to it.
fn images_missing(s: &Service, t: &Topology, r: &Region) -> Option<String> {
    let reg = t.registries.get(s.images.as_deref()?)?;
    let present = reg.source == r.aws_region || reg.destinations.contains(&r.aws_region);
    (!present).then(|| {
        format!(
            "{} must scale up but the images of registry \"{}\" are not in {} (neither its source nor a replication destination)",
            r.name, reg.name, r.aws_region
        )
    })
}

/// A loss that costs nothing.
fn no_cost(aws: &str, labels: Vec<String>, notes: Vec<String>) -> RegionLoss {
    RegionLoss {
        region: aws.to_string(),
        labels,
        carries_traffic: false,
        holds_writes: false,
        writes: WriteEffect::Untouched,
        writes_at_risk_seconds: Some(Duration::ZERO),
        detected_by: None,
        detection_unknown: None,
        steps: Vec::new(),
        floor_seconds: Some(Duration::ZERO),
        dark_floor_seconds: Some(Duration::ZERO),
        critical_path: Vec::new(),
        formula: "serves no traffic and holds no writes => 0 s".into(),
        unknown: None,
        missing: Vec::new(),
        takers: Vec::new(),
        stranded: Vec::new(),
        notes,
    }
}

/// What the loss of one AWS region does to a service.
struct Impact<'a> {
    lost: Vec<&'a Region>,
    labels: Vec<String>,
    traffic: bool,
    writes: Writes,
    moved: Moved,
    takers: Vec<Taker>,
}

fn impact<'a>(s: &'a Service, aws: &str, shares: &BTreeMap<String, f64>) -> Impact<'a> {
    let lost: Vec<&Region> = s.regions.values().filter(|r| r.aws_region == aws).collect();
    let names: BTreeSet<&str> = lost.iter().map(|r| r.name.as_str()).collect();
    let lost_share: f64 = names
        .iter()
        .map(|l| shares.get(*l).copied().unwrap_or(0.0))
        .sum();
    let moved = moved(s, &names, lost_share, shares);
    let takers = takers(s, shares, &moved.received);
    Impact {
        labels: lost.iter().map(|r| r.name.clone()).collect(),
        traffic: lost_share > 0.0,
        writes: writes(s, aws, &lost, shares),
        lost,
        moved,
        takers,
    }
}

fn loss(s: &Service, t: &Topology, aws: &str, shares: &BTreeMap<String, f64>) -> RegionLoss {
    let i = impact(s, aws, shares);
    let detect = detection(s, t, &i.lost);
    // Without detection nothing moves: saying where the users would go would contradict it.
    let mut notes = if detect.is_ok() {
        i.moved.how.clone()
    } else {
        Vec::new()
    };
    notes.extend(image_source_note(s, t, aws));
    if let Writes::QuorumKept(a) = &i.writes {
        notes.push(format!("write quorum kept: {a}"));
    }
    let stall = stalled(s, t, aws);
    let effect = write_effect(s, &i);
    // Nothing can detect a region the service has no record in.
    let detected_by = match &detect {
        Ok((step, _)) if !i.lost.is_empty() => Some(step.formula.clone()),
        _ => None,
    };
    let detection_unknown = match &detect {
        Err(u) if u.kind == UnknownKind::Unknown && !i.lost.is_empty() => Some(u.reason.clone()),
        _ => None,
    };
    if !i.traffic
        && stall.is_none()
        && matches!(i.writes, Writes::Untouched | Writes::QuorumKept(_))
    {
        let mut out = no_cost(aws, i.labels, notes);
        if effect == WriteEffect::QuorumKept {
            out.formula =
                "serves no traffic; a vote is lost but the write quorum holds => 0 s".into();
        }
        out.holds_writes = effect.holds_writes();
        out.writes = effect;
        out.detected_by = detected_by;
        out.detection_unknown = detection_unknown;
        return out;
    }
    let mut missing = Vec::new();
    let mut blocked = Vec::new();
    let no_recovery = stall.or_else(|| no_recovery(s, &i));
    if let Err(u) = &detect {
        if u.kind == UnknownKind::Unknown {
            missing.push(u.reason.clone());
        }
    }
    let mut parallel = Vec::new();
    if i.traffic {
        match shift(s, t, &i.lost) {
            Ok(step) => parallel.push(step),
            Err(why) => missing.push(why),
        }
    }
    if let (Writes::Promote(what), Some(d)) = (&i.writes, &s.data) {
        parallel.push(promotion(d, what, &mut missing));
    }
    parallel.extend(scale_up(s, t, &i.takers, &mut missing, &mut blocked));
    let cause = no_recovery.or(blocked.first().cloned());
    let unknown = why_unknown(cause, &detect, i.traffic, aws, &mut missing);
    let mut out = timeline(aws, i.labels, detect, parallel, unknown);
    out.carries_traffic = i.traffic;
    out.holds_writes = effect.holds_writes();
    out.writes = effect;
    out.detected_by = detected_by;
    out.detection_unknown = detection_unknown;
    out.missing = missing;
    out.takers = i.takers;
    out.stranded = i.moved.stranded;
    out.notes = notes;
    out
}

/// Why the loss has no floor, when it has none: nothing recovers it (`cause`), nothing detects
/// it, or an input is missing (each also listed in `missing`).
fn why_unknown(
    cause: Option<String>,
    detect: &Result<(Step, Duration), Unknown>,
    traffic: bool,
    aws: &str,
    missing: &mut Vec<String>,
) -> Option<Unknown> {
    match (cause, detect) {
        (Some(reason), _) => Some(Unknown {
            kind: UnknownKind::NoRecovery,
            reason,
        }),
        (None, Err(_)) if !traffic => {
            let reason = format!(
                "nothing declared detects the loss of {aws}, which holds writes (add a health_check block)"
            );
            missing.push(reason.clone());
            Some(Unknown {
                kind: UnknownKind::Unknown,
                reason,
            })
        }
        (None, Err(u)) => Some(u.clone()),
        (None, Ok(_)) if !missing.is_empty() => Some(Unknown {
            kind: UnknownKind::Unknown,
            reason: missing.join("; "),
        }),
        _ => None,
    }
}

/// What the loss does to writes, for every surface that reports it.
fn write_effect(s: &Service, i: &Impact) -> WriteEffect {
    match &i.writes {
        Writes::Promote(_) => WriteEffect::Promote,
        Writes::QuorumKept(_) => WriteEffect::QuorumKept,
        Writes::QuorumLost(_) => WriteEffect::QuorumLost,
        Writes::Untouched => {
            let eventual = s.data.as_ref().is_some_and(|d| {
                d.pattern == DataPattern::MultiMaster && d.consistency == Consistency::Eventual
            });
            if eventual && i.traffic {
                WriteEffect::Unreplicated
            } else {
                WriteEffect::Untouched
            }
        }
    }
}

/// Why nothing can recover the loss, when that is so.
fn no_recovery(s: &Service, i: &Impact) -> Option<String> {
    if let Writes::QuorumLost(a) = &i.writes {
        return Some(format!("strong consistency loses its write quorum: {a}"));
    }
    if !i.moved.stranded.is_empty() {
        return Some(format!(
            "users of {} have no healthy record left (no `*` default, or it is in the lost region)",
            i.moved.stranded.join(", ")
        ));
    }
    let survivors = s.regions.len() - i.lost.len();
    if i.traffic && i.moved.received.is_empty() {
        return Some(if survivors == 0 {
            "every region of the service is in the lost AWS region: nothing survives to take the traffic".into()
        } else {
            "no surviving region takes the lost traffic".into()
        });
    }
    if matches!(i.writes, Writes::Promote(_)) && survivors == 0 {
        return Some("no replica survives to take the writes".into());
    }
    None
}

fn image_source_note(s: &Service, t: &Topology, aws: &str) -> Option<String> {
    let reg = t.registries.get(s.images.as_deref()?)?;
    (reg.source == aws).then(|| {
        format!(
            "registry \"{}\" loses its source region: destinations keep serving existing images, new pushes stop until {aws} returns",
            reg.name
        )
    })
}

/// The floor of a timeline: detection, then the slowest parallel step.
fn timeline(
    aws: &str,
    labels: Vec<String>,
    detect: Result<(Step, Duration), Unknown>,
    parallel: Vec<Step>,
    unknown: Option<Unknown>,
) -> RegionLoss {
    let (detect, dark_detect) = match detect {
        Ok((step, dark)) => (step, Some(dark)),
        Err(_) => (
            Step {
                kind: StepKind::Detection,
                formula: "detect: unknown".into(),
                seconds: None,
                spread: None,
            },
            None,
        ),
    };
    // Longest path: detection, then the slowest parallel step (first in order on a tie).
    let slowest = parallel
        .iter()
        .filter_map(|p| p.seconds.map(|d| (d, p)))
        .fold(None::<(Duration, &Step)>, |best, (d, p)| match best {
            Some((bd, _)) if bd >= d => best,
            _ => Some((d, p)),
        });
    let after = slowest.map_or(Duration::ZERO, |(d, _)| d);
    let add = |a: Duration| Duration::from_millis(a.as_millis().saturating_add(after.as_millis()));
    let known = unknown.is_none();
    let floor = detect.seconds.filter(|_| known).map(add);
    let dark = dark_detect.filter(|_| known).map(add);
    let mut critical_path = vec![StepKind::Detection];
    if let Some((_, p)) = slowest {
        critical_path.push(p.kind);
    }
    let formula = formula(&detect, &parallel, slowest.map(|(d, _)| d), floor, dark);
    let mut steps = vec![detect];
    steps.extend(parallel);
    RegionLoss {
        region: aws.to_string(),
        labels,
        carries_traffic: true,
        holds_writes: false,
        writes: WriteEffect::Untouched,
        writes_at_risk_seconds: Some(Duration::ZERO),
        detected_by: None,
        detection_unknown: None,
        steps,
        floor_seconds: floor,
        dark_floor_seconds: dark,
        critical_path,
        formula,
        unknown,
        missing: Vec::new(),
        takers: Vec::new(),
        stranded: Vec::new(),
        notes: Vec::new(),
    }
}

fn formula(
    detect: &Step,
    parallel: &[Step],
    slowest: Option<Duration>,
    floor: Option<Duration>,
    dark: Option<Duration>,
) -> String {
    let middle = match parallel {
        [] => None,
        [one] => Some(one.formula.clone()),
        many => {
            let terms: Vec<&str> = many.iter().map(|p| p.formula.as_str()).collect();
            let known = many.iter().all(|p| p.seconds.is_some());
            Some(match slowest {
                Some(d) if known => format!("max({}) = {}", terms.join(", "), secs(d)),
                _ => format!("max({}) = unknown", terms.join(", ")),
            })
        }
    };
    let end = match (floor, dark) {
        (Some(f), Some(d)) if d != f => format!("{} (dark region: {})", secs(f), secs(d)),
        (Some(f), _) => secs(f),
        (None, _) => "unknown".into(),
    };
    match middle {
        Some(m) => format!("{} -> {m} => {end}", detect.formula),
        None => format!("{} => {end}", detect.formula),
    }
}

/// Regions whose steady share already exceeds their capacity.
fn overloaded(s: &Service) -> Vec<String> {
    let shares = steady_shares(s);
    s.regions
        .values()
        .filter_map(|r| {
            let share = shares.get(&r.name).copied().unwrap_or(0.0);
            (share > r.capacity + 1e-9).then(|| {
                format!(
                    "{} carries {} of the load in steady state with capacity {}: it is overloaded before any loss",
                    r.name,
                    pct(share),
                    pct(r.capacity)
                )
            })
        })
        .collect()
}

/// Tail risks and behaviours reported beside the floor, never folded into it.
pub fn notes(s: &Service) -> Vec<String> {
    let mut notes = Vec::new();
    match s.anycast.as_ref().map(|a| a.accelerator.is_some()) {
        Some(true) => notes.push("anycast: established connections to a lost region stay until their idle timeout (TCP 340 s); only new connections move at the floor".into()),
        Some(false) => notes.push("anycast: the `anycast` block names no `accelerator`, so Meridian plans per-region records and the floor is theirs".into()),
        None => {}
    }
    notes.extend(overloaded(s));
    notes.push("about 8.7 % of resolvers extend TTLs, and JVMs cache DNS for 30 s by default (AWS recommends 5 s): some clients take longer than the floor".into());
    if let Some(h) = s.checks().next() {
        notes.push(format!(
            "the floor assumes a region that fails fast; one that goes dark fails each probe only after the {} connect timeout, and one that is sick but answering (say half its requests failing) may pass a {} check and never be detected",
            secs(connect_timeout(h.kind)),
            h.kind.as_str()
        ));
        notes.push(match s.routing {
            Routing::Failover => {
                "if both regions are unhealthy, Route 53 answers with the primary (fail open)"
                    .to_string()
            }
            _ => {
                "if every region is unhealthy, Route 53 answers as if all were healthy (fail open)"
                    .to_string()
            }
        });
    }
    if let Some(d) = &s.data {
        if d.pattern == DataPattern::MultiMaster && d.consistency == Consistency::Strong {
            notes.push("strong consistency: every write waits for a cross-region quorum round trip (50-150 ms between adjacent regions)".into());
        }
        if d.pattern == DataPattern::MultiMaster && d.consistency == Consistency::Eventual {
            notes.push("eventual multi-master: when a lost region returns, last-writer-wins can overwrite writes that had not replicated".into());
        }
    }
    notes
}
