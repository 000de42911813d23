//! Diff: desired resources (the graph) against live state -> one change per address.
//!
//! Matching: health checks by Meridian's ownership marker in their caller reference
//! (see [`crate::identity`]); records by zone, name and set identifier, at
//! names the topology owns (a `_meridian.<name>` TXT marker); ECR repositories by region and
//! name; replication rules by the repositories they filter. What the topology does not manage
//! is never changed: it is listed in [`Diff::untouched`] instead.

use super::{Action, Attrs, Change, ResourceChange, Untouched, UntouchedWhy};
use crate::dns::{RecordType, RoutingPolicy};
use crate::graph::{
    Address, HealthCheckSpec, Kind, OwnerSpec, RecordSpec, ResourceGraph, ResourceSpec,
};
use crate::hash;
use crate::identity::{Identity, Marker};
use crate::provider::{LiveHealthCheck, LiveState, RecordSet, ReplicationRule};

/// The TTL of an ownership marker (it is never resolved in the request path).
const MARKER_TTL: u32 = 300;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Actions, before, reason, replace paths and unknown attributes of a health-check change.
type CheckShape<'a> = (
    Vec<Action>,
    Option<Value>,
    Option<&'a str>,
    Vec<String>,
    Vec<&'a str>,
    Vec<LiveHealthCheck>,
);

/// The typed detail of a change: what the apply engine carries out for it. Saved with the
/// plan; its shape follows the plan's `format_version`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    HealthCheck {
        desired: Option<HealthCheckSpec>,
        /// The zone of the records that use the check (part of its caller reference).
        zone: String,
        /// The live check updated in place or kept.
        keep: Option<LiveHealthCheck>,
        /// Live checks to delete (replaced, duplicated, or no longer declared).
        delete: Vec<LiveHealthCheck>,
        /// Tags to write (`tag_health_checks`): on a new check, or on a kept one whose tags
        /// differ. Empty when the topology does not tag its checks.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        tags: BTreeMap<String, String>,
    },
    /// A record set or an ownership marker (a TXT record set).
    Record {
        desired: Option<RecordSet>,
        /// The health check the desired record uses, resolved at apply time.
        check: Option<Address>,
        /// Live record sets to remove before `desired` is written.
        delete: Vec<RecordSet>,
        /// UPSERT (in place) rather than DELETE + CREATE.
        in_place: bool,
    },
    Repository {
        region: String,
        name: String,
    },
    /// The rules of `region` to add and to remove (the same for every change of the region):
    /// the apply re-reads the live configuration and writes it with only these changes.
    Replication {
        region: String,
        add: Vec<ReplicationRule>,
        remove: Vec<ReplicationRule>,
    },
}

/// A name holding records that Meridian did not create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Foreign {
    pub service: String,
    pub name: String,
    /// `TYPE set-identifier` of each record found there.
    pub records: Vec<String>,
    /// Another Meridian topology whose marker stands at the name, when there is one.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changes: Vec<ResourceChange>,
    /// Declared names already holding records Meridian did not create (needs `--adopt`).
    pub foreign: Vec<Foreign>,
    /// Things left alone, said in the plan.
    pub untouched: Vec<Untouched>,
}

/// The tags a topology with `tag_health_checks` keeps on the check at `address`. Tags are for
/// people (the console shows `Name`); ownership is in the caller reference.
pub fn check_tags(topology: &str, id: &str, address: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Name".to_string(), address.to_string()),
        ("meridian:topology".to_string(), topology.to_string()),
        ("meridian:topology-id".to_string(), id.to_string()),
    ])
}

/// Of the tags `want`, those `live` does not carry with the same value.
fn missing_tags(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    want.iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn health_check_json(h: &HealthCheckSpec) -> Value {
    serde_json::to_value(h).unwrap_or(Value::Null)
}

/// A live check as a plan shows it: its settings and its id.
fn live_check_json(h: &LiveHealthCheck) -> Value {
    let mut v = health_check_json(&h.config);
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), json!(h.id));
        if !h.tags.is_empty() {
            o.insert("tags".into(), json!(h.tags));
        }
        for d in &h.drift {
            o.insert(d.clone(), json!(true));
        }
    }
    v
}

fn record_json(r: &RecordSet, check: Option<&Address>) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let (Some(obj), Some(a)) = (v.as_object_mut(), check) {
        obj.insert("health_check".into(), json!(a.to_string()));
    }
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, x| !x.is_null());
    }
    v
}

/// A change as the plan shows it, before the typed detail the engine runs is attached.
struct Draft {
    address: String,
    kind: Kind,
    name: String,
    key: Option<String>,
    change: Change,
    action_reason: Option<String>,
    replace_paths: Vec<String>,
}

impl Draft {
    fn with(self, detail: Detail) -> ResourceChange {
        ResourceChange {
            address: self.address,
            kind: self.kind,
            name: self.name,
            key: self.key,
            change: self.change,
            action_reason: self.action_reason,
            replace_paths: self.replace_paths,
            detail,
        }
    }
}

