//! Backends: where a topology's manifest and apply lock live, so a team (laptops and CI
//! runners alike) shares one identity and one lock. Live state is still read from the cloud
//! itself; the manifest only says who the topology is and what its last apply left under
//! management.
//!
//! [`local::LocalBackend`] keeps them in a directory (`.meridian` beside the topology by
//! default); [`s3::S3Backend`] in an S3 object, written with conditional requests
//! (`If-None-Match: *` to create, `If-Match: <ETag>` to replace), with a lock object that
//! carries a lease.

pub mod local;
pub mod s3;

use crate::identity::Identity;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Version of the manifest document; `schemas/manifest.schema.json` describes it.
pub const MANIFEST_FORMAT: u32 = 1;
/// Applies the manifest's history keeps (the oldest are dropped).
pub const HISTORY_CAP: usize = 100;

/// What a backend keeps about one topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// The ownership key of everything the topology creates; random, minted once.
    pub topology_id: String,
    /// The topology's name when it was last applied (for people).
    pub name: String,
    /// Resources an earlier Meridian made under this name are this topology's
    /// (`meridian init` adopted them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_name: Option<String>,
    /// Incremented by every apply, destroy and init.
    pub serial: u64,
    /// Under management after the last apply: services, hosted zones and registry regions.
    pub services: Vec<String>,
    pub zones: Vec<String>,
    pub regions: Vec<String>,
    /// The record names (domains and their markers) under management.
    #[serde(default)]
    pub names: Vec<String>,
    /// The ECR replication rules the last apply wrote, by source region.
    #[serde(default)]
    pub rules: std::collections::BTreeMap<String, Vec<crate::provider::ReplicationRule>>,
    /// The rules the topology declared at its last apply, by source region (whoever wrote
    /// them): other topologies under the same backend read these to say a rule is shared.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub declared_rules: std::collections::BTreeMap<String, Vec<crate::provider::ReplicationRule>>,
    /// What `meridian state rm` forgot (left in the cloud, no longer managed).
    #[serde(default)]
    pub forgotten: crate::identity::Forgotten,
    pub last_plan_id: Option<String>,
    /// Weights held by `meridian shift`, by service (until `shift --write` or `--release`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub holds: crate::shift::Holds,
    /// The journal: set before an apply's first change, with what it may make already merged
    /// into the lists above; cleared when its outcome is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<crate::identity::Unfinished>,
    /// What `meridian init --adopt` took over from another tool.
    #[serde(default, skip_serializing_if = "crate::identity::Adopted::is_empty")]
    pub adopted: crate::identity::Adopted,
    /// The last [`HISTORY_CAP`] operations, oldest first.
    pub history: Vec<Entry>,
}

/// What changed the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Apply,
    Destroy,
    Init,
    /// `meridian state rm`: forgot resources without deleting them.
    Forget,
    /// `meridian shift`: one step of a weight shift, its abort, write-back or release.
    Shift,
}

/// One operation in the manifest's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub serial: u64,
    pub operation: Operation,
    pub plan_id: Option<String>,
    /// The caller identity's ARN (S3 backend), else `user@host`.
    pub who: String,
    pub when_unix: u64,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Changes that did not complete (failed, partial or not attempted).
    pub incomplete: usize,
}

impl Entry {
    /// An entry for an operation that changed nothing in the cloud (init, forget).
    pub fn bare(operation: Operation, who: String) -> Entry {
        Entry {
            serial: 0,
            operation,
            plan_id: None,
            who,
            when_unix: now_unix(),
            added: 0,
            changed: 0,
            destroyed: 0,
            incomplete: 0,
        }
    }
}

impl Manifest {
    /// The manifest of a topology about to be applied for the first time.
    pub fn new(identity: &Identity, name: &str) -> Manifest {
        Manifest {
            format_version: MANIFEST_FORMAT,
            topology_id: identity.id.clone(),
            name: name.to_string(),
            adopted_name: identity.adopted_name.clone(),
            serial: 0,
            services: Vec::new(),
            zones: Vec::new(),
            regions: Vec::new(),
            names: Vec::new(),
            rules: std::collections::BTreeMap::new(),
            declared_rules: std::collections::BTreeMap::new(),
            forgotten: crate::identity::Forgotten::default(),
            last_plan_id: None,
            holds: std::collections::BTreeMap::new(),
            unfinished: None,
            adopted: identity.adopted.clone(),
            history: Vec::new(),
        }
    }

    /// The identity a plan uses.
    pub fn identity(&self) -> Identity {
        Identity {
            id: self.topology_id.clone(),
            new: false,
            adopted_name: self.adopted_name.clone(),
            services: self.services.clone(),
            zones: self.zones.clone(),
            regions: self.regions.clone(),
            rules: self.rules.clone(),
            forgotten: self.forgotten.clone(),
            holds: self.holds.clone(),
            unfinished: self.unfinished.clone(),
            adopted: self.adopted.clone(),
            names: self.names.clone(),
        }
    }

