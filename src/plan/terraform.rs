//! The plan as tools written for Terraform's plan JSON read it (checkov's `terraform_plan`
//! framework, OPA/conftest policies, Sentinel-like checks): each resource's Terraform type
//! (`aws_route53_record`, `aws_route53_health_check`, `aws_ecr_repository`,
//! `aws_ecr_replication_configuration`), its `mode`, `provider_name` and `index`, a
//! `terraform_version`, and `planned_values` whose `values` use the AWS provider's attribute
//! names (`records`, `failover_routing_policy`, `replication_configuration`, ...).
//!
//! Written while the document is serialised, one resource at a time: nothing here is held.

use super::{Plan, ResourceChange};
use crate::graph::Kind;
use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value};

/// Terraform's name of the AWS provider, as `provider_name` gives it.
pub const PROVIDER_NAME: &str = "registry.terraform.io/hashicorp/aws";

/// What `terraform_version` says: Meridian's version, not a Terraform one (checkov requires
/// the key and, scanning a directory, a non-empty value).
pub const TERRAFORM_VERSION: &str = concat!("meridian-", env!("CARGO_PKG_VERSION"));

/// The Terraform resource type a Meridian resource kind maps to.
pub fn terraform_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Record | Kind::Owner => "aws_route53_record",
        Kind::HealthCheck => "aws_route53_health_check",
        Kind::EcrRepository => "aws_ecr_repository",
        Kind::EcrReplication => "aws_ecr_replication_configuration",
    }
}

/// The Terraform resource name: the service's or registry's; an ownership marker's is
/// `NAME_owner`, so it never shares an address with the service's records.
pub fn terraform_name(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Owner => format!("{name}_owner"),
        _ => name.to_string(),
    }
}

/// `TYPE.NAME` or `TYPE.NAME["KEY"]`, as Terraform addresses a resource.
pub fn terraform_address(c: &ResourceChange) -> String {
    let base = format!(
        "{}.{}",
        terraform_type(c.kind),
        terraform_name(c.kind, &c.name)
    );
    match &c.key {
        Some(k) => format!("{base}[{}]", Value::String(k.clone())),
        None => base,
    }
}

/// A resource's attributes (Meridian's names, as `change.after` holds them) under the AWS
/// provider's attribute names.
pub fn terraform_values(kind: Kind, after: &Value) -> Value {
    let Some(a) = after.as_object() else {
        return Value::Null;
    };
    match kind {
        Kind::Record | Kind::Owner => record(a),
        Kind::HealthCheck => health_check(a),
        Kind::EcrRepository => json!({"name": a.get("name")}),
        Kind::EcrReplication => replication(a),
    }
}

fn record(a: &Map<String, Value>) -> Value {
    let mut v = Map::new();
    for key in ["name", "type", "ttl", "set_identifier", "health_check_id"] {
        if let Some(x) = a.get(key).filter(|x| !x.is_null()) {
            v.insert(key.into(), x.clone());
        }
    }
    if let Some(zone) = a.get("zone") {
        // The hosted zone's name: its id is known only to the live account.
        v.insert("zone_name".into(), zone.clone());
    }
    let mut values = a.get("values").cloned().unwrap_or(json!([]));
    if a.get("type").and_then(Value::as_str) == Some("TXT") {
        // Route 53 holds a TXT value in quotes; Terraform's `records` without them.
        if let Some(list) = values.as_array_mut() {
            for x in list.iter_mut() {
                if let Some(t) = x
                    .as_str()
                    .and_then(|t| t.strip_prefix('"')?.strip_suffix('"'))
                {
                    *x = Value::String(t.to_string());
                }
            }
        }
    }
    if a.get("alias").is_none_or(Value::is_null) {
        v.insert("records".into(), values);
    }
    if let Some(alias) = a.get("alias").and_then(Value::as_object) {
        v.insert(
            "alias".into(),
            json!([{
                "name": alias.get("dns_name"),
                "zone_id": alias.get("hosted_zone_id"),
                "evaluate_target_health": alias.get("evaluate_target_health"),
            }]),
        );
    }
    if let Some((block, policy)) = routing(a) {
        v.insert(block.into(), json!([policy]));
    }
    Value::Object(v)
}

