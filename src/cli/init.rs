//! `meridian init`: give a topology its manifest, adopting what an earlier Meridian made.

use super::workspace::{fail, load, open_team, parse_duration};
use super::{exit, Ctx};
use crate::ops::init::Initialised;
use std::path::PathBuf;

/// Give a topology its manifest: mint its id and adopt what an earlier Meridian created
/// under its name (health checks and ownership markers keyed by the name). With --adopt, also
/// take over what another tool made at the declared names (a topology from `meridian import`):
/// the health checks the records use, by id, and the names, whose ownership markers the next
/// apply writes. Changes nothing in the cloud.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian init infra/\n  meridian init infra/main.hcl\n  meridian import --zone example.com --out infra/\n  meridian init infra/ --adopt"
)]
pub struct InitArgs {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    pub(super) path: PathBuf,
    /// How long to wait for another apply's lock, e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub(super) lock_timeout: crate::duration::Duration,
    /// Take over what runs at the declared names (read from the live state below).
    #[arg(long)]
    pub(super) adopt: bool,
    /// Where live state comes from (with --adopt), as for `plan`.
    #[arg(long, value_enum)]
    pub(super) live: Option<super::workspace::Live>,
    /// AWS: an AWS-compatible endpoint (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub(super) endpoint_url: Option<String>,
    /// AWS: the region for request signing (also AWS_REGION).
    #[arg(long)]
    pub(super) region: Option<String>,
    /// AWS: the profile to use (also AWS_PROFILE).
    #[arg(long)]
    pub(super) profile: Option<String>,
    /// The local state store (default: .meridian/state.json beside the topology).
    #[arg(long, value_name = "PATH")]
    pub(super) state: Option<PathBuf>,
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
    let live = if args.adopt {
        Some(read_live(args, &ws, ctx)?)
    } else {
        None
    };
    let name = ws.name();
    let done = crate::ops::init::init(&ws, &mut team, live.as_ref()).map_err(|e| fail(e, ctx))?;
    let backend = team.backend.describe();
    ctx.out(&match done {
        Initialised::Already { id, serial } => format!(
            "Topology {name} already has a manifest in {backend}: id {id} (serial {serial}). Nothing to do.\n"
        ),
        Initialised::New { id, adopted, notes } if args.adopt => {
            adopted_words(&name, &backend, &id, &adopted, &notes)
        }
        Initialised::New { id, .. } => format!(
            "Initialised topology {name} in {backend}: id {id}. Health checks and ownership markers an earlier Meridian made under the name {name} are this topology's; the next apply rewrites the markers with the id.\n"
        ),
    });
    Ok(exit::OK)
}

/// What `init --adopt` took over, and what it did not, and why.
fn adopted_words(
    name: &str,
    backend: &str,
    id: &str,
    adopted: &crate::identity::Adopted,
    notes: &[String],
) -> String {
    let (n, c) = (adopted.names.len(), adopted.checks.len());
    let mut s = format!(
        "Topology {name} in {backend} (id {id}) takes over {n} name{} and {c} health check{} another tool made; the next apply writes their ownership markers (`meridian plan` shows them, and nothing else where the file matches what runs).\n",
        if n == 1 { "" } else { "s" },
        if c == 1 { "" } else { "s" },
    );
    if n == 0 {
        s.push_str("No declared record set runs as declared (zone, name, type and set identifier), or every one already has its ownership marker: no name to take over.\n");
    }
    for note in notes {
        s.push_str(&format!("  not taken over: {note}\n"));
    }
    s
}

/// What runs at the topology's names, for `--adopt`.
fn read_live(
    args: &InitArgs,
    ws: &crate::ops::Workspace,
    ctx: &mut Ctx,
) -> Result<crate::provider::LiveState, u8> {
    let common = super::workspace::Common::live_only(
        args.live,
        args.endpoint_url.clone(),
        args.region.clone(),
        args.profile.clone(),
        args.state.clone(),
    );
    let state = common.state_path(&args.path);
    let provider = super::workspace::open_provider(&common, ws, &state, None, ctx)?;
    let scope = crate::plan::scope_with(&ws.graph, &ws.topology.zones);
    provider
        .read(&scope)
        .map_err(|e| fail(crate::ops::Error::Provider(e), ctx))
}
