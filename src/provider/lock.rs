//! The apply lock of a local state store: `<state>.lock`, created exclusively, naming its
//! holder. A lock whose holder ran on this host and no longer runs (killed, or interrupted
//! before it could clean up) is reported as such; `meridian force-unlock ID` removes a lock
//! after confirmation. Every lock this process holds is registered, so a signal handler can
//! release them before the process exits.

use super::ProviderError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a lock file says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Random; what `force-unlock` names.
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub since_unix: u64,
    pub operation: String,
}

/// The lock an apply holds; removed when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    pub holder: Holder,
}

/// Lock files this process holds.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl Drop for Lock {
    fn drop(&mut self) {
        // Only our own: after a force-unlock, another apply may hold this file now.
        let ours = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<Holder>(&t).ok())
            .is_some_and(|h| h.id == self.holder.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Ok(mut held) = HELD.lock() {
            held.retain(|p| p != &self.path);
        }
    }
}

/// A way to release a lock held elsewhere (an S3 lock object), run by [`release_all`].
type Release = Box<dyn Fn() + Send>;

/// Remote locks this process holds, by a key of its own.
static RELEASES: Mutex<Vec<(u64, Release)>> = Mutex::new(Vec::new());

/// Registers how to release a remote lock if a signal ends the process; returns the key that
/// [`forget_release`] takes once the lock is released normally.
pub fn on_release(f: Release) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let key = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut r) = RELEASES.lock() {
        r.push((key, f));
    }
    key
}

/// Forgets a registered release (the lock was released normally).
pub fn forget_release(key: u64) {
    if let Ok(mut r) = RELEASES.lock() {
        r.retain(|(k, _)| *k != key);
    }
}

/// Removes every lock this process holds (a signal handler's last act).
pub fn release_all() {
    let remote: Vec<(u64, Release)> = RELEASES
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default();
    for (_, release) in remote {
        release();
    }
    let paths: Vec<PathBuf> = HELD
        .lock()
        .map(|mut h| std::mem::take(&mut *h))
        .unwrap_or_default();
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// The lock file of a state store.
pub fn lock_path(state: &Path) -> PathBuf {
    PathBuf::from(format!("{}.lock", state.display()))
}

/// Reads who holds the lock of `state`, if anyone.
pub fn holder(state: &Path) -> Option<Result<Holder, String>> {
    let text = std::fs::read_to_string(lock_path(state)).ok()?;
    Some(serde_json::from_str(&text).map_err(|_| text.trim().to_string()))
}

fn io(path: &Path, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Io(format!("local state store {}: {e}", path.display()))
}

/// Takes the lock of `state`, waiting up to `timeout` for another holder.
pub fn take(state: &Path, timeout: std::time::Duration) -> Result<Lock, ProviderError> {
    let what = format!("the local state store {}", state.display());
    take_as(state, timeout, &what, "apply")
}

/// Takes the lock of `file` for `operation`; `what` names the file in messages.
pub fn take_as(
    state: &Path,
    timeout: std::time::Duration,
    what: &str,
    operation: &str,
) -> Result<Lock, ProviderError> {
    let path = lock_path(state);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(state, e))?;
    }
    let start = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return write_holder(f, path, state, operation),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if start.elapsed() >= timeout {
                    return Err(ProviderError::Locked(busy(state, &path, what)));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(io(state, e)),
        }
    }
}

fn write_holder(
    mut f: std::fs::File,
    path: PathBuf,
    state: &Path,
    operation: &str,
) -> Result<Lock, ProviderError> {
    use std::io::Write;
    let holder = Holder {
        id: crate::hash::fresh_id(&path.display().to_string()),
        pid: std::process::id(),
        host: crate::process::host(),
        since_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        operation: operation.into(),
    };
    let text = serde_json::to_string(&holder).map_err(|e| io(state, e))?;
    if let Err(e) = writeln!(f, "{text}").and_then(|()| f.sync_all()) {
        let _ = std::fs::remove_file(&path);
        return Err(io(state, e));
    }
    if let Ok(mut held) = HELD.lock() {
        held.push(path.clone());
    }
    Ok(Lock { path, holder })
}

/// Why the lock of `state` cannot be taken, naming its holder and what to do.
fn busy(state: &Path, path: &Path, what: &str) -> String {
    match holder(state) {
        Some(Ok(h)) if h.host == crate::process::host() && !crate::process::alive(h.pid) => format!(
            "{what} is locked by pid {} on this host, which no longer runs (an interrupted {}); if nothing else is applying, remove the lock with `meridian force-unlock {}`",
            h.pid,
            h.operation,
            h.id
        ),
        Some(Ok(h)) => format!(
            "{what} is locked by another {} (pid {} on {}, since unix time {}); wait for it, use --lock-timeout, or, if that process is gone, `meridian force-unlock {}`",
            h.operation,
            h.pid,
            h.host,
            h.since_unix,
            h.id
        ),
        Some(Err(text)) => format!(
            "{what} is locked by a lock file that names no holder ({text:?} in {}: its holder died while creating it); if no apply is running, remove it with `meridian force-unlock {UNREADABLE}`",
            path.display()
        ),
        None => format!("{what} was locked, and is no longer: try again"),
    }
}

/// The id `force-unlock` takes for a lock file that names no holder (empty or corrupt: its
/// holder died between creating and writing it).
pub const UNREADABLE: &str = "unreadable";

/// Removes the lock of `state` if its id is `id` ([`UNREADABLE`] for a file naming no holder).
pub fn force_unlock(state: &Path, id: &str) -> Result<Holder, ProviderError> {
    match holder(state) {
        None => Err(ProviderError::NotFound {
            what: format!("a lock on {}", state.display()),
        }),
        Some(Err(text)) if id == UNREADABLE => {
            std::fs::remove_file(lock_path(state)).map_err(|e| io(state, e))?;
            Ok(Holder {
                id: UNREADABLE.into(),
                pid: 0,
                host: String::new(),
                since_unix: 0,
                operation: text,
            })
        }
        Some(Err(text)) => Err(ProviderError::Invalid(format!(
            "the lock on {} is unreadable ({text:?}); if no apply is running, `meridian force-unlock {UNREADABLE}` removes it",
            state.display()
        ))),
        Some(Ok(h)) if h.id != id => Err(ProviderError::Invalid(format!(
            "the lock on {} has id {}, not {id}",
            state.display(),
            h.id
        ))),
        Some(Ok(h)) => {
            std::fs::remove_file(lock_path(state)).map_err(|e| io(state, e))?;
            Ok(h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_taken_over_by_another_holder_is_not_removed_by_the_first() -> Result<(), ProviderError>
    {
        let dir = std::env::temp_dir().join(format!("meridian-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = dir.join("state.json");
        let l = take(&state, std::time::Duration::ZERO)?;
        // Force-unlocked, then taken by another apply.
        let other = Holder {
            id: "another".into(),
            ..l.holder.clone()
        };
        let text = serde_json::to_string(&other).map_err(|e| ProviderError::Io(e.to_string()))?;
        std::fs::write(lock_path(&state), text).map_err(|e| ProviderError::Io(e.to_string()))?;
        drop(l);
        assert!(
            lock_path(&state).exists(),
            "the other holder's lock was removed"
        );
        Ok(())
    }
}
