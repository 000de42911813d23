//! The checks behind each rule. Each function finds one rule's problems in a valid topology;
//! levels and suppressions are applied by the caller.

use super::{Finding, RuleId};
use crate::analysis::detection;
use crate::analysis::{self, steady_shares};
use crate::diagnostics::Label;
use crate::model::{DataPattern, Endpoint, Fallback, Needed, Region, Routing, Service, Topology};
use crate::source::Loc;
use std::collections::{BTreeMap, BTreeSet};

use crate::analysis::needs::GAME_DAY;

/// Every rule's findings, unordered, at their default levels.
pub fn check(t: &Topology, a: &analysis::Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in t.services.values() {
        out.extend(cross_region(t, s));
        out.extend(images(t, s));
        out.extend(undeclared_images(t, s));
        out.extend(engine_undeclared(s));
        out.extend(unchecked(t, s));
        out.extend(unchecked_elsewhere(t, s));
        out.extend(ttl_rules(s));
        out.extend(scale_up_unused(s));
        out.extend(geolocation_default(s));
        out.extend(stale_user_data(s));
        out.extend(partial_failure(t, s));
        if let Some(sa) = a.services.get(&s.name) {
            out.extend(no_second_region(s, sa));
            out.extend(lag_over_rpo(t, s, a));
        }
    }
    out.extend(short_caches(t));
    out
}

fn finding(rule: RuleId, loc: &Loc, label: &str, message: String, help: String) -> Finding {
    Finding {
        rule,
        level: rule.rule().level,
        message,
        primary: Label {
            loc: loc.clone(),
            text: label.into(),
        },
        secondary: Vec::new(),
        help,
        service: None,
        suppressed: None,
    }
}

fn about(mut f: Finding, s: &Service) -> Finding {
    f.service = Some(s.name.clone());
    f
}

fn secondary(mut f: Finding, loc: &Loc, text: String) -> Finding {
    f.secondary.push(Label {
        loc: loc.clone(),
        text,
    });
    f
}

/// The regions (labels) of `s` that need `name` from another AWS region, by where the need is
/// written, for one fallback.
fn remote_needs<'a>(
    t: &'a Topology,
    s: &'a Service,
    wanted: impl Fn(Fallback) -> bool,
) -> BTreeMap<(&'a str, Loc), (Needed<'a>, Vec<&'a Region>)> {
    let mut out: BTreeMap<(&str, Loc), (Needed, Vec<&Region>)> = BTreeMap::new();
    for (label, r) in &s.regions {
        for (n, at) in t.needs(s, label) {
            if n.aws_regions().contains(&r.aws_region.as_str()) || !wanted(n.fallback()) {
                continue;
            }
            out.entry((n.name(), at.clone()))
                .or_insert((n, Vec::new()))
                .1
                .push(r);
        }
    }
    out
}

fn names(regions: &[&Region]) -> String {
    let set: BTreeSet<&str> = regions.iter().map(|r| r.aws_region.as_str()).collect();
    set.into_iter().collect::<Vec<_>>().join(", ")
}

/// SS001: a region calls something that lives only elsewhere, with no fallback.
fn cross_region(t: &Topology, s: &Service) -> Vec<Finding> {
    let mut out = Vec::new();
    for ((name, at), (n, regions)) in remote_needs(t, s, |f| f == Fallback::None) {
        let homes = n.aws_regions().join(", ");
        let callers = names(&regions);
        let (what, help, home) = match n {
            Needed::Dependency(d) => (
                format!("dependency \"{name}\""),
                format!("replicate {name} to {callers} (regions = [...]) or give its callers a fallback (fallback = \"local-cache\", \"replica\" or \"static\")"),
                &d.loc,
            ),
            Needed::Service(o) => (
                if o.routing == Routing::Failover {
                    format!("service \"{name}\" (failover: its primary answers)")
                } else {
                    format!("service \"{name}\"")
                },
                format!("run {name} in {callers} too, or take the call out of the request path (a queue, a cache)"),
                &o.loc,
            ),
        };
        let f = finding(
            RuleId::Ss001,
            &at,
            "cross-region call in the request path",
            format!("{} in {callers} calls {what}, which lives only in {homes}, with no fallback: losing or isolating {homes} stalls it", s.name),
            help,
        );
        out.push(about(
            secondary(f, home, format!("lives only in {homes}")),
            s,
        ));
    }
    out
}

