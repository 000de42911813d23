//! A `service` block: its names, regions, TTL and set identifiers, and the rules across its regions (load shares, failover targets).

use super::*;

/// The valid services by name; a domain declared by two services is reported.
pub(super) fn services(root: &Block, diags: &mut Diagnostics) -> BTreeMap<String, Service> {
    let mut services = BTreeMap::new();
    let mut domains: BTreeMap<String, Loc> = BTreeMap::new();
    let registries: Vec<&str> = root.blocks("registry").iter().map(Block::label).collect();
    for b in root.blocks("service") {
        if let Some(s) = service(b, &registries, diags) {
            if let Some(first) = domains.get(&s.domain) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateDomain,
                        b.value_loc("domain"),
                        format!(
                            "service \"{}\" resolves {}, which another service already declares",
                            s.name, s.domain
                        ),
                    )
                    .label("declared again here")
                    .with_secondary(first.clone(), "first declared here")
                    .help(
                        "one service owns each DNS name; merge the two or give one another domain",
                    ),
                );
            } else {
                domains.insert(s.domain.clone(), b.value_loc("domain"));
            }
            services.insert(s.name.clone(), s);
        }
    }
    services
}

/// A DNS name: lower-cased, trailing dot removed; `None` (and a diagnostic) when malformed.
pub(super) fn dns_name(b: &Block, attr: &str, diags: &mut Diagnostics) -> Option<String> {
    let raw = b.str(attr)?;
    let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
    let problem = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.len() > 253 {
        Some(format!(
            "it is {} characters long (at most 253)",
            name.len()
        ))
    } else {
        name.split('.').enumerate().find_map(|(i, label)| {
            if label == "*" && i == 0 {
                None
            } else if label.is_empty() {
                Some("it has an empty label (two dots in a row)".to_string())
            } else if label.len() > 63 {
                Some(format!("label \"{label}\" is longer than 63 characters"))
            } else {
                match label
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
                {
                    Some('*') => Some("'*' may only stand alone as the first label".to_string()),
                    Some(c) => Some(format!("it contains '{c}'")),
                    None if label.starts_with('-') || label.ends_with('-') => {
                        Some(format!("label \"{label}\" starts or ends with '-'"))
                    }
                    None => None,
                }
            }
        })
    };
    match problem {
        Some(p) => {
            diags.push(
                Diagnostic::error(
                    Code::DnsName,
                    b.value_loc(attr),
                    format!("`{attr}` \"{raw}\" is not a valid DNS name: {p}"),
                )
                .label("not a DNS name"),
            );
            None
        }
        None => Some(name),
    }
}

