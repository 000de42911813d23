//! `meridian show`: a saved plan, as `plan` printed it.

use super::plan::{print_plan, Format};
use super::{exit, Ctx};
use crate::plan::saved;
use std::path::PathBuf;

/// Print a saved plan as `meridian plan` printed it (like `terraform show PLANFILE`), without
/// reading live state or taking a lock.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian plan infra/ --out plan.json\n  meridian show plan.json\n  meridian show plan.json --format markdown > comment.md"
)]
pub struct ShowArgs {
    /// A plan saved by `meridian plan --out` (any file name).
    pub(super) path: PathBuf,
    /// Output: human, json or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(super) format: Format,
    #[command(flatten)]
    pub(super) comment: super::comment::CommentArgs,
}

pub fn run_show(args: ShowArgs, ctx: &mut Ctx) -> u8 {
    let text = match std::fs::read_to_string(&args.path) {
        Ok(t) => t,
        Err(e) => {
            ctx.err(&format!(
                "error: cannot read {}: {e}\n",
                args.path.display()
            ));
            return exit::ERROR;
        }
    };
    if !saved::looks_saved(text.as_bytes()) {
        ctx.err(&format!(
            "error: {} is not a saved plan (a saved plan is the JSON document `meridian plan --out FILE` writes)\n",
            args.path.display()
        ));
        return exit::ERROR;
    }
    let plan = match saved::read(&args.path.display().to_string(), &text) {
        Ok(p) => p,
        Err(e) => {
            ctx.report(e);
            return exit::ERROR;
        }
    };
    match print_plan(&plan, (args.format, &args.comment), ctx) {
        Ok(()) => exit::OK,
        Err(code) => code,
    }
}