fn change(
    address: &Address,
    actions: Vec<Action>,
    before: Option<Value>,
    after: Option<Value>,
    unknown: &[&str],
    reason: Option<&str>,
    replace_paths: Vec<String>,
) -> Draft {
    let after_unknown = if unknown.is_empty() {
        Attrs::empty()
    } else {
        let all: Map<String, Value> = unknown
            .iter()
            .map(|u| ((*u).to_string(), Value::Bool(true)))
            .collect();
        Attrs::new(&Value::Object(all))
    };
    let after_attrs = after.as_ref().map(Attrs::new);
    // Unchanged (most of a steady-state plan): one text for both. A no-op given no before is
    // one its caller knows unchanged: its before is not built, nor compared.
    let before_attrs = match (&before, &after, &after_attrs) {
        (None, _, Some(same)) if actions == [Action::NoOp] => Some(same.clone()),
        (Some(b), Some(a), Some(same)) if b == a => Some(same.clone()),
        _ => before.as_ref().map(Attrs::new),
    };
    Draft {
        address: address.to_string(),
        kind: address.kind,
        name: address.name.clone(),
        key: address.key.clone(),
        change: Change {
            actions,
            before: before_attrs,
            after: after_attrs,
            after_unknown,
        },
        action_reason: reason.map(str::to_string),
        replace_paths,
    }
}

/// How to diff: the topology's name and identity, and settings that shape the changes.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// For people (tags).
    pub topology: &'a str,
    /// What ownership is decided by.
    pub identity: &'a Identity,
    /// Take over names that hold foreign records.
    pub adopt: bool,
    /// Keep tags on health checks ([`check_tags`]).
    pub tag_checks: bool,
    /// Health checks to replace even if unchanged (`--replace`), by address.
    pub replace: &'a [String],
    /// The provider holds plain record sets only (no set identifiers or routing policies): at
    /// a name this topology owns, a plain A, AAAA or CNAME set is the service's.
    pub plain_records: bool,
}

/// Computes every change.
pub fn diff(graph: &ResourceGraph, live: &LiveState, settings: Settings) -> Diff {
    let Settings {
        identity, adopt, ..
    } = settings;
    let mut d = Diff::default();
    // A change per declared resource, and a few more where live differs: a vector that
    // doubled as it filled was the largest allocation of a steady-state plan.
    let declared = graph.resources().len();
    d.changes.reserve_exact(declared + declared / 16 + 16);
    let mut ours = OurChecks::read(live, identity);
    let kept_check_ids = declared_checks(graph, &mut ours, settings, &mut d);
    let plain = settings.plain_records;
    records(
        graph,
        live,
        (identity, adopt, plain),
        &kept_check_ids,
        &mut d,
    );
    ecr(graph, live, identity, &mut d);
    orphan_checks(live, ours, &mut d);
    sort_by_address(&mut d.changes);
    d.untouched.sort();
    d
}

/// Sorts the changes by address (stable), without a merge sort's scratch copies.
fn sort_by_address(changes: &mut [ResourceChange]) {
    crate::order::sort_by_swaps(changes, |c| c.address.as_str());
}

/// This topology's live health checks, recognised by their caller reference.
struct OurChecks<'a> {
    /// By the hash of the address they were created for; declared ones are taken out.
    by_address: BTreeMap<String, Vec<&'a LiveHealthCheck>>,
    /// Ids that live records use.
    in_use: std::collections::HashSet<&'a str>,
    /// The hash of the zone of each check's records, when its reference says.
    zone_of: BTreeMap<&'a str, Option<String>>,
}

