//! The JSON views of desired and live resources that plans show (`before` and `after`).

use super::*;

/// The tags a topology with `tag_health_checks` keeps on the check at `address`. Tags are for
/// people (the console shows `Name`); ownership is in the caller reference.
pub fn check_tags(topology: &str, id: &str, address: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Name".to_string(), address.to_string()),
        ("meridian:topology".to_string(), topology.to_string()),
        ("meridian:topology-id".to_string(), id.to_string()),
    ])
}

/// Of the tags `want`, those `live` does not carry with the same value.
pub(super) fn missing_tags(
    live: &BTreeMap<String, String>,
    want: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    want.iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn health_check_json(h: &HealthCheckSpec) -> Value {
    serde_json::to_value(h).unwrap_or(Value::Null)
}

/// A live check as a plan shows it: its settings and its id.
pub(super) fn live_check_json(h: &LiveHealthCheck) -> Value {
    let mut v = health_check_json(&h.config);
    if let Some(o) = v.as_object_mut() {
        o.insert("id".into(), json!(h.id));
        if !h.tags.is_empty() {
            o.insert("tags".into(), json!(h.tags));
        }
        for d in &h.drift {
            o.insert(d.clone(), json!(true));
        }
    }
    v
}

pub(super) fn record_json(r: &RecordSet, check: Option<&Address>) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let (Some(obj), Some(a)) = (v.as_object_mut(), check) {
        obj.insert("health_check".into(), json!(a.to_string()));
    }
    if let Some(obj) = v.as_object_mut() {
        obj.retain(|_, x| !x.is_null());
    }
    v
}
