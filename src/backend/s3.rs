//! The S3 backend: the manifest is the object `key`, its lock the object `key.lock`.
//!
//! - The manifest is created with `If-None-Match: *` (two first applies cannot both win) and
//!   replaced with `If-Match: <ETag>` (a lost race is an error, never an overwrite).
//! - The lock is created with `If-None-Match: *` and holds who, where, when, the operation and
//!   a lease; a thread renews the lease (`If-Match`) while the lock is held, so a lock whose
//!   holder died on another machine shows an expired lease. It is deleted at the end with
//!   `If-Match`, so a lock someone force-unlocked and another apply took is never removed.

use super::{Backend, BackendError, Held, LockInfo, Manifest, Stored};
use crate::provider::aws::sdk_error;
use aws_sdk_s3 as s3;
use s3::primitives::ByteStream;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// The largest object read as another topology's manifest (one of 10,000 services is a few
/// MiB); larger objects in the bucket are not manifests.
const NEIGHBOUR_BYTES: i64 = 16 * 1024 * 1024;

/// How long a lock lasts unless renewed.
const LEASE: Duration = Duration::from_secs(120);

/// Where the backend is: the `backend "s3"` block, with the AWS configuration chain for the
/// rest.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    pub key: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// How long a lock lasts unless renewed (default [`LEASE`]; shorter in tests of a stale
    /// lock).
    pub lease: Option<Duration>,
}

pub struct S3Backend {
    rt: tokio::runtime::Runtime,
    client: s3::Client,
    lease: Duration,
    sts: aws_sdk_sts::Client,
    bucket: String,
    key: String,
    /// The caller's ARN, asked once (the lock and the history both name it).
    who: std::sync::OnceLock<String>,
}

/// What an S3 request failed with: the HTTP status when there was an answer, and the error.
struct Failure {
    status: Option<u16>,
    error: BackendError,
}

fn failure<E>(
    op: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Failure
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    Failure {
        status,
        error: BackendError::Io(format!("S3 backend: {}", sdk_error(op, e))),
    }
}

/// 412 (a precondition failed) or 409 (a concurrent conditional write): another writer won.
fn lost_race(status: Option<u16>) -> bool {
    matches!(status, Some(412 | 409))
}

