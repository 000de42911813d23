//! `meridian graph`: the resources a topology implies and their dependencies.

use super::tree::Many;
use super::{exit, Ctx};
use crate::graph::ResourceGraph;
use crate::render;
use clap::ValueEnum;
use std::path::PathBuf;

/// Print the resource graph: health checks, records, ECR repositories and replication, with
/// an edge from each resource to what must exist before it.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian graph examples/active-passive | dot -Tsvg > graph.svg\n  meridian graph examples/active-passive --format json | jq '.apply_order'"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: dot (Graphviz) or json (resources, edges and apply order).
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Dot,
    Json,
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let many = match args.format {
        Format::Dot => Many::Dot,
        Format::Json => Many::One,
    };
    super::tree::each(&args.path, many, ctx, |path, ctx| {
        graph(path, args.format, ctx)
    })
}

fn graph(path: &std::path::Path, format: Format, ctx: &mut Ctx) -> u8 {
    let (sources, topology) = match super::load_valid(path, "no graph printed", ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let graph = ResourceGraph::build(&topology);
    let cycles = graph.cycles();
    if !cycles.is_empty() {
        ctx.err(&render::diagnostics::human(&cycles, &sources, ctx.color));
        return exit::ERROR;
    }
    match format {
        Format::Dot => ctx.out(&render::graph::dot(&graph)),
        Format::Json => match super::to_json(&render::graph::json(&graph), ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        },
    }
    exit::OK
}
