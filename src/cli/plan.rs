//! `meridian plan` and `meridian apply`: diff against live state, then change exactly that.

use super::{exit, Ctx};
use crate::analysis::{analyze_with_prices, Prices};
use crate::graph::ResourceGraph;
use crate::plan::{self, apply::apply, Options, Plan, Planned, SourceText};
use crate::provider::aws::{AwsProvider, AwsSettings};
use crate::provider::local::LocalStore;
use crate::provider::Provider;
use crate::render;
use crate::source::Sources;
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

/// Show what applying the topology would change in the live state, Terraform style.
///
/// Live state comes from the local state store (default `.meridian/state.json` beside the
/// topology) unless another provider is chosen. Never changes anything.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian plan examples/active-passive\n  meridian plan examples/active-passive --out plan.json && meridian apply plan.json\n  meridian plan infra/ --detailed-exitcode --format json > plan.json; echo $?\n  meridian plan infra/ --target 'record.api[\"us-east-1\"]'"
)]
pub struct PlanArgs {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Save the plan (with the topology and the live state it saw) for `meridian apply FILE`.
    #[arg(long, value_name = "FILE.json")]
    out: Option<PathBuf>,
    /// Output: human, json (the plan document) or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 0 for no changes, 2 for changes, 3 when an objective is breached, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
}

/// Apply a topology (plan, confirm, apply) or a saved plan (exactly it, or refuse it if the
/// live state changed since).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian apply examples/active-passive            # asks for \"yes\" on a terminal\n  meridian apply examples/active-passive --auto-approve\n  meridian apply plan.json                          # a saved plan, no prompt"
)]
pub struct ApplyArgs {
    /// A topology (file or directory), or a plan saved with `meridian plan --out`.
    #[arg(default_value = ".")]
    path: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// How many independent operations may run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallelism: u16,
    /// How long to wait for another apply's lock on the state, e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    lock_timeout: crate::duration::Duration,
    /// Output of the result: human, or json (every change with its status).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    format: ApplyFormat,
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Where live state comes from: local (the state store) or aws. Default: aws when the
    /// topology has a `provider "aws"` block, else local.
    #[arg(long, value_enum)]
    live: Option<Live>,
    /// AWS: an AWS-compatible endpoint (also AWS_ENDPOINT_URL), e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS: the region for ECR and request signing (also AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// AWS: the profile to use (also AWS_PROFILE; SSO profiles included).
    #[arg(long)]
    profile: Option<String>,
    /// The local state store (default: .meridian/state.json beside the topology).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Limit to this resource and what it depends on (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    target: Vec<String>,
    /// Take over declared names that hold records Meridian did not create.
    #[arg(long)]
    adopt: bool,
    /// Price overrides for the recovery analysis (a JSON object of price names to USD).
    #[arg(long, value_name = "FILE.json")]
    prices: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Live {
    Local,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ApplyFormat {
    Human,
    Json,
}

fn parse_duration(s: &str) -> Result<crate::duration::Duration, String> {
    crate::duration::Duration::parse(s)
}

/// An absolute form of a path that may not exist yet (a store before its first apply).
fn absolute(p: &Path) -> String {
    let abs = match (
        p.parent().filter(|d| !d.as_os_str().is_empty()),
        p.file_name(),
    ) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir).map(|d| d.join(name)),
        (None, Some(name)) => std::env::current_dir().map(|d| d.join(name)),
        _ => Err(std::io::Error::other("no file name")),
    };
    abs.unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// `.meridian/state.json` beside the topology.
fn default_state(path: &Path) -> PathBuf {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    dir.join(".meridian").join("state.json")
}

/// The topology's name: its `name` attribute, else the file stem or directory name.
pub fn topology_name(path: &Path, declared: Option<&str>) -> String {
    if let Some(n) = declared {
        return n.to_string();
    }
    let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let stem = if p.is_dir() {
        p.file_name()
    } else {
        p.file_stem()
    };
    stem.map(|s| {
        s.to_string_lossy()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    })
    .filter(|s: &String| !s.is_empty())
    .unwrap_or_else(|| "topology".into())
}

struct Loaded {
    sources: Sources,
    topology: crate::model::Topology,
    graph: ResourceGraph,
    name: String,
}

fn load(path: &Path, ctx: &mut Ctx) -> Result<Loaded, u8> {
    let (sources, mut topology) = super::load_valid(path, "nothing planned", ctx)?;
    let name = topology_name(path, topology.name.as_deref());
    topology.name = Some(name.clone());
    let graph = ResourceGraph::build(&topology);
    let cycles = graph.cycles();
    if !cycles.is_empty() {
        ctx.err(&render::diagnostics::human(&cycles, &sources, ctx.color));
        return Err(exit::ERROR);
    }
    Ok(Loaded {
        sources,
        topology,
        graph,
        name,
    })
}

fn prices(path: Option<&Path>, ctx: &mut Ctx) -> Result<BTreeMap<String, f64>, u8> {
    let Some(path) = path else {
        return Ok(BTreeMap::new());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ctx.err(&format!("error: cannot read {}: {e}\n", path.display()));
        exit::ERROR
    })?;
    Prices::overrides_from_json(&path.display().to_string(), &text).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })
}

