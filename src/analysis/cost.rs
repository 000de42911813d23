//! Monthly cost: line items priced from a built-in table the user can override.
//!
//! Prices and their sources are in `docs/aws-facts.md` (Route 53 pricing page
//! as transcribed 2026-09; the cross-region transfer price is marked unverified there, which is
//! why every price can be overridden with a `prices` block or `--prices FILE.json`). Each line
//! item says whether it was computed from declared inputs or which input it is missing.

use crate::model::{Endpoint, Routing, Service, Topology};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The price table, in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prices {
    pub hosted_zone: f64,
    pub hosted_zone_after_25: f64,
    pub queries_standard_per_million: f64,
    pub queries_latency_per_million: f64,
    pub queries_geo_per_million: f64,
    pub health_check_aws: f64,
    pub health_check_other: f64,
    pub health_check_feature_aws: f64,
    pub health_check_feature_other: f64,
    pub accelerator_hour: f64,
    pub accelerator_premium_per_gb: f64,
    pub replication_transfer_per_gb: f64,
    pub ecr_storage_per_gb_month: f64,
    pub hours_per_month: f64,
}

impl Default for Prices {
    fn default() -> Prices {
        Prices {
            hosted_zone: 0.50,
            hosted_zone_after_25: 0.10,
            queries_standard_per_million: 0.40,
            queries_latency_per_million: 0.60,
            queries_geo_per_million: 0.70,
            health_check_aws: 0.50,
            health_check_other: 0.75,
            health_check_feature_aws: 1.00,
            health_check_feature_other: 2.00,
            accelerator_hour: 0.025,
            accelerator_premium_per_gb: 0.015,
            replication_transfer_per_gb: 0.02,
            ecr_storage_per_gb_month: 0.10,
            hours_per_month: 730.0,
        }
    }
}

/// Why a price table could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PricesError {
    #[error("cannot read price file {path}: {message}")]
    #[diagnostic(
        code(meridian::prices),
        help(
            "a JSON object of price names to non-negative numbers, e.g. {{\"hosted_zone\": 0.5}}"
        )
    )]
    Invalid { path: String, message: String },
}

impl Prices {
    /// Applies overrides by name. Names are checked by the schema (block) or by serde (file).
    pub fn with_overrides(mut self, overrides: &BTreeMap<String, f64>) -> Prices {
        let mut v = serde_json::to_value(&self).unwrap_or_default();
        for (k, x) in overrides {
            if v.get(k).is_some() {
                v[k] = serde_json::json!(x);
            }
        }
        if let Ok(p) = serde_json::from_value(v) {
            self = p;
        }
        self
    }

    /// Reads overrides from a JSON file: an object of price names to numbers.
    pub fn overrides_from_json(
        path: &str,
        text: &str,
    ) -> Result<BTreeMap<String, f64>, PricesError> {
        let invalid = |message: String| PricesError::Invalid {
            path: path.to_string(),
            message,
        };
        // Parsing into Prices rejects unknown names and wrong types.
        serde_json::from_str::<Prices>(text).map_err(|e| invalid(e.to_string()))?;
        let map: BTreeMap<String, f64> =
            serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if let Some((k, v)) = map.iter().find(|(_, v)| **v < 0.0 || !v.is_finite()) {
            return Err(invalid(format!(
                "`{k}` is {v}; prices must be non-negative"
            )));
        }
        Ok(map)
    }
}

/// One line of the bill.
#[derive(Debug, Clone, Serialize)]
pub struct CostItem {
    /// `topology`, `service "api"` or `registry "images"`.
    pub scope: String,
    pub item: &'static str,
    /// How the figure was computed: `3 checks x (0.75 + 2 x 2.00)`.
    pub detail: String,
    /// `None` when an input is missing.
    pub monthly_usd: Option<f64>,
    /// The input the figure needs and the topology does not declare.
    pub missing_input: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub items: Vec<CostItem>,
    /// Sum of the computed items: the whole bill when `complete`, a lower bound otherwise.
    pub monthly_usd: f64,
    pub complete: bool,
    pub prices: Prices,
    /// Price names whose value came from the topology or a file rather than the built-in table.
    pub overridden_prices: Vec<String>,
}

