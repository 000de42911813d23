//! `meridian plan` and `meridian apply`: diff against live state, then change exactly that.

use super::team::{topology_dir, Done, Managed, Team};
use super::{exit, to_json, Ctx};
use crate::analysis::Prices;
use crate::backend::{BackendRef, Operation};
use crate::graph::ResourceGraph;
use crate::identity::Identity;
use crate::plan::{self, saved, Input, Options, Plan, SourceText};
use crate::provider::aws::{AwsProvider, AwsSettings};
use crate::provider::local::LocalStore;
use crate::provider::{LiveSource, Progress, Provider};
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
    after_help = "Examples:\n  meridian plan examples/active-passive\n  meridian plan examples/active-passive --out plan.json\n  meridian apply plan.json\n  meridian plan infra/ --detailed-exitcode --format json > plan.json; echo $?\n  meridian plan infra/ --detailed-exitcode --fail-on-objectives\n  meridian plan infra/ --target 'record.api[\"us-east-1\"]'\n\nExit codes: 0 no changes (or no --detailed-exitcode), 1 error, 2 changes present\n(--detailed-exitcode), 3 an objective breached or unknown, or a service with no recovery (--fail-on-objectives;
wins over 2)."
)]
pub struct PlanArgs {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
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
    /// Exit 0 for no changes, 2 when changes are present, 1 on error (Terraform's contract).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Exit 3 when a recovery or cost objective is breached or cannot be shown to hold, or a
    /// service has no recovery from some region loss (as `check` does); 3 wins over 2.
    #[arg(long)]
    fail_on_objectives: bool,
    /// Plan the deletion of everything the topology manages (what `meridian destroy` does).
    #[arg(long)]
    destroy: bool,
    #[command(flatten)]
    comment: super::comment::CommentArgs,
}

/// Apply a topology (plan, confirm, apply) or a saved plan (exactly it, or refuse it if the
/// live state changed since).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian apply examples/active-passive      # asks for \"yes\" on a terminal\n  meridian apply examples/active-passive --auto-approve\n  meridian apply plan.json                          # a saved plan, no prompt"
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
    /// How long to wait for another apply's lock (the topology's backend, the local state store), e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    lock_timeout: crate::duration::Duration,
    /// Output of the result: human, or json (every change with its status).
    #[arg(long, value_enum, default_value_t = ApplyFormat::Human)]
    format: ApplyFormat,
}

/// Delete everything the topology manages: its records, ownership markers and health checks
/// in every zone its last apply left under management (asks for "yes" first). ECR
/// repositories hold images and are kept.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian destroy infra/\n  meridian destroy infra/ --live aws --auto-approve\n  meridian plan infra/ --destroy --out destroy.json\n  meridian apply destroy.json"
)]
pub struct DestroyArgs {
    #[command(flatten)]
    apply: ApplyArgs,
}

