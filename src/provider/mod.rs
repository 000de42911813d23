//! The provider seam: where live state comes from and where changes go.
//!
//! The engine (diff, plan, apply ordering) only sees this trait and the plain data below.
//! [`local::LocalStore`] is the embedded default, a strict cloud in a JSON file; the AWS
//! provider implements the same trait against Route 53 and ECR.

pub mod aws;
pub mod local;
pub mod lock;
pub mod zonefile;

pub use crate::dns::{ChangeAction, FailoverRole, RecordType, RoutingPolicy};
use crate::graph::{AliasTarget, HealthCheckSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A Route 53 record set as the cloud holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordSet {
    /// Hosted zone name.
    pub zone: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: RecordType,
    pub set_identifier: Option<String>,
    /// None for an alias record, which has no TTL of its own.
    pub ttl: Option<u32>,
    /// Values; for TXT, each value with its quotes.
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
    /// The routing policy and its one setting (`routing`, then `region`, `weight`, `role` or
    /// `location` in JSON).
    #[serde(flatten)]
    pub routing: RoutingPolicy,
    pub health_check_id: Option<String>,
}

/// What identifies a record set in Route 53: zone, name, type and set identifier.
pub type RecordKey = (String, String, RecordType, Option<String>);

impl RecordSet {
    /// Zone, name, type and set identifier: what identifies a record set in Route 53.
    pub fn key(&self) -> RecordKey {
        (
            self.zone.clone(),
            self.name.clone(),
            self.record_type.clone(),
            self.set_identifier.clone(),
        )
    }

    /// `TYPE set-identifier`, for messages.
    pub fn describe(&self) -> String {
        match &self.set_identifier {
            Some(s) => format!("{} {s}", self.record_type),
            None => self.record_type.to_string(),
        }
    }
}

/// A Route 53 health check as the cloud holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveHealthCheck {
    pub id: String,
    pub caller_reference: String,
    /// Incremented by every update (Route 53's `HealthCheckVersion`).
    pub version: u64,
    pub config: HealthCheckSpec,
    /// Its tags, when the plan asked for them ([`Scope::tag_prefixes`]); else empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Settings Meridian never sets that someone turned on (`inverted`, `disabled`): an
    /// update turns them off again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
}

/// A region's rules after removing `remove` and appending `add` (each once), in live order.
pub fn updated_rules(
    live: &[ReplicationRule],
    add: &[ReplicationRule],
    remove: &[ReplicationRule],
) -> Vec<ReplicationRule> {
    let mut out: Vec<ReplicationRule> = live
        .iter()
        .filter(|r| !remove.contains(r))
        .cloned()
        .collect();
    for a in add {
        if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

/// One ECR replication rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReplicationRule {
    /// Destination regions, sorted.
    pub destinations: Vec<String>,
    /// PREFIX_MATCH repository filters, sorted.
    pub filters: Vec<String>,
}

/// What a plan needs to know about the cloud, read in one call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    /// Hosted zone name -> id, for the zones asked for that exist.
    pub zones: BTreeMap<String, String>,
    /// Every record set of those zones (of the names asked for, in a zone read by name).
    pub records: Vec<RecordSet>,
    /// Every health check of the account.
    pub health_checks: Vec<LiveHealthCheck>,
    /// Region -> repository names, for the regions asked for.
    pub repositories: BTreeMap<String, Vec<String>>,
    /// Region -> the whole replication configuration of that region's registry.
    pub replication: BTreeMap<String, Vec<ReplicationRule>>,
    /// The zones read by name ([`Scope::names`]): `records` holds only the record sets at the
    /// names asked for there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub read_by_name: BTreeMap<String, ByName>,
}

/// What to read: the zones and registry regions a topology uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub zones: Vec<String>,
    pub regions: Vec<String>,
    /// Read the tags of the health checks whose caller reference starts with one of these
    /// (a topology's, when it tags its checks); empty: read no tags.
    pub tag_prefixes: Vec<String>,
    /// The record names a plan needs (sorted): a provider may read only the record sets at
    /// these names of a zone where that costs fewer calls than the whole zone, and says so in
    /// [`LiveState::read_by_name`]. Empty: every record set of the zones.
    pub names: Vec<String>,
    /// Records only: a provider may leave the account's health checks unread (an apply's
    /// re-read before deleting a check needs only which records use it).
    pub records_only: bool,
}

