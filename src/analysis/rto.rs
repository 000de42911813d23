//! The recovery timeline of losing one region, and its critical path.
//!
//! The timeline is a small DAG: the loss, then detection, then three steps that run in
//! parallel (resolvers dropping the cached answer, promoting a replica, scaling a standby),
//! then recovery. Its longest path is the RTO floor:
//! `floor = detection + max(shift, promotion, scale-up)`.

use super::ALIAS_TTL;
use crate::duration::Duration;
use crate::model::{DataPattern, Endpoint, Region, Role, Routing, Service};
use serde::Serialize;

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
    /// `None` when an input is missing.
    pub seconds: Option<Duration>,
}

/// The timeline of losing one region.
#[derive(Debug, Clone, Serialize)]
pub struct RegionLoss {
    pub region: String,
    /// False when the region serves no traffic (a failover secondary, weight 0): losing it
    /// costs no recovery.
    pub carries_traffic: bool,
    pub steps: Vec<Step>,
    /// The RTO floor of this loss; `None` when traffic never moves or an input is missing.
    pub floor_seconds: Option<Duration>,
    /// The steps on the longest path, in order.
    pub critical_path: Vec<StepKind>,
    /// The whole computation on one line.
    pub formula: String,
    /// Inputs the floor needs and the topology does not declare.
    pub missing: Vec<String>,
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{} s", s as u64)
    } else {
        format!("{s} s")
    }
}

pub fn region_losses(s: &Service) -> Vec<RegionLoss> {
    s.regions.values().map(|r| loss(s, r)).collect()
}

fn carries_traffic(s: &Service, r: &Region) -> bool {
    match s.routing {
        Routing::Failover => r.role != Some(Role::Secondary),
        Routing::Weighted => r.weight != Some(0) || s.regions.values().all(|o| o.weight == Some(0)),
        Routing::Latency | Routing::Geolocation => true,
    }
}

fn detection(s: &Service, r: &Region, missing: &mut Vec<String>) -> Step {
    if let Some(a) = &s.anycast {
        let d = Duration::from_secs(u64::from(a.interval) * u64::from(a.threshold));
        return Step {
            kind: StepKind::Detection,
            formula: format!(
                "detect (anycast) {} s x {} = {}",
                a.interval,
                a.threshold,
                secs(d)
            ),
            seconds: Some(d),
        };
    }
    if let Some(h) = &s.health_check {
        let d = Duration::from_secs(u64::from(h.interval) * u64::from(h.failure_threshold));
        return Step {
            kind: StepKind::Detection,
            formula: format!(
                "detect {} s x {} = {}",
                h.interval,
                h.failure_threshold,
                secs(d)
            ),
            seconds: Some(d),
        };
    }
    let eth = matches!(&r.endpoint, Endpoint::Alias(a) if a.evaluate_target_health);
    let why = if eth {
        "detection by evaluate_target_health: the load balancer's health-check timing is not declared (add a health_check block)"
    } else {
        "no health check: Route 53 never stops answering with this region"
    };
    missing.push(why.to_string());
    Step {
        kind: StepKind::Detection,
        formula: "detect: unknown".into(),
        seconds: None,
    }
}

fn shift(s: &Service, r: &Region) -> Step {
    if s.anycast.is_some() {
        return Step {
            kind: StepKind::TrafficShift,
            formula: "no DNS TTL (anycast) 0 s".into(),
            seconds: Some(Duration::ZERO),
        };
    }
    let (what, ttl) = match r.endpoint {
        Endpoint::Alias(_) => ("alias TTL", ALIAS_TTL),
        _ => ("DNS TTL", Duration::from_secs(u64::from(s.ttl))),
    };
    Step {
        kind: StepKind::TrafficShift,
        formula: format!("{what} {}", secs(ttl)),
        seconds: Some(ttl),
    }
}

fn promotion(s: &Service, r: &Region, missing: &mut Vec<String>) -> Option<Step> {
    let d = s.data.as_ref()?;
    let held_writes = match d.pattern {
        DataPattern::PrimaryReplica => d.primary.as_deref() == Some(r.name.as_str()),
        DataPattern::Partitioned => true,
        DataPattern::MultiMaster => false,
    };
    if !held_writes {
        return None;
    }
    let what = match d.pattern {
        DataPattern::PrimaryReplica => "promote replica",
        _ => "promote shard replica",
    };
    if d.promotion.is_none() {
        missing.push(format!(
            "data.promotion: {} held writes and a replica must take over",
            r.name
        ));
    }
    Some(Step {
        kind: StepKind::Promotion,
        formula: match d.promotion {
            Some(p) => format!("{what} {}", secs(p)),
            None => format!("{what}: unknown"),
        },
        seconds: d.promotion,
    })
}

