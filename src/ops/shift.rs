//! `shift`: move a weighted service's traffic step by step under the topology's lock. Each
//! step is a targeted plan of the region's record with the weight held, applied, then recorded
//! in the manifest, so a shift can stop and resume; abort returns in one step; release and
//! write hand control back to the file.

use super::apply::{run_engine, Run};
use super::{Error, Event, Team, Workspace};
use crate::backend::Operation;
use crate::plan::{Action, Options, Plan};
use crate::provider::Provider;
use crate::shift::{self, Hold, Holds};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// A shift under way: the workspace, its backend (locked) and provider, and the service.
pub struct Session {
    pub ws: Workspace,
    pub team: Team,
    pub provider: Box<dyn Provider>,
    pub service: String,
}

/// Where a shift starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// The shift in progress to the same weight, resumed.
    Resume(Hold),
    /// A new shift from the weight the records carry now.
    New(Hold),
    /// The region is at that weight already: nothing to do.
    Already,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stepped {
    /// The weight before the step; the hold after it.
    pub before: u8,
    pub hold: Hold,
    /// "already there" or "N change applied".
    pub changes: String,
    /// When the next step comes; None after the last, or when the shift stops here.
    pub next_in: Option<std::time::Duration>,
}

/// A shift moves weights the records carry: refused before the topology's first apply.
pub fn applied_before(team: &Team) -> Result<(), Error> {
    if team.stored.is_none() {
        return Err(Error::Refused("the topology has never been applied: apply it first (a shift moves weights the records already carry)".into()));
    }
    Ok(())
}

/// A shift moves weights: refused against a provider that holds no routing policies (zone
/// files), where a step would change nothing and record a hold that is not true.
pub fn provider_holds_weights(s: &Session) -> Result<(), Error> {
    let caps = s.provider.capabilities();
    if caps.routing {
        return Ok(());
    }
    Err(Error::Refused(format!(
        "{} holds no weighted records: a shift has no weights to move there",
        caps.name
    )))
}

/// The weight of `service` a shift holds, if any.
pub fn held(team: &Team, service: &str) -> Option<Hold> {
    team.identity().holds.get(service).cloned()
}

/// The shift to run toward `to` in `steps` over `over_seconds`: the one in progress when it
/// has the same target, else a new one from the weight the records carry now.
pub fn start(
    s: &Session,
    region: &str,
    to: u8,
    (steps, over_seconds): (u32, u64),
) -> Result<Start, Error> {
    provider_holds_weights(s)?;
    let held = held(&s.team, &s.service);
    if let Some(h) = held.as_ref().filter(|h| h.region != region) {
        return Err(Error::Refused(format!(
            "{0}[\"{1}\"] is held at weight {2} by an earlier shift; one region of a service moves at a time: `meridian shift {0} --write` or `--release` first (or `--abort`)",
            s.service, h.region, h.weight
        )));
    }
    if let Some(h) = held.filter(|h| h.to == to && !h.finished()) {
        return Ok(Start::Resume(h));
    }
    all_zero_guard(s, region, to)?;
    let declared = shift::shiftable(&s.ws.topology, &s.service, region)?;
    let current = held_weight(s, region).unwrap_or(declared);
    if current == to {
        return Ok(Start::Already);
    }
    Ok(Start::New(Hold {
        region: region.to_string(),
        weight: current,
        from: current,
        to,
        steps,
        done: 0,
        over_seconds,
        declared: None,
    }))
}

fn held_weight(s: &Session, region: &str) -> Option<u8> {
    held(&s.team, &s.service)
        .filter(|h| h.region == region)
        .map(|h| h.weight)
}

