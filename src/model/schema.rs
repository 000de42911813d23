//! The file format as data: every block, label and attribute, with its type, its default and a
//! line of documentation.
//!
//! One table drives three things, so they cannot drift apart: the structural checks of
//! [`super::decode`] (unknown names, types, ranges, allowed values), the JSON Schema in
//! `schemas/topology.schema.json` ([`json_schema`]), and the "did you mean" hints.

use crate::diagnostics::Code;
use serde_json::{json, Map, Value};

/// The type of an attribute value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    String,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    Bool,
    /// A string such as "45s"; see [`crate::duration::Duration::parse`].
    Duration,
    StringList,
    /// An object of strings: `{ eu = "eu-west-1" }`.
    StringMap,
    /// A string, number or bool (a variable's default).
    Literal,
}

/// A value check beyond the type, reported under its own code.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    None,
    /// Inclusive bounds.
    Range {
        min: f64,
        max: f64,
        code: Code,
    },
    /// One of these whole numbers.
    OneOf {
        values: &'static [i64],
        code: Code,
    },
    /// A string (or every string of a list) at most this many characters.
    MaxLen {
        max: usize,
        code: Code,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct AttrSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Required in every use of the block. Attributes required only in some contexts (for
    /// example `weight` under weighted routing) are checked by the model.
    pub required: bool,
    pub check: Check,
    /// The default, as the documentation shows it.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct ChildSpec {
    pub block: &'static BlockSpec,
    /// May appear more than once (then it must carry a label that is unique among siblings).
    pub multiple: bool,
    pub required: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct BlockSpec {
    pub name: &'static str,
    /// Names of the labels, e.g. `["name"]` for `service "api"`; empty for unlabeled blocks.
    pub labels: &'static [&'static str],
    pub doc: &'static str,
    pub attrs: &'static [AttrSpec],
    pub blocks: &'static [ChildSpec],
}

impl BlockSpec {
    pub fn attr(&self, name: &str) -> Option<&'static AttrSpec> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&'static ChildSpec> {
        self.blocks.iter().find(|c| c.block.name == name)
    }
}

const fn attr(name: &'static str, kind: Kind, doc: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        kind,
        required: false,
        check: Check::None,
        default: None,
        doc,
    }
}

const fn req(a: AttrSpec) -> AttrSpec {
    AttrSpec {
        required: true,
        ..a
    }
}

const fn checked(a: AttrSpec, check: Check) -> AttrSpec {
    AttrSpec { check, ..a }
}

const fn default(a: AttrSpec, d: &'static str) -> AttrSpec {
    AttrSpec {
        default: Some(d),
        ..a
    }
}

const fn one(block: &'static BlockSpec) -> ChildSpec {
    ChildSpec {
        block,
        multiple: false,
        required: false,
    }
}

const fn many(block: &'static BlockSpec) -> ChildSpec {
    ChildSpec {
        block,
        multiple: true,
        required: false,
    }
}

pub const ROUTING: &[&str] = &["latency", "geolocation", "weighted", "failover"];
pub const HEALTH_CHECK_TYPES: &[&str] =
    &["HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"];
pub const ROLES: &[&str] = &["primary", "secondary"];
pub const CHECK_SCOPES: &[&str] = &["service", "endpoint"];
pub const DATA_PATTERNS: &[&str] = &["primary-replica", "partitioned", "multi-master"];
pub const CONSISTENCY: &[&str] = &["eventual", "strong"];
pub const ENGINES: &[&str] = &["aurora", "dynamodb", "elasticache", "other"];
pub const PROMOTION_MODES: &[&str] = &["automatic", "manual"];
pub const RTO_CASES: &[&str] = &["fast", "dark"];
pub const PERCENTILES: &[&str] = &["p50", "p90", "p99"];
pub const RPO_CASES: &[&str] = &["bound", "typical", "worst"];
pub const DEPENDENCY_KINDS: &[&str] = &[
    "auth", "registry", "flags", "secrets", "config", "database", "queue", "other",
];
pub const FALLBACKS: &[&str] = &["none", "local-cache", "replica", "static"];
const MAX_TTL: f64 = 2_147_483_647.0;

