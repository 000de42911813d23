//! ECR repositories (created, never deleted) and replication rules, matched by the
//! repositories they filter.

use super::*;

pub(super) fn ecr(graph: &ResourceGraph, live: &LiveState, identity: &Identity, d: &mut Diff) {
    let declared = repositories(graph, live, d);
    replication(graph, live, identity, &declared, d);
    for (region, repos) in &live.repositories {
        d.untouched.extend(
            repos
                .iter()
                .filter(|r| !declared.get(region).is_some_and(|d| d.contains(*r)))
                .map(|name| Untouched::Repository {
                    region: region.clone(),
                    name: name.clone(),
                }),
        );
    }
}

/// Declared repositories, created when missing; returns them by region.
pub(super) fn repositories(
    graph: &ResourceGraph,
    live: &LiveState,
    d: &mut Diff,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in graph.resources() {
        let ResourceSpec::EcrRepository(spec) = &r.spec else {
            continue;
        };
        declared
            .entry(spec.region.clone())
            .or_default()
            .insert(spec.name.clone());
        let exists = live
            .repositories
            .get(&spec.region)
            .is_some_and(|v| v.contains(&spec.name));
        let after = json!({"region": spec.region, "name": spec.name});
        d.changes.push(
            change(
                &r.address,
                vec![if exists { Action::NoOp } else { Action::Create }],
                None,
                Some(after),
                &[],
                None,
                vec![],
            )
            .with(Detail::Repository {
                region: spec.region.clone(),
                name: spec.name.clone(),
            }),
        );
    }
    declared
}

/// Replication: per source region, the topology's rules are those its last apply wrote
/// (exactly); each change carries only what to add to and remove from the live
/// configuration, which the apply re-reads just before writing. Every other rule is kept, and
/// one whose prefix filters reach a declared repository is reported as a conflict.
pub(super) fn replication(
    graph: &ResourceGraph,
    live: &LiveState,
    identity: &Identity,
    declared: &BTreeMap<String, BTreeSet<String>>,
    d: &mut Diff,
) {
    let mut by_region: BTreeMap<String, Vec<(&Address, ReplicationRule)>> = identity
        .rules
        .keys()
        .map(|r| (r.clone(), Vec::new()))
        .collect();
    for r in graph.resources() {
        let ResourceSpec::EcrReplication(spec) = &r.spec else {
            continue;
        };
        by_region.entry(spec.region.clone()).or_default().push((
            &r.address,
            ReplicationRule {
                destinations: spec.destinations.clone(),
                filters: spec.filters.clone(),
            },
        ));
    }
    for (region, wanted) in by_region {
        // A region whose configuration was not read cannot be planned.
        let Some(live_rules) = live.replication.get(&region) else {
            continue;
        };
        let region_state = RegionRules {
            region: &region,
            live: live_rules,
            written: identity.rules.get(&region).map_or(&[][..], Vec::as_slice),
            repositories: declared.get(&region),
        };
        region_replication(graph, &region_state, &wanted, d);
    }
}

/// What the diff of one region's replication reads.
pub(super) struct RegionRules<'a> {
    region: &'a str,
    live: &'a [ReplicationRule],
    /// What the last apply wrote here.
    written: &'a [ReplicationRule],
    /// The repositories the topology declares here.
    repositories: Option<&'a BTreeSet<String>>,
}

impl RegionRules<'_> {
    /// A rule that is not this topology's but replicates one of its repositories.
    pub(super) fn conflict(&self, rule: &ReplicationRule) -> Option<String> {
        let repos = self.repositories?;
        let hit = rule.filters.iter().find_map(|f| {
            repos
                .iter()
                .find(|r| r.starts_with(f.as_str()))
                .map(|r| (f, r))
        })?;
        Some(format!(
            "its filter \"{}\" also matches repository {}, which this topology replicates with its own rule; remove that rule or narrow its filter if {} should not also go to {}",
            hit.0,
            hit.1,
            hit.1,
            rule.destinations.join(", ")
        ))
    }
}