fn make_plan(
    l: &Loaded,
    provider: &dyn Provider,
    common: &Common,
    plan_id: String,
    ctx: &mut Ctx,
) -> Result<Planned, u8> {
    let overrides = prices(common.prices.as_deref(), ctx)?;
    let opts = Options {
        adopt: common.adopt,
        targets: common.target.clone(),
        zones: l.topology.zones.clone(),
    };
    let mut planned = plan::plan(&l.graph, &l.name, provider, &opts, plan_id).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    planned.plan.api_calls = provider.stats();
    let analysis = analyze_with_prices(&l.topology, &overrides);
    planned.plan.recovery = Some(plan::recovery(
        &l.topology,
        &analysis,
        &planned.plan.prior_state,
    ));
    planned.plan.sources = l
        .sources
        .iter()
        .map(|(_, f)| SourceText {
            name: f.name.clone(),
            text: f.text.to_string(),
        })
        .collect();
    Ok(planned)
}

fn print_plan(p: &Plan, format: Format, ctx: &mut Ctx) {
    match format {
        Format::Human => ctx.out(&render::plan::human(p)),
        Format::Markdown => ctx.out(&render::plan::markdown(p)),
        Format::Json => ctx.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(p).unwrap_or_default()
        )),
    }
}

/// The provider a command reads and applies through: the `--live` flag, else the topology's
/// `provider "aws"` block, else the local state store.
fn open_provider(
    common: &Common,
    topology: &crate::model::Topology,
    state: &Path,
    lock: bool,
    timeout: std::time::Duration,
    ctx: &mut Ctx,
) -> Result<Box<dyn Provider>, u8> {
    let block = topology.provider.as_ref();
    let live = common.live.unwrap_or(if block.is_some() {
        Live::Aws
    } else {
        Live::Local
    });
    let result: Result<Box<dyn Provider>, crate::provider::ProviderError> = match live {
        Live::Local => {
            LocalStore::open(state, lock, timeout).map(|s| Box::new(s) as Box<dyn Provider>)
        }
        Live::Aws => {
            let settings = AwsSettings {
                region: common
                    .region
                    .clone()
                    .or_else(|| block.and_then(|b| b.region.clone())),
                profile: common
                    .profile
                    .clone()
                    .or_else(|| block.and_then(|b| b.profile.clone())),
                endpoint_url: common
                    .endpoint_url
                    .clone()
                    .or_else(|| block.and_then(|b| b.endpoint_url.clone())),
                progress: std::io::stderr().is_terminal(),
            };
            AwsProvider::new(&settings).map(|p| Box::new(p) as Box<dyn Provider>)
        }
    };
    result.map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

pub fn run_plan(args: PlanArgs, ctx: &mut Ctx) -> u8 {
    let l = match load(&args.path, ctx) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let state = args
        .common
        .state
        .clone()
        .unwrap_or_else(|| default_state(&args.path));
    let store = match open_provider(
        &args.common,
        &l.topology,
        &state,
        false,
        std::time::Duration::ZERO,
        ctx,
    ) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let planned = match make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&l.name),
        ctx,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut planned = planned;
    let local = match args.common.live {
        Some(Live::Local) => true,
        Some(Live::Aws) => false,
        None => l.topology.provider.is_none(),
    };
    if local && args.out.is_some() {
        planned.plan.state_path = Some(absolute(&state));
    }
    let p = &planned.plan;
    print_plan(p, args.format, ctx);
    if let Some(out) = &args.out {
        let text = format!("{}\n", serde_json::to_string_pretty(p).unwrap_or_default());
        if let Err(e) = write_atomically(out, &text) {
            ctx.err(&format!("error: cannot write {}: {e}\n", out.display()));
            return exit::ERROR;
        }
        ctx.err(&format!(
            "Saved the plan to {0}. To apply exactly this plan: meridian apply {0}\n",
            out.display()
        ));
    }
    if !args.detailed_exitcode {
        return exit::OK;
    }
    if p.recovery.as_ref().is_some_and(|r| r.objectives_breached) {
        exit::OBJECTIVES_BREACHED
    } else if p.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}

