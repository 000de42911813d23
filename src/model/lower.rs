//! Semantic checks and lowering: decoded [`Block`]s -> the typed [`Topology`].
//!
//! Every rule that needs more than one value at a time lives here: routing-policy rules,
//! region names, endpoints, data placement, registries, and the warnings for what AWS allows
//! but users regret. It builds as much of the model as is valid, so one run reports all
//! problems; callers must not use the model when the diagnostics hold errors.

use super::catalog::{self, CLOUDFRONT_ZONE_ID};
use super::decode::Block;
pub use super::names::{is_plain_label, MAX_LABEL};
use super::names::{plain_label, region_name};
use super::*;
use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
use crate::model::set_identifier;
use std::collections::BTreeMap;

/// ECR's limit on replication rules per registry (one per `registry` block).
pub const MAX_REPLICATION_RULES: usize = 10;
/// ECR's limit on repository filters per rule.
pub const MAX_REPOSITORY_FILTERS: usize = 100;
/// TTL above which a health-checked record fails over slowly.
pub const HIGH_TTL: u32 = 120;
/// Route 53's limit on a record's set identifier.
pub const MAX_SET_IDENTIFIER: usize = 128;

pub fn lower(root: &Block, diags: &mut Diagnostics) -> Topology {
    let mut t = Topology {
        name: topology_name(root, diags),
        objectives: root.block("objectives").map(|o| Objectives {
            rto: o.dur("rto"),
            rpo: o.dur("rpo"),
            rto_case: match o.str("rto_case") {
                Some("dark") => RtoCase::Dark,
                _ => RtoCase::Fast,
            },
            rpo_case: match o.str("rpo_case") {
                Some("worst") => RpoCase::Worst,
                Some("typical") => RpoCase::Typical,
                _ => RpoCase::Bound,
            },
            monthly_cost: o.num("monthly_cost"),
            loc: Some(o.header.clone()),
        }),
        ..Topology::default()
    };
    if let Some(p) = root.block("prices") {
        t.prices = p
            .fields
            .keys()
            .filter_map(|k| p.num(k).map(|v| (k.to_string(), v)))
            .collect();
    }
    t.zones = zones(root, diags);
    t.tag_health_checks = root.bool("tag_health_checks").unwrap_or(false);
    if root.str("health_check_scope") == Some("endpoint") {
        t.health_check_scope = super::CheckScope::Endpoint;
    }
    t.provider = provider(root, diags);
    t.backend = root.block("backend").and_then(|b| backend(b, diags));
    t.services = services(root, diags);
    registries(root.blocks("registry"), &mut t, diags);
    t.dependencies = super::dependency::dependencies(root, diags);
    super::dependency::depends_on(root, diags);
    t.lint = super::dependency::lint_levels(root, diags);
    // Only on an otherwise valid file: a broken one has more to say than "it is empty".
    if root.blocks("service").is_empty()
        && root.blocks("registry").is_empty()
        && !diags.has_errors()
    {
        diags.push(
            Diagnostic::warning(
                Code::EmptyTopology,
                root.header.clone(),
                "the topology declares no service and no registry",
            )
            .label("nothing declared")
            .help("add a `service` or `registry` block; `check` fails on an empty topology (nothing to promise), and applying one after services were applied would delete them"),
        );
    }
    t
}

/// The topology's `name`, when it is short and plain enough for ownership markers.
fn topology_name(root: &Block, diags: &mut Diagnostics) -> Option<String> {
    root.str("name").and_then(|n| {
        let ok = (1..=40).contains(&n.len())
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            diags.push(
                Diagnostic::error(Code::TopologyName, root.value_loc("name"), format!("topology name \"{n}\" is not usable"))
                    .label("1-40 letters, digits, - or _")
                    .help("the name is written into ownership markers in the cloud; keep it short and plain"),
            );
        }
        ok.then(|| n.to_string())
    })
}

/// The `zones` list: lower-cased, trailing dot removed, repeats dropped; malformed names
/// are reported.
fn zones(root: &Block, diags: &mut Diagnostics) -> Vec<String> {
    let mut zones: Vec<String> = Vec::new();
    for (z, at) in root.list("zones").unwrap_or(&[]) {
        let name = z.strip_suffix('.').unwrap_or(z).to_ascii_lowercase();
        if name.is_empty() || name.split('.').any(str::is_empty) {
            diags.push(
                Diagnostic::error(
                    Code::DnsName,
                    at.clone(),
                    format!("\"{z}\" is not a zone name"),
                )
                .label("not a DNS name"),
            );
        } else if !zones.contains(&name) {
            zones.push(name);
        }
    }
    zones
}