impl<'a> OurChecks<'a> {
    fn read(live: &'a LiveState, identity: &Identity) -> OurChecks<'a> {
        let mut ours = OurChecks {
            by_address: BTreeMap::new(),
            zone_of: BTreeMap::new(),
            in_use: live
                .records
                .iter()
                .filter_map(|r| r.health_check_id.as_deref())
                .collect(),
        };
        let prefixes = identity.reference_prefixes();
        for h in live
            .health_checks
            .iter()
            .filter(|h| !identity.forgotten.check(&h.id))
        {
            if let Some((a, zone)) =
                crate::identity::reference_parts_in(&prefixes, &h.caller_reference)
            {
                ours.by_address.entry(a).or_default().push(h);
                ours.zone_of.insert(&h.id, zone);
            }
        }
        ours
    }
}

/// The changes of every declared health check; returns the live check each one keeps
/// (absent: created by this apply).
fn declared_checks(
    graph: &ResourceGraph,
    ours: &mut OurChecks,
    settings: Settings,
    d: &mut Diff,
) -> BTreeMap<Address, String> {
    // The zone each declared check's records live in.
    let mut check_zone: BTreeMap<&Address, &str> = BTreeMap::new();
    for r in graph.resources() {
        if let ResourceSpec::Record(spec) = &r.spec {
            if let Some(a) = &spec.health_check {
                check_zone.insert(a, &spec.zone);
            }
        }
    }
    let mut kept = BTreeMap::new();
    for r in graph.resources() {
        let ResourceSpec::HealthCheck(spec) = &r.spec else {
            continue;
        };
        let zone = check_zone.get(&r.address).copied().unwrap_or_default();
        let key = hash::hex(&r.address.to_string(), 12);
        let mut found = ours.by_address.remove(&key).unwrap_or_default();
        // Of several copies (a retried create), keep the one the live record uses.
        found.sort_by_key(|h| (!ours.in_use.contains(h.id.as_str()), h.id.clone()));
        let tags = if settings.tag_checks {
            check_tags(
                settings.topology,
                &settings.identity.id,
                &r.address.to_string(),
            )
        } else {
            BTreeMap::new()
        };
        let replace = settings.replace.iter().any(|a| *a == r.address.to_string());
        let want = Want {
            spec,
            zone,
            tags,
            replace,
        };
        if let Some(id) = declared_check(&r.address, &want, found, d) {
            kept.insert(r.address.clone(), id);
        }
    }
    kept
}

/// Whether a live check can become `spec` in place: same type and interval, no IP address or
/// search string to clear (Route 53 cannot unset those), and the same target (host, address,
/// port). A check whose target changes is replaced: the new one is created beside the old, the
/// record batch moves the record and its check together, and the old check is deleted last,
/// so no prefix of an apply has a record probed at an endpoint it does not serve.
fn updatable(h: &LiveHealthCheck, spec: &HealthCheckSpec) -> bool {
    forced_paths(h, spec).is_empty()
}

/// The settings that force a replacement of `h` to become `spec`.
fn forced_paths(h: &LiveHealthCheck, spec: &HealthCheckSpec) -> Vec<String> {
    let old = &h.config;
    [
        ("type", old.kind != spec.kind),
        (
            "request_interval",
            old.request_interval != spec.request_interval,
        ),
        ("ip_address", old.ip_address != spec.ip_address),
        (
            "search_string",
            old.search_string.is_some() && spec.search_string.is_none(),
        ),
        ("fqdn", old.fqdn != spec.fqdn),
        ("port", old.port != spec.port),
    ]
    .iter()
    .filter(|(_, forced)| *forced)
    .map(|(p, _)| (*p).to_string())
    .collect()
}

/// A declared check: its settings, the zone of its records and the tags it should carry.
struct Want<'a> {
    spec: &'a HealthCheckSpec,
    zone: &'a str,
    tags: BTreeMap<String, String>,
    /// Replace the live check even if it is as declared (`--replace`).
    replace: bool,
}

/// The change of one declared health check given its live copies; returns the id it keeps.
fn declared_check(
    address: &Address,
    want: &Want,
    mut found: Vec<&LiveHealthCheck>,
    d: &mut Diff,
) -> Option<String> {
    let (spec, zone) = (want.spec, want.zone);
    // Prefer a live check that already has the desired settings, then an updatable one.
    let keep_pos = found
        .iter()
        .position(|h| &h.config == spec && h.drift.is_empty())
        .or_else(|| found.iter().position(|h| updatable(h, spec)))
        .filter(|_| !want.replace);
    let keep = keep_pos.map(|p| found.remove(p).clone());
    let rest: Vec<LiveHealthCheck> = found.into_iter().cloned().collect();
    let tags = match &keep {
        Some(k) => missing_tags(&k.tags, &want.tags),
        None => want.tags.clone(),
    };
    let (mut actions, before, mut reason, mut paths, unknown, delete) =
        check_shape(keep.as_ref(), &rest, spec);
    if want.replace && !delete.is_empty() {
        reason = Some("replace_by_request");
        paths.clear();
    }
    if actions == [Action::NoOp] && !tags.is_empty() {
        actions = vec![Action::Update];
    }
    let mut after = health_check_json(spec);
    if let Some(obj) = after.as_object_mut() {
        if let Some(k) = &keep {
            obj.insert("id".into(), json!(k.id));
        }
        if !want.tags.is_empty() {
            let mut all = keep.as_ref().map(|k| k.tags.clone()).unwrap_or_default();
            all.extend(want.tags.clone());
            obj.insert("tags".into(), json!(all));
        }
    }
    let c = change(
        address,
        actions,
        before,
        Some(after),
        &unknown,
        reason,
        paths,
    );
    let replaced_id = delete.first().map(|h| h.id.clone());
    let kept_id = keep.as_ref().map(|k| k.id.clone());
    d.changes.push(c.with(Detail::HealthCheck {
        desired: Some(spec.clone()),
        zone: zone.to_string(),
        keep,
        delete,
        tags,
    }));
    // Any other copy (a duplicate left by an interrupted apply elsewhere) is deleted as a
    // change of its own, so the plan shows it.
    for extra in rest.iter().filter(|h| Some(&h.id) != replaced_id.as_ref()) {
        duplicate_check(address, extra, zone, d);
    }
    kept_id
}

