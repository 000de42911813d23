//! Running the `meridian` binary as a user would, for every test module: one place, where each
//! test file had its own copy.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `meridian ARGS` in the test's working directory (the repository root), with no standard
/// input (never a terminal) and no `NO_COLOR` from the caller's environment.
pub fn meridian(args: &[&str]) -> Output {
    command(args).output().expect("the meridian binary runs")
}

/// `meridian ARGS` run in `dir`.
pub fn meridian_in(dir: &Path, args: &[&str]) -> Output {
    command(args)
        .current_dir(dir)
        .output()
        .expect("the meridian binary runs")
}

/// The command, for a test that adds its own environment or input.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_meridian"));
    c.args(args).env_remove("NO_COLOR").stdin(Stdio::null());
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output, then standard error.
pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}
