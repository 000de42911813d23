//! The resource graph as Graphviz DOT or JSON.

use crate::graph::{Kind, ResourceGraph};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Version of the JSON document [`json`] returns.
pub const JSON_FORMAT_VERSION: u32 = 1;

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// DOT: one cluster per service or registry, an edge from each resource to what it needs.
pub fn dot(g: &ResourceGraph) -> String {
    let mut groups: BTreeMap<(&str, &str), Vec<&crate::graph::Resource>> = BTreeMap::new();
    for r in g.resources() {
        let group = match r.address.kind {
            Kind::EcrReplication | Kind::EcrRepository => "registry",
            Kind::HealthCheck | Kind::Owner | Kind::Record => "service",
        };
        groups.entry((group, &r.address.name)).or_default().push(r);
    }
    let mut s = String::new();
    s.push_str("digraph meridian {\n");
    s.push_str("  rankdir=LR;\n");
    s.push_str("  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for ((group, name), members) in &groups {
        let _ = writeln!(
            s,
            "  subgraph {} {{",
            quote(&format!("cluster_{group}_{name}"))
        );
        let _ = writeln!(s, "    label={};", quote(&format!("{group} \"{name}\"")));
        for r in members {
            let shape = match r.address.kind {
                Kind::HealthCheck => "ellipse",
                Kind::Owner => "note",
                Kind::Record => "box",
                Kind::EcrRepository => "cylinder",
                Kind::EcrReplication => "component",
            };
            let _ = writeln!(s, "    {} [shape={shape}];", quote(&r.address.to_string()));
        }
        s.push_str("  }\n");
    }
    for (from, to) in g.edges() {
        let _ = writeln!(
            s,
            "  {} -> {};",
            quote(&from.to_string()),
            quote(&to.to_string())
        );
    }
    s.push_str("}\n");
    s
}

/// JSON: every resource with its settings and dependencies, and the edge list.
pub fn json(g: &ResourceGraph) -> Value {
    let resources: Vec<Value> = g
        .resources()
        .iter()
        .map(|r| {
            json!({
                "address": r.address,
                "type": r.address.kind,
                "name": r.address.name,
                "key": r.address.key,
                "depends_on": g.dependencies(&r.address),
                "values": r.spec,
            })
        })
        .collect();
    let order: Vec<String> = g
        .order()
        .map(|o| o.iter().map(|r| r.address.to_string()).collect())
        .unwrap_or_default();
    let edges: Vec<Value> = g
        .edges()
        .into_iter()
        .map(|(a, b)| json!({"from": a, "to": b}))
        .collect();
    json!({
        "format_version": JSON_FORMAT_VERSION,
        "resources": resources,
        "edges": edges,
        "apply_order": order,
    })
}
