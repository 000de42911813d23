//! One name's record sets as a `service` block: its routing policy, regions, TTL, health check
//! and endpoints, or why they cannot be one.

use super::hcl::{label, list, quote, unique};
use super::{LeftAlone, UNKNOWN_REGION};
use crate::dns::{FailoverRole, RecordType, RoutingPolicy};
use crate::identity::Marker;
use crate::provider::{LiveHealthCheck, RecordSet};
use std::collections::BTreeMap;

/// A service block and what import noted while writing it.
pub(super) struct Built {
    pub name: String,
    pub text: String,
    pub notes: Vec<LeftAlone>,
    pub assumed: Vec<String>,
}

type Checks<'a> = BTreeMap<&'a str, &'a LiveHealthCheck>;

/// The service at `name`, or why its record sets are left alone (each listed).
pub(super) fn build(
    zone: &str,
    name: &str,
    sets: &[&RecordSet],
    (checks, markers, for_analysis): (&Checks, &[Marker], bool),
    taken: &[String],
) -> Result<Built, Vec<LeftAlone>> {
    let (answers, others): (Vec<&RecordSet>, Vec<&RecordSet>) =
        sets.iter().partition(|r| r.record_type.is_endpoint());
    let mut left: Vec<LeftAlone> = others
        .iter()
        .map(|r| {
            leave(
                r,
                "not an answer Meridian manages (it plans A, AAAA and CNAME sets and aliases)",
            )
        })
        .collect();
    if let ([alias], false) = (answers.as_slice(), for_analysis) {
        if let Some(a) = alias.alias.as_ref().filter(|_| is_accelerator(alias)) {
            let service = service_name(zone, name, &answers, markers, taken);
            let text = accelerated(&service, zone, name, &a.dns_name);
            return Ok(Built {
                assumed: vec![format!("service {service}: behind Global Accelerator {}, whose regions DNS does not name: one region is written for you to fill in (its label, aws_region and endpoint), and the accelerator's timing", a.dns_name.trim_end_matches('.'))],
                name: service,
                text,
                notes: left,
            });
        }
    }
    let routing = match policy(&answers) {
        Ok(r) => r,
        Err(why) => {
            left.extend(answers.iter().map(|r| leave(r, &why)));
            return Err(left);
        }
    };
    let service = service_name(zone, name, &answers, markers, taken);
    let mut b = Builder {
        service: service.clone(),
        notes: left,
        assumed: Vec::new(),
        for_analysis,
        marked: !markers.is_empty(),
        used_aws: Vec::new(),
        comments: Vec::new(),
        own_checks: BTreeMap::new(),
    };
    match b.text(zone, name, routing, &answers, checks) {
        Ok(text) => Ok(Built {
            name: service,
            text,
            notes: b.notes,
            assumed: b.assumed,
        }),
        Err(why) => {
            let mut left = b.notes;
            left.extend(answers.iter().map(|r| leave(r, &why)));
            Err(left)
        }
    }
}

fn leave(r: &RecordSet, why: &str) -> LeftAlone {
    LeftAlone {
        what: format!("{} {}", r.name, r.describe()),
        why: why.to_string(),
    }
}

/// The one routing policy of a name's answers, or why there is none the language has.
fn policy(answers: &[&RecordSet]) -> Result<&'static str, String> {
    let kinds: std::collections::BTreeSet<&str> =
        answers.iter().map(|r| r.routing.kind()).collect();
    match kinds.into_iter().collect::<Vec<_>>().as_slice() {
        [] => Err("no answers".into()),
        ["unmanaged"] => Err("multivalue answers, or routing Meridian does not manage (CIDR, geoproximity, a traffic policy)".into()),
        ["simple"] if answers.iter().any(|r| is_accelerator(r)) => Err("an alias to a Global Accelerator: the regions behind it are not in DNS, so it is not analyzed (`meridian import` writes it with a region to fill in)".into()),
        ["simple"] => Err("a plain record with no routing policy: Meridian plans latency, weighted, failover and geolocation records".into()),
        [one] => Ok(one),
        _ => Err("its sets mix routing policies".into()),
    }
}

