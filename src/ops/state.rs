//! `state`: what a topology manages, as live (the changes of the plan that would delete it),
//! and forgetting a resource without touching the cloud.

use super::{Error, Team, Workspace};
use crate::backend::{Manifest, Operation};
use crate::graph::Kind;
use crate::plan::diff::Detail;
use crate::plan::{Options, Plan, ResourceChange};
use crate::provider::Provider;

/// The workspace whose plan deletes everything the topology manages, under the backend's
/// identity. Refused before the topology's first apply, or for another topology's manifest.
pub fn prepare(mut ws: Workspace, team: &Team) -> Result<Workspace, Error> {
    if team.stored.is_none() {
        return Err(Error::Refused(
            "the backend holds no manifest for this topology: it manages nothing yet".into(),
        ));
    }
    ws.same_topology(team, false)?;
    ws.set_identity(team.identity());
    Ok(ws.for_destroy())
}

/// The plan of a [`prepare`]d workspace: its changes are what the topology manages, as live.
pub fn managed(ws: &Workspace, provider: &dyn Provider, opts: Options) -> Result<Plan, Error> {
    ws.plan(provider, opts, "state".into())
}

/// The changes of a [`managed`] plan that touch something live.
pub fn live_changes(p: &Plan) -> impl Iterator<Item = &ResourceChange> {
    p.resource_changes
        .iter()
        .filter(|c| c.change.before.is_some())
}

/// The managed resource at `address`.
pub fn find<'a>(p: &'a Plan, address: &str) -> Result<&'a ResourceChange, Error> {
    live_changes(p)
        .find(|c| c.address == address)
        .ok_or_else(|| {
            Error::Refused(format!(
                "{address} is not managed by this topology (see `meridian state list`)"
            ))
        })
}

/// Forgets `address` in the manifest (under the lock `team` holds): it stays in the cloud and
/// the topology no longer manages it. A service's records are forgotten only with it.
pub fn forget(address: &str, p: &Plan, team: &mut Team) -> Result<(), Error> {
    let c = find(p, address)?;
    let alone = matches!(
        (&c.kind, &c.detail),
        (Kind::HealthCheck, Detail::HealthCheck { .. })
            | (Kind::Owner, Detail::Record { .. })
            | (Kind::EcrReplication, Detail::Replication { .. })
    );
    if !alone {
        return Err(Error::Refused(format!(
            "{address} cannot be forgotten alone; forget its service instead: meridian state rm owner.{}",
            c.name
        )));
    }
    // Nothing follows in this operation: the write is the end of it.
    team.rewrite(|m| forget_in(m, c, p), (Operation::Forget, false))
}

/// Marks `c` forgotten in `m` (a health check, a service through its owner marker, a
/// replication rule; nothing else).
fn forget_in(m: &mut Manifest, c: &ResourceChange, p: &Plan) {
    match (&c.kind, &c.detail) {
        (Kind::HealthCheck, Detail::HealthCheck { delete, .. }) => {
            m.forgotten
                .checks
                .extend(delete.iter().map(|h| h.id.clone()));
            m.adopted
                .checks
                .retain(|_, id| !delete.iter().any(|h| h.id == *id));
        }
        (Kind::Owner, Detail::Record { .. }) => forget_service(m, &c.name, p),
        (Kind::EcrReplication, Detail::Replication { region, remove, .. }) => {
            if let Some(rules) = m.rules.get_mut(region) {
                rules.retain(|r| !remove.contains(r));
            }
        }
        _ => {}
    }
}

/// The ids of the checks `service`'s live records use that no other service's records use.
fn shared_checks_of(service: &str, p: &Plan) -> Vec<String> {
    let mut mine = std::collections::BTreeSet::new();
    let mut others = std::collections::BTreeSet::new();
    for c in live_changes(p).filter(|x| x.kind == Kind::Record) {
        if let Detail::Record { delete, .. } = &c.detail {
            let ids = delete.iter().filter_map(|r| r.health_check_id.clone());
            if c.name == service {
                mine.extend(ids);
            } else {
                others.extend(ids);
            }
        }
    }
    mine.difference(&others).cloned().collect()
}

/// A service's every marker (its name's and its failover_to trees'), and its health checks.
fn forget_service(m: &mut Manifest, service: &str, p: &Plan) {
    for o in live_changes(p).filter(|x| x.kind == Kind::Owner && x.name == service) {
        if let Detail::Record { delete, .. } = &o.detail {
            m.forgotten
                .markers
                .extend(delete.iter().map(|r| format!("{}/{}", r.zone, r.name)));
        }
    }
    // Its checks: planned for deletion under their address (an orphan's change is named by
    // the whole address, `health_check.<service>["<label>"]`).
    let check_prefix = format!("health_check.{service}[");
    let its = |x: &&ResourceChange| x.name == service || x.address.starts_with(&check_prefix);
    for h in live_changes(p)
        .filter(|x| x.kind == Kind::HealthCheck)
        .filter(its)
    {
        if let Detail::HealthCheck { delete, .. } = &h.detail {
            m.forgotten
                .checks
                .extend(delete.iter().map(|h| h.id.clone()));
        }
    }
    // Shared checks (`health_check_scope = "endpoint"`) its records use and no other
    // service's do.
    m.forgotten.checks.extend(shared_checks_of(service, p));
    m.forgotten.checks.sort();
    m.forgotten.checks.dedup();
    m.services.retain(|s| s != service);
    // What `init --adopt` took over for it is no longer taken over.
    m.adopted
        .checks
        .retain(|a, _| !a.starts_with(&check_prefix));
    let names: Vec<String> = live_changes(p)
        .filter(|x| x.kind == Kind::Owner && x.name == service)
        .filter_map(|x| match &x.detail {
            Detail::Record { delete, .. } => Some(delete.iter().filter_map(|r| {
                crate::dns::marker_domain(&r.name).map(|d| format!("{}/{d}", r.zone))
            })),
            _ => None,
        })
        .flatten()
        .collect();
    m.adopted.names.retain(|n| !names.contains(n));
}
