//! What a provider can hold, applied to a topology before it is planned: what it cannot hold
//! is left out of the plan and listed with the reason, and the recovery the plan shows is that
//! of what it will really run (no health checks: a lost region is not detected).
//!
//! Where a provider holds one answer set per name (no routing policies), each name keeps the
//! record that answers when nothing has failed: a failover primary, else a geolocation
//! default, else the heaviest weight, else the first region by label.

use crate::graph::{Address, Kind, ResourceGraph, ResourceSpec};
use crate::model::Topology;
use crate::provider::{Capabilities, FailoverRole, RoutingPolicy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A resource the topology declares that the provider cannot hold, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LeftOut {
    pub address: String,
    pub why: String,
}

/// The topology and graph as the provider can hold them, and what was left out.
pub struct Adapted {
    pub topology: Topology,
    pub graph: ResourceGraph,
    pub left_out: Vec<LeftOut>,
    /// Services the provider holds none of the answers of: nothing answers for them.
    pub unserved: Vec<String>,
}

/// None when the provider holds everything the topology declares (nothing is copied).
pub fn adapt(t: &Topology, g: &ResourceGraph, caps: &Capabilities) -> Option<Adapted> {
    if caps.all() {
        return None;
    }
    let mut left_out = Vec::new();
    let served = if caps.routing {
        None
    } else {
        Some(served_records(g, caps))
    };
    let mut kept = Vec::new();
    for r in g.resources() {
        match why_not(&r.spec, &r.address, caps, served.as_ref()) {
            Some(why) => left_out.push(LeftOut {
                address: r.address.to_string(),
                why,
            }),
            None => kept.push(plain(r.clone(), caps)),
        }
    }
    let addresses: BTreeSet<Address> = kept.iter().map(|r| r.address.clone()).collect();
    let edges = kept
        .iter()
        .flat_map(|r| {
            r.spec
                .depends_on()
                .into_iter()
                .filter(|d| addresses.contains(d))
                .map(move |d| (r.address.clone(), d))
        })
        .collect();
    // A service is served when something answers at its own name.
    let answered: BTreeSet<(&str, &str)> = kept
        .iter()
        .filter_map(|r| match &r.spec {
            ResourceSpec::Record(x) => Some((x.zone.as_str(), x.name.as_str())),
            _ => None,
        })
        .collect();
    let unserved: Vec<String> = t
        .services
        .values()
        .filter(|s| !answered.contains(&(s.zone.as_str(), s.domain.as_str())))
        .map(|s| s.name.clone())
        .collect();
    for s in &unserved {
        let domain = &t.services[s].domain;
        left_out.push(LeftOut {
            address: format!("service.{s}"),
            why: format!(
                "nothing answers at {domain}: {} holds none of the service's answers there",
                caps.name
            ),
        });
    }
    left_out.sort();
    Some(Adapted {
        topology: analysed(t, caps, served.as_ref()),
        graph: ResourceGraph::from_parts(kept, edges).keep_retired(g),
        left_out,
        unserved,
    })
}

/// The record each name keeps, by zone and name.
type Served = BTreeMap<(String, String), Address>;

/// Why the provider cannot hold this resource, if it cannot.
fn why_not(
    spec: &ResourceSpec,
    address: &Address,
    caps: &Capabilities,
    served: Option<&Served>,
) -> Option<String> {
    let name = caps.name;
    match spec {
        ResourceSpec::HealthCheck(_) if !caps.health_checks => Some(format!(
            "{name} has no health checks: a lost region is not detected, and its answers stay"
        )),
        ResourceSpec::EcrRepository(_) | ResourceSpec::EcrReplication(_) if !caps.registries => {
            Some(format!("{name} holds no container registries"))
        }
        ResourceSpec::Record(r) if r.alias.is_some() && !caps.aliases => {
            Some(format!("{name} has no alias records"))
        }
        // A `failover_to` tree answers only through the alias at the service's name.
        ResourceSpec::Record(_)
            if (!caps.aliases || !caps.routing)
                && address.key.as_deref().is_some_and(|k| k.contains("/failover-")) =>
        {
            Some(format!(
                "{name} cannot hold a failover_to tree (it answers through aliases and failover routing)"
            ))
        }
        ResourceSpec::Record(r) => {
            let kept = served?.get(&(r.zone.clone(), r.name.clone()))?;
            (kept != address).then(|| {
                format!(
                    "{name} holds one answer set per name and no routing policy: {kept} answers alone at {}",
                    r.name
                )
            })
        }
        _ => None,
    }
}

/// Which record a name keeps when it holds one answer set: the lowest rank, then the first
/// address.
pub fn rank(routing: &RoutingPolicy) -> u32 {
    match routing {
        RoutingPolicy::Failover { role } if *role == FailoverRole::Primary => 0,
        RoutingPolicy::Geolocation { location } if location == "*" => 1,
        RoutingPolicy::Weighted { weight } => 2 + u32::from(u8::MAX - weight),
        _ => 300,
    }
}

/// The record each name keeps when only one answer set is held there.
fn served_records(g: &ResourceGraph, caps: &Capabilities) -> Served {
    let mut best: BTreeMap<(&str, &str), (u32, &Address)> = BTreeMap::new();
    for res in g.resources() {
        let ResourceSpec::Record(r) = &res.spec else {
            continue;
        };
        if r.alias.is_some() && !caps.aliases {
            continue;
        }
        let rank = rank(&r.routing);
        let slot = best
            .entry((r.zone.as_str(), r.name.as_str()))
            .or_insert((rank, &res.address));
        if rank < slot.0 {
            *slot = (rank, &res.address);
        }
    }
    best.into_iter()
        .map(|((zone, name), (_, a))| ((zone.to_string(), name.to_string()), a.clone()))
        .collect()
}

/// A kept resource in the provider's terms: a record with no set identifier, routing policy
/// or health check where the provider holds none.
fn plain(mut r: crate::graph::Resource, caps: &Capabilities) -> crate::graph::Resource {
    if let ResourceSpec::Record(spec) = &mut r.spec {
        if !caps.routing {
            spec.set_identifier = None;
            spec.routing = RoutingPolicy::Simple;
        }
        if !caps.health_checks {
            spec.health_check = None;
        }
    }
    r
}

/// The topology whose recovery and cost the plan shows: without health checks no region's
/// loss is detected; with health checks but one answer per name, the served region alone
/// answers.
fn analysed(t: &Topology, caps: &Capabilities, served: Option<&Served>) -> Topology {
    let mut v = t.clone();
    for s in v.services.values_mut() {
        if !caps.health_checks {
            s.health_check = None;
            for r in s.regions.values_mut() {
                r.health_check = None;
            }
        }
        if !caps.aliases {
            s.anycast = None;
        }
        // Without health checks no loss is detected anyway: every region keeps running (and
        // costing); with them but one answer per name, only the served region answers.
        if let Some(served) = served.filter(|_| caps.health_checks) {
            let name = s.name.clone();
            let answers = |label: &str| {
                served.values().any(|a| {
                    a.kind == Kind::Record
                        && a.name == name
                        && a.key.as_deref().and_then(|k| k.split('/').next()) == Some(label)
                })
            };
            // A service nothing answers for keeps its regions (it is still declared); the
            // plan says it has no recovery ([`Adapted::unserved`]).
            if s.regions.keys().any(|l| answers(l)) {
                s.regions.retain(|label, _| answers(label));
            }
            for r in s.regions.values_mut() {
                r.failover_to.clear();
            }
        }
    }
    if !caps.registries {
        v.registries.clear();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE_FILE: Capabilities = Capabilities {
        name: "the zone files",
        health_checks: false,
        routing: false,
        aliases: false,
        registries: false,
    };

    fn adapted(text: &str) -> (Topology, Adapted) {
        let sources = crate::source::Sources::from_texts([("main.hcl", text)]);
        let checked = crate::check(&sources);
        assert!(checked.valid().is_some(), "{:?}", checked.diagnostics);
        let t = checked.topology;
        let g = ResourceGraph::build(&t);
        let a = adapt(&t, &g, &ZONE_FILE).unwrap();
        (t, a)
    }

    fn service(routing: &str, regions: &str) -> String {
        format!(
            r#"service "api" {{
  zone    = "example.com"
  domain  = "api.example.com"
  routing = "{routing}"
  health_check {{
    type = "HTTPS"
    path = "/healthz"
  }}
{regions}
}}"#
        )
    }

    fn records(a: &Adapted) -> Vec<(String, Option<String>, RoutingPolicy)> {
        a.graph
            .resources()
            .iter()
            .filter_map(|r| match &r.spec {
                ResourceSpec::Record(s) => Some((
                    r.address.to_string(),
                    s.set_identifier.clone(),
                    s.routing.clone(),
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_provider_that_holds_everything_copies_nothing() {
        let sources = crate::source::Sources::from_texts([(
            "main.hcl",
            service(
                "latency",
                r#"  region "us-east-1" { target = "a.example.com" }
  region "eu-west-1" { target = "b.example.com" }"#,
            ),
        )]);
        let t = crate::check(&sources).topology;
        let g = ResourceGraph::build(&t);
        assert!(adapt(&t, &g, &Capabilities::ALL).is_none());
    }

    #[test]
    fn the_heaviest_weight_answers_alone_and_checks_are_left_out() {
        let (_, a) = adapted(&service(
            "weighted",
            r#"  region "us-east-1" {
    target = "a.example.com"
    weight = 10
  }
  region "eu-west-1" {
    target = "b.example.com"
    weight = 200
  }"#,
        ));
        assert_eq!(
            records(&a),
            [(
                "record.api[\"eu-west-1\"]".to_string(),
                None,
                RoutingPolicy::Simple
            )]
        );
        let left: Vec<&str> = a.left_out.iter().map(|l| l.address.as_str()).collect();
        assert_eq!(
            left,
            [
                "health_check.api[\"eu-west-1\"]",
                "health_check.api[\"us-east-1\"]",
                "record.api[\"us-east-1\"]"
            ]
        );
        assert!(a.left_out[2]
            .why
            .contains("record.api[\"eu-west-1\"] answers alone"));
        // The recovery shown is of what runs: no checks; every region still runs (and costs).
        let s = &a.topology.services["api"];
        assert!(s.health_check.is_none());
        assert_eq!(s.regions.len(), 2);
        assert!(!a.graph.resources().iter().any(|r| matches!(
            &r.spec,
            ResourceSpec::Record(s) if s.health_check.is_some()
        )));
    }

    #[test]
    fn a_provider_with_checks_but_one_answer_per_name_analyses_the_served_region_alone() {
        let sources = crate::source::Sources::from_texts([(
            "main.hcl",
            service(
                "latency",
                r#"  region "us-east-1" { target = "a.example.com" }
  region "eu-west-1" { target = "b.example.com" }"#,
            ),
        )]);
        let t = crate::check(&sources).topology;
        let g = ResourceGraph::build(&t);
        let caps = Capabilities {
            health_checks: true,
            ..ZONE_FILE
        };
        let a = adapt(&t, &g, &caps).unwrap();
        let s = &a.topology.services["api"];
        assert!(s.health_check.is_some());
        assert_eq!(s.regions.keys().collect::<Vec<_>>(), ["eu-west-1"]);
    }

    #[test]
    fn a_service_answering_only_through_failover_to_trees_is_unserved_and_said() {
        let (_, a) = adapted(&service(
            "latency",
            r#"  region "us-east-1" {
    target      = "a.example.com"
    failover_to = ["eu-west-1"]
  }
  region "eu-west-1" {
    target      = "b.example.com"
    failover_to = ["us-east-1"]
  }"#,
        ));
        assert!(records(&a).is_empty(), "{:?}", records(&a));
        assert_eq!(a.unserved, ["api"]);
        assert!(a
            .left_out
            .iter()
            .any(|l| l.address == "service.api"
                && l.why.contains("nothing answers at api.example.com")));
    }

    #[test]
    fn a_failover_primary_answers_alone() {
        let (_, a) = adapted(&service(
            "failover",
            r#"  region "eu-west-1" {
    target = "b.example.com"
    role   = "secondary"
  }
  region "us-east-1" {
    target = "a.example.com"
    role   = "primary"
  }"#,
        ));
        let kept: Vec<String> = records(&a).into_iter().map(|r| r.0).collect();
        assert_eq!(kept, ["record.api[\"us-east-1\"]"]);
    }

    #[test]
    fn latency_keeps_the_first_region_by_label() {
        let (t, a) = adapted(&service(
            "latency",
            r#"  region "us-east-1" { target = "a.example.com" }
  region "eu-west-1" { target = "b.example.com" }"#,
        ));
        let kept: Vec<String> = records(&a).into_iter().map(|r| r.0).collect();
        assert_eq!(kept, ["record.api[\"eu-west-1\"]"]);
        // The owner marker stays, and the topology given is not changed.
        assert!(a
            .graph
            .resources()
            .iter()
            .any(|r| matches!(r.spec, ResourceSpec::Owner(_))));
        assert_eq!(t.services["api"].regions.len(), 2);
    }
}
