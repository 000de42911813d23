//! `meridian state list | show | rm`: what a topology manages, read from the cloud through
//! its identity, and forgetting part of it without deleting it.

use super::team::Team;
use super::workspace::{load, make_plan, open_provider, Common, Loaded};
use super::{exit, Ctx};
use crate::backend::{Entry, Operation};
use crate::graph::Kind;
use crate::plan::diff::Detail;
use crate::plan::{Plan, ResourceChange};
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

/// The plan that would delete everything the topology manages: its changes are what it
/// manages, as live.
/// Locked for `state rm`; plain reads take no lock.
const RM_LOCK: Option<(&str, std::time::Duration)> = Some(("state rm", std::time::Duration::ZERO));

fn managed(
    t: &Target,
    lock: Option<(&str, std::time::Duration)>,
    ctx: &mut Ctx,
) -> Result<(Plan, Team), u8> {
    let mut l: Loaded = load(&t.path, ctx)?;
    let team = Team::open(l.backend(), lock, ctx)?;
    if team.stored.is_none() {
        ctx.err("error: the backend holds no manifest for this topology: it manages nothing yet\n");
        return Err(exit::ERROR);
    }
    l.same_topology(&team, false, ctx)?;
    l.set_identity(team.identity());
    let l = l.for_destroy();
    let state = t.common.state_path(&t.path);
    let store = open_provider(&t.common, l.topology(), &state, None, ctx)?;
    let p = make_plan(&l, store.as_ref(), &t.common, "state".into(), ctx)?;
    Ok((p, team))
}

fn live_changes(p: &Plan) -> impl Iterator<Item = &ResourceChange> {
    p.resource_changes
        .iter()
        .filter(|c| c.change.before.is_some())
}

fn show(address: &str, t: &Target, ctx: &mut Ctx) -> Result<u8, u8> {
    let (p, _) = managed(t, None, ctx)?;
    let Some(c) = live_changes(&p).find(|c| c.address == address) else {
        ctx.err(&format!(
            "error: {address} is not managed by this topology (see `meridian state list`)\n"
        ));
        return Err(exit::ERROR);
    };
    let text = super::to_json(&c.change.before, ctx)?;
    ctx.out(&text);
    Ok(exit::OK)
}

fn forget(address: &str, t: &Target, ctx: &mut Ctx) -> Result<u8, u8> {
    let (p, team) = managed(t, RM_LOCK, ctx)?;
    let Some(stored) = team.stored.clone() else {
        return Err(exit::ERROR);
    };
    let mut m = stored.manifest;
    let Some(c) = live_changes(&p).find(|c| c.address == address) else {
        ctx.err(&format!(
            "error: {address} is not managed by this topology (see `meridian state list`)\n"
        ));
        return Err(exit::ERROR);
    };
    match (&c.kind, &c.detail) {
        (Kind::HealthCheck, Detail::HealthCheck { delete, .. }) => {
            m.forgotten
                .checks
                .extend(delete.iter().map(|h| h.id.clone()));
        }
        (Kind::Owner, Detail::Record { .. }) => {
            // The service's every marker: its name's and its failover_to trees'.
            for o in live_changes(&p).filter(|x| x.kind == Kind::Owner && x.name == c.name) {
                if let Detail::Record { delete, .. } = &o.detail {
                    m.forgotten
                        .markers
                        .extend(delete.iter().map(|r| format!("{}/{}", r.zone, r.name)));
                }
            }
            // The service's health checks go with it.
            for h in live_changes(&p).filter(|x| x.kind == Kind::HealthCheck && x.name == c.name) {
                if let Detail::HealthCheck { delete, .. } = &h.detail {
                    m.forgotten
                        .checks
                        .extend(delete.iter().map(|h| h.id.clone()));
                }
            }
            m.services.retain(|s| *s != c.name);
        }
        (Kind::EcrReplication, Detail::Replication { region, remove, .. }) => {
            if let Some(rules) = m.rules.get_mut(region) {
                rules.retain(|r| !remove.contains(r));
            }
        }
        _ => {
            ctx.err(&format!("error: {address} cannot be forgotten alone; forget its service instead: meridian state rm owner.{}\n", c.name));
            return Err(exit::ERROR);
        }
    }
    m.record(Entry::bare(Operation::Forget, team.backend.who()));
    if let Err(e) = team.backend.write(&m, Some(&stored.version)) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    ctx.out(&format!(
        "Forgot {address}: it stays in the cloud, and this topology no longer manages it.\n"
    ));
    Ok(exit::OK)
}