/// The last `provider "aws"` block; other providers and unknown regions are reported.
fn provider(root: &Block, diags: &mut Diagnostics) -> Option<AwsProviderConfig> {
    let mut provider = None;
    for p in root.blocks("provider") {
        if p.label() != "aws" {
            diags.push(
                Diagnostic::error(Code::Provider, p.label_loc(), format!("unknown provider \"{}\"", p.label()))
                    .label("not a provider")
                    .help("the only provider is \"aws\"; without one, Meridian uses its local state store"),
            );
            continue;
        }
        if let Some(r) = p.str("region") {
            if let Err(d) = region_name(r, p.value_loc("region"), "region") {
                diags.push(*d);
            }
        }
        provider = Some(AwsProviderConfig {
            region: p.str("region").map(String::from),
            profile: p.str("profile").map(String::from),
            endpoint_url: p.str("endpoint_url").map(String::from),
            creations_per_day: p
                .int("health_check_creations_per_day")
                .and_then(|n| u32::try_from(n).ok()),
        });
    }
    provider
}

/// The `backend` block, when its kind is known and has what it needs.
fn backend(b: &Block, diags: &mut Diagnostics) -> Option<BackendConfig> {
    let own = |name: &str| b.str(name).map(String::from);
    let (needs, refuses): (&[&str], &[&str]) = match b.label() {
        "local" => (&[], &["bucket", "key", "region", "profile", "endpoint_url"]),
        "s3" => (&["bucket", "key"], &["path"]),
        other => {
            diags.push(
                Diagnostic::error(Code::Backend, b.label_loc(), format!("unknown backend \"{other}\""))
                    .label("not a backend")
                    .help("use backend \"local\" { path = \".meridian\" } or backend \"s3\" { bucket = \"...\", key = \"...\" }"),
            );
            return None;
        }
    };
    let mut ok = true;
    for name in needs.iter().filter(|n| b.str(n).is_none()) {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::Backend,
                b.label_loc(),
                format!("backend \"{}\" needs `{name}`", b.label()),
            )
            .label("incomplete backend")
            .help("an S3 backend names its bucket and the key of the manifest object"),
        );
    }
    for name in refuses.iter().filter(|n| b.str(n).is_some()) {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::Backend,
                b.value_loc(name),
                format!("`{name}` has no meaning in backend \"{}\"", b.label()),
            )
            .label("not used by this backend"),
        );
    }
    if !ok {
        return None;
    }
    Some(match b.label() {
        "local" => BackendConfig::Local { path: own("path") },
        _ => BackendConfig::S3 {
            bucket: own("bucket").unwrap_or_default(),
            key: own("key").unwrap_or_default(),
            region: own("region"),
            profile: own("profile"),
            endpoint_url: own("endpoint_url"),
        },
    })
}

/// The valid services by name; a domain declared by two services is reported.
fn services(root: &Block, diags: &mut Diagnostics) -> BTreeMap<String, Service> {
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
fn dns_name(b: &Block, attr: &str, diags: &mut Diagnostics) -> Option<String> {
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

fn service(b: &Block, registries: &[&str], diags: &mut Diagnostics) -> Option<Service> {
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
    ttl_warnings(b, &name, ttl, &regions, diags);
    if b.block("health_check").is_none() && anycast.is_none() {
        unchecked_regions(&regions, diags);
    }
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
        cost,
        loc: b.header.clone(),
    })
}

/// Where each child block of a service is written.
fn block_locs(b: &Block) -> BTreeMap<&'static str, Loc> {
    ["health_check", "anycast", "data", "cost"]
        .into_iter()
        .filter_map(|n| b.block(n).map(|c| (n, c.header.clone())))
        .collect()
}

