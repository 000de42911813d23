//! `init`: give a topology its manifest, adopting what an earlier Meridian made under its
//! name. Changes nothing in the cloud.

use super::{Error, Team, Workspace};
use crate::backend::{Entry, Operation};
use crate::dns::RecordType;
use crate::graph::ResourceSpec;
use crate::identity::{Adopted, Identity};
use crate::provider::LiveState;

/// What `init` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initialised {
    /// The topology already had a manifest: its id and serial.
    Already { id: String, serial: u64 },
    /// A manifest was written with this new id, taking over what `adopted` lists.
    New { id: String, adopted: Adopted },
}

/// Writes the topology's first manifest, listing what it declares as managed (under the
/// lock `team` holds); a topology that has one is left as it is. With `live` (`--adopt`), what
/// runs at the declared names is taken over: see [`adoption`].
pub fn init(
    ws: &Workspace,
    team: &mut Team,
    live: Option<&LiveState>,
) -> Result<Initialised, Error> {
    if let Some(s) = &team.stored {
        return Ok(Initialised::Already {
            id: s.manifest.topology_id.clone(),
            serial: s.manifest.serial,
        });
    }
    let name = ws.name();
    let identity = Identity {
        adopted_name: Some(name.clone()),
        adopted: live.map(|l| adoption(ws, l)).unwrap_or_default(),
        ..Identity::mint()
    };
    let (mut m, version) = team.commit_identity(&identity, &name)?;
    let now = ws.managed();
    (m.services, m.zones, m.regions, m.names) = (now.services, now.zones, now.regions, now.names);
    m.declared_rules.clone_from(&now.rules);
    // Rules that filter a declared repository were this topology's under the old rule of
    // ownership; they are adopted only when exactly as declared (the plan then shows others).
    m.rules = now.rules;
    m.record(Entry::bare(Operation::Init, team.backend.who()));
    team.backend.write(&m, Some(&version))?;
    Ok(Initialised::New {
        id: m.topology_id,
        adopted: identity.adopted,
    })
}

/// What runs that the topology declares, made by another tool (an imported zone): each
/// declared record set found live as declared (zone, name, type, set identifier) makes its
/// name adoptable when no ownership marker stands there, and the health check it uses this
/// topology's (by id; its caller reference is another tool's and cannot change).
pub fn adoption(ws: &Workspace, live: &LiveState) -> Adopted {
    let mut a = Adopted::default();
    for r in ws.graph.resources() {
        let ResourceSpec::Record(spec) = &r.spec else {
            continue;
        };
        let Some(found) = live.records.iter().find(|l| {
            l.zone == spec.zone
                && l.name == spec.name
                && l.record_type == spec.record_type
                && l.set_identifier == spec.set_identifier
        }) else {
            continue;
        };
        let marker = crate::dns::marker_name(&spec.name);
        let marked = live
            .records
            .iter()
            .any(|m| m.zone == spec.zone && m.name == marker && m.record_type == RecordType::Txt);
        let name = format!("{}/{}", spec.zone, spec.name);
        if !marked && !a.names.contains(&name) {
            a.names.push(name);
        }
        let readable = |id: &String| live.health_checks.iter().any(|h| h.id == *id);
        if let (Some(check), Some(id)) = (
            &spec.health_check,
            found.health_check_id.as_ref().filter(|i| readable(i)),
        ) {
            a.checks.insert(check.to_string(), id.clone());
        }
    }
    a.names.sort();
    a
}
