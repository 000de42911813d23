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
    /// The zone files' directory (`--live zonefile`; default: zones/ beside the topology).
    #[arg(long, value_name = "DIR")]
    zone_dir: Option<PathBuf>,
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

/// A lock force-unlock can see: the topology's (in its backend) or its state store's.
struct Found {
    /// For messages: "the topology (local .meridian)" or "the state store x/state.json".
    what: String,
    id: String,
    pid: u32,
    host: String,
    describe: String,
    remove: Box<dyn Fn() -> Result<(), String>>,
}

/// The topology's backend lock, if it holds one (an unreadable backend is said, and skipped).
fn backend_lock(args: &Args, ctx: &mut Ctx) -> Option<Found> {
    let sources = crate::source::Sources::load(&args.path)
        .and_then(|s| s.with_variables(&ctx.vars))
        .ok()?;
    let topology = crate::check(&sources).valid()?.clone();
    let at = crate::backend::BackendRef::of(
        topology.backend.as_ref(),
        &crate::ops::workspace::topology_dir(&args.path),
    );
    let held = at
        .open(&super::workspace::backend_settings())
        .and_then(|b| b.holder().map(|h| (b, h)));
    let (backend, holder) = match held {
        Ok((b, Some(h))) => (b, h),
        Ok((_, None)) => return None,
        Err(e) => {
            ctx.report(e);
            return None;
        }
    };
    let id = holder.id.clone();
    Some(Found {
        what: format!("the topology ({at})"),
        id: holder.id.clone(),
        pid: holder.pid,
        host: holder.host.clone(),
        describe: holder.describe(),
        remove: Box::new(move || {
            backend
                .force_unlock(&id)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    })
}

/// The state store's lock, if it has one.
fn store_lock(args: &Args) -> Option<Found> {
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| crate::ops::workspace::default_state(&args.path));
    let what = format!("the state store {}", state.display());
    file_lock(state, what)
}

/// The lock of the zone files (`--live zonefile`), if they have one.
fn zone_files_lock(args: &Args) -> Option<Found> {
    let dir = args
        .zone_dir
        .clone()
        .unwrap_or_else(|| crate::ops::workspace::topology_dir(&args.path).join("zones"));
    let what = format!("the zone files in {}", dir.display());
    file_lock(crate::provider::zonefile::lock_of(&dir), what)
}

/// The lock file beside `state`, if there is one.
fn file_lock(state: PathBuf, what: String) -> Option<Found> {
    let holder = lock::holder(&state)?;
    let Ok(h) = holder else {
        return Some(Found {
            what,
            id: lock::UNREADABLE.to_string(),
            pid: 0,
            host: String::new(),
            describe: format!(
                "an unreadable lock file ({}), left by a process that died while creating it",
                lock::lock_path(&state).display()
            ),
            remove: Box::new(move || {
                lock::force_unlock(&state, lock::UNREADABLE)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }),
        });
    };
    let id = h.id.clone();
    Some(Found {
        what,
        id: h.id.clone(),
        pid: h.pid,
        host: h.host.clone(),
        describe: format!(
            "lock {} held by pid {} on {} for {} since unix time {}",
            h.id, h.pid, h.host, h.operation, h.since_unix
        ),
        remove: Box::new(move || {
            lock::force_unlock(&state, &id)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    })
}

/// Removes the lock named by its id, and every other lock the same process left (one apply
/// holds the topology's lock and its state store's: one force-unlock clears both). An id that
/// names no lock is refused, naming the locks that exist.
pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let found: Vec<Found> = [
        backend_lock(&args, ctx),
        store_lock(&args),
        zone_files_lock(&args),
    ]
    .into_iter()
    .flatten()
    .collect();
    let Some(named) = found.iter().find(|f| f.id == args.lock_id) else {
        return no_such_lock(&args.lock_id, &found, ctx);
    };
    let same_holder =
        |f: &Found| f.id == named.id || (f.pid != 0 && f.pid == named.pid && f.host == named.host);
    let chosen: Vec<&Found> = found.iter().filter(|f| same_holder(f)).collect();
    let said: Vec<String> = chosen
        .iter()
        .map(|f| format!("{} is held by {}", f.what, f.describe))
        .collect();
    if !confirmed(&args, &said.join(";\n"), ctx) {
        return exit::ERROR;
    }
    let mut code = exit::OK;
    for f in chosen {
        match (f.remove)() {
            Ok(()) => ctx.out(&format!("Removed the lock of {}.\n", f.what)),
            Err(e) => {
                ctx.err(&format!("error: {e}\n"));
                code = exit::ERROR;
            }
        }
    }
    code
}

fn no_such_lock(id: &str, found: &[Found], ctx: &mut Ctx) -> u8 {
    if found.is_empty() {
        ctx.err(&format!(
            "error: no lock has id {id}: neither the topology nor its state store is locked\n"
        ));
    } else {
        let list: Vec<String> = found
            .iter()
            .map(|f| format!("  {}: {}\n", f.what, f.describe))
            .collect();
        ctx.err(&format!(
            "error: no lock has id {id}; the locks that exist:\n{}",
            list.concat()
        ));
    }
    exit::ERROR
}