/// Actions, before, reason, replace paths, unknown attributes and checks to delete of one
/// declared check, given the live check it keeps and the other live copies.
fn check_shape<'a>(
    keep: Option<&LiveHealthCheck>,
    rest: &[LiveHealthCheck],
    spec: &HealthCheckSpec,
) -> CheckShape<'a> {
    match (keep, rest.first()) {
        (Some(k), _) => (
            vec![if &k.config == spec {
                Action::NoOp
            } else {
                Action::Update
            }],
            Some(live_check_json(k)),
            None,
            vec![],
            vec![],
            vec![],
        ),
        (None, Some(old)) => (
            vec![Action::Delete, Action::Create],
            Some(live_check_json(old)),
            Some("replace_because_cannot_update"),
            forced_paths(old, spec),
            vec!["id"],
            vec![old.clone()],
        ),
        (None, None) => (vec![Action::Create], None, None, vec![], vec!["id"], vec![]),
    }
}

/// A second live copy of a declared check, deleted as a change of its own.
fn duplicate_check(address: &Address, extra: &LiveHealthCheck, zone: &str, d: &mut Diff) {
    let dup = Address {
        kind: Kind::HealthCheck,
        name: address.name.clone(),
        key: Some(format!(
            "{} duplicate {}",
            address.key.as_deref().unwrap_or(""),
            extra.id
        )),
    };
    d.changes.push(
        change(
            &dup,
            vec![Action::Delete],
            Some(live_check_json(extra)),
            None,
            &[],
            Some("delete_because_duplicate"),
            vec![],
        )
        .with(Detail::HealthCheck {
            desired: None,
            zone: zone.to_string(),
            keep: None,
            delete: vec![extra.clone()],
            tags: BTreeMap::new(),
        }),
    );
}

/// Our checks no declared address claims: deleted once no record uses them (every live
/// record using one is deleted or rewritten by this plan) and their zone was read; else left
/// alone, and said so.
fn orphan_checks(live: &LiveState, ours: OurChecks, d: &mut Diff) {
    let named = check_candidates(&d.changes);
    let released: BTreeSet<crate::provider::RecordKey> = d
        .changes
        .iter()
        .filter_map(|c| match &c.detail {
            Detail::Record { delete, .. } => Some(delete.iter().map(RecordSet::key)),
            _ => None,
        })
        .flatten()
        .collect();
    let zones_read: BTreeMap<String, &str> = live
        .zones
        .keys()
        .map(|z| (hash::hex(z, 6), z.as_str()))
        .collect();
    // Checks still used by a live record this plan does not rewrite or delete.
    let used: BTreeSet<&str> = live
        .records
        .iter()
        .filter(|r| !released.contains(&r.key()))
        .filter_map(|r| r.health_check_id.as_deref())
        .collect();
    for (key, h) in ours
        .by_address
        .iter()
        .flat_map(|(k, hs)| hs.iter().map(move |h| (k, *h)))
    {
        let zone = ours.zone_of.get(h.id.as_str()).cloned().flatten();
        let zone_name = zone.as_ref().and_then(|z| zones_read.get(z)).copied();
        let why = if zone.is_some() && zone_name.is_none() {
            Some(UntouchedWhy::ZoneNotRead)
        } else if used.contains(h.id.as_str()) {
            Some(UntouchedWhy::InUse)
        } else {
            None
        };
        match why {
            Some(why) => d.untouched.push(Untouched::HealthCheck {
                id: h.id.clone(),
                address: tagged_address(h),
                why,
            }),
            None => {
                let label = orphan_label(h, key, zone_name, &named);
                delete_orphan(h, label, zone_name.unwrap_or_default(), d);
            }
        }
    }
}

/// The address an undeclared check of ours is shown under. Its caller reference holds the
/// hash of the address it was created for (`key`): a candidate with that hash is its address
/// (the name of a record that used it, or the shared-check address its zone and settings
/// give); else the record's name as a guess, its `Name` tag, or its id.
fn orphan_label(
    h: &LiveHealthCheck,
    key: &str,
    zone: Option<&str>,
    named: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let by_record = named.get(&h.id).map_or(&[][..], Vec::as_slice);
    let shared = zone.map(|z| crate::graph::endpoint_address(z, &h.config).to_string());
    let verified = |a: &String| hash::hex(a, 12) == key;
    by_record
        .iter()
        .chain(&shared)
        .find(|a| verified(a))
        .or(by_record.first())
        .cloned()
        .or_else(|| tagged_address(h))
}