/// Two regions with the same failover role: the second is reported, with the first beside it.
fn failover_role_repeated(blocks: &[Block], primaries: bool, diags: &mut Diagnostics) {
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
fn domain_in_zone(b: &Block, z: &str, d: &str, diags: &mut Diagnostics) {
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
fn service_regions<'b>(
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

/// Warns about a `ttl` that alias records ignore, or that slows a health-checked failover.
fn ttl_warnings(
    b: &Block,
    name: &str,
    ttl: u32,
    regions: &BTreeMap<String, (Region, &Block)>,
    diags: &mut Diagnostics,
) {
    let all_alias = !regions.is_empty()
        && regions
            .values()
            .all(|(r, _)| matches!(r.endpoint, Endpoint::Alias(_)));
    if b.is_written("ttl") && all_alias {
        diags.push(
            Diagnostic::warning(
                Code::TtlOnAlias,
                b.loc_of("ttl"),
                format!(
                    "`ttl` has no effect: every region of service \"{name}\" is an alias record"
                ),
            )
            .label("ignored")
            .help("alias records to a load balancer use a fixed 60 s TTL; remove `ttl`"),
        );
    }
    let checked = b.block("health_check").is_some()
        || regions
            .values()
            .any(|(r, _)| matches!(&r.endpoint, Endpoint::Alias(a) if a.evaluate_target_health));
    if ttl > HIGH_TTL && checked && !all_alias {
        diags.push(
            Diagnostic::warning(
                Code::TtlHigh,
                b.value_loc("ttl"),
                format!(
                    "a TTL of {ttl} s on a health-checked record delays failover by up to {ttl} s"
                ),
            )
            .label("slow failover")
            .help("AWS recommends 60 s or less with health checks; 60-120 s is the common range"),
        );
    }
}

/// Warns about each region that is not an alias evaluating target health: in a service
/// without a health check or anycast, nothing marks it unhealthy.
fn unchecked_regions(regions: &BTreeMap<String, (Region, &Block)>, diags: &mut Diagnostics) {
    for (r, rb) in regions.values() {
        let eth = matches!(&r.endpoint, Endpoint::Alias(a) if a.evaluate_target_health);
        if !eth {
            diags.push(
                Diagnostic::warning(
                    Code::Unchecked,
                    rb.label_loc(),
                    format!("region \"{}\" has no health check: Route 53 will keep sending it traffic when it fails", r.name),
                )
                .label("never marked unhealthy")
                .help("add a `health_check` block to the service, or an alias with evaluate_target_health = true"),
            );
        }
    }
}

/// Reports a `data` block in a service declared stateless.
fn stateless_without_data(b: &Block, name: &str, diags: &mut Diagnostics) {
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
fn set_identifiers(service: &str, routing: Option<Routing>, b: &Block, diags: &mut Diagnostics) {
    let mut seen: BTreeMap<String, Loc> = BTreeMap::new();
    for r in b.blocks("region") {
        let locations: Vec<Option<&str>> = match (routing, r.list("locations")) {
            (Some(Routing::Geolocation), Some(l)) => {
                l.iter().map(|(s, _)| Some(s.as_str())).collect()
            }
            _ => vec![None],
        };
        for location in locations {
            let id = set_identifier(service, r.label(), location);
            if id.len() > MAX_SET_IDENTIFIER {
                diags.push(
                    Diagnostic::error(
                        Code::SetIdentifier,
                        r.label_loc(),
                        format!("set identifier \"{id}\" is {} characters; Route 53 accepts at most {MAX_SET_IDENTIFIER}", id.len()),
                    )
                    .label("label too long")
                    .help("Meridian names records <service>-<region>[-<location>]; shorten the service or region label"),
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

fn health_check(h: &Block, diags: &mut Diagnostics) -> Option<HealthCheck> {
    let kind = h.str("type").and_then(HealthCheckType::parse);
    // The path's form does not depend on the type: checked even when the type is broken.
    let mut ok = kind.is_some() & path_form(h, diags);
    if let Some(kind) = kind {
        ok &= health_check_fields(h, kind, diags);
    }
    let (regions, regions_ok) = match h.list("regions") {
        Some(list) => checker_regions(h, list, diags),
        None => (Vec::new(), true),
    };
    ok &= regions_ok;
    let kind = kind?;
    let port = h.int("port").map(|p| p as u16).or(kind.default_port());
    if !ok || (h.is_written("port") && h.int("port").is_none()) {
        return None;
    }
    Some(HealthCheck {
        kind,
        port: port?,
        path: h.str("path").map(str::to_string),
        interval: h.int("interval").unwrap_or(30) as u32,
        failure_threshold: h.int("failure_threshold").unwrap_or(3) as u32,
        regions,
        search_string: h.str("search_string").map(str::to_string),
    })
}

/// A health-check path starts with `/`; false when it does not.
fn path_form(h: &Block, diags: &mut Diagnostics) -> bool {
    let Some(path) = h.str("path").filter(|p| !p.starts_with('/')) else {
        return true;
    };
    diags.push(
        Diagnostic::error(
            Code::HealthCheckPath,
            h.value_loc("path"),
            format!("health-check path \"{path}\" must start with /"),
        )
        .label("missing leading /")
        .help(format!("write \"/{path}\"")),
    );
    false
}

/// Checks `port` and `search_string` against the check type; false on any error.
fn health_check_fields(h: &Block, kind: HealthCheckType, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    if kind == HealthCheckType::Tcp {
        ok &= tcp_health_check_fields(h, diags);
    }
    match (kind.is_string_match(), h.is_written("search_string")) {
        (true, false) => {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::SearchString,
                    h.value_loc("type"),
                    format!("a {} check needs a `search_string`", kind.as_str()),
                )
                .label("string-match check")
                .help("add `search_string = \"...\"`: the text the response body must contain"),
            );
        }
        (false, true) => {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::SearchString,
                    h.loc_of("search_string"),
                    format!(
                        "`search_string` needs a *_STR_MATCH check type, not {}",
                        kind.as_str()
                    ),
                )
                .label("ignored by this type")
                .help(format!(
                    "use type = \"{}_STR_MATCH\", or remove `search_string`",
                    if kind.is_https() { "HTTPS" } else { "HTTP" }
                )),
            );
        }
        _ => {}
    }
    ok
}

/// A TCP check takes no `path` and needs a `port`; false when either rule is broken.
fn tcp_health_check_fields(h: &Block, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    if h.is_written("path") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::HealthCheckPath,
                h.loc_of("path"),
                "a TCP health check has no path",
            )
            .label("not used by TCP checks")
            .help("remove `path`, or use an HTTP or HTTPS check"),
        );
    }
    if !h.is_written("port") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::MissingAttribute,
                h.header.clone(),
                "a TCP health check needs a `port`",
            )
            .label("`port` required here"),
        );
    }
    ok
}