pub static OBJECTIVES: BlockSpec = BlockSpec {
    name: "objectives",
    labels: &[],
    doc: "Budgets the design must meet: recovery time, data loss and monthly cost.",
    attrs: &[
        attr(
            "rto",
            Kind::Duration,
            "Recovery-time budget for losing any one region.",
        ),
        attr("rpo", Kind::Duration, "Data-loss budget."),
        default(
            attr("rto_case", Kind::Enum(RTO_CASES), "Which floor `rto` gates on: `fast` (a region that fails fast: interval x threshold) or `dark` (a region that stops answering: each probe also waits the connect timeout)."),
            "\"fast\"",
        ),
        attr("rto_percentile", Kind::Enum(PERCENTILES), "Gate `rto` on this percentile of when the lost region's TTL-honouring clients are served again (`analyze --distribution`, under `rto_case`'s failure), not on the floor; where a loss has no distribution its floor gates (never less than the percentile). Unset: the floor."),
        default(
            attr("rpo_case", Kind::Enum(RPO_CASES), "Which lag `rpo` gates on: `bound` (replication_lag_max where declared, else replication_lag), `typical` (replication_lag) or `worst` (replication_lag_max; unknown without it)."),
            "\"bound\"",
        ),
        checked(
            attr("monthly_cost", Kind::Number, "Monthly cost budget in USD."),
            Check::Range {
                min: 0.0,
                max: f64::MAX,
                code: Code::Negative,
            },
        ),
    ],
    blocks: &[],
};

pub static HEALTH_CHECK: BlockSpec = BlockSpec {
    name: "health_check",
    labels: &[],
    doc: "A Route 53 health check created for every region of the service, probing the region's endpoint. Inside a `region` block: that region's own check, replacing the service's (regions whose checks differ, as `meridian import` writes them).",
    attrs: &[
        req(attr("type", Kind::Enum(HEALTH_CHECK_TYPES), "Probe type; immutable once created.")),
        default(
            checked(
                attr("port", Kind::Integer, "Port probed. Required for TCP."),
                Check::Range { min: 1.0, max: 65535.0, code: Code::Port },
            ),
            "80 for HTTP*, 443 for HTTPS*",
        ),
        checked(
            attr("path", Kind::String, "HTTP(S) path requested, starting with /."),
            Check::MaxLen { max: 255, code: Code::TooLong },
        ),
        default(
            checked(
                attr("interval", Kind::Integer, "Seconds between probes: 10 (fast) or 30; immutable."),
                Check::OneOf { values: &[10, 30], code: Code::Interval },
            ),
            "30",
        ),
        default(
            checked(
                attr("failure_threshold", Kind::Integer, "Consecutive failures before unhealthy."),
                Check::Range { min: 1.0, max: 10.0, code: Code::FailureThreshold },
            ),
            "3",
        ),
        attr(
            "regions",
            Kind::StringList,
            "Checker regions, at least 3 of Route 53's 8; all when omitted.",
        ),
        checked(
            attr("search_string", Kind::String, "Text the response must contain (*_STR_MATCH only)."),
            Check::MaxLen { max: 255, code: Code::TooLong },
        ),
    ],
    blocks: &[],
};

pub static ANYCAST: BlockSpec = BlockSpec {
    name: "anycast",
    labels: &[],
    doc: "An anycast layer (AWS Global Accelerator, managed outside Meridian) in front of the regions: failover without a DNS TTL.",
    attrs: &[
        attr(
            "accelerator",
            Kind::String,
            "The accelerator's DNS name (a1b2c3d4.awsglobalaccelerator.com): Meridian then plans one alias record to it instead of per-region records. Without it, nothing anycast is planned and the analysis keeps to the records.",
        ),
        attr(
            "lb_detection",
            Kind::Duration,
            "For load-balancer endpoints (alias regions): how long the load balancer's own health checks take to mark a dead region unhealthy (interval x unhealthy threshold); the accelerator follows them.",
        ),
        default(
            checked(
                attr("interval", Kind::Integer, "Seconds between endpoint health probes: 10 or 30."),
                Check::OneOf { values: &[10, 30], code: Code::Interval },
            ),
            "30",
        ),
        default(
            checked(
                attr("threshold", Kind::Integer, "Consecutive failures before an endpoint is unhealthy."),
                Check::Range { min: 1.0, max: 10.0, code: Code::FailureThreshold },
            ),
            "3",
        ),
    ],
    blocks: &[],
};

