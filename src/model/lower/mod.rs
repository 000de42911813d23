//! Semantic checks and lowering: decoded [`Block`]s -> the typed [`Topology`].
//!
//! Every rule that needs more than one value at a time lives here: routing-policy rules,
//! region names, endpoints, data placement, registries, and the warnings for what AWS allows
//! but users regret. It builds as much of the model as is valid, so one run reports all
//! problems; callers must not use the model when the diagnostics hold errors.
//!
//! One file per block: this one the top level (name, zones, provider, backend), `service.rs`,
//! `health_check.rs`, `region.rs` (routing, endpoints, aliases, record types), `data.rs`,
//! `registry.rs` (registries and a service's images).

use super::catalog::{self, CLOUDFRONT_ZONE_ID};
use super::decode::Block;
pub use super::names::{is_plain_label, MAX_LABEL};
use super::names::{plain_label, region_name};
use super::*;
use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
use crate::model::set_identifier;
pub use registry::valid_repository;
use std::collections::BTreeMap;

mod data;
mod health_check;
mod region;
mod registry;
mod service;

use data::*;
use health_check::*;
use region::*;
use registry::*;
use service::*;

/// ECR's limit on replication rules per registry (one per `registry` block).
pub const MAX_REPLICATION_RULES: usize = 10;
/// ECR's limit on repository filters per rule.
pub const MAX_REPOSITORY_FILTERS: usize = 100;
/// TTL above which a health-checked record fails over slowly.
pub const HIGH_TTL: u32 = 120;
/// Route 53's limit on a record's set identifier.
pub const MAX_SET_IDENTIFIER: usize = 128;

/// The declared range of duration `base` (`base_min`, `base_max`), when either is written and
/// `base` is: the one left out is `base` itself.
fn range_of(b: &Block, base: &str) -> Option<Range> {
    let typical = b.dur(base)?;
    let (min, max) = (b.dur(&format!("{base}_min")), b.dur(&format!("{base}_max")));
    (min.is_some() || max.is_some()).then(|| Range {
        min: min.unwrap_or(typical),
        max: max.unwrap_or(typical),
    })
}

/// `base_min <= base <= base_max`, and neither without `base`. False when one is wrong.
fn range_fields(b: &Block, base: &str, diags: &mut Diagnostics) -> bool {
    let typical = b.dur(base);
    let mut ok = true;
    for (end, wrong) in [("min", "above"), ("max", "below")] {
        let attr = format!("{base}_{end}");
        let Some(v) = b.dur(&attr) else { continue };
        let (why, label) = match typical {
            None => (
                format!("`{attr}` needs `{base}`, the typical value the floor takes"),
                "a range of nothing",
            ),
            Some(t) if (end == "min" && v > t) || (end == "max" && v < t) => (
                format!("`{attr}` is {wrong} `{base}`: the typical value lies within its range"),
                "outside the range",
            ),
            Some(_) => continue,
        };
        ok = false;
        diags.push(Diagnostic::error(Code::Range, b.loc_of(&attr), why).label(label));
    }
    ok
}

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
            rto_percentile: o.str("rto_percentile").and_then(Percentile::parse),
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
