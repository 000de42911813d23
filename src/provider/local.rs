//! The local state store: a strict cloud in one JSON file (default `.meridian/state.json`).
//!
//! It assigns ids, refuses to create what exists or delete what does not, applies a record
//! batch all or nothing, deletes a record only on an exact match, refuses a health-check
//! update whose version is stale, makes `CreateHealthCheck` idempotent per caller reference,
//! and, like Route 53, deletes a check that records still use ([`LocalStore::dangling_checks`]
//! finds what that leaves). Every operation is written at once, atomically (a uniquely named
//! temporary file, then a rename, through a symlink to its target), and an apply holds a lock
//! file so two applies cannot interleave. Every hosted zone exists here (ids derived from
//! names).

use super::*;
use crate::hash;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Version of the store file. 2: record sets carry their routing policy as one tagged
/// value, and the file has a lineage. Version 1 files are read and rewritten as 2.
pub const FORMAT_VERSION: u32 = 2;
const MAX_RULES: usize = 10;
const MAX_FILTERS: usize = 100;

/// The file: plain lists, sorted, so it diffs well.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StoreFile {
    format_version: u32,
    /// Random, set when the file is first written, kept for its life: which store this is,
    /// whatever path names it.
    #[serde(default)]
    lineage: Option<String>,
    next_id: u64,
    #[serde(default)]
    records: Vec<RecordSet>,
    health_checks: Vec<LiveHealthCheck>,
    /// Route 53 refuses, for good, the caller reference of a deleted check.
    deleted_caller_references: BTreeSet<String>,
    repositories: BTreeMap<String, BTreeSet<String>>,
    replication: BTreeMap<String, Vec<ReplicationRule>>,
    /// Like Route 53's per-account limit, when set (by hand, for tests): a create beyond it
    /// is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_health_checks: Option<u64>,
}

/// Reading every version of the file this Meridian knows.
mod migrate {
    use super::{StoreFile, FORMAT_VERSION};
    use crate::dns::{FailoverRole, RecordType, RoutingPolicy};
    use crate::graph::AliasTarget;
    use crate::provider::RecordSet;
    use serde::Deserialize;

    /// A record set as version 1 wrote it: one optional field per routing policy.
    #[derive(Deserialize)]
    struct RecordV1 {
        zone: String,
        name: String,
        #[serde(rename = "type")]
        record_type: RecordType,
        set_identifier: Option<String>,
        ttl: Option<u32>,
        values: Vec<String>,
        alias: Option<AliasTarget>,
        region: Option<String>,
        weight: Option<u8>,
        failover: Option<FailoverRole>,
        geolocation: Option<String>,
        health_check_id: Option<String>,
        #[serde(default)]
        other_routing: bool,
    }

    impl RecordV1 {
        fn upgrade(self) -> RecordSet {
            let routing = match (self.other_routing, self.failover, self.geolocation) {
                (true, _, _) => RoutingPolicy::Unmanaged,
                (false, Some(role), _) => RoutingPolicy::Failover { role },
                (false, None, Some(location)) => RoutingPolicy::Geolocation { location },
                (false, None, None) => match (self.region, self.weight) {
                    (Some(region), _) => RoutingPolicy::Latency { region },
                    (None, Some(weight)) => RoutingPolicy::Weighted { weight },
                    (None, None) => RoutingPolicy::Simple,
                },
            };
            RecordSet {
                zone: self.zone,
                name: self.name,
                record_type: self.record_type,
                set_identifier: self.set_identifier,
                ttl: self.ttl,
                values: self.values,
                alias: self.alias,
                routing,
                health_check_id: self.health_check_id,
            }
        }
    }

    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }

    /// Parses a store file of any known version.
    pub(super) fn read(text: &str) -> Result<StoreFile, String> {
        // The current version in one pass (the common case); any other, or an error, is
        // looked at again for its version.
        if let Ok(f) = serde_json::from_str::<StoreFile>(text) {
            if f.format_version == FORMAT_VERSION {
                return Ok(f);
            }
        }
        let v: Version = serde_json::from_str(text)
            .map_err(|e| format!("unreadable (no format_version): {e}"))?;
        match v.format_version {
            1 => {
                let mut raw: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("unreadable: {e}"))?;
                let records = raw
                    .as_object_mut()
                    .and_then(|o| o.remove("records"))
                    .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
                let records: Vec<RecordV1> = serde_json::from_value(records)
                    .map_err(|e| format!("unreadable version 1 records: {e}"))?;
                let mut f: StoreFile = serde_json::from_value(raw)
                    .map_err(|e| format!("unreadable version 1 file: {e}"))?;
                f.records = records.into_iter().map(RecordV1::upgrade).collect();
                Ok(f)
            }
            FORMAT_VERSION => serde_json::from_str(text).map_err(|e| format!("unreadable: {e}")),
            n => Err(format!(
                "format version {n} was written by a newer Meridian; this one reads versions 1 to {FORMAT_VERSION}"
            )),
        }
    }
}

