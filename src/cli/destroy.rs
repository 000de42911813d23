//! `meridian destroy`: an apply of the plan that deletes what the topology manages.

use super::apply::{apply_topology, ApplyArgs};
use super::Ctx;

/// Delete everything the topology manages: its records, ownership markers and health checks
/// in every zone its last apply left under management (asks for "yes" first). ECR
/// repositories hold images and are kept.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian destroy infra/\n  meridian destroy infra/ --live aws --auto-approve\n  meridian plan infra/ --destroy --out destroy.json\n  meridian apply destroy.json"
)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub(super) apply: ApplyArgs,
}

pub fn run_destroy(args: DestroyArgs, ctx: &mut Ctx) -> u8 {
    match apply_topology(&args.apply, true, ctx) {
        Ok(code) | Err(code) => code,
    }
}
