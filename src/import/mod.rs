//! Import: what already runs (record sets, the health checks they use, ECR replication) read
//! back into a topology file.
//!
//! Record sets are grouped by name into services; a service's routing policy, regions, TTL,
//! health check and endpoints come from its sets. What the language cannot express (a plain
//! record, multivalue answers, a check Meridian cannot read, regions that disagree) is not
//! dropped silently: it is listed at the top of the file and left unmanaged. What DNS cannot
//! say (the data tier, costs, objectives; the AWS region of a record that does not name it) is
//! written as a commented placeholder, or as a value `validate` refuses until it is filled in.

mod hcl;
mod service;

use crate::dns::RecordType;
use crate::provider::{LiveHealthCheck, LiveState, RecordSet, ReplicationRule};
use std::collections::BTreeMap;

/// The value written where the AWS region of a region cannot be told: `validate` refuses it
/// (no such region) until it is filled in.
pub const UNKNOWN_REGION: &str = "FILL-IN-aws-region";

/// Something that runs and is not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LeftAlone {
    /// `NAME TYPE`, or a service or rule.
    pub what: String,
    pub why: String,
}

/// A topology read back from what runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Imported {
    /// The topology file, as `meridian fmt` writes it.
    pub text: String,
    pub services: usize,
    pub registries: usize,
    /// What is not imported: listed at the top of the file too.
    pub left_alone: Vec<LeftAlone>,
    /// What import had to assume or could not know (regions whose AWS region is unknown).
    pub assumed: Vec<String>,
}

/// What import reads: zones and registry regions, and where they came from (for the header).
pub struct Request<'a> {
    pub zones: &'a [String],
    pub regions: &'a [String],
    /// The live state's source, as plans name it.
    pub source: String,
    /// For `analyze --live`: a region whose AWS region is unknown is left out (and said), so
    /// the topology validates; a file for people keeps it with a placeholder to fill in.
    pub for_analysis: bool,
}

/// The topology of what runs in `live`.
pub fn import(live: &LiveState, req: &Request) -> Imported {
    let checks: BTreeMap<&str, &LiveHealthCheck> = live
        .health_checks
        .iter()
        .map(|h| (h.id.as_str(), h))
        .collect();
    let mut left_alone = Vec::new();
    let mut assumed = Vec::new();
    let mut blocks = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    // Names an earlier Meridian's marker stands beside first: their services keep their names.
    let all = names(live, req.zones);
    let marked: Vec<bool> = all
        .keys()
        .map(|(zone, name)| !markers_at(live, zone, name).is_empty())
        .collect();
    let mut built: Vec<(usize, String)> = Vec::new();
    for pass in [true, false] {
        for (i, ((zone, name), sets)) in all.iter().enumerate() {
            if marked[i] != pass {
                continue;
            }
            let markers = markers_at(live, zone, name);
            let context = (&checks, markers.as_slice(), req.for_analysis);
            match service::build(zone, name, sets, context, &taken) {
                Ok(s) => {
                    assumed.extend(s.assumed.iter().cloned());
                    left_alone.extend(s.notes.iter().cloned());
                    taken.push(s.name.clone());
                    built.push((i, s.text));
                }
                Err(mut why) => left_alone.append(&mut why),
            }
        }
    }
    built.sort();
    blocks.extend(built.into_iter().map(|(_, t)| t));
    let services = blocks.len();
    let (registries, mut rules_left) = registries(live, req.regions);
    left_alone.append(&mut rules_left);
    left_alone.sort();
    left_alone.dedup();
    assumed.sort();
    let text = hcl::file(req, &left_alone, &blocks, &registries);
    Imported {
        text,
        services,
        registries: registries.len(),
        left_alone,
        assumed,
    }
}