/// The addresses a check used by records this plan deletes may have been created for, by check
/// id: `health_check.S["K"]` for the key K of each record that used it, then the service's
/// region labels (a `failover_to` pair's record `LABEL/failover-N/primary` uses the check of a
/// region, not one of its own). The check's caller reference tells which is right.
fn check_candidates(changes: &[ResourceChange]) -> BTreeMap<String, Vec<String>> {
    // Only records this plan deletes count (a steady plan deletes none: nothing is built).
    let deleted = || {
        changes
            .iter()
            .filter(|c| c.kind == Kind::Record)
            .filter_map(|c| match &c.detail {
                Detail::Record { delete, .. } if !delete.is_empty() => Some((c, delete)),
                _ => None,
            })
    };
    let mut labels: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (c, _) in deleted() {
        if let Some(k) = &c.key {
            let label = k.split(['/', '@']).next().unwrap_or(k);
            labels.entry(c.name.as_str()).or_default().insert(label);
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (c, delete) in deleted() {
        for id in delete.iter().filter_map(|r| r.health_check_id.as_ref()) {
            let keys = c
                .key
                .iter()
                .map(String::as_str)
                .chain(labels.get(c.name.as_str()).into_iter().flatten().copied());
            let found = out.entry(id.clone()).or_default();
            for k in keys {
                let a = Address::new(Kind::HealthCheck, &c.name, Some(k)).to_string();
                if !found.contains(&a) {
                    found.push(a);
                }
            }
        }
    }
    out
}

fn delete_orphan(h: &LiveHealthCheck, label: Option<String>, zone: &str, d: &mut Diff) {
    let label = label.unwrap_or_else(|| format!("health_check._orphan[\"{}\"]", h.id));
    let address = Address {
        kind: Kind::HealthCheck,
        name: label.clone(),
        key: None,
    };
    let mut c = change(
        &address,
        vec![Action::Delete],
        Some(live_check_json(h)),
        None,
        &[],
        Some("delete_because_no_resource_config"),
        vec![],
    );
    c.address = label;
    d.changes.push(c.with(Detail::HealthCheck {
        desired: None,
        zone: zone.to_string(),
        keep: None,
        delete: vec![h.clone()],
        tags: BTreeMap::new(),
    }));
}

/// The address a check's tags give, when they were read and say (for messages only).
fn tagged_address(h: &LiveHealthCheck) -> Option<String> {
    h.tags
        .get("Name")
        .or_else(|| h.tags.get("meridian:address"))
        .cloned()
}

fn owner_record(o: &OwnerSpec, identity: &Identity) -> RecordSet {
    RecordSet {
        zone: o.zone.clone(),
        name: o.name.clone(),
        record_type: RecordType::Txt,
        set_identifier: None,
        ttl: Some(MARKER_TTL),
        values: vec![identity.marker_value(&o.service)],
        alias: None,
        routing: RoutingPolicy::Simple,
        health_check_id: None,
    }
}

fn desired_record(r: &RecordSpec, check_id: Option<String>) -> RecordSet {
    RecordSet {
        zone: r.zone.clone(),
        name: r.name.clone(),
        record_type: r.record_type.clone(),
        set_identifier: r.set_identifier.clone(),
        ttl: r.ttl,
        values: r.values.clone(),
        alias: r.alias.clone(),
        routing: r.routing.clone(),
        health_check_id: check_id,
    }
}

/// Plans the deletion of one live record set (a record or an ownership marker).
fn delete_record(d: &mut Diff, address: &Address, record: RecordSet, reason: &str) {
    d.changes.push(
        change(
            address,
            vec![Action::Delete],
            Some(record_json(&record, None)),
            None,
            &[],
            Some(reason),
            vec![],
        )
        .with(Detail::Record {
            desired: None,
            check: None,
            delete: vec![record],
            in_place: false,
        }),
    );
}

/// The address key of a live record of `service`: its region label, `region/location` under
/// geolocation (as the graph names it), or its type when it has no set identifier.
fn live_key(service: &str, r: &RecordSet) -> String {
    let Some(set) = r.set_identifier.as_deref() else {
        return r.record_type.to_string();
    };
    let key = set.strip_prefix(&format!("{service}-")).unwrap_or(set);
    match &r.routing {
        RoutingPolicy::Geolocation { location: loc } => {
            let tag = if loc == "*" { "default" } else { loc.as_str() };
            match key.strip_suffix(&format!("-{tag}")) {
                Some(region) => format!("{region}/{loc}"),
                None => key.to_string(),
            }
        }
        // A failover pair of a tree: `LABEL-failover-N-primary` is `LABEL/failover-N/primary`,
        // the address the graph gives it.
        RoutingPolicy::Failover { .. } => tree_key(key).unwrap_or_else(|| key.to_string()),
        _ => key.to_string(),
    }
}

/// The graph's key of a tree's pair record from its set identifier (less the service).
fn tree_key(key: &str) -> Option<String> {
    let (rest, role) = key.rsplit_once('-')?;
    if role != "primary" && role != "secondary" {
        return None;
    }
    let (label, n) = rest.rsplit_once("-failover-")?;
    n.parse::<usize>().ok()?;
    Some(format!("{label}/failover-{n}/{role}"))
}

/// Whether a live record at a service's name is one Meridian writes for that service: an
/// endpoint type (A, AAAA, CNAME), routing Meridian manages, and a set identifier named after
/// the service (or the simple alias to a Global Accelerator). Anything else there was added by
/// someone else.
fn is_service_record(r: &RecordSet, service: &str, plain: bool) -> bool {
    let named = r
        .set_identifier
        .as_deref()
        .and_then(|s| s.strip_prefix(service))
        .is_some_and(|rest| rest.starts_with('-'));
    let plain_set = plain && r.set_identifier.is_none() && r.routing == RoutingPolicy::Simple;
    !unmanaged(r) && r.record_type.is_endpoint() && (named || plain_set || is_accelerator_alias(r))
}

/// The one simple alias record Meridian writes for a service behind a Global Accelerator.
fn is_accelerator_alias(r: &RecordSet) -> bool {
    r.set_identifier.is_none()
        && r.routing == RoutingPolicy::Simple
        && r.alias
            .as_ref()
            .is_some_and(|a| a.hosted_zone_id == crate::model::GLOBAL_ACCELERATOR_ZONE_ID)
}

fn unmanaged(r: &RecordSet) -> bool {
    r.routing == RoutingPolicy::Unmanaged
}

fn describe(r: &RecordSet) -> String {
    if unmanaged(r) {
        format!(
            "{} (routing Meridian does not manage: cannot be adopted)",
            r.describe()
        )
    } else {
        r.describe()
    }
}

/// What the record diff of every name reads.
struct Names<'a> {
    /// Live records by (zone, name), the zone's own apex SOA and NS left out.
    at_name: BTreeMap<(&'a str, &'a str), Vec<&'a RecordSet>>,
    identity: &'a Identity,
    adopt: bool,
    kept_check_ids: &'a BTreeMap<Address, String>,
    /// Zone name -> hosted zone id: what an alias to the service's own zone points at.
    zones: &'a BTreeMap<String, String>,
    /// The provider holds plain record sets only ([`Settings::plain_records`]).
    plain: bool,
}

impl<'a> Names<'a> {
    fn at(&self, zone: &'a str, name: &'a str) -> &[&'a RecordSet] {
        self.at_name.get(&(zone, name)).map_or(&[], Vec::as_slice)
    }
}

fn records(
    graph: &ResourceGraph,
    live: &LiveState,
    (identity, adopt, plain): (&Identity, bool, bool),
    kept_check_ids: &BTreeMap<Address, String>,
    d: &mut Diff,
) {
    let mut at_name: BTreeMap<(&str, &str), Vec<&RecordSet>> = BTreeMap::new();
    // The zone's own SOA and NS records at its apex belong to the zone, never to a service.
    for r in live
        .records
        .iter()
        .filter(|r| !(r.name == r.zone && matches!(r.record_type.as_str(), "SOA" | "NS")))
    {
        at_name
            .entry((r.zone.as_str(), r.name.as_str()))
            .or_default()
            .push(r);
    }
    let names = Names {
        at_name,
        identity,
        adopt,
        kept_check_ids,
        zones: &live.zones,
        plain,
    };
    let owners: Vec<(&Address, &OwnerSpec)> = graph
        .resources()
        .iter()
        .filter_map(|r| match &r.spec {
            ResourceSpec::Owner(o) => Some((&r.address, o)),
            _ => None,
        })
        .collect();
    let mut by_owner: BTreeMap<&Address, Vec<(&Address, &RecordSpec)>> = BTreeMap::new();
    for res in graph.resources() {
        if let ResourceSpec::Record(spec) = &res.spec {
            by_owner
                .entry(&spec.owner)
                .or_default()
                .push((&res.address, spec));
        }
    }
    let mut declared_names: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (owner_address, o) in &owners {
        let domain = crate::dns::marker_domain(&o.name).unwrap_or(&o.name);
        declared_names.insert((o.zone.as_str(), domain));
        declared_names.insert((o.zone.as_str(), o.name.as_str()));
        let specs = by_owner.get(*owner_address).map_or(&[][..], Vec::as_slice);
        owned_name(&names, owner_address, o, specs, d);
    }
    let still_declared: BTreeSet<&str> = owners.iter().map(|(_, o)| o.service.as_str()).collect();
    let declared_records: BTreeSet<&Address> =
        by_owner.values().flatten().map(|(a, _)| *a).collect();
    let declared = Declared {
        names: &declared_names,
        services: &still_declared,
        records: &declared_records,
    };
    removed_services(&names, &declared, d);
    untouched_names(&names, &declared_names, d);
}

/// The marker and records of one declared service at its name, or a [`Foreign`] entry when
/// the name holds records Meridian may not take over.
fn owned_name(
    names: &Names,
    owner_address: &Address,
    o: &OwnerSpec,
    specs: &[(&Address, &RecordSpec)],
    d: &mut Diff,
) {
    let domain = crate::dns::marker_domain(&o.name).unwrap_or(&o.name);
    let live_marker: Option<&RecordSet> = names
        .at(&o.zone, &o.name)
        .iter()
        .find(|r| r.record_type == RecordType::Txt)
        .copied();
    let marker_owner = live_marker
        .and_then(|m| m.values.first())
        .and_then(|v| Marker::parse(v));
    let forgotten = names.identity.forgotten.marker(&o.zone, &o.name);
    let owned = !forgotten
        && marker_owner
            .as_ref()
            .is_some_and(|m| names.identity.owns(m) && m.is_for(&o.service));
    // Another Meridian topology's name is never adopted: its owner would lose it unseen.
    let meridians = marker_owner
        .as_ref()
        .is_some_and(|m| !names.identity.owns(m));
    let live_here = names.at(&o.zone, domain);
    // At a name it owns, Meridian's own records are the A, AAAA and CNAME record sets named
    // after the service; anything else was added by someone else.
    let foreign_here: Vec<&&RecordSet> = live_here
        .iter()
        .filter(|r| !owned || !is_service_record(r, &o.service, names.plain))
        .collect();
    // Record sets with routing Meridian does not manage cannot be adopted: deleting them
    // would need fields it does not carry.
    let unadoptable = foreign_here.iter().any(|r| unmanaged(r));
    if (!foreign_here.is_empty() || (!owned && live_marker.is_some()))
        && (!names.adopt || unadoptable || meridians)
    {
        d.foreign.push(Foreign {
            service: o.service.clone(),
            name: domain.to_string(),
            records: foreign_here.iter().map(|r| describe(r)).collect(),
            owner: marker_owner
                .filter(|m| !names.identity.owns(m))
                .map(|m| m.describe()),
        });
        return;
    }
    marker_change(
        owner_address,
        o,
        names.identity,
        live_marker,
        names.adopt && !owned,
        d,
    );
    // The service's records at its name, by set identifier.
    let mut live_by_set: BTreeMap<Option<String>, Vec<&RecordSet>> = BTreeMap::new();
    for r in live_here {
        live_by_set
            .entry(r.set_identifier.clone())
            .or_default()
            .push(r);
    }
    for (res_address, spec) in specs {
        let live_same = live_by_set.remove(&spec.set_identifier).unwrap_or_default();
        record_change(res_address, spec, &live_same, names, d);
    }
    // Records at an owned name that no region declares any more.
    let reason = if owned {
        "delete_because_no_resource_config"
    } else {
        "delete_because_adopted_name"
    };
    for r in live_by_set.into_values().flatten() {
        let address = Address::new(Kind::Record, &o.service, Some(&live_key(&o.service, r)));
        delete_record(d, &address, r.clone(), reason);
    }
}

/// The ownership marker of a service: created, kept, or rewritten (another version, or
/// adopted from another owner).
fn marker_change(
    owner_address: &Address,
    o: &OwnerSpec,
    identity: &Identity,
    live_marker: Option<&RecordSet>,
    adopting: bool,
    d: &mut Diff,
) {
    let want = owner_record(o, identity);
    let (actions, before, delete) = match live_marker {
        Some(m) if *m == want => (vec![Action::NoOp], None, vec![]),
        Some(m) => (
            vec![Action::Update],
            Some(record_json(m, None)),
            vec![m.clone()],
        ),
        None => (vec![Action::Create], None, vec![]),
    };
    d.changes.push(
        change(
            owner_address,
            actions,
            before,
            Some(record_json(&want, None)),
            &[],
            adopting.then_some("adopt"),
            vec![],
        )
        .with(Detail::Record {
            desired: Some(want),
            check: None,
            delete,
            in_place: true,
        }),
    );
}

/// The change of one declared record set, given the live record sets of its set identifier.
fn record_change(
    address: &Address,
    spec: &RecordSpec,
    live_same: &[&RecordSet],
    names: &Names,
    d: &mut Diff,
) {
    let check_id = spec
        .health_check
        .as_ref()
        .and_then(|a| names.kept_check_ids.get(a).cloned());
    let unknown_check = spec.health_check.is_some() && check_id.is_none();
    let mut want = desired_record(spec, check_id);
    // An alias to the service's own zone points at the zone's id, read with the zone.
    if let Some(a) = want
        .alias
        .as_mut()
        .filter(|a| a.hosted_zone_id == crate::graph::SAME_ZONE)
    {
        if let Some(id) = names.zones.get(&spec.zone) {
            a.hosted_zone_id.clone_from(id);
        }
    }
    let unknown: &[&str] = if unknown_check {
        &["health_check_id"]
    } else {
        &[]
    };
    let after = record_json(&want, spec.health_check.as_ref());
    let shown = |r: &RecordSet| Some(record_json(r, spec.health_check.as_ref()));
    let (actions, before, reason, paths, in_place, delete) = match live_same {
        [] => (vec![Action::Create], None, None, vec![], false, vec![]),
        [one] if **one == want && !unknown_check => {
            (vec![Action::NoOp], None, None, vec![], true, vec![])
        }
        [one]
            if one.record_type == want.record_type && one.routing.kind() == want.routing.kind() =>
        {
            let delete = vec![(*one).clone()];
            (vec![Action::Update], shown(one), None, vec![], true, delete)
        }
        many => {
            let first = many[0];
            let mut paths = Vec::new();
            if first.record_type != want.record_type {
                paths.push("type".to_string());
            }
            if first.routing.kind() != want.routing.kind() {
                paths.push("routing_policy".to_string());
            }
            (
                vec![Action::Delete, Action::Create],
                Some(record_json(first, None)),
                Some("replace_because_cannot_update"),
                paths,
                false,
                many.iter().map(|r| (*r).clone()).collect(),
            )
        }
    };
    d.changes.push(
        change(
            address,
            actions,
            before,
            Some(after),
            unknown,
            reason,
            paths,
        )
        .with(Detail::Record {
            desired: Some(want),
            check: spec.health_check.clone(),
            delete,
            in_place,
        }),
    );
}

/// Markers of this topology for services it no longer declares: the service's records and
/// the marker are deleted.
/// What the topology declares, for finding what it no longer does.
struct Declared<'a> {
    names: &'a BTreeSet<(&'a str, &'a str)>,
    services: &'a BTreeSet<&'a str>,
    records: &'a BTreeSet<&'a Address>,
}

