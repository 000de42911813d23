//! `meridian alerts`: Prometheus alerting rules for a topology.

use super::{exit, Ctx};
use crate::alerts::{self, Options};
use crate::backend::BackendRef;
use crate::duration::Duration;
use crate::ops::workspace::topology_dir;
use clap::ValueEnum;
use std::path::PathBuf;

/// Write Prometheus alerting rules for the topology: replication lag per replica region (warn
/// at 5 s, page at 30 s, as the reference advises; under an RPO objective, page at min(30 s,
/// rpo) and warn at min(5 s, rpo / 2)), each region's Route 53 health check and the service's
/// RTO objective (from the CloudWatch exporter's Route 53 metrics).
///
/// Health-check rules find checks by the tags `tag_health_checks = true` writes (their `Name`,
/// the check's address, and the topology id once applied); the exporter must export them
/// (`aws_tag_select` on `route53:healthcheck`). Notes about rules that cannot be written go to
/// stderr.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian alerts examples/active-passive > meridian.rules.yml\n  promtool check rules meridian.rules.yml\n  meridian alerts infra/ --lag-warn 2s --lag-page 10s \\\n      --lag-metric pg_replication_lag_seconds"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Replication lag that warns [default: 5s, or half the RPO objective when that is less].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    lag_warn: Option<Duration>,
    /// Replication lag that pages [default: 30s, or the RPO objective when that is less].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    lag_page: Option<Duration>,
    /// The replication-lag gauge (seconds, labels `service` and `region`).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "meridian_replication_lag_seconds"
    )]
    lag_metric: String,
    /// Output: yaml (a Prometheus rule file) or json.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Yaml,
    Json,
}

fn duration(s: &str) -> Result<Duration, String> {
    Duration::parse(s)
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    let valid_metric = !args.lag_metric.is_empty()
        && args.lag_metric.chars().enumerate().all(|(i, c)| {
            c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
        });
    if !valid_metric {
        ctx.err(&format!(
            "error: \"{}\" is not a Prometheus metric name\n",
            args.lag_metric
        ));
        return exit::ERROR;
    }
    // A rule file is one topology's: promtool and Prometheus read only the first document of
    // a multi-document file ("0 rules found"), so several are refused, not concatenated.
    super::tree::each(&args.path, super::tree::Many::One, ctx, |path, ctx| {
        rules(&args, path, ctx)
    })
}

fn rules(args: &Args, path: &std::path::Path, ctx: &mut Ctx) -> u8 {
    let (_, topology) = match super::load_valid(path, "no rules written", ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let backend = BackendRef::of(topology.backend.as_ref(), &topology_dir(path));
    let team = match super::workspace::open_team(&backend, None, ctx) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let identity = team.identity();
    let rpo = topology.objectives.as_ref().and_then(|o| o.rpo);
    let (lag_warn, lag_page) = alerts::lag_thresholds(rpo, args.lag_warn, args.lag_page);
    if lag_page < lag_warn {
        let from = |given: bool, flag: &str| match (given, rpo) {
            (true, _) => format!(", {flag}"),
            (false, Some(r)) => format!(", from the RPO objective {r}"),
            (false, None) => ", the default".to_string(),
        };
        ctx.err(&format!(
            "error: the lag that pages ({lag_page}{}) is below the lag that warns ({lag_warn}{})\n",
            from(args.lag_page.is_some(), "--lag-page"),
            from(args.lag_warn.is_some(), "--lag-warn"),
        ));
        return exit::ERROR;
    }
    let options = Options {
        lag_warn,
        lag_page,
        lag_metric: args.lag_metric.clone(),
        topology_id: (!identity.new).then_some(identity.id),
    };
    let file = alerts::rules(&topology, &options);
    if !super::QUIET.load(std::sync::atomic::Ordering::SeqCst) {
        for n in &file.notes {
            ctx.note(&format!("note: {n}\n"));
        }
    }
    match args.format {
        Format::Yaml => ctx.out(&file.yaml(&format!(
            "Prometheus alerting rules for {}, written by meridian alerts.",
            path.display()
        ))),
        Format::Json => match super::to_json(&file, ctx) {
            Ok(t) => ctx.out(&t),
            Err(code) => return code,
        },
    }
    exit::OK
}
