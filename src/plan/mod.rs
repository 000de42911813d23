//! Plans: what will change, as data (Terraform's plan JSON where the meaning is the same).
//!
//! Consumes the desired resource graph and the live state a [`Provider`] read; produces a
//! [`Plan`]: one [`ResourceChange`] per address with its actions, before and after values,
//! what is known only after apply, and why. A plan saved with `--out` also carries the
//! topology's sources and the live objects it was computed from, so `apply` can apply
//! exactly it, or refuse it when the cloud changed since.

pub mod apply;
pub mod capable;
pub mod diff;
pub mod saved;
pub mod shared;
pub mod target;
pub mod terraform;

use crate::analysis::Analysis;
use crate::graph::{Kind, ResourceGraph};
use crate::hash;
use crate::identity::Identity;
use crate::model::Topology;
use crate::provider::{LiveSource, LiveState, Provider, ProviderError, Scope};
use diff::Detail;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use target::targeted;
pub use target::{Deferred, CREATIONS_PER_DAY};

/// Version of the plan document; bumped on any incompatible change (see CHANGELOG.md).
/// 2: typed `live_source`, record routing as one tagged value, structured `untouched`, each
/// change's `detail`, recovery objectives per service.
pub const FORMAT_VERSION: u32 = 4;

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
    pub before: Option<Attrs>,
    pub after: Option<Attrs>,
    /// Attributes known only after apply, e.g. `{"id": true}`.
    pub after_unknown: Attrs,
}

/// A JSON object of a plan (a resource's attributes before or after), held as its text and
/// parsed when looked at: a plan of 70,000 resources holds 140,000 of them, and as trees of
/// maps they took over half of its memory. Shared, not copied, where a no-op's before is its
/// after, and for every empty `after_unknown`. Serialised as the JSON it holds.
#[derive(Clone)]
pub struct Attrs(std::sync::Arc<serde_json::value::RawValue>);

impl Serialize for Attrs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&*self.0, s)
    }
}

impl<'de> Deserialize<'de> for Attrs {
    /// Held compact, whatever the spacing of the text it was read from (a saved plan is
    /// pretty): documents are printed from the compact serialisation, which has no spaces.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        match compact(raw.get()) {
            None => Ok(Attrs(raw.into())),
            Some(text) => serde_json::value::RawValue::from_string(text)
                .map(|r| Attrs(r.into()))
                .map_err(serde::de::Error::custom),
        }
    }
}

/// `text` (valid JSON) without the whitespace between its tokens; None when it has none.
fn compact(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            (false, _, ' ' | '\n' | '\r' | '\t') => continue,
            _ => {}
        }
        out.push(c);
    }
    (out.len() != text.len()).then_some(out)
}

impl Attrs {
    /// The text of `v` (null only if `v` cannot be serialised, which a `Value` always can).
    pub fn new(v: &Value) -> Attrs {
        Attrs(
            serde_json::value::to_raw_value(v)
                .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
                .into(),
        )
    }

    /// `{}`, one allocation for the whole process.
    pub fn empty() -> Attrs {
        static EMPTY: std::sync::OnceLock<Attrs> = std::sync::OnceLock::new();
        EMPTY
            .get_or_init(|| Attrs::new(&Value::Object(serde_json::Map::new())))
            .clone()
    }

    /// The JSON text, compact.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The parsed value.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Attrs {
    /// Equal as JSON values (a saved plan's text may be spaced differently).
    fn eq(&self, other: &Attrs) -> bool {
        self.0.get() == other.0.get() || self.value() == other.value()
    }
}

impl std::fmt::Debug for Attrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.get())
    }
}

/// One resource's change. Written (format 4) with Terraform's `type`, `mode`,
/// `provider_name` and `index` beside Meridian's `meridian_type` and `key`
/// ([`terraform`]); read from format 4, or from format 3, where `type` was Meridian's kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ResourceChangeText")]
pub struct ResourceChange {
    pub address: String,
    pub kind: Kind,
    pub name: String,
    pub key: Option<String>,
    pub change: Change,
    /// Why: `replace_because_cannot_update`, `delete_because_no_resource_config`, ...
    pub action_reason: Option<String>,
    /// The attributes that force a replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_paths: Vec<String>,
    /// The typed change the apply engine carries out, held with the change it implements.
    pub detail: Detail,
}

impl Serialize for ResourceChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("ResourceChange", 13)?;
        m.serialize_field("address", &self.address)?;
        m.serialize_field("meridian_type", &self.kind)?;
        m.serialize_field("type", terraform::terraform_type(self.kind))?;
        m.serialize_field("mode", "managed")?;
        m.serialize_field("provider_name", terraform::PROVIDER_NAME)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("key", &self.key)?;
        m.serialize_field("index", &self.key)?;
        m.serialize_field("change", &self.change)?;
        m.serialize_field("action_reason", &self.action_reason)?;
        if !self.replace_paths.is_empty() {
            m.serialize_field("replace_paths", &self.replace_paths)?;
        }
        m.serialize_field("detail", &self.detail)?;
        m.end()
    }
}

/// A resource change as a saved plan holds it, of format 3 or 4.
#[derive(Deserialize)]
struct ResourceChangeText {
    address: String,
    /// Format 4: Terraform's type; format 3: Meridian's kind.
    #[serde(rename = "type")]
    type_name: String,
    /// Format 4 only.
    meridian_type: Option<Kind>,
    name: String,
    key: Option<String>,
    change: Change,
    action_reason: Option<String>,
    #[serde(default)]
    replace_paths: Vec<String>,
    detail: Detail,
}