fn removed_services(names: &Names, declared: &Declared, d: &mut Diff) {
    let (declared_names, still_declared) = (declared.names, declared.services);
    let known: Vec<String> = names
        .identity
        .services
        .iter()
        .cloned()
        .chain(still_declared.iter().map(|s| (*s).to_string()))
        .collect();
    for ((zone, name), recs) in &names.at_name {
        if declared_names.contains(&(*zone, *name)) {
            continue;
        }
        let Some(marker) = recs.iter().find(|r| r.record_type == RecordType::Txt) else {
            continue;
        };
        let Some(m) = marker.values.first().and_then(|v| Marker::parse(v)) else {
            continue;
        };
        let Some(domain) = crate::dns::marker_domain(name) else {
            continue;
        };
        if !names.identity.owns(&m) || names.identity.forgotten.marker(zone, name) {
            continue;
        }
        // A hashed marker names its service through the services the last apply managed,
        // else through the set identifiers (`SERVICE-REGION...`) of the records beside it.
        let from_records: Vec<String> = names
            .at(zone, domain)
            .iter()
            .filter_map(|r| r.set_identifier.as_deref())
            .flat_map(|s| s.match_indices('-').map(|(i, _)| s[..i].to_string()))
            .collect();
        let service = m
            .service_among(known.iter().chain(&from_records))
            .unwrap_or_else(|| m.service_label());
        // A service still declared under another name (its domain changed) keeps its
        // addresses for the new name; the old name's resources are told apart by it. A
        // `failover_to` tree's names are the service's too, each with its own marker.
        let renamed = still_declared.contains(service.as_str());
        let mut tree = false;
        for r in names
            .at(zone, domain)
            .iter()
            .filter(|r| is_service_record(r, &service, names.plain))
        {
            let key = live_key(&service, r);
            tree |= key.contains("/failover-");
            let mut address = Address::new(Kind::Record, &service, Some(&key));
            if declared.records.contains(&address) || (renamed && !key.contains("/failover-")) {
                address = Address::new(Kind::Record, &service, Some(&format!("{key}@{domain}")));
            }
            delete_record(
                d,
                &address,
                (*r).clone(),
                "delete_because_no_resource_config",
            );
        }
        delete_record(
            d,
            &Address::new(Kind::Owner, &service, (renamed || tree).then_some(domain)),
            (*marker).clone(),
            "delete_because_no_resource_config",
        );
    }
}