/// The same, indexed in memory.
#[derive(Debug, Clone, Default)]
struct Store {
    lineage: Option<String>,
    next_id: u64,
    records: BTreeMap<RecordKey, RecordSet>,
    health_checks: BTreeMap<String, LiveHealthCheck>,
    /// Caller reference -> health check id.
    callers: BTreeMap<String, String>,
    deleted_caller_references: BTreeSet<String>,
    repositories: BTreeMap<String, BTreeSet<String>>,
    replication: BTreeMap<String, Vec<ReplicationRule>>,
    max_health_checks: Option<u64>,
}

impl Store {
    fn from_file(f: StoreFile) -> Store {
        let mut s = Store {
            lineage: f.lineage,
            next_id: f.next_id,
            deleted_caller_references: f.deleted_caller_references,
            repositories: f.repositories,
            replication: f.replication,
            max_health_checks: f.max_health_checks,
            ..Store::default()
        };
        for r in f.records {
            s.add_record(r);
        }
        for h in f.health_checks {
            // Never hand out an id the file already holds, whatever its counter says.
            if let Some(n) = h.id.strip_prefix("hc-").and_then(|n| n.parse::<u64>().ok()) {
                s.next_id = s.next_id.max(n.saturating_add(1));
            }
            s.callers.insert(h.caller_reference.clone(), h.id.clone());
            s.health_checks.insert(h.id.clone(), h);
        }
        s.next_id = s.next_id.max(1);
        s
    }

    fn to_file(&self) -> StoreFile {
        StoreFile {
            format_version: FORMAT_VERSION,
            lineage: self.lineage.clone(),
            next_id: self.next_id,
            records: self.records.values().cloned().collect(),
            health_checks: self.health_checks.values().cloned().collect(),
            deleted_caller_references: self.deleted_caller_references.clone(),
            repositories: self.repositories.clone(),
            replication: self.replication.clone(),
            max_health_checks: self.max_health_checks,
        }
    }

    fn add_record(&mut self, r: RecordSet) {
        self.records.insert(r.key(), r);
    }

    fn remove_record(&mut self, key: &RecordKey) -> Option<RecordSet> {
        self.records.remove(key)
    }

    /// Record sets at one name of one zone.
    fn at_name<'a>(&'a self, zone: &str, name: &str) -> impl Iterator<Item = &'a RecordSet> + 'a {
        let start: RecordKey = (zone.to_string(), name.to_string(), RecordType::A, None);
        let (zone, name) = (zone.to_string(), name.to_string());
        self.records
            .range(start..)
            .take_while(move |(k, _)| k.0 == zone && k.1 == name)
            .map(|(_, r)| r)
    }
}

pub use super::lock::Lock;

#[derive(Debug)]
pub struct LocalStore {
    path: PathBuf,
    store: Mutex<Held>,
    _lock: Option<Lock>,
}

/// What a store holds in memory. A plan reads the file once and keeps what it read, so the
/// file's lists are handed to it as they are (no index, no copy); an apply indexes them.
#[derive(Debug)]
enum Held {
    /// The file as read, not indexed yet.
    File(StoreFile),
    /// Indexed, for operations.
    Index(Store),
    /// Handed to a plan by [`Provider::read`]; what the store's own questions need is kept,
    /// and the file is read again if an operation follows.
    Taken {
        lineage: Option<String>,
        checks: usize,
        max_health_checks: Option<u64>,
    },
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
    /// that long for another holder.
    pub fn open(
        path: &Path,
        lock: Option<std::time::Duration>,
    ) -> Result<LocalStore, ProviderError> {
        let lock = lock.map(|timeout| take_lock(path, timeout)).transpose()?;
        Ok(LocalStore {
            path: path.to_path_buf(),
            store: Mutex::new(Self::load(path)?),
            _lock: lock,
        })
    }

