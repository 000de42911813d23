//! The local state store: a strict cloud in one JSON file (default `.meridian/state.json`).
//!
//! It assigns ids, refuses to create what exists or delete what does not, applies a record
//! batch all or nothing, deletes a record only on an exact match, refuses a health-check
//! update whose version is stale and the deletion of a check a record still uses, and makes
//! `CreateHealthCheck` idempotent per caller reference, as Route 53 does. Every operation is
//! written at once, atomically (temporary file, then rename), and an apply holds a lock file
//! so two applies cannot interleave. Every hosted zone exists here (ids derived from names).

use super::*;
use crate::hash;
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FORMAT_VERSION: u32 = 1;
const MAX_RULES: usize = 10;
const MAX_FILTERS: usize = 100;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Store {
    format_version: u32,
    next_id: u64,
    records: Vec<RecordSet>,
    health_checks: Vec<LiveHealthCheck>,
    /// Route 53 refuses, for good, the caller reference of a deleted check.
    deleted_caller_references: BTreeSet<String>,
    repositories: BTreeMap<String, BTreeSet<String>>,
    replication: BTreeMap<String, Vec<ReplicationRule>>,
}

/// The lock an apply holds; removed when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug)]
pub struct LocalStore {
    path: PathBuf,
    store: Mutex<Store>,
    _lock: Option<Lock>,
}

/// The hosted zone id the local store gives a zone name.
pub fn zone_id(name: &str) -> String {
    format!("Z{}", hash::hex(name, 12).to_uppercase())
}

fn io(path: &Path, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Io(format!("local state store {}: {e}", path.display()))
}

impl LocalStore {
    /// Opens (or starts) the store at `path`. With `lock`, takes the apply lock, waiting up to
    /// `lock_timeout` for another holder.
    pub fn open(
        path: &Path,
        lock: bool,
        lock_timeout: std::time::Duration,
    ) -> Result<LocalStore, ProviderError> {
        let lock = if lock {
            Some(take_lock(path, lock_timeout)?)
        } else {
            None
        };
        let store = match std::fs::read_to_string(path) {
            Ok(text) => {
                let s: Store = serde_json::from_str(&text)
                    .map_err(|e| io(path, format!("unreadable: {e}")))?;
                if s.format_version != FORMAT_VERSION {
                    return Err(io(
                        path,
                        format!(
                            "format version {} is not {FORMAT_VERSION}",
                            s.format_version
                        ),
                    ));
                }
                s
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Store {
                format_version: FORMAT_VERSION,
                next_id: 1,
                ..Store::default()
            },
            Err(e) => return Err(io(path, e)),
        };
        Ok(LocalStore {
            path: path.to_path_buf(),
            store: Mutex::new(store),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn save(&self, s: &Store) -> Result<(), ProviderError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(&self.path, e))?;
        }
        let text = serde_json::to_string_pretty(s).map_err(|e| io(&self.path, e))?;
        let tmp = self
            .path
            .with_extension(format!("tmp.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&self.path, e)
        })
    }

    fn op(&self, op: &Op) -> Result<Done, ProviderError> {
        let mut guard = self.store.lock().map_err(|_| {
            ProviderError::Io("local state store: a previous operation panicked".into())
        })?;
        let mut next = guard.clone();
        let done = execute(&mut next, op)?;
        next.records.sort();
        self.save(&next)?;
        *guard = next;
        Ok(done)
    }
}

fn take_lock(path: &Path, timeout: std::time::Duration) -> Result<Lock, ProviderError> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(path, e))?;
    }
    let start = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock_path)
        {
            Ok(mut f) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let _ = writeln!(
                    f,
                    "{{\"pid\": {}, \"since_unix\": {now}}}",
                    std::process::id()
                );
                return Ok(Lock { path: lock_path });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if start.elapsed() >= timeout {
                    let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
                    return Err(ProviderError::Locked(format!(
                        "the local state store {} is locked by another apply ({}); wait for it, use --lock-timeout, or remove {} if that process is gone",
                        path.display(),
                        holder.trim(),
                        lock_path.display()
                    )));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(io(path, e)),
        }
    }
}

