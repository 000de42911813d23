//! Gradual traffic moves: the weights a shift holds, and the steps it takes.
//!
//! The reference's weighted-routing cases: drain a region from 100 to 0 over 5 minutes rather
//! than by a hard cut, send 10 % canary traffic to a new region. A shift is a sequence of
//! normal plans, each moving one region's weight one step. While a shift is in progress or
//! finished, its weight is *held*: recorded in the backend's manifest (through the topology's
//! [`crate::identity::Identity`]) and used by every plan instead of the file's, so a drift job
//! does not fire and the next apply does not silently reverse a drain, until `shift --write`
//! puts the weight in the file or `shift --release` hands control back to it. Pure: the CLI
//! runs the steps.

use crate::model::{Routing, Topology};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One service's held weight and the shift that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// The region label whose weight moves.
    pub region: String,
    /// The weight its record carries now.
    pub weight: u8,
    /// Where the shift started, where it goes, in how many steps, how many are applied.
    pub from: u8,
    pub to: u8,
    pub steps: u32,
    pub done: u32,
    /// The whole shift's duration, in seconds (the pause between steps is this / steps).
    pub over_seconds: u64,
    /// The file's weight when the plan was made (filled in by [`apply`], for the plan's note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<u8>,
}

impl Hold {
    pub fn finished(&self) -> bool {
        self.done >= self.steps
    }
}

/// Held weights by service.
pub type Holds = BTreeMap<String, Hold>;

/// Why a service's weight cannot be shifted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum ShiftError {
    #[error("no service \"{0}\" in the topology")]
    #[diagnostic(code(meridian::shift::unknown_service))]
    UnknownService(String),
    #[error("service \"{service}\" has no region \"{region}\" (its regions: {known})")]
    #[diagnostic(code(meridian::shift::unknown_region))]
    UnknownRegion {
        service: String,
        region: String,
        known: String,
    },
    #[error("service \"{service}\" uses {routing} routing: there are no weights to shift")]
    #[diagnostic(code(meridian::shift::not_weighted), help("{why}"))]
    NotWeighted {
        service: String,
        routing: &'static str,
        why: &'static str,
    },
}

