//! `meridian analyze` and `meridian check`: the recovery analysis, and the objectives gate.

use super::comment::{emit, CommentArgs};
use super::tree::{self, Many};
use super::{exit, Ctx};
use crate::analysis::cost::PricesError;
use crate::analysis::{analyze_with_prices, Analysis, Prices};
use crate::render;
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Compute each service's RTO floor (as a visible formula and critical path), its RPO, and
/// the verdict on the objectives.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian analyze examples/active-passive\n  meridian analyze examples/active-passive --format markdown >> pr-comment.md\n  meridian analyze examples/active-passive --format json \\\n      | jq '.services[].rto_floor_seconds'\n  meridian analyze --zone example.com --live aws   # what is deployed today"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human, json (versioned, durations in seconds), markdown, or svg (a timeline of
    /// each service's worst region loss).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Price overrides: a JSON object of price names to USD, applied after a `prices` block.
    #[arg(long, value_name = "FILE.json")]
    prices: Option<PathBuf>,
    #[command(flatten)]
    comment: CommentArgs,
    /// When users are served again, not only the floor: P50, P90 and P99 of the lost region's
    /// TTL-honouring clients, per region loss, for a fast failure and a dark region (human,
    /// json or markdown).
    #[arg(long)]
    distribution: bool,
    #[command(flatten)]
    model: DistributionArgs,
    /// Analyze what is deployed in this zone instead of a file (repeatable): `meridian import`
    /// in memory, then the analysis; it says what it had to assume.
    #[arg(long = "zone", value_name = "ZONE")]
    zones: Vec<String>,
    #[command(flatten)]
    live: super::workspace::LiveArgs,
}

/// The distribution's model: each part can be changed or turned off.
#[derive(Debug, clap::Args)]
struct DistributionArgs {
    /// With --distribution: add a brown-out, the region answering with this share of its
    /// requests failing (0..1), simulated from --seed over --trials runs.
    #[arg(long, value_name = "RATE", value_parser = super::simulate::rate, requires = "distribution")]
    error_rate: Option<f64>,
    /// Simulated runs of a brown-out.
    #[arg(long, default_value_t = crate::analysis::distribution::TRIALS, value_parser = clap::value_parser!(u32).range(100..=1_000_000), requires = "distribution")]
    trials: u32,
    /// The seed of the first run: the same seed gives the same numbers on every machine.
    #[arg(long, default_value_t = crate::analysis::distribution::SEED, requires = "distribution")]
    seed: u64,
    /// A brown-out not failed over by then is "not detected", e.g. "1h" (10 s to 24 h).
    #[arg(long, default_value = "1h", value_parser = horizon, requires = "distribution")]
    horizon: crate::duration::Duration,
    /// Route 53 checkers per endpoint (16 observed, not documented).
    #[arg(long, default_value_t = crate::analysis::distribution::CHECKERS, value_parser = clap::value_parser!(u32).range(1..=64), requires = "distribution")]
    checkers: u32,
    /// Clients that cache DNS this long themselves (a JVM: 30 s), shown as their own figure;
    /// "0s" for none.
    #[arg(long, default_value = "30s", value_parser = super::workspace::parse_duration, requires = "distribution")]
    client_cache: crate::duration::Duration,
    /// How long the resolvers that extend TTLs (about 8.7 %) keep an answer past it, from your
    /// own measurement: their own figure (without it, their time is unknown).
    #[arg(long, value_parser = super::workspace::parse_duration, requires = "distribution")]
    ttl_extension: Option<crate::duration::Duration>,
    /// Promotion, decision and scale-up at their typical values, ignoring declared ranges.
    #[arg(long, requires = "distribution")]
    no_ranges: bool,
}

