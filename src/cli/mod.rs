//! The command line: arguments in, exit codes out. The only layer that prints.
//!
//! A file per command (`plan`, `apply`, `show`, `destroy`, `init`, `validate`, `graph`, ...;
//! `analyze` holds `analyze`, `check` and `compare`), each an `Args` struct whose doc comments
//! are its `--help`, plus a `run` function returning the exit code. `workspace` is what plan,
//! apply, destroy and init share; `tree` runs a read-only command over a tree of topologies.

mod alerts;
mod analyze;
mod apply;
mod comment;
mod completions;
mod destroy;
mod fmt;
mod graph;
mod iam;
mod import;
mod init;
mod lint;
mod plan;
mod schema;
mod shift;
mod show;
mod signals;
mod simulate;
mod state;
mod tree;
mod unlock;
mod validate;
mod workspace;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Exit codes: one table for every command, a public contract (README.md, `--help`).
pub mod exit {
    /// Success; for `plan`, no changes (or no `--detailed-exitcode`).
    pub const OK: u8 = 0;
    /// Invalid input or any error (usage errors included).
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: changes are present.
    pub const CHANGES: u8 = 2;
    /// A gate failed: `check`, or `plan --fail-on-objectives`, when an objective is breached
    /// or cannot be shown to hold. Wins over [`CHANGES`].
    pub const GATE_FAILED: u8 = 3;
}

const AFTER_HELP: &str = "\
Examples:
  meridian validate examples/active-passive
  meridian validate examples/ --format json
  meridian graph examples/active-active-partitioned | dot -Tsvg > graph.svg
  meridian analyze examples/active-passive
  meridian check examples/active-passive   # exit 3 if an objective is breached
  meridian compare examples/active-passive examples/active-active-anycast
  meridian plan examples/active-passive --out plan.json
  meridian apply plan.json
  meridian fmt --check examples/

Exit codes (every command):
  0  success; for plan, no changes
  1  invalid topology, bad usage or any other error
  2  changes present (plan --detailed-exitcode only)
  3  a gate failed: an objective breached or unknown, or a service with no recovery from
     some region loss (check; plan --fail-on-objectives, where 3 wins over 2); a lint
     finding at the deny level (lint); a service that does not keep serving all its
     traffic (simulate)
  130 shift (or apply) interrupted by Ctrl-C where nothing was in flight";

/// `--version`: the package version, the commit and the build date.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MERIDIAN_COMMIT"),
    ", built ",
    env!("MERIDIAN_BUILD_DATE"),
    ")"
);

/// Meridian plans multi-region infrastructure from one declarative HCL topology.
#[derive(Debug, Parser)]
#[command(name = "meridian", version = VERSION, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// When to colour output: auto (a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    /// Same as --color never.
    #[arg(long, global = true)]
    no_color: bool,
    /// Run as if started in DIR (like git -C, cargo -C, terraform -chdir): every path is
    /// relative to it.
    #[arg(short = 'C', long = "chdir", value_name = "DIR", global = true)]
    chdir: Option<std::path::PathBuf>,
    /// Print only errors on stderr: no warnings, notes or progress.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Log what happens on stderr: -v Meridian's steps, -vv also each AWS call with its
    /// duration and attempts. RUST_LOG (e.g. `meridian=debug`) sets the filter instead.
    /// Credentials and signed headers are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Give a variable its value: NAME=VALUE (repeatable; Terraform's -var). Wins over
    /// --var-file and MERIDIAN_VAR_NAME.
    #[arg(long = "var", value_name = "NAME=VALUE", global = true)]
    var: Vec<String>,
    /// Read variables' values from a file of NAME = VALUE lines (repeatable, later files win;
    /// Terraform's -var-file).
    #[arg(long = "var-file", value_name = "FILE", global = true)]
    var_file: Vec<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    Validate(validate::Args),
    Graph(graph::Args),
    Analyze(analyze::Args),
    Check(analyze::CheckArgs),
    Compare(analyze::CompareArgs),
    Lint(lint::Args),
    Simulate(simulate::Args),
    Alerts(alerts::Args),
    Shift(shift::Args),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
    Plan(plan::PlanArgs),
    Apply(apply::ApplyArgs),
    Show(show::ShowArgs),
    Destroy(destroy::DestroyArgs),
    Init(init::InitArgs),
    Fmt(fmt::Args),
    Schema(schema::Args),
    ForceUnlock(unlock::Args),
    IamPolicy(iam::Args),
    Import(import::Args),
    /// What a topology manages: list, show, or forget part of it (rm).
    #[command(subcommand)]
    State(state::Command),
}

