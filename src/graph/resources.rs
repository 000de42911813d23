//! Lowering a topology into the cloud resources it implies.

use crate::dns::{FailoverRole, RecordType, RoutingPolicy};
use crate::model::{CheckScope, Endpoint, HealthCheckType, Role, Routing, Service, Topology};
use crate::source::Loc;
use serde::Serialize;
use std::fmt;

/// Resource types, in the order addresses sort.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    EcrReplication,
    EcrRepository,
    HealthCheck,
    Owner,
    Record,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::EcrReplication => "ecr_replication",
            Kind::EcrRepository => "ecr_repository",
            Kind::HealthCheck => "health_check",
            Kind::Owner => "owner",
            Kind::Record => "record",
        }
    }
}

/// A stable resource address: `record.api["us-east-1"]`, `ecr_replication.images`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: Kind,
    /// The service or registry the resource belongs to.
    pub name: String,
    /// The region (or region/location, or repository) within it.
    pub key: Option<String>,
}

impl Address {
    pub fn new(kind: Kind, name: &str, key: Option<&str>) -> Address {
        Address {
            kind,
            name: name.to_string(),
            key: key.map(str::to_string),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.as_str(), self.name)?;
        if let Some(k) = &self.key {
            write!(f, "[\"{k}\"]")?;
        }
        Ok(())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::EcrReplication,
            Kind::EcrRepository,
            Kind::HealthCheck,
            Kind::Owner,
            Kind::Record,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl std::str::FromStr for Address {
    type Err = String;

    /// Reads `kind.name` or `kind.name["key"]` back.
    fn from_str(s: &str) -> Result<Address, String> {
        let bad = || format!("not a resource address: {s}");
        let (kind, rest) = s.split_once('.').ok_or_else(bad)?;
        let kind = Kind::parse(kind).ok_or_else(bad)?;
        let (name, key) = match rest.split_once("[\"") {
            Some((name, key)) => (
                name,
                Some(key.strip_suffix("\"]").ok_or_else(bad)?.to_string()),
            ),
            None => (rest, None),
        };
        Ok(Address {
            kind,
            name: name.to_string(),
            key,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One resource: its address, the block that declared it, and its desired settings.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    pub loc: Loc,
    pub spec: ResourceSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResourceSpec {
    Owner(OwnerSpec),
    HealthCheck(HealthCheckSpec),
    Record(Box<RecordSpec>),
    EcrRepository(EcrRepositorySpec),
    EcrReplication(EcrReplicationSpec),
}

impl ResourceSpec {
    /// The addresses this resource must exist after.
    pub fn depends_on(&self) -> Vec<Address> {
        match self {
            ResourceSpec::Record(r) => r
                .health_check
                .iter()
                .cloned()
                .chain([r.owner.clone()])
                .chain(r.alias_targets.iter().cloned())
                .collect(),
            ResourceSpec::EcrReplication(r) => r.repositories.clone(),
            ResourceSpec::Owner(_)
            | ResourceSpec::HealthCheck(_)
            | ResourceSpec::EcrRepository(_) => Vec::new(),
        }
    }
}

/// A Route 53 health check probing one region's endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct HealthCheckSpec {
    #[serde(rename = "type")]
    pub kind: HealthCheckType,
    /// Host probed (and sent as the Host header / SNI).
    pub fqdn: Option<String>,
    /// Address probed, for regions declared with `ips`.
    pub ip_address: Option<String>,
    pub port: u16,
    pub resource_path: Option<String>,
    pub request_interval: u32,
    pub failure_threshold: u32,
    pub regions: Vec<String>,
    pub search_string: Option<String>,
}

impl HealthCheckSpec {
    /// Whether a check with these settings probes as `other` does: the same settings, but
    /// for the host name where it does not matter ([`HealthCheckSpec::name_matters`]).
    pub fn probes_as(&self, other: &HealthCheckSpec) -> bool {
        if self.name_matters() {
            return self == other;
        }
        let unnamed = |h: &HealthCheckSpec| HealthCheckSpec {
            fqdn: None,
            ..h.clone()
        };
        unnamed(self) == unnamed(other)
    }

    /// False for a TCP check of an IP address: Route 53 uses the host name only to resolve
    /// the endpoint, or as the Host header and SNI of an HTTP(S) probe.
    pub fn name_matters(&self) -> bool {
        !(self.kind == HealthCheckType::Tcp && self.ip_address.is_some())
    }
}

/// A Route 53 alias target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct AliasTarget {
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub evaluate_target_health: bool,
}

/// A Route 53 record set: one routing-policy member of a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSpec {
    pub zone: String,
    pub name: String,
    #[serde(rename = "type")]
    pub record_type: RecordType,
    /// None for a simple record (the alias to an accelerator).
    pub set_identifier: Option<String>,
    /// None for alias records, which carry no TTL.
    pub ttl: Option<u32>,
    /// Record values (CNAME target or addresses); empty for alias records.
    pub values: Vec<String>,
    pub alias: Option<AliasTarget>,
    #[serde(flatten)]
    pub routing: RoutingPolicy,
    pub health_check: Option<Address>,
    /// The ownership marker of the service; created before, deleted after its records.
    pub owner: Address,
    /// The records at an alias's target name that this topology writes (a tree's pairs): the
    /// alias exists after them, and `--target` takes them along.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alias_targets: Vec<Address>,
}

/// The ownership marker of a service: a TXT record beside its name saying which topology
/// and service own the name, so Meridian never touches records it did not create. Its text
/// carries the topology's id ([`crate::identity::Identity::marker_value`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerSpec {
    pub zone: String,
    /// `_meridian.<domain>`.
    pub name: String,
    pub service: String,
}

/// The name of a service's ownership marker.
pub fn owner_name(domain: &str) -> String {
    crate::dns::marker_name(domain)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcrRepositorySpec {
    pub region: String,
    pub name: String,
}

/// The replication rule of one `registry` block in its source region's configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcrReplicationSpec {
    pub region: String,
    pub destinations: Vec<String>,
    /// Repository prefixes (PREFIX_MATCH filters).
    pub filters: Vec<String>,
    pub repositories: Vec<Address>,
}

/// Every resource of a topology, in address order.
pub fn lower(t: &Topology) -> Vec<Resource> {
    // An owner and a record and a check per region, per service (shared checks, accelerators
    // and registries make it differ a little): reserved, not doubled as it fills.
    let estimate: usize = t.services.values().map(|s| 1 + 2 * s.regions.len()).sum();
    let mut out = Vec::with_capacity(estimate + 16);
    let mut shared = Shared {
        scope: t.health_check_scope,
        made: std::collections::HashSet::new(),
    };
    for s in t.services.values() {
        out.push(Resource {
            address: Address::new(Kind::Owner, &s.name, None),
            loc: s.loc.clone(),
            spec: ResourceSpec::Owner(OwnerSpec {
                zone: s.zone.clone(),
                name: owner_name(&s.domain),
                service: s.name.clone(),
            }),
        });
        service(s, &mut shared, &mut out);
    }
    for r in t.registries.values() {
        let mut repos = Vec::new();
        for name in &r.repositories {
            let address = Address::new(Kind::EcrRepository, &r.name, Some(name));
            repos.push(address.clone());
            out.push(Resource {
                address,
                loc: r.loc.clone(),
                spec: ResourceSpec::EcrRepository(EcrRepositorySpec {
                    region: r.source.clone(),
                    name: name.clone(),
                }),
            });
        }
        out.push(Resource {
            address: Address::new(Kind::EcrReplication, &r.name, None),
            loc: r.loc.clone(),
            spec: ResourceSpec::EcrReplication(EcrReplicationSpec {
                region: r.source.clone(),
                destinations: r.destinations.clone(),
                filters: r.repositories.clone(),
                repositories: repos,
            }),
        });
    }
    crate::order::sort_by_swaps(&mut out, |r| &r.address);
    // Shared checks leave the estimate high; a copy to give back a little is not worth it.
    if out.capacity() > out.len() + out.len() / 4 {
        out.shrink_to_fit();
    }
    out
}

/// The address key of the one record of a service behind an accelerator.
pub const ACCELERATOR_KEY: &str = "accelerator";

/// The one alias record of a service behind an accelerator; the accelerator checks and picks
/// the regions.
fn accelerator_record(s: &Service, accelerator: &str) -> Resource {
    Resource {
        address: Address::new(Kind::Record, &s.name, Some(ACCELERATOR_KEY)),
        loc: s.loc.clone(),
        spec: ResourceSpec::Record(Box::new(RecordSpec {
            zone: s.zone.clone(),
            name: s.domain.clone(),
            record_type: RecordType::A,
            set_identifier: None,
            ttl: None,
            values: Vec::new(),
            alias: Some(AliasTarget {
                dns_name: accelerator.to_string(),
                hosted_zone_id: crate::model::GLOBAL_ACCELERATOR_ZONE_ID.to_string(),
                evaluate_target_health: false,
            }),
            routing: RoutingPolicy::Simple,
            health_check: None,
            owner: Address::new(Kind::Owner, &s.name, None),
            alias_targets: Vec::new(),
        })),
    }
}

/// The health checks made so far, by address: a shared check is made once.
struct Shared {
    scope: CheckScope,
    made: std::collections::HashSet<Address>,
}

/// What the health check of one region of a service probes. With `health_check_scope =
/// "endpoint"`, a check of an `ips` region probes the address with no host name, so services
/// behind one address can share it.
pub fn region_check(
    s: &Service,
    r: &crate::model::Region,
    h: &crate::model::HealthCheck,
    scope: CheckScope,
) -> HealthCheckSpec {
    let (fqdn, ip) = match &r.endpoint {
        Endpoint::Target(t) => (Some(t.clone()), None),
        Endpoint::Ips(ips) => (
            (scope == CheckScope::Service).then(|| s.domain.clone()),
            ips.first().map(|i| i.to_string()),
        ),
        Endpoint::Alias(a) => (Some(a.name.clone()), None),
    };
    HealthCheckSpec {
        kind: h.kind,
        fqdn,
        ip_address: ip,
        port: h.port,
        resource_path: h.path.clone(),
        request_interval: h.interval,
        failure_threshold: h.failure_threshold,
        regions: h.regions.clone(),
        search_string: h.search_string.clone(),
    }
}

/// The address of the check of region `label` of `s`: `health_check.<service>["<label>"]`,
/// or with `health_check_scope = "endpoint"` one named by its zone and everything it probes,
/// which two regions share exactly when their checks are the same:
/// `health_check.endpoint["<zone>/<type> <target>:<port><path> every <n>s x<n>"]` (and
/// ` match #<hash of the search string>`, ` from <regions>` when set).
pub fn check_address(
    s: &Service,
    label: &str,
    spec: &HealthCheckSpec,
    scope: CheckScope,
) -> Address {
    if scope == CheckScope::Service {
        return Address::new(Kind::HealthCheck, &s.name, Some(label));
    }
    endpoint_address(&s.zone, spec)
}

/// The address of a shared (`health_check_scope = "endpoint"`) check of `zone` probing as
/// `spec` does: derived from what the check is, so a live check's address can be known again.
pub fn endpoint_address(zone: &str, spec: &HealthCheckSpec) -> Address {
    let target = spec
        .ip_address
        .as_deref()
        .or(spec.fqdn.as_deref())
        .unwrap_or_default();
    let mut key = format!(
        "{}/{} {target}:{}{} every {}s x{}",
        zone,
        spec.kind.as_str(),
        spec.port,
        spec.resource_path.as_deref().unwrap_or_default(),
        spec.request_interval,
        spec.failure_threshold
    );
    if let Some(m) = &spec.search_string {
        // By its hash: a search string may hold quotes and run to 255 characters.
        key.push_str(&format!(" match #{}", crate::hash::hex(m, 8)));
    }
    if !spec.regions.is_empty() {
        key.push_str(&format!(" from {}", spec.regions.join(",")));
    }
    // The address is the check's Name tag (`tag_health_checks`), at most 256 characters: a
    // long key keeps its start and ends in a hash of the whole.
    if key.len() > MAX_KEY {
        let mut end = MAX_KEY - 20;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key = format!("{} #{}", &key[..end], crate::hash::hex(&key, 12));
    }
    Address::new(Kind::HealthCheck, SHARED_CHECKS, Some(&key))
}

/// The name under which checks shared by services (`health_check_scope = "endpoint"`) are
/// addressed: `health_check.endpoint["..."]`.
pub const SHARED_CHECKS: &str = "endpoint";

/// The longest shared-check key kept whole (its address then fits a 256-character tag).
const MAX_KEY: usize = 200;

fn service(s: &Service, shared: &mut Shared, out: &mut Vec<Resource>) {
    if let Some(accelerator) = s.anycast.as_ref().and_then(|a| a.accelerator.as_ref()) {
        out.push(accelerator_record(s, accelerator));
        return;
    }
    for r in s.regions.values() {
        let check = region_check_address(s, r, shared, out);
        let (record_type, values, alias) = endpoint_record(r);
        // Latency records have no failover target of their own: a region with `failover_to`
        // answers through a tree (latency alias -> failover pair), R53DG "How health checks
        // work in complex Amazon Route 53 configurations".
        if s.routing == Routing::Latency && !r.failover_to.is_empty() {
            failover_tree(s, r, record_type, shared, out);
            continue;
        }
        // Geolocation: one record set per location; every other policy: one per region.
        let locations: Vec<Option<&str>> = if s.routing == Routing::Geolocation {
            r.locations.iter().map(|l| Some(l.as_str())).collect()
        } else {
            vec![None]
        };
        for location in locations {
            let key = match location {
                Some(l) => format!("{}/{l}", r.name),
                None => r.name.clone(),
            };
            let set_identifier = r.record_set_identifier(&s.name, location);
            out.push(Resource {
                address: Address::new(Kind::Record, &s.name, Some(&key)),
                loc: r.loc.clone(),
                spec: ResourceSpec::Record(Box::new(RecordSpec {
                    zone: s.zone.clone(),
                    name: s.domain.clone(),
                    record_type: record_type.clone(),
                    set_identifier: Some(set_identifier),
                    ttl: alias.is_none().then_some(s.ttl),
                    values: values.clone(),
                    alias: alias.clone(),
                    routing: routing(s, r, location),
                    health_check: check.clone(),
                    owner: Address::new(Kind::Owner, &s.name, None),
                    alias_targets: Vec::new(),
                })),
            });
        }
    }
}

/// The health check of one region (made once, when shared), and its address.
fn region_check_address(
    s: &Service,
    r: &crate::model::Region,
    shared: &mut Shared,
    out: &mut Vec<Resource>,
) -> Option<Address> {
    let h = s.check(r)?;
    let spec = region_check(s, r, h, shared.scope);
    let address = check_address(s, &r.name, &spec, shared.scope);
    if shared.made.insert(address.clone()) {
        out.push(Resource {
            address: address.clone(),
            loc: r.loc.clone(),
            spec: ResourceSpec::HealthCheck(spec),
        });
    }
    Some(address)
}

/// A region's endpoint as a record: its type, values and alias target.
fn endpoint_record(r: &crate::model::Region) -> (RecordType, Vec<String>, Option<AliasTarget>) {
    match &r.endpoint {
        Endpoint::Target(t) => (RecordType::Cname, vec![t.clone()], None),
        Endpoint::Ips(ips) => {
            let v6 = ips.first().is_some_and(|i| i.is_ipv6());
            let mut v: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
            v.sort();
            v.dedup();
            (if v6 { RecordType::Aaaa } else { RecordType::A }, v, None)
        }
        Endpoint::Alias(a) => (
            RecordType::A,
            Vec::new(),
            Some(AliasTarget {
                dns_name: a.name.clone(),
                hosted_zone_id: a.zone_id.clone(),
                evaluate_target_health: a.evaluate_target_health,
            }),
        ),
    }
}

/// The hosted zone id of an alias to a record of the service's own zone, which the plan
/// fills in from the live zone (Meridian reads zones by name).
pub const SAME_ZONE: &str = "(this hosted zone)";

pub use crate::dns::tree_name;

/// Region `r`'s answer through a tree: its latency record is an alias (evaluating target
/// health) to a failover pair whose primary is `r` and whose secondary is the first
/// `failover_to` region, or an alias to the next pair when more are listed, each the
/// secondary of the one before. Every intermediate name carries an ownership marker.
fn failover_tree(
    s: &Service,
    r: &crate::model::Region,
    record_type: RecordType,
    shared: &mut Shared,
    out: &mut Vec<Resource>,
) {
    let chain: Vec<&crate::model::Region> = std::iter::once(r)
        .chain(r.failover_to.iter().filter_map(|l| s.regions.get(l)))
        .collect();
    out.push(Resource {
        address: Address::new(Kind::Record, &s.name, Some(&r.name)),
        loc: r.loc.clone(),
        spec: ResourceSpec::Record(Box::new(RecordSpec {
            zone: s.zone.clone(),
            name: s.domain.clone(),
            record_type: record_type.clone(),
            set_identifier: Some(r.record_set_identifier(&s.name, None)),
            ttl: None,
            values: Vec::new(),
            alias: Some(same_zone_alias(&tree_name(&r.name, 0, &s.domain))),
            routing: routing(s, r, None),
            health_check: None,
            owner: Address::new(Kind::Owner, &s.name, None),
            alias_targets: pair_addresses(s, r, 1),
        })),
    });
    for depth in 0..chain.len().saturating_sub(1) {
        failover_pair(s, (r, &chain), depth, &record_type, shared, out);
    }
}

/// The `depth`-th failover pair of `r`'s tree: its marker, its primary (`chain[depth]`) and its
/// secondary (the last region of the chain, or an alias to the next pair).
fn failover_pair(
    s: &Service,
    (r, chain): (&crate::model::Region, &[&crate::model::Region]),
    depth: usize,
    record_type: &RecordType,
    shared: &mut Shared,
    out: &mut Vec<Resource>,
) {
    let name = tree_name(&r.name, depth, &s.domain);
    let owner = Address::new(Kind::Owner, &s.name, Some(&name));
    out.push(Resource {
        address: owner.clone(),
        loc: r.loc.clone(),
        spec: ResourceSpec::Owner(OwnerSpec {
            zone: s.zone.clone(),
            name: owner_name(&name),
            service: s.name.clone(),
        }),
    });
    let last = depth + 2 == chain.len();
    let members = [
        (FailoverRole::Primary, chain[depth]),
        (FailoverRole::Secondary, chain[depth + 1]),
    ];
    for (role, member) in members {
        let (_, values, alias) = endpoint_record(member);
        let nested = role == FailoverRole::Secondary && !last;
        let (values, alias, ttl, check) = if nested {
            let next = same_zone_alias(&tree_name(&r.name, depth + 1, &s.domain));
            (Vec::new(), Some(next), None, None)
        } else {
            let ttl = alias.is_none().then_some(s.ttl);
            let check = region_check_address(s, member, shared, out);
            (values, alias, ttl, check)
        };
        let which = match role {
            FailoverRole::Primary => "primary",
            FailoverRole::Secondary => "secondary",
        };
        let key = format!("{}/failover-{}/{which}", r.name, depth + 1);
        out.push(Resource {
            address: Address::new(Kind::Record, &s.name, Some(&key)),
            loc: member.loc.clone(),
            spec: ResourceSpec::Record(Box::new(RecordSpec {
                zone: s.zone.clone(),
                name: name.clone(),
                record_type: record_type.clone(),
                set_identifier: Some(format!(
                    "{}-{}-failover-{}-{which}",
                    s.name,
                    r.name,
                    depth + 1
                )),
                ttl,
                values,
                alias,
                routing: RoutingPolicy::Failover { role },
                health_check: check,
                owner: owner.clone(),
                alias_targets: if nested {
                    pair_addresses(s, r, depth + 2)
                } else {
                    Vec::new()
                },
            })),
        });
    }
}

/// The addresses of the records of pair `n` (1-based) of region `r`'s tree.
fn pair_addresses(s: &Service, r: &crate::model::Region, n: usize) -> Vec<Address> {
    ["primary", "secondary"]
        .iter()
        .map(|which| {
            Address::new(
                Kind::Record,
                &s.name,
                Some(&format!("{}/failover-{n}/{which}", r.name)),
            )
        })
        .collect()
}

/// An alias evaluating the health of a record group of the service's own zone.
fn same_zone_alias(name: &str) -> AliasTarget {
    AliasTarget {
        dns_name: name.to_string(),
        hosted_zone_id: SAME_ZONE.to_string(),
        evaluate_target_health: true,
    }
}

/// The routing policy of one of a service's record sets.
fn routing(s: &Service, r: &crate::model::Region, location: Option<&str>) -> RoutingPolicy {
    match s.routing {
        Routing::Latency => RoutingPolicy::Latency {
            region: r.aws_region.clone(),
        },
        Routing::Weighted => RoutingPolicy::Weighted {
            weight: r.weight.unwrap_or(0),
        },
        Routing::Failover => RoutingPolicy::Failover {
            role: match r.role {
                Some(Role::Secondary) => FailoverRole::Secondary,
                _ => FailoverRole::Primary,
            },
        },
        Routing::Geolocation => RoutingPolicy::Geolocation {
            location: location.unwrap_or("*").to_string(),
        },
    }
}