/// A brown-out's horizon: at least one probe interval, at most a day (the runs' time grows with
/// it).
fn horizon(s: &str) -> Result<crate::duration::Duration, String> {
    let d = super::workspace::parse_duration(s)?;
    if (10.0..=86_400.0).contains(&d.as_secs_f64()) {
        Ok(d)
    } else {
        Err(format!("{s} is not a horizon between 10s and 24h"))
    }
}

impl DistributionArgs {
    fn model(&self) -> crate::analysis::distribution::Model {
        crate::analysis::distribution::Model {
            checkers: self.checkers,
            client_cache_seconds: self.client_cache.as_secs_f64(),
            error_rate: self.error_rate,
            horizon_seconds: self.horizon.as_secs_f64(),
            trials: self.trials,
            seed: self.seed,
            ttl_extension_seconds: self.ttl_extension.map(|d| d.as_secs_f64()),
            ranges: !self.no_ranges,
            ..crate::analysis::distribution::Model::default()
        }
    }
}

/// Check the topology's objectives (rto, rpo, monthly_cost) against its analysis: exit 3 when one is
/// breached or cannot be computed, 0 when all are met.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian check examples/active-passive\n  meridian check infra/ || echo \"recovery budget broken\""
)]
pub struct CheckArgs {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human, json or markdown.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    format: CheckFormat,
    /// Price overrides: a JSON object of price names to USD, applied after a `prices` block.
    #[arg(long, value_name = "FILE.json")]
    prices: Option<PathBuf>,
    #[command(flatten)]
    comment: CommentArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
    Markdown,
}

/// Compare designs side by side: routing, data, regions, RTO floor and critical path, RPO,
/// monthly cost and its ratio to the cheapest, objectives.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian compare examples/active-passive examples/active-active-anycast\n  meridian compare a.hcl b.hcl --format svg > rto-vs-cost.svg\n  meridian compare a.hcl b.hcl --format markdown >> pr-comment.md"
)]
pub struct CompareArgs {
    /// Two or more topologies (files or directories).
    #[arg(required = true, num_args = 2..)]
    paths: Vec<PathBuf>,
    /// Output: human, json, markdown, or svg (an RTO-versus-cost chart).
    #[arg(long, value_enum, default_value_t = CompareFormat::Human)]
    format: CompareFormat,
    /// Price overrides for every design: a JSON object of price names to USD.
    #[arg(long, value_name = "FILE.json")]
    prices: Option<PathBuf>,
    /// Give every service of every design this compute price per region (USD per month at
    /// full capacity), so the designs differ only in shape.
    #[arg(long, value_name = "USD", value_parser = non_negative)]
    compute_per_region: Option<f64>,
    /// Rank the fastest design by the RTO floor, or by a percentile of when the lost region's
    /// clients are served again (as `analyze --distribution` computes it).
    #[arg(long, value_enum, default_value_t = RankOnArg::Floor)]
    on: RankOnArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RankOnArg {
    Floor,
    P50,
    P90,
    P99,
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s} is not an amount >= 0")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CompareFormat {
    Human,
    Json,
    Markdown,
    Svg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
    Svg,
}

/// Where the whole of a cut analysis or check is.
const WHOLE: &str = "this command's `--format json`, or its Markdown with `--max-chars 0`";

fn price_file(path: Option<&std::path::Path>, ctx: &mut Ctx) -> Result<BTreeMap<String, f64>, u8> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ctx.report(PricesError::Invalid {
            path: name.clone(),
            message: e.to_string(),
        });
        exit::ERROR
    })?;
    Prices::overrides_from_json(&name, &text).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })
}

fn load(
    path: &std::path::Path,
    prices: Option<&std::path::Path>,
    ctx: &mut Ctx,
) -> Result<(crate::model::Topology, crate::analysis::Analysis), u8> {
    let overrides = price_file(prices, ctx)?;
    let (_, topology) = super::load_valid(path, "nothing analyzed", ctx)?;
    let analysis = analyze_with_prices(&topology, &overrides);
    Ok((topology, analysis))
}