fn confirm(ctx: &mut Ctx) -> bool {
    ctx.err(
        "\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: ",
    );
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim() == "yes"
}

fn finish(
    outcome: &plan::apply::Outcome,
    provider: &dyn Provider,
    format: ApplyFormat,
    ctx: &mut Ctx,
) -> u8 {
    match format {
        ApplyFormat::Human => {
            ctx.out(&render::plan::outcome(outcome));
            let stats = provider.stats();
            if !stats.is_empty() {
                ctx.out(&format!("{}\n", render::plan::calls_line(&stats)));
            }
        }
        ApplyFormat::Json => ctx.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        )),
    }
    if outcome.succeeded() {
        exit::OK
    } else {
        exit::ERROR
    }
}

pub fn run_apply(args: ApplyArgs, ctx: &mut Ctx) -> u8 {
    let saved = args.path.is_file() && args.path.extension().is_some_and(|e| e == "json");
    if saved {
        return apply_saved(args, ctx);
    }
    let l = match load(&args.path, ctx) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: apply asks for confirmation, and standard input is not a terminal; pass --auto-approve to apply without asking\n");
        return exit::ERROR;
    }
    let state = args
        .common
        .state
        .clone()
        .unwrap_or_else(|| default_state(&args.path));
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let store = match open_provider(&args.common, &l.topology, &state, true, timeout, ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let planned = match make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&l.name),
        ctx,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // With --format json, stdout carries only the outcome document.
    let shown = render::plan::human(&planned.plan);
    if args.format == ApplyFormat::Json {
        ctx.err(&shown);
    } else {
        ctx.out(&shown);
    }
    if !planned.plan.has_changes() {
        return exit::OK;
    }
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Apply cancelled: nothing was changed.\n");
        return exit::ERROR;
    }
    ctx.out("\n");
    let outcome = apply(&planned, store.as_ref(), usize::from(args.parallelism));
    finish(&outcome, store.as_ref(), args.format, ctx)
}

/// Values that only the cloud knows (ids) are left out when comparing two plans.
fn comparable(c: &plan::ResourceChange) -> (Vec<plan::Action>, Option<serde_json::Value>) {
    let strip = |v: &Option<serde_json::Value>| {
        v.clone().map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("id");
                o.remove("health_check_id");
            }
            v
        })
    };
    (c.change.actions.clone(), strip(&c.change.after))
}