    /// The file, or an empty store when there is none.
    fn load(path: &Path) -> Result<Held, ProviderError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Held::File(migrate::read(&text).map_err(|e| io(path, e))?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Held::Index(Store {
                next_id: 1,
                ..Store::default()
            })),
            Err(e) => Err(io(path, e)),
        }
    }

    /// The indexed store, indexing (or reading again) what is held.
    fn index<'a>(&self, held: &'a mut Held) -> Result<&'a mut Store, ProviderError> {
        if let Held::Taken { .. } = held {
            *held = Self::load(&self.path)?;
        }
        if let Held::File(f) = held {
            *held = Held::Index(Store::from_file(std::mem::take(f)));
        }
        match held {
            Held::Index(s) => Ok(s),
            _ => Err(ProviderError::Io(format!(
                "local state store {}: not indexed",
                self.path.display()
            ))),
        }
    }

    fn held(&self) -> Result<std::sync::MutexGuard<'_, Held>, ProviderError> {
        self.store.lock().map_err(|_| {
            ProviderError::Io("local state store: a previous operation panicked".into())
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that use a health check that no longer exists: (record, check id). Route 53
    /// allows it (the record then counts as healthy); an apply in the right order never
    /// leaves one.
    pub fn dangling_checks(&self) -> Vec<(String, String)> {
        let Ok(mut held) = self.held() else {
            return Vec::new();
        };
        let Ok(s) = self.index(&mut held) else {
            return Vec::new();
        };
        s.records
            .values()
            .filter_map(|r| {
                let id = r.health_check_id.as_ref()?;
                (!s.health_checks.contains_key(id))
                    .then(|| (format!("{} {}", r.name, r.describe()), id.clone()))
            })
            .collect()
    }

    /// The store's lineage: None until its first write.
    pub fn lineage(&self) -> Option<String> {
        match &*self.held().ok()? {
            Held::File(f) => f.lineage.clone(),
            Held::Index(s) => s.lineage.clone(),
            Held::Taken { lineage, .. } => lineage.clone(),
        }
    }

    fn save(&self, s: &Store) -> Result<(), ProviderError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io(&self.path, e))?;
        }
        let mut text = serde_json::to_string_pretty(&s.to_file()).map_err(|e| io(&self.path, e))?;
        text.push('\n');
        crate::atomic::write(&self.path, text.as_bytes()).map_err(|e| io(&self.path, e))
    }

    /// Runs `ops` one after another against the in-memory store (each all or nothing), then
    /// writes the file once. If the write fails, none of them happened.
    fn run(&self, ops: &[Op]) -> Vec<Result<Done, ProviderError>> {
        let mut held = match self.held() {
            Ok(h) => h,
            Err(e) => return ops.iter().map(|_| Err(e.clone())).collect(),
        };
        let guard = match self.index(&mut held) {
            Ok(s) => s,
            Err(e) => return ops.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut next = guard.clone();
        if next.lineage.is_none() {
            next.lineage = Some(crate::hash::fresh_id(&self.path.display().to_string()));
        }
        let results: Vec<_> = ops.iter().map(|op| execute(&mut next, op)).collect();
        if results.iter().any(Result::is_ok) {
            if let Err(e) = self.save(&next) {
                return ops.iter().map(|_| Err(e.clone())).collect();
            }
            *guard = next;
        }
        results
    }
}

/// The identity of a store path: absolute, with the symlinks of its longest existing prefix
/// resolved and `.`/`..` removed from the rest. Two spellings of one store, before or after
/// its directory exists, get the same identity.
pub fn identity(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    // Walk up to the longest prefix that exists, keeping the rest.
    let mut existing = absolute.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let resolved = loop {
        if let Ok(c) = std::fs::canonicalize(existing) {
            break c;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            // `..` at the end, or the root: resolve what remains lexically.
            _ => break existing.to_path_buf(),
        }
    };
    let mut out = resolved;
    for part in rest.iter().rev() {
        match part.to_str() {
            Some(".") => {}
            Some("..") => {
                out.pop();
            }
            _ => out.push(part),
        }
    }
    out
}

fn take_lock(path: &Path, timeout: std::time::Duration) -> Result<Lock, ProviderError> {
    let lock = super::lock::take(path, timeout)?;
    // Holding the lock, no other writer runs: temporaries beside the store are litter.
    crate::atomic::clean_stale(path);
    Ok(lock)
}