/// `analyze --distribution`: when users are served again, per region loss.
fn distributions(args: &Args, many: Many, ctx: &mut Ctx) -> u8 {
    tree::each(&args.path, many, ctx, |path, ctx| {
        match load(path, args.prices.as_deref(), ctx) {
            Ok((topology, a)) => print_distribution(&topology, &a, args, ctx),
            Err(code) => code,
        }
    })
}

/// Prints one topology's distribution in the asked format; the exit code.
fn print_distribution(
    topology: &crate::model::Topology,
    a: &crate::analysis::Analysis,
    args: &Args,
    ctx: &mut Ctx,
) -> u8 {
    let d = crate::analysis::distribution::distribution(topology, a, &args.model.model());
    match args.format {
        Format::Json => match super::to_json(&d, ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        },
        Format::Svg => {
            let objective = topology.objectives.as_ref().and_then(|o| o.rto);
            match render::distribution::svg(&d, objective.map(|o| o.as_secs_f64())) {
                Ok(svg) => ctx.out(&svg),
                Err(e) => {
                    ctx.err(&format!("error: cannot draw the distribution: {e}\n"));
                    return exit::ERROR;
                }
            }
        }
        Format::Markdown => {
            let doc = render::distribution::markdown(&d);
            if emit(&doc, "distribution", &args.comment, WHOLE, ctx).is_err() {
                return exit::ERROR;
            }
        }
        Format::Human => ctx.out(&render::distribution::human(&d)),
    }
    exit::OK
}