/// The health check's `regions`, sorted, without unknown or repeated ones; the flag is false
/// when any problem was reported.
fn checker_regions(
    h: &Block,
    list: &[(String, Loc)],
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut regions = Vec::new();
    let mut seen: BTreeMap<&str, &Loc> = BTreeMap::new();
    for (r, at) in list {
        if !catalog::is_checker_region(r) {
            ok = false;
            let mut d = Diagnostic::error(
                Code::CheckerRegions,
                at.clone(),
                format!("\"{r}\" is not a Route 53 health-checker region"),
            )
            .label("not a checker region");
            d = match suggest(r, catalog::CHECKER_REGIONS.iter().copied()) {
                Some(s) => d.help(format!("did you mean \"{s}\"?")),
                None => d.help(format!(
                    "checker regions: {}",
                    catalog::CHECKER_REGIONS.join(", ")
                )),
            };
            diags.push(d);
        } else if let Some(first) = seen.get(r.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::CheckerRegions,
                    at.clone(),
                    format!("checker region \"{r}\" is listed twice"),
                )
                .label("repeated")
                .with_secondary((*first).clone(), "first listed here"),
            );
        } else {
            seen.insert(r, at);
            regions.push(r.clone());
        }
    }
    if list.len() < 3 {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::CheckerRegions,
                h.value_loc("regions"),
                format!(
                    "health checks need at least 3 checker regions, found {}",
                    list.len()
                ),
            )
            .label("fewer than 3")
            .help("list 3 or more of Route 53's 8 checker regions, or remove `regions` to use all"),
        );
    }
    regions.sort();
    (regions, ok)
}

