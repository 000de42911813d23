//! Rehearsing a region loss on the model: a region gone, isolated (the reference's game day:
//! cross-region traffic blocked while users and Route 53's checkers still reach it) or sick
//! (reachable, failing a share of requests).
//!
//! Consumes a validated [`Topology`] and its [`Analysis`]; produces a [`Simulation`]. The loss
//! case reuses the analysis's region losses (so `simulate --all` agrees with `analyze`); the
//! dependencies follow [`crate::analysis::needs`]; detection of a sick region follows
//! [`crate::analysis::detection`]. Pure: nothing here prints.

use crate::analysis::detection;
use crate::analysis::needs::{self, Cut};
use crate::analysis::{steady_shares, Analysis, UnknownKind, WriteEffect};
use crate::duration::Duration;
use crate::model::{DataPattern, Service, Topology};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Version of the JSON document `meridian simulate --format json` prints.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// What happens to one AWS region.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scenario {
    Fail { region: String },
    Isolate { region: String },
    Degrade { region: String, error_rate: f64 },
}

impl Scenario {
    pub fn region(&self) -> &str {
        match self {
            Scenario::Fail { region }
            | Scenario::Isolate { region }
            | Scenario::Degrade { region, .. } => region,
        }
    }
}

/// One service under one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Keeps serving all of its traffic once recovery (if any) completes.
    pub serves_all: bool,
    /// The AWS regions still serving its users.
    pub serving: Vec<String>,
    /// Regions that stall, each with the chain of calls that breaks.
    pub stalled: Vec<StalledRegion>,
    /// Why writes fail, when some do.
    pub writes_fail: Option<String>,
    /// Whether anything moves users off the affected region, and why (not).
    pub detection: Detection,
    /// The RTO floor of the move (fail, or a degrade detection fires), as `analyze` computes it.
    pub rto_seconds: Option<Duration>,
    pub rto_formula: Option<String>,
    /// The writes at risk: the analysis's `writes_at_risk_seconds` for the loss (0 where the
    /// region holds no writer; null where that RPO is unknown, or for isolation and degrade).
    pub rpo_exposed_seconds: Option<Duration>,
    /// What the loss does to writes, as the analysis found (fail only).
    pub writes: Option<WriteEffect>,
    /// Share of the service's requests that fail while nothing moves (degrade).
    pub error_share: Option<f64>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StalledRegion {
    pub region: String,
    pub path: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    pub fires: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Simulation {
    pub scenario: Scenario,
    /// Services that run in, or depend on, the affected region; the others are untouched.
    pub services: BTreeMap<String, Outcome>,
    /// Services the scenario does not touch.
    pub untouched: Vec<String>,
}

/// Every AWS region of the topology (services, dependencies, witnesses), sorted.
pub fn regions(t: &Topology) -> Vec<String> {
    let mut set: BTreeSet<&str> = BTreeSet::new();
    for s in t.services.values() {
        set.extend(s.regions.values().map(|r| r.aws_region.as_str()));
        set.extend(s.data.as_ref().and_then(|d| d.witness.as_deref()));
    }
    for d in t.dependencies.values() {
        set.extend(d.regions.iter().map(String::as_str));
    }
    set.into_iter().map(str::to_string).collect()
}

pub fn simulate(t: &Topology, a: &Analysis, scenario: &Scenario) -> Simulation {
    let mut services = BTreeMap::new();
    let mut untouched = Vec::new();
    for s in t.services.values() {
        match outcome(t, a, s, scenario) {
            Some(o) => {
                services.insert(s.name.clone(), o);
            }
            None => untouched.push(s.name.clone()),
        }
    }
    Simulation {
        scenario: scenario.clone(),
        services,
        untouched,
    }
}

fn stalls(t: &Topology, s: &Service, cut: Cut) -> Vec<StalledRegion> {
    s.regions
        .iter()
        .filter(|(_, r)| !matches!(cut, Cut::Lost(a) if a == r.aws_region))
        .filter_map(|(label, r)| {
            needs::stall(t, s, label, cut).map(|st| StalledRegion {
                region: r.aws_region.clone(),
                path: st.path,
                reason: st.reason,
            })
        })
        .collect()
}

fn outcome(t: &Topology, a: &Analysis, s: &Service, sc: &Scenario) -> Option<Outcome> {
    let region = sc.region();
    let witness = s.data.as_ref().and_then(|d| d.witness.as_deref()) == Some(region);
    let runs_there = witness || s.regions.values().any(|r| r.aws_region == region);
    let cut = match sc {
        Scenario::Isolate { region } => Cut::Isolated(region),
        _ => Cut::Lost(region),
    };
    // A sick region's dependencies answer, slowly or not: only loss and isolation stall.
    let stalled = match sc {
        Scenario::Degrade { .. } => Vec::new(),
        _ => stalls(t, s, cut),
    };
    if !runs_there && stalled.is_empty() {
        return None;
    }
    if !runs_there {
        let mut o = stalled_only(s, region, stalled);
        // A loss it does not run in is still one of the analysis's losses: its figures.
        if let (Scenario::Fail { .. }, Some(l)) = (sc, loss_of(a, s, region)) {
            o.rto_seconds = l.floor_under(a.verdict.rto_case);
            o.rto_formula = Some(l.formula_or_why());
            o.rpo_exposed_seconds = l.writes_at_risk_seconds;
            o.writes = Some(l.writes);
        }
        return Some(o);
    }
    Some(match sc {
        Scenario::Fail { .. } => fail(a, s, region, stalled),
        Scenario::Isolate { .. } => isolate(s, region, stalled),
        Scenario::Degrade { error_rate, .. } => degrade((t, a), s, region, *error_rate, stalled),
    })
}

/// The failure threshold of what watches the service in `region` (its health check, its
/// accelerator's, or the check an `evaluate_target_health` alias inherits), for the
/// sick-region model: the analysis's rule ([`crate::analysis::watching_threshold`]). None when
/// nothing declared watches it there: no record in the region (a witness, a dependency's
/// home), or a load balancer whose threshold is not declared.
fn data_plane_detection(t: &Topology, s: &Service, region: &str) -> Option<u32> {
    if !s.regions.values().any(|r| r.aws_region == region) {
        return None;
    }
    crate::analysis::watching_threshold(s, t, region)
}

fn serving(s: &Service, gone: &BTreeSet<&str>, stalled: &[StalledRegion]) -> Vec<String> {
    let stalled: BTreeSet<&str> = stalled.iter().map(|x| x.region.as_str()).collect();
    let set: BTreeSet<&str> = s
        .regions
        .values()
        .map(|r| r.aws_region.as_str())
        .filter(|r| !gone.contains(r) && !stalled.contains(r))
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// The analysis's loss of `region` for `s`.
fn loss_of<'a>(
    a: &'a Analysis,
    s: &Service,
    region: &str,
) -> Option<&'a crate::analysis::RegionLoss> {
    a.services
        .get(&s.name)
        .and_then(|x| x.region_losses.iter().find(|l| l.region == region))
}