impl TryFrom<ResourceChangeText> for ResourceChange {
    type Error = String;

    fn try_from(t: ResourceChangeText) -> Result<ResourceChange, String> {
        let kind = match t.meridian_type {
            Some(k) => k,
            None => serde_json::from_value(Value::String(t.type_name.clone()))
                .map_err(|_| format!("{}: unknown resource type {:?}", t.address, t.type_name))?,
        };
        Ok(ResourceChange {
            address: t.address,
            kind,
            name: t.name,
            key: t.key,
            change: t.change,
            action_reason: t.action_reason,
            replace_paths: t.replace_paths,
            detail: t.detail,
        })
    }
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

impl Summary {
    fn of(changes: &[ResourceChange]) -> Summary {
        let mut summary = Summary::default();
        for c in changes {
            let a = c.change.actions.as_slice();
            if c.is_replace() {
                summary.replace += 1;
                summary.add += 1;
                summary.destroy += 1;
            } else if a == [Action::Create] {
                summary.add += 1;
            } else if a == [Action::Update] {
                summary.change += 1;
            } else if a == [Action::Delete] {
                summary.destroy += 1;
            }
        }
        summary
    }
}

/// One file of the topology, kept in a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    pub name: String,
    pub text: String,
}

/// Something live the plan leaves alone on purpose, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Untouched {
    /// A record set at a name the topology does not declare.
    Record {
        zone: String,
        name: String,
        #[serde(rename = "type")]
        record_type: crate::dns::RecordType,
        set_identifier: Option<String>,
    },
    /// One of this topology's health checks that records this plan does not change still use,
    /// or whose zone it does not read.
    HealthCheck {
        id: String,
        /// The address it was created for, when its tags say.
        address: Option<String>,
        why: UntouchedWhy,
    },
    /// An ECR replication rule another owner manages.
    ReplicationRule {
        region: String,
        destinations: Vec<String>,
        filters: Vec<String>,
        /// Why it matters to this topology, when its filters reach a declared repository,
        /// and what would resolve it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conflict: Option<String>,
    },
    /// An ECR repository the topology does not declare (Meridian never deletes repositories).
    Repository { region: String, name: String },
    /// A weight `meridian shift` holds: planned as held, not as the file's.
    Held {
        service: String,
        region: String,
        weight: u8,
        /// The file's weight.
        declared: Option<u8>,
        /// Steps applied of the shift's steps.
        done: u32,
        steps: u32,
    },
}

/// Why one of the topology's own health checks is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UntouchedWhy {
    /// A record this plan does not change still uses it.
    InUse,
    /// Its records are in a zone the plan does not read (list it in `zones`).
    ZoneNotRead,
}

/// The recovery figures of the change: before (the live DNS settings with the declared data
/// and capacity) and after (the topology). The figures are those the RTO objective gates on
/// (`rto_case`), and the objectives are the analysis's, typed: rendered, never re-parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryChange {
    /// The RTO floor of what runs today; null when nothing is live or it is unknown
    /// (`before` says which).
    pub rto_floor_before_seconds: Option<f64>,
    pub rto_floor_after_seconds: Option<f64>,
    /// Whether anything of the topology is live before the change. Absent in plans saved by
    /// earlier versions, where a null floor before meant nothing live ([`Self::before`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Before>,
    /// Which floor both figures are: `fast`, or `dark` under `rto_case = "dark"`.
    #[serde(default)]
    pub rto_case: crate::model::RtoCase,
    /// The RPO the RPO objective gates on (its `rpo_case`).
    pub rpo_seconds: Option<f64>,
    /// Which RPO that is: `bound`, `typical` or `worst`.
    #[serde(default)]
    pub rpo_case: crate::model::RpoCase,
    /// Some objective is breached (a known figure over its limit).
    pub objectives_breached: bool,
    /// Some objective cannot be shown to hold (its figure is unknown).
    #[serde(default)]
    pub objectives_unknown: bool,
    /// Services with no recovery from some region loss (the gate fails on them too).
    #[serde(default)]
    pub no_recovery: Vec<String>,
    pub objectives: Vec<crate::analysis::ObjectiveResult>,
    /// The topology declares no service (registries only): there is no floor to compute.
    #[serde(default)]
    pub no_service: bool,
}

impl RecoveryChange {
    /// Whether anything was live before: as recorded, or, in a plan saved by an earlier
    /// version, as its null floor said.
    pub fn before(&self) -> Before {
        self.before
            .unwrap_or(if self.rto_floor_before_seconds.is_none() {
                Before::NothingLive
            } else {
                Before::Live
            })
    }

    /// A destroy's: what was live stops serving; there is no floor after it and no objective
    /// to weigh (the destroyed topology's floor before it is not computed).
    pub fn destroyed(anything_live: bool) -> RecoveryChange {
        RecoveryChange {
            rto_floor_before_seconds: None,
            rto_floor_after_seconds: None,
            before: Some(if anything_live {
                Before::Live
            } else {
                Before::NothingLive
            }),
            rto_case: crate::model::RtoCase::Fast,
            rpo_seconds: None,
            rpo_case: crate::model::RpoCase::Bound,
            objectives_breached: false,
            objectives_unknown: false,
            no_recovery: Vec::new(),
            objectives: Vec::new(),
            no_service: false,
        }
    }
}

/// What runs before the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Before {
    /// Nothing of the topology is live: there is no floor to compare with.
    NothingLive,
    /// Some of it is live: the floor is that of the live records (null when unknown).
    Live,
}