fn execute(s: &mut Store, op: &Op) -> Result<Done, ProviderError> {
    match op {
        Op::CreateHealthCheck {
            caller_reference,
            config,
        } => create_check(s, caller_reference, config),
        Op::TagHealthCheck { id, tags } => {
            let h = s
                .health_checks
                .get_mut(id)
                .ok_or_else(|| ProviderError::NotFound {
                    what: format!("health check {id}"),
                })?;
            h.tags.extend(tags.clone());
            Ok(Done::Other)
        }
        Op::UpdateHealthCheck {
            id,
            version,
            config,
            ..
        } => update_check(s, id, *version, config),
        Op::DeleteHealthCheck { id } => delete_check(s, id),
        Op::ChangeRecords { zone, changes } => change_records(s, zone, changes),
        Op::CreateRepository { region, name } => {
            let repos = s.repositories.entry(region.clone()).or_default();
            if !repos.insert(name.clone()) {
                return Err(ProviderError::AlreadyExists {
                    what: format!("repository {name} in {region}"),
                });
            }
            Ok(Done::Other)
        }
        Op::UpdateReplication {
            region,
            add,
            remove,
        } => {
            let live = s.replication.get(region).cloned().unwrap_or_default();
            put_replication(s, region, &super::updated_rules(&live, add, remove))
        }
    }
}

fn create_check(
    s: &mut Store,
    caller_reference: &str,
    config: &crate::graph::HealthCheckSpec,
) -> Result<Done, ProviderError> {
    if caller_reference.is_empty() || caller_reference.len() > 64 {
        return Err(ProviderError::Invalid(
            "CallerReference must be 1-64 characters".into(),
        ));
    }
    if let Some(h) = s
        .callers
        .get(caller_reference)
        .and_then(|id| s.health_checks.get(id))
    {
        return if &h.config == config {
            Ok(Done::HealthCheck(h.id.clone()))
        } else {
            Err(ProviderError::AlreadyExists {
                what: format!(
                    "a health check with caller reference {caller_reference} and other settings"
                ),
            })
        };
    }
    if s.deleted_caller_references.contains(caller_reference) {
        return Err(ProviderError::AlreadyExists {
            what: format!(
                "caller reference {caller_reference} (used by a health check deleted since; this plan cannot create it again: run `meridian plan`)"
            ),
        });
    }
    if let Some(max) = s.max_health_checks {
        if s.health_checks.len() as u64 >= max {
            return Err(ProviderError::Invalid(format!(
                "TooManyHealthChecks: the account's limit of {max} health checks is reached"
            )));
        }
    }
    let id = format!("hc-{:08}", s.next_id);
    s.next_id = s.next_id.checked_add(1).ok_or_else(|| {
        ProviderError::Invalid("the local store ran out of health-check ids".into())
    })?;
    s.callers.insert(caller_reference.to_string(), id.clone());
    s.health_checks.insert(
        id.clone(),
        LiveHealthCheck {
            id: id.clone(),
            caller_reference: caller_reference.to_string(),
            version: 1,
            config: config.clone(),
            tags: BTreeMap::new(),
            drift: Vec::new(),
        },
    );
    Ok(Done::HealthCheck(id))
}

fn update_check(
    s: &mut Store,
    id: &String,
    version: u64,
    config: &crate::graph::HealthCheckSpec,
) -> Result<Done, ProviderError> {
    let h = s
        .health_checks
        .get_mut(id)
        .ok_or_else(|| ProviderError::NotFound {
            what: format!("health check {id}"),
        })?;
    if h.version != version {
        return Err(ProviderError::Conflict {
            what: format!("health check {id}"),
            expected: version,
            actual: Some(h.version),
        });
    }
    if h.config.kind != config.kind || h.config.request_interval != config.request_interval {
        return Err(ProviderError::Invalid(format!(
            "health check {id}: type and request interval cannot be changed"
        )));
    }
    h.config = config.clone();
    h.version += 1;
    Ok(Done::Other)
}

fn delete_check(s: &mut Store, id: &str) -> Result<Done, ProviderError> {
    if !s.health_checks.contains_key(id) {
        return Err(ProviderError::NotFound {
            what: format!("health check {id}"),
        });
    }
    // Route 53 deletes a check that records still use (they then count as healthy): so does
    // this store, so a wrong order shows as a dangling reference rather than an error.
    if let Some(h) = s.health_checks.remove(id) {
        s.callers.remove(&h.caller_reference);
        s.deleted_caller_references.insert(h.caller_reference);
    }
    Ok(Done::Other)
}