/// A zone read by name: how many names, against the record sets paging would have listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByName {
    pub names: usize,
    /// The zone's record-set count, as its hosted zone reports it.
    pub zone_records: u64,
}

impl Scope {
    /// The names of `names` at or under `zone` (in a zone nested in another, they are read in
    /// both: a name moved from one to the other is found where it was).
    pub fn names_in(&self, zone: &str) -> Vec<&str> {
        self.names
            .iter()
            .map(String::as_str)
            .filter(|n| *n == zone || n.ends_with(&format!(".{zone}")))
            .collect()
    }

    /// Whether the tags of a check with this caller reference are read.
    pub fn reads_tags_of(&self, caller_reference: &str) -> bool {
        self.tag_prefixes
            .iter()
            .any(|p| caller_reference.starts_with(p.as_str()))
    }
}

/// One change to a record set inside a zone's batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordChange {
    pub action: ChangeAction,
    pub record: RecordSet,
}

/// One provider operation. The engine orders them; a provider executes each as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    CreateHealthCheck {
        caller_reference: String,
        config: HealthCheckSpec,
    },
    /// Adds or overwrites these tags of a health check (others stay).
    TagHealthCheck {
        id: String,
        tags: BTreeMap<String, String>,
    },
    UpdateHealthCheck {
        id: String,
        /// The version the plan saw; a different live version is a conflict.
        version: u64,
        config: HealthCheckSpec,
        /// Settings to clear (Route 53's ResettableElementName: `ResourcePath`,
        /// `FullyQualifiedDomainName`, `Regions`), which an update otherwise leaves as they are.
        #[serde(default)]
        reset: Vec<String>,
    },
    DeleteHealthCheck {
        id: String,
    },
    /// One atomic batch of record changes in one zone.
    ChangeRecords {
        zone: String,
        changes: Vec<RecordChange>,
    },
    CreateRepository {
        region: String,
        name: String,
    },
    /// Changes a region's replication configuration: re-reads it, removes `remove`, appends
    /// `add`, writes it, and reads it back (retrying when another writer interfered). Rules
    /// it does not name are kept as they are live at that moment.
    UpdateReplication {
        region: String,
        add: Vec<ReplicationRule>,
        remove: Vec<ReplicationRule>,
    },
}

impl Op {
    /// What the operation does, in words ("create a health check").
    pub fn verb(&self) -> &'static str {
        match self {
            Op::CreateHealthCheck { .. } => "create a health check",
            Op::TagHealthCheck { .. } => "tag a health check",
            Op::UpdateHealthCheck { .. } => "update a health check",
            Op::DeleteHealthCheck { .. } => "delete a health check",
            Op::ChangeRecords { .. } => "change records",
            Op::CreateRepository { .. } => "create a repository",
            Op::UpdateReplication { .. } => "change replication",
        }
    }
}

/// What a provider can hold. The plan leaves out what it cannot, and says so
/// ([`crate::plan::capable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// How plans name the provider ("the zone-file provider").
    pub name: &'static str,
    /// Health checks that probe endpoints, and records answered by their health.
    pub health_checks: bool,
    /// Several answer sets at one name, each with a routing policy (latency, weighted,
    /// failover, geolocation) and a set identifier.
    pub routing: bool,
    /// Alias records (to an accelerator, a load balancer, another name of the zone).
    pub aliases: bool,
    /// Container registries and their replication.
    pub registries: bool,
}

impl Capabilities {
    /// Everything Route 53 and ECR hold.
    pub const ALL: Capabilities = Capabilities {
        name: "AWS",
        health_checks: true,
        routing: true,
        aliases: true,
        registries: true,
    };

    /// Whether the provider holds everything a topology can declare.
    pub fn all(&self) -> bool {
        self.health_checks && self.routing && self.aliases && self.registries
    }
}

/// What an operation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Done {
    /// A health check id (new, or the existing one for a repeated caller reference).
    HealthCheck(String),
    /// A record batch was applied; `insync` false when its propagation was not seen to end
    /// (the health checks it detaches must not be deleted yet).
    Records {
        insync: bool,
    },
    Other,
}