/// Give a topology its manifest: mint its id and adopt what an earlier Meridian created
/// under its name (health checks and ownership markers keyed by the name). Changes nothing
/// in the cloud.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  meridian init infra/\n  meridian init infra/main.hcl")]
pub struct InitArgs {
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// How long to wait for another apply's lock, e.g. "30s".
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    lock_timeout: crate::duration::Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub(super) struct Common {
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
    pub(super) target: Vec<String>,
    /// Replace this health check even if it is as declared: a new check is created, its records
    /// moved to it, the old one deleted (repeatable; Terraform's -replace).
    #[arg(long, value_name = "ADDRESS")]
    pub(super) replace: Vec<String>,
    /// Take over declared names that hold records Meridian did not create.
    #[arg(long)]
    adopt: bool,
    /// Plan a change to more than 30 % of at least 10 managed records (refused otherwise: a
    /// truncated file or a bad merge looks like that).
    #[arg(long)]
    force: bool,
    /// Price overrides for the recovery analysis (a JSON object of price names to USD).
    #[arg(long, value_name = "FILE.json")]
    prices: Option<PathBuf>,
    /// The backend's manifest was recorded under another topology name, and this is the same
    /// topology renamed: plan anyway (an apply records the new name).
    #[arg(long)]
    rename: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Live {
    Local,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ApplyFormat {
    Human,
    Json,
}

pub(super) fn parse_duration(s: &str) -> Result<crate::duration::Duration, String> {
    crate::duration::Duration::parse(s)
}

impl Common {
    /// The local state store: `--state`, else beside the topology.
    /// Live-state options only (no targets, adoption or prices): `meridian shift`'s, whose
    /// `--region` names the region whose weight moves.
    pub(super) fn live_only(
        live: Option<Live>,
        endpoint_url: Option<String>,
        region: Option<String>,
        profile: Option<String>,
        state: Option<PathBuf>,
    ) -> Common {
        Common {
            live,
            endpoint_url,
            region,
            profile,
            state,
            target: Vec::new(),
            replace: Vec::new(),
            adopt: false,
            force: false,
            prices: None,
            rename: false,
        }
    }

    pub(super) fn state_path(&self, topology: &Path) -> PathBuf {
        self.state
            .clone()
            .unwrap_or_else(|| default_state(topology))
    }
}

/// `.meridian/state.json` beside the topology.
pub fn default_state(path: &Path) -> PathBuf {
    topology_dir(path).join(".meridian").join("state.json")
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

/// A valid, named topology with its graph and files: what a plan is made from.
pub(super) struct Loaded {
    sources: Vec<SourceText>,
    topology: crate::model::Topology,
    graph: ResourceGraph,
    backend: BackendRef,
    /// Read from the backend before planning.
    identity: Identity,
    /// Everything declared was cleared: the plan deletes what the topology manages.
    destroy: bool,
    /// The file's weights of the regions a shift holds (the topology carries the held ones).
    file_weights: crate::shift::FileWeights,
    /// Other names the topology may have been applied under (see [`name_aliases`]).
    aliases: Vec<String>,
}

impl Loaded {
    fn input(&self) -> Input<'_> {
        Input {
            topology: &self.topology,
            graph: &self.graph,
            sources: &self.sources,
            identity: &self.identity,
            backend: Some(&self.backend),
        }
    }

    pub(super) fn set_identity(&mut self, identity: Identity) {
        self.identity = identity;
        self.hold();
    }

    /// Plans with the weights `meridian shift` holds (the identity's), not the file's.
    fn hold(&mut self) {
        if self.identity.holds.is_empty() {
            return;
        }
        crate::shift::apply(
            &mut self.topology,
            &mut self.identity.holds,
            &mut self.file_weights,
        );
        self.graph = ResourceGraph::build(&self.topology);
    }

    /// The topology's name (declared, else from its path).
    pub(super) fn name(&self) -> String {
        self.topology.name.clone().unwrap_or_default()
    }

    /// Checks the backend's manifest is this topology's (see [`Team::same_topology`]); under
    /// an alias, the topology takes the name the manifest has.
    pub(super) fn same_topology(
        &mut self,
        team: &Team,
        rename: bool,
        ctx: &mut Ctx,
    ) -> Result<(), u8> {
        if let Some(recorded) = team.same_topology(&self.name(), &self.aliases, rename, ctx)? {
            self.topology.name = Some(recorded);
        }
        Ok(())
    }

    pub(super) fn backend(&self) -> &BackendRef {
        &self.backend
    }

    pub(super) fn topology(&self) -> &crate::model::Topology {
        &self.topology
    }

    /// The same topology with nothing declared: its plan deletes everything it manages.
    pub(super) fn for_destroy(mut self) -> Loaded {
        // Its zones are still read (besides those of the manifest).
        let declared = plan::scope(&self.graph).zones;
        self.topology.zones.extend(declared);
        self.topology.zones.sort();
        self.topology.zones.dedup();
        self.topology.services.clear();
        self.topology.registries.clear();
        self.graph = self.graph.retire_into(ResourceGraph::build(&self.topology));
        self.destroy = true;
        self
    }

    /// The address of the record of `service` in region `label`.
    pub(super) fn record_address(&self, service: &str, label: &str) -> Option<String> {
        self.graph
            .resources()
            .iter()
            .map(|r| &r.address)
            .find(|a| {
                a.kind == crate::graph::Kind::Record
                    && a.name == service
                    && a.key.as_deref() == Some(label)
            })
            .map(ToString::to_string)
    }

    pub(super) fn managed_now(&self) -> Managed {
        self.managed()
    }

    /// The services, zones, registry regions and replication rules the topology declares.
    fn managed(&self) -> Managed {
        let scope = plan::scope_with(&self.graph, &self.topology.zones);
        let mut rules: BTreeMap<String, Vec<crate::provider::ReplicationRule>> = BTreeMap::new();
        for r in self.graph.resources() {
            if let crate::graph::ResourceSpec::EcrReplication(x) = &r.spec {
                rules
                    .entry(x.region.clone())
                    .or_default()
                    .push(crate::provider::ReplicationRule {
                        destinations: x.destinations.clone(),
                        filters: x.filters.clone(),
                    });
            }
        }
        Managed {
            services: self.topology.services.keys().cloned().collect(),
            zones: scope.zones,
            regions: scope.regions,
            names: crate::iam::record_names(&self.graph),
            rules,
        }
    }

    fn new(
        sources: &Sources,
        mut topology: crate::model::Topology,
        name: String,
        backend: BackendRef,
        ctx: &mut Ctx,
    ) -> Result<Loaded, u8> {
        topology.name = Some(name);
        let graph = ResourceGraph::build(&topology);
        let cycles = graph.cycles();
        if !cycles.is_empty() {
            ctx.err(&render::diagnostics::human(&cycles, sources, ctx.color));
            return Err(exit::ERROR);
        }
        // The topology's own files: the values of its variables are recorded as values.
        let sources = sources
            .iter()
            .filter(|(_, f)| f.role == crate::source::Role::Topology)
            .map(|(_, f)| SourceText {
                name: f.name.clone(),
                text: f.text.to_string(),
            })
            .collect();
        Ok(Loaded {
            sources,
            topology,
            graph,
            backend,
            identity: Identity::mint(),
            destroy: false,
            file_weights: Default::default(),
            aliases: Vec::new(),
        })
    }
}

pub(super) fn load(path: &Path, ctx: &mut Ctx) -> Result<Loaded, u8> {
    let (sources, topology) = super::load_valid(path, "nothing planned", ctx)?;
    let name = topology_name(path, topology.name.as_deref());
    let backend = BackendRef::of(topology.backend.as_ref(), &topology_dir(path));
    let aliases = name_aliases(path, topology.name.is_some());
    let mut l = Loaded::new(&sources, topology, name, backend, ctx)?;
    l.aliases = aliases;
    Ok(l)
}

/// The other name a topology whose name is not declared may have been applied under: given
/// as a file, its directory's (the directory was applied before). A directory has none: a
/// file's stem (`main`) is shared by too many topologies to identify one.
fn name_aliases(path: &Path, declared: bool) -> Vec<String> {
    if declared || path.is_dir() {
        return Vec::new();
    }
    vec![topology_name(&topology_dir(path), None)]
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

pub(super) fn make_plan(
    l: &Loaded,
    provider: &dyn Provider,
    common: &Common,
    plan_id: String,
    ctx: &mut Ctx,
) -> Result<Plan, u8> {
    let opts = Options {
        adopt: common.adopt,
        force: common.force,
        targets: common.target.clone(),
        replace: common.replace.clone(),
        prices: prices(common.prices.as_deref(), ctx)?,
        destroy: l.destroy,
    };
    plan::plan(&l.input(), provider, &opts, plan_id).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })
}

fn print_plan(
    p: &Plan,
    (format, comment): (Format, &super::comment::CommentArgs),
    ctx: &mut Ctx,
) -> Result<(), u8> {
    comment.check(format == Format::Markdown, ctx)?;
    match format {
        Format::Human => {
            let text = render::plan::human(p);
            ctx.out_colored(&text, render::color::plan);
        }
        Format::Markdown => super::comment::emit(
            &render::plan::markdown(p),
            "plan",
            comment,
            "the plan's JSON (`meridian show PLAN --format json`), or this command with `--max-chars 0`",
            ctx,
        )?,
        Format::Json => {
            let text = to_json(&plan::terraform::Document::of(p), ctx)?;
            ctx.out(&text);
        }
    }
    Ok(())
}

/// Which provider: the `--live` flag, else the topology's `provider "aws"` block, else the
/// local state store.
fn live_kind(common: &Common, topology: &crate::model::Topology) -> Live {
    common.live.unwrap_or(if topology.provider.is_some() {
        Live::Aws
    } else {
        Live::Local
    })
}

/// The apply's progress on stderr: one line rewritten in place on a terminal, a plain line per
/// wave otherwise (CI logs).
struct ApplyProgress {
    started: std::time::Instant,
    terminal: bool,
}

impl ApplyProgress {
    fn new() -> ApplyProgress {
        ApplyProgress {
            started: std::time::Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, p: plan::apply::Progress) {
        tracing::info!(
            settled = p.settled,
            total = p.total,
            operations = p.operations,
            "apply progress"
        );
        if super::QUIET.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let secs = self.started.elapsed().as_secs();
        let bar = |width: usize| {
            let full = (p.settled * width).checked_div(p.total).unwrap_or(width);
            format!("[{}{}]", "=".repeat(full), " ".repeat(width - full))
        };
        if self.terminal {
            super::to_stderr(&format!(
                "\r  {} {}/{} changes, {} operations, {secs} s ",
                bar(24),
                p.settled,
                p.total,
                p.operations
            ));
        } else {
            super::to_stderr(&format!(
                "progress: {}/{} changes settled, {} operations, {secs} s\n",
                p.settled, p.total, p.operations
            ));
        }
    }

    fn finish(&self) {
        if self.terminal && !super::QUIET.load(std::sync::atomic::Ordering::SeqCst) {
            super::to_stderr("\n");
        }
    }
}

/// Shows Route 53's propagation on a terminal; silent otherwise.
fn progress_sink() -> Option<crate::provider::ProgressSink> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    Some(std::sync::Arc::new(|p: Progress| match p {
        Progress::Propagating { change_id, elapsed } => super::to_stderr(&format!(
            "\r  waiting for Route 53 change {change_id} to reach INSYNC ({} s)",
            elapsed.as_secs()
        )),
        Progress::InSync { change_id, elapsed } => super::to_stderr(&format!(
            "\r  Route 53 change {change_id} is INSYNC after {} s                \n",
            elapsed.as_secs()
        )),
    }))
}

/// Opens the provider a command reads and applies through.
pub(super) fn open_provider(
    common: &Common,
    topology: &crate::model::Topology,
    state: &Path,
    lock: Option<std::time::Duration>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Provider>, u8> {
    let block = topology.provider.as_ref();
    let result: Result<Box<dyn Provider>, crate::provider::ProviderError> =
        match live_kind(common, topology) {
            Live::Local => LocalStore::open(state, lock).map(|s| Box::new(s) as Box<dyn Provider>),
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
                    progress: progress_sink(),
                    stop: Some(&super::signals::STOP),
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
    crate::atomic::write(path, text.as_bytes())
}

/// `plan`'s exit code: the one table of README.md.
fn plan_exit(p: &Plan, args: &PlanArgs) -> u8 {
    // The same gate as `check`.
    let r = &p.recovery;
    let gate = r.objectives_breached || r.objectives_unknown || !r.no_recovery.is_empty();
    if args.fail_on_objectives && gate {
        exit::GATE_FAILED
    } else if args.detailed_exitcode && p.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    }
}

pub fn run_plan(args: PlanArgs, ctx: &mut Ctx) -> u8 {
    if let Err(code) = args.comment.check(args.format == Format::Markdown, ctx) {
        return code;
    }
    let found = match super::tree::topologies(&args.path, ctx) {
        Ok(f) => f,
        Err(code) => return code,
    };
    // What names one topology's file or resources cannot be shared by several.
    let one = match (&args.out, &args.common.state, args.common.target.first()) {
        (Some(_), ..) => Some("--out saves one topology's plan"),
        (_, Some(_), _) => Some("--state names one topology's state store"),
        (.., Some(_)) => Some("--target names one topology's resources"),
        _ if args.format != Format::Human => {
            Some("--format json and markdown describe one topology")
        }
        _ => None,
    };
    if let (Some(why), true) = (one, found.len() > 1) {
        ctx.err(&format!(
            "error: {why}; {} holds {}:\n",
            args.path.display(),
            found.len()
        ));
        for t in &found {
            ctx.err(&format!("  {}\n", t.display()));
        }
        ctx.err("  help: plan each of them on its own (meridian plan DIR)\n");
        return exit::ERROR;
    }
    super::tree::each_of(
        &args.path,
        &found,
        super::tree::Many::Text,
        ctx,
        |path, ctx| match plan_command(path, &args, ctx) {
            Ok(code) | Err(code) => code,
        },
    )
}

fn plan_command(path: &Path, args: &PlanArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(path, ctx)?;
    let team = Team::open(&l.backend, None, ctx)?;
    l.same_topology(&team, args.common.rename, ctx)?;
    l.set_identity(team.identity());
    if args.destroy {
        l = l.for_destroy();
    }
    let state = args.common.state_path(path);
    let store = open_provider(&args.common, &l.topology, &state, None, ctx)?;
    let mut p = make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(l.input().topology.name.as_deref().unwrap_or_default()),
        ctx,
    )?;
    share(&mut p, &l, &team, ctx);
    if p.identity.unfinished.is_some() {
        if let Ok(Some(h)) = team.backend.holder() {
            ctx.note(&format!(
                "note: the manifest's unfinished apply may be under way: the topology is locked ({})\n",
                h.describe()
            ));
        }
    }
    print_plan(&p, (args.format, &args.comment), ctx)?;
    if let Some(out) = &args.out {
        let text = to_json(&plan::terraform::Document::of(&p), ctx)?;
        if let Err(e) = write_atomically(out, &text) {
            ctx.err(&format!("error: cannot write {}: {e}\n", out.display()));
            return Err(exit::ERROR);
        }
        ctx.note(&format!(
            "Saved the plan to {0}. To apply exactly this plan: meridian apply {0}\n",
            out.display()
        ));
    }
    let code = plan_exit(&p, args);
    // The process ends now: freeing a large plan and model piece by piece took a sixth of
    // the run at 70,000 resources, so they are left to the exit.
    std::mem::forget(p);
    std::mem::forget(l);
    Ok(code)
}

pub(super) fn confirm(ctx: &mut Ctx) -> bool {
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
        ApplyFormat::Json => match to_json(outcome, ctx) {
            Ok(text) => ctx.out(&text),
            Err(code) => return code,
        },
    }
    // A signal makes the exit 1 even when the work ran out first (README: exit codes).
    if outcome.succeeded() && !outcome.interrupted {
        exit::OK
    } else {
        exit::ERROR
    }
}

/// A saved plan is recognised by its content (a JSON document), not its name.
pub(super) fn is_saved_plan(path: &Path) -> bool {
    use std::io::Read;
    if !path.is_file() {
        return false;
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    saved::looks_saved(&head[..n])
}

pub fn run_apply(args: ApplyArgs, ctx: &mut Ctx) -> u8 {
    let saved = is_saved_plan(&args.path);
    let result = if saved {
        apply_saved(&args, ctx)
    } else {
        apply_topology(&args, false, ctx)
    };
    match result {
        Ok(code) | Err(code) => code,
    }
}

/// Print a saved plan as `meridian plan` printed it (like `terraform show PLANFILE`), without
/// reading live state or taking a lock.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian plan infra/ --out plan.json\n  meridian show plan.json\n  meridian show plan.json --format markdown > comment.md"
)]
pub struct ShowArgs {
    /// A plan saved by `meridian plan --out` (any file name).
    path: PathBuf,
    /// Output: human, json or markdown.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    comment: super::comment::CommentArgs,
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

pub fn run_destroy(args: DestroyArgs, ctx: &mut Ctx) -> u8 {
    match apply_topology(&args.apply, true, ctx) {
        Ok(code) | Err(code) => code,
    }
}

pub fn run_init(args: InitArgs, ctx: &mut Ctx) -> u8 {
    match init(&args, ctx) {
        Ok(code) | Err(code) => code,
    }
}

fn init(args: &InitArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(&args.path, ctx)?;
    let timeout = std::time::Duration::from_millis(args.lock_timeout.as_millis());
    let mut team = Team::open(&l.backend, Some(("init", timeout)), ctx)?;
    l.same_topology(&team, false, ctx)?;
    let name = l.topology.name.clone().unwrap_or_default();
    if let Some(s) = &team.stored {
        ctx.out(&format!(
            "Topology {name} already has a manifest in {}: id {} (serial {}). Nothing to do.\n",
            team.backend.describe(),
            s.manifest.topology_id,
            s.manifest.serial
        ));
        return Ok(exit::OK);
    }
    let identity = Identity {
        adopted_name: Some(name.clone()),
        ..Identity::mint()
    };
    let (mut m, version) = team.commit_identity(&identity, &name, ctx)?;
    let now = l.managed();
    (m.services, m.zones, m.regions, m.names) = (now.services, now.zones, now.regions, now.names);
    m.declared_rules.clone_from(&now.rules);
    // Rules that filter a declared repository were this topology's under the old rule of
    // ownership; they are adopted only when exactly as declared (the plan then shows others).
    m.rules = now.rules;
    m.record(crate::backend::Entry::bare(
        Operation::Init,
        team.backend.who(),
    ));
    if let Err(e) = team.backend.write(&m, Some(&version)) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    ctx.out(&format!(
        "Initialised topology {name} in {}: id {}. Health checks and ownership markers an earlier Meridian made under the name {name} are this topology's; the next apply rewrites the markers with the id.\n",
        team.backend.describe(),
        m.topology_id
    ));
    Ok(exit::OK)
}

/// Runs the apply engine, stopping after the calls in flight when a signal arrives.
pub(super) fn run_apply_engine(
    p: &Plan,
    store: &dyn Provider,
    parallelism: u16,
    held: Option<&dyn crate::backend::Held>,
) -> plan::apply::Outcome {
    use super::signals::STOP;
    use std::sync::atomic::Ordering;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        // A lock lost meanwhile (force-unlocked, taken by another apply) stops the engine
        // after the calls in flight, as a signal does.
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if crate::backend::LOCK_LOST.load(Ordering::SeqCst) {
                    STOP.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let shown = ApplyProgress::new();
        let die_after = fault_exit_after();
        let on_progress = |x: plan::apply::Progress| {
            if die_after.is_some_and(|n| x.settled >= n) {
                // Fault injection: a death no handler sees, as kill -9 is, mid-apply.
                std::process::exit(137);
            }
            pause_if_asked(x.settled);
            shown.show(x);
        };
        // Before each wave: the lock is still ours, with enough lease left.
        let gate = || {
            let checked = held.map_or(Ok(()), crate::backend::Held::still_held);
            if checked.is_err() {
                crate::backend::LOCK_LOST.store(true, Ordering::SeqCst);
            }
            checked
        };
        let outcome = plan::apply::apply_gated(
            p,
            store,
            usize::from(parallelism),
            &STOP,
            &on_progress,
            &gate,
        );
        shown.finish();
        done.store(true, Ordering::SeqCst);
        outcome
    })
}