fn routing_field(
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

fn region(r: &Block, routing: Option<Routing>, diags: &mut Diagnostics) -> Option<Region> {
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
    capacity_rules(r, &name, capacity, diags);
    let endpoint = endpoint(r, &name, diags)?;

    Some(Region {
        name,
        aws_region: aws_region?,
        endpoint,
        capacity,
        scale_up,
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
        loc: r.header.clone(),
    })
}

/// The AWS region a region block runs in: its `aws_region`, or else its label.
fn aws_region(r: &Block, name: &str, diags: &mut Diagnostics) -> Option<String> {
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
fn geo_locations(r: &Block, routing: Option<Routing>, diags: &mut Diagnostics) -> Vec<String> {
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

/// Reports a warm standby without `scale_up`, and warns about `scale_up` at full capacity.
/// `scale_up` on a region at full capacity never runs. (A region below full capacity without
/// `scale_up` is valid: N+1 sizing may never need it; the analysis says when a loss does.)
fn capacity_rules(r: &Block, name: &str, capacity: f64, diags: &mut Diagnostics) {
    let capacity_valid = !r.is_written("capacity") || r.num("capacity").is_some();
    if capacity >= 1.0 && capacity_valid && r.is_written("scale_up") {
        diags.push(
            Diagnostic::warning(
                Code::ScaleUpUnused,
                r.loc_of("scale_up"),
                format!(
                    "region \"{name}\" already runs at full capacity: `scale_up` has no effect"
                ),
            )
            .label("unused")
            .help("set `capacity` below 1 for a warm standby, or remove `scale_up`"),
        );
    }
}

/// The region's one endpoint (`target`, `ips` or `alias`); none or several are reported.
fn endpoint(r: &Block, name: &str, diags: &mut Diagnostics) -> Option<Endpoint> {
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

fn ips(r: &Block, diags: &mut Diagnostics) -> Option<Vec<std::net::IpAddr>> {
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

fn alias(a: &Block, diags: &mut Diagnostics) -> Option<Alias> {
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

/// Geolocation: each location in one region; a `*` default (a warning without one).
fn geolocation_rules(
    b: &Block,
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
    // From the blocks as written: a region dropped for another error may hold the "*".
    let blocks = b.blocks("region");
    let has_default = blocks.iter().any(|rb| {
        rb.list("locations")
            .is_some_and(|l| l.iter().any(|(x, _)| x == "*"))
    });
    let unreadable = blocks
        .iter()
        .any(|rb| rb.is_written("locations") && rb.list("locations").is_none());
    if !has_default && !unreadable && !regions.is_empty() {
        diags.push(
            Diagnostic::warning(
                Code::GeoDefault,
                b.value_loc("routing"),
                "geolocation routing without a \"*\" default: resolvers outside every listed location get no answer",
            )
            .label("no default location")
            .help("add \"*\" to the locations of one region"),
        );
    }
}

fn routing_rules(
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
        Routing::Geolocation => geolocation_rules(b, regions, diags),
        Routing::Weighted => {}
    }
}

fn record_types(
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

/// `primary`: required by primary-replica data, among the service's regions; not allowed
/// otherwise. False when it is wrong.
fn data_primary(
    d: &Block,
    pattern: DataPattern,
    regions: &[&str],
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    if pattern == DataPattern::PrimaryReplica {
        match d.str("primary") {
            None if !d.is_written("primary") => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::DataPrimary,
                        d.value_loc("pattern"),
                        "primary-replica data needs a `primary` region",
                    )
                    .label("which region takes writes?")
                    .help("add `primary = \"<region label>\"`"),
                );
            }
            Some(p) if !regions.contains(&p) && !regions.is_empty() => {
                ok = false;
                let mut names = regions.to_vec();
                names.sort();
                let mut diag = Diagnostic::error(
                    Code::DataPrimary,
                    d.value_loc("primary"),
                    format!("data.primary \"{p}\" is not one of the service's regions"),
                )
                .label("not a region of this service");
                diag = match suggest(p, names.iter().copied()) {
                    Some(s) => diag.help(format!("did you mean \"{s}\"?")),
                    None => diag.help(format!("regions: {}", names.join(", "))),
                };
                diags.push(diag);
            }
            _ => {}
        }
    } else if d.is_written("primary") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::DataPrimary,
                d.loc_of("primary"),
                format!(
                    "`primary` applies only to primary-replica data; this pattern is {}",
                    d.str("pattern").unwrap_or_default()
                ),
            )
            .label("not used by this pattern"),
        );
    }
    ok
}

fn data(d: &Block, regions: &[&str], diags: &mut Diagnostics) -> Option<Data> {
    let pattern = match d.str("pattern")? {
        "primary-replica" => DataPattern::PrimaryReplica,
        "partitioned" => DataPattern::Partitioned,
        _ => DataPattern::MultiMaster,
    };
    let mut ok = data_primary(d, pattern, regions, diags);
    if pattern != DataPattern::MultiMaster && d.is_written("consistency") {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::DataField,
                d.loc_of("consistency"),
                "`consistency` applies only to multi-master data",
            )
            .label("not used by this pattern")
            .help("remove it: primary-replica and partitioned data replicate asynchronously"),
        );
    }
    let consistency = match d.str("consistency") {
        Some("strong") => Consistency::Strong,
        _ => Consistency::Eventual,
    };
    ok &= recovery_fields(d, pattern, consistency, diags);
    ok &= shards(d, pattern, regions, diags);
    if !ok {
        return None;
    }
    Some(Data {
        pattern,
        primary: d.str("primary").map(str::to_string),
        replication_lag: d.dur("replication_lag"),
        replication_lag_max: d.dur("replication_lag_max"),
        promotion: d.dur("promotion"),
        promotion_mode: match d.str("promotion_mode") {
            Some("manual") => PromotionMode::Manual,
            _ => PromotionMode::Automatic,
        },
        decision_time: d.dur("decision_time"),
        promoted_by: d.str("promoted_by").map(str::to_string),
        consistency,
        witness: d.str("witness").map(str::to_string),
        user_scoped: d.bool("user_scoped").unwrap_or(false),
        engine: d.str("engine").map(|e| match e {
            "aurora" => super::Engine::Aurora,
            "dynamodb" => super::Engine::Dynamodb,
            "elasticache" => super::Engine::Elasticache,
            _ => super::Engine::Other,
        }),
        shards: d
            .map("shards")
            .unwrap_or_default()
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// A witness votes without serving, so it is not one of the service's regions.
fn witness_rules(
    db: &Block,
    d: &Data,
    regions: &BTreeMap<String, Region>,
    diags: &mut Diagnostics,
) {
    if let Some(w) = &d.witness {
        if regions.values().any(|r| &r.aws_region == w) {
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    db.value_loc("witness"),
                    format!("witness {w} already votes: the service serves from it"),
                )
                .label("not a separate voter")
                .help("a witness is an AWS region that votes without serving; name one the service does not run in"),
            );
        }
    }
    engine_rules(db, d, regions, diags);
}

