//! A `region` block: routing fields, endpoints, addresses, aliases, geolocations, record types.

use super::*;

pub(super) fn routing_field(
    r: &Block,
    attr: &str,
    routing: Option<Routing>,
    needed_under: Routing,
    diags: &mut Diagnostics,
) {
    let Some(routing) = routing else { return };
    let written = r.is_written(attr);
    if routing == needed_under && !written {
        diags.push(
            Diagnostic::error(
                Code::RoutingField,
                r.header.clone(),
                format!(
                    "region \"{}\" needs `{attr}` under {} routing",
                    r.label(),
                    routing.as_str()
                ),
            )
            .label(format!("`{attr}` required here")),
        );
    } else if routing != needed_under && written {
        diags.push(
            Diagnostic::error(
                Code::RoutingField,
                r.loc_of(attr),
                format!(
                    "`{attr}` applies only to {} routing; this service uses {} routing",
                    needed_under.as_str(),
                    routing.as_str()
                ),
            )
            .label(format!("not used by {} routing", routing.as_str()))
            .help(format!(
                "remove `{attr}`, or set routing = \"{}\"",
                needed_under.as_str()
            )),
        );
    }
}

pub(super) fn region(
    r: &Block,
    routing: Option<Routing>,
    diags: &mut Diagnostics,
) -> Option<Region> {
    let name = plain_label(r, "region", diags)?;
    if r.str("aws_region").is_none() && r.is_written("aws_region") {
        return None;
    }
    let aws_region = aws_region(r, &name, diags);

    routing_field(r, "weight", routing, Routing::Weighted, diags);
    routing_field(r, "role", routing, Routing::Failover, diags);
    routing_field(r, "locations", routing, Routing::Geolocation, diags);
    let locations = geo_locations(r, routing, diags);

    let capacity = r.num("capacity").unwrap_or(1.0);
    let scale_up = r.dur("scale_up");
    let ranged = super::range_fields(r, "scale_up", diags);
    let endpoint = endpoint(r, &name, diags)?;

    Some(Region {
        name,
        aws_region: aws_region?,
        endpoint,
        capacity,
        scale_up,
        scale_up_range: super::range_of(r, "scale_up").filter(|_| ranged),
        weight: r.int("weight").map(|w| w as u8),
        role: r.str("role").map(|s| {
            if s == "primary" {
                Role::Primary
            } else {
                Role::Secondary
            }
        }),
        locations,
        load_share: r.num("load_share"),
        failover_to: r
            .list("failover_to")
            .unwrap_or(&[])
            .iter()
            .map(|(v, _)| v.to_string())
            .collect(),
        set_identifier: r.str("set_identifier").map(str::to_string),
        health_check: r.block("health_check").and_then(|h| health_check(h, diags)),
        check_loc: r.block("health_check").map(|h| h.header.clone()),
        scale_up_loc: r.is_written("scale_up").then(|| r.loc_of("scale_up")),
        loc: r.header.clone(),
    })
}

/// The AWS region a region block runs in: its `aws_region`, or else its label.
pub(super) fn aws_region(r: &Block, name: &str, diags: &mut Diagnostics) -> Option<String> {
    let aws_region = match r.str("aws_region") {
        Some(v) => region_name(v, r.value_loc("aws_region"), "aws_region"),
        None => region_name(name, r.label_loc(), "region").map_err(|d| {
            Box::new(d.help(match suggest(name, catalog::AWS_REGIONS.iter().copied()) {
                Some(s) => format!("did you mean \"{s}\"? (a label that is not a region needs `aws_region = \"...\"`)"),
                None => "a label that is not a region needs `aws_region = \"...\"`".to_string(),
            }))
        }),
    };
    match aws_region {
        Ok(a) => Some(a),
        Err(d) => {
            diags.push(*d);
            None
        }
    }
}

/// The region's valid geolocation codes; unknown codes and an empty list are reported.
pub(super) fn geo_locations(
    r: &Block,
    routing: Option<Routing>,
    diags: &mut Diagnostics,
) -> Vec<String> {
    let mut locations = Vec::new();
    for (l, at) in r.list("locations").unwrap_or(&[]) {
        if catalog::is_geo_location(l) {
            locations.push(catalog::canonical_location(l));
        } else if let Some(name) = catalog::unsupported_country(l) {
            diags.push(
                Diagnostic::error(Code::GeoLocation, at.clone(), format!("Route 53 does not accept geolocation records for \"{l}\" ({name})"))
                    .label("not supported by Route 53")
                    .help("Route 53 refuses BV, CX, EH and HM (Developer Guide, \"Values specific for geolocation records\"); its users there get the \"*\" default record"),
            );
        } else {
            let upper = l.to_ascii_uppercase();
            let mut d = Diagnostic::error(Code::GeoLocation, at.clone(), format!("\"{l}\" is not a geolocation code"))
                .label("unknown location")
                .help("use a continent (AF AN AS EU NA OC SA), an ISO country code (DE), a US state (US-CA) or \"*\"");
            if upper != *l && catalog::is_geo_location(&upper) {
                d = d.help(format!("codes are upper case: did you mean \"{upper}\"?"));
            }
            diags.push(d);
        }
    }
    if routing == Some(Routing::Geolocation) && r.list("locations").is_some_and(<[_]>::is_empty) {
        diags.push(
            Diagnostic::error(
                Code::RoutingField,
                r.value_loc("locations"),
                "`locations` is empty",
            )
            .label("needs at least one location"),
        );
    }
    locations
}