pub static ALIAS: BlockSpec = BlockSpec {
    name: "alias",
    labels: &[],
    doc: "An alias record to an AWS resource (load balancer, CloudFront, Global Accelerator, ...).",
    attrs: &[
        req(attr(
            "name",
            Kind::String,
            "DNS name of the target resource.",
        )),
        req(attr(
            "zone_id",
            Kind::String,
            "Hosted zone id of the target resource.",
        )),
        default(
            attr(
                "evaluate_target_health",
                Kind::Bool,
                "Let the target's health decide whether this record is served.",
            ),
            "false",
        ),
    ],
    blocks: &[],
};

pub static REGION: BlockSpec = BlockSpec {
    name: "region",
    labels: &["name"],
    doc: "One regional endpoint of the service: one Route 53 record set (one per location under geolocation).",
    attrs: &[
        attr(
            "aws_region",
            Kind::String,
            "The AWS region, when the label is not one (two weighted records in one region, say). Defaults to the label.",
        ),
        attr("target", Kind::String, "CNAME target host name."),
        attr("ips", Kind::StringList, "IP addresses (A or AAAA record)."),
        default(
            checked(
                attr("capacity", Kind::Number, "Fraction of the service's peak load this region can serve now (1: all of it; 0.4: a warm standby; 0.5 in each of three regions: N+1). After a loss, a region whose new share of the load exceeds it must scale up."),
                Check::Range { min: 0.0, max: 1.0, code: Code::Capacity },
            ),
            "1.0",
        ),
        attr("scale_up", Kind::Duration, "Time to grow to the capacity a region loss requires; needed when a loss can push this region's share over its capacity."),
        attr("scale_up_min", Kind::Duration, "The fastest scale-up (default: `scale_up`): with `scale_up_max`, the range `analyze --distribution` draws from (triangular, `scale_up` the most likely); the floor keeps `scale_up`."),
        attr("scale_up_max", Kind::Duration, "The slowest scale-up (default: `scale_up`); see `scale_up_min`."),
        checked(
            attr("load_share", Kind::Number, "Latency or geolocation routing: this region's steady share of the service's traffic; every region of the service declares it or none does, and they sum to 1. Default: equal shares."),
            Check::Range { min: 0.0, max: 1.0, code: Code::Capacity },
        ),
        attr("failover_to", Kind::StringList, "Latency routing only: the regions (labels) whose users take over when this one is lost, nearest first. Default: the nearest surviving region by typical round-trip time."),
        attr("set_identifier", Kind::String, "The record's Route 53 set identifier when it is not <service>-<label>: a record Meridian did not make (`meridian import` keeps it). Under geolocation, only for a region with one location."),
        checked(
            attr("weight", Kind::Integer, "Weighted routing only: relative weight."),
            Check::Range { min: 0.0, max: 255.0, code: Code::Weight },
        ),
        attr("role", Kind::Enum(ROLES), "Failover routing only."),
        attr(
            "locations",
            Kind::StringList,
            "Geolocation routing only: continent, country, US-state (US-CA) codes, or \"*\" for the default.",
        ),
    ],
    blocks: &[one(&ALIAS), one(&HEALTH_CHECK)],
};

