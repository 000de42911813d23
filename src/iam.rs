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
    "route53:GetHealthCheck",
    "route53:ListTagsForResources",
    "route53:GetAccountLimit",
    "ecr:DescribeRegistry",
    "ecr:DescribeRepositories",
];

/// What `meridian import` calls: reads only, of any zone, check and registry it is pointed at.
pub const IMPORT_ACTIONS: &[&str] = &[
    "ecr:DescribeRegistry",
    "ecr:DescribeRepositories",
    "route53:ListHealthChecks",
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
];

/// The IAM policy `meridian import` (and `analyze --zone`) needs.
pub fn import_policy() -> Value {
    document(vec![json!({
        "Sid": "MeridianImport",
        "Effect": "Allow",
        "Action": IMPORT_ACTIONS,
        "Resource": "*",
    })])
}

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

/// IAM's limit on a managed policy, in characters not counting whitespace (IAM quotas page).
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// A topology's policy: one document, or several when even its narrowest form passes
/// [`MANAGED_POLICY_LIMIT`] (each is attached; together they allow what one would).
#[derive(Debug, Clone, PartialEq)]
pub struct Policies {
    pub documents: Vec<Value>,
    /// How the record names were written: exactly, or as name patterns.
    pub names: NameForm,
}

/// How the record-name condition names the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameForm {
    Exact,
    /// `prefix*.parent` patterns (StringLike), one per parent domain and kind.
    Patterns,
}

/// The IAM policy document of a topology, as one document (see [`policies`] for the limit).
pub fn policy(input: &Input, purpose: Purpose) -> Value {
    let mut docs = policies(input, purpose).documents;
    if docs.len() == 1 {
        return docs.remove(0);
    }
    let statements: Vec<Value> = docs
        .iter()
        .flat_map(|d| d["Statement"].as_array().cloned().unwrap_or_default())
        .collect();
    document(statements)
}

/// The IAM policy of a topology within IAM's size limit: the record names exactly when that
/// fits, else as name patterns (narrower than one wildcard per zone), else split into several
/// documents.
pub fn policies(input: &Input, purpose: Purpose) -> Policies {
    let mut names = Vec::new();
    if purpose == Purpose::Apply {
        names = input.graph.record_names();
        names.extend(input.managed_names.iter().cloned());
        names.sort();
        names.dedup();
    }
    let exact = statements(input, purpose, &names, NameForm::Exact);
    if purpose == Purpose::Plan || size(&document(exact.clone())) <= MANAGED_POLICY_LIMIT {
        return Policies {
            documents: vec![document(exact)],
            names: NameForm::Exact,
        };
    }
    let patterns = name_patterns(&names);
    let all = statements(input, purpose, &patterns, NameForm::Patterns);
    Policies {
        documents: split(all),
        names: NameForm::Patterns,
    }
}

impl Policies {
    /// Documents IAM would refuse: (1-based number, size), when even splitting the record
    /// names left one over the limit (hundreds of declared repositories).
    pub fn oversized(&self) -> Vec<(usize, usize)> {
        self.documents
            .iter()
            .enumerate()
            .map(|(i, d)| (i + 1, size(d)))
            .filter(|(_, n)| *n > MANAGED_POLICY_LIMIT)
            .collect()
    }
}

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A document's size as IAM counts it: its characters, whitespace outside strings excluded
/// (compact JSON has none).
pub fn size(doc: &Value) -> usize {
    serde_json::to_string(doc).map_or(usize::MAX, |t| t.chars().count())
}

fn statements(input: &Input, purpose: Purpose, names: &[String], form: NameForm) -> Vec<Value> {
    let mut out = vec![read_statement(input.tags)];
    if purpose == Purpose::Apply {
        out.extend(write_statements(input, names, form));
    }
    if let Some(Value::Array(s)) = backend_statement(input.backend, purpose) {
        out.extend(s);
    }
    if let Some(s) = neighbours_statement(input) {
        out.push(s);
    }
    out
}

/// With replication rules and an S3 backend, a plan reads the bucket's other manifests to name
/// the topologies that declare the same rules (their keys are not known beforehand).
fn neighbours_statement(input: &Input) -> Option<Value> {
    let BackendRef::S3 { bucket, .. } = input.backend else {
        return None;
    };
    let has_rules = input.managed_rules
        || input
            .graph
            .resources()
            .iter()
            .any(|r| matches!(r.spec, ResourceSpec::EcrReplication(_)));
    has_rules.then(|| {
        json!({
            "Sid": "MeridianBackendNeighbours",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        })
    })
}

