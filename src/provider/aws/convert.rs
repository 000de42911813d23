//! Route 53 and ECR types to Meridian's and back.

use super::*;

pub(super) fn trim_dot(s: &str) -> String {
    s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase()
}

/// Route 53 escapes some characters in names as `\ooo` octal codes (`\052` is `*`).
pub(super) fn unescape(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            if let Ok(code) = u8::from_str_radix(&name[i + 1..i + 4], 8) {
                out.push(code as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// A record set as Route 53 returns it, reduced to what its routing policy and kind mean: a
/// value that has no meaning for the record (a TTL on an alias, as some servers return, a
/// weight beside a failover role) is dropped here, never diffed.
pub(super) fn convert_record(
    zone: &str,
    name: &str,
    r: &r53::types::ResourceRecordSet,
) -> RecordSet {
    RecordSet {
        zone: zone.to_string(),
        name: name.to_string(),
        record_type: RecordType::parse(r.r#type().as_str()),
        set_identifier: r.set_identifier().map(String::from),
        ttl: r
            .ttl()
            .filter(|_| r.alias_target().is_none())
            .and_then(|t| u32::try_from(t).ok()),
        // As stored: a DELETE must carry the exact live values.
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        alias: r.alias_target().map(|a| crate::graph::AliasTarget {
            dns_name: trim_dot(&unescape(a.dns_name())),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        routing: routing_of(r),
        health_check_id: r.health_check_id().map(String::from),
    }
}

/// The one routing policy of a record set as read.
pub(super) fn routing_of(r: &r53::types::ResourceRecordSet) -> RoutingPolicy {
    let unmanaged = r.multi_value_answer().is_some()
        || r.cidr_routing_config().is_some()
        || r.geo_proximity_location().is_some()
        || r.traffic_policy_instance_id().is_some();
    if unmanaged {
        return RoutingPolicy::Unmanaged;
    }
    if let Some(f) = r.failover() {
        return match f {
            r53::types::ResourceRecordSetFailover::Primary => RoutingPolicy::Failover {
                role: FailoverRole::Primary,
            },
            r53::types::ResourceRecordSetFailover::Secondary => RoutingPolicy::Failover {
                role: FailoverRole::Secondary,
            },
            _ => RoutingPolicy::Unmanaged,
        };
    }
    if let Some(g) = r.geo_location() {
        return RoutingPolicy::Geolocation {
            location: geo_code(g),
        };
    }
    if let Some(region) = r.region() {
        return RoutingPolicy::Latency {
            region: region.as_str().to_string(),
        };
    }
    match r.weight().map(u8::try_from) {
        Some(Ok(weight)) => RoutingPolicy::Weighted { weight },
        // A weight Route 53 allows (up to 255) always fits; anything else is not ours.
        Some(Err(_)) => RoutingPolicy::Unmanaged,
        None if r.set_identifier().is_some() => RoutingPolicy::Unmanaged,
        None => RoutingPolicy::Simple,
    }
}

/// Meridian's location code of a Route 53 geolocation.
pub(super) fn geo_code(g: &r53::types::GeoLocation) -> String {
    match (g.continent_code(), g.country_code(), g.subdivision_code()) {
        (Some(c), _, _) => c.to_string(),
        (None, Some(country), Some(sub)) => format!("{country}-{sub}"),
        (None, Some(country), None) => crate::model::catalog::country_code_of(country),
        _ => "*".to_string(),
    }
}

pub(super) fn record_set(r: &RecordSet) -> Result<r53::types::ResourceRecordSet, ProviderError> {
    let mut b = r53::types::ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(r53::types::RrType::from(r.record_type.as_str()))
        .set_set_identifier(r.set_identifier.clone())
        .set_ttl(r.ttl.map(i64::from))
        .set_health_check_id(r.health_check_id.clone());
    b = match &r.routing {
        RoutingPolicy::Simple => b,
        RoutingPolicy::Latency { region } => {
            b.region(r53::types::ResourceRecordSetRegion::from(region.as_str()))
        }
        RoutingPolicy::Weighted { weight } => b.weight(i64::from(*weight)),
        RoutingPolicy::Failover { role } => {
            b.failover(r53::types::ResourceRecordSetFailover::from(role.as_str()))
        }
        RoutingPolicy::Geolocation { location } => b.geo_location(geo_location(location)),
        RoutingPolicy::Unmanaged => {
            return Err(ProviderError::Invalid(format!(
                "{} {}: Meridian does not write record sets with routing it does not manage",
                r.name, r.record_type
            )))
        }
    };
    for v in &r.values {
        b = b.resource_records(
            r53::types::ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(|e| ProviderError::Invalid(e.to_string()))?,
        );
    }
    if let Some(a) = &r.alias {
        b = b.alias_target(
            r53::types::AliasTarget::builder()
                .dns_name(&a.dns_name)
                .hosted_zone_id(&a.hosted_zone_id)
                .evaluate_target_health(a.evaluate_target_health)
                .build()
                .map_err(|e| ProviderError::Invalid(e.to_string()))?,
        );
    }
    b.build().map_err(|e| ProviderError::Invalid(e.to_string()))
}

/// A Route 53 geolocation from Meridian's location code.
pub(super) fn geo_location(g: &str) -> r53::types::GeoLocation {
    let geo = r53::types::GeoLocation::builder();
    let geo = if g == "*" {
        geo.country_code("*")
    } else if let Some(country) = g.strip_prefix("country:") {
        geo.country_code(country)
    } else if crate::model::catalog::CONTINENTS.contains(&g) {
        geo.continent_code(g)
    } else if let Some((country, sub)) = g.split_once('-') {
        geo.country_code(country).subdivision_code(sub)
    } else {
        geo.country_code(g)
    };
    geo.build()
}

/// One ECR replication rule; a destination `registry/region` is another account's.
pub(super) fn ecr_rule(
    rule: &ReplicationRule,
    registry: &str,
) -> Result<ecr::types::ReplicationRule, ProviderError> {
    let invalid = |e: ecr::error::BuildError| ProviderError::Invalid(e.to_string());
    let mut b = ecr::types::ReplicationRule::builder();
    for d in &rule.destinations {
        let (reg_id, d) = d.split_once('/').unwrap_or((registry, d.as_str()));
        b = b.destinations(
            ecr::types::ReplicationDestination::builder()
                .region(d)
                .registry_id(reg_id)
                .build()
                .map_err(invalid)?,
        );
    }
    for f in &rule.filters {
        b = b.repository_filters(
            ecr::types::RepositoryFilter::builder()
                .filter(f)
                .filter_type(ecr::types::RepositoryFilterType::PrefixMatch)
                .build()
                .map_err(invalid)?,
        );
    }
    b.build().map_err(invalid)
}

/// A number the API takes as i32; out of range is an error, never a substitute.
pub(super) fn to_i32(what: &str, v: u32) -> Result<i32, ProviderError> {
    i32::try_from(v).map_err(|_| ProviderError::Invalid(format!("{what} {v} is out of range")))
}

pub(super) fn to_i64(what: &str, v: u64) -> Result<i64, ProviderError> {
    i64::try_from(v).map_err(|_| ProviderError::Invalid(format!("{what} {v} is out of range")))
}

pub(super) fn convert_check(
    c: &r53::types::HealthCheckConfig,
) -> Option<crate::graph::HealthCheckSpec> {
    let kind = crate::model::HealthCheckType::parse(c.r#type().as_str())?;
    let mut regions: Vec<String> = c.regions().iter().map(|r| r.as_str().to_string()).collect();
    regions.sort();
    Some(crate::graph::HealthCheckSpec {
        kind,
        fqdn: c.fully_qualified_domain_name().map(trim_dot),
        ip_address: c.ip_address().map(String::from),
        port: c
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .or(kind.default_port())
            .unwrap_or(0),
        resource_path: c.resource_path().map(String::from),
        // Route 53 always returns both; when a server omits one, its documented default
        // (RequestInterval 30, FailureThreshold 3) is what the check runs with.
        request_interval: c
            .request_interval()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(ROUTE53_DEFAULT_INTERVAL),
        failure_threshold: c
            .failure_threshold()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(ROUTE53_DEFAULT_THRESHOLD),
        regions,
        search_string: c.search_string().map(String::from),
    })
}

pub(super) fn check_config(
    h: &crate::graph::HealthCheckSpec,
) -> Result<r53::types::HealthCheckConfig, ProviderError> {
    let mut b = r53::types::HealthCheckConfig::builder()
        .r#type(r53::types::HealthCheckType::from(h.kind.as_str()))
        .port(i32::from(h.port))
        .request_interval(to_i32("RequestInterval", h.request_interval)?)
        .failure_threshold(to_i32("FailureThreshold", h.failure_threshold)?)
        .set_fully_qualified_domain_name(h.fqdn.clone())
        .set_ip_address(h.ip_address.clone())
        .set_resource_path(h.resource_path.clone())
        .set_search_string(h.search_string.clone());
    if h.kind.is_https() {
        b = b.enable_sni(true);
    }
    for r in &h.regions {
        b = b.regions(r53::types::HealthCheckRegion::from(r.as_str()));
    }
    b.build().map_err(|e| ProviderError::Invalid(e.to_string()))
}