/// What the declared engine allows: Aurora global databases and ElastiCache global datastores
/// have one writer region (no multi-master); DynamoDB's multi-Region strong consistency takes
/// exactly three voting AWS regions (three replicas, or two and a witness) of one Region set
/// (aws-facts.md, 2026-12-07).
fn engine_rules(db: &Block, d: &Data, regions: &BTreeMap<String, Region>, diags: &mut Diagnostics) {
    let refuse = |at: Loc, message: String, help: String, diags: &mut Diagnostics| {
        diags.push(
            Diagnostic::error(Code::DataField, at, message)
                .label("not what this engine does")
                .help(help),
        );
    };
    match d.engine {
        Some(e @ (super::Engine::Aurora | super::Engine::Elasticache))
            if d.pattern == DataPattern::MultiMaster =>
        {
            let what = if e == super::Engine::Aurora {
                "an Aurora global database"
            } else {
                "an ElastiCache global datastore"
            };
            refuse(
                db.value_loc("pattern"),
                format!("{what} has one writer region: it is not multi-master"),
                "use pattern = \"primary-replica\" with its primary, or the engine that is multi-master".into(),
                diags,
            );
        }
        Some(super::Engine::Dynamodb) if d.consistency == Consistency::Strong => {
            let mut voters: Vec<&str> = regions.values().map(|r| r.aws_region.as_str()).collect();
            voters.extend(d.witness.as_deref());
            voters.sort_unstable();
            voters.dedup();
            if let Some((message, help)) = dynamodb_quorum(&voters, d.witness.as_deref()) {
                let at = if d.witness.is_some() {
                    db.value_loc("witness")
                } else {
                    db.value_loc("consistency")
                };
                refuse(at, message, help, diags);
            }
        }
        _ => {}
    }
}

/// Why DynamoDB would refuse these voting regions for a strongly consistent global table.
fn dynamodb_quorum(voters: &[&str], witness: Option<&str>) -> Option<(String, String)> {
    let sets: Vec<String> = catalog::DYNAMODB_REGION_SETS
        .iter()
        .map(|(n, rs)| format!("{n}: {}", rs.join(", ")))
        .collect();
    let help = format!(
        "multi-Region strong consistency takes three AWS regions of one Region set: three replicas, or two and a witness ({})",
        sets.join("; ")
    );
    if voters.len() != 3 {
        return Some((
            format!(
                "DynamoDB's strong consistency takes exactly three voting AWS regions; this data has {} ({})",
                voters.len(),
                voters.join(", ")
            ),
            help,
        ));
    }
    let set = catalog::dynamodb_region_set(voters[0]);
    let outside: Vec<&str> = voters
        .iter()
        .copied()
        .filter(|v| set.is_none() || catalog::dynamodb_region_set(v) != set)
        .collect();
    if set.is_some() && outside.is_empty() {
        return None;
    }
    let message = match (witness, set) {
        (Some(w), _) if catalog::dynamodb_region_set(w).is_none() => format!("DynamoDB cannot place a witness in {w}: it is in no Region set of multi-Region strong consistency"),
        (Some(w), _) => {
            let ws = catalog::dynamodb_region_set(w).unwrap_or_default();
            let apart: Vec<&str> = voters.iter().copied().filter(|v| catalog::dynamodb_region_set(v) != Some(ws)).collect();
            format!("the witness {w} is in DynamoDB's {ws} Region set, but the replicas in {} are not", apart.join(", "))
        }
        (None, _) => format!("the replicas in {} are not all in one of DynamoDB's Region sets", voters.join(", ")),
    };
    Some((message, help))
}

/// `shards`: partitioned data only, each home a region label of the service, each shard once.
fn shards(d: &Block, pattern: DataPattern, regions: &[&str], diags: &mut Diagnostics) -> bool {
    let Some(map) = d.map("shards") else {
        return true;
    };
    if map.is_empty() {
        diags.push(
            Diagnostic::error(Code::DataField, d.value_loc("shards"), "`shards` is empty")
                .label("no shard")
                .help("name each shard's home region, or remove `shards` for the default (every region serving users homes a shard)"),
        );
        return false;
    }
    if pattern != DataPattern::Partitioned {
        diags.push(
            Diagnostic::error(
                Code::DataField,
                d.loc_of("shards"),
                "`shards` applies only to partitioned data",
            )
            .label("not used by this pattern")
            .help("a primary-replica or multi-master design has no shard homes"),
        );
        return false;
    }
    let mut ok = true;
    let mut seen = std::collections::BTreeSet::new();
    for (name, home, at) in map {
        if !seen.insert(name.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    at.clone(),
                    format!("shard \"{name}\" is named twice"),
                )
                .label("repeated shard"),
            );
        }
        if !regions.contains(&home.as_str()) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DataField,
                    at.clone(),
                    format!("shard \"{name}\" is homed in \"{home}\", which is no region of the service"),
                )
                .label("unknown region")
                .help(format!("name a region label of the service: {}", regions.join(", "))),
            );
        }
    }
    ok
}