    /// Records one operation: the serial moves on, the history keeps the last entries.
    pub fn record(&mut self, mut entry: Entry) {
        self.serial += 1;
        entry.serial = self.serial;
        if entry.plan_id.is_some() {
            self.last_plan_id.clone_from(&entry.plan_id);
        }
        self.history.push(entry);
        let excess = self.history.len().saturating_sub(HISTORY_CAP);
        self.history.drain(..excess);
    }

    /// Reads a manifest, refusing another format.
    pub fn parse(where_: &str, bytes: &[u8]) -> Result<Manifest, BackendError> {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| BackendError::Io(format!("{where_} is not a Meridian manifest: {e}")))?;
        let found = v.get("format_version").and_then(serde_json::Value::as_u64);
        if found != Some(u64::from(MANIFEST_FORMAT)) {
            return Err(BackendError::Io(format!(
                "{where_} has manifest format {}; this Meridian reads format {MANIFEST_FORMAT}",
                found.map_or("none".to_string(), |f| f.to_string())
            )));
        }
        serde_json::from_value(v)
            .map_err(|e| BackendError::Io(format!("{where_} is not a Meridian manifest: {e}")))
    }
}

/// A manifest as stored, with the version a conditional write must name.
#[derive(Debug, Clone)]
pub struct Stored {
    pub manifest: Manifest,
    /// The S3 ETag, or a hash of the local file.
    pub version: String,
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random; what `force-unlock` names.
    pub id: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub operation: String,
    pub since_unix: u64,
    /// When the lease ends unless renewed (S3); None for a local lock, whose holder's
    /// process is checked instead.
    #[serde(default)]
    pub expires_unix: Option<u64>,
}

impl LockInfo {
    /// A lock for this process.
    pub fn mine(who: &str, operation: &str, lease: Option<Duration>) -> LockInfo {
        let now = now_unix();
        LockInfo {
            id: crate::identity::random_hex(),
            who: who.to_string(),
            host: crate::process::host(),
            pid: std::process::id(),
            operation: operation.to_string(),
            since_unix: now,
            expires_unix: lease.map(|l| now + l.as_secs()),
        }
    }

    /// What stands for a lock whose content names no holder (empty or corrupt: its holder
    /// died while creating it); `force-unlock unreadable` removes it.
    pub fn unreadable(content: &str) -> LockInfo {
        LockInfo {
            id: crate::provider::lock::UNREADABLE.to_string(),
            who: format!("no one: the lock's content ({content:?}) names no holder"),
            host: "unknown".into(),
            pid: 0,
            operation: "unknown".into(),
            since_unix: 0,
            expires_unix: None,
        }
    }

    /// Says who holds it, and whether it looks abandoned.
    pub fn describe(&self) -> String {
        let stale = match self.expires_unix {
            Some(e) if e < now_unix() => format!(
                "; its lease expired {} s ago, so its holder has probably died",
                now_unix() - e
            ),
            _ => String::new(),
        };
        format!(
            "lock {} held by {} (pid {} on {}) for {} since unix time {}{stale}",
            self.id, self.who, self.pid, self.host, self.operation, self.since_unix
        )
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `user@host`, for the history and locks where no cloud identity is known.
pub fn local_user() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("{user}@{}", crate::process::host())
}

/// A lock held; released when dropped (if it is still ours).
pub trait Held: Send + Sync {
    fn info(&self) -> &LockInfo;
    /// Asked before each wave of writes: whether the lock is still this process's, with
    /// enough of its lease left for a wave. Err says why not; the apply stops there.
    fn still_held(&self) -> Result<(), String>;
    /// Whether the lock was found, between waves, to be someone else's (force-unlocked and
    /// taken, or its lease ran out unrenewed): the apply stops after the calls in flight.
    fn lost(&self) -> bool {
        false
    }
    /// The lock this one replaced: its holder's lease had expired (taken over under
    /// `--lock-timeout`).
    fn took_over(&self) -> Option<&LockInfo> {
        None
    }
}

/// A backend failure, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum BackendError {
    #[error("the topology is locked: {0}")]
    #[diagnostic(
        code(meridian::backend::locked),
        help("wait for that apply (--lock-timeout 5m waits), or, if it is dead, run `meridian force-unlock LOCK_ID`")
    )]
    Locked(String),
    #[error("the manifest of topology {0} changed since it was read: another apply or init won the race")]
    #[diagnostic(
        code(meridian::backend::conflict),
        help("run `meridian plan` again: it shows the live state")
    )]
    Conflict(String),
    #[error("{0}")]
    #[diagnostic(code(meridian::backend::lock_id))]
    NoSuchLock(String),
    #[error("{backend} holds the manifest of topology {recorded:?} (id {id}), not of {name:?}")]
    #[diagnostic(
        code(meridian::backend::other_topology),
        help("two topologies whose backends name one key (or one directory) would destroy each other's records: give this one its own `key` (or `path`). If it is the same topology under a new name (a renamed directory, a new `name`), pass --rename to record the new name, or declare `name = \"{recorded}\"`")
    )]
    OtherTopology {
        backend: String,
        recorded: String,
        id: String,
        name: String,
    },
    #[error("{0}")]
    #[diagnostic(code(meridian::backend::io))]
    Io(String),
}

