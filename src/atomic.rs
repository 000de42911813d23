//! Writing a file so that no reader ever sees half of it, and no interruption leaves litter
//! that a later run trips over: a uniquely named temporary file beside the target, synced, then
//! renamed over it. A symlink is written through (its target is replaced, the link kept).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The marker every temporary file name carries: `<name>.meridian-tmp.<pid>.<n>`.
pub const TMP_MARKER: &str = ".meridian-tmp.";

/// The file a write to `path` replaces: the final target of a symlink, else `path`.
pub fn target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // Follow the chain link by link (a link to a file not created yet included), at most 40
    // deep as the kernel does.
    for _ in 0..40 {
        if !std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink()) {
            return current;
        }
        let Ok(next) = std::fs::read_link(&current) else {
            return current;
        };
        current = match current.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    current
}

/// A temporary name beside `target`, unique to this process and call.
fn temporary(target: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!("{name}{TMP_MARKER}{}.{n}", std::process::id()))
}

/// Writes `bytes` to `path` atomically (through a symlink, to its target).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Writes what `fill` writes to `path` atomically, as it writes it (a large document is never
/// held whole).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let target = target(path);
    let tmp = temporary(&target);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        {
            let mut w = std::io::BufWriter::new(&mut f);
            fill(&mut w)?;
            w.flush()?;
        }
        // The file keeps its mode (a zone file a name server reads, a topology in a
        // repository): only its content changes.
        if let Ok(m) = std::fs::metadata(&target) {
            f.set_permissions(m.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes the temporary files left beside `path` by writers that were killed: those whose
/// process no longer runs (this host's pids). Returns how many were removed.
pub fn clean_stale(path: &Path) -> usize {
    let target = target(path);
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return 0;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}{TMP_MARKER}", name.to_string_lossy());
    // Meridian 0.1 named them `<stem>.tmp.<pid>` (`state.tmp.1234`).
    let legacy = target
        .file_stem()
        .map(|s| format!("{}.tmp.", s.to_string_lossy()));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file
            .strip_prefix(&prefix)
            .or_else(|| legacy.as_deref().and_then(|l| file.strip_prefix(l)))
        else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !crate::process::alive(p)) && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rewritten_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "meridian-atomic-{}",
            crate::hash::fresh_id("atomic-test")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("example.com.zone");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        super::write(&file, b"new").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            (std::fs::read_to_string(&file).unwrap(), mode),
            ("new".into(), 0o640)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