fn change_records(
    s: &mut Store,
    zone: &String,
    changes: &[RecordChange],
) -> Result<Done, ProviderError> {
    // All or nothing: the changes go to a copy that replaces the store only if every
    // one is valid.
    let mut next = s.clone();
    for c in changes {
        if &c.record.zone != zone {
            return Err(ProviderError::Invalid(format!(
                "record {} is not in zone {zone}",
                c.record.name
            )));
        }
        let key = c.record.key();
        let exists = next.records.contains_key(&key);
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
        match (c.action, exists) {
            (ChangeAction::Create, true) => {
                return Err(ProviderError::AlreadyExists { what: what() })
            }
            (ChangeAction::Delete, false) => return Err(ProviderError::NotFound { what: what() }),
            (ChangeAction::Delete, true) => {
                if next.records.get(&key) != Some(&c.record) {
                    return Err(ProviderError::Invalid(format!(
                        "{}: a DELETE must carry the exact live values",
                        what()
                    )));
                }
                next.remove_record(&key);
            }
            (ChangeAction::Create | ChangeAction::Upsert, _) => {
                next.remove_record(&key);
                check_record(&next, &c.record)?;
                next.add_record(c.record.clone());
            }
        }
    }
    *s = next;
    Ok(Done::Other)
}

fn put_replication(
    s: &mut Store,
    region: &String,
    rules: &[ReplicationRule],
) -> Result<Done, ProviderError> {
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
        s.replication.insert(region.clone(), rules.to_vec());
    }
    Ok(Done::Other)
}

/// The rules Route 53 enforces on a record joining a zone.
fn check_record(s: &Store, r: &RecordSet) -> Result<(), ProviderError> {
    let cname = |x: &RecordSet| x.record_type == RecordType::Cname;
    for o in s.at_name(&r.zone, &r.name) {
        if cname(r) && !cname(o) {
            return Err(ProviderError::Invalid(format!(
                "{}: a CNAME cannot coexist with other records",
                r.name
            )));
        }
        if !cname(r) && cname(o) {
            return Err(ProviderError::Invalid(format!(
                "{}: the name holds a CNAME",
                r.name
            )));
        }
        if o.record_type == r.record_type && o.routing.kind() != r.routing.kind() {
            return Err(ProviderError::Invalid(format!(
                "{} {}: routing policies cannot be mixed under one name and type",
                r.name, r.record_type
            )));
        }
    }
    if r.name != r.zone && !r.name.ends_with(&format!(".{}", r.zone)) {
        return Err(ProviderError::Invalid(format!(
            "{} is not in zone {}",
            r.name, r.zone
        )));
    }
    if cname(r) && r.values.len() > 1 {
        return Err(ProviderError::Invalid(format!(
            "{}: a CNAME holds one value",
            r.name
        )));
    }
    if r.routing.needs_set_identifier() != r.set_identifier.is_some() {
        return Err(ProviderError::Invalid(format!(
            "{}: a set identifier goes with a routing policy, and a routing policy needs one",
            r.name
        )));
    }
    for o in s
        .at_name(&r.zone, &r.name)
        .filter(|o| o.record_type == r.record_type && o.set_identifier != r.set_identifier)
    {
        if r.routing.clashes_with(&o.routing) {
            return Err(ProviderError::Invalid(format!(
                "{} {}: two records of one routing group claim the same failover role, location or region",
                r.name, r.record_type
            )));
        }
    }
    if r.ttl.is_some() == r.alias.is_some() {
        return Err(ProviderError::Invalid(format!(
            "{}: a record has either a TTL or an alias target",
            r.name
        )));
    }
    if let Some(id) = &r.health_check_id {
        if !s.health_checks.contains_key(id) {
            return Err(ProviderError::NotFound {
                what: format!("health check {id}"),
            });
        }
    }
    Ok(())
}