pub static DATA: BlockSpec = BlockSpec {
    name: "data",
    labels: &[],
    doc: "Where the service's data lives and how it fails over.",
    attrs: &[
        req(attr(
            "pattern",
            Kind::Enum(DATA_PATTERNS),
            "Data placement pattern.",
        )),
        attr(
            "primary",
            Kind::String,
            "primary-replica only: the region that takes writes.",
        ),
        attr(
            "replication_lag",
            Kind::Duration,
            "Typical asynchronous replication lag.",
        ),
        attr(
            "promotion",
            Kind::Duration,
            "Time to promote a replica to writer.",
        ),
        attr("promotion_min", Kind::Duration, "The fastest promotion (default: `promotion`): with `promotion_max`, the range `analyze --distribution` draws from (triangular, `promotion` the most likely); the floor keeps `promotion`."),
        attr("promotion_max", Kind::Duration, "The slowest promotion (default: `promotion`); see `promotion_min`."),
        default(
            attr(
                "promotion_mode",
                Kind::Enum(PROMOTION_MODES),
                "`automatic` (a managed failover starts on its own) or `manual` (a person decides first: add `decision_time`).",
            ),
            "\"automatic\"",
        ),
        attr(
            "decision_time",
            Kind::Duration,
            "manual promotion: the time to notice, decide and start the promotion.",
        ),
        attr("decision_time_min", Kind::Duration, "manual promotion: the fastest decision (default: `decision_time`); with `decision_time_max`, the range `analyze --distribution` draws from."),
        attr("decision_time_max", Kind::Duration, "manual promotion: the slowest decision (default: `decision_time`); see `decision_time_min`."),
        attr(
            "promoted_by",
            Kind::String,
            "What starts the promotion (Aurora's global failover is an API call something must make), shown in the formula.",
        ),
        attr(
            "replication_lag_max",
            Kind::Duration,
            "Worst-case asynchronous replication lag (the RPO's worst case).",
        ),
        attr(
            "shards",
            Kind::StringMap,
            "`partitioned` only: each shard's home region (label), e.g. `{ eu = \"eu-west-1\", na = \"us-east-1\" }`. Losing a home fails that shard's writes until its users move, whether or not the region serves traffic. Default: every serving region homes a shard.",
        ),
        attr(
            "witness",
            Kind::String,
            "multi-master with strong consistency: an AWS region that votes in the write quorum without serving.",
        ),
        attr(
            "engine",
            Kind::Enum(ENGINES),
            "The database engine, so validation can check its rules (a DynamoDB witness must be in the replicas' Region set): `aurora`, `dynamodb`, `elasticache` or `other`.",
        ),
        default(
            attr("consistency", Kind::Enum(CONSISTENCY), "multi-master only."),
            "eventual",
        ),
        default(
            attr("user_scoped", Kind::Bool, "The data is scoped to a user (sessions, entitlements, balances): a stale read from a replica is a correctness bug, not a performance issue (lint SS005)."),
            "false",
        ),
    ],
    blocks: &[],
};

pub static COST: BlockSpec = BlockSpec {
    name: "cost",
    labels: &[],
    doc: "Inputs for the cost model; all optional.",
    attrs: &[
        checked(
            attr(
                "compute_per_region",
                Kind::Number,
                "USD per month for one region at full capacity.",
            ),
            Check::Range {
                min: 0.0,
                max: f64::MAX,
                code: Code::Negative,
            },
        ),
        checked(
            attr("queries_per_month", Kind::Number, "DNS queries per month."),
            Check::Range {
                min: 0.0,
                max: f64::MAX,
                code: Code::Negative,
            },
        ),
        checked(
            attr(
                "replicated_gb_month",
                Kind::Number,
                "Cross-region replication volume, GB per month.",
            ),
            Check::Range {
                min: 0.0,
                max: f64::MAX,
                code: Code::Negative,
            },
        ),
        price(
            "anycast_gb_month",
            "Traffic through the anycast layer, GB per month (its data-transfer premium).",
        ),
        price(
            "database_per_region",
            "USD per month for one region's copy of the service's database (writer or replica); data-tier cost.",
        ),
        price(
            "quorum_gb_month",
            "Cross-region traffic of strongly consistent writes (quorum round trips), GB per month.",
        ),
    ],
    blocks: &[],
};

pub static SERVICE: BlockSpec = BlockSpec {
    name: "service",
    labels: &["name"],
    doc: "A service reachable at one DNS name, served from several regions.",
    attrs: &[
        req(attr("zone", Kind::String, "Route 53 hosted zone, by name.")),
        req(attr(
            "domain",
            Kind::String,
            "The name clients resolve; inside zone.",
        )),
        req(attr(
            "routing",
            Kind::Enum(ROUTING),
            "Route 53 routing policy.",
        )),
        default(
            checked(
                attr(
                    "ttl",
                    Kind::Integer,
                    "Record TTL in seconds (alias records ignore it).",
                ),
                Check::Range {
                    min: 0.0,
                    max: MAX_TTL,
                    code: Code::Ttl,
                },
            ),
            "60",
        ),
        default(
            attr(
                "stateless",
                Kind::Bool,
                "The service keeps no data a region loss could lose: its RPO is 0. Without it, a service with no `data` block has an unknown RPO.",
            ),
            "false",
        ),
        attr(
            "images",
            Kind::String,
            "The registry (a `registry` label) the service's container images come from: a region can scale up only where the images are.",
        ),
        attr(
            "depends_on",
            Kind::StringList,
            "What the service calls while serving: `dependency` labels and other services. Each region of the service needs each of them (a `dependency` block's `used_by` can name single regions).",
        ),
    ],
    blocks: &[
        one(&HEALTH_CHECK),
        one(&ANYCAST),
        ChildSpec {
            block: &REGION,
            multiple: true,
            required: true,
        },
        one(&DATA),
        one(&COST),
    ],
};