/// The region's one endpoint (`target`, `ips` or `alias`); none or several are reported.
pub(super) fn endpoint(r: &Block, name: &str, diags: &mut Diagnostics) -> Option<Endpoint> {
    let written: Vec<&str> = ["target", "ips"]
        .into_iter()
        .filter(|a| r.is_written(a))
        .chain(r.block("alias").map(|_| "alias"))
        .collect();
    if written.len() != 1 {
        let (at, msg) = match written.len() {
            0 => (
                r.header.clone(),
                format!("region \"{name}\" has no endpoint"),
            ),
            _ => (
                match written[1] {
                    "alias" => r
                        .block("alias")
                        .map_or_else(|| r.header.clone(), |a| a.header.clone()),
                    other => r.loc_of(other),
                },
                format!(
                    "region \"{name}\" sets {}; exactly one is allowed",
                    written.join(" and ")
                ),
            ),
        };
        diags.push(
            Diagnostic::error(Code::Endpoint, at, msg)
                .label("one of target, ips, alias")
                .help("give each region exactly one of `target = \"host\"`, `ips = [...]` or an `alias { ... }` block"),
        );
        return None;
    }
    Some(match written[0] {
        "target" => Endpoint::Target(dns_name(r, "target", diags)?),
        "ips" => Endpoint::Ips(ips(r, diags)?),
        _ => Endpoint::Alias(alias(r.block("alias")?, diags)?),
    })
}

pub(super) fn ips(r: &Block, diags: &mut Diagnostics) -> Option<Vec<std::net::IpAddr>> {
    let list = r.list("ips")?;
    if list.is_empty() {
        diags.push(
            Diagnostic::error(Code::InvalidIp, r.value_loc("ips"), "`ips` is empty")
                .label("needs at least one address"),
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (s, at) in list {
        match s.parse::<std::net::IpAddr>() {
            Ok(ip) => out.push(ip),
            Err(_) => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::InvalidIp,
                        at.clone(),
                        format!("\"{s}\" is not an IP address"),
                    )
                    .label("not an IPv4 or IPv6 address"),
                );
            }
        }
    }
    if ok && out.iter().any(|i| i.is_ipv4()) && out.iter().any(|i| i.is_ipv6()) {
        diags.push(
            Diagnostic::error(Code::RecordType, r.value_loc("ips"), "`ips` mixes IPv4 and IPv6 addresses")
                .label("A and AAAA in one record")
                .help("one region's record holds one family; use IPv4 here, or an alias to a dual-stack load balancer"),
        );
        return None;
    }
    ok.then_some(out)
}

pub(super) fn alias(a: &Block, diags: &mut Diagnostics) -> Option<Alias> {
    let name = dns_name(a, "name", diags);
    let zone_id = a.str("zone_id")?.to_string();
    let eth = a.bool("evaluate_target_health").unwrap_or(false);
    if zone_id.is_empty() || !zone_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        diags.push(
            Diagnostic::error(
                Code::ZoneId,
                a.value_loc("zone_id"),
                format!("\"{zone_id}\" is not a hosted zone id"),
            )
            .label("expected letters and digits, e.g. Z32O12XQLNTSW2"),
        );
        return None;
    }
    if zone_id == CLOUDFRONT_ZONE_ID && eth {
        diags.push(
            Diagnostic::error(
                Code::CloudFrontHealth,
                a.value_loc("evaluate_target_health"),
                "evaluate_target_health must be false for a CloudFront alias",
            )
            .label("not allowed for CloudFront")
            .with_secondary(a.value_loc("zone_id"), "CloudFront's hosted zone")
            .help("Route 53 rejects it; use a health check on the record instead"),
        );
        return None;
    }
    Some(Alias {
        name: name?,
        zone_id,
        evaluate_target_health: eth,
    })
}