/// `analyze --zone`: the analysis of what is deployed, imported in memory.
fn deployed(args: &Args, ctx: &mut Ctx) -> Result<u8, u8> {
    let overrides = price_file(args.prices.as_deref(), ctx)?;
    let zones: Vec<String> = args
        .zones
        .iter()
        .map(|z| z.trim_end_matches('.').to_ascii_lowercase())
        .collect();
    let (imported, calls) = args.live.import(&zones, &[], true, ctx)?;
    super::import::summary(&imported, &calls, ctx);
    for l in &imported.left_alone {
        ctx.note(&format!("note: not analyzed: {}: {}\n", l.what, l.why));
    }
    let sources = crate::source::Sources::from_texts([("<imported>", imported.text.as_str())]);
    let checked = crate::check(&sources);
    let Some(topology) = checked.valid() else {
        ctx.err(&render::diagnostics::human(
            &checked.diagnostics,
            &sources,
            ctx.color,
        ));
        ctx.err("error: what is deployed does not make a valid topology; nothing analyzed\n");
        return Err(exit::ERROR);
    };
    let a = analyze_with_prices(topology, &overrides);
    if args.distribution {
        return Ok(print_distribution(topology, &a, args, ctx));
    }
    Ok(if print(&a, (args.format, &args.comment), ctx) {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Prints the analysis; false when the chart could not be drawn.
fn print(
    a: &crate::analysis::Analysis,
    (format, comment): (Format, &CommentArgs),
    ctx: &mut Ctx,
) -> bool {
    match format {
        Format::Human => ctx.out_colored(&render::analysis::human(a), render::color::verdicts),
        Format::Markdown => {
            let doc = render::analysis::markdown(a);
            return emit(&doc, "analysis", comment, WHOLE, ctx).is_ok();
        }
        Format::Json => match super::to_json(a, ctx) {
            Ok(text) => ctx.out(&text),
            Err(_) => return false,
        },
        Format::Svg => match render::analysis::timeline_svg(a) {
            Ok(svg) => ctx.out(&svg),
            Err(e) => {
                ctx.err(&format!("error: cannot draw the timeline: {e}\n"));
                return false;
            }
        },
    }
    true
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    if let Err(code) = args.comment.check(args.format == Format::Markdown, ctx) {
        return code;
    }
    if !args.zones.is_empty() {
        return match deployed(&args, ctx) {
            Ok(code) | Err(code) => code,
        };
    }
    let many = match args.format {
        Format::Human => Many::Text,
        _ => Many::One,
    };
    if args.distribution {
        return distributions(&args, many, ctx);
    }
    tree::each(&args.path, many, ctx, |path, ctx| {
        match load(path, args.prices.as_deref(), ctx) {
            Ok((_, a)) if print(&a, (args.format, &args.comment), ctx) => exit::OK,
            Ok(_) => exit::ERROR,
            Err(code) => code,
        }
    })
}

pub fn run_check(args: CheckArgs, ctx: &mut Ctx) -> u8 {
    if let Err(code) = args
        .comment
        .check(args.format == CheckFormat::Markdown, ctx)
    {
        return code;
    }
    let overrides = match price_file(args.prices.as_deref(), ctx) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let found = match tree::topologies(&args.path, ctx) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let many = match args.format {
        CheckFormat::Human => Many::Text,
        CheckFormat::Json => Many::One,
        CheckFormat::Markdown if found.len() > 1 => {
            return check_markdown_all(&args, &found, &overrides, ctx)
        }
        CheckFormat::Markdown => Many::One,
    };
    tree::each_of(&args.path, &found, many, ctx, |path, ctx| {
        check_one(path, &overrides, &args, ctx)
    })
}

/// One topology's analysis and lint for `check`, with its sources; the exit code when invalid.
fn checked(
    path: &std::path::Path,
    overrides: &BTreeMap<String, f64>,
    ctx: &mut Ctx,
) -> Result<(crate::source::Sources, Analysis, crate::lint::Report), u8> {
    let (sources, topology) = super::load_valid(path, "nothing analyzed", ctx)?;
    let a = analyze_with_prices(&topology, overrides);
    // The lint is reported, not gated on: `meridian lint` is its gate.
    let lint = crate::lint::lint_with(&topology, &a, &sources, &crate::lint::Config::default());
    Ok((sources, a, lint))
}

fn gate(a: &Analysis) -> u8 {
    if a.gate_failed() {
        exit::GATE_FAILED
    } else {
        exit::OK
    }
}

fn check_one(
    path: &std::path::Path,
    overrides: &BTreeMap<String, f64>,
    args: &CheckArgs,
    ctx: &mut Ctx,
) -> u8 {
    let (sources, a, lint) = match checked(path, overrides, ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    match args.format {
        CheckFormat::Human => check_human(&a, &lint, ctx),
        CheckFormat::Json => {
            let no_recovery: Vec<serde_json::Value> = a
                .no_recovery()
                .into_iter()
                .map(|(service, reason)| serde_json::json!({"service": service, "reason": reason}))
                .collect();
            let doc = serde_json::json!({
                "format_version": crate::analysis::JSON_FORMAT_VERSION,
                "passed": !a.gate_failed(),
                "breached": a.objectives_breached(),
                "unknown": a.objectives_unknown(),
                "no_recovery": no_recovery,
                "objectives": a.objectives,
                "verdict": a.verdict,
                "lint": render::lint::json(&lint, &sources),
            });
            match super::to_json(&doc, ctx) {
                Ok(text) => ctx.out(&text),
                Err(code) => return code,
            }
        }
        CheckFormat::Markdown => {
            let doc = render::analysis::check_markdown(&a, &lint);
            if let Err(code) = emit(&doc, "check", &args.comment, WHOLE, ctx) {
                return code;
            }
        }
    }
    gate(&a)
}

/// One comment for several topologies: a line per topology with its verdict, then each
/// topology's check under its path, cut to `--max-chars` as a whole.
fn check_markdown_all(
    args: &CheckArgs,
    found: &[std::path::PathBuf],
    overrides: &BTreeMap<String, f64>,
    ctx: &mut Ctx,
) -> u8 {
    let mut code = exit::OK;
    let mut outcomes = Vec::new();
    let mut head = format!("**Meridian check of {} topologies**\n\n", found.len());
    let mut body = String::new();
    for path in found {
        let c = match checked(path, overrides, ctx) {
            Ok((_, a, lint)) => {
                body.push_str(&format!("\n---\n\n**`{}`**\n\n", path.display()));
                body.push_str(&render::analysis::check_markdown(&a, &lint));
                gate(&a)
            }
            Err(c) => c,
        };
        let verdict = match c {
            exit::OK => "passed",
            exit::GATE_FAILED => "**failed**",
            _ => "**invalid** (see the job log)",
        };
        head.push_str(&format!("- `{}`: {verdict}\n", path.display()));
        outcomes.push((path.clone(), c));
        code = tree::worst(code, c);
    }
    if let Err(c) = emit(&format!("{head}{body}"), "check", &args.comment, WHOLE, ctx) {
        code = tree::worst(code, c);
    }
    tree::summary(&args.path, &outcomes, ctx);
    code
}

fn check_human(a: &crate::analysis::Analysis, lint: &crate::lint::Report, ctx: &mut Ctx) {
    if a.verdict.empty {
        ctx.out_colored(
            "nothing declared: no service and no registry, so there is nothing to promise: FAILED\n",
            render::color::verdicts,
        );
    } else if a.objectives.is_empty() {
        ctx.out("no objectives declared\n");
    }
    for o in &a.objectives {
        let line = format!("{}\n", render::analysis::objective_line(o));
        ctx.out_colored(&line, render::color::verdicts);
    }
    for (service, why) in a.no_recovery() {
        let line = format!("service {service}: NO RECOVERY ({why})\n");
        ctx.out_colored(&line, render::color::verdicts);
    }
    if let Some(note) = render::analysis::bound_note(a) {
        ctx.out(&format!("note: {note}\n"));
    }
    for f in &lint.findings {
        ctx.out(&format!(
            "{} {}: {}\n",
            f.rule.as_str(),
            f.level.as_str(),
            f.message
        ));
    }
    ctx.out(&format!("{}\n", render::lint::summary(lint)));
}

fn design_name(path: &std::path::Path) -> String {
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

pub fn run_compare(args: CompareArgs, ctx: &mut Ctx) -> u8 {
    let mut loaded = Vec::new();
    for path in &args.paths {
        match load(path, args.prices.as_deref(), ctx) {
            Ok((mut t, mut a)) => {
                if let Some(usd) = args.compute_per_region {
                    for s in t.services.values_mut() {
                        s.cost.compute_per_region = Some(usd);
                    }
                    let overrides = match price_file(args.prices.as_deref(), ctx) {
                        Ok(o) => o,
                        Err(code) => return code,
                    };
                    a = analyze_with_prices(&t, &overrides);
                }
                loaded.push((design_name(path), path.display().to_string(), t, a));
            }
            Err(code) => return code,
        }
    }
    let refs: Vec<_> = loaded
        .iter()
        .map(|(n, p, t, a)| (n.clone(), p.clone(), t, a))
        .collect();
    use crate::analysis::compare::RankOn;
    let on = match args.on {
        RankOnArg::Floor => RankOn::Floor,
        RankOnArg::P50 => RankOn::P50,
        RankOnArg::P90 => RankOn::P90,
        RankOnArg::P99 => RankOn::P99,
    };
    let c = crate::analysis::compare::compare(&refs, on);
    match args.format {
        CompareFormat::Human => ctx.out(&render::compare::human(&c)),
        CompareFormat::Markdown => ctx.out(&render::compare::markdown(&c)),
        CompareFormat::Json => match super::to_json(&c, ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        },
        CompareFormat::Svg => match render::compare::svg(&c) {
            Ok(svg) => ctx.out(&svg),
            Err(e) => {
                ctx.err(&format!("error: cannot draw the chart: {e}\n"));
                return exit::ERROR;
            }
        },
    }
    exit::OK
}