fn usd(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn item(scope: &str, item: &'static str, detail: String, monthly_usd: f64) -> CostItem {
    CostItem {
        scope: scope.to_string(),
        item,
        detail,
        monthly_usd: Some(round_cents(monthly_usd)),
        missing_input: None,
    }
}

fn missing(scope: &str, item: &'static str, input: &str) -> CostItem {
    CostItem {
        scope: scope.to_string(),
        item,
        detail: format!("needs {input}"),
        monthly_usd: None,
        missing_input: Some(input.to_string()),
    }
}

fn round_cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The bill of a topology. `extra` overrides (a price file) apply after the `prices` block.
pub fn cost(t: &Topology, extra: &BTreeMap<String, f64>) -> CostReport {
    let prices = Prices::default()
        .with_overrides(&t.prices)
        .with_overrides(extra);
    let p = &prices;
    let mut items = Vec::new();
    let payers = check_payers(t);

    let zones: BTreeSet<&str> = t.services.values().map(|s| s.zone.as_str()).collect();
    if !zones.is_empty() {
        let n = zones.len() as f64;
        let first = n.min(25.0);
        let rest = (n - 25.0).max(0.0);
        items.push(item(
            "topology",
            "hosted zones",
            if rest > 0.0 {
                format!(
                    "25 x {} + {rest} x {}",
                    usd(p.hosted_zone),
                    usd(p.hosted_zone_after_25)
                )
            } else {
                format!("{first} x {}", usd(p.hosted_zone))
            },
            first * p.hosted_zone + rest * p.hosted_zone_after_25,
        ));
    }
    for s in t.services.values() {
        service(s, p, &payers, &mut items);
    }
    for r in t.registries.values() {
        let scope = format!("registry \"{}\"", r.name);
        match r.storage_gb {
            Some(gb) => {
                let copies = r.destinations.len() as f64;
                items.push(item(
                    &scope,
                    "replicated image storage",
                    format!(
                        "{gb} GB x {copies} destinations x {}",
                        usd(p.ecr_storage_per_gb_month)
                    ),
                    gb * copies * p.ecr_storage_per_gb_month,
                ));
            }
            None => items.push(missing(
                &scope,
                "replicated image storage",
                "registry.storage_gb",
            )),
        }
    }
    let complete = items.iter().all(|i| i.monthly_usd.is_some());
    let total = round_cents(items.iter().filter_map(|i| i.monthly_usd).sum());
    let mut overridden: Vec<String> = t.prices.keys().chain(extra.keys()).cloned().collect();
    overridden.sort();
    overridden.dedup();
    CostReport {
        items,
        monthly_usd: total,
        complete,
        prices,
        overridden_prices: overridden,
    }
}

/// Who pays for each health check: with `health_check_scope = "endpoint"`, a check shared by
/// several services is counted once, for the first of them in name order.
struct Payers<'a> {
    scope: crate::model::CheckScope,
    by_check: BTreeMap<crate::graph::Address, &'a str>,
}

fn check_payers(t: &Topology) -> Payers<'_> {
    let scope = t.health_check_scope;
    let mut by_check = BTreeMap::new();
    if scope == crate::model::CheckScope::Endpoint {
        for s in t.services.values() {
            for (label, r) in &s.regions {
                let Some(h) = s.check(r) else { continue };
                let spec = crate::graph::region_check(s, r, h, scope);
                let a = crate::graph::check_address(s, label, &spec, scope);
                by_check.entry(a).or_insert(s.name.as_str());
            }
        }
    }
    Payers { scope, by_check }
}

