//! Plans: what will change, as data (Terraform's plan JSON where the meaning is the same).
//!
//! Consumes the desired resource graph and the live state a [`Provider`] read; produces a
//! [`Plan`]: one [`ResourceChange`] per address with its actions, before and after values,
//! what is known only after apply, and why. A plan saved with `--out` also carries the
//! topology's sources and the live objects it was computed from, so `apply` can apply
//! exactly it, or refuse it when the cloud changed since.

pub mod apply;
pub mod diff;

use crate::analysis::Analysis;
use crate::graph::ResourceGraph;
use crate::hash;
use crate::provider::{LiveState, Provider, ProviderError, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Version of the plan document; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `["create"]`, `["update"]`, `["delete"]`, `["delete", "create"]` (replace), `["no-op"]`.
    pub actions: Vec<Action>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Attributes known only after apply, e.g. `{"id": true}`.
    pub after_unknown: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub key: Option<String>,
    pub change: Change,
    /// Why: `replace_because_cannot_update`, `delete_because_no_resource_config`, ...
    pub action_reason: Option<String>,
    /// The attributes that force a replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<String>,
}

impl ResourceChange {
    pub fn is_replace(&self) -> bool {
        self.change.actions == [Action::Delete, Action::Create]
    }

    pub fn is_no_op(&self) -> bool {
        self.change.actions == [Action::NoOp]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    /// Of those, replacements (each counted in add and destroy).
    pub replace: usize,
}

/// One file of the topology, kept in a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    pub name: String,
    pub text: String,
}

/// The recovery figures of the change: before (the live DNS settings with the declared data
/// and capacity) and after (the topology).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryChange {
    pub rto_floor_before_seconds: Option<f64>,
    pub rto_floor_after_seconds: Option<f64>,
    pub rpo_seconds: Option<f64>,
    pub objectives_breached: bool,
    pub objectives: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// Random per plan; part of the caller reference of every health check it creates.
    pub plan_id: String,
    /// Where live state came from: never mistake a local dry run for AWS.
    pub live_source: String,
    pub topology: String,
    /// A fingerprint of `prior_state`.
    pub prior_fingerprint: String,
    pub resource_changes: Vec<ResourceChange>,
    pub summary: Summary,
    /// Things the plan leaves alone on purpose.
    pub untouched: Vec<String>,
    pub recovery: Option<RecoveryChange>,
    /// The addresses `--target` limited the plan to (empty: everything).
    pub targets: Vec<String>,
    /// Whether the plan takes over names holding records Meridian did not create.
    pub adopt: bool,
    /// The topology's files (saved plans).
    pub sources: Vec<SourceText>,
    /// The live state the plan was computed from.
    pub prior_state: LiveState,
    /// API calls the read took, by operation (empty for the local store).
    #[serde(default)]
    pub api_calls: std::collections::BTreeMap<String, usize>,
    /// The absolute path of the local state store read, for `apply plan.json` from anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_path: Option<String>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.resource_changes.iter().any(|c| !c.is_no_op())
    }
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Provider(#[from] ProviderError),
    #[error("{}", foreign_message(.0))]
    #[diagnostic(
        code(meridian::plan::foreign_records),
        help("Meridian changes only names it created. To take these names over (their records will be replaced by the declared ones), run again with --adopt")
    )]
    Foreign(Vec<diff::Foreign>),
    #[error("no resource matches --target {0}")]
    #[diagnostic(
        code(meridian::plan::target),
        help("use an address from `meridian graph --format json`, e.g. record.api[\"us-east-1\"]")
    )]
    UnknownTarget(String),
}

fn foreign_message(f: &[diff::Foreign]) -> String {
    let parts: Vec<String> = f
        .iter()
        .map(|x| {
            let who = x
                .owner
                .as_ref()
                .map(|o| format!(", marked as owned by {o}"))
                .unwrap_or_default();
            format!(
                "{} (service {}) already holds records Meridian did not create: {}{who}",
                x.name,
                x.service,
                x.records.join(", ")
            )
        })
        .collect();
    parts.join("; ")
}

/// The zones and regions a graph touches.
pub fn scope(graph: &ResourceGraph) -> Scope {
    scope_with(graph, &[])
}

