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

/// Print the man page (roff), for `man -l` or a man directory.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  meridian man > ~/.local/share/man/man1/meridian.1\n  meridian man | man -l -"
)]
pub struct ManArgs {}

pub fn run_completions(args: &CompletionsArgs, ctx: &mut Ctx) -> u8 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "meridian", &mut out);
    ctx.out(&String::from_utf8_lossy(&out));
    exit::OK
}

pub fn run_man(_: &ManArgs, ctx: &mut Ctx) -> u8 {
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
        ctx.err(&format!("error: cannot render the man page: {e}\n"));
        return exit::ERROR;
    }
    ctx.out(&String::from_utf8_lossy(&out));
    exit::OK
}