/// A lint finding as a plan reports it (`meridian lint` shows where and how to fix it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintNote {
    /// The rule id, e.g. `SS001`.
    pub rule: String,
    /// `deny` or `warn`.
    pub level: String,
    pub service: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// When the plan was made (RFC 3339, UTC), as Terraform's plan JSON says; empty in
    /// plans of format 3.
    #[serde(default)]
    pub timestamp: String,
    /// Random per plan; part of the caller reference of every health check it creates.
    pub plan_id: String,
    /// Where live state came from: never mistake a local dry run for AWS.
    pub live_source: LiveSource,
    pub topology: String,
    /// The topology's identity: its id decides what it owns (a new one is recorded by the
    /// first apply).
    pub identity: Identity,
    /// Where the topology's manifest and lock live (None: made without one, by the library).
    pub backend: Option<crate::backend::BackendRef>,
    /// A fingerprint of `prior_state`.
    pub prior_fingerprint: String,
    pub resource_changes: Vec<ResourceChange>,
    pub summary: Summary,
    /// Things the plan leaves alone on purpose, each by name.
    pub untouched: Vec<Untouched>,
    pub recovery: RecoveryChange,
    /// The addresses `--target` limited the plan to (empty: everything).
    pub targets: Vec<String>,
    /// The services that wait for a later apply: past the health-check creation cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<Deferred>,
    /// The values the topology's variables had (a saved plan's apply plans with them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, crate::model::variables::Literal>,
    /// The health checks `--replace` asked to replace (a saved plan's apply plans with them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// A plan to delete everything the topology manages (`plan --destroy`).
    #[serde(default)]
    pub destroy: bool,
    /// Whether the plan takes over names holding records Meridian did not create.
    pub adopt: bool,
    /// Made with `--force`: a change to more than 30 % of the managed records was asked for.
    #[serde(default)]
    pub force: bool,
    /// Static-stability findings of the topology (`meridian lint`); informational.
    #[serde(default)]
    pub lint: Vec<LintNote>,
    /// The topology's files, so a saved plan applies without them.
    pub sources: Vec<SourceText>,
    /// The live state the plan was computed from.
    pub prior_state: LiveState,
    /// API calls the read took, by operation (empty for the local store).
    #[serde(default)]
    pub api_calls: BTreeMap<String, usize>,
    /// When the plan creates health checks: how many, against the account's limit.
    #[serde(default)]
    pub health_checks: Option<CheckBudget>,
    /// ECR replication rules other topologies under the same backend declare too, and the
    /// rules this plan deletes (registry-wide: someone may rely on them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_rules: Vec<shared::SharedRule>,
    /// What the topology declares that the provider cannot hold (no health checks in a zone
    /// file, say): left out of the plan, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<capable::LeftOut>,
}

/// The health checks a plan creates, against the account's limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckBudget {
    /// Created by the plan (a replacement creates the new check before deleting the old).
    pub adding: usize,
    pub limit: crate::provider::CheckLimit,
}

