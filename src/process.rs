//! Facts about processes on this host, for locks and temporary files left by a killed run.

/// Whether a process with this pid runs on this host (Linux and macOS). A pid that cannot be
/// checked counts as alive: nothing of a possibly running process is removed.
pub fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    // No /proc (macOS): `kill -0` says whether the pid exists.
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .map_or(true, |s| s.success())
}

/// This host's name, to tell a lock held here from one held elsewhere.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
        })
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

use std::path::Path;

/// Writes to stderr, ignoring a closed pipe: progress and signal messages never panic (a log
/// collector gone, `2>&1 | tee` killed), so an apply never stops halfway on a write.
pub fn to_stderr(s: &str) {
    use std::io::Write;
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}