pub(crate) use crate::process::to_stderr;

/// `--quiet`: only errors on stderr.
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs the log printer when `-v` or `RUST_LOG` asks for one (nothing is set up otherwise).
/// Whatever the filter, two things are never printed: the signing crate's events (signed
/// headers, canonical requests) and any other crate's TRACE events (raw requests).
fn logging(verbose: u8) {
    use tracing_subscriber::filter::{filter_fn, EnvFilter};
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::prelude::*;
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let directives = match (from_env, verbose) {
        (Some(env), _) => env,
        (None, 0) => return,
        (None, 1) => "meridian=debug".to_string(),
        (None, _) => "meridian=trace,aws_smithy_runtime::client::orchestrator=debug".to_string(),
    };
    let safe = filter_fn(|m| {
        let target = m.target();
        !target.starts_with("aws_sigv4")
            && (target.starts_with("meridian") || *m.level() != tracing::Level::TRACE)
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| Redacting(std::io::stderr()))
        .with_span_events(FmtSpan::CLOSE)
        .with_filter(EnvFilter::new(directives))
        .with_filter(safe);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The log's writer: key ids never reach it ([`crate::provider::redact_key_ids`]); a log line
/// that cannot be written is dropped (a closed stderr never stops the work).
struct Redacting(std::io::Stderr);

impl std::io::Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let known = std::env::var("AWS_ACCESS_KEY_ID").ok();
        let text = crate::provider::redact_key_ids(&String::from_utf8_lossy(buf), known.as_deref());
        let _ = self.0.write_all(text.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Output streams and settings shared by every command.
pub struct Ctx {
    /// Colour diagnostics and messages (stderr).
    pub color: bool,
    /// Colour what goes to stdout (plans, analyses): `--color always`, or `auto` on a terminal.
    pub color_out: bool,
    /// Values for the topologies' variables: --var, --var-file and MERIDIAN_VAR_NAME.
    pub vars: crate::source::VarInputs,
    out: std::io::Stdout,
    err: std::io::Stderr,
}

impl Ctx {
    /// Writes data (what a pipeline consumes) to stdout.
    pub fn out(&mut self, s: &str) {
        // A closed pipe (`meridian graph | head`) is not an error worth reporting.
        let _ = self.out.write_all(s.as_bytes());
    }

    /// Writes human text to stdout, coloured by `paint` when stdout takes colour.
    pub fn out_colored(&mut self, s: &str, paint: fn(&str) -> String) {
        if self.color_out {
            self.out(&paint(s));
        } else {
            self.out(s);
        }
    }

    /// Writes messages and diagnostics to stderr.
    pub fn err(&mut self, s: &str) {
        let _ = self.err.write_all(s.as_bytes());
    }

    /// A note on stderr, unless `--quiet` asked for errors only.
    pub fn note(&mut self, s: &str) {
        if !QUIET.load(std::sync::atomic::Ordering::SeqCst) {
            self.err(s);
        }
    }

    /// Prints an error from outside the topology (a file that cannot be read, say).
    pub fn report(&mut self, e: impl miette::Diagnostic + Send + Sync + 'static) {
        let report = miette::Report::new(e);
        let theme = if self.color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let mut s = String::new();
        let _ = miette::GraphicalReportHandler::new_themed(theme)
            .render_report(&mut s, report.as_ref());
        self.err(&s);
    }
}

/// A document as pretty JSON with a final newline; an error (reported, exit 1) if it cannot
/// be serialised, never an empty document.
///
/// One style for every document: keys sorted (as a `serde_json::Value`'s maps order them;
/// `render::json`), two-space indentation, a `format_version` at the top level.
pub fn to_json<T: serde::Serialize>(doc: &T, ctx: &mut Ctx) -> Result<String, u8> {
    crate::render::json::sorted_pretty(doc).map_err(|e| {
        ctx.err(&format!("error: cannot serialise the document: {e}\n"));
        exit::ERROR
    })
}

/// Streams a document to stdout as [`to_json`] would print it, never holding its text (a
/// plan of 100,000 services is hundreds of MB of JSON). A closed pipe is not an error.
pub fn out_json<T: serde::Serialize>(doc: &T, ctx: &mut Ctx) -> Result<(), u8> {
    let out = std::io::BufWriter::with_capacity(1 << 16, ctx.out.lock());
    match crate::render::json_stream::write_sorted_pretty(doc, out) {
        // A closed pipe (`meridian plan --format json | head`) is not an error worth reporting.
        Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) => Ok(()),
        Err(e) if e.is_io() => {
            ctx.err(&format!("error: cannot write the document: {e}\n"));
            Err(exit::ERROR)
        }
        Err(e) => {
            ctx.err(&format!("error: cannot serialise the document: {e}\n"));
            Err(exit::ERROR)
        }
        Ok(()) => Ok(()),
    }
}

/// Writes a document to `path` atomically, as [`to_json`] would print it, as it is produced.
pub fn write_json<T: serde::Serialize>(path: &std::path::Path, doc: &T) -> std::io::Result<()> {
    crate::atomic::write_with(path, |w| {
        crate::render::json_stream::write_sorted_pretty(doc, w).map_err(std::io::Error::other)
    })
}

/// Reads and validates one topology for a command that needs a valid one: prints its
/// diagnostics (warnings included) and returns the sources and the model, or the exit code.
pub fn load_valid(
    path: &std::path::Path,
    what: &str,
    ctx: &mut Ctx,
) -> Result<(crate::source::Sources, crate::model::Topology), u8> {
    let sources = crate::source::Sources::load(path)
        .and_then(|s| s.with_variables(&ctx.vars))
        .map_err(|e| {
            ctx.report(e);
            exit::ERROR
        })?;
    let checked = crate::check(&sources);
    // --quiet: warnings only matter when something fails.
    if !QUIET.load(std::sync::atomic::Ordering::SeqCst) || checked.diagnostics.has_errors() {
        ctx.err(&crate::render::diagnostics::human(
            &checked.diagnostics,
            &sources,
            ctx.color,
        ));
    }
    if checked.diagnostics.has_errors() {
        ctx.err(&format!(
            "error: {} is invalid ({}); {what}\n",
            path.display(),
            crate::render::diagnostics::summary(&checked.diagnostics)
        ));
        return Err(exit::ERROR);
    }
    Ok((sources, checked.topology))
}

/// Terraform's single-dash long flags (`-out=plan.json`, `-detailed-exitcode`,
/// `-auto-approve`): an argument of one dash and a word that is one of Meridian's long option
/// names (two letters or more, before any `=`) is read as that option; what was rewritten is
/// returned for a note. Nothing after `--` is touched.
fn terraform_flags(
    args: Vec<std::ffi::OsString>,
) -> (Vec<std::ffi::OsString>, Vec<(String, String)>) {
    use clap::CommandFactory;
    fn longs(c: &clap::Command, into: &mut std::collections::BTreeSet<String>) {
        into.extend(
            c.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string)),
        );
        for sub in c.get_subcommands() {
            longs(sub, into);
        }
    }
    let mut names = std::collections::BTreeSet::new();
    longs(&Cli::command(), &mut names);
    let mut read_as = Vec::new();
    let mut done = false;
    let out = args
        .into_iter()
        .map(|a| {
            let Some(text) = a.to_str().filter(|_| !done) else {
                return a;
            };
            done = text == "--";
            let Some(word) = text.strip_prefix('-').filter(|w| !w.starts_with('-')) else {
                return a;
            };
            let name = word.split('=').next().unwrap_or(word);
            if name.len() < 2 || !names.contains(name) {
                return a;
            }
            let read = format!("-{text}");
            read_as.push((text.to_string(), read.clone()));
            read.into()
        })
        .collect();
    (out, read_as)
}