/// The zones and regions a graph touches, plus `extra_zones` (a topology's `zones`).
pub fn scope_with(graph: &ResourceGraph, extra_zones: &[String]) -> Scope {
    let mut zones: BTreeSet<String> = extra_zones.iter().cloned().collect();
    let mut regions = BTreeSet::new();
    for r in graph.resources() {
        match &r.spec {
            crate::graph::ResourceSpec::Owner(o) => {
                zones.insert(o.zone.clone());
            }
            crate::graph::ResourceSpec::Record(x) => {
                zones.insert(x.zone.clone());
            }
            crate::graph::ResourceSpec::EcrRepository(x) => {
                regions.insert(x.region.clone());
            }
            crate::graph::ResourceSpec::EcrReplication(x) => {
                regions.insert(x.region.clone());
            }
            crate::graph::ResourceSpec::HealthCheck(_) => {}
        }
    }
    Scope {
        zones: zones.into_iter().collect(),
        regions: regions.into_iter().collect(),
    }
}

/// A fingerprint of live state: stable across runs and Rust versions.
pub fn fingerprint(live: &LiveState) -> String {
    let text = serde_json::to_string(live).unwrap_or_default();
    hash::hex(&text, 16)
}

/// A fresh plan id.
pub fn new_plan_id(salt: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hash::hex(&format!("{now}-{}-{salt}", std::process::id()), 16)
}

/// Options of a plan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub adopt: bool,
    /// Limit to these addresses and what they depend on.
    pub targets: Vec<String>,
    /// Zones to read besides those of the graph (the topology's `zones`).
    pub zones: Vec<String>,
}

/// Everything `plan` computes: the plan document and the typed changes the apply engine
/// executes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub details: Vec<diff::Detail>,
}

/// Reads live state through `provider` and diffs the graph against it.
pub fn plan(
    graph: &ResourceGraph,
    topology_name: &str,
    provider: &dyn Provider,
    opts: &Options,
    plan_id: String,
) -> Result<Planned, PlanError> {
    let live = provider.read(&scope_with(graph, &opts.zones))?;
    let mut planned = plan_against(
        graph,
        topology_name,
        &live,
        provider.describe(),
        opts,
        plan_id,
    )?;
    // The plan keeps the state it was made from; move it rather than hold two copies.
    planned.plan.prior_state = live;
    Ok(planned)
}

/// The diff of `graph` against a given live state. The plan's `prior_state` is left empty;
/// [`plan`] fills it.
pub fn plan_against(
    graph: &ResourceGraph,
    topology_name: &str,
    live: &LiveState,
    live_source: String,
    opts: &Options,
    plan_id: String,
) -> Result<Planned, PlanError> {
    let d = diff::diff(graph, live, topology_name, opts.adopt);
    if !d.foreign.is_empty() {
        return Err(PlanError::Foreign(d.foreign));
    }
    let mut changes = d.changes;
    if !opts.targets.is_empty() {
        let mut keep: BTreeSet<String> = BTreeSet::new();
        for t in &opts.targets {
            let matched: Vec<&crate::graph::Resource> = graph
                .resources()
                .iter()
                .filter(|r| r.address.to_string() == *t)
                .collect();
            if matched.is_empty() && !changes.iter().any(|(c, _)| c.address == *t) {
                return Err(PlanError::UnknownTarget(t.clone()));
            }
            keep.insert(t.clone());
            // What it depends on, transitively.
            let mut stack: Vec<&crate::graph::Address> =
                matched.iter().map(|r| &r.address).collect();
            while let Some(a) = stack.pop() {
                for dep in graph.dependencies(a) {
                    if keep.insert(dep.to_string()) {
                        stack.push(dep);
                    }
                }
            }
        }
        // A replacement or deletion also needs what uses the old object: the records using a
        // health check, the records at a removed marker's name.
        let removing: Vec<(String, String, String)> = changes
            .iter()
            .filter(|(c, _)| {
                keep.contains(&c.address) && c.change.actions.contains(&Action::Delete)
            })
            .map(|(c, _)| (c.address.clone(), c.kind.clone(), c.name.clone()))
            .collect();
        for (address, kind, name) in removing {
            if kind == "health_check" {
                if let Some(r) = graph
                    .resources()
                    .iter()
                    .find(|r| r.address.to_string() == address)
                {
                    for dep in graph.dependents(&r.address) {
                        keep.insert(dep.to_string());
                    }
                }
            }
            if kind == "owner" {
                for (c, _) in &changes {
                    if c.kind == "record" && c.name == name && c.change.actions == [Action::Delete]
                    {
                        keep.insert(c.address.clone());
                    }
                }
            }
        }
        // A region's replication configuration is written whole: its changes go together.
        let regions: BTreeSet<String> = changes
            .iter()
            .filter(|(c, _)| keep.contains(&c.address))
            .filter_map(|(_, d)| match d {
                diff::Detail::Replication { region, .. } => Some(region.clone()),
                _ => None,
            })
            .collect();
        for (c, d) in &changes {
            if let diff::Detail::Replication { region, .. } = d {
                if regions.contains(region) {
                    keep.insert(c.address.clone());
                }
            }
        }
        changes.retain(|(c, _)| keep.contains(&c.address));
    }
    let mut summary = Summary::default();
    for (c, _) in &changes {
        let a = &c.change.actions;
        if c.is_replace() {
            summary.replace += 1;
            summary.add += 1;
            summary.destroy += 1;
        } else if a == &[Action::Create] {
            summary.add += 1;
        } else if a == &[Action::Update] {
            summary.change += 1;
        } else if a == &[Action::Delete] {
            summary.destroy += 1;
        }
    }
    let (resource_changes, details): (Vec<ResourceChange>, Vec<diff::Detail>) =
        changes.into_iter().unzip();
    Ok(Planned {
        plan: Plan {
            format_version: FORMAT_VERSION,
            plan_id,
            live_source,
            topology: topology_name.to_string(),
            prior_fingerprint: fingerprint(live),
            resource_changes,
            summary,
            untouched: d.untouched,
            recovery: None,
            targets: opts.targets.clone(),
            adopt: opts.adopt,
            sources: Vec::new(),
            prior_state: LiveState::default(),
            api_calls: Default::default(),
            state_path: None,
        },
        details,
    })
}

