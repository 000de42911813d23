//! `meridian completions` and `meridian man`: generated from the clap definitions, so they
//! never disagree with the commands.

use super::{exit, Cli, Ctx};
use clap::CommandFactory;

/// Print a completion script for a shell.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian completions bash > /etc/bash_completion.d/meridian\n  meridian completions zsh > ~/.zfunc/_meridian\n  meridian completions fish > ~/.config/fish/completions/meridian.fish"
)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

/// Print a man page (roff): Meridian's, or one command's (`meridian-plan(1)`, ...); or write
/// them all into a directory.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian man > ~/.local/share/man/man1/meridian.1\n  meridian man plan | man -l -\n  meridian man state list\n  meridian man --dir ~/.local/share/man/man1"
)]
pub struct ManArgs {
    /// A command (`plan`, or `state list`): its page instead of Meridian's.
    #[arg(value_name = "COMMAND")]
    command: Vec<String>,
    /// Write every page (meridian.1, meridian-plan.1, ...) into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    dir: Option<std::path::PathBuf>,
}

pub fn run_completions(args: &CompletionsArgs, ctx: &mut Ctx) -> u8 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "meridian", &mut out);
    ctx.out(&String::from_utf8_lossy(&out));
    exit::OK
}

/// Every page: Meridian's, then each command's and subcommand's (not the hidden ones), by
/// the name clap gives it (`meridian-state-list`).
fn pages() -> Vec<clap::Command> {
    fn walk(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
        out.push(cmd.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut out = Vec::new();
    walk(&root, &mut out);
    out
}

fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_string()
}

/// One page as roff, tidied for `mandoc -Tlint`.
fn render(cmd: clap::Command) -> Result<String, std::io::Error> {
    let title = page_name(&cmd).to_uppercase();
    let man = clap_mangen::Man::new(cmd)
        .title(title)
        .date(env!("MERIDIAN_BUILD_DATE"))
        .source(concat!("meridian ", env!("CARGO_PKG_VERSION")))
        .manual("Meridian Manual");
    let mut out = Vec::new();
    man.render(&mut out)?;
    // clap_mangen puts `after_help` under EXTRA; ours is examples (then exit codes).
    let text = String::from_utf8_lossy(&out).replace(".SH EXTRA\nExamples:\n", ".SH EXAMPLES\n");
    Ok(crate::render::roff::tidy(&text))
}

pub fn run_man(args: &ManArgs, ctx: &mut Ctx) -> u8 {
    let pages = pages();
    if let Some(dir) = &args.dir {
        return write_pages(pages, dir, ctx);
    }
    let wanted = std::iter::once("meridian".to_string())
        .chain(args.command.iter().cloned())
        .collect::<Vec<_>>()
        .join("-");
    let Some(cmd) = pages.into_iter().find(|c| page_name(c) == wanted) else {
        ctx.err(&format!(
            "error: no command \"{}\" (meridian --help lists them)\n",
            args.command.join(" ")
        ));
        return exit::ERROR;
    };
    match render(cmd) {
        Ok(text) => {
            ctx.out(&text);
            exit::OK
        }
        Err(e) => {
            ctx.err(&format!("error: cannot render the man page: {e}\n"));
            exit::ERROR
        }
    }
}

fn write_pages(pages: Vec<clap::Command>, dir: &std::path::Path, ctx: &mut Ctx) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        ctx.err(&format!("error: cannot create {}: {e}\n", dir.display()));
        return exit::ERROR;
    }
    let count = pages.len();
    for cmd in pages {
        let file = dir.join(format!("{}.1", page_name(&cmd)));
        let written = render(cmd).and_then(|text| std::fs::write(&file, text));
        if let Err(e) = written {
            ctx.err(&format!("error: cannot write {}: {e}\n", file.display()));
            return exit::ERROR;
        }
    }
    ctx.note(&format!("Wrote {count} man pages to {}\n", dir.display()));
    exit::OK
}