/// `MERIDIAN_FAULT_STOP_AFTER=N` (tests; debug builds only): once N changes have settled, the process stops
/// itself (SIGSTOP, every thread: a closed laptop lid, a suspended CI job) until continued.
fn pause_if_asked(settled: usize) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let asked = std::env::var("MERIDIAN_FAULT_STOP_AFTER")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|_| cfg!(debug_assertions));
    if asked.is_some_and(|n| settled >= n) && !DONE.swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    }
}

/// `MERIDIAN_FAULT_EXIT_AFTER=N` (tests; debug builds only): the process dies as soon as N changes have settled,
/// running no destructor and releasing no lock, as under kill -9.
fn fault_exit_after() -> Option<usize> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var("MERIDIAN_FAULT_EXIT_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
}

/// `MERIDIAN_FAULT_EXIT_AT=locked|recording` (tests; debug builds only): the process dies
/// there, as under kill -9: holding the lock before anything is written, or after the last
/// wave before the manifest's write.
fn fault_at(point: &str) -> bool {
    cfg!(debug_assertions) && std::env::var("MERIDIAN_FAULT_EXIT_AT").as_deref() == Ok(point)
}

fn lock_timeout(args: &ApplyArgs) -> std::time::Duration {
    std::time::Duration::from_millis(args.lock_timeout.as_millis())
}