/// The routing policy block and its contents: `latency_routing_policy { region }`, ...
fn routing(a: &Map<String, Value>) -> Option<(&'static str, Value)> {
    let field = |k: &str| a.get(k).cloned().unwrap_or(Value::Null);
    match a.get("routing")?.as_str()? {
        "latency" => Some(("latency_routing_policy", json!({"region": field("region")}))),
        "weighted" => Some((
            "weighted_routing_policy",
            json!({"weight": field("weight")}),
        )),
        "failover" => Some(("failover_routing_policy", json!({"type": field("role")}))),
        "geolocation" => Some((
            "geolocation_routing_policy",
            geolocation(a.get("location")?.as_str()?),
        )),
        _ => None,
    }
}

/// Meridian's location (`*`, a continent code, `country:XX` or a country code, `US-CA`) as
/// Terraform's `continent`, `country` and `subdivision`.
fn geolocation(location: &str) -> Value {
    const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];
    if let Some(country) = location.strip_prefix("country:") {
        return json!({"country": country});
    }
    if CONTINENTS.contains(&location) {
        return json!({"continent": location});
    }
    match location.split_once('-') {
        Some((country, sub)) => json!({"country": country, "subdivision": sub}),
        None => json!({"country": location}),
    }
}

fn health_check(a: &Map<String, Value>) -> Value {
    // Meridian's names are the provider's, but for `id` (computed) and unset options.
    let v: Map<String, Value> = a
        .iter()
        .filter(|(k, x)| *k != "id" && !x.is_null())
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    Value::Object(v)
}

fn replication(a: &Map<String, Value>) -> Value {
    let destinations: Vec<Value> = a
        .get("destinations")
        .and_then(Value::as_array)
        .map(|d| d.iter().map(|r| json!({"region": r})).collect())
        .unwrap_or_default();
    let filters: Vec<Value> = a
        .get("filters")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .map(|p| json!({"filter": p, "filter_type": "PREFIX_MATCH"}))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "region": a.get("region"),
        "replication_configuration": [{
            "rule": [{"destination": destinations, "repository_filter": filters}]
        }],
    })
}

/// The plan document as written: the plan's own fields, `terraform_version` and
/// `planned_values` (the resources as they will be after the apply, deleted ones left out, as
/// Terraform leaves them out).
#[derive(Serialize)]
pub struct Document<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    terraform_version: &'static str,
    planned_values: PlannedValues<'a>,
}

impl<'a> Document<'a> {
    pub fn of(plan: &'a Plan) -> Document<'a> {
        Document {
            plan,
            terraform_version: TERRAFORM_VERSION,
            planned_values: PlannedValues {
                root_module: RootModule {
                    resources: Resources(&plan.resource_changes),
                },
            },
        }
    }
}

#[derive(Serialize)]
struct PlannedValues<'a> {
    root_module: RootModule<'a>,
}

#[derive(Serialize)]
struct RootModule<'a> {
    resources: Resources<'a>,
}

/// `planned_values.root_module.resources`.
struct Resources<'a>(&'a [ResourceChange]);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for c in self.0 {
            let Some(after) = &c.change.after else {
                continue;
            };
            seq.serialize_element(&json!({
                "address": terraform_address(c),
                "mode": "managed",
                "type": terraform_type(c.kind),
                "name": terraform_name(c.kind, &c.name),
                "index": c.key,
                "provider_name": PROVIDER_NAME,
                "values": terraform_values(c.kind, &after.value()),
            }))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_take_the_providers_names() {
        let after = json!({
            "name": "api.example.com", "type": "CNAME", "ttl": 60, "zone": "example.com",
            "values": ["a.example.com"], "routing": "failover", "role": "PRIMARY",
            "set_identifier": "api-us-east-1", "health_check_id": null,
        });
        assert_eq!(
            terraform_values(Kind::Record, &after),
            json!({
                "name": "api.example.com", "type": "CNAME", "ttl": 60,
                "zone_name": "example.com", "records": ["a.example.com"],
                "set_identifier": "api-us-east-1",
                "failover_routing_policy": [{"type": "PRIMARY"}],
            })
        );
        assert_eq!(
            geolocation("US-CA"),
            json!({"country": "US", "subdivision": "CA"})
        );
        assert_eq!(geolocation("EU"), json!({"continent": "EU"}));
        assert_eq!(geolocation("country:NA"), json!({"country": "NA"}));
        assert_eq!(geolocation("*"), json!({"country": "*"}));
    }
}