/// A service behind a Global Accelerator: its one alias record is what Meridian plans, and its
/// regions (which only the analysis reads) are placeholders that `validate` refuses until they
/// are filled in.
fn accelerated(service: &str, zone: &str, name: &str, accelerator: &str) -> String {
    format!(
        "service {} {{\n  # Behind a Global Accelerator: DNS does not say which regions serve it. Write one\n  # region block per endpoint group (its label, aws_region and endpoint), and the\n  # accelerator's timing, for the analysis; the plan makes the one alias record only.\n  zone = {}\n  domain = {}\n  routing = \"latency\"\n  anycast {{\n    accelerator = {}\n    # interval     = 30\n    # threshold    = 3\n    # lb_detection = \"30s\"\n  }}\n  region \"FILL-IN-region\" {{\n    aws_region = {}\n    ips = [\"FILL-IN-address\"]\n  }}\n{}}}\n",
        quote(service),
        quote(zone),
        quote(name),
        quote(accelerator.trim_end_matches('.')),
        quote(UNKNOWN_REGION),
        placeholders("us-east-1"),
    )
}

fn is_accelerator(r: &RecordSet) -> bool {
    r.alias
        .as_ref()
        .is_some_and(|a| a.hosted_zone_id == crate::model::GLOBAL_ACCELERATOR_ZONE_ID)
}

/// The service's name: the one an earlier Meridian's marker names, else the name's first
/// label (the zone's, at the apex); unique among those taken.
fn service_name(
    zone: &str,
    name: &str,
    answers: &[&RecordSet],
    markers: &[Marker],
    taken: &[String],
) -> String {
    let candidates: Vec<String> = answers
        .iter()
        .filter_map(|r| r.set_identifier.as_deref())
        .flat_map(|s| s.match_indices('-').map(|(i, _)| s[..i].to_string()))
        .collect();
    let from_marker = markers.iter().find_map(|m| m.service_among(&candidates));
    let first = if name == zone {
        zone.split('.').next()
    } else {
        name.split('.').next()
    };
    let base = from_marker.unwrap_or_else(|| label(first.unwrap_or("service"), "service"));
    unique(&base, taken)
}

struct Builder {
    service: String,
    notes: Vec<LeftAlone>,
    assumed: Vec<String>,
    /// A service with a region whose AWS region is unknown is left out rather than written
    /// with a value to fill in.
    for_analysis: bool,
    /// An earlier Meridian wrote these records (a marker stands beside them): its set
    /// identifiers are `SERVICE-LABEL`, and the label is kept.
    marked: bool,
    /// The AWS regions the service's regions are in, as far as DNS says (for an analysis, an
    /// unknown one is assumed to be another).
    used_aws: Vec<String>,
    /// Comments written at the top of the service block.
    comments: Vec<String>,
    /// Where the regions' checks differ: each checked region's own `health_check` block, by
    /// the group it is built from.
    own_checks: BTreeMap<String, String>,
}

impl Builder {
    fn text(
        &mut self,
        zone: &str,
        name: &str,
        routing: &str,
        answers: &[&RecordSet],
        checks: &Checks,
    ) -> Result<String, String> {
        let groups = regions(&self.service, routing, answers, self.marked);
        self.used_aws = groups
            .values()
            .filter_map(|sets| sets.iter().find_map(|r| known_region(r)))
            .collect();
        let ttl = ttl(answers)?;
        let check = self.health_check(&groups, checks)?;
        let mut labels: Vec<String> = Vec::new();
        let mut blocks = String::new();
        for (base, sets) in &groups {
            blocks.push_str(&self.region(base, sets, routing, &mut labels)?);
        }
        let mut s = format!("service {} {{\n", quote(&self.service));
        for c in &self.comments {
            s.push_str(&format!("  # {c}\n"));
        }
        s.push_str(&format!(
            "  zone = {}\n  domain = {}\n  routing = {}\n",
            quote(zone),
            quote(name),
            quote(routing)
        ));
        if let Some(ttl) = ttl {
            s.push_str(&format!("  ttl = {ttl}\n"));
        }
        s.push_str(&check.unwrap_or_default());
        s.push_str(&blocks);
        s.push_str(&placeholders(
            self.used_aws.first().map_or("us-east-1", String::as_str),
        ));
        s.push_str("}\n");
        Ok(s)
    }