/// Refuses a shift that would leave every region of the service at weight 0: Route 53 then
/// splits the traffic equally, the opposite of a drain.
fn all_zero_guard(s: &Session, region: &str, to: u8) -> Result<(), Error> {
    let Some(svc) = s.ws.topology.services.get(&s.service) else {
        return Ok(());
    };
    let others_zero = svc
        .regions
        .iter()
        .filter(|(label, _)| *label != region)
        .all(|(_, r)| r.weight.unwrap_or(0) == 0);
    if to == 0 && others_zero {
        return Err(Error::Refused(format!(
            "every region of {} would be at weight 0, and Route 53 then splits its traffic equally among them; raise another region's weight first",
            s.service
        )));
    }
    Ok(())
}

/// Runs the remaining steps of `hold`, pausing `pause` between them; `on_step` hears of each.
/// Stops with [`Error::Interrupted`] after a step when `run.stop` is set.
pub fn steps(
    s: &mut Session,
    mut hold: Hold,
    pause: std::time::Duration,
    run: Run,
    on_step: &mut dyn FnMut(&Stepped),
) -> Result<Hold, Error> {
    let weights = shift::weights(hold.from, hold.to, hold.steps);
    while !hold.finished() {
        let before = hold.weight;
        hold.weight = weights[hold.done as usize];
        hold.done += 1;
        let changes = step(s, &hold, run)?;
        let stopped = run.stop.load(Ordering::SeqCst);
        on_step(&Stepped {
            before,
            hold: hold.clone(),
            changes,
            next_in: (!stopped && !hold.finished()).then_some(pause),
        });
        if stopped {
            return Err(Error::Interrupted(format!("Interrupted after step {}/{}: the records and the manifest agree (weight {}). Run the same command to resume, or --abort to return to {}.", hold.done, hold.steps, hold.weight, hold.from)));
        }
        if !hold.finished() {
            std::thread::sleep(pause);
        }
    }
    Ok(hold)
}

/// Plans the region's record with `hold`, applies it, records the hold. Returns what changed.
pub fn step(s: &mut Session, hold: &Hold, run: Run) -> Result<String, Error> {
    let mut identity = s.team.identity();
    identity.holds.insert(s.service.clone(), hold.clone());
    s.ws.set_identity(identity);
    let Some(address) = s.ws.record_address(&s.service, &hold.region) else {
        return Err(Error::Refused(
            "the service's record is not in the topology's graph".into(),
        ));
    };
    let opts = Options {
        targets: vec![address.clone()],
        ..Options::default()
    };
    let p = s.ws.plan(
        s.provider.as_ref(),
        opts,
        crate::plan::new_plan_id(&s.ws.name()),
    )?;
    let created = p
        .resource_changes
        .iter()
        .any(|c| c.address == address && c.change.actions == [Action::Create]);
    if created {
        return Err(Error::Refused(
            "the service's records do not exist yet: apply the topology first".into(),
        ));
    }
    if let Some(other) = beyond_weight(&p) {
        return Err(Error::Refused(format!("this step would also change {other}, which the file changed since the last apply; apply the topology first (a shift changes weights only)")));
    }
    (run.observe)(Event::Writing);
    let result = apply_and_record(s, &p, hold, run);
    (run.observe)(Event::Recorded);
    result
}

/// A change of the step's plan other than the record's weight, if any.
fn beyond_weight(p: &Plan) -> Option<String> {
    let strip = |v: &Option<crate::plan::Attrs>| {
        v.as_ref().map(|a| {
            let mut v = a.value();
            if let Some(o) = v.as_object_mut() {
                o.remove("weight");
            }
            v
        })
    };
    p.resource_changes
        .iter()
        .filter(|c| !c.is_no_op())
        .find(|c| {
            c.kind != crate::graph::Kind::Record
                || c.change.actions != [Action::Update]
                || strip(&c.change.before) != strip(&c.change.after)
        })
        .map(|c| c.address.clone())
}

