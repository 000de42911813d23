//! `meridian state list | show | rm`: what a topology manages, read from the cloud through
//! its identity, and forgetting part of it without deleting it.

use super::workspace::{fail, load, open_provider, open_team, options, Common};
use super::{exit, Ctx};
use crate::ops::state::{self as ops_state, live_changes};
use crate::ops::Team;
use crate::plan::Plan;
use std::path::PathBuf;

/// Inspect or edit what a topology manages.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every resource the topology manages (read live through its identity).
    #[command(
        after_help = "Examples:\n  meridian state list infra/\n  meridian state list infra/ --live aws"
    )]
    List(Target),
    /// Show one managed resource as it is live.
    #[command(after_help = "Examples:\n  meridian state show 'record.api[\"us-east-1\"]' infra/")]
    Show {
        address: String,
        #[command(flatten)]
        target: Target,
    },
    /// Forget a service (owner.NAME, with its records and health checks), a health check or a
    /// replication rule: it stays in the cloud and the topology no longer manages it. Remove
    /// it from the topology too, or the next plan reports its names as foreign.
    #[command(
        after_help = "Examples:\n  meridian state rm owner.api infra/\n  meridian state rm 'health_check.api[\"us-east-1\"]' infra/"
    )]
    Rm {
        address: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Args)]
pub struct Target {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    common: Common,
}

pub fn run(cmd: Command, ctx: &mut Ctx) -> u8 {
    let result = match &cmd {
        Command::List(t) => managed(t, None, ctx).map(|(p, _)| {
            for c in live_changes(&p) {
                ctx.out(&format!("{}\n", c.address));
            }
            exit::OK
        }),
        Command::Show { address, target } => show(address, target, ctx),
        Command::Rm { address, target } => forget(address, target, ctx),
    };
    match result {
        Ok(code) | Err(code) => code,
    }
}

/// Locked for `state rm`; plain reads take no lock.
const RM_LOCK: Option<(&str, std::time::Duration)> = Some(("state rm", std::time::Duration::ZERO));

/// The plan whose changes are what the topology manages, as live, and its open backend.
fn managed(
    t: &Target,
    lock: Option<(&str, std::time::Duration)>,
    ctx: &mut Ctx,
) -> Result<(Plan, Team), u8> {
    let ws = load(&t.path, ctx)?;
    let team = open_team(ws.backend(), lock, ctx)?;
    let ws = ops_state::prepare(ws, &team).map_err(|e| fail(e, ctx))?;
    let state = t.common.state_path(&t.path);
    let store = open_provider(&t.common, &ws, &state, None, ctx)?;
    let opts = options(&t.common, ctx)?;
    let p = ops_state::managed(&ws, store.as_ref(), opts).map_err(|e| fail(e, ctx))?;
    Ok((p, team))
}

fn show(address: &str, t: &Target, ctx: &mut Ctx) -> Result<u8, u8> {
    let (p, _) = managed(t, None, ctx)?;
    let c = ops_state::find(&p, address).map_err(|e| fail(e, ctx))?;
    let text = super::to_json(&c.change.before, ctx)?;
    ctx.out(&text);
    Ok(exit::OK)
}

fn forget(address: &str, t: &Target, ctx: &mut Ctx) -> Result<u8, u8> {
    let (p, mut team) = managed(t, RM_LOCK, ctx)?;
    ops_state::forget(address, &p, &mut team).map_err(|e| fail(e, ctx))?;
    ctx.out(&format!(
        "Forgot {address}: it stays in the cloud, and this topology no longer manages it.\n"
    ));
    Ok(exit::OK)
}