/// The data attributes of the recovery model: `decision_time` goes with manual promotion,
/// `witness` with strong multi-master (and is an AWS region), the worst-case lag is not below
/// the typical one. False when one is wrong.
fn recovery_fields(
    d: &Block,
    pattern: DataPattern,
    consistency: Consistency,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    let mut misplaced = |attr: &str, why: &str| {
        ok = false;
        diags.push(
            Diagnostic::error(Code::DataField, d.loc_of(attr), format!("`{attr}` {why}"))
                .label("not used here"),
        );
    };
    if d.is_written("decision_time") && d.str("promotion_mode") != Some("manual") {
        misplaced(
            "decision_time",
            "applies only to promotion_mode = \"manual\"",
        );
    }
    let strong = pattern == DataPattern::MultiMaster && consistency == Consistency::Strong;
    if d.is_written("witness") && !strong {
        misplaced(
            "witness",
            "applies only to multi-master data with strong consistency",
        );
    }
    if let (Some(typical), Some(worst)) = (d.dur("replication_lag"), d.dur("replication_lag_max")) {
        if worst < typical {
            misplaced(
                "replication_lag_max",
                "is below replication_lag: the worst case cannot be better than the typical one",
            );
        }
    }
    if let Some(w) = d.str("witness").filter(|_| strong) {
        if let Err(e) = region_name(w, d.value_loc("witness"), "witness") {
            ok = false;
            diags.push(*e);
        }
    }
    ok
}

/// ECR repository names: lower-case path components of letters and digits separated by
/// `.`, `_` or `-`, joined by `/`, 2 to 256 characters.
fn valid_repository(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                })
        })
}

fn registries(blocks: &[Block], t: &mut Topology, diags: &mut Diagnostics) {
    let mut per_source: BTreeMap<String, Vec<&Block>> = BTreeMap::new();
    let mut repos: BTreeMap<(String, String), Loc> = BTreeMap::new();
    for b in blocks {
        if let Some(registry) = registry(b, &mut per_source, &mut repos, diags) {
            t.registries.insert(registry.name.clone(), registry);
        }
    }
}

/// One `registry` block, checked against the blocks before it: the rules already counted for
/// each source region (`per_source`) and the repositories already declared (`repos`).
fn registry<'a>(
    b: &'a Block,
    per_source: &mut BTreeMap<String, Vec<&'a Block>>,
    repos: &mut BTreeMap<(String, String), Loc>,
    diags: &mut Diagnostics,
) -> Option<Registry> {
    let name = plain_label(b, "registry", diags)?;
    let source = b.str("source").and_then(|s| {
        region_name(s, b.value_loc("source"), "source")
            .map_err(|d| diags.push(*d))
            .ok()
    });
    let (mut destinations, destinations_ok) = registry_destinations(b, source.as_ref(), diags);
    let (mut repositories, repositories_ok) =
        registry_repositories(b, source.as_ref(), repos, diags);
    let rules_ok = match &source {
        Some(src) => replication_rule_fits(b, src, per_source, diags),
        None => true,
    };
    let ok = source.is_some() && destinations_ok && repositories_ok && rules_ok;
    if !(ok && b.is_written("destinations") && b.is_written("repositories")) {
        return None;
    }
    destinations.sort();
    repositories.sort();
    Some(Registry {
        name,
        source: source.unwrap_or_default(),
        destinations,
        repositories,
        storage_gb: b.num("storage_gb"),
        loc: b.header.clone(),
    })
}

/// The registry's destination regions; the flag is false when any problem was reported.
fn registry_destinations(
    b: &Block,
    source: Option<&String>,
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut destinations: Vec<String> = Vec::new();
    let Some(list) = b.list("destinations") else {
        return (destinations, ok);
    };
    if list.is_empty() {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RegistryDestination,
                b.value_loc("destinations"),
                "`destinations` is empty",
            )
            .label("needs at least one region"),
        );
    }
    for (d, at) in list {
        match region_name(d, at.clone(), "destination") {
            Err(diag) => {
                ok = false;
                diags.push(*diag);
            }
            Ok(d) if Some(&d) == source => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::RegistryDestination,
                        at.clone(),
                        format!("destination {d} is the source region"),
                    )
                    .label("same as source")
                    .with_secondary(b.value_loc("source"), "source")
                    .help("images already live in the source region; remove it from destinations"),
                );
            }
            Ok(d) if destinations.contains(&d) => {
                ok = false;
                diags.push(
                    Diagnostic::error(
                        Code::RegistryDestination,
                        at.clone(),
                        format!("destination {d} is listed twice"),
                    )
                    .label("repeated"),
                );
            }
            Ok(d) => destinations.push(d),
        }
    }
    (destinations, ok)
}

