//! What a region of a service needs while serving, under a region loss or an isolation.
//!
//! A region of a service calls its dependencies (`dependency` blocks, `depends_on`). Under a
//! cut, a call to a copy in another AWS region may fail; a caller with no reachable copy and no
//! fallback stalls, and a stalled service stalls its own callers in turn. `analyze` uses the
//! loss case (a dependency homed only in the lost region makes that loss `no_recovery` for its
//! callers); `simulate` uses both.

use crate::duration::Duration;
use crate::model::{Fallback, Needed, Region, Role, Routing, Service, Topology};

/// How long the reference's game day blocks cross-region traffic.
pub const GAME_DAY: Duration = Duration::from_secs(30 * 60);

/// What is cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut<'a> {
    /// The AWS region is gone.
    Lost(&'a str),
    /// Traffic between the AWS region and every other region is blocked; users and Route 53's
    /// health checkers still reach it (the reference's game day).
    Isolated(&'a str),
}

impl Cut<'_> {
    /// Whether a caller in `from` reaches a copy in `to`.
    pub fn reaches(self, from: &str, to: &str) -> bool {
        match self {
            Cut::Lost(a) => from != a && to != a,
            Cut::Isolated(a) => from == to || (from != a && to != a),
        }
    }
}

/// Why a region stalls: the chain of calls from it to what it cannot reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// `api[eu-west-1] -> auth [us-east-1]`, then each further hop.
    pub path: Vec<String>,
    pub reason: String,
}

/// How deep a chain of services calling services is followed (cycles are rejected earlier).
const MAX_DEPTH: usize = 8;

/// Why region `label` of `s` (in AWS region `from`) cannot serve under `cut`, if it cannot.
pub fn stall(t: &Topology, s: &Service, label: &str, cut: Cut) -> Option<Stall> {
    stall_at(t, s, label, cut, 0)
}

fn stall_at(t: &Topology, s: &Service, label: &str, cut: Cut, depth: usize) -> Option<Stall> {
    let from = s.regions.get(label)?.aws_region.as_str();
    let here = format!("{}[{from}]", s.name);
    for (n, _) in t.needs(s, label) {
        let short_cache = match n {
            Needed::Dependency(d) => d.cache_ttl.filter(|ttl| *ttl < GAME_DAY),
            Needed::Service(_) => None,
        };
        let covered = match n.fallback() {
            Fallback::None => false,
            // A cache that runs out before the game day ends does not cover an isolation.
            Fallback::LocalCache => !(matches!(cut, Cut::Isolated(_)) && short_cache.is_some()),
            Fallback::Replica | Fallback::Static => true,
        };
        if covered {
            continue;
        }
        let why = short_cache
            .filter(|_| n.fallback() == Fallback::LocalCache)
            .map_or_else(
                || "has no fallback".to_string(),
                |ttl| {
                    format!(
                        "its local cache runs out after {ttl}, before a 30-minute isolation ends"
                    )
                },
            );
        match n {
            Needed::Dependency(d) => {
                if d.regions.iter().any(|h| cut.reaches(from, h)) {
                    continue;
                }
                return Some(Stall {
                    path: vec![format!("{here} -> {} [{}]", d.name, d.regions.join(", "))],
                    reason: format!(
                        "{} needs \"{}\", which lives only in {} and {why}",
                        here,
                        d.name,
                        d.regions.join(", ")
                    ),
                });
            }
            Needed::Service(o) => {
                if depth >= MAX_DEPTH {
                    continue;
                }
                if let Some(st) = service_stall(t, o, from, cut, depth) {
                    let mut path = vec![format!("{here} -> {}", o.name)];
                    path.extend(st.path);
                    return Some(Stall {
                        path,
                        reason: format!("{here} needs service \"{}\": {}", o.name, st.reason),
                    });
                }
            }
        }
    }
    None
}

/// The regions of `o` whose records Route 53 answers with under `cut`: a failover service
/// answers from its primary while the primary's health check passes (an isolated primary still
/// passes: the checkers reach it), from its secondary once the primary is lost; the other
/// policies from every region.
fn answering<'a>(o: &'a Service, cut: Cut) -> Vec<(&'a String, &'a Region)> {
    if o.routing != Routing::Failover {
        return o.regions.iter().collect();
    }
    let primary_lost = o
        .regions
        .values()
        .any(|r| r.role == Some(Role::Primary) && matches!(cut, Cut::Lost(a) if a == r.aws_region));
    let want = if primary_lost {
        Role::Secondary
    } else {
        Role::Primary
    };
    o.regions
        .iter()
        .filter(|(_, r)| r.role == Some(want))
        .collect()
}

/// Why no region of `o` that DNS answers with serves a caller in `from`, if none does.
fn service_stall(t: &Topology, o: &Service, from: &str, cut: Cut, depth: usize) -> Option<Stall> {
    let mut first = None;
    for (label, r) in answering(o, cut) {
        if !cut.reaches(from, &r.aws_region) {
            continue;
        }
        match stall_at(t, o, label, cut, depth + 1) {
            None => return None,
            Some(st) => {
                first.get_or_insert(st);
            }
        }
    }
    Some(first.unwrap_or_else(|| {
        let homes: std::collections::BTreeSet<&str> = answering(o, cut)
            .into_iter()
            .map(|(_, r)| r.aws_region.as_str())
            .collect();
        let homes: Vec<&str> = homes.into_iter().collect();
        Stall {
            path: Vec::new(),
            reason: format!("its records answer from {}, out of reach", homes.join(", ")),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::Cut;

    #[test]
    fn a_loss_cuts_the_lost_region_only_an_isolation_keeps_local_calls() {
        let lost = Cut::Lost("us-east-1");
        assert!(!lost.reaches("eu-west-1", "us-east-1"));
        assert!(lost.reaches("eu-west-1", "ap-southeast-1"));
        let isolated = Cut::Isolated("us-east-1");
        assert!(isolated.reaches("us-east-1", "us-east-1"));
        assert!(!isolated.reaches("us-east-1", "eu-west-1"));
        assert!(!isolated.reaches("eu-west-1", "us-east-1"));
        assert!(isolated.reaches("eu-west-1", "ap-southeast-1"));
    }
}