/// A provider failure, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ProviderError {
    #[error("{what} does not exist")]
    #[diagnostic(code(meridian::provider::not_found))]
    NotFound { what: String },
    #[error("{what} already exists")]
    #[diagnostic(code(meridian::provider::exists))]
    AlreadyExists { what: String },
    #[error("{what} changed since the plan (version {expected} planned{})", .actual.map(|a| format!(", {a} live")).unwrap_or_default())]
    #[diagnostic(
        code(meridian::provider::conflict),
        help("someone else changed it; run `meridian plan` again")
    )]
    Conflict {
        what: String,
        expected: u64,
        /// The live version, when the backend says.
        actual: Option<u64>,
    },
    #[error("invalid request: {0}")]
    #[diagnostic(code(meridian::provider::invalid))]
    Invalid(String),
    #[error("{0}")]
    #[diagnostic(code(meridian::provider::io))]
    Io(String),
    #[error("{0}")]
    #[diagnostic(code(meridian::provider::locked))]
    Locked(String),
}

/// Where live state comes from, saved in every plan: a saved plan is applied only to the
/// same source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveSource {
    /// A local state store.
    Local {
        /// The store's identity: its absolute path with every symlink of its existing part
        /// resolved, so any spelling of it (relative, through a symlink, before the file or its
        /// directory exists) names the same store.
        path: std::path::PathBuf,
        /// Random, set by the store's first write; None for a store never written.
        lineage: Option<String>,
    },
    /// AWS, or an AWS-compatible endpoint.
    Aws {
        region: String,
        endpoint: Option<String>,
        profile: Option<String>,
    },
    /// RFC 1035 zone files in a directory (its identity, as a local store's path).
    ZoneFiles { dir: std::path::PathBuf },
}

