//! What a region of a service needs while serving, under a region loss or an isolation.
//!
//! A region of a service calls its dependencies (`dependency` blocks, `depends_on`). Under a
//! cut, a call to a copy in another AWS region may fail; a caller with no reachable copy and no
//! fallback stalls, and a stalled service stalls its own callers in turn. `analyze` uses the
//! loss case (a dependency homed only in the lost region makes that loss `no_recovery` for its
//! callers); `simulate` uses both.

use crate::model::{Fallback, Needed, Service, Topology};

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
    /// The dependency or service it calls directly.
    pub need: String,
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
        if n.fallback() != Fallback::None {
            continue;
        }
        match n {
            Needed::Dependency(d) => {
                if d.regions.iter().any(|h| cut.reaches(from, h)) {
                    continue;
                }
                return Some(Stall {
                    need: d.name.clone(),
                    path: vec![format!("{here} -> {} [{}]", d.name, d.regions.join(", "))],
                    reason: format!(
                        "{} needs \"{}\", which lives only in {} and has no fallback",
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
                        need: o.name.clone(),
                        path,
                        reason: format!("{here} needs service \"{}\": {}", o.name, st.reason),
                    });
                }
            }
        }
    }
    None
}

/// Why no region of `o` answers a caller in `from`, if none does.
fn service_stall(t: &Topology, o: &Service, from: &str, cut: Cut, depth: usize) -> Option<Stall> {
    let mut first = None;
    for (label, r) in &o.regions {
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
        let homes: std::collections::BTreeSet<&str> =
            o.regions.values().map(|r| r.aws_region.as_str()).collect();
        let homes: Vec<&str> = homes.into_iter().collect();
        Stall {
            need: o.name.clone(),
            path: Vec::new(),
            reason: format!("it runs only in {}, out of reach", homes.join(", ")),
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
