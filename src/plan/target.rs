//! What a partial plan keeps: the changes `--target` asks for with what they need, and the
//! whole services that fit under the daily health-check creation cap (the rest wait for the
//! next apply).

use super::diff::Detail;
use super::{Action, PlanError, ResourceChange};
use crate::graph::{Address, Kind, ResourceGraph};
use crate::model::Topology;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Health checks one apply creates by default: the cap of Route 53's 2016 limits page, not
/// found on its current quotas page (docs/aws-facts.md); `health_check_creations_per_day`
/// in the provider block changes it.
pub const CREATIONS_PER_DAY: usize = 1000;

/// What waits for a later apply because the plan would create more health checks than the
/// cap: whole services, so each one applied is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    /// The creation cap (`health_check_creations_per_day`).
    pub cap: usize,
    /// Health checks this plan creates.
    pub creating: usize,
    /// Health checks the waiting services need (a later apply creates them).
    pub waiting_checks: usize,
    /// The services that wait, sorted.
    pub waiting: Vec<String>,
    /// Health checks no declared service owns (shared, or a removed service's) whose change
    /// waits until nothing does: a waiting service's records may still use them. Sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
}

/// What the first fit takes and leaves.
struct Taken {
    keep: BTreeSet<String>,
    creating: usize,
    waiting: Vec<String>,
    held: Vec<String>,
}

/// The changes a plan's dependency closures are taken over, indexed once.
pub struct Closure<'a> {
    graph: &'a ResourceGraph,
    declared: HashMap<String, &'a Address>,
    changes: HashMap<&'a str, &'a ResourceChange>,
    /// Per service, the addresses of its records that are only deleted.
    deleted_records: HashMap<&'a str, Vec<&'a str>>,
    /// Per region, the addresses of its replication changes.
    replication: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Closure<'a> {
    pub fn new(graph: &'a ResourceGraph, changes: &'a [ResourceChange]) -> Self {
        let mut deleted_records: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut replication: HashMap<&str, Vec<&str>> = HashMap::new();
        for c in changes {
            if c.kind == Kind::Record && c.change.actions == [Action::Delete] {
                deleted_records.entry(&c.name).or_default().push(&c.address);
            }
            if let Detail::Replication { region, .. } = &c.detail {
                replication.entry(region).or_default().push(&c.address);
            }
        }
        Closure {
            graph,
            declared: graph
                .resources()
                .iter()
                .map(|r| (r.address.to_string(), &r.address))
                .collect(),
            changes: changes.iter().map(|c| (c.address.as_str(), c)).collect(),
            deleted_records,
            replication,
        }
    }

    /// The addresses a plan of `targets` keeps: each target, what it depends on, and what a
    /// replacement or deletion among them needs.
    pub fn of(&self, targets: &[String]) -> Result<BTreeSet<String>, PlanError> {
        let mut keep: BTreeSet<String> = BTreeSet::new();
        for t in targets {
            let declared = self.declared.get(t).copied();
            if declared.is_none() && !self.changes.contains_key(t.as_str()) {
                return Err(PlanError::UnknownTarget(t.clone()));
            }
            keep.insert(t.clone());
            // What it depends on, transitively.
            let mut stack: Vec<&Address> = declared.into_iter().collect();
            while let Some(a) = stack.pop() {
                for dep in self.graph.dependencies(a) {
                    if keep.insert(dep.to_string()) {
                        stack.push(dep);
                    }
                }
            }
        }
        self.keep_users_of_removals(&mut keep);
        self.keep_whole_replication(&mut keep);
        Ok(keep)
    }

    /// A replacement or deletion also needs what uses the old object: the records using a
    /// health check, the records at a removed marker's name.
    fn keep_users_of_removals(&self, keep: &mut BTreeSet<String>) {
        let removing: Vec<&ResourceChange> = keep
            .iter()
            .filter_map(|a| self.changes.get(a.as_str()).copied())
            .filter(|c| c.change.actions.contains(&Action::Delete))
            .collect();
        for removed in removing {
            match removed.kind {
                Kind::HealthCheck => {
                    if let Some(a) = self.declared.get(&removed.address) {
                        keep.extend(self.graph.dependents(a).iter().map(ToString::to_string));
                    }
                }
                Kind::Owner => {
                    let records = self.deleted_records.get(removed.name.as_str());
                    keep.extend(records.into_iter().flatten().map(|a| a.to_string()));
                }
                Kind::Record | Kind::EcrRepository | Kind::EcrReplication => {}
            }
        }
    }

    /// A region's replication configuration is written whole: its changes go together.
    fn keep_whole_replication(&self, keep: &mut BTreeSet<String>) {
        let regions: BTreeSet<&str> = keep
            .iter()
            .filter_map(|a| self.changes.get(a.as_str()))
            .filter_map(|c| match &c.detail {
                Detail::Replication { region, .. } => Some(region.as_str()),
                _ => None,
            })
            .collect();
        for r in regions {
            let all = self.replication.get(r).into_iter().flatten();
            keep.extend(all.map(|a| a.to_string()));
        }
    }
}

/// The addresses a `--target` plan keeps.
pub fn targeted(
    graph: &ResourceGraph,
    changes: &[ResourceChange],
    targets: &[String],
) -> Result<BTreeSet<String>, PlanError> {
    Closure::new(graph, changes).of(targets)
}

