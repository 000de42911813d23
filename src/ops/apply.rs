//! Apply and destroy under the topology's lock: the journal before the first change, the
//! engine (stopped by a value, gated on the lock before each wave), the outcome in the
//! manifest after; and a saved plan, rebuilt from the files it carries and re-planned.

use super::team::{Done, Managed, Team};
use super::workspace::{LiveKind, Workspace};
use super::{Error, Event, Observer};
use crate::backend::{Held, Operation};
use crate::identity::Identity;
use crate::plan::apply::Outcome;
use crate::plan::{saved, Options, Plan};
use crate::provider::{LiveSource, Provider};
use crate::source::Sources;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How the engine runs.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    /// How many independent operations may run at once.
    pub parallelism: usize,
    /// Set (by a signal, say) to stop after the calls in flight.
    pub stop: &'a AtomicBool,
    pub observe: Observer<'a>,
}

/// What an apply did.
#[derive(Debug)]
pub struct Applied {
    pub outcome: Outcome,
    /// Whether the manifest recorded the outcome; the error says why not (the changes in the
    /// outcome were made either way).
    pub recorded: Result<(), Error>,
}

/// Why the outcome is not recorded when the lock was lost.
const LOCK_LOST: &str = "the topology's lock was lost during the apply (force-unlocked, taken over, or its lease not renewed in time): stopped before the next wave, and the outcome is not written to the manifest, whose journal still lists everything this apply could have made; the next apply settles it (run `meridian plan` to see the live state)";