/// Geolocation: each location in one region (a missing `*` default is lint rule SS016).
pub(super) fn geolocation_rules(
    regions: &BTreeMap<String, (Region, &Block)>,
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
    let mut ordered: Vec<_> = regions.values().collect();
    ordered.sort_by_key(|(_, rb)| rb.header.clone());
    for (_, rb) in &ordered {
        for (l, at) in rb.list("locations").unwrap_or(&[]) {
            // `country:DE` and `DE` are one location.
            let key = catalog::canonical_location(l);
            if let Some(first) = seen.get(&key) {
                diags.push(
                    Diagnostic::error(
                        Code::GeoLocation,
                        at.clone(),
                        format!("location \"{l}\" is routed twice"),
                    )
                    .label("repeated")
                    .with_secondary(first.clone(), "first routed here")
                    .help("each location may appear in one region only"),
                );
            } else {
                seen.insert(key, at.clone());
            }
        }
    }
}

pub(super) fn routing_rules(
    b: &Block,
    routing: Routing,
    regions: &BTreeMap<String, (Region, &Block)>,
    diags: &mut Diagnostics,
) {
    match routing {
        Routing::Latency => {
            let mut by_region: BTreeMap<&str, &Block> = BTreeMap::new();
            // In source order, so the second one written is the one reported.
            let mut ordered: Vec<_> = regions.values().collect();
            ordered.sort_by_key(|(_, rb)| rb.header.clone());
            for (r, rb) in ordered {
                if let Some(first) = by_region.get(r.aws_region.as_str()) {
                    diags.push(
                        Diagnostic::error(
                            Code::LatencyRegion,
                            rb.label_loc(),
                            format!("latency routing allows one record per region; {} has two", r.aws_region),
                        )
                        .label(format!("second record in {}", r.aws_region))
                        .with_secondary(first.label_loc(), "first record in that region")
                        .help("Route 53 picks a region, not a record; use weighted routing to split one region's traffic"),
                    );
                } else {
                    by_region.insert(&r.aws_region, rb);
                }
            }
        }
        Routing::Failover => {
            // Read the blocks, not the lowered regions: a region dropped for another error
            // must not turn into a missing role here.
            let blocks = b.blocks("region");
            let roles: Vec<&str> = blocks.iter().filter_map(|r| r.str("role")).collect();
            let primaries = roles.iter().filter(|r| **r == "primary").count();
            let secondaries = roles.len() - primaries;
            let missing_role = blocks.iter().any(|r| r.str("role").is_none());
            if !missing_role && (primaries > 1 || secondaries > 1) {
                failover_role_repeated(blocks, primaries > 1, diags);
            } else if !missing_role && (primaries != 1 || secondaries != 1 || blocks.len() != 2) {
                diags.push(
                    Diagnostic::error(
                        Code::FailoverRoles,
                        b.value_loc("routing"),
                        format!(
                            "failover routing needs exactly one primary and one secondary region; found {primaries} primary and {secondaries} secondary"
                        ),
                    )
                    .label("failover routing")
                    .help("set role = \"primary\" on one region and role = \"secondary\" on one other"),
                );
            }
        }
        Routing::Geolocation => geolocation_rules(regions, diags),
        Routing::Weighted => {}
    }
}

pub(super) fn record_types(
    b: &Block,
    zone: Option<&str>,
    domain: Option<&str>,
    regions: &BTreeMap<String, (Region, &Block)>,
    diags: &mut Diagnostics,
) {
    let cname: Vec<_> = regions
        .values()
        .filter(|(r, _)| matches!(r.endpoint, Endpoint::Target(_)))
        .collect();
    let other = regions
        .values()
        .find(|(r, _)| !matches!(r.endpoint, Endpoint::Target(_)));
    if let (Some((_, c)), Some((o, ob))) = (cname.first(), other) {
        let kind = match o.endpoint {
            Endpoint::Alias(_) => "an alias",
            _ => "an IP",
        };
        diags.push(
            Diagnostic::error(
                Code::RecordType,
                c.loc_of("target"),
                format!("region \"{}\" is a CNAME, but region \"{}\" is {kind} record at the same name", c.label(), o.name),
            )
            .label("CNAME")
            .with_secondary(ob.header.clone(), "not a CNAME")
            .help("DNS allows no other record beside a CNAME; make every region a CNAME (`target`), or none"),
        );
    }
    if let (Some(z), Some(d), Some((_, c))) = (zone, domain, cname.first()) {
        if z == d {
            diags.push(
                Diagnostic::error(
                    Code::CnameApex,
                    c.loc_of("target"),
                    format!("a CNAME cannot sit at the zone apex {z}"),
                )
                .label("CNAME at the apex")
                .with_secondary(b.value_loc("domain"), "domain equals the zone")
                .help("use an alias record (`alias { ... }`) or `ips` at the apex"),
            );
        }
    }
}