impl Plan {
    /// Whether the plan leaves out some of what is declared (`--target`, or services that wait
    /// past the creation cap): its apply does not settle everything the manifest lists.
    pub fn is_partial(&self) -> bool {
        !self.targets.is_empty() || self.deferred.is_some()
    }

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
    #[error("{}", collision_message(.0))]
    #[diagnostic(
        code(meridian::plan::collision),
        help("two topologies cannot own one name: give the service another domain, or remove it from the other topology and apply that first")
    )]
    Collision(Vec<diff::Foreign>),
    #[error("the backend holds no manifest for topology {name}, but an earlier Meridian left resources under that name: {found}")]
    #[diagnostic(
        code(meridian::plan::needs_init),
        help("run `meridian init` on this topology to adopt them into a manifest (nothing else is changed), then plan again")
    )]
    NeedsInit { name: String, found: String },
    #[error("this plan creates {adding} health check(s), but the account holds {count} of its limit of {limit}: the apply would fail partway")]
    #[diagnostic(
        code(meridian::plan::health_check_limit),
        help("ask AWS for a higher limit (Service Quotas: Route 53, health checks per account), or declare fewer checks; a replacement creates the new check before deleting the old one")
    )]
    CheckLimit {
        adding: usize,
        count: u64,
        limit: u64,
    },
    #[error("{what} needs {adding} new health checks, more than the {cap} one apply may create (health_check_creations_per_day): no apply can take it whole")]
    #[diagnostic(
        code(meridian::plan::health_check_rate),
        help("raise health_check_creations_per_day in the provider block (0: no cap) if the account allows more, or give it fewer checked regions")
    )]
    CheckRate {
        what: String,
        adding: usize,
        cap: usize,
    },
    #[error("the topology declares nothing, but its manifest manages {}: applying it would delete every one of them", .0.join(", "))]
    #[diagnostic(
        code(meridian::plan::empty_topology),
        help("if that is what you mean, run `meridian destroy` (or `meridian plan --destroy`); if the file was truncated or a merge went wrong, restore its services")
    )]
    EmptyTopology(Vec<String>),
    #[error("this plan deletes or changes {changed} of the {managed} records the topology manages ({}%), more than {}%", .changed * 100 / .managed, (MASS_CHANGE_SHARE * 100.0) as usize)]
    #[diagnostic(
        code(meridian::plan::mass_change),
        help("a truncated file or a bad merge looks like this: check the topology; if the change is meant, plan again with --force")
    )]
    MassChange { changed: usize, managed: usize },
    #[error("no resource matches --target {0}")]
    #[diagnostic(
        code(meridian::plan::target),
        help("use an address from `meridian graph --format json`, e.g. record.api[\"us-east-1\"]")
    )]
    UnknownTarget(String),
    #[error("--target {address} is left out of this plan: {why}")]
    #[diagnostic(
        code(meridian::plan::left_out_target),
        help("the live state's provider cannot hold it; target what it holds, or plan against another provider (--live)")
    )]
    LeftOutTarget { address: String, why: String },
    #[error("cannot replace {address}: {why}")]
    #[diagnostic(
        code(meridian::plan::replace),
        help("--replace takes a declared health check's address, e.g. health_check.api[\"us-east-1\"] (meridian graph --format json lists them)")
    )]
    Replace { address: String, why: &'static str },
    #[error("cannot serialise {what}: {why}")]
    #[diagnostic(code(meridian::plan::serialise))]
    Serialise { what: &'static str, why: String },
}

fn collision_message(f: &[diff::Foreign]) -> String {
    let parts: Vec<String> = f
        .iter()
        .map(|x| {
            format!(
                "{} (service {}) is owned by another Meridian topology ({})",
                x.name,
                x.service,
                x.owner.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    parts.join("; ")
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
        tag_prefixes: Vec::new(),
        names: Vec::new(),
        records_only: false,
    }
}

/// The record names a plan of `graph` needs: those it declares (domains, `failover_to` trees,
/// markers) and those the last apply left under management (`identity.names`), where a removal
/// may be. Empty (read whole zones) when the identity manages something without saying which
/// names (a manifest older than its `names`).
fn names_needed(graph: &ResourceGraph, identity: &Identity) -> Vec<String> {
    if !identity.new && identity.names.is_empty() && !identity.services.is_empty() {
        return Vec::new();
    }
    let mut names: BTreeSet<String> = graph.record_names().into_iter().collect();
    names.extend(identity.names.iter().cloned());
    names.into_iter().collect()
}

/// A fingerprint of live state: stable across runs and Rust versions.
pub fn fingerprint(live: &LiveState) -> Result<String, PlanError> {
    // Hashed as it is serialised: the same digits as hashing the text, without the text.
    let mut h = hash::Fnv64::default();
    serde_json::to_writer(&mut h, live).map_err(|e| PlanError::Serialise {
        what: "the live state for its fingerprint",
        why: e.to_string(),
    })?;
    Ok(format!("{:016x}", h.0))
}

/// The current time as RFC 3339 in UTC, to the second (`2026-12-07T11:30:00Z`).
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 in UTC (days to a civil date as in Howard
/// Hinnant's `civil_from_days`).
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// A fresh plan id ([`hash::fresh_id`]).
pub fn new_plan_id(salt: &str) -> String {
    hash::fresh_id(salt)
}

/// Options of a plan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub adopt: bool,
    /// Allow a change to more than [`MASS_CHANGE_SHARE`] of the managed records.
    pub force: bool,
    /// Limit to these addresses and what they depend on.
    pub targets: Vec<String>,
    /// Health checks to replace even if unchanged (`--replace`).
    pub replace: Vec<String>,
    /// Price overrides for the recovery analysis (price name -> USD).
    pub prices: BTreeMap<String, f64>,
    /// The graph declares nothing: a plan to delete what the topology manages.
    pub destroy: bool,
    /// The provider holds plain record sets only (set by [`plan`] from its capabilities).
    pub plain_records: bool,
}

/// What a plan is made from: a valid, named topology, its resource graph and its files.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub topology: &'a Topology,
    pub graph: &'a ResourceGraph,
    pub sources: &'a [SourceText],
    pub identity: &'a Identity,
    /// Where the identity came from.
    pub backend: Option<&'a crate::backend::BackendRef>,
}

impl Input<'_> {
    fn name(&self) -> &str {
        self.topology.name.as_deref().unwrap_or("topology")
    }
}

/// Reads live state through `provider` and builds the whole plan document.
pub fn plan(
    input: &Input,
    provider: &dyn Provider,
    opts: &Options,
    plan_id: String,
) -> Result<Plan, PlanError> {
    // What the provider cannot hold is left out, and said.
    let adapted = capable::adapt(input.topology, input.graph, &provider.capabilities());
    let held;
    let input = match &adapted {
        Some(a) => {
            held = Input {
                topology: &a.topology,
                graph: &a.graph,
                ..*input
            };
            &held
        }
        None => input,
    };
    let mut scope = scope_with(input.graph, &input.topology.zones);
    // What the last apply left under management is read too: its removal is planned.
    extend_sorted(&mut scope.zones, &input.identity.zones);
    extend_sorted(&mut scope.regions, &input.identity.regions);
    if input.topology.tag_health_checks {
        scope.tag_prefixes = input.identity.reference_prefixes();
    }
    scope.names = names_needed(input.graph, input.identity);
    let live = provider.read(&scope)?;
    if let Some((t, l)) = adapted.as_ref().and_then(|a| {
        opts.targets
            .iter()
            .find_map(|t| a.left_out.iter().find(|l| l.address == *t).map(|l| (t, l)))
    }) {
        return Err(PlanError::LeftOutTarget {
            address: t.clone(),
            why: l.why.clone(),
        });
    }
    let opts = Options {
        plain_records: !provider.capabilities().routing,
        ..opts.clone()
    };
    let mut plan = plan_against(input, live, provider.source(), &opts, plan_id)?;
    if let Some(a) = adapted {
        plan.left_out = a.left_out;
        unserved(&mut plan.recovery, &a.unserved);
    }
    plan.health_checks = budget(&plan, provider)?;
    plan.api_calls = provider.stats();
    Ok(plan)
}

/// A provider of plain record sets carries no set identifiers to tell regions apart by: what
/// runs today is the topology when every service has a plain answer set at its name (its
/// floor is the one after), nothing when none has.
fn plain_before(r: &mut RecoveryChange, t: &crate::model::Topology, live: &LiveState) {
    let answered = |s: &crate::model::Service| {
        live.records.iter().any(|x| {
            x.zone == s.zone
                && x.name == s.domain
                && x.set_identifier.is_none()
                && x.record_type.is_endpoint()
        })
    };
    let n = t.services.values().filter(|s| answered(s)).count();
    if n == t.services.len() && n > 0 {
        r.before = Some(Before::Live);
        r.rto_floor_before_seconds = r.rto_floor_after_seconds;
    } else if n == 0 {
        r.before = Some(Before::NothingLive);
        r.rto_floor_before_seconds = None;
    }
}

/// Services the provider holds none of the answers of have no recovery: nothing answers for
/// them at all.
fn unserved(r: &mut RecoveryChange, unserved: &[String]) {
    r.no_recovery.extend(unserved.iter().cloned());
    r.no_recovery.sort();
    r.no_recovery.dedup();
}

/// The plan of `input` against a given live state.
/// The diff, and the fingerprint of live state computed beside it.
fn diff_and_fingerprint(
    input: &Input,
    live: &LiveState,
    opts: &Options,
) -> (diff::Diff, Result<String, PlanError>) {
    // The fingerprint hashes all of live state (a large account's is tens of MB, a byte at a
    // time): on the other core, while the diff runs.
    std::thread::scope(|s| {
        // Where no thread can be started (a process limit), it is computed here after all.
        let print = std::thread::Builder::new()
            .name("fingerprint".into())
            .spawn_scoped(s, || fingerprint(live));
        let d = diff::diff(
            input.graph,
            live,
            diff::Settings {
                topology: input.name(),
                identity: input.identity,
                adopt: opts.adopt,
                tag_checks: input.topology.tag_health_checks,
                replace: &opts.replace,
                plain_records: opts.plain_records,
            },
        );
        let print = match print {
            Ok(side) => side
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => fingerprint(live),
        };
        (d, print)
    })
}

pub fn plan_against(
    input: &Input,
    live: LiveState,
    live_source: LiveSource,
    opts: &Options,
    plan_id: String,
) -> Result<Plan, PlanError> {
    if input.identity.new {
        if let Some(found) = legacy_resources(&live, input.name()) {
            return Err(PlanError::NeedsInit {
                name: input.name().to_string(),
                found,
            });
        }
    }
    check_replace(input.graph, &opts.replace)?;
    let (d, prior_fingerprint) = diff_and_fingerprint(input, &live, opts);
    let (meridian, foreign): (Vec<_>, Vec<_>) =
        d.foreign.into_iter().partition(|f| f.owner.is_some());
    if !meridian.is_empty() {
        return Err(PlanError::Collision(meridian));
    }
    if !foreign.is_empty() {
        return Err(PlanError::Foreign(foreign));
    }
    let mut changes = d.changes;
    refuse_emptied(input, opts)?;
    if !opts.targets.is_empty() {
        let keep = targeted(input.graph, &changes, &opts.targets)?;
        if let Some(outside) = opts.replace.iter().find(|a| !keep.contains(*a)) {
            return Err(PlanError::Replace {
                address: outside.clone(),
                why: "it is outside --target: add it to the targets, or drop --target",
            });
        }
        changes.retain(|c| keep.contains(&c.address));
    }
    let cap = input
        .topology
        .provider
        .as_ref()
        .and_then(|p| p.creations_per_day)
        .map_or(CREATIONS_PER_DAY, |n| n as usize);
    // The whole change is judged before the cap splits it: a cap must not turn the guard off.
    refuse_mass_change(&changes, opts)?;
    let deferred = target::within_cap(input.topology, input.graph, &mut changes, cap)?;
    tracing::debug!(
        changes = changes.iter().filter(|c| !c.is_no_op()).count(),
        resources = changes.len(),
        live_records = live.records.len(),
        live_health_checks = live.health_checks.len(),
        "diffed the topology against live state"
    );
    let analysis = crate::analysis::analyze_with_prices(input.topology, &opts.prices);
    let recovery = plan_recovery(input, &analysis, &live, opts, &changes)?;
    Ok(Plan {
        format_version: FORMAT_VERSION,
        timestamp: rfc3339_now(),
        plan_id,
        live_source,
        topology: input.name().to_string(),
        identity: input.identity.clone(),
        backend: input.backend.cloned(),
        prior_fingerprint: prior_fingerprint?,
        summary: Summary::of(&changes),
        resource_changes: changes,
        untouched: with_holds(d.untouched, input),
        recovery,
        targets: opts.targets.clone(),
        deferred,
        replace: opts.replace.clone(),
        variables: input.topology.variables.clone(),
        destroy: opts.destroy,
        adopt: opts.adopt,
        force: opts.force,
        lint: if opts.destroy {
            Vec::new()
        } else {
            lint_notes(input, &analysis)
        },
        sources: input.sources.to_vec(),
        prior_state: live,
        api_calls: BTreeMap::new(),
        health_checks: None,
        shared_rules: Vec::new(),
        left_out: Vec::new(),
    })
}

/// A file that declares nothing is far more often a truncation or a bad merge than a request
/// to delete everything: that is what `destroy` says.
fn refuse_emptied(input: &Input, opts: &Options) -> Result<(), PlanError> {
    let empty = input.topology.services.is_empty() && input.topology.registries.is_empty();
    if !opts.destroy && empty && !input.identity.services.is_empty() {
        return Err(PlanError::EmptyTopology(input.identity.services.clone()));
    }
    Ok(())
}

/// The share of the managed records a plan may delete or change without `--force` (octoDNS's
/// update and delete thresholds), once the topology manages [`MASS_CHANGE_MIN`] records.
pub const MASS_CHANGE_SHARE: f64 = 0.3;
pub const MASS_CHANGE_MIN: usize = 10;

/// A plan that deletes or changes most of what a topology manages is far more often a bad
/// edit than a wish: refused without `--force` (a destroy says what it means).
fn refuse_mass_change(changes: &[ResourceChange], opts: &Options) -> Result<(), PlanError> {
    if opts.force || opts.destroy {
        return Ok(());
    }
    let records = changes
        .iter()
        .filter(|c| matches!(c.kind, Kind::Record | Kind::Owner) && c.change.before.is_some());
    let (managed, changed) = records.fold((0, 0), |(m, ch), c| {
        (m + 1, ch + usize::from(!c.is_no_op()))
    });
    if managed >= MASS_CHANGE_MIN && changed as f64 > managed as f64 * MASS_CHANGE_SHARE {
        return Err(PlanError::MassChange { changed, managed });
    }
    Ok(())
}

/// The plan's recovery figures; a destroy leaves nothing to recover to: no floor after it, no
/// objective it can meet.
fn plan_recovery(
    input: &Input,
    analysis: &Analysis,
    live: &LiveState,
    opts: &Options,
    changes: &[ResourceChange],
) -> Result<RecoveryChange, PlanError> {
    if opts.destroy {
        return Ok(RecoveryChange::destroyed(
            changes.iter().any(|c| c.change.before.is_some()),
        ));
    }
    let mut r = recovery(input.topology, analysis, live)?;
    if opts.plain_records {
        plain_before(&mut r, input.topology, live);
    }
    Ok(r)
}

/// The weights `meridian shift` holds, said among what the plan leaves alone.
fn with_holds(mut untouched: Vec<Untouched>, input: &Input) -> Vec<Untouched> {
    // Only holds that apply: a weighted service that still has the region.
    let applies = |service: &String, h: &crate::shift::Hold| {
        input.topology.services.get(service).is_some_and(|s| {
            s.routing == crate::model::Routing::Weighted && s.regions.contains_key(&h.region)
        })
    };
    let held = input.identity.holds.iter().filter(|(s, h)| applies(s, h));
    untouched.extend(held.map(|(service, h)| Untouched::Held {
        service: service.clone(),
        region: h.region.clone(),
        weight: h.weight,
        declared: h.declared,
        done: h.done,
        steps: h.steps,
    }));
    untouched
}

/// The static-stability lint's findings, at the levels the topology sets: reported by the
/// plan, never deciding its exit code.
fn lint_notes(input: &Input, analysis: &crate::analysis::Analysis) -> Vec<LintNote> {
    let sources = crate::source::Sources::from_texts(
        input
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.text.as_str())),
    );
    let report = crate::lint::lint_with(
        input.topology,
        analysis,
        &sources,
        &crate::lint::Config::default(),
    );
    report
        .findings
        .into_iter()
        .map(|f| LintNote {
            rule: f.rule.as_str().to_string(),
            level: f.level.as_str().to_string(),
            service: f.service,
            message: f.message,
        })
        .collect()
}