fn execute(s: &mut Store, op: &Op) -> Result<Done, ProviderError> {
    match op {
        Op::CreateHealthCheck {
            caller_reference,
            config,
            tags,
        } => {
            if caller_reference.is_empty() || caller_reference.len() > 64 {
                return Err(ProviderError::Invalid(
                    "CallerReference must be 1-64 characters".into(),
                ));
            }
            if let Some(h) = s
                .health_checks
                .iter()
                .find(|h| &h.caller_reference == caller_reference)
            {
                return if &h.config == config {
                    Ok(Done::HealthCheck(h.id.clone()))
                } else {
                    Err(ProviderError::AlreadyExists {
                        what: format!("a health check with caller reference {caller_reference} and other settings"),
                    })
                };
            }
            if s.deleted_caller_references.contains(caller_reference) {
                return Err(ProviderError::AlreadyExists {
                    what: format!(
                        "caller reference {caller_reference} (used by a deleted health check)"
                    ),
                });
            }
            let id = format!("hc-{:08}", s.next_id);
            s.next_id += 1;
            s.health_checks.push(LiveHealthCheck {
                id: id.clone(),
                caller_reference: caller_reference.clone(),
                version: 1,
                config: config.clone(),
                tags: tags.clone(),
            });
            Ok(Done::HealthCheck(id))
        }
        Op::UpdateHealthCheck {
            id,
            version,
            config,
        } => {
            let h = s
                .health_checks
                .iter_mut()
                .find(|h| &h.id == id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("health check {id}"),
                })?;
            if h.version != *version {
                return Err(ProviderError::Conflict {
                    what: format!("health check {id}"),
                    expected: *version,
                    actual: h.version,
                });
            }
            if h.config.kind != config.kind || h.config.request_interval != config.request_interval
            {
                return Err(ProviderError::Invalid(format!(
                    "health check {id}: type and request interval cannot be changed"
                )));
            }
            h.config = config.clone();
            h.version += 1;
            Ok(Done::Other)
        }
        Op::DeleteHealthCheck { id } => {
            let pos = s
                .health_checks
                .iter()
                .position(|h| &h.id == id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("health check {id}"),
                })?;
            if let Some(r) = s
                .records
                .iter()
                .find(|r| r.health_check_id.as_deref() == Some(id))
            {
                return Err(ProviderError::Invalid(format!(
                    "HealthCheckInUse: health check {id} is used by record {} {}",
                    r.name, r.record_type
                )));
            }
            let h = s.health_checks.remove(pos);
            s.deleted_caller_references.insert(h.caller_reference);
            Ok(Done::Other)
        }
        Op::ChangeRecords { zone, changes } => {
            // All or nothing: apply to a copy, keep it only if every change is valid.
            let mut records = s.records.clone();
            for c in changes {
                if &c.record.zone != zone {
                    return Err(ProviderError::Invalid(format!(
                        "record {} is not in zone {zone}",
                        c.record.name
                    )));
                }
                let pos = records.iter().position(|r| r.key() == c.record.key());
                let what = || {
                    format!(
                        "record {} {}{}",
                        c.record.name,
                        c.record.record_type,
                        c.record
                            .set_identifier
                            .as_deref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    )
                };
                match (c.action.as_str(), pos) {
                    ("CREATE", Some(_)) => {
                        return Err(ProviderError::AlreadyExists { what: what() })
                    }
                    ("DELETE", None) => return Err(ProviderError::NotFound { what: what() }),
                    ("DELETE", Some(p)) => {
                        if records[p] != c.record {
                            return Err(ProviderError::Invalid(format!(
                                "{}: a DELETE must carry the exact live values",
                                what()
                            )));
                        }
                        records.remove(p);
                    }
                    ("CREATE" | "UPSERT", pos) => {
                        if let Some(p) = pos {
                            records.remove(p);
                        }
                        check_record(&records, &c.record, &s.health_checks)?;
                        records.push(c.record.clone());
                    }
                    (other, _) => {
                        return Err(ProviderError::Invalid(format!(
                            "unknown change action {other}"
                        )))
                    }
                }
            }
            s.records = records;
            Ok(Done::Other)
        }
        Op::CreateRepository { region, name } => {
            let repos = s.repositories.entry(region.clone()).or_default();
            if !repos.insert(name.clone()) {
                return Err(ProviderError::AlreadyExists {
                    what: format!("repository {name} in {region}"),
                });
            }
            Ok(Done::Other)
        }
        Op::DeleteRepository { region, name } => {
            let removed = s
                .repositories
                .get_mut(region)
                .is_some_and(|r| r.remove(name));
            if !removed {
                return Err(ProviderError::NotFound {
                    what: format!("repository {name} in {region}"),
                });
            }
            Ok(Done::Other)
        }
        Op::PutReplication { region, rules } => {
            if rules.len() > MAX_RULES {
                return Err(ProviderError::Invalid(format!(
                    "{region}: more than {MAX_RULES} replication rules"
                )));
            }
            for r in rules {
                if r.filters.len() > MAX_FILTERS
                    || r.destinations.iter().any(|d| d == region)
                    || r.destinations.is_empty()
                {
                    return Err(ProviderError::Invalid(format!(
                        "{region}: invalid replication rule {r:?}"
                    )));
                }
            }
            if rules.is_empty() {
                s.replication.remove(region);
            } else {
                s.replication.insert(region.clone(), rules.clone());
            }
            Ok(Done::Other)
        }
    }
}

