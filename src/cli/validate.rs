//! `meridian validate`: check a topology and report every problem at once.

use super::{exit, Ctx};
use crate::diagnostics::Diagnostics;
use crate::render::diagnostics as render;
use crate::source::Sources;
use clap::ValueEnum;
use std::path::PathBuf;

/// Check a topology: syntax, attributes, values and the rules of Route 53 and ECR.
///
/// Reports every problem at once with file:line:col. A directory of .hcl files is one
/// topology; a directory of such directories is validated topology by topology.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian validate examples/active-passive/main.hcl\n  meridian validate examples/\n  meridian validate infra/ --format json | jq '.diagnostics[] | .code'"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a directory of topologies.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human (miette snippets on stderr) or json (on stdout).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let topologies = match super::tree::topologies(&args.path, ctx) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut json_items = Vec::new();
    let mut all = Diagnostics::default();
    let mut unreadable = false;
    for path in topologies {
        // One unreadable topology of a collection does not stop the others.
        let sources = match Sources::load(&path).and_then(|s| s.with_variables(&ctx.vars)) {
            Ok(s) => s,
            Err(e) => {
                ctx.report(e);
                unreadable = true;
                continue;
            }
        };
        let checked = crate::check(&sources);
        match args.format {
            Format::Human => {
                // --quiet: warnings only matter when something fails.
                let quiet = super::QUIET.load(std::sync::atomic::Ordering::SeqCst);
                if !quiet || checked.diagnostics.has_errors() {
                    ctx.err(&render::human(&checked.diagnostics, &sources, ctx.color));
                }
                let status = if checked.diagnostics.has_errors() {
                    "invalid"
                } else {
                    "valid"
                };
                let t = &checked.topology;
                ctx.out(&format!(
                    "{}: {status} ({} service{}, {} registr{}; {})\n",
                    path.display(),
                    t.services.len(),
                    if t.services.len() == 1 { "" } else { "s" },
                    t.registries.len(),
                    if t.registries.len() == 1 { "y" } else { "ies" },
                    render::summary(&checked.diagnostics),
                ));
            }
            Format::Json => {
                let doc = render::json(&checked.diagnostics, &sources);
                json_items.extend(doc["diagnostics"].as_array().cloned().unwrap_or_default());
            }
        }
        all.extend(checked.diagnostics);
    }
    if args.format == Format::Json {
        let doc = serde_json::json!({
            "format_version": render::JSON_FORMAT_VERSION,
            "valid": !all.has_errors() && !unreadable,
            "errors": all.errors(),
            "warnings": all.warnings(),
            "not_shown": all.not_shown(),
            "diagnostics": json_items,
        });
        match super::to_json(&doc, ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        }
    }
    if all.has_errors() || unreadable {
        exit::ERROR
    } else {
        exit::OK
    }
}