/// The health checks `plan` creates, against the account's limit (read only when it creates
/// some); an error when the apply would pass the limit or the daily creation cap.
fn budget(plan: &Plan, provider: &dyn Provider) -> Result<Option<CheckBudget>, PlanError> {
    let adding = plan
        .resource_changes
        .iter()
        .filter(|c| c.kind == Kind::HealthCheck && c.change.actions.contains(&Action::Create))
        .count();
    if adding == 0 {
        return Ok(None);
    }
    let limit = provider.check_limit();
    if let crate::provider::CheckLimit::Known { limit, count } = limit {
        if count + adding as u64 > limit {
            return Err(PlanError::CheckLimit {
                adding,
                count,
                limit,
            });
        }
    }
    Ok(Some(CheckBudget { adding, limit }))
}

/// Refuses a plan that creates more health checks than `cap` (0: no cap), one apply's share
/// of Route 53's daily creations.
fn extend_sorted(v: &mut Vec<String>, more: &[String]) {
    v.extend(more.iter().cloned());
    v.sort();
    v.dedup();
}

/// Markers and health checks an earlier Meridian (keyed by topology name) made for `name`,
/// counted for a message; None when there are none.
fn legacy_resources(live: &LiveState, name: &str) -> Option<String> {
    let legacy = Identity {
        adopted_name: Some(name.to_string()),
        ..Identity::known("")
    };
    let markers = live
        .records
        .iter()
        .filter_map(|r| r.values.first())
        .filter_map(|v| crate::identity::Marker::parse(v))
        .filter(|m| matches!(&m.owner, crate::identity::Owner::Name(n) if n == name))
        .count();
    let checks = live
        .health_checks
        .iter()
        .filter(|h| !h.caller_reference.starts_with("m3-"))
        .filter(|h| legacy.reference_parts(&h.caller_reference).is_some())
        .count();
    (markers + checks > 0)
        .then(|| format!("{markers} ownership marker(s), {checks} health check(s)"))
}

