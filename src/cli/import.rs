//! `meridian import`: write a topology of what already runs.

use super::{exit, Ctx};
use crate::import::Imported;
use std::path::PathBuf;

/// Write a topology of what already runs: the record sets of the zones named and the health
/// checks they use, and the ECR replication of the registry regions named.
///
/// Record sets are grouped by name into services, their routing, regions, TTL, health check
/// and endpoints read back. What the file format cannot express (plain records, multivalue
/// answers, checks Meridian cannot read, regions that disagree) is listed at the top of the file
/// and left as it is; what DNS does not say (data, costs, objectives; the AWS region of a record
/// that does not name it) is a commented placeholder or a value to fill in. The file is as
/// `meridian fmt` writes it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian import --zone example.com > main.hcl\n  meridian import --zone example.com --registry-region us-east-1 --out infra/\n  meridian import --zone example.com --live local --state .meridian/state.json"
)]
pub struct Args {
    /// A hosted zone to read (repeatable).
    #[arg(long = "zone", value_name = "ZONE", required = true)]
    zones: Vec<String>,
    /// A region whose ECR replication to read (repeatable).
    #[arg(long = "registry-region", value_name = "REGION")]
    regions: Vec<String>,
    #[command(flatten)]
    live: super::workspace::LiveArgs,
    /// Write DIR/main.hcl instead of standard output (refused when it exists, without --force).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Overwrite DIR/main.hcl.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    // Zone names as Route 53 and the format write them: lower case, no final dot.
    let zones: Vec<String> = args
        .zones
        .iter()
        .map(|z| z.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    if let Some(dir) = &args.out {
        let others = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let p = e.path();
                p.extension().is_some_and(|x| x == "hcl")
                    && p.file_name().is_some_and(|n| n != "main.hcl")
            });
        if others && !args.force {
            ctx.err(&format!("error: {} holds other .hcl files, which would be read with the imported topology; import into an empty directory, or pass --force\n", dir.display()));
            return exit::ERROR;
        }
    }
    let (imported, calls) = match args.live.import(&zones, &args.regions, false, ctx) {
        Ok(i) => i,
        Err(code) => return code,
    };
    match &args.out {
        None => ctx.out(&imported.text),
        Some(dir) => {
            let file = dir.join("main.hcl");
            if file.exists() && !args.force {
                ctx.err(&format!(
                    "error: {} exists; pass --force to overwrite it\n",
                    file.display()
                ));
                return exit::ERROR;
            }
            let written = std::fs::create_dir_all(dir)
                .and_then(|()| crate::atomic::write(&file, imported.text.as_bytes()));
            if let Err(e) = written {
                ctx.err(&format!("error: cannot write {}: {e}\n", file.display()));
                return exit::ERROR;
            }
            ctx.note(&format!("Wrote {}.\n", file.display()));
        }
    }
    summary(&imported, &calls, ctx);
    exit::OK
}

/// What was imported, left alone and assumed, on stderr.
pub(super) fn summary(
    i: &Imported,
    calls: &std::collections::BTreeMap<String, usize>,
    ctx: &mut Ctx,
) {
    ctx.note(&format!(
        "Imported {} service{} and {} registr{}; {} item{} left alone (listed at the top of the file).\n",
        i.services,
        if i.services == 1 { "" } else { "s" },
        i.registries,
        if i.registries == 1 { "y" } else { "ies" },
        i.left_alone.len(),
        if i.left_alone.len() == 1 { "" } else { "s" },
    ));
    for a in &i.assumed {
        ctx.note(&format!("note: {a}\n"));
    }
    if !calls.is_empty() {
        ctx.note(&format!("{}\n", crate::render::plan::calls_line(calls)));
    }
}