/// Names nobody declares are never touched: each of their record sets is listed, except
/// those this plan deletes (a removed service's, or every one of a destroy): a record is
/// either deleted or left alone, never both.
fn untouched_names(names: &Names, declared_names: &BTreeSet<(&str, &str)>, d: &mut Diff) {
    let deleted: BTreeSet<crate::provider::RecordKey> = d
        .changes
        .iter()
        .filter_map(|c| match &c.detail {
            Detail::Record { delete, .. } => Some(delete),
            _ => None,
        })
        .flatten()
        .map(RecordSet::key)
        .collect();
    let mut left = Vec::new();
    for ((zone, name), recs) in &names.at_name {
        if declared_names.contains(&(*zone, *name)) || crate::dns::marker_domain(name).is_some() {
            continue;
        }
        // Most plans delete nothing: no key is built for a shared zone's many records then.
        let kept = recs
            .iter()
            .filter(|r| deleted.is_empty() || !deleted.contains(&r.key()));
        left.extend(kept.map(|r| Untouched::Record {
            zone: r.zone.clone(),
            name: r.name.clone(),
            record_type: r.record_type.clone(),
            set_identifier: r.set_identifier.clone(),
        }));
    }
    d.untouched.extend(left);
}

fn ecr(graph: &ResourceGraph, live: &LiveState, identity: &Identity, d: &mut Diff) {
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
fn repositories(
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
fn replication(
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
struct RegionRules<'a> {
    region: &'a str,
    live: &'a [ReplicationRule],
    /// What the last apply wrote here.
    written: &'a [ReplicationRule],
    /// The repositories the topology declares here.
    repositories: Option<&'a BTreeSet<String>>,
}

impl RegionRules<'_> {
    /// A rule that is not this topology's but replicates one of its repositories.
    fn conflict(&self, rule: &ReplicationRule) -> Option<String> {
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

fn region_replication(
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
fn retired_names(
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
fn removed_address(
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

fn pair_rules(
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