fn apply_saved(args: ApplyArgs, ctx: &mut Ctx) -> u8 {
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
    let saved: Plan = match serde_json::from_str(&text) {
        Ok(p) => p,
        Err(e) => {
            ctx.err(&format!(
                "error: {} is not a Meridian plan: {e}\n",
                args.path.display()
            ));
            return exit::ERROR;
        }
    };
    if saved.format_version != plan::FORMAT_VERSION {
        ctx.err(&format!(
            "error: {} has plan format {}, this Meridian reads {}\n",
            args.path.display(),
            saved.format_version,
            plan::FORMAT_VERSION
        ));
        return exit::ERROR;
    }
    // Rebuild the desired state from the sources the plan carries.
    let sources = Sources::from_texts(
        saved
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.text.clone())),
    );
    let checked = crate::check(&sources);
    let Some(topology) = checked.valid() else {
        ctx.err(&render::diagnostics::human(
            &checked.diagnostics,
            &sources,
            ctx.color,
        ));
        ctx.err("error: the plan's topology does not validate with this Meridian\n");
        return exit::ERROR;
    };
    let mut topology = topology.clone();
    topology.name = Some(saved.topology.clone());
    let l = Loaded {
        graph: ResourceGraph::build(&topology),
        sources,
        topology,
        name: saved.topology.clone(),
    };
    // The store the plan read, when it was a local one: by its absolute path, so the plan
    // applies from any directory.
    let state = match (&args.common.state, &saved.state_path) {
        (Some(s), _) => s.clone(),
        (None, Some(p)) => PathBuf::from(p),
        (None, None) => default_state(&args.path),
    };
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let common = Common {
        live: args
            .common
            .live
            .or_else(|| (!saved.live_source.starts_with("local state store")).then_some(Live::Aws)),
        endpoint_url: args.common.endpoint_url.clone(),
        region: args.common.region.clone(),
        profile: args.common.profile.clone(),
        state: None,
        target: saved.targets.clone(),
        adopt: saved.adopt,
        prices: args.common.prices.clone(),
    };
    let store = match open_provider(&common, &l.topology, &state, true, timeout, ctx) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let same = match &saved.state_path {
        Some(p) => absolute(&state) == *p,
        None => store.describe() == saved.live_source,
    };
    if !same {
        ctx.err(&format!(
            "error: the plan was made against {}, but this apply reads {}; pass --state to choose the same store\n",
            saved.live_source,
            store.describe()
        ));
        return exit::ERROR;
    }
    let now = match make_plan(&l, store.as_ref(), &common, saved.plan_id.clone(), ctx) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // Exactly the saved plan: every change still to make must be one the plan holds. A change
    // already made (a resumed apply) shows as no-op now and is skipped.
    let planned: BTreeMap<&str, &plan::ResourceChange> = saved
        .resource_changes
        .iter()
        .map(|c| (c.address.as_str(), c))
        .collect();
    let mut stale = Vec::new();
    for c in now.plan.resource_changes.iter().filter(|c| !c.is_no_op()) {
        match planned.get(c.address.as_str()) {
            None => stale.push(format!(
                "{}: not in the plan, but would now be {:?}",
                c.address, c.change.actions
            )),
            Some(p) => {
                let (now_actions, now_after) = comparable(c);
                let (plan_actions, plan_after) = comparable(p);
                let subset = now_actions.iter().all(|a| plan_actions.contains(a));
                let before_moved = c.change.before != p.change.before;
                if !subset || before_moved || (now_after.is_some() && now_after != plan_after) {
                    stale.push(format!(
                        "{}: changed in the live state since the plan",
                        c.address
                    ));
                }
            }
        }
    }
    if !stale.is_empty() {
        ctx.err(&format!(
            "error: the saved plan is stale: the live state changed since it was made.\n  {}\nRun `meridian plan` again.\n",
            stale.join("\n  ")
        ));
        return exit::ERROR;
    }
    if !now.plan.has_changes() {
        ctx.out("No changes: the saved plan is already applied.\n");
        return exit::OK;
    }
    let outcome = apply(&now, store.as_ref(), usize::from(args.parallelism));
    finish(&outcome, store.as_ref(), args.format, ctx)
}