/// The record sets of each name of the zones asked for, Meridian's ownership markers and the
/// zone's own SOA and NS left out.
fn names<'a>(
    live: &'a LiveState,
    zones: &[String],
) -> BTreeMap<(&'a str, &'a str), Vec<&'a RecordSet>> {
    let mut out: BTreeMap<(&str, &str), Vec<&RecordSet>> = BTreeMap::new();
    for r in live.records.iter().filter(|r| zones.contains(&r.zone)) {
        let apex = r.name == r.zone && matches!(r.record_type.as_str(), "SOA" | "NS");
        let marker =
            r.record_type == RecordType::Txt && crate::dns::marker_domain(&r.name).is_some();
        if !apex && !marker {
            out.entry((r.zone.as_str(), r.name.as_str()))
                .or_default()
                .push(r);
        }
    }
    out
}

/// Meridian's ownership markers beside `name` (an earlier Meridian's records there).
fn markers_at(live: &LiveState, zone: &str, name: &str) -> Vec<crate::identity::Marker> {
    live.records
        .iter()
        .filter(|r| {
            r.zone == zone
                && r.record_type == RecordType::Txt
                && crate::dns::marker_domain(&r.name) == Some(name)
        })
        .filter_map(|r| {
            r.values
                .first()
                .and_then(|v| crate::identity::Marker::parse(v))
        })
        .collect()
}

/// One `registry` block per replication rule of the regions asked for.
fn registries(live: &LiveState, regions: &[String]) -> (Vec<String>, Vec<LeftAlone>) {
    let mut blocks = Vec::new();
    let mut left = Vec::new();
    let mut used: Vec<String> = Vec::new();
    for region in regions {
        // Each repository once per source region (one registry block names it).
        let mut repos: Vec<String> = Vec::new();
        let rules = live
            .replication
            .get(region)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (n, rule) in rules.iter().enumerate() {
            match registry(region, n, rule, (&mut used, &mut repos)) {
                Ok(b) => blocks.push(b),
                Err(why) => left.push(LeftAlone {
                    what: format!("replication rule {} of {region}", n + 1),
                    why,
                }),
            }
        }
    }
    (blocks, left)
}

/// Why a replication rule is no `registry` block, if it is not.
fn unregistrable(region: &str, rule: &ReplicationRule, repos: &[String]) -> Option<String> {
    if rule.filters.is_empty() {
        return Some(
            "it replicates every repository (no filter); a registry block names its repositories"
                .into(),
        );
    }
    if let Some(bad) = rule
        .filters
        .iter()
        .find(|f| !crate::model::lower::valid_repository(f))
    {
        return Some(format!("its filter {bad} is a prefix, not a repository name; a registry block names repositories"));
    }
    if let Some(twice) = rule.filters.iter().find(|f| repos.contains(*f)) {
        return Some(format!("repository {twice} is in an earlier rule too; a registry block names a repository once per source"));
    }
    if rule.destinations.iter().any(|d| d == region) {
        return Some("it replicates to its own region".into());
    }
    if rule
        .destinations
        .iter()
        .any(|d| !crate::model::catalog::is_aws_region(d))
    {
        return Some(format!(
            "a destination is in another account or not a region Meridian knows: {}",
            rule.destinations.join(", ")
        ));
    }
    None
}

fn registry(
    region: &str,
    n: usize,
    rule: &ReplicationRule,
    (used, repos): (&mut Vec<String>, &mut Vec<String>),
) -> Result<String, String> {
    if let Some(why) = unregistrable(region, rule, repos) {
        return Err(why);
    }
    let base = hcl::label(
        rule.filters[0].trim_end_matches('/'),
        &format!("{region}-rule-{}", n + 1),
    );
    let name = hcl::unique(&base, used);
    used.push(name.clone());
    repos.extend(rule.filters.iter().cloned());
    Ok(format!(
        "registry {} {{\n  source = {}\n  destinations = {}\n  repositories = {}\n}}\n",
        hcl::quote(&name),
        hcl::quote(region),
        hcl::list(&rule.destinations),
        hcl::list(&rule.filters)
    ))
}

#[cfg(test)]
mod tests;