/// What a plan of `scope` reads from the indexed store.
fn from_store(s: &Store, scope: &Scope) -> LiveState {
    let zones = zone_ids(scope);
    LiveState {
        read_by_name: BTreeMap::new(),
        records: s
            .records
            .values()
            .filter(|r| zones.contains_key(&r.zone))
            .cloned()
            .collect(),
        health_checks: s
            .health_checks
            .values()
            .map(|h| LiveHealthCheck {
                tags: if scope.reads_tags_of(&h.caller_reference) {
                    h.tags.clone()
                } else {
                    BTreeMap::new()
                },
                ..h.clone()
            })
            .collect(),
        repositories: region_map(scope, |r| {
            s.repositories
                .get(r)
                .map(|x| x.iter().cloned().collect())
                .unwrap_or_default()
        }),
        replication: region_map(scope, |r| s.replication.get(r).cloned().unwrap_or_default()),
        zones,
    }
}

/// The same from the file's lists, moved, not copied, in the index's order. A file with two
/// entries under one key (edited by hand) is indexed first, as the index keeps the last.
fn from_file(mut f: StoreFile, scope: &Scope) -> LiveState {
    let zones = zone_ids(scope);
    f.records.retain(|r| zones.contains_key(&r.zone));
    f.records.sort_by(|a, b| record_key(a).cmp(&record_key(b)));
    f.health_checks.sort_by(|a, b| a.id.cmp(&b.id));
    let repeated = f
        .records
        .windows(2)
        .any(|w| record_key(&w[0]) == record_key(&w[1]))
        || f.health_checks.windows(2).any(|w| w[0].id == w[1].id);
    if repeated {
        return from_store(&Store::from_file(f), scope);
    }
    for h in &mut f.health_checks {
        if !scope.reads_tags_of(&h.caller_reference) {
            h.tags.clear();
        }
    }
    LiveState {
        read_by_name: BTreeMap::new(),
        records: f.records,
        health_checks: f.health_checks,
        repositories: region_map(scope, |r| {
            f.repositories
                .get(r)
                .map(|x| x.iter().cloned().collect())
                .unwrap_or_default()
        }),
        replication: region_map(scope, |r| f.replication.get(r).cloned().unwrap_or_default()),
        zones,
    }
}

/// A record's [`RecordKey`], borrowed: the same order.
fn record_key(r: &RecordSet) -> (&str, &str, &RecordType, Option<&str>) {
    (
        &r.zone,
        &r.name,
        &r.record_type,
        r.set_identifier.as_deref(),
    )
}

fn zone_ids(scope: &Scope) -> BTreeMap<String, String> {
    scope
        .zones
        .iter()
        .map(|z| (z.clone(), zone_id(z)))
        .collect()
}

fn region_map<T>(scope: &Scope, f: impl Fn(&str) -> T) -> BTreeMap<String, T> {
    scope.regions.iter().map(|r| (r.clone(), f(r))).collect()
}

impl Provider for LocalStore {
    fn source(&self) -> LiveSource {
        LiveSource::Local {
            path: identity(&self.path),
            lineage: self.lineage(),
        }
    }

    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        let mut held = self.held()?;
        let file = match &mut *held {
            Held::Index(s) => return Ok(from_store(s, scope)),
            Held::Taken { .. } => match Self::load(&self.path)? {
                Held::File(f) => f,
                Held::Index(s) => return Ok(from_store(&s, scope)),
                Held::Taken { .. } => StoreFile::default(),
            },
            Held::File(f) => {
                let f = std::mem::take(f);
                *held = Held::Taken {
                    lineage: f.lineage.clone(),
                    checks: f.health_checks.len(),
                    max_health_checks: f.max_health_checks,
                };
                f
            }
        };
        drop(held);
        Ok(from_file(file, scope))
    }

    fn check_limit(&self) -> super::CheckLimit {
        let (limit, count) = match self.held().as_deref() {
            Ok(Held::File(f)) => (f.max_health_checks, f.health_checks.len()),
            Ok(Held::Index(s)) => (s.max_health_checks, s.health_checks.len()),
            Ok(Held::Taken {
                checks,
                max_health_checks,
                ..
            }) => (*max_health_checks, *checks),
            Err(e) => return super::CheckLimit::Unknown { why: e.to_string() },
        };
        match limit {
            Some(limit) => super::CheckLimit::Known {
                limit,
                count: count as u64,
            },
            None => super::CheckLimit::None,
        }
    }

    fn apply(&self, ops: &[Op], _parallelism: usize) -> Vec<Result<Done, ProviderError>> {
        // One file: the operations run one after another, and the file is written once.
        self.run(ops)
    }
}
