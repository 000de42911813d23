//! `meridian analyze` and `meridian check`: the recovery analysis, and the objectives gate.

use super::{exit, Ctx};
use crate::analysis::analyze;
use crate::render;
use clap::ValueEnum;
use std::path::PathBuf;

/// Compute each service's RTO floor (as a visible formula and critical path), its RPO, and
/// the verdict on the objectives.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian analyze examples/active-passive\n  meridian analyze examples/active-passive --format markdown >> pr-comment.md\n  meridian analyze examples/active-passive --format json | jq '.services[].rto_floor_seconds'"
)]
pub struct Args {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human, json (versioned, durations in seconds) or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Check the topology's objectives (rto, rpo) against its analysis: exit 3 when one is
/// breached or cannot be computed, 0 when all are met.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian check examples/active-passive\n  meridian check infra/ || echo \"recovery budget broken\""
)]
pub struct CheckArgs {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human, json or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
}

fn load(path: &std::path::Path, ctx: &mut Ctx) -> Result<crate::analysis::Analysis, u8> {
    let (_, topology) = super::load_valid(path, "nothing analysed", ctx)?;
    Ok(analyze(&topology))
}

fn print(a: &crate::analysis::Analysis, format: Format, ctx: &mut Ctx) {
    match format {
        Format::Human => ctx.out(&render::analysis::human(a)),
        Format::Markdown => ctx.out(&render::analysis::markdown(a)),
        Format::Json => ctx.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(a).unwrap_or_default()
        )),
    }
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    match load(&args.path, ctx) {
        Ok(a) => {
            print(&a, args.format, ctx);
            exit::OK
        }
        Err(code) => code,
    }
}

pub fn run_check(args: CheckArgs, ctx: &mut Ctx) -> u8 {
    let a = match load(&args.path, ctx) {
        Ok(a) => a,
        Err(code) => return code,
    };
    match args.format {
        Format::Human => {
            if a.objectives.is_empty() {
                ctx.out("no objectives declared: nothing to check\n");
            }
            for o in &a.objectives {
                ctx.out(&format!("{}\n", render::analysis::objective_line(o)));
            }
        }
        Format::Json => ctx.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "format_version": crate::analysis::JSON_FORMAT_VERSION,
                "breached": a.objectives_breached(),
                "objectives": a.objectives,
            }))
            .unwrap_or_default()
        )),
        Format::Markdown => print(&a, Format::Markdown, ctx),
    }
    if a.objectives_breached() {
        exit::OBJECTIVES_BREACHED
    } else {
        exit::OK
    }
}