fn fail(a: &Analysis, s: &Service, region: &str, stalled: Vec<StalledRegion>) -> Outcome {
    let loss = loss_of(a, s, region);
    let recovers = loss.is_some_and(|l| {
        l.unknown
            .as_ref()
            .is_none_or(|u| u.kind != UnknownKind::NoRecovery)
    });
    // Detection, failing writes and writes at risk are the analysis's, never this module's.
    let detect = loss.and_then(|l| l.detected_by.clone());
    let why_not = || {
        match loss.and_then(|l| l.detection_unknown.as_deref()) {
        Some(why) => format!("detection unknown: {why}"),
        None if s.regions.values().any(|r| r.aws_region == region) => {
            "nothing declared detects the loss of the region: Route 53 keeps answering with it"
                .to_string()
        }
        None => format!("{} has no record in {region}: there is nothing for Route 53 to take out of its answers", s.name),
    }
    };
    let effect = loss.map(|l| l.writes);
    let promotion = s.data.as_ref().and_then(|d| d.promotion);
    let writes_fail = match effect {
        Some(WriteEffect::Promote) => Some(format!(
            "a writer (the primary, or a shard's home) is in {region}: its writes fail until a replica is promoted{}",
            promotion.map_or_else(String::new, |p| format!(" ({p})"))
        )),
        Some(WriteEffect::QuorumLost) => Some(format!(
            "losing {region} loses the write quorum: writes stop"
        )),
        _ => None,
    };
    Outcome {
        serves_all: recovers && stalled.is_empty(),
        serving: serving(s, &BTreeSet::from([region]), &stalled),
        writes_fail,
        detection: Detection {
            fires: detect.is_some(),
            why: detect.unwrap_or_else(why_not),
        },
        rto_seconds: loss.and_then(|l| l.floor_under(a.verdict.rto_case)),
        rto_formula: loss.map(crate::analysis::RegionLoss::formula_or_why),
        rpo_exposed_seconds: loss.and_then(|l| l.writes_at_risk_seconds),
        writes: effect,
        error_share: None,
        notes: loss.map(|l| l.notes.clone()).unwrap_or_default(),
        stalled,
    }
}