pub(super) fn service(b: &Block, registries: &[&str], diags: &mut Diagnostics) -> Option<Service> {
    let name = plain_label(b, "service", diags)?;
    let zone = dns_name(b, "zone", diags);
    let domain = dns_name(b, "domain", diags);
    if let (Some(z), Some(d)) = (&zone, &domain) {
        domain_in_zone(b, z, d, diags);
    }
    let routing = b.str("routing").and_then(Routing::parse);
    let health_check = b.block("health_check").and_then(|h| health_check(h, diags));
    let anycast = b.block("anycast").map(|a| Anycast {
        interval: a.int("interval").unwrap_or(30) as u32,
        threshold: a.int("threshold").unwrap_or(3) as u32,
        accelerator: dns_name(a, "accelerator", diags),
        lb_detection: a.dur("lb_detection"),
    });

    let regions = service_regions(b, routing, diags);
    if let Some(routing) = routing {
        routing_rules(b, routing, &regions, diags);
    }
    record_types(b, zone.as_deref(), domain.as_deref(), &regions, diags);
    set_identifiers(&name, routing, b, diags);

    let ttl_written = b.is_written("ttl");
    let ttl = b.int("ttl").unwrap_or(60) as u32;
    let regions: BTreeMap<String, Region> = regions.into_iter().map(|(k, (r, _))| (k, r)).collect();
    let labels: Vec<&str> = b.blocks("region").iter().map(Block::label).collect();
    let data = b.block("data").and_then(|d| data(d, &labels, diags));
    let stateless = b.bool("stateless").unwrap_or(false);
    if stateless {
        stateless_without_data(b, &name, diags);
    }
    let images = images(b, registries, diags);
    if let (Some(d), Some(db)) = (&data, b.block("data")) {
        witness_rules(db, d, &regions, diags);
    }
    if let Some(routing) = routing {
        load_shares(b, routing, diags);
        failover_targets(b, routing, diags);
    }
    if let Some(d) = &domain {
        tree_names_fit(b, d, diags);
    }
    let cost = b.block("cost").map_or_else(Cost::default, |c| Cost {
        compute_per_region: c.num("compute_per_region"),
        queries_per_month: c.num("queries_per_month"),
        replicated_gb_month: c.num("replicated_gb_month"),
        anycast_gb_month: c.num("anycast_gb_month"),
        database_per_region: c.num("database_per_region"),
        quorum_gb_month: c.num("quorum_gb_month"),
    });
    Some(Service {
        name,
        zone: zone?,
        domain: domain?,
        routing: routing?,
        ttl,
        ttl_written,
        health_check,
        anycast,
        regions,
        data,
        stateless,
        images,
        depends_on: b.list("depends_on").map(<[_]>::to_vec).unwrap_or_default(),
        block_locs: block_locs(b),
        value_locs: ["ttl", "routing"]
            .into_iter()
            .filter(|n| b.is_written(n))
            .map(|n| (n, b.value_loc(n)))
            .collect(),
        cost,
        loc: b.header.clone(),
    })
}

/// Where each child block of a service is written.
pub(super) fn block_locs(b: &Block) -> BTreeMap<&'static str, Loc> {
    ["health_check", "anycast", "data", "cost"]
        .into_iter()
        .filter_map(|n| b.block(n).map(|c| (n, c.header.clone())))
        .collect()
}

/// Two regions with the same failover role: the second is reported, with the first beside it.
pub(super) fn failover_role_repeated(blocks: &[Block], primaries: bool, diags: &mut Diagnostics) {
    let role = if primaries { "primary" } else { "secondary" };
    let other = if primaries { "secondary" } else { "primary" };
    let mut with_role = blocks.iter().filter(|r| r.str("role") == Some(role));
    let (Some(first), Some(second)) = (with_role.next(), with_role.next()) else {
        return;
    };
    diags.push(
        Diagnostic::error(
            Code::FailoverRoles,
            second.value_loc("role"),
            format!("a second {role} region: failover routing has exactly one primary and one secondary"),
        )
        .label(format!("second {role}"))
        .with_secondary(first.value_loc("role"), format!("first {role}"))
        .help(format!("make one of them role = \"{other}\"")),
    );
}

/// Reports a service domain that is neither the zone nor a name under it.
pub(super) fn domain_in_zone(b: &Block, z: &str, d: &str, diags: &mut Diagnostics) {
    if d != z && !d.ends_with(&format!(".{z}")) {
        diags.push(
            Diagnostic::error(
                Code::DomainOutsideZone,
                b.value_loc("domain"),
                format!("domain {d} is not inside zone {z}"),
            )
            .label(format!("not under {z}"))
            .with_secondary(b.value_loc("zone"), "the hosted zone")
            .help(format!(
                "a record in zone {z} must be named {z} or end with .{z}"
            )),
        );
    }
}

/// The service's valid regions by name, each with the block it came from.
pub(super) fn service_regions<'b>(
    b: &'b Block,
    routing: Option<Routing>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, (Region, &'b Block)> {
    let mut regions = BTreeMap::new();
    for r in b.blocks("region") {
        if let Some(region) = region(r, routing, diags) {
            regions.insert(region.name.clone(), (region, r));
        }
    }
    regions
}

