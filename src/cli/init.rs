//! `meridian init`: give a topology its manifest, adopting what an earlier Meridian made.

use super::workspace::{fail, load, open_team, parse_duration};
use super::{exit, Ctx};
use crate::ops::init::Initialised;
use std::path::PathBuf;

/// Give a topology its manifest: mint its id and adopt what an earlier Meridian created
/// under its name (health checks and ownership markers keyed by the name). Changes nothing
/// in the cloud.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  meridian init infra/\n  meridian init infra/main.hcl")]
pub struct InitArgs {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    pub(super) path: PathBuf,
    /// How long to wait for another apply's lock, e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(super) lock_timeout: crate::duration::Duration,
}

pub fn run_init(args: InitArgs, ctx: &mut Ctx) -> u8 {
    match init(&args, ctx) {
        Ok(code) | Err(code) => code,
    }
}

pub(super) fn init(args: &InitArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut ws = load(&args.path, ctx)?;
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let mut team = open_team(ws.backend(), Some(("init", timeout)), ctx)?;
    ws.same_topology(&team, false).map_err(|e| fail(e, ctx))?;
    let name = ws.name();
    let done = crate::ops::init::init(&ws, &mut team).map_err(|e| fail(e, ctx))?;
    let backend = team.backend.describe();
    ctx.out(&match done {
        Initialised::Already { id, serial } => format!(
            "Topology {name} already has a manifest in {backend}: id {id} (serial {serial}). Nothing to do.\n"
        ),
        Initialised::New { id } => format!(
            "Initialised topology {name} in {backend}: id {id}. Health checks and ownership markers an earlier Meridian made under the name {name} are this topology's; the next apply rewrites the markers with the id.\n"
        ),
    });
    Ok(exit::OK)
}
