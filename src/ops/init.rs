//! `init`: give a topology its manifest, adopting what an earlier Meridian made under its
//! name. Changes nothing in the cloud.

use super::{Error, Team, Workspace};
use crate::backend::{Entry, Operation};
use crate::identity::Identity;

/// What `init` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initialised {
    /// The topology already had a manifest: its id and serial.
    Already { id: String, serial: u64 },
    /// A manifest was written with this new id.
    New { id: String },
}

/// Writes the topology's first manifest, listing what it declares as managed (under the
/// lock `team` holds); a topology that has one is left as it is.
pub fn init(ws: &Workspace, team: &mut Team) -> Result<Initialised, Error> {
    if let Some(s) = &team.stored {
        return Ok(Initialised::Already {
            id: s.manifest.topology_id.clone(),
            serial: s.manifest.serial,
        });
    }
    let name = ws.name();
    let identity = Identity {
        adopted_name: Some(name.clone()),
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
    Ok(Initialised::New { id: m.topology_id })
}