/// Reports a `data` block in a service declared stateless.
pub(super) fn stateless_without_data(b: &Block, name: &str, diags: &mut Diagnostics) {
    if let Some(d) = b.block("data") {
        diags.push(
            Diagnostic::error(
                Code::StatelessWithData,
                d.header.clone(),
                format!("service \"{name}\" is declared stateless but has a data block"),
            )
            .label("data declared here")
            .with_secondary(b.loc_of("stateless"), "declared stateless here")
            .help("remove `stateless = true` if the service keeps this data, or remove the data block"),
        );
    }
}

/// Route 53 set identifiers: at most 128 characters, unique within the service's name.
pub(super) fn set_identifiers(
    service: &str,
    routing: Option<Routing>,
    b: &Block,
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
    for r in b.blocks("region") {
        let locations: Vec<Option<&str>> = match (routing, r.list("locations")) {
            (Some(Routing::Geolocation), Some(l)) => {
                l.iter().map(|(s, _)| Some(s.as_str())).collect()
            }
            _ => vec![None],
        };
        let custom = r.str("set_identifier");
        if custom.is_some_and(str::is_empty) {
            diags.push(
                Diagnostic::error(
                    Code::SetIdentifier,
                    r.value_loc("set_identifier"),
                    "an empty set identifier: Route 53 takes 1 to 128 characters",
                )
                .label("empty")
                .help("remove `set_identifier` (Meridian names the record <service>-<label>), or give the record's own"),
            );
            continue;
        }
        if custom.is_some() && locations.len() > 1 {
            diags.push(
                Diagnostic::error(
                    Code::SetIdentifier,
                    r.loc_of("set_identifier"),
                    format!("`set_identifier` names one record, and region \"{}\" has {} locations (one record each)", r.label(), locations.len()),
                )
                .label("one of several")
                .help("give the region one location, or remove `set_identifier`"),
            );
            continue;
        }
        for location in locations {
            let id = custom.map_or_else(
                || set_identifier(service, r.label(), location),
                str::to_string,
            );
            if id.len() > MAX_SET_IDENTIFIER {
                diags.push(
                    Diagnostic::error(
                        Code::SetIdentifier,
                        r.label_loc(),
                        format!("set identifier \"{id}\" is {} characters; Route 53 accepts at most {MAX_SET_IDENTIFIER}", id.len()),
                    )
                    .label("too long")
                    .help(if custom.is_some() {
                        "shorten `set_identifier`"
                    } else {
                        "Meridian names records <service>-<region>[-<location>]; shorten the service or region label"
                    }),
                );
            } else if let Some(first) = seen.get(&id) {
                diags.push(
                    Diagnostic::error(
                        Code::SetIdentifier,
                        r.label_loc(),
                        format!("two records of service \"{service}\" would share the set identifier \"{id}\""),
                    )
                    .label("collides")
                    .with_secondary(first.clone(), "with this one")
                    .help("rename one region label"),
                );
            } else {
                seen.insert(id, r.label_loc());
            }
        }
    }
}

/// `load_share`: latency and geolocation routing only; every region of the service declares
/// it or none does, and the shares sum to 1.
pub(super) fn load_shares(b: &Block, routing: Routing, diags: &mut Diagnostics) {
    let regions = b.blocks("region");
    let declared: Vec<&Block> = regions
        .iter()
        .filter(|rb| rb.is_written("load_share"))
        .collect();
    if declared.is_empty() {
        return;
    }
    if !matches!(routing, Routing::Latency | Routing::Geolocation) {
        for rb in &declared {
            diags.push(
                Diagnostic::error(
                    Code::LoadShare,
                    rb.loc_of("load_share"),
                    format!(
                        "`load_share` applies to latency and geolocation routing; under {} routing the {} decide the shares",
                        routing.as_str(),
                        if routing == Routing::Weighted { "weights" } else { "roles" }
                    ),
                )
                .label("not used by this routing"),
            );
        }
        return;
    }
    if declared.len() != regions.len() {
        let missing: Vec<&str> = regions
            .iter()
            .filter(|rb| !rb.is_written("load_share"))
            .map(|rb| rb.label())
            .collect();
        diags.push(
            Diagnostic::error(
                Code::LoadShare,
                declared[0].loc_of("load_share"),
                format!("some regions declare `load_share` and others do not: {}", missing.join(", ")),
            )
            .label("declared here only")
            .help("declare `load_share` on every region of the service (they sum to 1), or on none for equal shares"),
        );
        return;
    }
    let sum: f64 = regions.iter().filter_map(|rb| rb.num("load_share")).sum();
    if (sum - 1.0).abs() > 0.001 {
        diags.push(
            Diagnostic::error(
                Code::LoadShare,
                b.label_loc(),
                format!("the regions' load shares sum to {}, not 1", (sum * 1000.0).round() / 1000.0),
            )
            .label("shares of one service's traffic")
            .help("each `load_share` is a fraction of the whole service's traffic; make them add up to 1"),
        );
    }
}

