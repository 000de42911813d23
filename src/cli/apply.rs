//! `meridian apply`: a topology (plan, confirm, apply) or a saved plan (exactly it), under the
//! backend's lock, recording the outcome in the manifest.

use super::signals::{APPLYING, STOP};
use super::workspace::{
    confirm, fail, is_saved_plan, load, make_plan, open_provider, open_team, options,
    parse_duration, share, ApplyProgress, Common,
};
use super::{exit, to_json, Ctx};
use crate::backend::Operation;
use crate::ops::apply::{self as ops_apply, Run};
use crate::ops::{Event, Team, Workspace};
use crate::plan::{self, Plan};
use crate::provider::Provider;
use crate::render;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

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

/// What the command line does at an operation's events: the progress display, the flag that
/// lets a signal finish the calls in flight, and (debug builds, tests) the fault hooks.
pub(super) struct Watch {
    shown: ApplyProgress,
    die_after: Option<usize>,
}

impl Watch {
    pub(super) fn new() -> Watch {
        Watch {
            shown: ApplyProgress::new(),
            die_after: fault_exit_after(),
        }
    }

    pub(super) fn event(&self, e: Event) {
        match e {
            // From the manifest's first write to its last, a signal lets the work finish.
            Event::Writing => {
                self.shown.restart();
                APPLYING.store(true, Ordering::SeqCst);
            }
            Event::Recorded => APPLYING.store(false, Ordering::SeqCst),
            Event::Locked if fault_at("locked") => {
                // Fault injection (tests): a death no handler sees, holding the lock.
                std::process::exit(137);
            }
            Event::Progress(x) => {
                if self.die_after.is_some_and(|n| x.settled >= n) {
                    // Fault injection: a death no handler sees, as kill -9 is, mid-apply.
                    std::process::exit(137);
                }
                pause_if_asked(x.settled);
                self.shown.show(x);
            }
            Event::Recording => {
                self.shown.finish();
                if fault_at("recording") {
                    // Fault injection (tests): a death after the last wave, before the
                    // manifest's write.
                    std::process::exit(137);
                }
            }
            Event::Locked | Event::TookOver(_) => {}
        }
    }

    /// How the engine runs, stopped by a signal.
    pub(super) fn run<'a>(parallelism: u16, observe: &'a (dyn Fn(Event) + Sync)) -> Run<'a> {
        Run {
            parallelism: usize::from(parallelism),
            stop: &STOP,
            observe,
        }
    }
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
    let mut ws = load(&args.path, ctx)?;
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: apply asks for confirmation, and standard input is not a terminal; pass --auto-approve to apply without asking\n");
        return Err(exit::ERROR);
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let team = open_team(ws.backend(), Some((operation, lock_timeout(args))), ctx)?;
    let watch = Watch::new();
    watch.event(Event::Locked);
    ws.same_topology(&team, args.common.rename)
        .map_err(|e| fail(e, ctx))?;
    ws.set_identity(team.identity());
    if destroy {
        // Without a manifest the plan still reads the zones: resources an earlier Meridian
        // made under the name stop it (`meridian init` first); otherwise it has no changes.
        ws = ws.for_destroy();
    }
    let state = args.common.state_path(&args.path);
    let store = open_provider(&args.common, &ws, &state, Some(lock_timeout(args)), ctx)?;
    let mut p = make_plan(
        &ws,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&ws.name()),
        ctx,
    )?;
    share(&mut p, &ws, &team, ctx);
    // With --format json, stdout carries only the outcome document.
    let shown = render::plan::human(&p);
    if args.format == ApplyFormat::Json {
        ctx.err(&shown);
    } else {
        ctx.out_colored(&shown, render::color::plan);
    }
    let operation = ops_apply::operation_of(destroy);
    if !p.has_changes() {
        return settle(&p, &ws, &team, (operation, args.format), ctx);
    }
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Apply cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    ctx.out("\n");
    run_and_record(
        &p,
        &ws,
        team,
        store.as_ref(),
        (args, operation, &watch),
        ctx,
    )
}

/// Applies the plan (journal, engine, manifest) and prints the outcome.
fn run_and_record(
    p: &Plan,
    ws: &Workspace,
    mut team: Team,
    store: &dyn Provider,
    (args, operation, watch): (&ApplyArgs, Operation, &Watch),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    let observe = |e| watch.event(e);
    let run = Watch::run(args.parallelism, &observe);
    let applied =
        ops_apply::apply(p, ws, &mut team, store, (operation, run)).map_err(|e| fail(e, ctx))?;
    let code = finish(&applied.outcome, store, args.format, ctx);
    applied.recorded.map_err(|e| fail(e, ctx))?;
    Ok(code)
}

/// A plan with no changes, under the lock: the manifest is brought in line with what is live
/// (a journal left by an interrupted apply, lists that drifted).
pub(super) fn settle(
    p: &Plan,
    ws: &Workspace,
    team: &Team,
    (operation, format): (Operation, ApplyFormat),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    if let Some(what) = ops_apply::settle(p, ws, team, operation).map_err(|e| fail(e, ctx))? {
        // With --format json, stdout carries only the outcome document.
        if format == ApplyFormat::Json {
            ctx.err(&format!("{what}\n"));
        } else {
            ctx.out(&format!("{what}\n"));
        }
    }
    Ok(exit::OK)
}

fn apply_saved(args: &ApplyArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let (saved, mut ws) = ops_apply::read_saved(&args.path).map_err(|e| fail(e, ctx))?;
    let operation = if saved.destroy { "destroy" } else { "apply" };
    let team = open_team(ws.backend(), Some((operation, lock_timeout(args))), ctx)?;
    let identity = ops_apply::saved_identity(&saved, &team).map_err(|e| fail(e, ctx))?;
    ws.set_identity(identity);
    let defaults = |kind| {
        let common = Common {
            live: Some(super::workspace::Live::of(kind)),
            ..args.common.clone()
        };
        common.state_path(&args.path)
    };
    let (kind, state) = ops_apply::saved_live(
        &saved,
        args.common.live.map(super::workspace::Live::kind),
        args.common.given_state(),
        &defaults,
    );
    let common = Common {
        live: Some(super::workspace::Live::of(kind)),
        ..args.common.clone()
    };
    let store = open_provider(&common, &ws, &state, Some(lock_timeout(args)), ctx)?;
    let prices = options(&args.common, ctx)?.prices;
    let now =
        ops_apply::replan_saved(&saved, &ws, store.as_ref(), prices).map_err(|e| fail(e, ctx))?;
    let operation = ops_apply::operation_of(saved.destroy);
    if !now.has_changes() {
        ctx.out("No changes: the saved plan is already applied.\n");
        return settle(&now, &ws, &team, (operation, args.format), ctx);
    }
    let watch = Watch::new();
    run_and_record(
        &now,
        &ws,
        team,
        store.as_ref(),
        (args, operation, &watch),
        ctx,
    )
}