/// `MERIDIAN_VAR_NAME=VALUE` from the environment, as (NAME, VALUE), sorted.
fn env_vars() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let name = k.to_str()?.strip_prefix("MERIDIAN_VAR_")?.to_string();
            Some((name, v.to_str()?.to_string()))
        })
        // A variable's name: a letter or `_`, then letters, digits, `_` and `-`; anything else
        // in the environment is not for Meridian.
        .filter(|(name, _)| {
            name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .collect();
    out.sort();
    out
}

/// Parses arguments, runs the command, and returns its exit code.
pub fn main() -> ExitCode {
    let (args, read_as) = terraform_flags(std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("error: cannot change to directory {}: {e}", dir.display());
            return ExitCode::from(exit::ERROR);
        }
    }
    let no_color_env = || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (color, color_out) = match cli.color {
        _ if cli.no_color => (false, false),
        Color::Always => (true, true),
        Color::Never => (false, false),
        Color::Auto if no_color_env() => (false, false),
        Color::Auto => (
            std::io::stderr().is_terminal(),
            std::io::stdout().is_terminal(),
        ),
    };
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::SeqCst);
    if !cli.quiet {
        for (given, read) in &read_as {
            to_stderr(&format!(
                "note: read {given} as {read} (Meridian's long options take two dashes)\n"
            ));
        }
    }
    logging(cli.verbose);
    signals::install();
    let mut ctx = Ctx {
        vars: crate::source::VarInputs {
            env: env_vars(),
            files: cli.var_file,
            pairs: cli.var,
            saved: Default::default(),
        },
        color,
        color_out,
        out: std::io::stdout(),
        err: std::io::stderr(),
    };
    let code = match cli.command {
        Command::Validate(a) => validate::run(a, &mut ctx),
        Command::Graph(a) => graph::run(a, &mut ctx),
        Command::Analyze(a) => analyze::run(a, &mut ctx),
        Command::Check(a) => analyze::run_check(a, &mut ctx),
        Command::Compare(a) => analyze::run_compare(a, &mut ctx),
        Command::Lint(a) => lint::run(a, &mut ctx),
        Command::Simulate(a) => simulate::run(a, &mut ctx),
        Command::Alerts(a) => alerts::run(a, &mut ctx),
        Command::Shift(a) => shift::run(a, &mut ctx),
        Command::Completions(a) => completions::run_completions(&a, &mut ctx),
        Command::Man(a) => completions::run_man(&a, &mut ctx),
        Command::Plan(a) => plan::run_plan(a, &mut ctx),
        Command::Apply(a) => apply::run_apply(a, &mut ctx),
        Command::Show(a) => show::run_show(a, &mut ctx),
        Command::Destroy(a) => destroy::run_destroy(a, &mut ctx),
        Command::Init(a) => init::run_init(a, &mut ctx),
        Command::Fmt(a) => fmt::run(a, &mut ctx),
        Command::Schema(a) => schema::run(a, &mut ctx),
        Command::ForceUnlock(a) => unlock::run(a, &mut ctx),
        Command::IamPolicy(a) => iam::run(a, &mut ctx),
        Command::Import(a) => import::run(a, &mut ctx),
        Command::State(c) => state::run(c, &mut ctx),
    };
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Clap's own consistency checks (unique flags, valid groups) for every command.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every example line of every `--help` fits 80 columns, so no terminal wraps a command in
    /// the middle (copying it would break it).
    #[test]
    fn help_examples_fit_80_columns() {
        let mut cmd = super::Cli::command();
        cmd.build();
        let mut long = Vec::new();
        for sub in std::iter::once(&cmd).chain(cmd.get_subcommands()) {
            let text = sub
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            let command = |l: &&str| {
                let t = l.trim_start();
                l.starts_with("  ")
                    && ["meridian ", "aws ", "promtool "]
                        .iter()
                        .any(|c| t.starts_with(c))
            };
            for line in text
                .lines()
                .filter(command)
                .filter(|l| l.chars().count() > 80)
            {
                long.push(format!("{}: {line}", sub.get_name()));
            }
        }
        assert!(long.is_empty(), "{long:#?}");
    }
}
