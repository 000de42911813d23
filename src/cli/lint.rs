//! `meridian lint`: what breaks static stability, with rule ids, levels and suppressions.

use super::tree::{self, Many};
use super::{exit, Ctx};
use crate::lint::{self, Config, Level, RuleId};
use crate::render::lint as render;
use clap::ValueEnum;
use std::path::PathBuf;

/// Find what breaks static stability: cross-region calls in the request path, images a region
/// cannot pull, failover that needs the Route 53 control plane, users left without a second
/// region, stale user data, lag over the RPO, checks blind to a sick region.
///
/// Each finding names its rule (SS001...). Levels: a rule's default, then the topology's `lint`
/// block, then -A/-W/-D. Silence one finding with a comment on its line or the line above:
/// `# meridian:allow SS001 <reason>` (the reason is required). Exit 0 when no finding is
/// denied, 3 when one is, 1 for an invalid topology.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian lint examples/active-passive\n  meridian lint infra/ --deny warnings\n  meridian lint infra/ --format sarif > meridian.sarif\n  meridian lint --explain SS001\n  meridian lint --list"
)]
pub struct Args {
    /// A topology file, a directory of .hcl files, or a tree of topologies (found at any depth).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output: human, json, or sarif (SARIF 2.1.0, for GitHub code scanning).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Deny a rule (its findings make lint exit 3), or `warnings` to deny every warning.
    #[arg(short = 'D', long = "deny", value_name = "RULE|warnings")]
    deny: Vec<String>,
    /// Report a rule as a warning.
    #[arg(short = 'W', long = "warn", value_name = "RULE")]
    warn: Vec<String>,
    /// Turn a rule off.
    #[arg(short = 'A', long = "allow", value_name = "RULE")]
    allow: Vec<String>,
    /// List the rules with their default levels, and exit.
    #[arg(long, conflicts_with = "explain")]
    list: bool,
    /// Print a rule's documentation, and exit.
    #[arg(long, value_name = "RULE")]
    explain: Option<String>,
    /// Print the rule reference (docs/lint.md), and exit.
    #[arg(long, hide = true)]
    docs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
}

fn rule(id: &str, ctx: &mut Ctx) -> Result<RuleId, u8> {
    RuleId::parse(id).ok_or_else(|| {
        let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
        ctx.err(&format!(
            "error: no lint rule \"{id}\" (rules: {})\n",
            known.join(", ")
        ));
        exit::ERROR
    })
}

fn config(args: &Args, ctx: &mut Ctx) -> Result<Config, u8> {
    let mut c = Config::default();
    for (ids, level) in [
        (&args.allow, Level::Allow),
        (&args.warn, Level::Warn),
        (&args.deny, Level::Deny),
    ] {
        for id in ids {
            if level == Level::Deny && id == "warnings" {
                c.deny_warnings = true;
                continue;
            }
            c.levels.insert(rule(id, ctx)?, level);
        }
    }
    Ok(c)
}

fn list(ctx: &mut Ctx) {
    for id in RuleId::ALL {
        let r = id.rule();
        ctx.out(&format!(
            "{}  {:<28} {:<5} {}\n",
            id.as_str(),
            r.name,
            r.level.as_str(),
            r.summary
        ));
    }
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    if args.list {
        list(ctx);
        return exit::OK;
    }
    if args.docs {
        ctx.out(&lint::docs_markdown());
        return exit::OK;
    }
    if let Some(id) = &args.explain {
        return match rule(id, ctx) {
            Ok(r) => {
                let r = r.rule();
                ctx.out(&format!(
                    "{} ({}, {} by default): {}\n\n{}",
                    r.id.as_str(),
                    r.name,
                    r.level.as_str(),
                    r.summary,
                    r.doc
                ));
                exit::OK
            }
            Err(code) => code,
        };
    }
    let config = match config(&args, ctx) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let found = match tree::topologies(&args.path, ctx) {
        Ok(f) => f,
        Err(code) => return code,
    };
    if args.format == Format::Human {
        return tree::each_of(&args.path, &found, Many::Text, ctx, |path, ctx| {
            lint_human(path, &config, ctx)
        });
    }
    lint_documents(&args, &found, &config, ctx)
}

fn lint_human(path: &std::path::Path, config: &Config, ctx: &mut Ctx) -> u8 {
    let (sources, topology) = match super::load_valid(path, "nothing linted", ctx) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let report = lint::lint(&topology, &sources, config);
    ctx.out(&render::human(&report, &sources, ctx.color));
    gate(&report)
}

fn gate(report: &lint::Report) -> u8 {
    if report.denied() {
        exit::GATE_FAILED
    } else {
        exit::OK
    }
}

/// JSON or SARIF: one document whatever the number of topologies, their findings together
/// (each names its file); a topology that is invalid is left out and makes the exit 1.
fn lint_documents(args: &Args, found: &[PathBuf], config: &Config, ctx: &mut Ctx) -> u8 {
    let mut code = exit::OK;
    let mut doc: Option<serde_json::Value> = None;
    let mut outcomes = Vec::new();
    for path in found {
        let (sources, topology) = match super::load_valid(path, "nothing linted", ctx) {
            Ok(v) => v,
            Err(c) => {
                outcomes.push((path.clone(), c));
                code = tree::worst(code, c);
                continue;
            }
        };
        let report = lint::lint(&topology, &sources, config);
        let next = match args.format {
            Format::Sarif => render::sarif(&report, &sources, &repo_paths(&sources)),
            _ => render::json(&report, &sources),
        };
        doc = Some(match doc {
            Some(d) => render::merge(d, next),
            None => next,
        });
        outcomes.push((path.clone(), gate(&report)));
        code = tree::worst(code, gate(&report));
    }
    // Every topology invalid: still a document (no findings), so a code-scanning upload
    // after a failed lint is not handed an empty file.
    let doc = doc.unwrap_or_else(|| {
        let (empty, none) = (lint::Report::default(), crate::source::Sources::default());
        match args.format {
            Format::Sarif => render::sarif(&empty, &none, &render::RepoPaths::new()),
            _ => {
                let mut d = render::json(&empty, &none);
                d["passed"] = serde_json::Value::Bool(false);
                d
            }
        }
    });
    match super::to_json(&doc, ctx) {
        Ok(t) => ctx.out(&t),
        Err(c) => return c,
    }
    if found.len() > 1 {
        tree::summary(&args.path, &outcomes, ctx);
    }
    code
}

/// Each source file's path relative to the root of the git repository that holds it (the
/// nearest ancestor with a `.git`, a directory or a worktree's file), as code scanning places
/// alerts; files in no repository keep the path they were given.
fn repo_paths(sources: &crate::source::Sources) -> render::RepoPaths {
    let mut out = render::RepoPaths::new();
    for (_, f) in sources.iter() {
        let Ok(abs) = std::path::absolute(&f.name) else {
            continue;
        };
        // `..` resolved by the letters (a symlinked directory stays where the user sees it).
        let mut clean = std::path::PathBuf::new();
        for c in abs.components() {
            match c {
                std::path::Component::ParentDir => {
                    clean.pop();
                }
                std::path::Component::CurDir => {}
                other => clean.push(other),
            }
        }
        let abs = clean;
        let Some(root) = abs.ancestors().skip(1).find(|d| d.join(".git").exists()) else {
            continue;
        };
        if let Ok(rel) = abs.strip_prefix(root) {
            out.insert(f.name.clone(), rel.to_string_lossy().into_owned());
        }
    }
    out
}
