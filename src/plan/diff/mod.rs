//! Diff: desired resources (the graph) against live state -> one change per address.
//!
//! Matching: health checks by Meridian's ownership marker in their caller reference
//! (see [`crate::identity`]); records by zone, name and set identifier, at
//! names the topology owns (a `_meridian.<name>` TXT marker); ECR repositories by region and
//! name; replication rules by the repositories they filter. What the topology does not manage
//! is never changed: it is listed in [`Diff::untouched`] instead.
//!
//! The files: `checks.rs` (health checks), `records.rs` (ownership markers and record sets at
//! the names the topology owns), `ecr.rs` (repositories and replication rules), `json.rs` (the
//! JSON views of desired and live resources shown in plans).

use super::{Action, Attrs, Change, ResourceChange, Untouched, UntouchedWhy};
use crate::dns::{RecordType, RoutingPolicy};
use crate::graph::{
    Address, HealthCheckSpec, Kind, OwnerSpec, RecordSpec, ResourceGraph, ResourceSpec,
};
use crate::hash;
use crate::identity::{Identity, Marker};
use crate::provider::{LiveHealthCheck, LiveState, RecordSet, ReplicationRule};

/// The TTL of an ownership marker (it is never resolved in the request path).
const MARKER_TTL: u32 = 300;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

mod checks;
mod ecr;
mod json;
mod records;

use checks::*;
use ecr::*;
use json::*;
pub use json::{check_tags, health_check_json};
use records::*;

/// The typed detail of a change: what the apply engine carries out for it. Saved with the
/// plan; its shape follows the plan's `format_version`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    HealthCheck {
        desired: Option<HealthCheckSpec>,
        /// The zone of the records that use the check (part of its caller reference).
        zone: String,
        /// The live check updated in place or kept.
        keep: Option<LiveHealthCheck>,
        /// Live checks to delete (replaced, duplicated, or no longer declared).
        delete: Vec<LiveHealthCheck>,
        /// Tags to write (`tag_health_checks`): on a new check, or on a kept one whose tags
        /// differ. Empty when the topology does not tag its checks.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        tags: BTreeMap<String, String>,
    },
    /// A record set or an ownership marker (a TXT record set).
    Record {
        desired: Option<RecordSet>,
        /// The health check the desired record uses, resolved at apply time.
        check: Option<Address>,
        /// Live record sets to remove before `desired` is written.
        delete: Vec<RecordSet>,
        /// UPSERT (in place) rather than DELETE + CREATE.
        in_place: bool,
    },
    Repository {
        region: String,
        name: String,
    },
    /// The rules of `region` to add and to remove (the same for every change of the region):
    /// the apply re-reads the live configuration and writes it with only these changes.
    Replication {
        region: String,
        add: Vec<ReplicationRule>,
        remove: Vec<ReplicationRule>,
    },
}

/// A name holding records that Meridian did not create.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Foreign {
    pub service: String,
    pub name: String,
    /// `TYPE set-identifier` of each record found there.
    pub records: Vec<String>,
    /// Another Meridian topology whose marker stands at the name, when there is one.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changes: Vec<ResourceChange>,
    /// Declared names already holding records Meridian did not create (needs `--adopt`).
    pub foreign: Vec<Foreign>,
    /// Things left alone, said in the plan.
    pub untouched: Vec<Untouched>,
}

/// A change as the plan shows it, before the typed detail the engine runs is attached.
struct Draft {
    address: String,
    kind: Kind,
    name: String,
    key: Option<String>,
    change: Change,
    action_reason: Option<String>,
    replace_paths: Vec<String>,
}

impl Draft {
    fn with(self, detail: Detail) -> ResourceChange {
        ResourceChange {
            address: self.address,
            kind: self.kind,
            name: self.name,
            key: self.key,
            change: self.change,
            action_reason: self.action_reason,
            replace_paths: self.replace_paths,
            detail,
        }
    }
}

fn change(
    address: &Address,
    actions: Vec<Action>,
    before: Option<Value>,
    after: Option<Value>,
    unknown: &[&str],
    reason: Option<&str>,
    replace_paths: Vec<String>,
) -> Draft {
    let after_unknown = if unknown.is_empty() {
        Attrs::empty()
    } else {
        let all: Map<String, Value> = unknown
            .iter()
            .map(|u| ((*u).to_string(), Value::Bool(true)))
            .collect();
        Attrs::new(&Value::Object(all))
    };
    let after_attrs = after.as_ref().map(Attrs::new);
    // Unchanged (most of a steady-state plan): one text for both. A no-op given no before is
    // one its caller knows unchanged: its before is not built, nor compared.
    let before_attrs = match (&before, &after, &after_attrs) {
        (None, _, Some(same)) if actions == [Action::NoOp] => Some(same.clone()),
        (Some(b), Some(a), Some(same)) if b == a => Some(same.clone()),
        _ => before.as_ref().map(Attrs::new),
    };
    Draft {
        address: address.to_string(),
        kind: address.kind,
        name: address.name.clone(),
        key: address.key.clone(),
        change: Change {
            actions,
            before: before_attrs,
            after: after_attrs,
            after_unknown,
        },
        action_reason: reason.map(str::to_string),
        replace_paths,
    }
}

/// How to diff: the topology's name and identity, and settings that shape the changes.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// For people (tags).
    pub topology: &'a str,
    /// What ownership is decided by.
    pub identity: &'a Identity,
    /// Take over names that hold foreign records.
    pub adopt: bool,
    /// Keep tags on health checks ([`check_tags`]).
    pub tag_checks: bool,
    /// Health checks to replace even if unchanged (`--replace`), by address.
    pub replace: &'a [String],
    /// The provider holds plain record sets only (no set identifiers or routing policies): at
    /// a name this topology owns, a plain A, AAAA or CNAME set is the service's.
    pub plain_records: bool,
}

/// Computes every change.
pub fn diff(graph: &ResourceGraph, live: &LiveState, settings: Settings) -> Diff {
    let Settings {
        identity, adopt, ..
    } = settings;
    let mut d = Diff::default();
    // A change per declared resource, and a few more where live differs: a vector that
    // doubled as it filled was the largest allocation of a steady-state plan.
    let declared = graph.resources().len();
    d.changes.reserve_exact(declared + declared / 16 + 16);
    let mut ours = OurChecks::read(live, identity, graph);
    let kept_check_ids = declared_checks(graph, &mut ours, settings, &mut d);
    let plain = settings.plain_records;
    records(
        graph,
        live,
        (identity, adopt, plain),
        &kept_check_ids,
        &mut d,
    );
    ecr(graph, live, identity, &mut d);
    orphan_checks(live, ours, &mut d);
    sort_by_address(&mut d.changes);
    d.untouched.sort();
    d
}

/// Sorts the changes by address (stable), without a merge sort's scratch copies.
fn sort_by_address(changes: &mut [ResourceChange]) {
    crate::order::sort_by_swaps(changes, |c| c.address.as_str());
}