/// Record names as patterns: names are grouped by kind (a domain, or an ownership marker
/// `_meridian.<domain>`), parent domain and the first character of their first label, and
/// each group of more than one becomes `<common prefix of their first labels>*.<parent>`:
/// never an empty prefix, never under a top-level domain, never over a name that is itself a
/// wildcard. Everything else stays exact, with `*` and `?` written as IAM's `${*}` and `${?}`
/// (under `StringLike` they would be wildcards).
pub fn name_patterns(names: &[String]) -> Vec<String> {
    type Key<'a> = (&'a str, &'a str, Option<char>);
    let mut groups: std::collections::BTreeMap<Key, Vec<&str>> = Default::default();
    let mut out = BTreeSet::new();
    for n in names {
        let (kind, rest) = match n.strip_prefix("_meridian.") {
            Some(rest) => ("_meridian.", rest),
            None => ("", n.as_str()),
        };
        let (first, parent) = rest.split_once('.').unwrap_or((rest, ""));
        if !parent.contains('.') || n.contains(['*', '?']) {
            out.insert(literal(n));
            continue;
        }
        groups
            .entry((kind, parent, first.chars().next()))
            .or_default()
            .push(first);
    }
    for ((kind, parent, _), firsts) in groups {
        match firsts.as_slice() {
            [only] => out.insert(format!("{kind}{only}.{parent}")),
            _ => out.insert(format!("{kind}{}*.{parent}", common_prefix(&firsts))),
        };
    }
    out.into_iter().collect()
}

/// A name as a `StringLike` value that matches only itself.
fn literal(name: &str) -> String {
    name.replace('*', "${*}").replace('?', "${?}")
}

fn common_prefix(words: &[&str]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut shared: Vec<char> = first.chars().collect();
    for w in &words[1..] {
        let n = shared
            .iter()
            .zip(w.chars())
            .take_while(|(a, b)| **a == *b)
            .count();
        shared.truncate(n);
    }
    shared.into_iter().collect()
}

/// Statements in documents of at most [`MANAGED_POLICY_LIMIT`] characters: the first holds
/// every statement but the record names that do not fit; the rest hold those names, each in a
/// statement of its own.
fn split(all: Vec<Value>) -> Vec<Value> {
    if size(&document(all.clone())) <= MANAGED_POLICY_LIMIT {
        return vec![document(all)];
    }
    let (records, others): (Vec<Value>, Vec<Value>) =
        all.into_iter().partition(|s| s["Sid"] == "MeridianRecords");
    let names: Vec<Value> = records
        .first()
        .and_then(|r| {
            r["Condition"]["ForAllValues:StringLike"][NAME_KEY]
                .as_array()
                .cloned()
        })
        .unwrap_or_default();
    let mut docs = Vec::new();
    let mut current = others;
    let mut chunk: Vec<Value> = Vec::new();
    for n in names {
        chunk.push(n);
        let mut trial = current.clone();
        trial.push(records_statement(docs.len(), &chunk, NameForm::Patterns));
        if size(&document(trial)) > MANAGED_POLICY_LIMIT && chunk.len() > 1 {
            let last = chunk.pop();
            current.push(records_statement(docs.len(), &chunk, NameForm::Patterns));
            docs.push(document(std::mem::take(&mut current)));
            chunk = last.into_iter().collect();
        }
    }
    if !chunk.is_empty() {
        current.push(records_statement(docs.len(), &chunk, NameForm::Patterns));
    }
    docs.push(document(current));
    docs
}

/// Route 53's condition key for the record names of a change batch.
const NAME_KEY: &str = "route53:ChangeResourceRecordSetsNormalizedRecordNames";

/// The record-change statement over `names` (the `part`-th when split).
fn records_statement(part: usize, names: &[Value], form: NameForm) -> Value {
    let operator = match form {
        NameForm::Exact => "ForAllValues:StringEquals",
        NameForm::Patterns => "ForAllValues:StringLike",
    };
    let sid = if part == 0 {
        "MeridianRecords".to_string()
    } else {
        format!("MeridianRecords{}", part + 1)
    };
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": ["route53:ChangeResourceRecordSets"],
        "Resource": "arn:aws:route53:::hostedzone/*",
        "Condition": {operator: {NAME_KEY: names}},
    })
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

fn write_statements(input: &Input, names: &[String], form: NameForm) -> Vec<Value> {
    let (graph, tags) = (input.graph, input.tags);
    let mut checks = vec![
        "route53:CreateHealthCheck",
        "route53:UpdateHealthCheck",
        "route53:DeleteHealthCheck",
    ];
    if tags {
        checks.push("route53:ChangeTagsForResource");
    }
    let names: Vec<Value> = names.iter().map(|n| json!(n)).collect();
    let mut out = vec![
        records_statement(0, &names, form),
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
        // The first PutReplicationConfiguration of an account creates ECR's replication role.
        out.push(json!({
            "Sid": "MeridianReplicationRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": "arn:aws:iam::*:role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication",
            "Condition": {"StringEquals": {"iam:AWSServiceName": "replication.ecr.amazonaws.com"}},
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
