//! What `plan`, `apply`, `destroy`, `init`, `shift` and `state` share at the edge: the
//! live-state options, loading a workspace, opening its backend and provider with the
//! settings the environment gives, rendering an operation's error, the confirmation prompt.

use super::Ctx;
use crate::backend::BackendRef;
use crate::ops::workspace::{default_state, open_live, LiveKind, LiveOptions};
use crate::ops::{Error, Event, Team, Workspace};
use crate::plan::{self, saved, Options, Plan};
use crate::provider::aws::AwsSettings;
use crate::provider::{Progress, Provider};
use crate::render;
use clap::ValueEnum;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, clap::Args)]
pub(super) struct Common {
    /// Where live state comes from: local (the state store), aws, or zonefile (RFC 1035 zone
    /// files, no health checks or routing). Default: aws when the topology has a
    /// `provider "aws"` block, else local.
    #[arg(long, value_enum)]
    pub(super) live: Option<Live>,
    /// Zone files: the directory of `ZONE.zone` files (default: zones/ beside the topology).
    #[arg(long, value_name = "DIR")]
    pub(super) zone_dir: Option<PathBuf>,
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
    Zonefile,
}

impl Live {
    pub(super) fn kind(self) -> LiveKind {
        match self {
            Live::Local => LiveKind::Local,
            Live::Aws => LiveKind::Aws,
            Live::Zonefile => LiveKind::ZoneFiles,
        }
    }

    pub(super) fn of(kind: LiveKind) -> Live {
        match kind {
            LiveKind::Local => Live::Local,
            LiveKind::Aws => Live::Aws,
            LiveKind::ZoneFiles => Live::Zonefile,
        }
    }
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
            zone_dir: None,
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

    /// The live state's place the command line names, if it names one: `--zone-dir` under
    /// `--live zonefile`, else `--state`.
    pub(super) fn given_state(&self) -> Option<PathBuf> {
        self.zone_dir.clone().or_else(|| self.state.clone())
    }

    /// `--state` names a local store and `--zone-dir` zone files: each only with its kind of
    /// live state (never silently ignored).
    fn places_fit(&self) -> Result<(), &'static str> {
        match (self.live, &self.state, &self.zone_dir) {
            (_, Some(_), Some(_)) => Err("--state names a local state store and --zone-dir a directory of zone files: give one"),
            (Some(Live::Zonefile), Some(_), None) => Err("--state names a local state store; with --live zonefile, --zone-dir names the zone files"),
            (Some(Live::Local | Live::Aws), None, Some(_)) | (None, None, Some(_)) => {
                Err("--zone-dir is for --live zonefile")
            }
            _ => Ok(()),
        }
    }

    /// Where the provider keeps live state: the zone files' directory under `--live zonefile`,
    /// else the local state store.
    pub(super) fn state_path(&self, topology: &Path) -> PathBuf {
        if self.live == Some(Live::Zonefile) {
            return self
                .zone_dir
                .clone()
                .unwrap_or_else(|| crate::ops::workspace::topology_dir(topology).join("zones"));
        }
        self.state
            .clone()
            .unwrap_or_else(|| default_state(topology))
    }
}

/// Reads, validates (printing the diagnostics) and prepares the topology at `path`.
pub(super) fn load(path: &Path, ctx: &mut Ctx) -> Result<Workspace, u8> {
    let (sources, topology) = super::load_valid(path, "nothing planned", ctx)?;
    Workspace::at(path, &sources, topology).map_err(|e| fail_with(e, &sources, ctx))
}

/// Prints an operation's error; returns its exit code.
pub(super) fn fail(e: Error, ctx: &mut Ctx) -> u8 {
    fail_with(e, &crate::source::Sources::default(), ctx)
}

/// Prints an operation's error, its spans in `sources`; returns its exit code.
pub(super) fn fail_with(e: Error, sources: &crate::source::Sources, ctx: &mut Ctx) -> u8 {
    let code = e.code();
    match e {
        Error::Backend { error, then } => {
            ctx.report(error);
            if let Some(t) = then {
                ctx.err(&format!("{t}\n"));
            }
        }
        Error::Provider(e) => ctx.report(e),
        Error::Plan(e) => ctx.report(e),
        Error::Saved(e) => ctx.report(e),
        Error::Shift(e) => ctx.report(e),
        Error::Prices(e) => ctx.report(e),
        Error::Source(e) => ctx.report(e),
        Error::Cycles(d) => ctx.err(&render::diagnostics::human(&d, sources, ctx.color)),
        Error::Invalid(d, sources) => {
            ctx.err(&render::diagnostics::human(&d, &sources, ctx.color));
            ctx.err("error: the plan's topology does not validate with this Meridian\n");
        }
        Error::Refused(why) => ctx.err(&format!("error: {why}\n")),
        Error::Interrupted(what) => ctx.err(&format!("{what}\n")),
        Error::Incomplete { outcome, then } => {
            ctx.out(&render::plan::outcome(&outcome));
            ctx.err(&format!("{then}\n"));
        }
    }
    code
}

/// Opens the topology's backend (taking its lock for `lock`), with the settings the
/// environment gives.
pub(super) fn open_team(
    at: &BackendRef,
    lock: Option<(&str, std::time::Duration)>,
    ctx: &mut Ctx,
) -> Result<Team, u8> {
    // Said at once: the read that follows may fail.
    let observe = |e: Event| {
        if let Event::TookOver(old) = e {
            if !super::QUIET.load(std::sync::atomic::Ordering::SeqCst) {
                super::to_stderr(&format!(
                    "note: took over the topology's lock from {}\n",
                    old.describe()
                ));
            }
        }
    };
    Team::open(at, &backend_settings(), lock, &observe).map_err(|e| fail(e, ctx))
}

