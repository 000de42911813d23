//! Health checks: declared ones matched to this topology's live checks by their caller
//! reference, updated in place where Route 53 can, replaced where it cannot; orphans deleted.

use super::*;

/// Actions, before, reason, replace paths and unknown attributes of a health-check change.
pub(super) type CheckShape<'a> = (
    Vec<Action>,
    Option<Value>,
    Option<&'a str>,
    Vec<String>,
    Vec<&'a str>,
    Vec<LiveHealthCheck>,
);

/// This topology's live health checks, recognised by their caller reference.
pub(super) struct OurChecks<'a> {
    /// By the hash of the address they were created for; declared ones are taken out.
    by_address: BTreeMap<String, Vec<&'a LiveHealthCheck>>,
    /// Ids that live records use.
    in_use: std::collections::HashSet<&'a str>,
    /// The hash of the zone of each check's records, when its reference says.
    zone_of: BTreeMap<&'a str, Option<String>>,
}

impl<'a> OurChecks<'a> {
    pub(super) fn read(
        live: &'a LiveState,
        identity: &Identity,
        graph: &ResourceGraph,
    ) -> OurChecks<'a> {
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
        // Checks another tool made, taken over by id (`meridian init --adopt`): each is the
        // check of the declared record that uses it live (so a region renamed since keeps
        // it), else of the address it was adopted for.
        if !identity.adopted.checks.is_empty() {
            let at = adopted_addresses(graph, live);
            for (address, id) in &identity.adopted.checks {
                let Some(h) = live.health_checks.iter().find(|h| h.id == *id) else {
                    continue;
                };
                if identity.forgotten.check(id) {
                    continue;
                }
                let address = at
                    .get(id.as_str())
                    .cloned()
                    .unwrap_or_else(|| address.clone());
                ours.by_address
                    .entry(hash::hex(&address, 12))
                    .or_default()
                    .push(h);
                ours.zone_of.insert(&h.id, None);
            }
        }
        ours
    }
}

/// Check id -> the address of the declared check of the record that uses it live, for every
/// declared record with a check: one pass over each (a plan of many adopted checks stays
/// linear).
fn adopted_addresses<'a>(graph: &ResourceGraph, live: &'a LiveState) -> BTreeMap<&'a str, String> {
    type Key<'k> = (&'k str, &'k str, &'k RecordType, Option<&'k str>);
    let declared: BTreeMap<Key, String> = graph
        .resources()
        .iter()
        .filter_map(|r| match &r.spec {
            ResourceSpec::Record(s) => Some((
                (
                    s.zone.as_str(),
                    s.name.as_str(),
                    &s.record_type,
                    s.set_identifier.as_deref(),
                ),
                s.health_check.as_ref()?.to_string(),
            )),
            _ => None,
        })
        .collect();
    live.records
        .iter()
        .filter_map(|r| {
            let id = r.health_check_id.as_deref()?;
            let key = (
                r.zone.as_str(),
                r.name.as_str(),
                &r.record_type,
                r.set_identifier.as_deref(),
            );
            Some((id, declared.get(&key)?.clone()))
        })
        .collect()
}

/// The changes of every declared health check; returns the live check each one keeps
/// (absent: created by this apply).
pub(super) fn declared_checks(
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
pub(super) fn updatable(h: &LiveHealthCheck, spec: &HealthCheckSpec) -> bool {
    forced_paths(h, spec).is_empty()
}

/// The settings that force a replacement of `h` to become `spec`.
pub(super) fn forced_paths(h: &LiveHealthCheck, spec: &HealthCheckSpec) -> Vec<String> {
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
        ("fqdn", old.fqdn != spec.fqdn && old.name_matters()),
        ("port", old.port != spec.port),
    ]
    .iter()
    .filter(|(_, forced)| *forced)
    .map(|(p, _)| (*p).to_string())
    .collect()
}

/// A declared check: its settings, the zone of its records and the tags it should carry.
pub(super) struct Want<'a> {
    spec: &'a HealthCheckSpec,
    zone: &'a str,
    tags: BTreeMap<String, String>,
    /// Replace the live check even if it is as declared (`--replace`).
    replace: bool,
}

/// The change of one declared health check given its live copies; returns the id it keeps.
pub(super) fn declared_check(
    address: &Address,
    want: &Want,
    mut found: Vec<&LiveHealthCheck>,
    d: &mut Diff,
) -> Option<String> {
    let (spec, zone) = (want.spec, want.zone);
    // Prefer a live check that already has the desired settings, then an updatable one.
    let keep_pos = found
        .iter()
        .position(|h| h.config.probes_as(spec) && h.drift.is_empty())
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
pub(super) fn check_shape<'a>(
    keep: Option<&LiveHealthCheck>,
    rest: &[LiveHealthCheck],
    spec: &HealthCheckSpec,
) -> CheckShape<'a> {
    match (keep, rest.first()) {
        (Some(k), _) => (
            vec![if k.config.probes_as(spec) {
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
pub(super) fn duplicate_check(
    address: &Address,
    extra: &LiveHealthCheck,
    zone: &str,
    d: &mut Diff,
) {
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
pub(super) fn orphan_checks(live: &LiveState, ours: OurChecks, d: &mut Diff) {
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
pub(super) fn orphan_label(
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
pub(super) fn check_candidates(changes: &[ResourceChange]) -> BTreeMap<String, Vec<String>> {
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

pub(super) fn delete_orphan(h: &LiveHealthCheck, label: Option<String>, zone: &str, d: &mut Diff) {
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
pub(super) fn tagged_address(h: &LiveHealthCheck) -> Option<String> {
    h.tags
        .get("Name")
        .or_else(|| h.tags.get("meridian:address"))
        .cloned()
}
