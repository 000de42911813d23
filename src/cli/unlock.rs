//! `meridian force-unlock`: remove the apply lock an interrupted or killed apply left behind.

use super::{exit, Ctx};
use crate::provider::lock;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

/// Remove the lock of a topology (in its backend, local or S3) or of its local state store,
/// after confirmation.
///
/// Use it only when no apply is running: the lock keeps two applies from interleaving. The
/// lock id is in the error of the apply that found the lock.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian force-unlock 3f2a9c0d1e4b5a67 infra/\n  meridian force-unlock 3f2a9c0d1e4b5a67 --force \\\n      --state infra/.meridian/state.json"
)]
pub struct Args {
    /// The id of the lock, as the refused apply printed it.
    lock_id: String,
    /// The topology (file or directory) whose store is locked.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The local state store (default: .meridian/state.json beside the topology).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    force: bool,
}

/// Confirms on a terminal, or with --force.
fn confirmed(args: &Args, what: &str, ctx: &mut Ctx) -> bool {
    if args.force {
        return true;
    }
    if !std::io::stdin().is_terminal() {
        ctx.err("error: force-unlock asks for confirmation, and standard input is not a terminal; pass --force\n");
        return false;
    }
    ctx.err(&format!(
        "{what}.\nRemove it only if no apply is running. Only 'yes' will be accepted.\n  Enter a value: "
    ));
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    if line.trim() != "yes" {
        ctx.err("Cancelled: the lock was kept.\n");
        return false;
    }
    true
}

/// The topology's backend lock, when it has the id asked for: removed after confirmation.
fn backend_lock(args: &Args, ctx: &mut Ctx) -> Option<u8> {
    let sources = crate::source::Sources::load(&args.path).ok()?;
    let topology = crate::check(&sources).valid()?.clone();
    let at = crate::backend::BackendRef::of(
        topology.backend.as_ref(),
        &super::team::topology_dir(&args.path),
    );
    let held = at.open().and_then(|b| b.holder().map(|h| (b, h)));
    let (backend, holder) = match held {
        Ok((b, Some(h))) => (b, h),
        Ok((_, None)) => return None,
        Err(e) => {
            // Said, then the state store's lock is tried.
            ctx.report(e);
            return None;
        }
    };
    if holder.id != args.lock_id {
        return None;
    }
    if !confirmed(
        args,
        &format!("The topology ({at}) is held by {}", holder.describe()),
        ctx,
    ) {
        return Some(exit::ERROR);
    }
    Some(match backend.force_unlock(&args.lock_id) {
        Ok(_) => {
            ctx.out(&format!("Removed the lock of {at}.\n"));
            exit::OK
        }
        Err(e) => {
            ctx.report(e);
            exit::ERROR
        }
    })
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    if let Some(code) = backend_lock(&args, ctx) {
        return code;
    }
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| super::plan::default_state(&args.path));
    let holder = match lock::holder(&state) {
        None => {
            ctx.err(&format!("error: {} is not locked\n", state.display()));
            return exit::ERROR;
        }
        Some(Ok(h)) => format!(
            "pid {} on {} since unix time {}",
            h.pid, h.host, h.since_unix
        ),
        Some(Err(text)) => text,
    };
    if !confirmed(
        &args,
        &format!("The lock of {} is held by {holder}", state.display()),
        ctx,
    ) {
        return exit::ERROR;
    }
    match lock::force_unlock(&state, &args.lock_id) {
        Ok(_) => {
            ctx.out(&format!("Removed the lock of {}.\n", state.display()));
            exit::OK
        }
        Err(e) => {
            ctx.report(e);
            exit::ERROR
        }
    }
}
