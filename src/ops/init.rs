//! `init`: give a topology its manifest, adopting what an earlier Meridian made under its
//! name, and with `--adopt` what another tool made at its names. Changes nothing in the cloud.

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
    /// A manifest was written (or, with `--adopt`, added to), taking over what `adopted`
    /// lists; `notes` says what was not taken over, and why.
    New {
        id: String,
        adopted: Adopted,
        notes: Vec<String>,
    },
}

/// Writes the topology's first manifest, listing what it declares as managed (under the
/// lock `team` holds); a topology that has one is left as it is. With `live` (`--adopt`), what
/// runs at the declared names is taken over ([`adoption`]), also into a manifest that exists
/// (what a later import added).
pub fn init(
    ws: &Workspace,
    team: &mut Team,
    live: Option<&LiveState>,
) -> Result<Initialised, Error> {
    // What the topology already holds (its own checks, those it adopted) is not taken again.
    let me = team.identity();
    let (adopted, notes) = live.map(|l| adoption(ws, l, &me)).unwrap_or_default();
    if let Some(s) = &team.stored {
        let id = s.manifest.topology_id.clone();
        if live.is_none() {
            return Ok(Initialised::Already {
                id,
                serial: s.manifest.serial,
            });
        }
        let more = adopted.clone();
        team.rewrite(
            move |m| {
                m.adopted.names.extend(more.names);
                m.adopted.names.sort();
                m.adopted.names.dedup();
                m.adopted.checks.extend(more.checks);
            },
            (Operation::Init, true),
        )?;
        return Ok(Initialised::New { id, adopted, notes });
    }
    let name = ws.name();
    let identity = Identity {
        adopted_name: Some(name.clone()),
        adopted,
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
        notes,
    })
}

/// What runs that the topology declares, made by another tool (an imported zone): each
/// declared record set found live as declared (zone, name, type, set identifier) makes its
/// name adoptable when no ownership marker stands there, and the health check it uses this
/// topology's (by id; its caller reference is another tool's and cannot change) when that
/// check is exactly as the file declares it and no other record uses it. Returns what was
/// not taken over, and why.
pub fn adoption(ws: &Workspace, live: &LiveState, me: &Identity) -> (Adopted, Vec<String>) {
    let mut a = Adopted::default();
    let mut notes = Vec::new();
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
        let (Some(check), Some(id)) = (&spec.health_check, found.health_check_id.as_ref()) else {
            continue;
        };
        let own = live
            .health_checks
            .iter()
            .find(|h| h.id == *id)
            .is_some_and(|h| me.reference_parts(&h.caller_reference).is_some());
        if own || me.adopted.checks.values().any(|a| a == id) {
            continue;
        }
        match adoptable_check(ws, live, check, id) {
            Ok(()) => {
                a.checks.insert(check.to_string(), id.clone());
            }
            Err(why) => notes.push(format!("health check {id} ({check}): {why}")),
        }
    }
    a.names.sort();
    (a, notes)
}

/// Whether the live check `id` is the one the file declares at `check`, used by one record.
fn adoptable_check(
    ws: &Workspace,
    live: &LiveState,
    check: &crate::graph::Address,
    id: &str,
) -> Result<(), String> {
    let Some(h) = live.health_checks.iter().find(|h| h.id == id) else {
        return Err("not among the checks Meridian can read (CALCULATED, CLOUDWATCH_METRIC or RECOVERY_CONTROL, or gone); the plan creates the topology's own".into());
    };
    let users = live
        .records
        .iter()
        .filter(|r| r.health_check_id.as_deref() == Some(id))
        .count();
    if users > 1 {
        return Err(format!("{users} records use it, and Meridian gives each region its own: not taken over; the plan creates the topology's own, and this one stays"));
    }
    let declared = ws.graph.get(check).and_then(|r| match &r.spec {
        ResourceSpec::HealthCheck(spec) => Some(spec),
        _ => None,
    });
    if let Some(d) = declared.filter(|d| !d.probes_as(&h.config)) {
        return Err(format!(
            "it is not as the file declares it ({}): not taken over; the plan creates the topology's own, and this one stays",
            differences(d, &h.config).join(", ")
        ));
    }
    if declared.is_none() {
        return Err("the file declares no such check".into());
    }
    if !h.drift.is_empty() {
        return Err(format!(
            "someone turned on {}: not taken over",
            h.drift.join(", ")
        ));
    }
    Ok(())
}

/// The settings in which a live check differs from the declared one, as `field: live (declared)`.
fn differences(
    d: &crate::graph::HealthCheckSpec,
    l: &crate::graph::HealthCheckSpec,
) -> Vec<String> {
    let show = |x: &dyn std::fmt::Debug| format!("{x:?}");
    let pairs: [(&str, String, String); 9] = [
        ("type", show(&l.kind), show(&d.kind)),
        ("fqdn", show(&l.fqdn), show(&d.fqdn)),
        ("ip_address", show(&l.ip_address), show(&d.ip_address)),
        ("port", show(&l.port), show(&d.port)),
        ("path", show(&l.resource_path), show(&d.resource_path)),
        (
            "interval",
            show(&l.request_interval),
            show(&d.request_interval),
        ),
        (
            "failure_threshold",
            show(&l.failure_threshold),
            show(&d.failure_threshold),
        ),
        ("regions", show(&l.regions), show(&d.regions)),
        (
            "search_string",
            show(&l.search_string),
            show(&d.search_string),
        ),
    ];
    pairs
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(f, a, b)| format!("{f}: {a} live, {b} declared"))
        .collect()
}