/// The rules Route 53 enforces on a record joining a zone.
fn check_record(
    records: &[RecordSet],
    r: &RecordSet,
    checks: &[LiveHealthCheck],
) -> Result<(), ProviderError> {
    let same_name: Vec<&RecordSet> = records
        .iter()
        .filter(|o| o.zone == r.zone && o.name == r.name)
        .collect();
    if r.record_type == "CNAME" && same_name.iter().any(|o| o.record_type != "CNAME") {
        return Err(ProviderError::Invalid(format!(
            "{}: a CNAME cannot coexist with other records",
            r.name
        )));
    }
    if r.record_type != "CNAME" && same_name.iter().any(|o| o.record_type == "CNAME") {
        return Err(ProviderError::Invalid(format!(
            "{}: the name holds a CNAME",
            r.name
        )));
    }
    let policy = |x: &RecordSet| {
        (
            x.region.is_some(),
            x.weight.is_some(),
            x.failover.is_some(),
            x.geolocation.is_some(),
        )
    };
    if same_name
        .iter()
        .any(|o| o.record_type == r.record_type && policy(o) != policy(r))
    {
        return Err(ProviderError::Invalid(format!(
            "{} {}: routing policies cannot be mixed under one name and type",
            r.name, r.record_type
        )));
    }
    if (r.ttl.is_some()) == r.alias.is_some() {
        return Err(ProviderError::Invalid(format!(
            "{}: a record has either a TTL or an alias target",
            r.name
        )));
    }
    if let Some(id) = &r.health_check_id {
        if !checks.iter().any(|h| &h.id == id) {
            return Err(ProviderError::NotFound {
                what: format!("health check {id}"),
            });
        }
    }
    Ok(())
}

impl Provider for LocalStore {
    fn describe(&self) -> String {
        format!("local state store {}", self.path.display())
    }

    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        let s = self.store.lock().map_err(|_| {
            ProviderError::Io("local state store: a previous operation panicked".into())
        })?;
        let zones: BTreeMap<String, String> = scope
            .zones
            .iter()
            .map(|z| (z.clone(), zone_id(z)))
            .collect();
        Ok(LiveState {
            records: s
                .records
                .iter()
                .filter(|r| zones.contains_key(&r.zone))
                .cloned()
                .collect(),
            zones,
            health_checks: s.health_checks.clone(),
            repositories: scope
                .regions
                .iter()
                .map(|r| {
                    (
                        r.clone(),
                        s.repositories
                            .get(r)
                            .map(|x| x.iter().cloned().collect())
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            replication: scope
                .regions
                .iter()
                .map(|r| (r.clone(), s.replication.get(r).cloned().unwrap_or_default()))
                .collect(),
        })
    }

    fn apply(&self, ops: &[Op], _parallelism: usize) -> Vec<Result<Done, ProviderError>> {
        // One file: operations run one after another, each saved before the next.
        ops.iter().map(|op| self.op(op)).collect()
    }
}