pub static REGISTRY: BlockSpec = BlockSpec {
    name: "registry",
    labels: &["name"],
    doc: "Container images replicated from one source region to others (one ECR replication rule).",
    attrs: &[
        req(attr(
            "source",
            Kind::String,
            "Region whose registry holds the repositories.",
        )),
        req(attr(
            "destinations",
            Kind::StringList,
            "Regions images are replicated to.",
        )),
        req(attr(
            "repositories",
            Kind::StringList,
            "Repositories kept in the source region; also the prefix filters of the rule.",
        )),
        price(
            "storage_gb",
            "Image storage of these repositories, GB (stored again in each destination).",
        ),
    ],
    blocks: &[],
};

pub static PROVIDER: BlockSpec = BlockSpec {
    name: "provider",
    labels: &["name"],
    doc: "Where live state comes from: `provider \"aws\"` plans and applies against AWS (the --live flag wins).",
    attrs: &[
        attr("region", Kind::String, "Region for ECR and request signing; default from the AWS configuration chain."),
        attr("profile", Kind::String, "AWS profile; default from AWS_PROFILE."),
        attr("endpoint_url", Kind::String, "An AWS-compatible endpoint (a test server); default from AWS_ENDPOINT_URL."),
        default(
            checked(
                attr("health_check_creations_per_day", Kind::Integer, "Health checks one apply may create; past it the plan takes whole services up to it and the rest wait for the next apply. 1,000 is the cap of Route 53's 2016 limits page (not on its current quotas page); 0 for none."),
                Check::Range { min: 0.0, max: 1_000_000.0, code: Code::Negative },
            ),
            "1000",
        ),
    ],
    blocks: &[],
};

pub static BACKEND: BlockSpec = BlockSpec {
    name: "backend",
    labels: &["kind"],
    doc: "Where the topology's manifest (its id, what it manages, its history) and apply lock live: `backend \"local\"` (the default) or `backend \"s3\"` for a team.",
    attrs: &[
        attr("path", Kind::String, "local: the directory, relative to the topology; default `.meridian`."),
        attr("bucket", Kind::String, "s3: the bucket (required)."),
        attr("key", Kind::String, "s3: the manifest's object key (required); the lock is `KEY.lock`."),
        attr("region", Kind::String, "s3: the bucket's region; default from the AWS configuration chain."),
        attr("profile", Kind::String, "s3: AWS profile; default from AWS_PROFILE."),
        attr("endpoint_url", Kind::String, "s3: an S3-compatible endpoint (a test server); default from AWS_ENDPOINT_URL."),
    ],
    blocks: &[],
};

/// A variable's types.
pub const VARIABLE_TYPES: &[&str] = &["string", "number", "bool"];

pub static VARIABLE: BlockSpec = BlockSpec {
    name: "variable",
    labels: &["name"],
    doc: "A value given from outside the files (`--var NAME=VALUE`, `--var-file FILE`, `MERIDIAN_VAR_NAME`), used as `var.NAME`, a whole value or `${var.NAME}` in a string; not in `name`, `backend` or `provider`.",
    attrs: &[
        default(
            attr("type", Kind::Enum(VARIABLE_TYPES), "`string`, `number` or `bool`: given values are read as it."),
            "\"string\"",
        ),
        attr("default", Kind::Literal, "The value when none is given; without one, a value must be given."),
        attr("description", Kind::String, "What the value is for, for people."),
    ],
    blocks: &[],
};

