//! Build script: the opt-out of the AWS tests (`MERIDIAN_SKIP_AWS_TESTS`), read at build
//! time so skipped tests show as `ignored` in `cargo test`, never as passed; and the commit
//! and build date that `meridian --version` names (`unknown` without git or a `.git`).

fn main() {
    version();
    println!("cargo::rustc-check-cfg=cfg(meridian_skip_aws)");
    println!("cargo::rerun-if-env-changed=MERIDIAN_SKIP_AWS_TESTS");
    match std::env::var("MERIDIAN_SKIP_AWS_TESTS").as_deref() {
        Err(_) | Ok("") => {}
        Ok("1" | "true") => println!("cargo::rustc-cfg=meridian_skip_aws"),
        Ok(other) => {
            eprintln!("MERIDIAN_SKIP_AWS_TESTS={other:?}: set it to 1 or true to skip the AWS tests, or unset it");
            std::process::exit(1);
        }
    }
}

/// `MERIDIAN_COMMIT` (12 hex digits, `-dirty` with uncommitted changes) and
/// `MERIDIAN_BUILD_DATE` (UTC, or from `SOURCE_DATE_EPOCH` for reproducible builds).
fn version() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c}-dirty")
            } else {
                c
            }
        }
        _ => "unknown".to_string(),
    };
    println!("cargo::rustc-env=MERIDIAN_COMMIT={commit}");
    for f in [".git/HEAD", ".git/index"] {
        if std::path::Path::new(f).exists() {
            println!("cargo::rerun-if-changed={f}");
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let path = format!(".git/{r}");
        if std::path::Path::new(&path).exists() {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!(
        "cargo::rustc-env=MERIDIAN_BUILD_DATE={}",
        civil_date(secs / 86_400)
    );
}

/// YYYY-MM-DD of a day number since 1970-01-01 (Howard Hinnant's civil-from-days).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
