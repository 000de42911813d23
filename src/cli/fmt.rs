//! `meridian fmt`: rewrite topology files in the canonical layout.

use super::{exit, Ctx};
use crate::format::format;
use std::path::{Path, PathBuf};

/// Rewrite .hcl files in the canonical layout, keeping every comment.
///
/// Directories are searched recursively. `-` reads standard input and writes the result to
/// standard output.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian fmt examples/\n  meridian fmt --check .   # exit 1 if a file would change\n  meridian fmt --check --diff .   # and show how\n  meridian fmt - < main.hcl"
)]
pub struct Args {
    /// Files or directories (default: the current directory).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Change nothing; list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    check: bool,
    /// Show each change as a unified diff on standard output (with or without --check).
    #[arg(long)]
    diff: bool,
}

/// A unified diff of one file's formatting, `a/NAME` to `b/NAME`, as git shows one.
fn unified(name: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

/// `meridian fmt -`: standard input formatted to standard output (or checked, or diffed).
fn stdin(args: &Args, ctx: &mut Ctx) -> u8 {
    let text = match crate::source::read_stdin() {
        Ok(t) => t,
        Err(e) => {
            ctx.report(e);
            return exit::ERROR;
        }
    };
    match format("<stdin>", &text) {
        Ok(out) => {
            if args.diff {
                ctx.out(&unified("<stdin>", &text, &out));
            } else if !args.check {
                ctx.out(&out);
            }
            if args.check && out != text {
                exit::ERROR
            } else {
                exit::OK
            }
        }
        Err(e) => {
            report(e, "<stdin>", &text, ctx);
            exit::ERROR
        }
    }
}

pub fn run(args: Args, ctx: &mut Ctx) -> u8 {
    if args.paths.len() == 1 && args.paths[0] == Path::new("-") {
        return stdin(&args, ctx);
    }
    let mut files = Vec::new();
    for p in &args.paths {
        match crate::source::hcl_files(p) {
            Ok((found, foreign)) => {
                files.extend(found);
                for f in foreign.iter().filter(|_| !p.is_dir()) {
                    ctx.note(&format!(
                        "note: skipped {}: another tool's HCL, not a topology\n",
                        f.display()
                    ));
                }
            }
            Err(e) => {
                ctx.report(e);
                return exit::ERROR;
            }
        }
    }
    let mut failed = false;
    let mut unformatted = 0;
    for f in files {
        let text = match crate::source::read_one(&f) {
            Ok(t) => t,
            Err(e) => {
                ctx.report(e);
                failed = true;
                continue;
            }
        };
        let name = f.display().to_string();
        match format(&name, &text) {
            Ok(out) if out == text => {}
            Ok(out) => {
                unformatted += 1;
                if args.diff {
                    ctx.out(&unified(&name, &text, &out));
                }
                if args.check {
                    if !args.diff {
                        ctx.out(&format!("{name}\n"));
                    }
                } else if let Err(e) = write_atomically(&f, &out) {
                    ctx.err(&format!("error: cannot write {name}: {e}\n"));
                    failed = true;
                } else {
                    ctx.out(&format!("{name}\n"));
                }
            }
            Err(e) => {
                report(e, &name, &text, ctx);
                failed = true;
            }
        }
    }
    if args.check && unformatted > 0 {
        ctx.err(&format!(
            "{unformatted} file(s) would be reformatted; run `meridian fmt`\n"
        ));
    }
    if failed || (args.check && unformatted > 0) {
        exit::ERROR
    } else {
        exit::OK
    }
}

/// A file that does not parse is shown with the full syntax diagnostics `validate` gives
/// (where, what was expected), not one line of the parser's message.
fn report(e: crate::format::FormatError, name: &str, text: &str, ctx: &mut Ctx) {
    if matches!(e, crate::format::FormatError::Syntax { .. }) {
        let sources = crate::source::Sources::from_texts([(name, text)]);
        let mut diags = crate::diagnostics::Diagnostics::default();
        crate::parse::parse(&sources, &mut diags);
        if !diags.is_empty() {
            ctx.err(&crate::render::diagnostics::human(
                &diags, &sources, ctx.color,
            ));
            ctx.err(&format!(
                "error: {name} is not valid HCL; it was left as it is\n"
            ));
            return;
        }
    }
    ctx.report(e);
}

/// Writes through a temporary file and a rename (through a symlink given by name, to its
/// target), so an interrupted run never leaves half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    crate::atomic::write(path, text.as_bytes())
}
