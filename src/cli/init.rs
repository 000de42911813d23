//! `meridian init`: give a topology its manifest, adopting what an earlier Meridian made.

use super::team::Team;
use super::workspace::{load, parse_duration};
use super::{exit, Ctx};
use crate::backend::Operation;
use crate::identity::Identity;
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
    let mut l = load(&args.path, ctx)?;
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let mut team = Team::open(&l.backend, Some(("init", timeout)), ctx)?;
    l.same_topology(&team, false, ctx)?;
    let name = l.topology.name.clone().unwrap_or_default();
    if let Some(s) = &team.stored {
        ctx.out(&format!(
            "Topology {name} already has a manifest in {}: id {} (serial {}). Nothing to do.\n",
            team.backend.describe(),
            s.manifest.topology_id,
            s.manifest.serial
        ));
        return Ok(exit::OK);
    }
    let identity = Identity {
        adopted_name: Some(name.clone()),
        ..Identity::mint()
    };
    let (mut m, version) = team.commit_identity(&identity, &name, ctx)?;
    let now = l.managed();
    (m.services, m.zones, m.regions, m.names) = (now.services, now.zones, now.regions, now.names);
    m.declared_rules.clone_from(&now.rules);
    // Rules that filter a declared repository were this topology's under the old rule of
    // ownership; they are adopted only when exactly as declared (the plan then shows others).
    m.rules = now.rules;
    m.record(crate::backend::Entry::bare(
        Operation::Init,
        team.backend.who(),
    ));
    if let Err(e) = team.backend.write(&m, Some(&version)) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    ctx.out(&format!(
        "Initialised topology {name} in {}: id {}. Health checks and ownership markers an earlier Meridian made under the name {name} are this topology's; the next apply rewrites the markers with the id.\n",
        team.backend.describe(),
        m.topology_id
    ));
    Ok(exit::OK)
}