/// Checks that `region` of `service` has a weight a shift can move.
pub fn shiftable(t: &Topology, service: &str, region: &str) -> Result<u8, ShiftError> {
    let s = t
        .services
        .get(service)
        .ok_or_else(|| ShiftError::UnknownService(service.into()))?;
    let why = match s.routing {
        Routing::Weighted => "",
        Routing::Latency => "Route 53 answers latency queries with the nearest healthy region; traffic moves off a region when its health check fails. To drain gradually, switch the service to weighted routing",
        Routing::Failover => "a failover record set sends everything to the primary while it is healthy and everything to the secondary otherwise; there is no share in between. To move traffic gradually, use weighted routing",
        Routing::Geolocation => "geolocation answers by the user's location, not by shares; move a location by editing `locations`",
    };
    if s.routing != Routing::Weighted {
        return Err(ShiftError::NotWeighted {
            service: service.into(),
            routing: s.routing.as_str(),
            why,
        });
    }
    let r = s
        .regions
        .get(region)
        .ok_or_else(|| ShiftError::UnknownRegion {
            service: service.into(),
            region: region.into(),
            known: s.regions.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
    Ok(r.weight.unwrap_or(0))
}

/// The weight after each step, from `from` to `to` in `steps` even steps (rounded; the last
/// is `to`).
pub fn weights(from: u8, to: u8, steps: u32) -> Vec<u8> {
    let steps = steps.max(1);
    (1..=steps)
        .map(|i| {
            let f = f64::from(from)
                + (f64::from(to) - f64::from(from)) * f64::from(i) / f64::from(steps);
            f.round().clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// The file's weight of each region a hold was applied to, by (service, region label).
pub type FileWeights = BTreeMap<(String, String), Option<u8>>;

/// Puts the held weights into the topology (records are planned with them) and notes each
/// hold's declared weight: the file's, remembered in `file` the first time, so applying holds
/// again (each step of a shift) does not take an earlier step's weight for the file's. Holds
/// of services or regions no longer declared, or no longer weighted, are ignored.
pub fn apply(t: &mut Topology, holds: &mut Holds, file: &mut FileWeights) {
    for (service, h) in holds.iter_mut() {
        if let Some(r) = t
            .services
            .get_mut(service)
            .filter(|s| s.routing == Routing::Weighted)
            .and_then(|s| s.regions.get_mut(&h.region))
        {
            h.declared = *file
                .entry((service.clone(), h.region.clone()))
                .or_insert(r.weight);
            r.weight = Some(h.weight);
        }
    }
}

/// The text of a topology file with `weight` of region `region` of service `service` set to
/// `weight`, everything else (comments, layout) as written. `Ok(None)` when the file does not
/// declare that region.
pub fn set_weight(
    text: &str,
    service: &str,
    region: &str,
    weight: u8,
) -> Result<Option<String>, String> {
    use hcl_edit::structure::Structure;
    use hcl_edit::Span;
    let body = hcl_edit::parser::parse_body(text).map_err(|e| e.to_string())?;
    let labelled = |b: &hcl_edit::structure::Block, ident: &str, label: &str| {
        b.ident.as_str() == ident && b.labels.first().is_some_and(|l| l.as_str() == label)
    };
    let region_block = body
        .iter()
        .filter_map(Structure::as_block)
        .filter(|b| labelled(b, "service", service))
        .flat_map(|b| b.body.iter().filter_map(Structure::as_block))
        .find(|b| labelled(b, "region", region));
    let Some(r) = region_block else {
        return Ok(None);
    };
    let attr = r
        .body
        .iter()
        .filter_map(Structure::as_attribute)
        .find(|a| a.key.as_str() == "weight")
        .ok_or_else(|| format!("region \"{region}\" of service \"{service}\" writes no weight"))?;
    let span = attr
        .value
        .span()
        .ok_or("the weight's position is unknown")?;
    Ok(Some(format!(
        "{}{weight}{}",
        &text[..span.start],
        &text[span.end..]
    )))
}

#[cfg(test)]
mod tests {
    use super::{set_weight, weights};

    /// Applying holds twice (two steps of one shift) keeps the file's weight as `declared`.
    #[test]
    fn the_declared_weight_is_the_files_at_every_step() {
        let text = "service \"api\" {\n  zone = \"example.com\"\n  domain = \"api.example.com\"\n  routing = \"weighted\"\n  health_check {\n    type = \"HTTPS\"\n    path = \"/\"\n  }\n  region \"us-east-1\" {\n    target = \"a.example.net\"\n    weight = 100\n  }\n  region \"eu-west-1\" {\n    target = \"b.example.net\"\n    weight = 100\n  }\n}\n";
        let checked = crate::check(&crate::source::Sources::from_texts([("main.hcl", text)]));
        let mut t = checked
            .valid()
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
            .clone();
        let mut file = super::FileWeights::new();
        for weight in [80, 60] {
            let hold = super::Hold {
                region: "us-east-1".into(),
                weight,
                from: 100,
                to: 0,
                steps: 5,
                done: 1,
                over_seconds: 0,
                declared: None,
            };
            let mut holds = super::Holds::from([("api".to_string(), hold)]);
            super::apply(&mut t, &mut holds, &mut file);
            assert_eq!(holds["api"].declared, Some(100));
            assert_eq!(t.services["api"].regions["us-east-1"].weight, Some(weight));
        }
    }

    #[test]
    fn set_weight_changes_the_value_and_keeps_the_comments() {
        let text = "service \"api\" {\n  region \"a\" {\n    weight = 100 # primary\n  }\n  region \"b\" {\n    weight = 0\n  }\n}\n";
        let out = set_weight(text, "api", "a", 40).unwrap().unwrap();
        assert_eq!(
            out,
            text.replace("weight = 100 # primary", "weight = 40 # primary")
        );
        assert_eq!(set_weight(text, "web", "a", 1).unwrap(), None);
    }

    #[test]
    fn a_drain_in_five_steps_and_a_canary_in_one() {
        assert_eq!(weights(100, 0, 5), [80, 60, 40, 20, 0]);
        assert_eq!(weights(0, 10, 1), [10]);
        // Uneven: 255 to 0 in 4 steps of 63.75, rounded.
        assert_eq!(weights(255, 0, 4), [191, 128, 64, 0]);
    }
}
