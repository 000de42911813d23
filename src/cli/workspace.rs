//! What `plan`, `apply`, `destroy` and `init` share: the live-state options, the topology as
//! loaded for a plan (sources, graph, backend, identity), the provider it is planned against,
//! and the confirmation prompt.

use super::team::{topology_dir, Managed, Team};
use super::{exit, Ctx};
use crate::analysis::Prices;
use crate::backend::BackendRef;
use crate::graph::ResourceGraph;
use crate::identity::Identity;
use crate::plan::{self, saved, Input, Options, Plan, SourceText};
use crate::provider::aws::{AwsProvider, AwsSettings};
use crate::provider::local::LocalStore;
use crate::provider::{Progress, Provider};
use crate::render;
use crate::source::Sources;
use clap::ValueEnum;
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub(super) struct Common {
    /// Where live state comes from: local (the state store) or aws. Default: aws when the
    /// topology has a `provider "aws"` block, else local.
    #[arg(long, value_enum)]
    pub(super) live: Option<Live>,
    /// AWS: an AWS-compatible endpoint (also AWS_ENDPOINT_URL), e.g. http://127.0.0.1:5000.
    #[arg(long, value_name = "URL")]
    pub(super) endpoint_url: Option<String>,
    /// AWS: the region for ECR and request signing (also AWS_REGION).
    #[arg(long)]
    pub(super) region: Option<String>,
    /// AWS: the profile to use (also AWS_PROFILE; SSO profiles included).
    #[arg(long)]
    pub(super) profile: Option<String>,
    /// The local state store (default: .meridian/state.json beside the topology).
    #[arg(long, value_name = "PATH")]
    pub(super) state: Option<PathBuf>,
    /// Limit to this resource and what it depends on (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    pub(super) target: Vec<String>,
    /// Replace this health check even if it is as declared: a new check is created, its records
    /// moved to it, the old one deleted (repeatable; Terraform's -replace).
    #[arg(long, value_name = "ADDRESS")]
    pub(super) replace: Vec<String>,
    /// Take over declared names that hold records Meridian did not create.
    #[arg(long)]
    pub(super) adopt: bool,
    /// Plan a change to more than 30 % of at least 10 managed records (refused otherwise: a
    /// truncated file or a bad merge looks like that).
    #[arg(long)]
    pub(super) force: bool,
    /// Price overrides for the recovery analysis (a JSON object of price names to USD).
    #[arg(long, value_name = "FILE.json")]
    pub(super) prices: Option<PathBuf>,
    /// The backend's manifest was recorded under another topology name, and this is the same
    /// topology renamed: plan anyway (an apply records the new name).
    #[arg(long)]
    pub(super) rename: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Live {
    Local,
    Aws,
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
    pub(super) sources: Vec<SourceText>,
    pub(super) topology: crate::model::Topology,
    pub(super) graph: ResourceGraph,
    pub(super) backend: BackendRef,
    /// Read from the backend before planning.
    pub(super) identity: Identity,
    /// Everything declared was cleared: the plan deletes what the topology manages.
    pub(super) destroy: bool,
    /// The file's weights of the regions a shift holds (the topology carries the held ones).
    pub(super) file_weights: crate::shift::FileWeights,
    /// Other names the topology may have been applied under (see [`name_aliases`]).
    pub(super) aliases: Vec<String>,
}

impl Loaded {
    pub(super) fn input(&self) -> Input<'_> {
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
    pub(super) fn hold(&mut self) {
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
    pub(super) fn managed(&self) -> Managed {
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

    pub(super) fn new(
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

pub(super) fn prices(path: Option<&Path>, ctx: &mut Ctx) -> Result<BTreeMap<String, f64>, u8> {
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
pub(super) struct ApplyProgress {
    pub(super) started: std::time::Instant,
    pub(super) terminal: bool,
}

impl ApplyProgress {
    pub(super) fn new() -> ApplyProgress {
        ApplyProgress {
            started: std::time::Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub(super) fn show(&self, p: plan::apply::Progress) {
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

    pub(super) fn finish(&self) {
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

/// The AWS provider's tuning from the environment, read here at the edge (tests of slow or
/// stuck servers): `MERIDIAN_AWS_TIMEOUT_SECS`, `MERIDIAN_INSYNC_TIMEOUT_SECS`,
/// `MERIDIAN_ROUTE53_RPS`.
fn aws_tuning() -> AwsSettings {
    let number = |name: &str| std::env::var(name).ok()?.parse::<f64>().ok();
    // Whole seconds, as before; a value that is no duration is ignored.
    let secs = |name: &str| {
        number(name)
            .filter(|s| s.is_finite() && *s >= 0.0)
            .and_then(|s| std::time::Duration::try_from_secs_f64(s.floor()).ok())
    };
    AwsSettings {
        // 0 is no timeout of its own: the default.
        operation_timeout: secs("MERIDIAN_AWS_TIMEOUT_SECS").filter(|d| !d.is_zero()),
        // 0 is "do not wait for INSYNC".
        insync_timeout: secs("MERIDIAN_INSYNC_TIMEOUT_SECS"),
        route53_rps: number("MERIDIAN_ROUTE53_RPS"),
        ..AwsSettings::default()
    }
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
                    ..aws_tuning()
                };
                AwsProvider::new(&settings).map(|p| Box::new(p) as Box<dyn Provider>)
            }
        };
    result.map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })
}

pub(super) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic::write(path, text.as_bytes())
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

/// Names the other topologies under the same backend that declare this plan's replication
/// rules (read from their manifests when the topology has rules), and the rules it deletes.
pub(super) fn share(p: &mut Plan, l: &Loaded, team: &Team, ctx: &mut Ctx) {
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