fn apply_topology(args: &ApplyArgs, destroy: bool, ctx: &mut Ctx) -> Result<u8, u8> {
    let mut l = load(&args.path, ctx)?;
    if !args.auto_approve && !std::io::stdin().is_terminal() {
        ctx.err("error: apply asks for confirmation, and standard input is not a terminal; pass --auto-approve to apply without asking\n");
        return Err(exit::ERROR);
    }
    let operation = if destroy { "destroy" } else { "apply" };
    let mut team = Team::open(&l.backend, Some((operation, lock_timeout(args))), ctx)?;
    if fault_at("locked") {
        // Fault injection (tests): a death no handler sees, holding the lock.
        std::process::exit(137);
    }
    l.same_topology(&team, args.common.rename, ctx)?;
    l.set_identity(team.identity());
    if destroy {
        // Without a manifest the plan still reads the zones: resources an earlier Meridian
        // made under the name stop it (`meridian init` first); otherwise it has no changes.
        l = l.for_destroy();
    }
    let state = args.common.state_path(&args.path);
    let store = open_provider(
        &args.common,
        &l.topology,
        &state,
        Some(lock_timeout(args)),
        ctx,
    )?;
    let name = l.topology.name.clone().unwrap_or_default();
    let mut p = make_plan(
        &l,
        store.as_ref(),
        &args.common,
        plan::new_plan_id(&name),
        ctx,
    )?;
    share(&mut p, &l, &team, ctx);
    // With --format json, stdout carries only the outcome document.
    let shown = render::plan::human(&p);
    if args.format == ApplyFormat::Json {
        ctx.err(&shown);
    } else {
        ctx.out_colored(&shown, render::color::plan);
    }
    if !p.has_changes() {
        return settle(&p, &l, &team, (operation_of(destroy), args.format), ctx);
    }
    if !args.auto_approve && !confirm(ctx) {
        ctx.err("Apply cancelled: nothing was changed.\n");
        return Err(exit::ERROR);
    }
    ctx.out("\n");
    run_and_record(
        &p,
        &l,
        &mut team,
        store.as_ref(),
        (args, operation_of(destroy)),
        ctx,
    )
}

