//! The topology model: what a user declared, typed and validated.
//!
//! Consumes the parsed files ([`crate::parse`]); produces a [`Topology`] plus every diagnostic,
//! in two steps: [`decode`] checks structure against the format table in [`schema`], then
//! [`lower`] checks meaning (routing rules, regions, references) and builds the typed model.
//! All maps are `BTreeMap`s so anything rendered from the model is in a stable order.

pub mod catalog;
pub mod decode;
pub mod dependency;
pub mod lower;
mod names;
pub mod schema;
pub mod variables;

use crate::duration::Duration;
use crate::source::Loc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The Route 53 set identifier Meridian gives a service's record in one region (and, under
/// geolocation, one location): `api-us-east-1`, `web-eu-west-1-EU`, `web-eu-west-1-default` for
/// `*`. A region's `set_identifier` replaces it ([`Region::record_set_identifier`]).
pub fn set_identifier(service: &str, region: &str, location: Option<&str>) -> String {
    match location {
        Some("*") => format!("{service}-{region}-default"),
        Some(l) => format!("{service}-{region}-{l}"),
        None => format!("{service}-{region}"),
    }
}

impl Region {
    /// The set identifier of this region's record (at `location` under geolocation): its
    /// `set_identifier`, else Meridian's.
    pub fn record_set_identifier(&self, service: &str, location: Option<&str>) -> String {
        self.set_identifier
            .clone()
            .unwrap_or_else(|| set_identifier(service, &self.name, location))
    }
}

impl Service {
    /// The health check of region `r`: its own `health_check`, else the service's. None
    /// behind an accelerator: Meridian plans its one alias record and no Route 53 checks.
    pub fn check<'a>(&'a self, r: &'a Region) -> Option<&'a HealthCheck> {
        if self
            .anycast
            .as_ref()
            .is_some_and(|a| a.accelerator.is_some())
        {
            return None;
        }
        r.health_check.as_ref().or(self.health_check.as_ref())
    }

    /// Every health check the service's regions use, in region order (the first is the one
    /// a service-wide note speaks of).
    pub fn checks(&self) -> impl Iterator<Item = &HealthCheck> {
        self.regions.values().filter_map(|r| self.check(r))
    }

    /// Whether any region has a health check.
    pub fn has_check(&self) -> bool {
        self.regions.values().any(|r| self.check(r).is_some())
    }

    /// Where the check of region `r` is written: its own block, else the service's.
    pub fn check_loc<'a>(&'a self, r: &'a Region) -> Option<&'a Loc> {
        r.check_loc
            .as_ref()
            .or_else(|| self.block_locs.get("health_check"))
    }
}

/// A whole topology: every file of a directory together.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Topology {
    /// The `name` attribute; commands fill in the file or directory name when it is unset.
    pub name: Option<String>,
    /// The values its variables were given (a saved plan records them), by name.
    pub variables: BTreeMap<String, variables::Literal>,
    pub objectives: Option<Objectives>,
    pub services: BTreeMap<String, Service>,
    pub registries: BTreeMap<String, Registry>,
    /// Price overrides from a `prices` block, by price name.
    pub prices: BTreeMap<String, f64>,
    /// Zones read by every plan, besides those of the services (`zones` attribute).
    pub zones: Vec<String>,
    /// A `backend` block: where the manifest and lock live (None: local `.meridian`).
    pub backend: Option<BackendConfig>,
    /// `tag_health_checks`: write and repair tags on health checks (one more call each).
    pub tag_health_checks: bool,
    /// `health_check_scope`: one check per service and region, or one per endpoint.
    pub health_check_scope: CheckScope,
    /// A `provider "aws"` block: plan and apply against AWS.
    pub provider: Option<AwsProviderConfig>,
    /// `dependency` blocks by label.
    pub dependencies: BTreeMap<String, Dependency>,
    /// The `lint` block: rule levels by rule.
    pub lint: BTreeMap<crate::diagnostics::rules::RuleId, crate::diagnostics::rules::Level>,
}

/// What one Route 53 health check serves (`health_check_scope`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckScope {
    /// One check per service and region (the default).
    #[default]
    Service,
    /// One check per endpoint: services of one zone whose regions probe the same endpoint
    /// with the same settings share it.
    Endpoint,
}

/// Something services call while serving, where it lives and what callers do without it.
#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub name: String,
    pub kind: DependencyKind,
    /// The AWS regions holding a copy, sorted (one for `region`).
    pub regions: Vec<String>,
    pub fallback: Fallback,
    /// local-cache: how long the cache serves; None = as long as needed.
    pub cache_ttl: Option<Duration>,
    #[serde(skip)]
    pub cache_ttl_loc: Option<Loc>,
    /// Who calls it (from `used_by`).
    pub used_by: Vec<Use>,
    #[serde(skip)]
    pub loc: Loc,
}

