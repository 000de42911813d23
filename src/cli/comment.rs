//! Markdown for pull-request comments: cut to a host's limit, or split into numbered parts.

use super::{exit, Ctx};
use crate::render::comment::{fit, split, GITHUB_COMMENT_LIMIT};
use std::path::{Path, PathBuf};

/// The smallest `--max-chars`: the marker, a summary's first lines, the closing tags and the
/// note on what was left out.
const MIN_CHARS: usize = 2_000;

/// The options of every Markdown output meant for a comment.
#[derive(Debug, Clone, clap::Args)]
pub struct CommentArgs {
    /// Markdown: at most this many characters (GitHub's comment limit by default; 0: no
    /// limit); a longer document keeps its summary and is cut, saying where the whole is.
    #[arg(long, value_name = "N", default_value_t = GITHUB_COMMENT_LIMIT)]
    pub max_chars: usize,
    /// Markdown: instead of cutting, write the whole as numbered parts of at most --max-chars
    /// each into DIR (KIND-1.md, KIND-2.md, ...; older parts removed) and print their paths.
    #[arg(long, value_name = "DIR")]
    pub split: Option<PathBuf>,
}

impl CommentArgs {
    /// An error (reported) when `--split` is given for an output that is not Markdown.
    pub fn check(&self, markdown: bool, ctx: &mut Ctx) -> Result<(), u8> {
        if self.split.is_some() && !markdown {
            ctx.err("error: --split writes Markdown parts: add --format markdown\n");
            return Err(exit::ERROR);
        }
        if markdown && self.max_chars != 0 && self.max_chars < MIN_CHARS {
            ctx.err(&format!(
                "error: --max-chars {} leaves no room: a comment needs at least {MIN_CHARS} characters for its summary and what closes it (0: no limit)\n",
                self.max_chars
            ));
            return Err(exit::ERROR);
        }
        Ok(())
    }
}

/// Prints `doc` cut to the limit, or writes it as parts (`--split`). `whole` says where the
/// complete document is when it is cut.
pub fn emit(
    doc: &str,
    kind: &str,
    args: &CommentArgs,
    whole: &str,
    ctx: &mut Ctx,
) -> Result<(), u8> {
    let max = if args.max_chars == 0 {
        usize::MAX
    } else {
        args.max_chars
    };
    let Some(dir) = &args.split else {
        ctx.out(&fit(doc, kind, max, whole));
        return Ok(());
    };
    let parts = split(doc, kind, max);
    write_parts(dir, kind, &parts).map_err(|e| {
        ctx.err(&format!(
            "error: cannot write the parts into {}: {e}\n",
            dir.display()
        ));
        exit::ERROR
    })?;
    for i in 1..=parts.len() {
        ctx.out(&format!("{}\n", part_path(dir, kind, i).display()));
    }
    Ok(())
}

fn part_path(dir: &Path, kind: &str, n: usize) -> PathBuf {
    dir.join(format!("{kind}-{n}.md"))
}

/// Writes the parts, after removing the parts an earlier run left (a comment loop over the
/// directory must not post a stale part).
fn write_parts(dir: &Path, kind: &str, parts: &[String]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let stale = name
            .strip_prefix(&format!("{kind}-"))
            .and_then(|r| r.strip_suffix(".md"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if stale {
            std::fs::remove_file(dir.join(&name))?;
        }
    }
    for (i, p) in parts.iter().enumerate() {
        std::fs::write(part_path(dir, kind, i + 1), p)?;
    }
    Ok(())
}
