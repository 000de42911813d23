//! Saved plans (`meridian plan --out FILE`, then `meridian apply FILE`): reading one back, and
//! deciding whether it may still be applied: same live source, same format, and every change
//! still to make one the plan holds.

use super::diff::Detail;
use super::{Action, Plan, ResourceChange, FORMAT_VERSION};
use crate::provider::LiveSource;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Why a saved plan cannot be applied.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SavedError {
    #[error("{path} is not a Meridian plan: {why}")]
    #[diagnostic(code(meridian::saved_plan::unreadable))]
    Unreadable { path: String, why: String },
    #[error("{path} has plan format {found}; this Meridian reads formats 3 and {FORMAT_VERSION}")]
    #[diagnostic(
        code(meridian::saved_plan::format),
        help("make the plan again with this Meridian: meridian plan DIR --out FILE (see CHANGELOG.md)")
    )]
    Format { path: String, found: u64 },
    #[error("the plan was made against {planned}, but this apply reads {now}{why}")]
    #[diagnostic(
        code(meridian::saved_plan::other_source),
        help("apply it against the live source it was made for, or make the plan again")
    )]
    OtherSource {
        planned: Box<LiveSource>,
        now: Box<LiveSource>,
        why: &'static str,
    },
    #[error("the saved plan is stale: the live state changed since it was made:\n  {}", .0.join("\n  "))]
    #[diagnostic(code(meridian::saved_plan::stale), help("run `meridian plan` again"))]
    Stale(Vec<String>),
}

/// Reads a saved plan; `path` names it in messages.
pub fn read(path: &str, text: &str) -> Result<Plan, SavedError> {
    let unreadable = |why: String| SavedError::Unreadable {
        path: path.to_string(),
        why,
    };
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: Option<Value>,
    }
    let v: Version = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
    let found = v
        .format_version
        .as_ref()
        .and_then(Value::as_u64)
        .ok_or_else(|| unreadable("it has no format_version".into()))?;
    // Format 3 differs only in naming a change's kind `type` (now Terraform's type).
    if found != u64::from(FORMAT_VERSION) && found != 3 {
        return Err(SavedError::Format {
            path: path.to_string(),
            found,
        });
    }
    // From the text, not the value: a plan holds its attributes as JSON text.
    let mut plan: Plan = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
    // Read into this format's shape, it is written in this format.
    plan.format_version = FORMAT_VERSION;
    Ok(plan)
}

/// Whether a file's first bytes are those of a saved plan (a JSON object), whatever its name:
/// a topology is HCL, which never starts with `{`.
pub fn looks_saved(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// Whether `now` is the live source the plan was made against. A local store is the same
/// when its identity is (any spelling of its path) and it has not been replaced since (its
/// lineage, once written, is the one the plan saw).
pub fn same_source(planned: &LiveSource, now: &LiveSource) -> Result<(), SavedError> {
    let why = match (planned, now) {
        (
            LiveSource::Local {
                path: a,
                lineage: la,
            },
            LiveSource::Local {
                path: b,
                lineage: lb,
            },
        ) => {
            if a != b {
                Some(" (pass --state to name the store the plan read)")
            } else if la.is_some() && la != lb {
                Some(" (the store was replaced since: its lineage differs)")
            } else {
                None
            }
        }
        (LiveSource::ZoneFiles { dir: a }, LiveSource::ZoneFiles { dir: b }) => {
            (a != b).then_some(" (pass --zone-dir to name the directory the plan read)")
        }
        (a @ LiveSource::Aws { .. }, b @ LiveSource::Aws { .. }) => (a != b).then_some(
            " (pass the plan's --region, --endpoint-url and --profile, or the same AWS_ variables)",
        ),
        _ => Some(" (pass --live to choose the plan's kind of live state)"),
    };
    match why {
        None => Ok(()),
        Some(why) => Err(SavedError::OtherSource {
            planned: Box::new(planned.clone()),
            now: Box::new(now.clone()),
            why,
        }),
    }
}

/// Checks that applying `now` (the same topology planned again) applies exactly `saved`:
/// every change still to make must be one the plan holds, from the same starting point. A
/// change already made (a resumed apply) shows as no-op now and is skipped.
pub fn check(saved: &Plan, now: &Plan) -> Result<(), SavedError> {
    let planned: BTreeMap<&str, &ResourceChange> = saved
        .resource_changes
        .iter()
        .map(|c| (c.address.as_str(), c))
        .collect();
    // Health checks the plan deletes (replaced, duplicated, orphaned), by id: after a partial
    // apply, the old check of a replacement shows as a duplicate of the new one.
    let planned_deletions: BTreeSet<&str> = saved
        .resource_changes
        .iter()
        .filter_map(|c| match &c.detail {
            Detail::HealthCheck { delete, .. } => Some(delete.iter().map(|h| h.id.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    let mut stale = Vec::new();
    for c in now.resource_changes.iter().filter(|c| !c.is_no_op()) {
        if let Detail::HealthCheck {
            desired: None,
            delete,
            ..
        } = &c.detail
        {
            if delete
                .iter()
                .all(|h| planned_deletions.contains(h.id.as_str()))
            {
                continue;
            }
        }
        match planned.get(c.address.as_str()) {
            None => stale.push(format!(
                "{}: not in the plan, but would now be {:?}",
                c.address, c.change.actions
            )),
            Some(p) if !same_change(c, p) => stale.push(format!(
                "{}: changed in the live state since the plan",
                c.address
            )),
            Some(_) => {}
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(SavedError::Stale(stale))
    }
}

/// Whether `now` is (what remains of) the planned change `p`: its actions among the plan's,
/// the same starting point, the same result. Ids only the cloud knows are left out.
fn same_change(now: &ResourceChange, p: &ResourceChange) -> bool {
    let (now_actions, now_after) = comparable(now);
    let (plan_actions, plan_after) = comparable(p);
    let subset = now_actions.iter().all(|a| plan_actions.contains(a));
    subset
        && now.change.before == p.change.before
        && (now_after.is_none() || now_after == plan_after)
}

fn comparable(c: &ResourceChange) -> (&[Action], Option<Value>) {
    let strip = |v: &Option<super::Attrs>| {
        v.as_ref().map(|a| {
            let mut v = a.value();
            if let Some(o) = v.as_object_mut() {
                o.remove("id");
                o.remove("health_check_id");
            }
            v
        })
    };
    (&c.change.actions, strip(&c.change.after))
}