/// Each `--replace` address names a declared health check: Route 53 updates record sets in
/// place (a record has no identity to renew) and ECR repositories hold images.
fn check_replace(graph: &ResourceGraph, replace: &[String]) -> Result<(), PlanError> {
    for a in replace {
        let found = graph
            .resources()
            .iter()
            .find(|r| r.address.to_string() == *a);
        let why = match found.map(|r| r.address.kind) {
            Some(Kind::HealthCheck) => continue,
            None => "no declared resource has this address",
            Some(Kind::Record | Kind::Owner) => {
                "Route 53 changes a record set in place (UPSERT): there is nothing to replace; only a health check can be replaced"
            }
            Some(Kind::EcrRepository) => {
                "a repository holds images, and Meridian never deletes one; only a health check can be replaced"
            }
            Some(Kind::EcrReplication) => {
                "a replication rule is written whole on every change; only a health check can be replaced"
            }
        };
        return Err(PlanError::Replace {
            address: a.clone(),
            why,
        });
    }
    Ok(())
}

/// The recovery figures for a plan: `after` from the topology's analysis, `before` from the
/// same topology with the live TTL and health-check timing (data and capacity are not in the
/// cloud's DNS, so they are taken as declared).
pub fn recovery(
    topology: &crate::model::Topology,
    after: &Analysis,
    live: &LiveState,
) -> Result<RecoveryChange, PlanError> {
    // The steady state (live as declared) needs no second analysis nor a copy of the model.
    let (before, before_floor) = match live_view(topology, live) {
        None if topology.services.is_empty() => (Before::NothingLive, None),
        None => (Before::Live, after.verdict.rto_seconds),
        Some(v) if v.services.is_empty() => (Before::NothingLive, None),
        Some(v) => (
            Before::Live,
            crate::analysis::analyze(&v).verdict.rto_seconds,
        ),
    };
    Ok(RecoveryChange {
        rto_floor_before_seconds: before_floor,
        rto_floor_after_seconds: after.verdict.rto_seconds,
        before: Some(before),
        rto_case: after.verdict.rto_case,
        rpo_seconds: after.verdict.rpo_seconds,
        rpo_case: after.verdict.rpo_case,
        objectives_breached: after.objectives_breached(),
        objectives_unknown: after.objectives_unknown(),
        no_recovery: after.verdict.no_recovery.clone(),
        objectives: after.objectives.clone(),
        no_service: topology.services.is_empty(),
    })
}