    /// The service's `health_check` where every region has one and they agree but for the
    /// endpoint they probe; else None, and each checked region gets its own (`own_checks`).
    fn health_check(
        &mut self,
        groups: &BTreeMap<String, Vec<&RecordSet>>,
        checks: &Checks,
    ) -> Result<Option<String>, String> {
        let mut per_region = BTreeMap::new();
        for (base, sets) in groups {
            let id = sets.iter().find_map(|r| r.health_check_id.as_deref());
            let check = match id {
                None => None,
                Some(id) => match checks.get(id) {
                    Some(h) => Some(*h),
                    None => return Err(format!("it uses health check {id}, which is not among the checks Meridian can read (a CALCULATED, CLOUDWATCH_METRIC or RECOVERY_CONTROL check, another account's, or one that is gone)")),
                },
            };
            per_region.insert(base.clone(), check);
        }
        for h in per_region.values().flatten() {
            if !h.drift.is_empty() {
                let said = format!(
                    "health check {} has {} turned on, which a plan turns off",
                    h.id,
                    h.drift.join(", ")
                );
                if !self.comments.contains(&said) {
                    self.assumed
                        .push(format!("service {}: {said}", self.service));
                    self.comments.push(said);
                }
            }
        }
        let mut all = per_region.values();
        let first = all.next().copied().flatten();
        let agree =
            first.is_some_and(|f| all.all(|h| h.is_some_and(|h| settings(h) == settings(f))));
        if agree {
            return Ok(first.map(check_block));
        }
        self.own_checks = per_region
            .into_iter()
            .filter_map(|(base, h)| Some((base, check_block(h?))))
            .collect();
        Ok(None)
    }

    fn region(
        &mut self,
        base: &str,
        sets: &[&RecordSet],
        routing: &str,
        labels: &mut Vec<String>,
    ) -> Result<String, String> {
        let meridian = base
            .strip_prefix(&format!("{}-", self.service))
            .filter(|_| self.marked);
        let latency = sets.iter().find_map(|r| match &r.routing {
            RoutingPolicy::Latency { region } => Some(region.clone()),
            _ => None,
        });
        let raw = meridian
            .map(str::to_string)
            .or_else(|| latency.clone())
            .unwrap_or_else(|| base.to_string());
        let name = unique(&label(&raw, "region"), labels);
        labels.push(name.clone());
        let aws = latency
            .or_else(|| crate::model::catalog::is_aws_region(&name).then(|| name.clone()))
            .or_else(|| sets.iter().find_map(|r| region_in(r)));
        let mut s = format!("  region {} {{\n", quote(&name));
        match aws {
            Some(a) if a == name => {}
            Some(a) => s.push_str(&format!("    aws_region = {}\n", quote(&a))),
            None if self.for_analysis => {
                // Distinct from the service's others: what recovery depends on.
                let other = crate::model::catalog::AWS_REGIONS
                    .iter()
                    .find(|r| !self.used_aws.iter().any(|u| u == *r))
                    .map_or("us-east-1", |r| *r)
                    .to_string();
                self.assumed.push(format!(
                    "service {} region {name}: its AWS region is not in DNS (set {base}); analyzed as if in {other}, a region none of its others is in",
                    self.service
                ));
                s.push_str(&format!("    aws_region = {}\n", quote(&other)));
                self.used_aws.push(other);
            }
            None => {
                self.assumed.push(format!(
                    "service {} region {name}: its AWS region is not in DNS (set {base}); aws_region = \"{UNKNOWN_REGION}\" is written for you to fill in",
                    self.service
                ));
                s.push_str(&format!(
                    "    # DNS does not say which AWS region this is: fill it in.\n    aws_region = {}\n",
                    quote(UNKNOWN_REGION)
                ));
            }
        }
        // A set identifier Meridian would not give the record is kept as it is.
        let location = match &sets[0].routing {
            RoutingPolicy::Geolocation { location } if sets.len() == 1 => Some(location.as_str()),
            _ => None,
        };
        let own = crate::model::set_identifier(&self.service, &name, location);
        if let Some(id) = sets[0].set_identifier.as_deref().filter(|id| *id != own) {
            if sets.len() == 1 {
                s.push_str(&format!("    set_identifier = {}\n", quote(id)));
            }
        }
        s.push_str(&routing_attr(routing, sets));
        s.push_str(&endpoint(sets)?);
        if let Some(check) = self.own_checks.get(base) {
            s.push_str(check);
        }
        s.push_str("  }\n");
        Ok(s)
    }
}