/// SS009: a local cache that runs out before the game day's 30 minutes end.
fn short_caches(t: &Topology) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in t.dependencies.values() {
        let Some(ttl) = d.cache_ttl.filter(|ttl| *ttl < GAME_DAY) else {
            continue;
        };
        let mut callers: BTreeSet<String> = BTreeSet::new();
        for s in t.services.values() {
            for (key, (_, regions)) in remote_needs(t, s, |f| f == Fallback::LocalCache) {
                if key.0 == d.name {
                    callers.extend(
                        regions
                            .iter()
                            .map(|r| format!("{} in {}", s.name, r.aws_region)),
                    );
                }
            }
        }
        if callers.is_empty() {
            continue;
        }
        let at = d.cache_ttl_loc.as_ref().unwrap_or(&d.loc);
        let callers: Vec<String> = callers.into_iter().collect();
        out.push(finding(
            RuleId::Ss009,
            at,
            "shorter than a 30-minute isolation",
            format!(
                "the local cache of \"{}\" runs out after {ttl}: when {} is out of reach for longer, its callers stall ({}); a game day blocks cross-region traffic for 30 minutes",
                d.name,
                d.regions.join(", "),
                callers.join(", ")
            ),
            "keep serving the last known values without expiry (unset cache_ttl) or for longer than a region outage lasts, or replicate the dependency".into(),
        ));
    }
    out
}