/// The backends' settings from the environment, read here at the edge:
/// `MERIDIAN_LOCK_LEASE_SECS` (tests of a stale S3 lock).
pub(super) fn backend_settings() -> crate::backend::BackendSettings {
    crate::backend::BackendSettings {
        lease: std::env::var("MERIDIAN_LOCK_LEASE_SECS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map(std::time::Duration::from_secs),
    }
}

/// The plan options the command line gives (price overrides read from their file).
pub(super) fn options(common: &Common, ctx: &mut Ctx) -> Result<Options, u8> {
    Ok(Options {
        adopt: common.adopt,
        force: common.force,
        targets: common.target.clone(),
        replace: common.replace.clone(),
        prices: crate::ops::workspace::prices(common.prices.as_deref())
            .map_err(|e| fail(e, ctx))?,
        destroy: false,
        plain_records: false,
    })
}

/// Plans the workspace against `provider` with the command line's options.
pub(super) fn make_plan(
    ws: &Workspace,
    provider: &dyn Provider,
    common: &Common,
    plan_id: String,
    ctx: &mut Ctx,
) -> Result<Plan, u8> {
    let opts = options(common, ctx)?;
    ws.plan(provider, opts, plan_id).map_err(|e| fail(e, ctx))
}

/// Names the other topologies that share the plan's replication rules (a note when their
/// manifests cannot be read).
pub(super) fn share(p: &mut Plan, ws: &Workspace, team: &Team, ctx: &mut Ctx) {
    if let Some(note) = crate::ops::workspace::share(p, ws, team) {
        ctx.note(&format!("note: {note}\n"));
    }
}

/// Opens the provider a command reads and applies through: the command line's choice and
/// AWS settings, the environment's tuning; the topology's `provider "aws"` block fills in the
/// rest.
pub(super) fn open_provider(
    common: &Common,
    ws: &Workspace,
    state: &Path,
    lock: Option<std::time::Duration>,
    ctx: &mut Ctx,
) -> Result<Box<dyn Provider>, u8> {
    if let Err(why) = common.places_fit() {
        ctx.err(&format!("error: {why}\n"));
        return Err(super::exit::ERROR);
    }
    let o = LiveOptions {
        kind: common.live.map(Live::kind),
        state: state.to_path_buf(),
        lock,
        aws: AwsSettings {
            region: common.region.clone(),
            profile: common.profile.clone(),
            endpoint_url: common.endpoint_url.clone(),
            progress: progress_sink(),
            stop: Some(&super::signals::STOP),
            ..aws_tuning()
        },
    };
    ws.open_provider(o).map_err(|e| fail(e, ctx))
}

/// The apply's progress on stderr: one line rewritten in place on a terminal, a plain line per
/// wave otherwise (CI logs).
pub(super) struct ApplyProgress {
    /// When the changes began (reset when an operation starts writing).
    pub(super) started: std::sync::Mutex<std::time::Instant>,
    pub(super) terminal: bool,
}

impl ApplyProgress {
    pub(super) fn new() -> ApplyProgress {
        ApplyProgress {
            started: std::sync::Mutex::new(std::time::Instant::now()),
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
        let secs = self.started.lock().map_or(0, |s| s.elapsed().as_secs());
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

    /// The clock starts again: the changes begin now.
    pub(super) fn restart(&self) {
        if let Ok(mut s) = self.started.lock() {
            *s = std::time::Instant::now();
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
pub(super) fn aws_tuning() -> AwsSettings {
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

/// Where live state comes from, for a command with no topology (`import`, `analyze --zone`).
#[derive(Debug, Clone, clap::Args)]
pub(super) struct LiveArgs {
    /// Where live state comes from: aws (the default) or local (a state store, --state). Zone
    /// files hold no routing policies, so nothing in them is a service: refused.
    #[arg(long, value_enum)]
    live: Option<Live>,
    /// AWS: an AWS-compatible endpoint (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// AWS: the region for request signing (also AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// AWS: the profile to use (also AWS_PROFILE).
    #[arg(long)]
    profile: Option<String>,
    /// The local state store (--live local).
    #[arg(long, value_name = "PATH", default_value = ".meridian/state.json")]
    state: PathBuf,
}

impl LiveArgs {
    /// Reads `zones` and `regions` through the chosen provider and imports them.
    pub(super) fn import(
        &self,
        zones: &[String],
        regions: &[String],
        for_analysis: bool,
        ctx: &mut Ctx,
    ) -> Result<
        (
            crate::import::Imported,
            std::collections::BTreeMap<String, usize>,
        ),
        u8,
    > {
        let kind = self.live.map_or(LiveKind::Aws, Live::kind);
        let o = LiveOptions {
            kind: Some(kind),
            state: self.state.clone(),
            lock: None,
            aws: AwsSettings {
                region: self.region.clone(),
                profile: self.profile.clone(),
                endpoint_url: self.endpoint_url.clone(),
                ..aws_tuning()
            },
        };
        let provider = open_live(kind, o, None).map_err(|e| fail(e, ctx))?;
        let imported = crate::ops::import::import(provider.as_ref(), zones, regions, for_analysis)
            .map_err(|e| fail(e, ctx))?;
        Ok((imported, provider.stats()))
    }
}