impl Payers<'_> {
    /// Who pays for the check of region `label` of `s`, when another service does.
    fn payer(&self, s: &Service, label: &str, h: &crate::model::HealthCheck) -> Option<&str> {
        let r = s.regions.get(label)?;
        let spec = crate::graph::region_check(s, r, h, self.scope);
        let a = crate::graph::check_address(s, label, &spec, self.scope);
        self.by_check.get(&a).copied().filter(|p| *p != s.name)
    }
}

fn service(s: &Service, p: &Prices, payers: &Payers, items: &mut Vec<CostItem>) {
    let scope = format!("service \"{}\"", s.name);
    queries(s, p, &scope, items);
    if s.has_check() {
        items.push(health_checks(s, p, payers, &scope));
    }
    if s.anycast.is_some() {
        anycast(s, p, &scope, items);
    }
    if let Some(d) = &s.data {
        data_tier(s, d, p, &scope, items);
        match s.cost.replicated_gb_month {
            Some(gb) => items.push(item(
                &scope,
                "cross-region replication",
                format!("{gb} GB x {}", p.replication_transfer_per_gb),
                gb * p.replication_transfer_per_gb,
            )),
            None => items.push(missing(
                &scope,
                "cross-region replication",
                "cost.replicated_gb_month",
            )),
        }
    }
    match s.cost.compute_per_region {
        Some(c) => {
            let caps: Vec<String> = s
                .regions
                .values()
                .map(|r| format!("{}", r.capacity))
                .collect();
            let sum: f64 = s.regions.values().map(|r| r.capacity).sum();
            items.push(item(
                &scope,
                "compute",
                format!("{} x ({})", usd(c), caps.join(" + ")),
                c * sum,
            ));
        }
        None => items.push(missing(&scope, "compute", "cost.compute_per_region")),
    }
}

/// The database copies in every region, and the quorum traffic of strongly consistent writes.
fn data_tier(
    s: &Service,
    d: &crate::model::Data,
    p: &Prices,
    scope: &str,
    items: &mut Vec<CostItem>,
) {
    let copies = s.regions.len();
    match s.cost.database_per_region {
        Some(c) => items.push(item(
            scope,
            "database copies",
            format!("{copies} regions x {}", usd(c)),
            copies as f64 * c,
        )),
        None => items.push(missing(
            scope,
            "database copies",
            "cost.database_per_region",
        )),
    }
    let strong = d.pattern == crate::model::DataPattern::MultiMaster
        && d.consistency == crate::model::Consistency::Strong;
    if strong {
        match s.cost.quorum_gb_month {
            Some(gb) => items.push(item(
                scope,
                "quorum traffic",
                format!("{gb} GB x {}", p.replication_transfer_per_gb),
                gb * p.replication_transfer_per_gb,
            )),
            None => items.push(missing(scope, "quorum traffic", "cost.quorum_gb_month")),
        }
    }
}

fn queries(s: &Service, p: &Prices, scope: &str, items: &mut Vec<CostItem>) {
    // Behind an accelerator the one record is an alias too.
    let accelerated = s.anycast.as_ref().is_some_and(|a| a.accelerator.is_some());
    let all_alias = accelerated
        || s.regions
            .values()
            .all(|r| matches!(r.endpoint, Endpoint::Alias(_)));
    match s.cost.queries_per_month {
        _ if all_alias => items.push(item(
            scope,
            "DNS queries",
            "alias queries to AWS resources are free".into(),
            0.0,
        )),
        Some(q) => {
            let (rate, kind) = match s.routing {
                Routing::Latency => (p.queries_latency_per_million, "latency"),
                Routing::Geolocation => (p.queries_geo_per_million, "geolocation"),
                Routing::Weighted | Routing::Failover => {
                    (p.queries_standard_per_million, "standard")
                }
            };
            items.push(item(
                scope,
                "DNS queries",
                format!("{} M {kind} queries x {}", q / 1e6, usd(rate)),
                q / 1e6 * rate,
            ));
        }
        None => items.push(missing(scope, "DNS queries", "cost.queries_per_month")),
    }
}