/// SS002: a region runs a service whose images are not kept in that region.
fn images(t: &Topology, s: &Service) -> Vec<Finding> {
    let Some(reg) = s.images.as_ref().and_then(|i| t.registries.get(i)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in s.regions.values() {
        if r.aws_region == reg.source || reg.destinations.contains(&r.aws_region) {
            continue;
        }
        let f = finding(
            RuleId::Ss002,
            &r.loc,
            "no images in this region",
            format!(
                "{} runs in {}, but registry \"{}\" neither lives there nor replicates there: when {} is lost, {} cannot pull images to start or scale",
                s.name, r.aws_region, reg.name, reg.source, r.aws_region
            ),
            format!("add \"{}\" to the destinations of registry \"{}\"", r.aws_region, reg.name),
        );
        let to = if reg.destinations.is_empty() {
            "nowhere".to_string()
        } else {
            reg.destinations.join(", ")
        };
        let f = secondary(
            f,
            &reg.loc,
            format!("source {}, replicated to {to}", reg.source),
        );
        out.push(about(f, s));
    }
    out
}

/// SS011: a witness whose engine is not declared, so its placement cannot be checked.
fn engine_undeclared(s: &Service) -> Vec<Finding> {
    let Some(d) = &s.data else { return Vec::new() };
    let unchecked = matches!(d.engine, None | Some(crate::model::Engine::Other));
    let Some(w) = d.witness.as_ref().filter(|_| unchecked) else {
        return Vec::new();
    };
    let at = s.block_locs.get("data").unwrap_or(&s.loc);
    let f = finding(
        RuleId::Ss011,
        at,
        "no `engine`",
        format!(
            "{} counts {w} as a witness but declares no known `engine`: whether the engine accepts a witness there (DynamoDB: only in the replicas' Region set) cannot be checked",
            s.name
        ),
        "declare the engine: engine = \"dynamodb\" (or aurora, elasticache, other)".into(),
    );
    vec![about(f, s)]
}

/// SS010: no `images`, but a registry holds a repository named after the service and does not
/// reach every region it runs in.
fn undeclared_images(t: &Topology, s: &Service) -> Vec<Finding> {
    if s.images.is_some() {
        return Vec::new();
    }
    // ECR names are lower case; a service may be named `Api`.
    let name = s.name.to_ascii_lowercase();
    let named = |repo: &str| repo == name || repo.rsplit('/').next() == Some(name.as_str());
    let mut out = Vec::new();
    for reg in t.registries.values() {
        let Some(repo) = reg.repositories.iter().find(|r| named(r)) else {
            continue;
        };
        let mut lacking: Vec<&str> = s
            .regions
            .values()
            .map(|r| r.aws_region.as_str())
            .filter(|a| *a != reg.source && !reg.destinations.iter().any(|d| d == a))
            .collect();
        lacking.sort_unstable();
        lacking.dedup();
        if lacking.is_empty() {
            continue;
        }
        let f = finding(
            RuleId::Ss010,
            &s.loc,
            "no `images`",
            format!(
                "{} declares no `images`, but registry \"{}\" holds repository \"{repo}\", named like it, and does not replicate it to {}: if that is where its images come from, {} cannot pull images to start or scale once {} is lost",
                s.name,
                reg.name,
                lacking.join(", "),
                lacking.join(", "),
                reg.source
            ),
            format!(
                "declare the link (images = \"{}\") and add {} to the registry's destinations, or rename the repository if it is not {}'s",
                reg.name,
                lacking.join(", "),
                s.name
            ),
        );
        let f = secondary(
            f,
            &reg.loc,
            format!("holds \"{repo}\", source {}", reg.source),
        );
        out.push(about(f, s));
    }
    out
}

/// True when something on the data plane takes region `r` out of the answers when it fails.
/// An alias with `evaluate_target_health` to a record group of the same zone inherits that
/// group's health: it is watched only if something watches the group (down the alias chain,
/// the analysis's rule); a load balancer's or an undeclared group's checks are not judged here.
fn detected(t: &Topology, s: &Service, r: &Region) -> bool {
    let inherited = |a: &crate::model::Alias| match analysis::same_zone_group(t, &s.zone, &a.name) {
        None => true,
        Some(g) => g
            .regions
            .values()
            .any(|gr| analysis::watching_threshold(g, t, &gr.aws_region).is_some()),
    };
    s.check(r).is_some()
        || s.anycast.as_ref().is_some_and(|a| a.accelerator.is_some())
        || matches!(&r.endpoint, Endpoint::Alias(a) if a.evaluate_target_health && inherited(a))
}

/// SS003 (non-failover routing) and SS007 (failover primaries): a region nothing on the data
/// plane takes out of the answers.
fn unchecked(t: &Topology, s: &Service) -> Vec<Finding> {
    let aws: BTreeSet<&str> = s.regions.values().map(|r| r.aws_region.as_str()).collect();
    let mut out = Vec::new();
    for r in s.regions.values().filter(|r| !detected(t, s, r)) {
        let f = if s.routing == Routing::Failover {
            if r.role != Some(crate::model::Role::Primary) {
                continue;
            }
            finding(
                RuleId::Ss007,
                &r.loc,
                "no health check watches the primary",
                format!("the failover primary of {} in {} has no health check: Route 53 keeps answering with it when it is lost, and failing over means editing the records through the control plane in us-east-1", s.name, r.aws_region),
                "add a health_check block to the service or the region (or an alias with evaluate_target_health = true)".into(),
            )
        } else if aws.len() > 1 {
            finding(
                RuleId::Ss003,
                &r.loc,
                "only a control-plane write moves its traffic",
                format!("nothing on the data plane takes {} of {} out of the answers: moving its users means a ChangeResourceRecordSets call to Route 53's control plane in us-east-1 during the incident", r.aws_region, s.name),
                "add a health_check block to the service or the region (or alias records with evaluate_target_health = true), so failover rides on Route 53's data plane".into(),
            )
        } else {
            continue;
        };
        out.push(about(f, s));
    }
    out
}

/// SS012: a region nothing marks unhealthy that SS003 and SS007 leave unsaid (a failover
/// secondary, a service in one AWS region).
fn unchecked_elsewhere(t: &Topology, s: &Service) -> Vec<Finding> {
    let aws: BTreeSet<&str> = s.regions.values().map(|r| r.aws_region.as_str()).collect();
    let primary_watched = s
        .regions
        .values()
        .any(|r| r.role == Some(crate::model::Role::Primary) && detected(t, s, r));
    let help =
        "add a health_check block to the service or the region, or an alias with evaluate_target_health = true";
    s.regions
        .values()
        .filter(|r| !detected(t, s, r))
        .filter_map(|r| {
            let message = match s.routing {
                // With an unwatched primary nothing fails over (SS007 says so): the
                // secondary's own check matters only once failover can happen.
                Routing::Failover if r.role == Some(crate::model::Role::Primary) => return None,
                Routing::Failover if !primary_watched => return None,
                Routing::Failover => format!("the failover secondary \"{}\" of {} has no health check: when the primary fails, Route 53 sends every user to it whether it is up or not", r.name, s.name),
                _ if aws.len() > 1 => return None,
                _ => format!("region \"{}\" of {} has no health check: Route 53 will keep sending it traffic when it fails", r.name, s.name),
            };
            Some(about(
                finding(RuleId::Ss012, &r.loc, "never marked unhealthy", message, help.into()),
                s,
            ))
        })
        .collect()
}

/// SS013 (a TTL that slows a health-checked failover) and SS014 (a TTL on aliases only).
fn ttl_rules(s: &Service) -> Vec<Finding> {
    let Some(at) = s.value_locs.get("ttl") else {
        return Vec::new();
    };
    let all_alias = !s.regions.is_empty()
        && s.regions
            .values()
            .all(|r| matches!(r.endpoint, Endpoint::Alias(_)));
    let checked = s.has_check()
        || s.regions
            .values()
            .any(|r| matches!(&r.endpoint, Endpoint::Alias(a) if a.evaluate_target_health));
    let f = if all_alias {
        finding(
            RuleId::Ss014,
            at,
            "ignored",
            format!(
                "`ttl` has no effect: every region of service \"{}\" is an alias record",
                s.name
            ),
            "alias records to a load balancer use a fixed 60 s TTL; remove `ttl`".into(),
        )
    } else if s.ttl > crate::model::lower::HIGH_TTL && checked {
        finding(
            RuleId::Ss013,
            at,
            "slow failover",
            format!(
                "a TTL of {0} s on a health-checked record delays failover by up to {0} s",
                s.ttl
            ),
            "AWS recommends 60 s or less with health checks; 60-120 s is the common range".into(),
        )
    } else {
        return Vec::new();
    };
    vec![about(f, s)]
}

/// SS015: `scale_up` on a region at full capacity.
fn scale_up_unused(s: &Service) -> Vec<Finding> {
    s.regions
        .values()
        .filter(|r| r.capacity >= 1.0)
        .filter_map(|r| {
            let at = r.scale_up_loc.as_ref()?;
            Some(about(
                finding(
                    RuleId::Ss015,
                    at,
                    "unused",
                    format!(
                        "region \"{}\" already runs at full capacity: `scale_up` has no effect",
                        r.name
                    ),
                    "set `capacity` below 1 for a warm standby, or remove `scale_up`".into(),
                ),
                s,
            ))
        })
        .collect()
}

/// SS016: geolocation routing with no `*` default location.
fn geolocation_default(s: &Service) -> Vec<Finding> {
    let defaulted = s
        .regions
        .values()
        .any(|r| r.locations.iter().any(|l| l == "*"));
    if s.routing != Routing::Geolocation || defaulted || s.regions.is_empty() {
        return Vec::new();
    }
    let at = s.value_locs.get("routing").unwrap_or(&s.loc);
    vec![about(
        finding(
            RuleId::Ss016,
            at,
            "no default location",
            "geolocation routing without a \"*\" default: resolvers outside every listed location get no answer".into(),
            "add \"*\" to the locations of one region".into(),
        ),
        s,
    )]
}

/// SS004: latency or geolocation routing that strands users when a region is lost.
fn no_second_region(s: &Service, sa: &analysis::ServiceAnalysis) -> Vec<Finding> {
    if !matches!(s.routing, Routing::Latency | Routing::Geolocation) {
        return Vec::new();
    }
    let aws: BTreeSet<&str> = s.regions.values().map(|r| r.aws_region.as_str()).collect();
    if aws.len() == 1 {
        let only = aws.into_iter().next().unwrap_or_default();
        return vec![about(
            finding(
                RuleId::Ss004,
                &s.loc,
                "one region only",
                format!("{} routes by {} to one AWS region, {only}: nothing takes its users when {only} is lost", s.name, s.routing.as_str()),
                "add a region in another AWS region".into(),
            ),
            s,
        )];
    }
    let mut out = Vec::new();
    for l in sa.region_losses.iter().filter(|l| !l.stranded.is_empty()) {
        let Some(r) = l.labels.first().and_then(|label| s.regions.get(label)) else {
            continue;
        };
        out.push(about(
            finding(
                RuleId::Ss004,
                &r.loc,
                "its users have no second region",
                format!("losing {} leaves {}'s users in {} with no record: no other region serves those locations and the \"*\" default is lost too", l.region, s.name, places(&l.stranded)),
                "serve those locations from a second region, or put the \"*\" default in another AWS region".into(),
            ),
            s,
        ));
    }
    out
}

/// Geolocation codes for people: `*` is "the rest of the world".
fn places(codes: &[String]) -> String {
    let named: Vec<&str> = codes
        .iter()
        .map(|c| {
            if c == "*" {
                "the rest of the world (*)"
            } else {
                c.as_str()
            }
        })
        .collect();
    named.join(", ")
}

/// SS005: user-scoped data read from asynchronous replicas in regions that serve traffic.
fn stale_user_data(s: &Service) -> Vec<Finding> {
    let Some(d) = s.data.as_ref().filter(|d| d.user_scoped) else {
        return Vec::new();
    };
    if d.pattern != DataPattern::PrimaryReplica {
        return Vec::new();
    }
    let shares = steady_shares(s);
    let readers: BTreeSet<&str> = s
        .regions
        .values()
        .filter(|r| Some(&r.name) != d.primary.as_ref())
        .filter(|r| shares.get(&r.name).is_some_and(|x| *x > 0.0))
        .map(|r| r.aws_region.as_str())
        .collect();
    if readers.is_empty() {
        return Vec::new();
    }
    let lag = d
        .replication_lag
        .map_or_else(String::new, |l| format!(" (lag {l})"));
    let at = s.block_locs.get("data").unwrap_or(&s.loc);
    vec![about(
        finding(
            RuleId::Ss005,
            at,
            "user-scoped data on asynchronous replicas",
            format!(
                "{} serves user-scoped data from replicas in {} that lag the primary in {}{lag}: a user can read a session, entitlement or balance already changed or deleted there",
                s.name,
                readers.into_iter().collect::<Vec<_>>().join(", "),
                d.primary.as_deref().unwrap_or("another region"),
            ),
            "route each user to the region that holds their data (pattern = \"partitioned\"), read user-scoped data from the primary, or accept eventual consistency explicitly and suppress this with the reason".into(),
        ),
        s,
    )]
}

/// SS006: a declared lag the RPO objective cannot absorb. It fires exactly where the RPO
/// objective's verdict puts the service over: the figure it gates on is the analysis's
/// (`rpo_case`), never recomputed here.
fn lag_over_rpo(t: &Topology, s: &Service, a: &analysis::Analysis) -> Vec<Finding> {
    let Some(rpo) = t.objectives.as_ref().and_then(|o| o.rpo) else {
        return Vec::new();
    };
    let over = a
        .objective(analysis::ObjectiveKind::Rpo)
        .and_then(|o| o.figure(&s.name))
        .is_some_and(|f| f.over);
    if !over {
        return Vec::new();
    }
    let sa = a.services.get(&s.name);
    let Some(lag) = sa.and_then(|x| analysis::rpo_of(x, a.verdict.rpo_case)) else {
        return Vec::new();
    };
    let what = match a.verdict.rpo_case {
        crate::model::RpoCase::Typical => "replication lag",
        _ if sa.and_then(|x| x.rpo_worst_seconds).is_some() => "worst-case replication lag",
        _ => "replication lag",
    };
    let at = s.block_locs.get("data").unwrap_or(&s.loc);
    let f = finding(
        RuleId::Ss006,
        at,
        "lag over the RPO",
        format!("{}'s {what} {lag} exceeds the RPO objective {rpo}: losing the primary's region loses more writes than the objective allows", s.name),
        "replicate faster (synchronous or quorum writes), or agree on a looser RPO".into(),
    );
    let f = match t.objectives.as_ref().and_then(|o| o.loc.as_ref()) {
        Some(o) => secondary(f, o, format!("rpo = {rpo}")),
        None => f,
    };
    vec![about(f, s)]
}

/// SS008: threshold checks under an RTO objective cannot see a sick-but-reachable region.
fn partial_failure(t: &Topology, s: &Service) -> Vec<Finding> {
    if t.objectives.as_ref().and_then(|o| o.rto).is_none() {
        return Vec::new();
    }
    // The first region's check (regions may have their own).
    let check = s
        .regions
        .values()
        .find_map(|r| s.check(r).map(|h| (h, s.check_loc(r))));
    let (n, what, at) = match (&s.anycast, check) {
        (Some(a), _) if a.accelerator.is_some() => (
            a.threshold,
            "accelerator health check",
            s.block_locs.get("anycast"),
        ),
        (_, Some((h, at))) => (h.failure_threshold, "health check", at),
        _ => return Vec::new(),
    };
    let trip = detection::trip_rate(n);
    let half = detection::unhealthy_share(0.5, n);
    let message = if what == "health check" {
        format!(
            "{}'s {n}-failure health check fails a region over only above about {:.0} % errors: at 50 % each checker reports it unhealthy {:.0} % of the time, and Route 53 needs 82 % (steady-state model in `meridian lint --explain SS008`)",
            s.name,
            trip * 100.0,
            half * 100.0
        )
    } else {
        format!(
            "{}'s accelerator health check ({n} failures in a row) sees a sick region only while {n} probes in a row fail: at 50 % errors the region stays in rotation about {:.0} % of the time (model in `meridian lint --explain SS008`)",
            s.name,
            (1.0 - half) * 100.0
        )
    };
    vec![about(
        finding(
            RuleId::Ss008,
            at.unwrap_or(&s.loc),
            "sees dead regions, not sick ones",
            message,
            "watch the error rate too (a Route 53 CLOUDWATCH_METRIC check on a 5xx-rate alarm, or a calculated check over it, managed outside Meridian) and suppress this with that reason".into(),
        ),
        s,
    )]
}
