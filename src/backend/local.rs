//! The local backend: `manifest.json` and its lock `manifest.json.lock` in a directory
//! (`.meridian` beside the topology by default). Writes are atomic renames made under the
//! lock, after checking that the file is still the version that was read.

use super::{Backend, BackendError, Held, LockInfo, Manifest, Stored};
use crate::provider::lock;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct LocalBackend {
    dir: PathBuf,
}

struct LocalHeld {
    _lock: lock::Lock,
    info: LockInfo,
    /// The manifest whose lock this is.
    manifest: PathBuf,
}

impl Held for LocalHeld {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The lock file still names this holder (a force-unlock and another apply replace it).
    fn still_held(&self) -> Result<(), String> {
        match lock::holder(&self.manifest) {
            Some(Ok(h)) if h.id == self.info.id => Ok(()),
            Some(Ok(h)) => Err(format!(
                "the topology's lock is now held by pid {} on {} (lock {}): it was force-unlocked and taken",
                h.pid, h.host, h.id
            )),
            _ => Err("the topology's lock was removed (force-unlocked)".into()),
        }
    }
}

impl LocalBackend {
    pub fn new(dir: &Path) -> LocalBackend {
        LocalBackend {
            dir: dir.to_path_buf(),
        }
    }

    fn manifest(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    fn io(&self, e: impl std::fmt::Display) -> BackendError {
        BackendError::Io(format!("local backend {}: {e}", self.dir.display()))
    }

    fn read_bytes(&self) -> Result<Option<Vec<u8>>, BackendError> {
        match crate::source::read_document(&self.manifest()) {
            Ok(text) => Ok(Some(text.into_bytes())),
            Err(crate::source::LoadError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(self.io(e)),
        }
    }
}

fn version_of(bytes: &[u8]) -> String {
    crate::hash::hex(&String::from_utf8_lossy(bytes), 16)
}

fn info_of(h: &lock::Holder, who: String) -> LockInfo {
    LockInfo {
        id: h.id.clone(),
        who,
        host: h.host.clone(),
        pid: h.pid,
        operation: h.operation.clone(),
        since_unix: h.since_unix,
        expires_unix: None,
    }
}

impl Backend for LocalBackend {
    fn describe(&self) -> String {
        format!("local {}", self.dir.display())
    }

    fn read(&self) -> Result<Option<Stored>, BackendError> {
        let Some(bytes) = self.read_bytes()? else {
            return Ok(None);
        };
        let manifest = Manifest::parse(&self.manifest().display().to_string(), &bytes)?;
        Ok(Some(Stored {
            manifest,
            version: version_of(&bytes),
        }))
    }

    fn write(&self, m: &Manifest, prior: Option<&str>) -> Result<String, BackendError> {
        let now = self.read_bytes()?.map(|b| version_of(&b));
        if now.as_deref() != prior {
            return Err(BackendError::Conflict(m.topology_id.clone()));
        }
        let mut text = serde_json::to_vec_pretty(m).map_err(|e| self.io(e))?;
        text.push(b'\n');
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        crate::atomic::write(&self.manifest(), &text).map_err(|e| self.io(e))?;
        Ok(version_of(&text))
    }

    fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Held>, BackendError> {
        let what = format!("the topology (local backend {})", self.dir.display());
        let l =
            lock::take_as(&self.manifest(), timeout, &what, operation).map_err(|e| match e {
                crate::provider::ProviderError::Locked(m) => BackendError::Locked(m),
                other => self.io(other),
            })?;
        crate::atomic::clean_stale(&self.manifest());
        let info = info_of(&l.holder, self.who());
        Ok(Box::new(LocalHeld {
            _lock: l,
            info,
            manifest: self.manifest(),
        }))
    }

    fn holder(&self) -> Result<Option<LockInfo>, BackendError> {
        match lock::holder(&self.manifest()) {
            None => Ok(None),
            Some(Ok(h)) => Ok(Some(info_of(&h, format!("pid {}", h.pid)))),
            Some(Err(text)) => Ok(Some(LockInfo::unreadable(&text))),
        }
    }

    fn force_unlock(&self, id: &str) -> Result<LockInfo, BackendError> {
        lock::force_unlock(&self.manifest(), id)
            .map(|h| info_of(&h, format!("pid {}", h.pid)))
            .map_err(|e| BackendError::NoSuchLock(e.to_string()))
    }

    fn who(&self) -> String {
        super::local_user()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    #[test]
    fn writes_are_compare_and_swap() -> Result<(), BackendError> {
        let dir = std::env::temp_dir().join(format!("meridian-local-cas-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let b = LocalBackend::new(&dir);
        assert!(b.read()?.is_none());
        let mut m = Manifest::new(&Identity::known("t-1"), "shop");
        let v1 = b.write(&m, None)?;
        let other = Manifest::new(&Identity::known("t-2"), "shop");
        assert!(matches!(
            b.write(&other, None),
            Err(BackendError::Conflict(_))
        ));
        m.serial = 1;
        let v2 = b.write(&m, Some(&v1))?;
        m.serial = 2;
        assert!(matches!(
            b.write(&m, Some(&v1)),
            Err(BackendError::Conflict(_))
        ));
        let stored = b.read()?.ok_or(BackendError::Io("gone".into()))?;
        assert_eq!((stored.manifest.serial, stored.version), (1, v2));
        Ok(())
    }
}