impl S3Backend {
    pub fn new(settings: &S3Settings) -> Result<S3Backend, BackendError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackendError::Io(format!("cannot start the async runtime: {e}")))?;
        // Bounded: releasing the lock on a signal must not hang the process.
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(15))
                    .build(),
            );
        if let Some(r) = &settings.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(p) = &settings.profile {
            loader = loader.profile_name(p);
        }
        if let Some(e) = &settings.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let config = rt.block_on(loader.load());
        // An AWS-compatible endpoint on loopback has no per-bucket host names.
        let path_style = config.endpoint_url().is_some();
        let client = s3::Client::from_conf(
            s3::config::Builder::from(&config)
                .force_path_style(path_style)
                .build(),
        );
        Ok(S3Backend {
            rt,
            client,
            sts: aws_sdk_sts::Client::new(&config),
            bucket: settings.bucket.clone(),
            key: settings.key.clone(),
            who: std::sync::OnceLock::new(),
            lease: settings.lease.filter(|l| !l.is_zero()).unwrap_or(LEASE),
        })
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// An object's bytes and ETag; None when there is no such object.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, BackendError> {
        self.rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await;
            let out = match out {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None)
                }
                Err(e) => return Err(failure("GetObject", e).error),
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            let size = out.content_length().unwrap_or(0);
            if u64::try_from(size).unwrap_or(0) > crate::source::MAX_DOCUMENT_BYTES {
                return Err(BackendError::Io(format!(
                    "S3 backend: s3://{}/{key} holds {size} bytes, more than the {} MiB a manifest may",
                    self.bucket,
                    crate::source::MAX_DOCUMENT_BYTES / 1024 / 1024
                )));
            }
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| BackendError::Io(format!("S3 backend: GetObject {key}: {e}")))?;
            Ok(Some((bytes.into_bytes().to_vec(), etag)))
        })
    }

    /// Puts `bytes` at `key` if it is still `prior` (None: absent); returns the new ETag.
    fn put(&self, key: &str, bytes: Vec<u8>, prior: Option<&str>) -> Result<String, Failure> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        req = match prior {
            Some(etag) => req.if_match(etag),
            None => req.if_none_match("*"),
        };
        let out = self
            .rt
            .block_on(req.send())
            .map_err(|e| failure("PutObject", e))?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    /// Deletes the lock object if it is still the version `etag`.
    fn delete_lock_if(&self, etag: String) -> Result<(), Failure> {
        self.rt
            .block_on(
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(self.lock_key())
                    .if_match(etag)
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| failure("DeleteObject", e))
    }

    /// Deletes the lock object when its lease expired more than half a lease ago (If-Match,
    /// so a lock renewed or replaced meanwhile stays); returns what it said.
    fn take_over_expired(&self) -> Result<Option<LockInfo>, BackendError> {
        let Some((held, etag)) = self.read_lock()? else {
            return Ok(None);
        };
        let expired_at = held.expires_unix.unwrap_or(u64::MAX);
        if expired_at.saturating_add(self.lease.as_secs() / 2) >= super::now_unix() {
            return Ok(None);
        }
        match self.delete_lock_if(etag) {
            Ok(()) => Ok(Some(held)),
            Err(f) if lost_race(f.status) => Ok(None),
            Err(f) => Err(f.error),
        }
    }

    fn read_lock(&self) -> Result<Option<(LockInfo, String)>, BackendError> {
        let Some((bytes, etag)) = self.get(&self.lock_key())? else {
            return Ok(None);
        };
        let info = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            LockInfo::unreadable(
                &String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>(),
            )
        });
        Ok(Some((info, etag)))
    }

    /// One attempt at creating the lock object: Ok(None) when someone holds it.
    fn try_lock(&self, info: &LockInfo) -> Result<Option<String>, BackendError> {
        let bytes = serde_json::to_vec(info).map_err(|e| BackendError::Io(e.to_string()))?;
        match self.put(&self.lock_key(), bytes, None) {
            Ok(etag) => Ok(Some(etag)),
            // Ours when the answer to its creation was lost and a retry found it (412), or
            // every retry failed after the first had landed (a timeout, a 5xx).
            Err(f) => match self.read_lock() {
                Ok(Some((held, etag))) if held.id == info.id => Ok(Some(etag)),
                _ if lost_race(f.status) => Ok(None),
                _ => Err(f.error),
            },
        }
    }
}

/// A held S3 lock: renewed by a thread until dropped, then deleted if still ours.
struct S3Held {
    info: LockInfo,
    /// For the check before each wave.
    object: LockObject,
    took_over: Option<LockInfo>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<()>>,
    release: Arc<dyn Fn() + Send + Sync>,
    release_key: u64,
}

impl Held for S3Held {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn lost(&self) -> bool {
        self.object.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Before each wave: the lease, as last renewed, has at least half its length left on the
    /// wall clock (which counts time the machine was suspended), and the lock object still
    /// names this holder. Route 53 and ECR writes take no fencing token, so this is what keeps
    /// a holder that was paused past its lease from writing over a newer apply.
    fn still_held(&self) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        if self.lost() {
            return Err(
                "the topology's lock was lost (taken, or its lease ran out unrenewed)".into(),
            );
        }
        let (now, expires) = (
            super::now_unix(),
            self.object.expires.load(Ordering::SeqCst),
        );
        let half = self.object.lease.as_secs() / 2;
        if now + half > expires {
            return Err(format!(
                "the lock's lease has {} s left, less than half of its {} s: it was not renewed in time (the process was paused, or S3 did not answer)",
                expires.saturating_sub(now),
                self.object.lease.as_secs()
            ));
        }
        // A read that fails is tried once more before the wave is held back.
        let read = self.object.read().or_else(|_| {
            std::thread::sleep(Duration::from_secs(1));
            self.object.read()
        });
        match read {
            Ok(Some(held)) if held.id == self.info.id => Ok(()),
            Ok(Some(held)) => Err(format!(
                "the topology's lock is now {}: it was force-unlocked, or taken over after its lease expired",
                held.describe()
            )),
            Ok(None) => Err("the topology's lock was removed (force-unlocked)".into()),
            Err(e) => Err(format!("the topology's lock could not be read ({e})")),
        }
    }

    fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }
}

impl Drop for S3Held {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        (self.release)();
        crate::provider::lock::forget_release(self.release_key);
    }
}

/// What the renewal thread and the release share: a client, where the lock is, its ETag.
#[derive(Clone)]
struct LockObject {
    client: s3::Client,
    bucket: String,
    key: String,
    etag: Arc<Mutex<String>>,
    /// When the lease ends, as last written (unix seconds).
    expires: Arc<std::sync::atomic::AtomicU64>,
    /// The lock's id (this holder's).
    id: String,
    /// How long the lock lasts unless renewed.
    lease: Duration,
    /// Set when the lock turns out to be someone else's, or its lease ran out unrenewed.
    lost: Arc<std::sync::atomic::AtomicBool>,
}

impl LockObject {
    fn runtime() -> Option<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
    }

    /// Who the lock object names now; None when there is none.
    fn read(&self) -> Result<Option<LockInfo>, String> {
        let rt = LockObject::runtime().ok_or("no async runtime")?;
        rt.block_on(async {
            let out = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await;
            let out = match out {
                Ok(o) => o,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None)
                }
                Err(e) => return Err(sdk_error("GetObject", e).to_string()),
            };
            let bytes = out.body.collect().await.map_err(|e| e.to_string())?;
            Ok(Some(
                serde_json::from_slice(&bytes.into_bytes())
                    .unwrap_or_else(|_| LockInfo::unreadable("")),
            ))
        })
    }

    /// Extends the lease (only while the object is still ours). Returns what it found.
    fn renew(&self, rt: &tokio::runtime::Runtime, info: &mut LockInfo) -> Renewal {
        let expires = super::now_unix() + self.lease.as_secs();
        info.expires_unix = Some(expires);
        let Ok(bytes) = serde_json::to_vec(&*info) else {
            return Renewal::Failed;
        };
        // Held across the write, so a release never names an ETag being replaced.
        let Ok(mut etag) = self.etag.lock() else {
            return Renewal::Failed;
        };
        let sent = rt.block_on(
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .if_match(etag.clone())
                .body(ByteStream::from(bytes))
                .send(),
        );
        match sent {
            Ok(out) => {
                if let Some(new) = out.e_tag() {
                    *etag = new.to_string();
                }
                self.expires
                    .store(expires, std::sync::atomic::Ordering::SeqCst);
                Renewal::Renewed(expires)
            }
            // Replaced or removed: the lock is someone else's now.
            Err(e)
                if matches!(
                    e.raw_response().map(|r| r.status().as_u16()),
                    Some(412 | 404)
                ) =>
            {
                Renewal::Lost
            }
            // A concurrent conditional write (409), throttling, the network: try again.
            Err(_) => Renewal::Failed,
        }
    }

    /// Deletes the lock object if it is still ours: tried three times when the apply ends,
    /// once within 3 s on a signal's way out (the process must end within its grace).
    fn release(&self, attempts: u64) {
        let Some(rt) = LockObject::runtime() else {
            return;
        };
        let Ok(etag) = self.etag.lock() else {
            return;
        };
        let etag = etag.clone();
        let mut last = String::new();
        for attempt in 0..attempts {
            let sent = rt.block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(if attempts == 1 { 3 } else { 15 }),
                    self.client
                        .delete_object()
                        .bucket(&self.bucket)
                        .key(&self.key)
                        .if_match(etag.clone())
                        .send(),
                )
                .await
            });
            let Ok(sent) = sent else {
                last = "no answer in time".into();
                continue;
            };
            match sent {
                Ok(_) => return,
                // Replaced or gone: not ours to remove.
                Err(e)
                    if matches!(
                        e.raw_response().map(|r| r.status().as_u16()),
                        Some(412 | 404)
                    ) =>
                {
                    return
                }
                Err(e) => last = sdk_error("DeleteObject", e).to_string(),
            }
            if attempt + 1 < attempts {
                std::thread::sleep(Duration::from_millis(200 * (attempt + 1)));
            }
        }
        if attempts == 1 {
            return;
        }
        // An answer lost after the delete was done leaves nothing; otherwise say so.
        if let Ok(Some(held)) = self.read() {
            if held.id == self.id {
                crate::process::to_stderr(&format!(
                    "warning: the lock s3://{}/{} could not be removed ({last}); the next apply will be refused until `meridian force-unlock {}`\n",
                    self.bucket, self.key, self.id
                ));
            }
        }
    }
}