/// The topology as the cloud runs it today: services and regions that have live records, with
/// their live TTL and health-check timing; None when that is the topology as declared.
fn live_view(t: &crate::model::Topology, live: &LiveState) -> Option<crate::model::Topology> {
    // Only the declared names are looked at: an account may hold far more than the topology.
    let mut at_name: BTreeMap<(&str, &str), Vec<&crate::provider::RecordSet>> = t
        .services
        .values()
        .map(|s| ((s.zone.as_str(), s.domain.as_str()), Vec::new()))
        .collect();
    for r in &live.records {
        if let Some(v) = at_name.get_mut(&(r.zone.as_str(), r.name.as_str())) {
            v.push(r);
        }
    }
    let used: BTreeSet<&str> = at_name
        .values()
        .flatten()
        .filter_map(|r| r.health_check_id.as_deref())
        .collect();
    let checks: BTreeMap<&str, &crate::provider::LiveHealthCheck> = live
        .health_checks
        .iter()
        .filter(|h| used.contains(h.id.as_str()))
        .map(|h| (h.id.as_str(), h))
        .collect();
    let mut edits: Vec<(&String, Option<crate::model::Service>)> = Vec::new();
    for (name, s) in &t.services {
        let here = at_name
            .get(&(s.zone.as_str(), s.domain.as_str()))
            .map_or(&[][..], Vec::as_slice);
        match live_service(s, here, &checks) {
            LiveService::Declared => {}
            LiveService::Absent => edits.push((name, None)),
            LiveService::Differs(v) => edits.push((name, Some(*v))),
        }
    }
    if edits.is_empty() {
        return None;
    }
    let mut v = t.clone();
    for (name, edit) in edits {
        match edit {
            Some(s) => {
                v.services.insert(name.clone(), s);
            }
            None => {
                v.services.remove(name);
            }
        }
    }
    Some(v)
}

/// One service as the cloud runs it.
enum LiveService {
    /// As declared.
    Declared,
    /// No region has live records.
    Absent,
    /// With other regions, TTL or health-check timing.
    Differs(Box<crate::model::Service>),
}

/// The set identifier of the record of region `label` (its `set_identifier`, else Meridian's).
fn region_set(s: &crate::model::Service, label: &str) -> String {
    s.regions.get(label).map_or_else(
        || crate::model::set_identifier(&s.name, label, None),
        |r| r.record_set_identifier(&s.name, None),
    )
}

/// Whether a live record's set identifier is one of region `label`'s: its own, or under
/// geolocation one of its locations' (`api-eu` is not `api-eu-2`'s).
fn is_region_set(s: &crate::model::Service, label: &str, id: &str) -> bool {
    match s.regions.get(label) {
        Some(r) if !r.locations.is_empty() => r
            .locations
            .iter()
            .any(|l| r.record_set_identifier(&s.name, Some(l)) == id),
        _ => region_set(s, label) == id,
    }
}