pub static DEPENDENCY: BlockSpec = BlockSpec {
    name: "dependency",
    labels: &["name"],
    doc: "Something services call while serving (an auth server, feature flags, secrets, a queue), where it lives and what callers do when it is out of reach. `lint`, `analyze` and `simulate` follow it.",
    attrs: &[
        req(attr("kind", Kind::Enum(DEPENDENCY_KINDS), "What it is.")),
        attr("region", Kind::String, "The AWS region it lives in (one of `region` and `regions`)."),
        attr("regions", Kind::StringList, "The AWS regions it is replicated to: each caller uses the copy in its own region when there is one."),
        default(
            attr("fallback", Kind::Enum(FALLBACKS), "What a caller does when it cannot reach it: `none` (it fails), `local-cache` (it serves from a local cache until `cache_ttl` runs out), `replica` (it reads a copy in its own region), `static` (it uses a built-in default)."),
            "\"none\"",
        ),
        attr("cache_ttl", Kind::Duration, "local-cache only: how long the cache serves after the source is lost. Unset: as long as needed."),
        attr("used_by", Kind::StringList, "The services that call it: `\"api\"` (every region of api) or `\"api:eu-west-1\"` (one region, by label)."),
    ],
    blocks: &[],
};

pub static LINT: BlockSpec = BlockSpec {
    name: "lint",
    labels: &[],
    doc: "Levels of the static-stability lint rules (`meridian lint --list` shows them): a rule id in `allow` is off, in `warn` a warning, in `deny` an error. The command line's -A/-W/-D win.",
    attrs: &[
        attr("allow", Kind::StringList, "Rule ids to turn off."),
        attr("warn", Kind::StringList, "Rule ids reported as warnings."),
        attr("deny", Kind::StringList, "Rule ids reported as errors (lint exits 3)."),
    ],
    blocks: &[],
};

/// A non-negative number (prices, volumes).
const fn price(name: &'static str, doc: &'static str) -> AttrSpec {
    checked(
        attr(name, Kind::Number, doc),
        Check::Range {
            min: 0.0,
            max: f64::MAX,
            code: Code::Negative,
        },
    )
}

/// Overrides of the built-in price table (USD); see `analysis::cost::Prices` for the defaults.
pub static PRICES: BlockSpec = BlockSpec {
    name: "prices",
    labels: &[],
    doc: "Overrides of the built-in price table (USD); unset prices keep their defaults.",
    attrs: &[
        price("hosted_zone", "Per hosted zone per month, first 25 zones."),
        price(
            "hosted_zone_after_25",
            "Per hosted zone per month beyond 25.",
        ),
        price(
            "queries_standard_per_million",
            "Per million standard queries (weighted, failover).",
        ),
        price(
            "queries_latency_per_million",
            "Per million latency-routed queries.",
        ),
        price(
            "queries_geo_per_million",
            "Per million geolocation queries.",
        ),
        price(
            "health_check_aws",
            "Per health check per month on an AWS endpoint.",
        ),
        price(
            "health_check_other",
            "Per health check per month on another endpoint.",
        ),
        price(
            "health_check_feature_aws",
            "Per optional feature (HTTPS, string match, fast interval) per month, AWS endpoint.",
        ),
        price(
            "health_check_feature_other",
            "Per optional feature per month, other endpoint.",
        ),
        price(
            "accelerator_hour",
            "Global Accelerator, per accelerator-hour.",
        ),
        price(
            "accelerator_premium_per_gb",
            "Global Accelerator data-transfer premium per GB.",
        ),
        price(
            "replication_transfer_per_gb",
            "Cross-region data transfer per GB.",
        ),
        price("ecr_storage_per_gb_month", "ECR storage per GB-month."),
        price("hours_per_month", "Hours in a billing month."),
    ],
    blocks: &[],
};

