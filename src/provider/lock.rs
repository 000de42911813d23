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
        let _ = std::fs::remove_file(&self.path);
        if let Ok(mut held) = HELD.lock() {
            held.retain(|p| p != &self.path);
        }
    }
}

/// Removes every lock file this process holds (a signal handler's last act).
pub fn release_all() {
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
            Ok(f) => return write_holder(f, path, state),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if start.elapsed() >= timeout {
                    return Err(ProviderError::Locked(busy(state, &path)));
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(io(state, e)),
        }
    }
}

fn write_holder(mut f: std::fs::File, path: PathBuf, state: &Path) -> Result<Lock, ProviderError> {
    use std::io::Write;
    let holder = Holder {
        id: crate::plan::new_plan_id(&path.display().to_string()),
        pid: std::process::id(),
        host: crate::process::host(),
        since_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        operation: "apply".into(),
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
fn busy(state: &Path, path: &Path) -> String {
    match holder(state) {
        Some(Ok(h)) if h.host == crate::process::host() && !crate::process::alive(h.pid) => format!(
            "the local state store {} is locked by pid {} on this host, which no longer runs (an interrupted apply); if nothing else is applying, remove the lock with `meridian force-unlock {}`",
            state.display(),
            h.pid,
            h.id
        ),
        Some(Ok(h)) => format!(
            "the local state store {} is locked by another apply (pid {} on {}, since unix time {}); wait for it, use --lock-timeout, or, if that process is gone, `meridian force-unlock {}`",
            state.display(),
            h.pid,
            h.host,
            h.since_unix,
            h.id
        ),
        Some(Err(text)) => format!(
            "the local state store {} is locked ({text}); if no apply is running, remove {}",
            state.display(),
            path.display()
        ),
        None => format!("the local state store {} was locked, and is no longer: try again", state.display()),
    }
}

/// Removes the lock of `state` if its id is `id`.
pub fn force_unlock(state: &Path, id: &str) -> Result<Holder, ProviderError> {
    match holder(state) {
        None => Err(ProviderError::NotFound {
            what: format!("a lock on {}", state.display()),
        }),
        Some(Err(text)) => Err(ProviderError::Invalid(format!(
            "the lock on {} is unreadable ({text}); remove {} by hand",
            state.display(),
            lock_path(state).display()
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