/// The slowest surviving region that must scale up to take the lost region's traffic.
fn scale_up(s: &Service, lost: &Region) -> Option<Step> {
    let takers = s
        .regions
        .values()
        .filter(|o| o.name != lost.name)
        .filter(|o| match s.routing {
            // Failover: the other region takes everything.
            Routing::Failover => true,
            // Weighted: a weight-0 region takes traffic only when all others are unhealthy.
            Routing::Weighted => o.weight != Some(0),
            Routing::Latency | Routing::Geolocation => true,
        });
    takers
        .filter(|o| o.capacity < 1.0)
        .filter_map(|o| o.scale_up.map(|d| (d, o)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.name.cmp(&a.1.name)))
        .map(|(d, o)| Step {
            kind: StepKind::ScaleUp,
            formula: format!("scale up {} {}", o.name, secs(d)),
            seconds: Some(d),
        })
}

fn loss(s: &Service, r: &Region) -> RegionLoss {
    if !carries_traffic(s, r) {
        return RegionLoss {
            region: r.name.clone(),
            carries_traffic: false,
            steps: Vec::new(),
            floor_seconds: Some(Duration::ZERO),
            critical_path: Vec::new(),
            formula: "serves no traffic => 0 s".into(),
            missing: Vec::new(),
        };
    }
    let mut missing = Vec::new();
    let detect = detection(s, r, &mut missing);
    let parallel: Vec<Step> = [
        Some(shift(s, r)),
        promotion(s, r, &mut missing),
        scale_up(s, r),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Longest path: detection, then the slowest parallel step (first in order on a tie).
    let slowest = parallel
        .iter()
        .filter_map(|p| p.seconds.map(|d| (d, p)))
        .fold(None::<(Duration, &Step)>, |best, (d, p)| match best {
            Some((bd, _)) if bd >= d => best,
            _ => Some((d, p)),
        });
    let floor = match (detect.seconds, slowest, missing.is_empty()) {
        (Some(d), Some((p, _)), true) => Some(Duration::from_millis(
            d.as_millis().saturating_add(p.as_millis()),
        )),
        _ => None,
    };
    let mut critical_path = vec![StepKind::Detection];
    if let Some((_, p)) = slowest {
        critical_path.push(p.kind);
    }
    let middle = if parallel.len() == 1 {
        parallel[0].formula.clone()
    } else {
        let terms: Vec<&str> = parallel.iter().map(|p| p.formula.as_str()).collect();
        match slowest {
            Some((d, _)) => format!("max({}) = {}", terms.join(", "), secs(d)),
            None => format!("max({})", terms.join(", ")),
        }
    };
    let end = match floor {
        Some(f) => secs(f),
        None => "unknown".into(),
    };
    let formula = format!("{} -> {middle} => {end}", detect.formula);
    let mut steps = vec![detect];
    steps.extend(parallel);
    RegionLoss {
        region: r.name.clone(),
        carries_traffic: true,
        steps,
        floor_seconds: floor,
        critical_path,
        formula,
        missing,
    }
}

/// Tail risks and behaviours reported beside the floor, never folded into it.
pub fn notes(s: &Service) -> Vec<String> {
    let mut notes = Vec::new();
    if s.anycast.is_some() {
        notes.push("anycast: established connections to a lost region stay until their idle timeout (TCP 340 s); only new connections move at the floor".into());
    } else {
        notes.push("about 8.7 % of resolvers extend TTLs, and JVMs cache DNS for 30 s by default (AWS recommends 5 s): some clients take longer than the floor".into());
    }
    if s.health_check.is_some() || s.anycast.is_some() {
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
        if d.pattern == DataPattern::MultiMaster
            && d.consistency == crate::model::Consistency::Strong
        {
            notes.push("strong consistency: every write waits for a cross-region quorum round trip (50-150 ms between adjacent regions)".into());
        }
    }
    notes
}