/// The top level of a topology (all files together).
pub static ROOT: BlockSpec = BlockSpec {
    name: "",
    labels: &[],
    doc: "A Meridian topology.",
    attrs: &[
        attr(
            "name",
            Kind::String,
            "Topology name, written into the ownership markers of what it manages. Default: the file stem or directory name.",
        ),
        attr(
            "zones",
            Kind::StringList,
            "Hosted zones to read even with no service in them, so the records of removed services are deleted.",
        ),
        default(
            attr(
                "tag_health_checks",
                Kind::Bool,
                "Tag each health check with `Name` (its address), `meridian:topology` and `meridian:topology-id`, and repair those tags when they drift. Costs one more write per check; ownership never depends on tags.",
            ),
            "false",
        ),
        default(
            attr(
                "health_check_scope",
                Kind::Enum(CHECK_SCOPES),
                "`service`: one health check per service and region. `endpoint`: services of one zone whose regions probe the same endpoint (target, port, path, type and timing) share one check, addressed `health_check.endpoint[\"<zone>/<type> <target>:<port><path> ...\"]`; a check of an `ips` region then probes the address without a host name. Fewer checks against the account's limit (200 by default) and its bill.",
            ),
            "\"service\"",
        ),
    ],
    blocks: &[
        one(&OBJECTIVES),
        one(&PRICES),
        many(&PROVIDER),
        one(&BACKEND),
        many(&SERVICE),
        many(&REGISTRY),
        many(&DEPENDENCY),
        many(&VARIABLE),
        one(&LINT),
    ],
};

/// The format as a JSON Schema: labelled blocks become objects keyed by label. For editors and
/// tools (Meridian reads only native HCL, not HCL's JSON syntax); `schemas/topology.schema.json`
/// is this value, kept in sync by a test.
pub fn json_schema() -> Value {
    let mut root = block_schema(&ROOT);
    let obj = root.as_object_mut().expect("object schema");
    let mut head = Map::new();
    head.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    head.insert(
        "$id".into(),
        json!("https://meridian.dev/schemas/topology.schema.json"),
    );
    head.insert("title".into(), json!("Meridian topology"));
    head.extend(std::mem::take(obj));
    Value::Object(head)
}

fn block_schema(spec: &BlockSpec) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for a in spec.attrs {
        props.insert(a.name.into(), attr_schema(a));
        if a.required {
            required.push(a.name);
        }
    }
    for c in spec.blocks {
        let body = block_schema(c.block);
        let s = if c.block.labels.is_empty() {
            body
        } else {
            json!({
                "type": "object",
                "description": c.block.doc,
                "additionalProperties": body,
            })
        };
        props.insert(c.block.name.into(), s);
        if c.required {
            required.push(c.block.name);
        }
    }
    let mut s = json!({
        "type": "object",
        "description": spec.doc,
        "properties": props,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}

fn attr_schema(a: &AttrSpec) -> Value {
    let mut s = match a.kind {
        Kind::String => json!({"type": "string"}),
        Kind::Enum(values) => json!({"type": "string", "enum": values}),
        Kind::Integer => json!({"type": "integer"}),
        Kind::Number => json!({"type": "number"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Duration => json!({
            "type": "string",
            "pattern": "^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$",
            "minLength": 2,
        }),
        Kind::StringList => json!({"type": "array", "items": {"type": "string"}}),
        Kind::StringMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Kind::Literal => json!({"type": ["string", "number", "boolean"]}),
    };
    match a.check {
        Check::None => {}
        Check::Range { min, max, .. } => {
            s["minimum"] = num(min);
            if max < f64::MAX {
                s["maximum"] = num(max);
            }
        }
        Check::OneOf { values, .. } => s["enum"] = json!(values),
        Check::MaxLen { max, .. } => s["maxLength"] = json!(max),
    }
    let mut doc = a.doc.to_string();
    if let Some(d) = a.default {
        doc.push_str(&format!(" Default: {d}."));
    }
    s["description"] = json!(doc);
    s
}

fn num(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// Every attribute and block name of the format, for documentation checks.
pub fn all_names() -> Vec<(&'static str, &'static str)> {
    fn walk(spec: &'static BlockSpec, out: &mut Vec<(&'static str, &'static str)>) {
        for a in spec.attrs {
            out.push((spec.name, a.name));
        }
        for c in spec.blocks {
            out.push((spec.name, c.block.name));
            walk(c.block, out);
        }
    }
    let mut out = Vec::new();
    walk(&ROOT, &mut out);
    out
}

/// [`json_schema`] as the pretty-printed text stored in `schemas/topology.schema.json`.
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    s.push('\n');
    s
}
