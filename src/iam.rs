//! The least-privilege IAM policy of one topology: the actions Meridian's AWS calls need to
//! plan it, to apply it, and to use its S3 backend, each on the narrowest resources it can
//! name without reading the account (hosted zones are not known by id offline, so record
//! changes are limited by record name instead, with Route 53's
//! `route53:ChangeResourceRecordSetsNormalizedRecordNames` condition key).

use crate::backend::BackendRef;
use crate::graph::{ResourceGraph, ResourceSpec};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// What a policy is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Reading only: `plan`.
    Plan,
    /// Everything: `plan`, `apply`, `destroy`, `init`.
    Apply,
}

/// Every AWS action Meridian calls, by the operation name its call counter uses; the
/// policy test checks each call an apply makes against this list.
pub const READ_ACTIONS: &[&str] = &[
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
    "route53:ListHealthChecks",
    "route53:ListTagsForResources",
    "route53:GetAccountLimit",
    "ecr:DescribeRegistry",
    "ecr:DescribeRepositories",
];

/// What a policy is made from.
pub struct Input<'a> {
    pub graph: &'a ResourceGraph,
    pub backend: &'a BackendRef,
    /// `tag_health_checks`.
    pub tags: bool,
    /// Record names the last apply left under management (from the manifest): deleting them
    /// must stay allowed after their services are removed from the topology.
    pub managed_names: &'a [String],
    /// The manifest holds replication rules: removing them must stay allowed too.
    pub managed_rules: bool,
}

/// The IAM policy document of a topology.
pub fn policy(input: &Input, purpose: Purpose) -> Value {
    let mut statements = vec![read_statement(input.tags)];
    if purpose == Purpose::Apply {
        let mut names = record_names(input.graph);
        names.extend(input.managed_names.iter().cloned());
        names.sort();
        names.dedup();
        statements.extend(write_statements(input, &names));
    }
    let backend = input.backend;
    if let Some(Value::Array(s)) = backend_statement(backend, purpose) {
        statements.extend(s);
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn read_statement(tags: bool) -> Value {
    let mut actions: Vec<&str> = READ_ACTIONS
        .iter()
        .copied()
        .filter(|a| tags || *a != "route53:ListTagsForResources")
        .collect();
    actions.sort_unstable();
    json!({
        "Sid": "MeridianRead",
        "Effect": "Allow",
        "Action": actions,
        "Resource": "*",
    })
}

/// The record names a topology writes: each service's domain and its ownership marker.
pub fn record_names(graph: &ResourceGraph) -> Vec<String> {
    let mut names = BTreeSet::new();
    for r in graph.resources() {
        match &r.spec {
            ResourceSpec::Record(x) => {
                names.insert(x.name.clone());
            }
            ResourceSpec::Owner(o) => {
                names.insert(o.name.clone());
            }
            _ => {}
        }
    }
    names.into_iter().collect()
}

fn write_statements(input: &Input, names: &[String]) -> Vec<Value> {
    let (graph, tags) = (input.graph, input.tags);
    let mut checks = vec![
        "route53:CreateHealthCheck",
        "route53:UpdateHealthCheck",
        "route53:DeleteHealthCheck",
    ];
    if tags {
        checks.push("route53:ChangeTagsForResource");
    }
    let mut out = vec![
        json!({
            "Sid": "MeridianRecords",
            "Effect": "Allow",
            "Action": ["route53:ChangeResourceRecordSets"],
            "Resource": "arn:aws:route53:::hostedzone/*",
            "Condition": {"ForAllValues:StringEquals": {
                "route53:ChangeResourceRecordSetsNormalizedRecordNames": names
            }},
        }),
        json!({
            "Sid": "MeridianChanges",
            "Effect": "Allow",
            "Action": ["route53:GetChange"],
            "Resource": "arn:aws:route53:::change/*",
        }),
        json!({
            "Sid": "MeridianHealthChecks",
            "Effect": "Allow",
            "Action": checks,
            "Resource": "*",
        }),
    ];
    let repos: Vec<String> = graph
        .resources()
        .iter()
        .filter_map(|r| match &r.spec {
            ResourceSpec::EcrRepository(x) => {
                Some(format!("arn:aws:ecr:{}:*:repository/{}", x.region, x.name))
            }
            _ => None,
        })
        .collect();
    if !repos.is_empty() {
        out.push(json!({
            "Sid": "MeridianRepositories",
            "Effect": "Allow",
            "Action": ["ecr:CreateRepository"],
            "Resource": repos,
        }));
    }
    if !repos.is_empty() || input.managed_rules {
        out.push(json!({
            "Sid": "MeridianReplication",
            "Effect": "Allow",
            "Action": ["ecr:PutReplicationConfiguration"],
            "Resource": "*",
        }));
    }
    out
}

fn backend_statement(backend: &BackendRef, purpose: Purpose) -> Option<Value> {
    let BackendRef::S3 { bucket, key, .. } = backend else {
        return None;
    };
    let (actions, objects) = match purpose {
        Purpose::Plan => (
            vec!["s3:GetObject"],
            vec![format!("arn:aws:s3:::{bucket}/{key}")],
        ),
        Purpose::Apply => (
            vec!["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            vec![
                format!("arn:aws:s3:::{bucket}/{key}"),
                format!("arn:aws:s3:::{bucket}/{key}.lock"),
            ],
        ),
    };
    // Without ListBucket, S3 answers a missing manifest (a topology never applied) with 403
    // (a GetObject carries no `s3:prefix`, so the grant cannot be narrowed by one).
    Some(json!([
        {
            "Sid": "MeridianBackend",
            "Effect": "Allow",
            "Action": actions,
            "Resource": objects,
        },
        {
            "Sid": "MeridianBackendList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": format!("arn:aws:s3:::{bucket}"),
        }
    ]))
}

/// The actions a policy allows.
pub fn actions(policy: &Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}