fn health_checks(s: &Service, p: &Prices, payers: &Payers, scope: &str) -> CostItem {
    let features = |h: &crate::model::HealthCheck| {
        usize::from(h.kind.is_https())
            + usize::from(h.kind.is_string_match())
            + usize::from(h.interval == 10)
    };
    // Checks this service pays for, by (AWS endpoint first, optional features).
    let mut paid: BTreeMap<(bool, usize), usize> = BTreeMap::new();
    let mut others: BTreeSet<&str> = BTreeSet::new();
    let mut shared = 0;
    for (label, r) in &s.regions {
        let Some(h) = s.check(r) else { continue };
        match payers.payer(s, label, h) {
            Some(p) => {
                shared += 1;
                others.insert(p);
            }
            None => {
                let aws = matches!(r.endpoint, Endpoint::Alias(_));
                *paid.entry((!aws, features(h))).or_default() += 1;
            }
        }
    }
    let mut total = 0.0;
    let mut parts = Vec::new();
    if shared > 0 {
        let by: Vec<&str> = others.into_iter().collect();
        parts.push(format!("{shared} shared, paid by {}", by.join(", ")));
    }
    for ((other, features), n) in paid {
        let (base, feature) = if other {
            (p.health_check_other, p.health_check_feature_other)
        } else {
            (p.health_check_aws, p.health_check_feature_aws)
        };
        total += n as f64 * (base + features as f64 * feature);
        parts.push(format!(
            "{n} {} x ({} + {features} x {})",
            if other {
                "other-endpoint checks"
            } else {
                "AWS-endpoint checks"
            },
            usd(base),
            usd(feature)
        ));
    }
    item(scope, "health checks", parts.join(" + "), total)
}

fn anycast(s: &Service, p: &Prices, scope: &str, items: &mut Vec<CostItem>) {
    let hours = p.hours_per_month * p.accelerator_hour;
    match s.cost.anycast_gb_month {
        Some(gb) => items.push(item(
            scope,
            "anycast accelerator",
            format!(
                "{} h x {} + {gb} GB x {}",
                p.hours_per_month, p.accelerator_hour, p.accelerator_premium_per_gb
            ),
            hours + gb * p.accelerator_premium_per_gb,
        )),
        None => {
            items.push(item(
                scope,
                "anycast accelerator",
                format!("{} h x {}", p.hours_per_month, p.accelerator_hour),
                hours,
            ));
            items.push(missing(
                scope,
                "anycast data-transfer premium",
                "cost.anycast_gb_month",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_named_prices() {
        let mut o = BTreeMap::new();
        o.insert("hosted_zone".to_string(), 1.0);
        let p = Prices::default().with_overrides(&o);
        assert_eq!(p.hosted_zone, 1.0);
        assert_eq!(p.health_check_other, 0.75);
    }

    #[test]
    fn price_files_reject_unknown_names_and_negative_prices() {
        assert!(Prices::overrides_from_json("p.json", r#"{"hosted_zone": 1}"#).is_ok());
        assert!(Prices::overrides_from_json("p.json", r#"{"hosted_zon": 1}"#).is_err());
        assert!(Prices::overrides_from_json("p.json", r#"{"hosted_zone": -1}"#).is_err());
        assert!(Prices::overrides_from_json("p.json", r#"{"hosted_zone": "x"}"#).is_err());
    }

    #[test]
    fn the_prices_block_names_every_price() {
        let names: Vec<String> = serde_json::to_value(Prices::default())
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut block: Vec<String> = crate::model::schema::PRICES
            .attrs
            .iter()
            .map(|a| a.name.to_string())
            .collect();
        block.sort();
        assert_eq!(names, block);
    }
}