/// `failover_to`: latency routing only, naming other regions of the service.
/// The names of a region's `failover_to` tree fit DNS: its deepest pair's marker,
/// `_meridian.N.LABEL.failover.DOMAIN`, within 253 characters.
pub(super) fn tree_names_fit(b: &Block, domain: &str, diags: &mut Diagnostics) {
    for rb in b.blocks("region") {
        let Some(list) = rb.list("failover_to").filter(|l| !l.is_empty()) else {
            continue;
        };
        let deepest = crate::dns::tree_name(rb.label(), list.len().saturating_sub(1), domain);
        let marker = crate::dns::marker_name(&deepest);
        if marker.len() > 253 {
            diags.push(
                Diagnostic::error(
                    Code::FailoverTo,
                    rb.loc_of("failover_to"),
                    format!("the failover tree of region \"{}\" needs the name {marker} ({} characters): DNS allows 253", rb.label(), marker.len()),
                )
                .label("names too long")
                .help("shorten the region label or the service's domain, or list fewer failover_to regions"),
            );
        }
    }
}

/// The record type a region's endpoint answers with, as the graph writes it.
pub(super) fn endpoint_kind(rb: &Block) -> Option<&'static str> {
    if rb.str("target").is_some() {
        return Some("CNAME");
    }
    if let Some(ips) = rb.list("ips") {
        return ips
            .first()
            .map(|(ip, _)| if ip.contains(':') { "AAAA" } else { "A" });
    }
    rb.block("alias").map(|_| "A")
}

pub(super) fn failover_targets(b: &Block, routing: Routing, diags: &mut Diagnostics) {
    let labels: Vec<&str> = b.blocks("region").iter().map(Block::label).collect();
    for rb in b.blocks("region") {
        let Some(list) = rb.list("failover_to") else {
            continue;
        };
        if routing != Routing::Latency {
            diags.push(
                Diagnostic::error(
                    Code::FailoverTo,
                    rb.loc_of("failover_to"),
                    format!("`failover_to` applies only to latency routing; this service uses {} routing", routing.as_str()),
                )
                .label("not used by this routing"),
            );
            continue;
        }
        let kind_of = |label: &str| {
            b.blocks("region")
                .iter()
                .find(|x| x.label() == label)
                .and_then(endpoint_kind)
        };
        let mut seen = std::collections::BTreeSet::new();
        for (target, at) in list {
            let problem = if target.as_str() == rb.label() {
                Some("a region cannot fail over to itself".to_string())
            } else if !labels.contains(&target.as_str()) {
                Some(format!("\"{target}\" is not a region of this service"))
            } else if !seen.insert(target.as_str()) {
                Some(format!("\"{target}\" is listed twice"))
            } else if let (Some(own), Some(theirs)) = (kind_of(rb.label()), kind_of(target)) {
                (own != theirs).then(|| format!("\"{target}\" answers with {theirs} records and this region with {own}: a failover pair holds one record type"))
            } else {
                None
            };
            if let Some(message) = problem {
                let mut d = Diagnostic::error(Code::FailoverTo, at.clone(), message)
                    .label("not another region of the service");
                if let Some(s) =
                    suggest(target, labels.iter().copied().filter(|l| *l != rb.label()))
                {
                    d = d.help(format!("did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
    }
}
