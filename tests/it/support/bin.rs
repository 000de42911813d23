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

/// A run of the binary, built up and then checked (just's `Test::new()`): the arguments, where
/// it runs, its environment and input, then the exit code it must give.
///
/// ```ignore
/// let out = Run::new(&["plan", dir]).env("MERIDIAN_VAR_x", "1").code(2);
/// assert!(out.contains("Plan: 2 to add"));
/// ```
pub struct Run {
    cmd: Command,
    input: Option<String>,
    shown: String,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        Run {
            cmd: command(args),
            input: None,
            shown: format!("meridian {}", args.join(" ")),
        }
    }

    /// Runs in `dir`.
    pub fn dir(mut self, dir: &Path) -> Run {
        self.cmd.current_dir(dir);
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Run {
        self.cmd.env(name, value);
        self
    }

    /// Standard input (else none, never a terminal).
    pub fn stdin(mut self, text: &str) -> Run {
        self.input = Some(text.to_string());
        self
    }

    /// Runs it; the exit code must be `code`. Returns standard output, then standard error.
    pub fn code(mut self, code: i32) -> String {
        let o = match self.input.take() {
            None => self.cmd.output(),
            Some(text) => {
                use std::io::Write;
                self.cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = self.cmd.spawn().expect("the meridian binary runs");
                if let Some(mut i) = child.stdin.take() {
                    let _ = i.write_all(text.as_bytes());
                }
                child.wait_with_output()
            }
        }
        .expect("the meridian binary runs");
        let out = text(&o);
        assert_eq!(o.status.code(), Some(code), "{}: {out}", self.shown);
        out
    }
}