pub(super) fn region_replication(
    graph: &ResourceGraph,
    r: &RegionRules,
    wanted: &[(&Address, ReplicationRule)],
    d: &mut Diff,
) {
    let is_wanted = |x: &ReplicationRule| wanted.iter().any(|(_, w)| w == x);
    // Ours: what the last apply wrote, or a live rule exactly as declared.
    let (mut ours, others): (Vec<ReplicationRule>, Vec<ReplicationRule>) = r
        .live
        .iter()
        .cloned()
        .partition(|x| r.written.contains(x) || is_wanted(x));
    d.untouched
        .extend(others.iter().map(|x| Untouched::ReplicationRule {
            region: r.region.to_string(),
            destinations: x.destinations.clone(),
            filters: x.filters.clone(),
            conflict: r.conflict(x),
        }));
    let add: Vec<ReplicationRule> = wanted
        .iter()
        .map(|(_, w)| w.clone())
        .filter(|w| !r.live.contains(w))
        .collect();
    let remove: Vec<ReplicationRule> = ours.iter().filter(|x| !is_wanted(x)).cloned().collect();
    let region = r.region;
    let rule_json = |x: &ReplicationRule| json!({"region": region, "destinations": x.destinations, "filters": x.filters});
    let detail = || Detail::Replication {
        region: region.to_string(),
        add: add.clone(),
        remove: remove.clone(),
    };
    let paired = pair_rules(wanted, &mut ours);
    for ((address, rule), before) in wanted.iter().zip(paired) {
        let actions = match &before {
            Some(b) if b == rule => vec![Action::NoOp],
            Some(_) => vec![Action::Update],
            None => vec![Action::Create],
        };
        let before = before.as_ref().map(rule_json);
        let c = change(
            address,
            actions,
            before,
            Some(rule_json(rule)),
            &[],
            None,
            vec![],
        );
        d.changes.push(c.with(detail()));
    }
    // Our rules left unpaired are removed from the region's configuration.
    let named = retired_names(graph, region, &ours);
    for m in ours {
        let address = removed_address(&named, &m, region);
        let c = change(
            &address,
            vec![Action::Delete],
            Some(rule_json(&m)),
            None,
            &[],
            Some("delete_because_no_resource_config"),
            vec![],
        );
        d.changes.push(c.with(detail()));
    }
}

/// The rules of `ours` the topology declared before a destroy, with their declared addresses,
/// paired as declared rules pair with live ones (the same rule, else one sharing a filter).
pub(super) fn retired_names(
    graph: &ResourceGraph,
    region: &str,
    ours: &[ReplicationRule],
) -> Vec<(ReplicationRule, Address)> {
    let retired: Vec<(&Address, ReplicationRule)> = graph
        .retired_rules(region)
        .map(|(a, x)| {
            (
                a,
                ReplicationRule {
                    destinations: x.destinations.clone(),
                    filters: x.filters.clone(),
                },
            )
        })
        .collect();
    let mut unnamed = ours.to_vec();
    pair_rules(&retired, &mut unnamed)
        .into_iter()
        .zip(&retired)
        .filter_map(|(m, (a, _))| m.map(|m| (m, (*a).clone())))
        .collect()
}

/// The address of a rule this plan removes: its declared one, else one made of its content.
pub(super) fn removed_address(
    named: &[(ReplicationRule, Address)],
    m: &ReplicationRule,
    region: &str,
) -> Address {
    named
        .iter()
        .find(|(r, _)| r == m)
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| {
            Address::new(
                Kind::EcrReplication,
                &format!("_removed_{region}"),
                Some(&format!(
                    "{} -> {}",
                    m.filters.join(","),
                    m.destinations.join(",")
                )),
            )
        })
}

pub(super) fn pair_rules(
    wanted: &[(&Address, ReplicationRule)],
    managed: &mut Vec<ReplicationRule>,
) -> Vec<Option<ReplicationRule>> {
    let mut paired: Vec<Option<ReplicationRule>> = vec![None; wanted.len()];
    for (k, (_, rule)) in wanted.iter().enumerate() {
        if let Some(p) = managed.iter().position(|m| m == rule) {
            paired[k] = Some(managed.remove(p));
        }
    }
    for (k, (_, rule)) in wanted.iter().enumerate() {
        if paired[k].is_none() {
            if let Some(p) = managed
                .iter()
                .position(|m| m.filters.iter().any(|f| rule.filters.contains(f)))
            {
                paired[k] = Some(managed.remove(p));
            }
        }
    }
    paired
}