fn creates_check(c: &ResourceChange) -> bool {
    c.kind == Kind::HealthCheck && c.change.actions.contains(&Action::Create)
}

/// Keeps the changes of whole services, in name order, while the health checks they create
/// stay within `cap` (0: no cap); the rest wait for a later apply, which takes the next ones.
/// A service that alone needs more than the cap can never be applied: that is an error.
pub fn within_cap(
    t: &Topology,
    graph: &ResourceGraph,
    changes: &mut Vec<ResourceChange>,
    cap: usize,
) -> Result<Option<Deferred>, PlanError> {
    let creating = changes.iter().filter(|c| creates_check(c)).count();
    if cap == 0 || creating <= cap {
        return Ok(None);
    }
    let Taken {
        keep,
        creating: taken,
        waiting,
        held,
    } = take_groups(t, graph, changes, cap)?;
    // What does nothing stays in the plan's picture.
    changes.retain(|c| c.is_no_op() || keep.contains(&c.address));
    Ok(Some(Deferred {
        cap,
        creating: taken,
        waiting_checks: creating - taken,
        waiting,
        held,
    }))
}

/// The groups a plan is taken in: services that alias one another's names in a zone go
/// together (an alias needs its target's records), each group's changes under its first name;
/// then each change to a check no declared service owns (shared, or left by a removed service)
/// that creates none (a shared check is created for the services using it).
fn groups(t: &Topology, changes: &[ResourceChange]) -> BTreeMap<(bool, Vec<String>), Vec<String>> {
    let together = together(t);
    let mut groups: BTreeMap<(bool, Vec<String>), Vec<String>> = BTreeMap::new();
    for c in changes.iter().filter(|c| !c.is_no_op()) {
        // A check no declared service owns: shared, or an orphan (named by its address).
        let unowned = c.kind == Kind::HealthCheck && !t.services.contains_key(&c.name);
        let key = if !unowned {
            let names = together.get(c.name.as_str()).cloned();
            (false, names.unwrap_or_else(|| vec![c.name.clone()]))
        } else if !creates_check(c) {
            (true, vec![c.address.clone()])
        } else {
            continue;
        };
        groups.entry(key).or_default().push(c.address.clone());
    }
    groups
}

/// Per service, the services it must be applied with (itself included, sorted): those whose
/// names its aliases target in its zone, and theirs, either way round.
fn together(t: &Topology) -> BTreeMap<&str, Vec<String>> {
    let mut links: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in t.services.values() {
        for r in s.regions.values() {
            let crate::model::Endpoint::Alias(a) = &r.endpoint else {
                continue;
            };
            // The analysis's notion of an alias to a service (it takes that service's TTL).
            let target = crate::analysis::same_zone_group(t, &s.zone, &a.name);
            if let Some(other) = target.filter(|o| o.name != s.name) {
                links.entry(&s.name).or_default().insert(&other.name);
                links.entry(&other.name).or_default().insert(&s.name);
            }
        }
    }
    let mut out = BTreeMap::new();
    for &start in links.keys() {
        if out.contains_key(start) {
            continue;
        }
        let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for &m in links.get(n).into_iter().flatten() {
                if seen.insert(m) {
                    stack.push(m);
                }
            }
        }
        let names: Vec<String> = seen.iter().map(|x| x.to_string()).collect();
        for n in seen {
            out.insert(n, names.clone());
        }
    }
    out
}

/// First fit over the groups in order.
fn take_groups(
    t: &Topology,
    graph: &ResourceGraph,
    changes: &[ResourceChange],
    cap: usize,
) -> Result<Taken, PlanError> {
    let closure = Closure::new(graph, changes);
    let creates: BTreeSet<&str> = changes
        .iter()
        .filter(|c| creates_check(c))
        .map(|c| c.address.as_str())
        .collect();
    let mut keep: BTreeSet<String> = BTreeSet::new();
    let mut taken: BTreeSet<&str> = BTreeSet::new();
    let (mut waiting, mut held) = (Vec::new(), Vec::new());
    for ((shared, names), targets) in groups(t, changes) {
        // A shared check's deletion waits while anything waits: a waiting service's records
        // may still use it (its users are no longer declared, so no closure finds them).
        let deletes = |a: &String| {
            changes
                .iter()
                .any(|c| c.address == *a && c.change.actions.contains(&Action::Delete))
        };
        if shared && !waiting.is_empty() && targets.iter().any(deletes) {
            held.extend(names);
            continue;
        }
        let needs = closure.of(&targets)?;
        let new: Vec<&str> = needs
            .iter()
            .filter_map(|a| creates.get(a.as_str()).copied())
            .filter(|a| !taken.contains(a))
            .collect();
        let alone = needs
            .iter()
            .filter(|a| creates.contains(a.as_str()))
            .count();
        if alone > cap {
            return Err(PlanError::CheckRate {
                what: names.join(", "),
                adding: alone,
                cap,
            });
        }
        if taken.len() + new.len() > cap {
            if shared { &mut held } else { &mut waiting }.extend(names);
            continue;
        }
        taken.extend(new);
        keep.extend(needs);
    }
    waiting.sort();
    held.sort();
    Ok(Taken {
        keep,
        creating: taken.len(),
        waiting,
        held,
    })
}