/// Where a backend is, saved in every plan so a saved plan is applied under the same one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackendRef {
    /// A directory, absolute with its symlinks resolved.
    Local { dir: std::path::PathBuf },
    S3 {
        bucket: String,
        key: String,
        region: Option<String>,
        profile: Option<String>,
        endpoint_url: Option<String>,
    },
}

impl std::fmt::Display for BackendRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendRef::Local { dir } => write!(f, "local {}", dir.display()),
            BackendRef::S3 { bucket, key, .. } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

impl BackendRef {
    /// The backend a topology declares, its local directory resolved against `topology_dir`.
    pub fn of(
        config: Option<&crate::model::BackendConfig>,
        topology_dir: &std::path::Path,
    ) -> BackendRef {
        use crate::model::BackendConfig;
        match config {
            None | Some(BackendConfig::Local { path: None }) => BackendRef::Local {
                dir: crate::provider::local::identity(&topology_dir.join(".meridian")),
            },
            Some(BackendConfig::Local { path: Some(p) }) => BackendRef::Local {
                dir: crate::provider::local::identity(&topology_dir.join(p)),
            },
            Some(BackendConfig::S3 {
                bucket,
                key,
                region,
                profile,
                endpoint_url,
            }) => BackendRef::S3 {
                bucket: bucket.clone(),
                key: key.clone(),
                region: region.clone(),
                profile: profile.clone(),
                endpoint_url: endpoint_url.clone(),
            },
        }
    }

    pub fn open(&self, settings: &BackendSettings) -> Result<Box<dyn Backend>, BackendError> {
        Ok(match self {
            BackendRef::Local { dir } => Box::new(local::LocalBackend::new(dir)),
            BackendRef::S3 {
                bucket,
                key,
                region,
                profile,
                endpoint_url,
            } => Box::new(s3::S3Backend::new(&s3::S3Settings {
                bucket: bucket.clone(),
                key: key.clone(),
                region: region.clone(),
                profile: profile.clone(),
                endpoint_url: endpoint_url.clone(),
                lease: settings.lease,
            })?),
        })
    }
}

/// How backends behave, chosen by their caller (the CLI reads it from its environment).
#[derive(Debug, Clone, Default)]
pub struct BackendSettings {
    /// The S3 lock's lease (default two minutes).
    pub lease: Option<std::time::Duration>,
}

/// Where a topology's manifest and lock live.
pub trait Backend: Send + Sync {
    /// For plan headers and messages, e.g. `s3://bucket/key`.
    fn describe(&self) -> String;
    /// The manifest, or None before the first apply.
    fn read(&self) -> Result<Option<Stored>, BackendError>;
    /// Writes `m` when the stored manifest is still `prior` (None: there is none yet);
    /// returns the new version. A lost race is [`BackendError::Conflict`].
    fn write(&self, m: &Manifest, prior: Option<&str>) -> Result<String, BackendError>;
    /// Takes the topology's lock, waiting up to `timeout` for another holder.
    fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Held>, BackendError>;
    /// Who holds the lock, if anyone.
    fn holder(&self) -> Result<Option<LockInfo>, BackendError>;
    /// Removes the lock `id` (whoever holds it); returns what it said.
    fn force_unlock(&self, id: &str) -> Result<LockInfo, BackendError>;
    /// Who is acting, for the history.
    fn who(&self) -> String;
    /// The other topologies whose manifests this backend's store holds beside this one (an
    /// S3 bucket's other keys), at most [`MAX_NEIGHBOURS`]; none for a local backend.
    fn neighbours(&self) -> Result<Vec<Neighbour>, BackendError> {
        Ok(Vec::new())
    }
}

/// Other manifests read at most, per plan.
pub const MAX_NEIGHBOURS: usize = 100;

/// Another topology under the same backend, as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub name: String,
    /// Where its manifest is, e.g. `s3://bucket/key`.
    pub at: String,
    pub declared_rules: std::collections::BTreeMap<String, Vec<crate::provider::ReplicationRule>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_capped_and_the_serial_counts_every_operation() {
        let mut m = Manifest::new(&Identity::known("t-1"), "shop");
        for i in 0..(HISTORY_CAP + 5) {
            m.record(Entry {
                serial: 0,
                operation: Operation::Apply,
                plan_id: Some(format!("p{i}")),
                who: "me".into(),
                when_unix: 0,
                added: 0,
                changed: 0,
                destroyed: 0,
                incomplete: 0,
            });
        }
        assert_eq!(m.serial, 105);
        assert_eq!(m.history.len(), HISTORY_CAP);
        assert_eq!(m.history[0].serial, 6);
        assert_eq!(m.last_plan_id.as_deref(), Some("p104"));
        let text = serde_json::to_vec(&m).unwrap_or_default();
        assert_eq!(Manifest::parse("m", &text), Ok(m));
        assert!(Manifest::parse("m", b"{\"format_version\": 9}").is_err());
    }
}