fn operation_of(destroy: bool) -> Operation {
    if destroy {
        Operation::Destroy
    } else {
        Operation::Apply
    }
}

/// Records a new topology's identity, runs the apply engine, records what it did.
fn run_and_record(
    p: &Plan,
    l: &Loaded,
    team: &mut Team,
    store: &dyn Provider,
    (args, operation): (&ApplyArgs, Operation),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    use super::signals::APPLYING;
    use std::sync::atomic::Ordering;
    // From the manifest's first write to its last, a signal lets the work finish.
    APPLYING.store(true, Ordering::SeqCst);
    let result = run_recorded(p, l, team, store, (args, operation), ctx);
    APPLYING.store(false, Ordering::SeqCst);
    result
}

fn run_recorded(
    p: &Plan,
    l: &Loaded,
    team: &mut Team,
    store: &dyn Provider,
    (args, operation): (&ApplyArgs, Operation),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    let managed = managed_by(l, operation);
    let (manifest, version) = team.begin(p, &managed, operation, ctx)?;
    let outcome = run_apply_engine(p, store, args.parallelism, team._lock.as_deref());
    if fault_at("recording") {
        // Fault injection (tests): a death after the last wave, before the manifest's write.
        std::process::exit(137);
    }
    let code = finish(&outcome, store, args.format, ctx);
    if crate::backend::LOCK_LOST.load(std::sync::atomic::Ordering::SeqCst) {
        ctx.err("error: the topology's lock was lost during the apply (force-unlocked, taken over, or its lease not renewed in time): stopped before the next wave, and the outcome is not written to the manifest, whose journal still lists everything this apply could have made; the next apply settles it (run `meridian plan` to see the live state)\n");
        return Err(exit::ERROR);
    }
    let done = Done {
        plan: p,
        outcome: &outcome,
        operation,
        managed,
    };
    team.record(manifest, &version, &done, ctx)?;
    Ok(code)
}

