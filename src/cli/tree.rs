//! Read-only commands over a tree of topologies, as ripgrep and ruff take a directory: every
//! topology found at any depth ([`crate::source::discover_tree`]), reported one by one, the
//! command exiting with the worst status.

use super::{exit, Ctx};
use std::path::{Path, PathBuf};

/// How a command's chosen output holds several topologies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Many {
    /// Text for people: each topology under a `==> PATH <==` line (as `head` and `tail` do).
    Text,
    /// Graphviz: each topology's graph after a `// PATH` comment (`dot` draws every graph).
    Dot,
    /// One document about one topology (JSON, SARIF, Markdown, SVG): refused for several,
    /// naming them.
    One,
}

/// Ranks exit codes for the worst of several: an error (nothing could be judged) is worse than
/// a failed gate, which is worse than changes, which is worse than success.
fn rank(code: u8) -> u8 {
    match code {
        exit::OK => 0,
        exit::CHANGES => 1,
        exit::GATE_FAILED => 2,
        exit::ERROR => 3,
        _ => 4,
    }
}

/// The worse of two exit codes ([`rank`]).
pub fn worst(a: u8, b: u8) -> u8 {
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The topologies under `path`, with a note for each directory of another tool's HCL; an
/// error (reported) when there is none.
pub fn topologies(path: &Path, ctx: &mut Ctx) -> Result<Vec<PathBuf>, u8> {
    let found = crate::source::discover_tree(path).map_err(|e| {
        ctx.report(e);
        exit::ERROR
    })?;
    for (dir, file) in &found.skipped {
        ctx.note(&format!(
            "note: skipped {}: its .hcl files hold no Meridian block: another tool's, or variables only (e.g. {})\n",
            dir.display(),
            file.display()
        ));
    }
    if found.topologies.is_empty() {
        ctx.report(crate::source::LoadError::NoFiles {
            path: path.to_path_buf(),
        });
        return Err(exit::ERROR);
    }
    Ok(found.topologies)
}

/// Runs `one` on each topology under `path` and returns the worst exit code. One topology
/// is run as it always was; several are headed by their path as `many` says, or refused when
/// the output is one document.
pub fn each(path: &Path, many: Many, ctx: &mut Ctx, one: impl FnMut(&Path, &mut Ctx) -> u8) -> u8 {
    match topologies(path, ctx) {
        Ok(found) => each_of(path, &found, many, ctx, one),
        Err(code) => code,
    }
}

/// [`each`] over topologies already found.
pub fn each_of(
    path: &Path,
    found: &[PathBuf],
    many: Many,
    ctx: &mut Ctx,
    mut one: impl FnMut(&Path, &mut Ctx) -> u8,
) -> u8 {
    if let [only] = found {
        return one(only, ctx);
    }
    if many == Many::One {
        refuse(path, found, ctx);
        return exit::ERROR;
    }
    let mut code = exit::OK;
    let mut outcomes = Vec::new();
    for (i, topology) in found.iter().enumerate() {
        ctx.out(&header(many, topology, i == 0));
        let c = one(topology, ctx);
        outcomes.push((topology.clone(), c));
        code = worst(code, c);
    }
    summary(path, &outcomes, ctx);
    code
}

fn header(many: Many, topology: &Path, first: bool) -> String {
    let gap = if first { "" } else { "\n" };
    match many {
        Many::Text | Many::One => format!("{gap}==> {} <==\n", topology.display()),
        Many::Dot => format!("{gap}// {}\n", topology.display()),
    }
}

/// What an exit code means, in a word or two.
fn meaning(code: u8) -> &'static str {
    match code {
        exit::OK => "ok",
        exit::CHANGES => "changes",
        exit::GATE_FAILED => "gate failed",
        exit::ERROR => "error",
        _ => "interrupted",
    }
}

/// One line on stderr: how many topologies, and each that did not exit 0.
pub fn summary(path: &Path, outcomes: &[(PathBuf, u8)], ctx: &mut Ctx) {
    let not_ok: Vec<String> = outcomes
        .iter()
        .filter(|(_, c)| *c != exit::OK)
        .map(|(p, c)| format!("{} {} (exit {c})", p.display(), meaning(*c)))
        .collect();
    let tail = if not_ok.is_empty() {
        "all exited 0".to_string()
    } else {
        not_ok.join(", ")
    };
    ctx.note(&format!(
        "note: {} topologies under {}: {tail}\n",
        outcomes.len(),
        path.display()
    ));
}

fn refuse(path: &Path, found: &[PathBuf], ctx: &mut Ctx) {
    let list: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
    ctx.err(&format!(
        "error: {} holds {} topologies ({}); this output describes one topology\n  help: name one of them, or use the human format to see them all\n",
        path.display(),
        found.len(),
        list.join(", ")
    ));
}
