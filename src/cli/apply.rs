//! `meridian apply`: a topology (plan, confirm, apply) or a saved plan (exactly it), under the
//! backend's lock, recording the outcome in the manifest.

use super::team::{Done, Managed, Team};
use super::workspace::{
    confirm, default_state, is_saved_plan, load, make_plan, open_provider, parse_duration, share,
    ApplyProgress, Common, Live, Loaded,
};
use super::{exit, to_json, Ctx};
use crate::backend::Operation;
use crate::identity::Identity;
use crate::plan::{self, saved, Plan};
use crate::provider::{LiveSource, Provider};
use crate::render;
use crate::source::Sources;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Apply a topology (plan, confirm, apply) or a saved plan (exactly it, or refuse it if the
/// live state changed since).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian apply examples/active-passive      # asks for \"yes\" on a terminal\n  meridian apply examples/active-passive --auto-approve\n  meridian apply plan.json                          # a saved plan, no prompt"
)]
pub struct ApplyArgs {
    /// A topology (file or directory), or a plan saved with `meridian plan --out`.
    #[arg(default_value = ".")]
    pub(super) path: PathBuf,
    #[command(flatten)]
    pub(super) common: Common,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    pub(super) auto_approve: bool,
    /// How many independent operations may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(super) parallelism: u16,
    /// How long to wait for another apply's lock (the topology's backend, the local state store), e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(super) lock_timeout: crate::duration::Duration,
    /// Output of the result: human, or json (every change with its status).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    pub(super) format: ApplyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ApplyFormat {
    Human,
    Json,
}

pub(super) fn finish(
    outcome: &plan::apply::Outcome,
    provider: &dyn Provider,
    format: ApplyFormat,
    ctx: &mut Ctx,
) -> u8 {
    match format {
        ApplyFormat::Human => {
            ctx.out(&render::plan::outcome(outcome));
            let stats = provider.stats();
            if !stats.is_empty() {
                ctx.out(&format!("{}\n", render::plan::calls_line(&stats)));
            }
        }
        ApplyFormat::Json => match to_json(outcome, ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        },
    }
    // A signal makes the exit 1 even when the work ran out first (README: exit codes).
    if outcome.succeeded() && !outcome.interrupted {
        exit::OK
    } else {
        exit::ERROR
    }
}

pub fn run_apply(args: ApplyArgs, ctx: &mut Ctx) -> u8 {
    let saved = is_saved_plan(&args.path);
    let result = if saved {
        apply_saved(&args, ctx)
    } else {
        apply_topology(&args, false, ctx)
    };
    match result {
        Ok(code) | Err(code) => code,
    }
}

/// Runs the apply engine, stopping after the calls in flight when a signal arrives.
pub(super) fn run_apply_engine(
    p: &Plan,
    store: &dyn Provider,
    parallelism: u16,
    held: Option<&dyn crate::backend::Held>,
) -> plan::apply::Outcome {
    use super::signals::STOP;
    use std::sync::atomic::Ordering;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // A lock lost meanwhile (force-unlocked, taken by another apply) stops the engine
        // after the calls in flight, as a signal does.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if crate::backend::LOCK_LOST.load(Ordering::SeqCst) {
                    STOP.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let shown = ApplyProgress::new();
        let die_after = fault_exit_after();
        let on_progress = |x: plan::apply::Progress| {
            if die_after.is_some_and(|n| x.settled >= n) {
                // Fault injection: a death no handler sees, as kill -9 is, mid-apply.
                std::process::exit(137);
            }
            pause_if_asked(x.settled);
            shown.show(x);
        };
        // Before each wave: the lock is still ours, with enough lease left.
        let gate = || {
            let checked = held.map_or(Ok(()), crate::backend::Held::still_held);
            if checked.is_err() {
                crate::backend::LOCK_LOST.store(true, Ordering::SeqCst);
            }
            checked
        };
        let outcome = plan::apply::apply_gated(
            p,
            store,
            usize::from(parallelism),
            &STOP,
            &on_progress,
            &gate,
        );
        shown.finish();
        done.store(true, Ordering::SeqCst);
        outcome
    })
}

/// `MERIDIAN_FAULT_STOP_AFTER=N` (tests; debug builds only): once N changes have settled, the process stops
/// itself (SIGSTOP, every thread: a closed laptop lid, a suspended CI job) until continued.
fn pause_if_asked(settled: usize) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let asked = std::env::var("MERIDIAN_FAULT_STOP_AFTER")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|_| cfg!(debug_assertions));
    if asked.is_some_and(|n| settled >= n) && !DONE.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    }
}