/// What DNS cannot say, as commented placeholders inside each service.
fn placeholders(primary: &str) -> String {
    format!("  # Not in DNS; fill in for the RTO floor, RPO and cost:\n  # data {{\n  #   pattern         = \"primary-replica\"\n  #   primary         = \"{primary}\"\n  #   replication_lag = \"1s\"\n  #   promotion       = \"60s\"\n  # }}\n  # cost {{\n  #   compute_per_region = 0\n  # }}\n")
}

/// The AWS region a set says it is in: its latency region, a set identifier that is a region
/// name, or a region named in its endpoint.
fn known_region(r: &RecordSet) -> Option<String> {
    match &r.routing {
        RoutingPolicy::Latency { region } => Some(region.clone()),
        _ => r
            .set_identifier
            .clone()
            .filter(|s| crate::model::catalog::is_aws_region(s))
            .or_else(|| region_in(r)),
    }
}

/// The sets of each region: by set identifier, a geolocation region's one per location (a
/// set identifier `BASE-LOCATION` groups under BASE, as Meridian writes them).
fn regions<'a>(
    service: &str,
    routing: &str,
    answers: &[&'a RecordSet],
    marked: bool,
) -> BTreeMap<String, Vec<&'a RecordSet>> {
    let mut out: BTreeMap<String, Vec<&RecordSet>> = BTreeMap::new();
    for r in answers {
        let id = r
            .set_identifier
            .clone()
            .unwrap_or_else(|| service.to_string());
        let base = match (&r.routing, routing) {
            (RoutingPolicy::Geolocation { location }, "geolocation") if marked => {
                let tag = if location == "*" {
                    "default"
                } else {
                    location.as_str()
                };
                id.strip_suffix(&format!("-{tag}"))
                    .filter(|b| b.starts_with(&format!("{service}-")))
                    .map_or(id.clone(), str::to_string)
            }
            _ => id,
        };
        out.entry(base).or_default().push(r);
    }
    out
}

