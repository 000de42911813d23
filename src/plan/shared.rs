//! ECR replication rules shared between topologies. A registry's replication configuration is
//! one document per region, so two topologies that declare the same rule share one live rule,
//! which belongs to the one that wrote it: deleting it there stops the other's replication.
//! A plan names the other topologies under the same backend that declare each of its rules
//! (read from their manifests), and a rule it deletes that no known topology declares is
//! still said to be registry-wide.

use super::diff::Detail;
use super::Plan;
use crate::backend::Neighbour;
use crate::provider::ReplicationRule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A rule this plan declares or deletes, with the other topologies that declare it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRule {
    pub region: String,
    pub destinations: Vec<String>,
    pub filters: Vec<String>,
    /// `NAME (WHERE ITS MANIFEST IS)`, sorted; empty for a deleted rule no known topology
    /// declares.
    pub also_declared_by: Vec<String>,
    /// This plan deletes it.
    pub deleted: bool,
}

/// The rules of `plan` (declared: `declared`; deleted: its replication changes) that other
/// topologies declare too, and those it deletes.
pub fn shared_rules(
    plan: &Plan,
    declared: &BTreeMap<String, Vec<ReplicationRule>>,
    neighbours: &[Neighbour],
) -> Vec<SharedRule> {
    let deleted = deleted_rules(plan);
    let mut rules: Vec<(&String, &ReplicationRule)> = declared
        .iter()
        .flat_map(|(region, rules)| rules.iter().map(move |r| (region, r)))
        .chain(deleted.iter().map(|(region, r)| (*region, *r)))
        .collect();
    rules.sort();
    rules.dedup();
    let mut out = Vec::new();
    for (region, rule) in rules {
        let is_deleted = deleted.contains(&(region, rule));
        let mut others: Vec<String> = neighbours
            .iter()
            .filter(|n| {
                n.declared_rules
                    .get(region)
                    .is_some_and(|r| r.contains(rule))
            })
            .map(|n| format!("{} ({})", n.name, n.at))
            .collect();
        others.sort();
        if others.is_empty() && !is_deleted {
            continue;
        }
        out.push(SharedRule {
            region: region.clone(),
            destinations: rule.destinations.clone(),
            filters: rule.filters.clone(),
            also_declared_by: others,
            deleted: is_deleted,
        });
    }
    out
}

fn deleted_rules(plan: &Plan) -> Vec<(&String, &ReplicationRule)> {
    let mut out = Vec::new();
    for c in &plan.resource_changes {
        if let Detail::Replication { region, remove, .. } = &c.detail {
            out.extend(remove.iter().map(|r| (region, r)));
        }
    }
    out.sort();
    out.dedup();
    out
}