impl std::fmt::Display for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveSource::Local { path, .. } => write!(f, "local state store {}", path.display()),
            LiveSource::ZoneFiles { dir } => write!(f, "zone files in {}", dir.display()),
            LiveSource::Aws {
                region,
                endpoint: Some(e),
                ..
            } => write!(f, "AWS API at {e} (region {region})"),
            LiveSource::Aws {
                region,
                endpoint: None,
                profile,
            } => {
                write!(f, "AWS (region {region}")?;
                if let Some(p) = profile {
                    write!(f, ", profile {p}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// An endpoint URL without the credentials it may carry (`https://user:secret@host` ->
/// `https://***@host`): what is printed in plan headers and kept in saved plans.
pub fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// Log text without access key ids: the SDK's debug log prints `Credentials { ..,
/// access_key_id: "AKIA..", .. }` (the secret itself it redacts). Replaced: the value of every
/// `access_key_id: "..."`, anything shaped like an AWS key id (`AKIA`/`ASIA` and 16 more
/// upper-case letters or digits), and `known` (the key id in use, when set).
pub fn redact_key_ids(text: &str, known: Option<&str>) -> String {
    let mut out = text.to_string();
    if let Some(k) = known.filter(|k| k.len() >= 4) {
        out = out.replace(k, "***");
    }
    let out = redact_field(&out, "access_key_id: \"");
    redact_shaped(&out)
}

/// `FIELD...value"` with the value replaced, left to right.
fn redact_field(text: &str, field: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(field) {
        let after = &rest[i + field.len()..];
        out.push_str(&rest[..i + field.len()]);
        out.push_str("***");
        rest = after.find('"').map_or("", |e| &after[e..]);
    }
    out.push_str(rest);
    out
}

/// Anything shaped like an AWS key id (`AKIA`/`ASIA` and 16 upper-case letters or digits)
/// replaced, left to right, never overlapping.
fn redact_shaped(text: &str) -> String {
    let bytes = text.as_bytes();
    let shaped = |i: usize| {
        bytes.len() >= i + 20
            && (bytes[i..].starts_with(b"AKIA") || bytes[i..].starts_with(b"ASIA"))
            && bytes[i + 4..i + 20]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        if shaped(i) {
            out.push_str(&text[copied..i]);
            out.push_str("***");
            i += 20;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn key_ids_are_never_logged() {
        let r = super::redact_key_ids;
        let log = r#"Credentials { provider_name: "Env", access_key_id: "testing", secret_access_key: "** redacted **" }"#;
        assert_eq!(
            r(log, None),
            r#"Credentials { provider_name: "Env", access_key_id: "***", secret_access_key: "** redacted **" }"#
        );
        assert_eq!(r("key AKIAIOSFODNN7EXAMPLE used", None), "key *** used");
        assert_eq!(r("ASIAXXXXXXXXXXXXXXXX!", None), "***!");
        assert_eq!(r("AKIA is short", None), "AKIA is short");
        // Overlapping shapes (a hostile value) are replaced once, never past the end.
        assert_eq!(
            r(&format!("AKIAASIA{}", "X".repeat(16)), None),
            format!("***{}", "X".repeat(4))
        );
        assert_eq!(r("é AKIAIOSFODNN7EXAMPLE é", None), "é *** é");
        assert_eq!(r("id=mykey-1 here", Some("mykey-1")), "id=*** here");
    }

    #[test]
    fn userinfo_is_never_kept() {
        let r = super::redact_userinfo;
        assert_eq!(
            r("https://user:s3cret@host:4566/x"),
            "https://***@host:4566/x"
        );
        assert_eq!(r("http://AKIA@localhost"), "http://***@localhost");
        assert_eq!(r("http://localhost:5000/a@b"), "http://localhost:5000/a@b");
        assert_eq!(r("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
    }
}

/// Progress a provider reports while it works; the CLI decides whether and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A Route 53 change batch is propagating.
    Propagating {
        change_id: String,
        elapsed: std::time::Duration,
    },
    /// It reached INSYNC.
    InSync {
        change_id: String,
        elapsed: std::time::Duration,
    },
}

/// Where a provider sends [`Progress`].
pub type ProgressSink = std::sync::Arc<dyn Fn(Progress) + Send + Sync>;

/// How many health checks the account may hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckLimit {
    /// No limit (the local store, unless one is set).
    None,
    /// Route 53's `MAX_HEALTH_CHECKS_BY_OWNER`: the limit and how many exist.
    Known { limit: u64, count: u64 },
    /// It could not be read, and why.
    Unknown { why: String },
}

/// How record changes went out, from a provider that sends them in batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchStats {
    /// Change batches sent.
    pub batches: usize,
    /// The fewest the same changes fit in (elements / 1,000 and characters / 32,000, per
    /// zone and wave, rounded up).
    pub lower_bound: usize,
    /// Waits for INSYNC (one per zone and wave that had a batch still propagating).
    pub waits: usize,
}

impl BatchStats {
    /// What happened since `before` (a provider counts for its whole life).
    pub fn since(self, before: Option<BatchStats>) -> BatchStats {
        let b = before.unwrap_or_default();
        BatchStats {
            batches: self.batches.saturating_sub(b.batches),
            lower_bound: self.lower_bound.saturating_sub(b.lower_bound),
            waits: self.waits.saturating_sub(b.waits),
        }
    }
}

/// Live state read and change apply, in bulk.
pub trait Provider: Sync {
    /// What it can hold: the plan leaves out the rest, and says so.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    /// The account's health-check limit and usage (one call where the backend has one).
    fn check_limit(&self) -> CheckLimit {
        CheckLimit::None
    }

    /// Where live state comes from, for the header of every plan and the saved-plan check.
    fn source(&self) -> LiveSource;

    /// Reads everything a plan of `scope` needs, in as few calls as the backend allows.
    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError>;

    /// Applies operations in the order given, up to `parallelism` at once when the backend
    /// can; returns one result per operation, in order. The engine only passes operations
    /// that do not depend on each other in one call.
    fn apply(&self, ops: &[Op], parallelism: usize) -> Vec<Result<Done, ProviderError>>;

    /// Record batches sent and INSYNC waits so far (None where changes are not batched).
    fn batch_stats(&self) -> Option<BatchStats> {
        None
    }

    /// API calls made so far, by operation (empty where calls cost nothing).
    fn stats(&self) -> BTreeMap<String, usize> {
        BTreeMap::new()
    }
}