/// The service's TTL: one for every set that has one (aliases have none); none when every set
/// is an alias.
fn ttl(answers: &[&RecordSet]) -> Result<Option<u32>, String> {
    let mut ttls: Vec<u32> = answers.iter().filter_map(|r| r.ttl).collect();
    ttls.sort_unstable();
    ttls.dedup();
    match ttls.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(format!(
            "its sets have different TTLs ({}): a service has one",
            ttls.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The region's `weight`, `role` or `locations`.
fn routing_attr(routing: &str, sets: &[&RecordSet]) -> String {
    match (routing, &sets[0].routing) {
        ("weighted", RoutingPolicy::Weighted { weight }) => format!("    weight = {weight}\n"),
        ("failover", RoutingPolicy::Failover { role }) => format!(
            "    role = {}\n",
            quote(if *role == FailoverRole::Primary {
                "primary"
            } else {
                "secondary"
            })
        ),
        ("geolocation", _) => {
            let mut locations: Vec<String> = sets
                .iter()
                .filter_map(|r| match &r.routing {
                    RoutingPolicy::Geolocation { location } => Some(location.clone()),
                    _ => None,
                })
                .collect();
            locations.dedup();
            format!("    locations = {}\n", list(&locations))
        }
        _ => String::new(),
    }
}

/// The region's endpoint: `target`, `ips` or `alias`.
fn endpoint(sets: &[&RecordSet]) -> Result<String, String> {
    let first = sets[0];
    // One region is one record: a geolocation region's records (one per location) must give
    // the same answer; a set identifier with A and AAAA sets is two answers.
    if let Some(other) = sets.iter().find(|r| {
        r.record_type != first.record_type || r.values != first.values || r.alias != first.alias
    }) {
        return Err(if other.record_type == first.record_type {
            "the records of one region give different answers: Meridian plans one answer per region"
                .into()
        } else {
            format!(
                "one region answers with {} and {} sets (dual stack): Meridian plans one record per region",
                first.record_type, other.record_type
            )
        });
    }
    if let Some(a) = &first.alias {
        if a.hosted_zone_id == crate::graph::SAME_ZONE {
            return Err("an alias to a name of its own zone (a failover_to tree, or another record): not imported".into());
        }
        return Ok(format!(
            "    alias {{\n      name = {}\n      zone_id = {}\n      evaluate_target_health = {}\n    }}\n",
            quote(a.dns_name.trim_end_matches('.')),
            quote(&a.hosted_zone_id),
            a.evaluate_target_health
        ));
    }
    match (&first.record_type, first.values.as_slice()) {
        (RecordType::Cname, [one]) => Ok(format!(
            "    target = {}\n",
            quote(one.trim_end_matches('.'))
        )),
        (RecordType::Cname, _) => Err("a CNAME set with several values".into()),
        _ => Ok(format!("    ips = {}\n", list(&first.values))),
    }
}

/// The AWS region an endpoint's name carries (`...us-east-1.elb.amazonaws.com`).
fn region_in(r: &RecordSet) -> Option<String> {
    let names: Vec<&str> = r
        .alias
        .iter()
        .map(|a| a.dns_name.as_str())
        .chain(r.values.iter().map(String::as_str))
        .chain(r.set_identifier.as_deref())
        .collect();
    names.iter().find_map(|n| {
        crate::model::catalog::AWS_REGIONS
            .iter()
            .filter(|region| n.contains(*region))
            .max_by_key(|region| region.len())
            .map(|r| (*r).to_string())
    })
}

/// What a `health_check` block says of a live check (all but its endpoint).
fn settings(h: &LiveHealthCheck) -> impl PartialEq + '_ {
    let c = &h.config;
    (
        c.kind,
        c.port,
        &c.resource_path,
        c.request_interval,
        c.failure_threshold,
        &c.regions,
        &c.search_string,
    )
}

/// A `health_check` block from a live check's settings.
fn check_block(h: &LiveHealthCheck) -> String {
    let c = &h.config;
    let mut s = format!("  health_check {{\n    type = {}\n", quote(c.kind.as_str()));
    if Some(c.port) != c.kind.default_port() {
        s.push_str(&format!("    port = {}\n", c.port));
    }
    if let Some(p) = &c.resource_path {
        s.push_str(&format!("    path = {}\n", quote(p)));
    }
    s.push_str(&format!(
        "    interval = {}\n    failure_threshold = {}\n",
        c.request_interval, c.failure_threshold
    ));
    if !c.regions.is_empty() {
        s.push_str(&format!("    regions = {}\n", list(&c.regions)));
    }
    if let Some(x) = &c.search_string {
        s.push_str(&format!("    search_string = {}\n", quote(x)));
    }
    s.push_str("  }\n");
    s
}