/// Runs the engine, stopping after the calls in flight when `run.stop` is set or the lock is
/// lost (asked before each wave, and watched between). Returns the outcome and whether the
/// lock was lost.
pub fn run_engine(
    p: &Plan,
    provider: &dyn Provider,
    run: Run,
    held: Option<&dyn Held>,
) -> (Outcome, bool) {
    let finished = AtomicBool::new(false);
    let lost = AtomicBool::new(false);
    let outcome = std::thread::scope(|s| {
        // A lock lost meanwhile (force-unlocked, taken by another apply) stops the engine
        // after the calls in flight, as a signal does.
        s.spawn(|| {
            while !finished.load(Ordering::SeqCst) {
                if held.is_some_and(Held::lost) {
                    lost.store(true, Ordering::SeqCst);
                    run.stop.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let on_progress = |x| (run.observe)(Event::Progress(x));
        // Before each wave: the lock is still ours, with enough lease left.
        let gate = || {
            let checked = held.map_or(Ok(()), Held::still_held);
            if checked.is_err() {
                lost.store(true, Ordering::SeqCst);
            }
            checked
        };
        let outcome = crate::plan::apply::apply_gated(
            p,
            provider,
            run.parallelism,
            run.stop,
            &on_progress,
            &gate,
        );
        finished.store(true, Ordering::SeqCst);
        outcome
    });
    let lost = lost.load(Ordering::SeqCst) || held.is_some_and(Held::lost);
    (outcome, lost)
}

/// The operation a plan's apply records.
pub fn operation_of(destroy: bool) -> Operation {
    if destroy {
        Operation::Destroy
    } else {
        Operation::Apply
    }
}

/// What the topology leaves under management after `operation`: nothing after a destroy.
fn managed_by(ws: &Workspace, operation: Operation) -> Managed {
    if operation == Operation::Destroy {
        Managed::default()
    } else {
        ws.managed()
    }
}

/// Applies a plan with changes: the journal first (nothing is changed when it cannot be
/// written), then the engine, then the outcome in the manifest.
pub fn apply(
    p: &Plan,
    ws: &Workspace,
    team: &mut Team,
    provider: &dyn Provider,
    (operation, run): (Operation, Run),
) -> Result<Applied, Error> {
    (run.observe)(Event::Writing);
    let result = apply_journaled(p, ws, team, provider, (operation, run));
    (run.observe)(Event::Recorded);
    result
}

fn apply_journaled(
    p: &Plan,
    ws: &Workspace,
    team: &mut Team,
    provider: &dyn Provider,
    (operation, run): (Operation, Run),
) -> Result<Applied, Error> {
    let managed = managed_by(ws, operation);
    let (manifest, version) = team.begin(p, &managed, operation)?;
    let (outcome, lost) = run_engine(p, provider, run, team.held());
    (run.observe)(Event::Recording);
    if lost {
        return Ok(Applied {
            outcome,
            recorded: Err(Error::Refused(LOCK_LOST.into())),
        });
    }
    let done = Done {
        plan: p,
        outcome: &outcome,
        operation,
        managed,
    };
    let recorded = team.record(manifest, &version, &done);
    Ok(Applied { outcome, recorded })
}

/// A plan with no changes, under the lock: the manifest is brought in line with what is live
/// (a journal left by an interrupted apply, lists that drifted). Returns what it repaired.
pub fn settle(
    p: &Plan,
    ws: &Workspace,
    team: &Team,
    operation: Operation,
) -> Result<Option<String>, Error> {
    team.settle(p, &managed_by(ws, operation), operation)
}

/// Reads a saved plan and rebuilds its topology from the files it carries.
pub fn read_saved(path: &Path) -> Result<(Plan, Workspace), Error> {
    let text = crate::source::read_document(path)?;
    let saved = saved::read(&path.display().to_string(), &text)?;
    // The values the plan was made with, whatever the command line says.
    let given = crate::source::VarInputs {
        saved: saved
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
        ..Default::default()
    };
    let sources = Sources::from_texts(
        saved
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.text.clone())),
    )
    .with_variables(&given)?;
    let checked = crate::check(&sources);
    let Some(topology) = checked.valid() else {
        return Err(Error::Invalid(checked.diagnostics, sources));
    };
    let Some(backend) = saved.backend.clone() else {
        return Err(Error::Refused(
            "the saved plan names no backend (it was not made by `meridian plan`)".into(),
        ));
    };
    let mut ws = Workspace::new(&sources, topology.clone(), saved.topology.clone(), backend)?;
    if saved.destroy {
        ws = ws.for_destroy();
    }
    Ok((saved, ws))
}

/// The identity a saved plan is applied under: the backend's, which must be the plan's; or,
/// before the first apply, the one the plan minted.
pub fn saved_identity(saved: &Plan, team: &Team) -> Result<Identity, Error> {
    match &team.stored {
        Some(s) if s.manifest.topology_id == saved.identity.id => Ok(s.manifest.identity()),
        Some(s) => Err(Error::Refused(format!(
            "the saved plan is for topology id {}, but {} holds topology id {}; run `meridian plan` again",
            saved.identity.id,
            team.backend.describe(),
            s.manifest.topology_id
        ))),
        None if saved.identity.new => Ok(saved.identity.clone()),
        None => Err(Error::Refused(format!(
            "the saved plan is for topology id {}, whose manifest is no longer in {}; run `meridian plan` again",
            saved.identity.id,
            team.backend.describe()
        ))),
    }
}

/// Where a saved plan's live state comes from: the plan's own source unless `kind` names
/// another (then [`replan_saved`] refuses a different one); the place `given` names, else the
/// plan's (its local store or zone-file directory), else the kind's default.
pub fn saved_live(
    saved: &Plan,
    kind: Option<LiveKind>,
    given: Option<PathBuf>,
    default_for: &dyn Fn(LiveKind) -> PathBuf,
) -> (LiveKind, PathBuf) {
    let (live, planned) = match &saved.live_source {
        LiveSource::Local { path, .. } => (LiveKind::Local, Some(path.clone())),
        LiveSource::Aws { .. } => (LiveKind::Aws, None),
        LiveSource::ZoneFiles { dir } => (LiveKind::ZoneFiles, Some(dir.clone())),
    };
    let kind = kind.unwrap_or(live);
    // The plan's place only for the plan's kind of live state (a local store's path is no
    // directory of zone files).
    let planned = planned.filter(|_| kind == live);
    let place = given.or(planned).unwrap_or_else(|| default_for(kind));
    (kind, place)
}

/// Plans again exactly as the saved plan was made, against the same live source, and checks
/// that the result is the saved plan: what its apply then does. `prices` are the overrides
/// the recovery analysis uses now.
pub fn replan_saved(
    saved: &Plan,
    ws: &Workspace,
    provider: &dyn Provider,
    prices: std::collections::BTreeMap<String, f64>,
) -> Result<Plan, Error> {
    saved::same_source(&saved.live_source, &provider.source())?;
    let opts = Options {
        adopt: saved.adopt,
        force: saved.force,
        targets: saved.targets.clone(),
        replace: saved.replace.clone(),
        prices,
        destroy: ws.destroy,
        plain_records: false,
    };
    let now = ws.plan(provider, opts, saved.plan_id.clone())?;
    saved::check(saved, &now)?;
    Ok(now)
}