fn apply_and_record(s: &mut Session, p: &Plan, hold: &Hold, run: Run) -> Result<String, Error> {
    let (outcome, _) = run_engine(p, s.provider.as_ref(), run, s.team.held());
    (run.observe)(Event::Recording);
    if !outcome.succeeded() {
        return Err(Error::Incomplete {
            outcome: Box::new(outcome),
            then: "error: the step did not complete; the manifest keeps the previous step. Run the same command to retry it.",
        });
    }
    let changed = p.summary.change + p.summary.add + p.summary.destroy;
    let mut holds = s.team.identity().holds;
    holds.insert(
        s.service.clone(),
        Hold {
            declared: None,
            ..hold.clone()
        },
    );
    record(s, p, &outcome, holds)?;
    Ok(if changed == 0 {
        "already there".into()
    } else {
        format!("{changed} change applied")
    })
}

fn record(
    s: &mut Session,
    p: &Plan,
    outcome: &crate::plan::apply::Outcome,
    holds: Holds,
) -> Result<(), Error> {
    let Some(stored) = s.team.stored.clone() else {
        return Err(Error::Refused(
            "the backend holds no manifest for this topology".into(),
        ));
    };
    let mut m = stored.manifest;
    m.holds = holds;
    let done = super::team::Done {
        plan: p,
        outcome,
        operation: Operation::Shift,
        managed: s.ws.managed(),
    };
    s.team.record(m, &stored.version, &done)?;
    s.team.stored = s.team.backend.read()?;
    Ok(())
}

/// What an abort did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aborted {
    /// The weight before, and the one the region is back at.
    pub hold: Hold,
    pub changes: String,
    /// Back at the file's weight (plans follow the file again), else at an earlier shift's
    /// (still held).
    pub at_file_weight: bool,
}

/// The step an abort makes: back to the weight the shift `h` started from, in one step.
pub fn abort_step(h: &Hold) -> Hold {
    Hold {
        weight: h.from,
        done: h.steps,
        ..h.clone()
    }
}

/// Returns to the starting weight in one step, then stops holding (or holds an earlier
/// shift's weight, so the next apply does not move it).
pub fn abort(s: &mut Session, h: &Hold, run: Run) -> Result<Aborted, Error> {
    provider_holds_weights(s)?;
    let declared = s.ws.declared_weight(&s.service, &h.region);
    let back = abort_step(h);
    let changes = step(s, &back, run)?;
    let mut holds = s.team.identity().holds;
    let at_file_weight = declared == Some(h.from);
    if at_file_weight {
        holds.remove(&s.service);
    } else {
        holds.insert(
            s.service.clone(),
            Hold {
                to: h.from,
                declared: None,
                ..back
            },
        );
    }
    write_holds(&mut s.team, holds)?;
    Ok(Aborted {
        hold: h.clone(),
        changes,
        at_file_weight,
    })
}

/// Stops holding `service`'s weight: the file's applies again at the next apply.
pub fn release(team: &mut Team, service: &str) -> Result<(), Error> {
    let mut holds = team.identity().holds;
    holds.remove(service);
    write_holds(team, holds)
}

fn write_holds(team: &mut Team, holds: Holds) -> Result<(), Error> {
    team.rewrite(|m| m.holds = holds, (Operation::Shift, true))
}

/// Puts the held weight into the file of the topology at `path` that declares the region,
/// keeping everything else. Returns the file written.
pub fn write_weight(path: &Path, service: &str, h: &Hold) -> Result<PathBuf, Error> {
    let sources = crate::source::Sources::load(path)?;
    for (_, f) in sources.iter() {
        let file = PathBuf::from(&f.name);
        match shift::set_weight(&f.text, service, &h.region, h.weight) {
            Ok(Some(new)) => {
                crate::atomic::write(&file, new.as_bytes())
                    .map_err(|e| Error::Refused(format!("cannot write {}: {e}", file.display())))?;
                return Ok(file);
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Error::Refused(format!(
                    "cannot edit {}: {e}",
                    file.display()
                )))
            }
        }
    }
    Err(Error::Refused(
        "no file of the topology declares that region".into(),
    ))
}