/// `MERIDIAN_FAULT_EXIT_AFTER=N` (tests; debug builds only): the process dies as soon as N changes have settled,
/// running no destructor and releasing no lock, as under kill -9.
fn fault_exit_after() -> Option<usize> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("MERIDIAN_FAULT_EXIT_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// `MERIDIAN_FAULT_EXIT_AT=locked|recording` (tests; debug builds only): the process dies
/// there, as under kill -9: holding the lock before anything is written, or after the last
/// wave before the manifest's write.
fn fault_at(point: &str) -> bool {
    cfg!(debug_assertions) && std::env::var("MERIDIAN_FAULT_EXIT_AT").as_deref() == Ok(point)
}

pub(super) fn lock_timeout(args: &ApplyArgs) -> std::time::Duration {
    std::time::Duration::from_millis(args.lock_timeout.as_millis())
}

pub(super) fn apply_topology(args: &ApplyArgs, destroy: bool, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(&args.path, ctx)?;
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: apply asks for confirmation, and standard input is not a terminal; pass --auto-approve to apply without asking\n");
        return Err(exit::ERROR);
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let mut team = Team::open(&l.backend, Some((operation, lock_timeout(args))), ctx)?;
    if fault_at("locked") {
        // Fault injection (tests): a death no handler sees, holding the lock.
        std::process::exit(137);
    }
    l.same_topology(&team, args.common.rename, ctx)?;
    l.set_identity(team.identity());
    if destroy {
        // Without a manifest the plan still reads the zones: resources an earlier Meridian
        // made under the name stop it (`meridian init` first); otherwise it has no changes.
        l = l.for_destroy();
    }
    let state = args.common.state_path(&args.path);
    let store = open_provider(
        &args.common,
        &l.topology,
        &state,
        Some(lock_timeout(args)),
        ctx,
    )?;
    let name = l.topology.name.clone().unwrap_or_default();
    let mut p = make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&name),
        ctx,
    )?;
    share(&mut p, &l, &team, ctx);
    // With --format json, stdout carries only the outcome document.
    let shown = render::plan::human(&p);
    if args.format == ApplyFormat::Json {
        ctx.err(&shown);
    } else {
        ctx.out_colored(&shown, render::color::plan);
    }
    if !p.has_changes() {
        return settle(&p, &l, &team, (operation_of(destroy), args.format), ctx);
    }
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Apply cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    ctx.out("\n");
    run_and_record(
        &p,
        &l,
        &mut team,
        store.as_ref(),
        (args, operation_of(destroy)),
        ctx,
    )
}

fn operation_of(destroy: bool) -> Operation {
    if destroy {
        Operation::Destroy
    } else {
        Operation::Apply
    }
}

/// Records a new topology's identity, runs the apply engine, records what it did.
fn run_and_record(
    p: &Plan,
    l: &Loaded,
    team: &mut Team,
    store: &dyn Provider,
    (args, operation): (&ApplyArgs, Operation),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    use super::signals::APPLYING;
    use std::sync::atomic::Ordering;
    // From the manifest's first write to its last, a signal lets the work finish.
    APPLYING.store(true, Ordering::SeqCst);
    let result = run_recorded(p, l, team, store, (args, operation), ctx);
    APPLYING.store(false, Ordering::SeqCst);
    result
}

fn run_recorded(
    p: &Plan,
    l: &Loaded,
    team: &mut Team,
    store: &dyn Provider,
    (args, operation): (&ApplyArgs, Operation),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    let managed = managed_by(l, operation);
    let (manifest, version) = team.begin(p, &managed, operation, ctx)?;
    let outcome = run_apply_engine(p, store, args.parallelism, team._lock.as_deref());
    if fault_at("recording") {
        // Fault injection (tests): a death after the last wave, before the manifest's write.
        std::process::exit(137);
    }
    let code = finish(&outcome, store, args.format, ctx);
    if crate::backend::LOCK_LOST.load(std::sync::atomic::Ordering::SeqCst) {
        ctx.err("error: the topology's lock was lost during the apply (force-unlocked, taken over, or its lease not renewed in time): stopped before the next wave, and the outcome is not written to the manifest, whose journal still lists everything this apply could have made; the next apply settles it (run `meridian plan` to see the live state)\n");
        return Err(exit::ERROR);
    }
    let done = Done {
        plan: p,
        outcome: &outcome,
        operation,
        managed,
    };
    team.record(manifest, &version, &done, ctx)?;
    Ok(code)
}

/// What the topology leaves under management after `operation`: nothing after a destroy.
fn managed_by(l: &Loaded, operation: Operation) -> Managed {
    if operation == Operation::Destroy {
        Managed::default()
    } else {
        l.managed()
    }
}