fn isolate(s: &Service, region: &str, stalled: Vec<StalledRegion>) -> Outcome {
    let mut notes = vec![format!(
        "users and Route 53's checkers still reach {region}: its records stay in the answers, nothing fails over"
    )];
    // Only regions that carry traffic write: an idle failover secondary loses nothing.
    let shares = steady_shares(s);
    let busy = |aws: &str| {
        s.regions
            .values()
            .any(|r| r.aws_region == aws && shares.get(&r.name).is_some_and(|x| *x > 0.0))
    };
    let writes_fail = s.data.as_ref().and_then(|d| match d.pattern {
        DataPattern::PrimaryReplica => {
            let primary = d.primary.as_ref().and_then(|p| s.regions.get(p))?;
            let mut others: Vec<&str> = s
                .regions
                .values()
                .filter(|r| r.aws_region != primary.aws_region && busy(&r.aws_region))
                .map(|r| r.aws_region.as_str())
                .collect();
            others.dedup();
            if primary.aws_region == region && !others.is_empty() {
                notes.push(format!(
                    "replicas outside {region} fall behind for as long as the isolation lasts"
                ));
                Some(format!(
                    "writes from {} cannot reach the primary in {region}",
                    others.join(", ")
                ))
            } else if primary.aws_region != region {
                notes.push(format!(
                    "the replica in {region} falls behind for as long as the isolation lasts"
                ));
                busy(region).then(|| {
                    format!(
                        "writes in {region} cannot reach the primary in {}",
                        primary.aws_region
                    )
                })
            } else {
                None
            }
        }
        DataPattern::MultiMaster if d.consistency == crate::model::Consistency::Strong => {
            busy(region).then(|| format!("{region} is cut from the write quorum: its writes fail"))
        }
        DataPattern::MultiMaster => {
            notes.push(format!(
                "writes on both sides of {region}'s isolation conflict when it heals"
            ));
            None
        }
        DataPattern::Partitioned => None,
    });
    Outcome {
        serves_all: stalled.is_empty() && writes_fail.is_none(),
        serving: serving(s, &BTreeSet::new(), &stalled),
        writes_fail,
        detection: Detection {
            fires: false,
            why: format!("{region} still answers its checkers"),
        },
        rto_seconds: None,
        rto_formula: None,
        rpo_exposed_seconds: None,
        writes: None,
        error_share: None,
        notes,
        stalled,
    }
}

/// A sick region: its share of the service's requests fail at rate `e` until (and unless) a
/// threshold check trips.
fn degrade(
    (t, a): (&Topology, &Analysis),
    s: &Service,
    region: &str,
    e: f64,
    stalled: Vec<StalledRegion>,
) -> Outcome {
    let share: f64 = {
        let shares = steady_shares(s);
        s.regions
            .values()
            .filter(|r| r.aws_region == region)
            .map(|r| shares.get(&r.name).copied().unwrap_or(0.0))
            .sum()
    };
    let Some(n) = data_plane_detection(t, s, region) else {
        return Outcome {
            serves_all: share * e == 0.0,
            error_share: Some(share * e),
            detection: Detection {
                fires: false,
                why: "nothing on the data plane watches the region".into(),
            },
            ..isolate_free(s, stalled)
        };
    };
    let u = detection::unhealthy_share(e, n);
    if detection::fires(e, n) {
        let mut o = fail(a, s, region, stalled);
        o.detection = Detection {
            fires: true,
            why: format!("at {:.0} % errors each checker reports unhealthy {:.0} % of the time (Route 53 fails over at 82 %)", e * 100.0, u * 100.0),
        };
        return o;
    }
    Outcome {
        // Nothing is lost when the sick region carries no traffic (a failover secondary).
        serves_all: share * e == 0.0,
        error_share: Some(share * e),
        detection: Detection {
            fires: false,
            why: format!(
                "at {:.0} % errors each checker reports unhealthy only {:.0} % of the time; Route 53 fails over at 82 % (this {n}-failure check trips above about {:.0} %)",
                e * 100.0,
                u * 100.0,
                detection::trip_rate(n) * 100.0
            ),
        },
        ..isolate_free(s, stalled)
    }
}

/// A service that does not run in the affected region, but whose regions stall because of it.
fn stalled_only(s: &Service, region: &str, stalled: Vec<StalledRegion>) -> Outcome {
    Outcome {
        serves_all: false,
        detection: Detection {
            fires: false,
            why: format!("{} does not run in {region}: its own health checks keep passing while its regions stall (unless they probe the dependency)", s.name),
        },
        ..isolate_free(s, stalled)
    }
}

/// An outcome where every region keeps its records (nothing moves).
fn isolate_free(s: &Service, stalled: Vec<StalledRegion>) -> Outcome {
    Outcome {
        serves_all: false,
        serving: serving(s, &BTreeSet::new(), &stalled),
        stalled,
        writes_fail: None,
        detection: Detection {
            fires: false,
            why: String::new(),
        },
        rto_seconds: None,
        rto_formula: None,
        rpo_exposed_seconds: None,
        writes: None,
        error_share: None,
        notes: Vec::new(),
    }
}