/// The registry's repositories, each recorded in `repos` under its source region; the flag is
/// false when any problem was reported.
fn registry_repositories(
    b: &Block,
    source: Option<&String>,
    repos: &mut BTreeMap<(String, String), Loc>,
    diags: &mut Diagnostics,
) -> (Vec<String>, bool) {
    let mut ok = true;
    let mut repositories: Vec<String> = Vec::new();
    let Some(list) = b.list("repositories") else {
        return (repositories, ok);
    };
    ok &= repository_count_fits(b, list.len(), diags);
    for (r, at) in list {
        if !valid_repository(r) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::RepositoryName,
                    at.clone(),
                    format!("\"{r}\" is not a valid ECR repository name"),
                )
                .label("invalid name")
                .help("use 2-256 lower-case letters, digits and . _ - /, e.g. \"team/api\""),
            );
            continue;
        }
        let Some(src) = source.cloned() else {
            continue;
        };
        let key = (src, r.clone());
        if let Some(first) = repos.get(&key) {
            ok = false;
            diags.push(
                Diagnostic::error(
                    Code::DuplicateRepository,
                    at.clone(),
                    format!("repository \"{r}\" is declared twice in {}", key.0),
                )
                .label("again")
                .with_secondary(first.clone(), "first declared here"),
            );
        } else {
            repos.insert(key, at.clone());
            repositories.push(r.clone());
        }
    }
    (repositories, ok)
}

/// Reports an empty `repositories` list or one with more filters than an ECR rule takes;
/// false when it did.
fn repository_count_fits(b: &Block, count: usize, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    if count == 0 {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RepositoryName,
                b.value_loc("repositories"),
                "`repositories` is empty",
            )
            .label("needs at least one repository"),
        );
    }
    if count > MAX_REPOSITORY_FILTERS {
        ok = false;
        diags.push(
            Diagnostic::error(
                Code::RepositoryFilters,
                b.value_loc("repositories"),
                format!("{count} repositories in one registry; an ECR replication rule takes at most {MAX_REPOSITORY_FILTERS} filters"),
            )
            .label("too many filters")
            .help("split the repositories over several registry blocks, or share a common prefix"),
        );
    }
    ok
}

/// Counts the block as a replication rule of its source region and reports the first rule
/// over ECR's limit; false for that rule.
fn replication_rule_fits<'a>(
    b: &'a Block,
    src: &str,
    per_source: &mut BTreeMap<String, Vec<&'a Block>>,
    diags: &mut Diagnostics,
) -> bool {
    let rules = per_source.entry(src.to_string()).or_default();
    rules.push(b);
    if rules.len() != MAX_REPLICATION_RULES + 1 {
        return true;
    }
    diags.push(
        Diagnostic::error(
            Code::ReplicationRules,
            b.header.clone(),
            format!("more than {MAX_REPLICATION_RULES} registry blocks replicate from {src}; ECR allows {MAX_REPLICATION_RULES} rules per region"),
        )
        .label("rule 11")
        .with_secondary(rules[0].header.clone(), "first rule for this region")
        .help("merge registries that share destinations"),
    );
    false
}

/// `images`: the label of a registry of the topology.
fn images(b: &Block, registries: &[&str], diags: &mut Diagnostics) -> Option<String> {
    let name = b.str("images")?;
    if registries.contains(&name) {
        return Some(name.to_string());
    }
    let mut d = Diagnostic::error(
        Code::Images,
        b.value_loc("images"),
        format!("`images` names \"{name}\", which is not a registry of this topology"),
    )
    .label("no such registry");
    d = match suggest(name, registries.iter().copied()) {
        Some(s) => d.help(format!("did you mean \"{s}\"?")),
        None if registries.is_empty() => {
            d.help("declare the registry: registry \"NAME\" { source = ..., destinations = [...], repositories = [...] }")
        }
        None => d.help(format!("registries: {}", registries.join(", "))),
    };
    diags.push(d);
    None
}

/// `load_share`: latency and geolocation routing only; every region of the service declares
/// it or none does, and the shares sum to 1.
fn load_shares(b: &Block, routing: Routing, diags: &mut Diagnostics) {
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
fn tree_names_fit(b: &Block, domain: &str, diags: &mut Diagnostics) {
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
fn endpoint_kind(rb: &Block) -> Option<&'static str> {
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

fn failover_targets(b: &Block, routing: Routing, diags: &mut Diagnostics) {
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
