//! `meridian schema`: the JSON Schema of the topology format.

use super::{exit, Ctx};

/// Print the JSON Schema of the topology format, for editors and tools (Meridian reads only
/// native HCL).
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  meridian schema > topology.schema.json")]
pub struct Args {}

pub fn run(_args: Args, ctx: &mut Ctx) -> u8 {
    ctx.out(&crate::model::schema::json_schema_text());
    exit::OK
}