/// The recovery figures for a plan: `after` from the topology's analysis, `before` from the
/// same topology with the live TTL and health-check timing (data and capacity are not in the
/// cloud's DNS, so they are taken as declared).
pub fn recovery(
    topology: &crate::model::Topology,
    after: &Analysis,
    live: &LiveState,
) -> RecoveryChange {
    let before_topology = live_view(topology, live);
    let before = crate::analysis::analyze(&before_topology);
    RecoveryChange {
        rto_floor_before_seconds: if before_topology.services.is_empty() {
            None
        } else {
            before.rto_floor_seconds.map(|d| d.as_secs_f64())
        },
        rto_floor_after_seconds: after.rto_floor_seconds.map(|d| d.as_secs_f64()),
        rpo_seconds: after.rpo_seconds.map(|d| d.as_secs_f64()),
        objectives_breached: after.objectives_breached(),
        objectives: serde_json::to_value(&after.objectives).unwrap_or(Value::Null),
    }
}

/// The topology as the cloud runs it today: services and regions that have live records, with
/// their live TTL and health-check timing.
fn live_view(t: &crate::model::Topology, live: &LiveState) -> crate::model::Topology {
    use std::collections::BTreeMap;
    let mut at_name: BTreeMap<(&str, &str), Vec<&crate::provider::RecordSet>> = BTreeMap::new();
    for r in &live.records {
        at_name.entry((&r.zone, &r.name)).or_default().push(r);
    }
    let checks: BTreeMap<&str, &crate::provider::LiveHealthCheck> = live
        .health_checks
        .iter()
        .map(|h| (h.id.as_str(), h))
        .collect();
    let mut v = t.clone();
    v.services.retain(|_, s| {
        let here = at_name
            .get(&(s.zone.as_str(), s.domain.as_str()))
            .cloned()
            .unwrap_or_default();
        s.regions.retain(|name, _| {
            let set = crate::model::set_identifier(&s.name, name, None);
            here.iter().any(|r| {
                r.set_identifier
                    .as_deref()
                    .is_some_and(|x| x == set || x.starts_with(&format!("{set}-")))
            })
        });
        if let Some(ttl) = here.iter().find_map(|r| r.ttl) {
            s.ttl = ttl;
        }
        let check = here
            .iter()
            .find_map(|r| checks.get(r.health_check_id.as_deref()?).copied());
        match (check, s.health_check.as_mut()) {
            (Some(live_check), Some(h)) => {
                h.interval = live_check.config.request_interval;
                h.failure_threshold = live_check.config.failure_threshold;
            }
            (None, _) => s.health_check = None,
            _ => {}
        }
        !s.regions.is_empty()
    });
    v
}