/// Names the other topologies under the same backend that declare this plan's replication
/// rules (read from their manifests when the topology has rules), and the rules it deletes.
fn share(p: &mut Plan, l: &Loaded, team: &Team, ctx: &mut Ctx) {
    let declared = if l.destroy {
        BTreeMap::new()
    } else {
        l.managed().rules
    };
    let has_rules = !declared.is_empty() || !p.identity.rules.is_empty();
    let neighbours = if has_rules {
        team.backend.neighbours().unwrap_or_else(|e| {
            ctx.note(&format!(
                "note: other topologies' manifests could not be read, so shared replication rules are not named: {e}\n"
            ));
            Vec::new()
        })
    } else {
        Vec::new()
    };
    p.shared_rules = plan::shared::shared_rules(p, &declared, &neighbours);
}

/// What the topology leaves under management after `operation`: nothing after a destroy.
fn managed_by(l: &Loaded, operation: Operation) -> Managed {
    if operation == Operation::Destroy {
        Managed::default()
    } else {
        l.managed()
    }
}

/// A plan with no changes, under the lock: the manifest is brought in line with what is live
/// (a journal left by an interrupted apply, lists that drifted).
fn settle(
    p: &Plan,
    l: &Loaded,
    team: &Team,
    (operation, format): (Operation, ApplyFormat),
    ctx: &mut Ctx,
) -> Result<u8, u8> {
    if let Some(what) = team.settle(p, &managed_by(l, operation), operation, ctx)? {
        // With --format json, stdout carries only the outcome document.
        if format == ApplyFormat::Json {
            ctx.err(&format!("{what}\n"));
        } else {
            ctx.out(&format!("{what}\n"));
        }
    }
    Ok(exit::OK)
}