/// What one renewal found.
enum Renewal {
    Renewed(u64),
    /// The object is another's now.
    Lost,
    /// Not renewed this time.
    Failed,
}

/// Renews the lease every third of it until `stop` is dropped. A lock found to be another's,
/// or whose lease ran out without a renewal, is marked lost.
fn renew_until(lock: LockObject, mut info: LockInfo, stop: mpsc::Receiver<()>) {
    use std::sync::atomic::Ordering;
    let Some(rt) = LockObject::runtime() else {
        return;
    };
    let every = lock.lease / 3;
    // A failed renewal is tried again soon: the check before each wave wants half the lease.
    let again = (lock.lease / 30).max(Duration::from_secs(1));
    let mut wait = every;
    let mut expires = info.expires_unix.unwrap_or(0);
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(wait) {
        wait = again;
        match lock.renew(&rt, &mut info) {
            Renewal::Renewed(e) => {
                expires = e;
                wait = every;
            }
            Renewal::Lost => {
                lock.lost.store(true, Ordering::SeqCst);
                return;
            }
            Renewal::Failed if super::now_unix() >= expires => {
                lock.lost.store(true, Ordering::SeqCst);
                return;
            }
            Renewal::Failed => {}
        }
    }
}

impl Backend for S3Backend {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn read(&self) -> Result<Option<Stored>, BackendError> {
        let Some((bytes, etag)) = self.get(&self.key)? else {
            return Ok(None);
        };
        let manifest = Manifest::parse(&self.describe(), &bytes)?;
        Ok(Some(Stored {
            manifest,
            version: etag,
        }))
    }

    fn write(&self, m: &Manifest, prior: Option<&str>) -> Result<String, BackendError> {
        let mut bytes =
            serde_json::to_vec_pretty(m).map_err(|e| BackendError::Io(e.to_string()))?;
        bytes.push(b'\n');
        match self.put(&self.key, bytes, prior) {
            Ok(etag) => Ok(etag),
            // The SDK retries a write whose answer was lost with the old precondition: the
            // object read back decides whether the write was ours.
            Err(f) if lost_race(f.status) => match self.read()? {
                Some(s) if s.manifest == *m => Ok(s.version),
                _ => Err(BackendError::Conflict(m.topology_id.clone())),
            },
            Err(f) => Err(f.error),
        }
    }