/// One entry of `used_by` (or a service's `depends_on`).
#[derive(Debug, Clone, Serialize)]
pub struct Use {
    pub service: String,
    /// The region label, or None for every region of the service.
    pub region: Option<String>,
    #[serde(skip)]
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DependencyKind {
    Auth,
    Registry,
    Flags,
    Secrets,
    Config,
    Database,
    Queue,
    Other,
}

impl DependencyKind {
    pub fn parse(s: &str) -> Option<DependencyKind> {
        Some(match s {
            "auth" => DependencyKind::Auth,
            "registry" => DependencyKind::Registry,
            "flags" => DependencyKind::Flags,
            "secrets" => DependencyKind::Secrets,
            "config" => DependencyKind::Config,
            "database" => DependencyKind::Database,
            "queue" => DependencyKind::Queue,
            "other" => DependencyKind::Other,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    None,
    LocalCache,
    Replica,
    Static,
}

impl Fallback {
    pub fn parse(s: &str) -> Option<Fallback> {
        Some(match s {
            "none" => Fallback::None,
            "local-cache" => Fallback::LocalCache,
            "replica" => Fallback::Replica,
            "static" => Fallback::Static,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::None => "none",
            Fallback::LocalCache => "local-cache",
            Fallback::Replica => "replica",
            Fallback::Static => "static",
        }
    }
}

/// What one region of a service calls: a dependency block or another service.
#[derive(Debug, Clone, Copy)]
pub enum Needed<'a> {
    Dependency(&'a Dependency),
    Service(&'a Service),
}

impl<'a> Needed<'a> {
    pub fn name(&self) -> &'a str {
        match self {
            Needed::Dependency(d) => &d.name,
            Needed::Service(s) => &s.name,
        }
    }

    /// The AWS regions where a copy answers in the steady state (a failover service: its
    /// primary's).
    pub fn aws_regions(&self) -> Vec<&'a str> {
        match self {
            Needed::Dependency(d) => d.regions.iter().map(String::as_str).collect(),
            Needed::Service(s) => {
                let set: std::collections::BTreeSet<&str> = s
                    .regions
                    .values()
                    .filter(|r| s.routing != Routing::Failover || r.role == Some(Role::Primary))
                    .map(|r| r.aws_region.as_str())
                    .collect();
                set.into_iter().collect()
            }
        }
    }

    /// What a caller does when no copy is reachable.
    pub fn fallback(&self) -> Fallback {
        match self {
            Needed::Dependency(d) => d.fallback,
            Needed::Service(_) => Fallback::None,
        }
    }
}

impl Topology {
    /// What region `label` of `service` needs while serving, with where the need is declared,
    /// sorted by name (a name declared twice appears once, at its first declaration).
    pub fn needs<'a>(&'a self, service: &'a Service, label: &str) -> Vec<(Needed<'a>, &'a Loc)> {
        let mut out: BTreeMap<&str, (Needed<'a>, &'a Loc)> = BTreeMap::new();
        for (name, at) in &service.depends_on {
            let n = match (self.dependencies.get(name), self.services.get(name)) {
                (Some(d), _) => Needed::Dependency(d),
                (None, Some(s)) => Needed::Service(s),
                (None, None) => continue,
            };
            out.entry(name.as_str()).or_insert((n, at));
        }
        for d in self.dependencies.values() {
            let used = d.used_by.iter().find(|u| {
                u.service == service.name && u.region.as_deref().is_none_or(|r| r == label)
            });
            if let Some(u) = used {
                out.entry(d.name.as_str())
                    .or_insert((Needed::Dependency(d), &u.loc));
            }
        }
        out.into_values().collect()
    }
}

/// Where a topology's manifest and lock live.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackendConfig {
    Local {
        /// Relative to the topology's directory.
        path: Option<String>,
    },
    S3 {
        bucket: String,
        key: String,
        region: Option<String>,
        profile: Option<String>,
        endpoint_url: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AwsProviderConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// `health_check_creations_per_day` (None: the default, 1,000; 0: no cap).
    pub creations_per_day: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Objectives {
    pub rto: Option<Duration>,
    pub rpo: Option<Duration>,
    /// Which floor `rto` gates on.
    pub rto_case: RtoCase,
    /// When set, `rto` gates on this percentile of when the lost region's TTL-honouring
    /// clients are served again (`analyze --distribution`), not on the floor.
    pub rto_percentile: Option<Percentile>,
    /// Which lag `rpo` gates on.
    pub rpo_case: RpoCase,
    pub monthly_cost: Option<f64>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    Latency,
    Geolocation,
    Weighted,
    Failover,
}

impl Routing {
    pub fn parse(s: &str) -> Option<Routing> {
        Some(match s {
            "latency" => Routing::Latency,
            "geolocation" => Routing::Geolocation,
            "weighted" => Routing::Weighted,
            "failover" => Routing::Failover,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Routing::Latency => "latency",
            Routing::Geolocation => "geolocation",
            Routing::Weighted => "weighted",
            Routing::Failover => "failover",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    /// Hosted zone name, lower case, without the trailing dot.
    pub zone: String,
    /// The name clients resolve, lower case, without the trailing dot.
    pub domain: String,
    pub routing: Routing,
    /// Record TTL in seconds (60 unless written).
    pub ttl: u32,
    /// Whether `ttl` was written (alias-only services warn about it).
    pub ttl_written: bool,
    pub health_check: Option<HealthCheck>,
    pub anycast: Option<Anycast>,
    /// Regions by label.
    pub regions: BTreeMap<String, Region>,
    pub data: Option<Data>,
    /// Declared `stateless = true`: keeps no data, RPO 0.
    pub stateless: bool,
    /// The registry label the service's images come from.
    pub images: Option<String>,
    /// `depends_on`: dependency or service names, with where each is written.
    #[serde(skip)]
    pub depends_on: Vec<(String, Loc)>,
    /// Where each child block (`health_check`, `data`, ...) is written.
    #[serde(skip)]
    pub block_locs: BTreeMap<&'static str, Loc>,
    /// Where the values of `ttl` and `routing` are written, when they are (lint points there).
    #[serde(skip)]
    pub value_locs: BTreeMap<&'static str, Loc>,
    pub cost: Cost,
    #[serde(skip)]
    pub loc: Loc,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum HealthCheckType {
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
    #[serde(rename = "HTTP_STR_MATCH")]
    HttpStrMatch,
    #[serde(rename = "HTTPS_STR_MATCH")]
    HttpsStrMatch,
    #[serde(rename = "TCP")]
    Tcp,
}

impl HealthCheckType {
    pub fn parse(s: &str) -> Option<HealthCheckType> {
        Some(match s {
            "HTTP" => HealthCheckType::Http,
            "HTTPS" => HealthCheckType::Https,
            "HTTP_STR_MATCH" => HealthCheckType::HttpStrMatch,
            "HTTPS_STR_MATCH" => HealthCheckType::HttpsStrMatch,
            "TCP" => HealthCheckType::Tcp,
            _ => return None,
        })
    }

    /// The name Route 53 uses.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthCheckType::Http => "HTTP",
            HealthCheckType::Https => "HTTPS",
            HealthCheckType::HttpStrMatch => "HTTP_STR_MATCH",
            HealthCheckType::HttpsStrMatch => "HTTPS_STR_MATCH",
            HealthCheckType::Tcp => "TCP",
        }
    }

    pub fn is_string_match(self) -> bool {
        matches!(
            self,
            HealthCheckType::HttpStrMatch | HealthCheckType::HttpsStrMatch
        )
    }

    pub fn is_https(self) -> bool {
        matches!(
            self,
            HealthCheckType::Https | HealthCheckType::HttpsStrMatch
        )
    }

    pub fn default_port(self) -> Option<u16> {
        match self {
            HealthCheckType::Http | HealthCheckType::HttpStrMatch => Some(80),
            HealthCheckType::Https | HealthCheckType::HttpsStrMatch => Some(443),
            HealthCheckType::Tcp => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthCheck {
    #[serde(rename = "type")]
    pub kind: HealthCheckType,
    pub port: u16,
    pub path: Option<String>,
    /// Seconds between probes: 10 or 30.
    pub interval: u32,
    pub failure_threshold: u32,
    /// Checker regions, sorted; empty means all of them.
    pub regions: Vec<String>,
    pub search_string: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anycast {
    pub interval: u32,
    pub threshold: u32,
    /// The accelerator's DNS name: when set, Meridian plans one alias record to it.
    pub accelerator: Option<String>,
    /// Load-balancer endpoints: the load balancer's own detection time.
    pub lb_detection: Option<Duration>,
}

/// The hosted zone id of every Global Accelerator alias target.
pub const GLOBAL_ACCELERATOR_ZONE_ID: &str = "Z2BJ6XQ5FK7U4H";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Primary,
    Secondary,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// A CNAME record.
    Target(String),
    /// An A or AAAA record (one family per region).
    Ips(Vec<IpAddr>),
    Alias(Alias),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    pub name: String,
    pub zone_id: String,
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Region {
    /// The block label: the key of this region's resources.
    pub name: String,
    /// The AWS region (the label unless `aws_region` is written).
    pub aws_region: String,
    pub endpoint: Endpoint,
    pub capacity: f64,
    pub scale_up: Option<Duration>,
    /// The declared range around `scale_up` (`scale_up_min`, `scale_up_max`): the distribution
    /// draws from it; the floor keeps `scale_up`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_up_range: Option<Range>,
    pub weight: Option<u8>,
    pub role: Option<Role>,
    /// Geolocation codes, in the order written.
    pub locations: Vec<String>,
    /// Declared steady share of the service's traffic (latency, geolocation).
    pub load_share: Option<f64>,
    /// Latency routing: the labels that take this region's users when it is lost, in order.
    pub failover_to: Vec<String>,
    /// The record's set identifier when it is not `<service>-<label>` (an imported record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    /// The region's own `health_check`: replaces the service's for this region (an imported
    /// service whose regions' checks differ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Where the region's `health_check` block is written, when it is.
    #[serde(skip)]
    pub check_loc: Option<Loc>,
    /// Where `scale_up` is written, when it is (lint points there).
    #[serde(skip)]
    pub scale_up_loc: Option<Loc>,
    #[serde(skip)]
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataPattern {
    PrimaryReplica,
    Partitioned,
    MultiMaster,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    Eventual,
    Strong,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Data {
    pub pattern: DataPattern,
    /// primary-replica: the region label that takes writes.
    pub primary: Option<String>,
    pub replication_lag: Option<Duration>,
    /// The worst-case lag, when declared.
    pub replication_lag_max: Option<Duration>,
    pub promotion: Option<Duration>,
    /// The declared range around `promotion` (`promotion_min`, `promotion_max`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion_range: Option<Range>,
    pub promotion_mode: PromotionMode,
    /// Manual promotion: the time to decide and start it.
    pub decision_time: Option<Duration>,
    /// The declared range around `decision_time` (`decision_time_min`, `decision_time_max`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_time_range: Option<Range>,
    /// What starts the promotion, for the formula.
    pub promoted_by: Option<String>,
    pub consistency: Consistency,
    /// Strong multi-master: an AWS region that votes without serving.
    pub witness: Option<String>,
    /// The data is scoped to a user: a stale replica read is a correctness bug.
    pub user_scoped: bool,
    /// Partitioned: each shard's home region label, by shard name; empty: every region that
    /// serves users homes a shard.
    pub shards: BTreeMap<String, String>,
    /// The database engine, when declared: its own rules are checked.
    pub engine: Option<Engine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Aurora,
    Dynamodb,
    Elasticache,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PromotionMode {
    Automatic,
    Manual,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RtoCase {
    /// A region that fails fast (refused connections, errors): interval x threshold.
    #[default]
    Fast,
    /// A region that goes dark: every probe also waits the connect timeout.
    Dark,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RpoCase {
    /// The promise: `replication_lag_max` where declared, else `replication_lag`. An objective
    /// is a promise, so it gates on the bound unless it says otherwise.
    #[default]
    Bound,
    /// The typical lag (`replication_lag`), even where a bound is declared.
    Typical,
    /// The declared bound only: unknown where `replication_lag_max` is not declared.
    Worst,
}

/// A step's declared range around its typical duration: `X_min <= X <= X_max` (either may be
/// left out, then it is the typical value). The floor takes the typical value; the
/// distribution draws from a triangular distribution over (min, typical, max).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub min: Duration,
    pub max: Duration,
}

/// A share of the lost region's clients served again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    P50,
    P90,
    P99,
}

impl Percentile {
    pub const ALL: [Percentile; 3] = [Percentile::P50, Percentile::P90, Percentile::P99];

    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
        }
    }

    pub fn parse(s: &str) -> Option<Percentile> {
        Percentile::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The share, 0..1.
    pub fn share(self) -> f64 {
        match self {
            Percentile::P50 => 0.50,
            Percentile::P90 => 0.90,
            Percentile::P99 => 0.99,
        }
    }
}

impl RtoCase {
    pub fn as_str(self) -> &'static str {
        match self {
            RtoCase::Fast => "fast",
            RtoCase::Dark => "dark",
        }
    }
}

impl RpoCase {
    pub fn as_str(self) -> &'static str {
        match self {
            RpoCase::Bound => "bound",
            RpoCase::Typical => "typical",
            RpoCase::Worst => "worst",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cost {
    pub compute_per_region: Option<f64>,
    pub queries_per_month: Option<f64>,
    pub replicated_gb_month: Option<f64>,
    pub anycast_gb_month: Option<f64>,
    /// One region's copy of the database, USD per month.
    pub database_per_region: Option<f64>,
    /// Cross-region quorum traffic of strongly consistent writes, GB per month.
    pub quorum_gb_month: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub name: String,
    pub source: String,
    /// Sorted.
    pub destinations: Vec<String>,
    /// Sorted.
    pub repositories: Vec<String>,
    /// Image storage, GB.
    pub storage_gb: Option<f64>,
    #[serde(skip)]
    pub loc: Loc,
}
