//! `meridian alerts`: Prometheus alerting rules for a topology.

use super::team::{topology_dir, Team};
use super::{exit, Ctx};
use crate::alerts::{self, Options};
use crate::backend::BackendRef;
use crate::duration::Duration;
use clap::ValueEnum;
use std::path::PathBuf;

/// Write Prometheus alerting rules for the topology: replication lag per replica region (warn
/// at 5 s, page at 30 s, as the reference advises), each region's Route 53 health check and the
/// service's RTO objective (from the CloudWatch exporter's Route 53 metrics).
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
    /// A topology file or a directory of .hcl files.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Replication lag that warns.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    lag_warn: Duration,
    /// Replication lag that pages.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    lag_page: Duration,
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
    if args.lag_page < args.lag_warn {
        ctx.err("error: --lag-page must not be below --lag-warn\n");
        return exit::ERROR;
    }
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
    let (_, topology) = match super::load_valid(&args.path, "no rules written", ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let backend = BackendRef::of(topology.backend.as_ref(), &topology_dir(&args.path));
    let team = match Team::open(&backend, None, ctx) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let identity = team.identity();
    let options = Options {
        lag_warn: args.lag_warn,
        lag_page: args.lag_page,
        lag_metric: args.lag_metric.clone(),
        topology_id: (!identity.new).then_some(identity.id),
    };
    let file = alerts::rules(&topology, &options);
    if !super::QUIET.load(std::sync::atomic::Ordering::SeqCst) {
        for n in &file.notes {
            ctx.err(&format!("note: {n}\n"));
        }
    }
    match args.format {
        Format::Yaml => ctx.out(&file.yaml(&format!(
            "Prometheus alerting rules for {}, written by meridian alerts.",
            args.path.display()
        ))),
        Format::Json => match super::to_json(&file, ctx) {
            Ok(t) => ctx.out(&t),
            Err(code) => return code,
        },
    }
    exit::OK
}