    fn lock(&self, operation: &str, timeout: Duration) -> Result<Box<dyn Held>, BackendError> {
        let mut info = LockInfo::mine(&self.who(), operation, Some(self.lease));
        let start = Instant::now();
        let mut took_over = None;
        let etag = loop {
            // Stamped when written: a lock taken after a wait does not start out expired.
            info.since_unix = super::now_unix();
            info.expires_unix = Some(info.since_unix + self.lease.as_secs());
            if let Some(etag) = self.try_lock(&info)? {
                break etag;
            }
            // Waiting is allowed: a lease expired for more than half its length is taken over
            // (its holder, if it still runs, stopped before its next wave when half was left).
            if !timeout.is_zero() {
                if let Some(old) = self.take_over_expired()? {
                    took_over = Some(old);
                    continue;
                }
            }
            if start.elapsed() >= timeout {
                let holder = self.read_lock()?.map_or_else(
                    || "its holder released it meanwhile: try again".to_string(),
                    |(h, _)| h.describe(),
                );
                return Err(BackendError::Locked(format!(
                    "{} ({holder})",
                    self.describe()
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        let object = LockObject {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: self.lock_key(),
            etag: Arc::new(Mutex::new(etag)),
            expires: Arc::new(std::sync::atomic::AtomicU64::new(
                info.expires_unix.unwrap_or(0),
            )),
            id: info.id.clone(),
            lease: self.lease,
            lost: Arc::default(),
        };
        let releaser = object.clone();
        let object_for_checks = object.clone();
        let on_signal = releaser.clone();
        let release: Arc<dyn Fn() + Send + Sync> = Arc::new(move || releaser.release(3));
        let release_key = crate::provider::lock::on_release(Box::new(move || on_signal.release(1)));
        let (tx, rx) = mpsc::channel();
        let renewer = {
            let info = info.clone();
            std::thread::spawn(move || renew_until(object, info, rx))
        };
        Ok(Box::new(S3Held {
            info,
            object: object_for_checks,
            took_over,
            stop: Some(tx),
            renewer: Some(renewer),
            release,
            release_key,
        }))
    }

    fn holder(&self) -> Result<Option<LockInfo>, BackendError> {
        Ok(self.read_lock()?.map(|(h, _)| h))
    }

    fn force_unlock(&self, id: &str) -> Result<LockInfo, BackendError> {
        let Some((info, etag)) = self.read_lock()? else {
            return Err(BackendError::NoSuchLock(format!(
                "{} is not locked",
                self.describe()
            )));
        };
        if info.id != id {
            return Err(BackendError::NoSuchLock(format!(
                "the lock of {} has id {}, not {id}",
                self.describe(),
                info.id
            )));
        }
        self.delete_lock_if(etag).map_err(|f| f.error)?;
        Ok(info)
    }

    /// The bucket's other manifests: keys listed page by page (at most 10,000), objects of at
    /// most [`NEIGHBOUR_BYTES`] that are not locks, the first [`super::MAX_NEIGHBOURS`] of them
    /// read; anything that is not a manifest is skipped.
    fn neighbours(&self) -> Result<Vec<super::Neighbour>, BackendError> {
        let lock = self.lock_key();
        let mut candidates = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10 {
            let page = self
                .rt
                .block_on(
                    self.client
                        .list_objects_v2()
                        .bucket(&self.bucket)
                        .set_continuation_token(token.take())
                        .send(),
                )
                .map_err(|e| failure("ListObjectsV2", e).error)?;
            candidates.extend(page.contents().iter().filter_map(|o| {
                let key = o.key()?;
                let small = o.size().is_some_and(|n| (0..=NEIGHBOUR_BYTES).contains(&n));
                (small && key != self.key && key != lock && !key.ends_with(".lock"))
                    .then(|| key.to_string())
            }));
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        for key in candidates.iter().take(super::MAX_NEIGHBOURS) {
            let Ok(Some((bytes, _))) = self.get(key) else {
                continue;
            };
            let at = format!("s3://{}/{key}", self.bucket);
            if let Ok(m) = super::Manifest::parse(&at, &bytes) {
                out.push(super::Neighbour {
                    name: m.name,
                    at,
                    declared_rules: m.declared_rules,
                });
            }
        }
        Ok(out)
    }

    fn who(&self) -> String {
        self.who
            .get_or_init(|| {
                let arn = self.rt.block_on(self.sts.get_caller_identity().send());
                match arn.ok().and_then(|o| o.arn().map(str::to_string)) {
                    Some(arn) => arn,
                    None => super::local_user(),
                }
            })
            .clone()
    }
}