/// A plan with no changes, under the lock: the manifest is brought in line with what is live
/// (a journal left by an interrupted apply, lists that drifted).
pub(super) fn settle(
    p: &Plan,
    l: &Loaded,
    team: &Team,
    (operation, format): (Operation, ApplyFormat),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    if let Some(what) = team.settle(p, &managed_by(l, operation), operation, ctx)? {
        // With --format json, stdout carries only the outcome document.
        if format == ApplyFormat::Json {
            ctx.err(&format!("{what}\n"));
        } else {
            ctx.out(&format!("{what}\n"));
        }
    }
    Ok(exit::OK)
}

/// Reads a saved plan and rebuilds its topology from the files it carries.
fn read_saved(path: &Path, ctx: &mut Ctx) -> Result<(Plan, Loaded), u8> {
    let text = crate::source::read_document(path).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    let saved = saved::read(&path.display().to_string(), &text).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    // The values the plan was made with, whatever this command line says.
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
    .with_variables(&given)
    .map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    let checked = crate::check(&sources);
    let Some(topology) = checked.valid() else {
        ctx.err(&render::diagnostics::human(
            &checked.diagnostics,
            &sources,
            ctx.color,
        ));
        ctx.err("error: the plan's topology does not validate with this Meridian\n");
        return Err(exit::ERROR);
    };
    let Some(backend) = saved.backend.clone() else {
        ctx.err("error: the saved plan names no backend (it was not made by `meridian plan`)\n");
        return Err(exit::ERROR);
    };
    let mut l = Loaded::new(
        &sources,
        topology.clone(),
        saved.topology.clone(),
        backend,
        ctx,
    )?;
    if saved.destroy {
        l = l.for_destroy();
    }
    Ok((saved, l))
}

/// The identity a saved plan is applied under: the backend's, which must be the plan's; or,
/// before the first apply, the one the plan minted.
fn saved_identity(saved: &Plan, team: &Team, ctx: &mut Ctx) -> Result<Identity, u8> {
    match &team.stored {
        Some(s) if s.manifest.topology_id == saved.identity.id => Ok(s.manifest.identity()),
        Some(s) => {
            ctx.err(&format!(
                "error: the saved plan is for topology id {}, but {} holds topology id {}; run `meridian plan` again\n",
                saved.identity.id,
                team.backend.describe(),
                s.manifest.topology_id
            ));
            Err(exit::ERROR)
        }
        None if saved.identity.new => Ok(saved.identity.clone()),
        None => {
            ctx.err(&format!(
                "error: the saved plan is for topology id {}, whose manifest is no longer in {}; run `meridian plan` again\n",
                saved.identity.id,
                team.backend.describe()
            ));
            Err(exit::ERROR)
        }
    }
}

fn apply_saved(args: &ApplyArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let (saved, mut l) = read_saved(&args.path, ctx)?;
    let operation = if saved.destroy { "destroy" } else { "apply" };
    let mut team = Team::open(&l.backend, Some((operation, lock_timeout(args))), ctx)?;
    l.set_identity(saved_identity(&saved, &team, ctx)?);
    // The plan's own live source, unless the command line names another (then the check
    // below refuses a different one).
    let (live, planned_state) = match &saved.live_source {
        LiveSource::Local { path, .. } => (Live::Local, Some(path.clone())),
        LiveSource::Aws { .. } => (Live::Aws, None),
    };
    let state = args
        .common
        .state
        .clone()
        .or(planned_state)
        .unwrap_or_else(|| default_state(&args.path));
    let common = Common {
        live: Some(args.common.live.unwrap_or(live)),
        target: saved.targets.clone(),
        replace: saved.replace.clone(),
        adopt: saved.adopt,
        force: saved.force,
        state: None,
        ..args.common.clone()
    };
    let store = open_provider(&common, &l.topology, &state, Some(lock_timeout(args)), ctx)?;
    if let Err(e) = saved::same_source(&saved.live_source, &store.source()) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    let now = make_plan(&l, store.as_ref(), &common, saved.plan_id.clone(), ctx)?;
    if let Err(e) = saved::check(&saved, &now) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    if !now.has_changes() {
        ctx.out("No changes: the saved plan is already applied.\n");
        return settle(
            &now,
            &l,
            &team,
            (operation_of(saved.destroy), args.format),
            ctx,
        );
    }
    run_and_record(
        &now,
        &l,
        &mut team,
        store.as_ref(),
        (args, operation_of(saved.destroy)),
        ctx,
    )
}
