//! `meridian simulate`: rehearse a region loss, isolation or degradation on the model.

use super::{exit, Ctx};
use crate::render::simulate as render;
use crate::simulate::{self, Scenario};
use clap::ValueEnum;
use std::path::PathBuf;

/// Rehearse a region's loss on the model: which services keep serving all their traffic, from
/// where, which writes fail, which dependency stalls what, the RTO and the writes at risk, and
/// whether detection fires at all.
///
/// --fail: the region is gone. --isolate: traffic between it and other regions is blocked while
/// users and Route 53's checkers still reach it (the game day that finds cross-region calls).
/// --degrade with --error-rate: reachable but failing part of its requests. --all: each region
/// of the topology fails in turn. Exit 0 when every service keeps serving all its traffic, 3
/// when one does not, 1 on invalid input.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian simulate examples/active-passive --fail us-east-1\n  meridian simulate infra/ --isolate us-east-1 --format markdown > game-day.md\n  meridian simulate infra/ --degrade eu-west-1 --error-rate 0.5\n  meridian simulate infra/ --all"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The AWS region that is gone.
    #[arg(long, value_name = "REGION", group = "scenario")]
    fail: Option<String>,
    /// The AWS region cut off from the others (users and health checkers still reach it).
    #[arg(long, value_name = "REGION", group = "scenario")]
    isolate: Option<String>,
    /// The AWS region that is sick but reachable (with --error-rate).
    #[arg(
        long,
        value_name = "REGION",
        group = "scenario",
        requires = "error_rate"
    )]
    degrade: Option<String>,
    /// Share of the degraded region's requests that fail, 0..1.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    error_rate: Option<f64>,
    /// Each region of the topology fails in turn.
    #[arg(long, group = "scenario")]
    all: bool,
    /// Output: human, json, markdown, or svg (the dependency graph with the scenario drawn on
    /// it; one scenario, not --all).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
    Svg,
}

pub(super) fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{s} is not a rate between 0 and 1 (0.5 is half)")),
    }
}

fn scenarios(args: &Args, regions: &[String], ctx: &mut Ctx) -> Result<Vec<Scenario>, u8> {
    let known = |r: &String, ctx: &mut Ctx| -> Result<String, u8> {
        if regions.contains(r) {
            return Ok(r.clone());
        }
        ctx.err(&format!(
            "error: the topology has nothing in {r} (its regions: {})\n",
            regions.join(", ")
        ));
        Err(exit::ERROR)
    };
    Ok(match (&args.fail, &args.isolate, &args.degrade) {
        (Some(r), _, _) => vec![Scenario::Fail {
            region: known(r, ctx)?,
        }],
        (_, Some(r), _) => vec![Scenario::Isolate {
            region: known(r, ctx)?,
        }],
        (_, _, Some(r)) => vec![Scenario::Degrade {
            region: known(r, ctx)?,
            error_rate: args.error_rate.unwrap_or(0.5),
        }],
        _ if args.all => regions
            .iter()
            .map(|r| Scenario::Fail { region: r.clone() })
            .collect(),
        _ => {
            ctx.err("error: say what happens: --fail REGION, --isolate REGION, --degrade REGION --error-rate RATE, or --all\n");
            return Err(exit::ERROR);
        }
    })
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let many = match args.format {
        Format::Human => super::tree::Many::Text,
        _ => super::tree::Many::One,
    };
    super::tree::each(&args.path, many, ctx, |path, ctx| {
        simulate_one(&args, path, ctx)
    })
}

fn simulate_one(args: &Args, path: &std::path::Path, ctx: &mut Ctx) -> u8 {
    let (_, topology) = match super::load_valid(path, "nothing simulated", ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let regions = simulate::regions(&topology);
    let scenarios = match scenarios(args, &regions, ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let analysis = crate::analysis::analyze(&topology);
    let sims: Vec<_> = scenarios
        .iter()
        .map(|sc| simulate::simulate(&topology, &analysis, sc))
        .collect();
    match args.format {
        Format::Human => ctx.out(&render::human(&sims)),
        Format::Markdown => ctx.out(&render::markdown(&sims)),
        Format::Svg => match sims.as_slice() {
            [one] => ctx.out(&render::svg(&topology, one)),
            _ => {
                ctx.err("error: --format svg draws one scenario: use --fail, --isolate or --degrade, not --all\n");
                return exit::ERROR;
            }
        },
        Format::Json => match super::to_json(&render::json(&sims), ctx) {
            Ok(t) => ctx.out(&t),
            Err(code) => return code,
        },
    }
    let all_served = sims
        .iter()
        .all(|s| s.services.values().all(|o| o.serves_all));
    if all_served {
        exit::OK
    } else {
        exit::GATE_FAILED
    }
}