/// Reads a saved plan and rebuilds its topology from the files it carries.
fn read_saved(path: &Path, ctx: &mut Ctx) -> Result<(Plan, Loaded), u8> {
    let text = crate::source::read_document(path).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    let saved = saved::read(&path.display().to_string(), &text).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    // The values the plan was made with, whatever this command line says.
    let given = crate::source::VarInputs {
        saved: saved
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
            .collect(),
        ..Default::default()
    };
    let sources = Sources::from_texts(
        saved
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.text.clone())),
    )
    .with_variables(&given)
    .map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    let checked = crate::check(&sources);
    let Some(topology) = checked.valid() else {
        ctx.err(&render::diagnostics::human(
            &checked.diagnostics,
            &sources,
            ctx.color,
        ));
        ctx.err("error: the plan's topology does not validate with this Meridian\n");
        return Err(exit::ERROR);
    };
    let Some(backend) = saved.backend.clone() else {
        ctx.err("error: the saved plan names no backend (it was not made by `meridian plan`)\n");
        return Err(exit::ERROR);
    };
    let mut l = Loaded::new(
        &sources,
        topology.clone(),
        saved.topology.clone(),
        backend,
        ctx,
    )?;
    if saved.destroy {
        l = l.for_destroy();
    }
    Ok((saved, l))
}

