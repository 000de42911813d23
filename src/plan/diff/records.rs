//! Ownership markers and record sets at the names the topology owns; names it no longer
//! declares; what it leaves alone.

use super::*;

pub(super) fn owner_record(o: &OwnerSpec, identity: &Identity) -> RecordSet {
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

pub(super) fn desired_record(r: &RecordSpec, check_id: Option<String>) -> RecordSet {
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
pub(super) fn delete_record(d: &mut Diff, address: &Address, record: RecordSet, reason: &str) {
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

/// The key of the record the topology declared there before it was emptied (a destroy): by its
/// set identifier, or for a plain set (a provider with no set identifiers) the one such a
/// provider kept.
fn retired_key(names: &Names, r: &RecordSet) -> Option<String> {
    let mut candidates =
        names.graph.retired_records().iter().filter(|(_, s)| {
            s.zone == r.zone && s.name == r.name && s.record_type == r.record_type
        });
    match &r.set_identifier {
        // A set identifier the topology declared (its own, or `set_identifier`).
        Some(id) => candidates
            .find(|(_, s)| s.set_identifier.as_deref() == Some(id.as_str()))
            .and_then(|(a, _)| a.key.clone()),
        None if names.plain => candidates
            .min_by_key(|(a, s)| (crate::plan::capable::rank(&s.routing), a.to_string()))
            .and_then(|(a, _)| a.key.clone()),
        None => None,
    }
}

/// The address key of a live record of `service`: its region label, `region/location` under
/// geolocation (as the graph names it), or its type when it has no set identifier.
pub(super) fn live_key(service: &str, r: &RecordSet) -> String {
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
pub(super) fn tree_key(key: &str) -> Option<String> {
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
pub(super) fn is_service_record(r: &RecordSet, service: &str, ours: &Ours) -> bool {
    let named = r
        .set_identifier
        .as_deref()
        .and_then(|s| s.strip_prefix(service))
        .is_some_and(|rest| rest.starts_with('-'));
    // A set identifier the topology declares (`set_identifier`, an imported record).
    let declared = r
        .set_identifier
        .as_deref()
        .is_some_and(|s| ours.ids.iter().any(|d| d == s));
    // A provider of plain record sets holds the service's answer as the one set of the type
    // Meridian writes there.
    let plain_set = r.set_identifier.is_none()
        && r.routing == RoutingPolicy::Simple
        && ours.plain.contains(&r.record_type);
    !unmanaged(r)
        && r.record_type.is_endpoint()
        && (named || declared || plain_set || ours.adopted || is_accelerator_alias(r))
}

/// What at a name is the service's besides the set identifiers Meridian names after it: the
/// set identifiers the topology declares there, and plain sets of the types it writes.
pub(super) struct Ours {
    pub ids: Vec<String>,
    pub plain: Vec<RecordType>,
    /// A name `meridian init --adopt` took over and the topology no longer declares: every
    /// answer there is what it took over (the other tool's set identifiers included).
    pub adopted: bool,
}

impl Ours {
    /// At a declared name: its records' set identifiers and plain types.
    pub(super) fn declared(
        names: &Names,
        specs: &[(&Address, &RecordSpec)],
        live: &[&RecordSet],
    ) -> Ours {
        Ours {
            ids: specs
                .iter()
                .filter_map(|(_, s)| s.set_identifier.clone())
                .collect(),
            plain: plain_types(names, specs, live),
            adopted: false,
        }
    }

    /// At a name no longer declared: the set identifiers the topology declared there before it
    /// was emptied (a destroy), and the one plain set.
    pub(super) fn retired(names: &Names, zone: &str, domain: &str, live: &[&RecordSet]) -> Ours {
        Ours {
            ids: names
                .graph
                .retired_records()
                .iter()
                .filter(|(_, s)| s.zone == zone && s.name == domain)
                .filter_map(|(_, s)| s.set_identifier.clone())
                .collect(),
            plain: plain_types(names, &[], live),
            adopted: names.identity.adopted.name(zone, domain),
        }
    }
}

/// The types of plain record sets at a name that are the service's (a provider of plain sets
/// only): the declared one's; at a name no longer declared, the one endpoint set there (with
/// several, none: which one Meridian wrote cannot be told).
pub(super) fn plain_types(
    names: &Names,
    specs: &[(&Address, &RecordSpec)],
    live: &[&RecordSet],
) -> Vec<RecordType> {
    if !names.plain {
        return Vec::new();
    }
    if !specs.is_empty() {
        return specs
            .iter()
            .filter(|(_, s)| s.set_identifier.is_none() && s.alias.is_none())
            .map(|(_, s)| s.record_type.clone())
            .collect();
    }
    let endpoints: Vec<&RecordType> = live
        .iter()
        .filter(|r| r.set_identifier.is_none() && r.record_type.is_endpoint() && r.alias.is_none())
        .map(|r| &r.record_type)
        .collect();
    match endpoints.as_slice() {
        [one] => vec![(*one).clone()],
        _ => Vec::new(),
    }
}

/// The one simple alias record Meridian writes for a service behind a Global Accelerator.
pub(super) fn is_accelerator_alias(r: &RecordSet) -> bool {
    r.set_identifier.is_none()
        && r.routing == RoutingPolicy::Simple
        && r.alias
            .as_ref()
            .is_some_and(|a| a.hosted_zone_id == crate::model::GLOBAL_ACCELERATOR_ZONE_ID)
}

pub(super) fn unmanaged(r: &RecordSet) -> bool {
    r.routing == RoutingPolicy::Unmanaged
}

pub(super) fn describe(r: &RecordSet) -> String {
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
pub(super) struct Names<'a> {
    /// Live records by (zone, name), the zone's own apex SOA and NS left out.
    at_name: BTreeMap<(&'a str, &'a str), Vec<&'a RecordSet>>,
    identity: &'a Identity,
    adopt: bool,
    kept_check_ids: &'a BTreeMap<Address, String>,
    /// Zone name -> hosted zone id: what an alias to the service's own zone points at.
    zones: &'a BTreeMap<String, String>,
    /// The provider holds plain record sets only ([`Settings::plain_records`]).
    pub(super) plain: bool,
    /// The graph, for the records it retired.
    graph: &'a ResourceGraph,
}

impl<'a> Names<'a> {
    pub(super) fn at(&self, zone: &'a str, name: &'a str) -> &[&'a RecordSet] {
        self.at_name.get(&(zone, name)).map_or(&[], Vec::as_slice)
    }
}

pub(super) fn records(
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
        graph,
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
pub(super) fn owned_name(
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
    // after the service (or with the set identifiers it declares); anything else was added by
    // someone else.
    let ours = Ours::declared(names, specs, live_here);
    // `--adopt`, or a name `meridian init --adopt` took over.
    let adopt = names.adopt || names.identity.adopted.name(&o.zone, domain);
    let foreign_here: Vec<&&RecordSet> = live_here
        .iter()
        .filter(|r| !owned || !is_service_record(r, &o.service, &ours))
        .collect();
    // Record sets with routing Meridian does not manage cannot be adopted: deleting them
    // would need fields it does not carry.
    let unadoptable = foreign_here.iter().any(|r| unmanaged(r));
    if (!foreign_here.is_empty() || (!owned && live_marker.is_some()))
        && (!adopt || unadoptable || meridians)
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
        adopt && !owned,
        d,
    );
    // The service's records at its name, by set identifier: only answers (A, AAAA, CNAME,
    // aliases) are ever the service's. Records of other types at an adopted name (MX, TXT,
    // CAA: a mail domain at the apex) are never taken over: they stay, and are said.
    let mut live_by_set: BTreeMap<Option<String>, Vec<&RecordSet>> = BTreeMap::new();
    for r in live_here {
        if !r.record_type.is_endpoint() || unmanaged(r) {
            d.untouched.push(Untouched::Record {
                zone: r.zone.clone(),
                name: r.name.clone(),
                record_type: r.record_type.clone(),
                set_identifier: r.set_identifier.clone(),
            });
            continue;
        }
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
pub(super) fn marker_change(
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
pub(super) fn record_change(
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
pub(super) struct Declared<'a> {
    names: &'a BTreeSet<(&'a str, &'a str)>,
    services: &'a BTreeSet<&'a str>,
    records: &'a BTreeSet<&'a Address>,
}

pub(super) fn removed_services(names: &Names, declared: &Declared, d: &mut Diff) {
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
        let ours = Ours::retired(names, zone, domain, names.at(zone, domain));
        for r in names
            .at(zone, domain)
            .iter()
            .filter(|r| is_service_record(r, &service, &ours))
        {
            let key = retired_key(names, r).unwrap_or_else(|| live_key(&service, r));
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
pub(super) fn untouched_names(
    names: &Names,
    declared_names: &BTreeSet<(&str, &str)>,
    d: &mut Diff,
) {
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