fn live_service(
    s: &crate::model::Service,
    here: &[&crate::provider::RecordSet],
    checks: &BTreeMap<&str, &crate::provider::LiveHealthCheck>,
) -> LiveService {
    // Behind an accelerator, the one alias record stands for every region.
    let accelerated = s.anycast.as_ref().is_some_and(|a| a.accelerator.is_some())
        && here.iter().any(|r| {
            r.alias
                .as_ref()
                .is_some_and(|a| a.hosted_zone_id == crate::model::GLOBAL_ACCELERATOR_ZONE_ID)
        });
    let live_region = |name: &str| {
        accelerated
            || here.iter().any(|r| {
                r.set_identifier
                    .as_deref()
                    .is_some_and(|x| is_region_set(s, name, x))
            })
    };
    let regions = s.regions.keys().filter(|n| live_region(n)).count();
    if regions == 0 {
        return LiveService::Absent;
    }
    // A region answering through its `failover_to` tree: its latency record is the alias to
    // the tree's first pair, whose records carry the checks.
    // Only a live alias can be a tree's (most services have none: nothing is built for them).
    let any_alias = here.iter().any(|r| r.alias.is_some());
    let tree_live = |label: &str| {
        if !any_alias {
            return false;
        }
        let set = region_set(s, label);
        let pair = crate::graph::tree_name(label, 0, &s.domain);
        here.iter().any(|r| {
            r.set_identifier.as_deref() == Some(set.as_str())
                && r.alias
                    .as_ref()
                    .is_some_and(|a| a.dns_name.trim_end_matches('.') == pair)
        })
    };
    let trees_as_declared = s
        .regions
        .values()
        .all(|r| r.failover_to.is_empty() != tree_live(&r.name));
    let ttl = here.iter().find_map(|r| r.ttl);
    let live = live_checks(s, here, checks, &live_region, &tree_live);
    if regions == s.regions.len()
        && ttl.is_none_or(|t| t == s.ttl)
        && live.is_none()
        && trees_as_declared
    {
        return LiveService::Declared;
    }
    let mut v = s.clone();
    v.regions.retain(|name, _| live_region(name));
    // Where the tree is not live, users go where latency sends them, not to `failover_to`.
    for r in v.regions.values_mut() {
        if !tree_live(&r.name) {
            r.failover_to.clear();
        }
    }
    if let Some(ttl) = ttl {
        v.ttl = ttl;
    }
    if let Some(mut live) = live {
        // Each region with the check its records carry (or none).
        v.health_check = None;
        for r in v.regions.values_mut() {
            r.health_check = live.remove(&r.name).flatten();
        }
    }
    LiveService::Differs(Box::new(v))
}

/// The health check each live region of `s` runs with (the declared one with the live timing;
/// None where its records carry none), or None when every live region's is as declared. A
/// region behind a live `failover_to` tree keeps its declared check: the tree's pairs carry it.
fn live_checks(
    s: &crate::model::Service,
    here: &[&crate::provider::RecordSet],
    checks: &BTreeMap<&str, &crate::provider::LiveHealthCheck>,
    live_region: &dyn Fn(&str) -> bool,
    tree_live: &dyn Fn(&str) -> bool,
) -> Option<BTreeMap<String, Option<crate::model::HealthCheck>>> {
    let timing = |h: &crate::model::HealthCheck| (h.interval, h.failure_threshold);
    let mut differs = false;
    let mut out = BTreeMap::new();
    for (label, r) in s.regions.iter().filter(|(l, _)| live_region(l)) {
        let declared = s.check(r);
        let live = here
            .iter()
            .filter(|x| {
                x.set_identifier
                    .as_deref()
                    .is_some_and(|id| is_region_set(s, label, id))
            })
            .find_map(|x| checks.get(x.health_check_id.as_deref()?).copied());
        let effective = match (live, declared) {
            (Some(c), Some(h)) => Some(crate::model::HealthCheck {
                interval: c.config.request_interval,
                failure_threshold: c.config.failure_threshold,
                ..h.clone()
            }),
            // A check the file no longer declares still runs until the apply.
            (Some(c), None) => Some(from_live(&c.config)),
            (None, Some(h)) if tree_live(label) => Some(h.clone()),
            (None, _) => None,
        };
        differs |= effective.as_ref().map(timing) != declared.map(timing);
        out.insert(label.clone(), effective);
    }
    differs.then_some(out)
}

/// A live check's settings as the model holds a declared one.
fn from_live(c: &crate::graph::HealthCheckSpec) -> crate::model::HealthCheck {
    crate::model::HealthCheck {
        kind: c.kind,
        port: c.port,
        path: c.resource_path.clone(),
        interval: c.request_interval,
        failure_threshold: c.failure_threshold,
        regions: c.regions.clone(),
        search_string: c.search_string.clone(),
    }
}

#[cfg(test)]
mod attrs_tests {
    use super::Attrs;

    /// A saved plan's attributes are pretty; held compact, with strings untouched.
    #[test]
    fn attributes_read_from_spaced_text_are_held_compact() {
        let a: Attrs =
            serde_json::from_str("{\n  \"a b\": [ 1, \"x \\\" y\" ],\n  \"c\": {}\n}").unwrap();
        assert_eq!(a.text(), r#"{"a b":[1,"x \" y"],"c":{}}"#);
        let b: Attrs = serde_json::from_str(r#"{"a":1}"#).unwrap();
        assert_eq!(b.text(), r#"{"a":1}"#);
    }
}