/// The identity a saved plan is applied under: the backend's, which must be the plan's; or,
/// before the first apply, the one the plan minted.
fn saved_identity(saved: &Plan, team: &Team, ctx: &mut Ctx) -> Result<Identity, u8> {
    match &team.stored {
        Some(s) if s.manifest.topology_id == saved.identity.id => Ok(s.manifest.identity()),
        Some(s) => {
            ctx.err(&format!(
                "error: the saved plan is for topology id {}, but {} holds topology id {}; run `meridian plan` again\n",
                saved.identity.id,
                team.backend.describe(),
                s.manifest.topology_id
            ));
            Err(exit::ERROR)
        }
        None if saved.identity.new => Ok(saved.identity.clone()),
        None => {
            ctx.err(&format!(
                "error: the saved plan is for topology id {}, whose manifest is no longer in {}; run `meridian plan` again\n",
                saved.identity.id,
                team.backend.describe()
            ));
            Err(exit::ERROR)
        }
    }
}

fn apply_saved(args: &ApplyArgs, ctx: &mut Ctx) -> Result<u8, u8> {
    let (saved, mut l) = read_saved(&args.path, ctx)?;
    let operation = if saved.destroy { "destroy" } else { "apply" };
    let mut team = Team::open(&l.backend, Some((operation, lock_timeout(args))), ctx)?;
    l.set_identity(saved_identity(&saved, &team, ctx)?);
    // The plan's own live source, unless the command line names another (then the check
    // below refuses a different one).
    let (live, planned_state) = match &saved.live_source {
        LiveSource::Local { path, .. } => (Live::Local, Some(path.clone())),
        LiveSource::Aws { .. } => (Live::Aws, None),
    };
    let state = args
        .common
        .state
        .clone()
        .or(planned_state)
        .unwrap_or_else(|| default_state(&args.path));
    let common = Common {
        live: Some(args.common.live.unwrap_or(live)),
        target: saved.targets.clone(),
        replace: saved.replace.clone(),
        adopt: saved.adopt,
        force: saved.force,
        state: None,
        ..args.common.clone()
    };
    let store = open_provider(&common, &l.topology, &state, Some(lock_timeout(args)), ctx)?;
    if let Err(e) = saved::same_source(&saved.live_source, &store.source()) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    let now = make_plan(&l, store.as_ref(), &common, saved.plan_id.clone(), ctx)?;
    if let Err(e) = saved::check(&saved, &now) {
        ctx.report(e);
        return Err(exit::ERROR);
    }
    if !now.has_changes() {
        ctx.out("No changes: the saved plan is already applied.\n");
        return settle(
            &now,
            &l,
            &team,
            (operation_of(saved.destroy), args.format),
            ctx,
        );
    }
    run_and_record(
        &now,
        &l,
        &mut team,
        store.as_ref(),
        (args, operation_of(saved.destroy)),
        ctx,
    )
}
