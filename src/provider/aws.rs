//! The AWS provider: Route 53 records and health checks, ECR repositories and replication,
//! through the official SDK, with the fewest calls that can be correct.
//!
//! Reading a plan's scope costs one `ListHostedZonesByName` per zone, `ceil(N/300)`
//! `ListResourceRecordSets` per zone, `ListHealthChecks` pages of 1,000, and per ECR region one
//! `DescribeRegistry` and `DescribeRepositories` pages: never a call per record or per check
//! (Meridian's health checks are recognised by their caller reference). Every Route 53 request,
//! retries included, passes one client-side rate limiter (5 per second, Route 53's account
//! limit; set `MERIDIAN_ROUTE53_RPS` to change it, e.g. against a local test server): the SDK's
//! own retries are off for Route 53, and `r53()` retries `Throttling`,
//! `PriorRequestNotComplete` and server errors with backoff, a bounded number of times.

use super::*;
use aws_config::BehaviorVersion;
use aws_sdk_ecr as ecr;
use aws_sdk_route53 as r53;
use aws_sdk_route53::error::ProvideErrorMetadata;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Route 53's account-wide request limit.
const ROUTE53_RPS: f64 = 5.0;
/// What Route 53 uses when a health check omits its interval or failure threshold.
const ROUTE53_DEFAULT_INTERVAL: u32 = 30;
const ROUTE53_DEFAULT_THRESHOLD: u32 = 3;
/// Route 53's limits on one change batch.
const MAX_BATCH_ELEMENTS: usize = 1000;
const MAX_BATCH_CHARS: usize = 32_000;
/// How long to wait for a change batch to reach INSYNC.
const INSYNC_TIMEOUT: Duration = Duration::from_secs(300);

/// How long one request may take, retries of the SDK included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(180);

/// Settings of the AWS provider; anything unset comes from the standard AWS configuration
/// chain (profiles, SSO, environment, `AWS_REGION`, `AWS_ENDPOINT_URL`).
#[derive(Clone, Default)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Where to report progress while a change batch propagates.
    pub progress: Option<ProgressSink>,
    /// Set when the apply is asked to stop (a signal): a wait for propagation ends at once
    /// (the change was accepted and completes on its own), so the outcome is reported
    /// within the signal's bound.
    pub stop: Option<&'static std::sync::atomic::AtomicBool>,
    /// How long one request may take, retries included (default [`OPERATION_TIMEOUT`]).
    pub operation_timeout: Option<Duration>,
    /// How long to wait for a change batch to reach INSYNC (default [`INSYNC_TIMEOUT`]).
    pub insync_timeout: Option<Duration>,
    /// Route 53 requests per second (default [`ROUTE53_RPS`]; at least 0.01).
    pub route53_rps: Option<f64>,
}

pub struct AwsProvider {
    rt: tokio::runtime::Runtime,
    config: aws_config::SdkConfig,
    route53: r53::Client,
    ecr: Mutex<BTreeMap<String, ecr::Client>>,
    /// The account's registry id, per region, read by DescribeRegistry.
    registry_ids: Mutex<BTreeMap<String, String>>,
    /// Zone name -> id, from the last read.
    zone_ids: Mutex<BTreeMap<String, String>>,
    limiter: tokio::sync::Mutex<Instant>,
    interval: Duration,
    calls: Mutex<BTreeMap<&'static str, usize>>,
    batches: Mutex<super::BatchStats>,
    source: LiveSource,
    progress: Option<ProgressSink>,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
    insync_timeout: Duration,
}

pub(crate) fn sdk_error<E, R>(
    what: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match &e {
        SdkError::DispatchFailure(d)
            if !d.is_user()
                && !d.is_timeout()
                && !d.as_connector_error().is_some_and(|c| refused(c)) =>
        {
            ProviderError::Io(format!(
            "{what}: the connection to the AWS endpoint failed or was reset (if after the request was sent, AWS may have applied it: `meridian plan` shows what is live); check AWS_ENDPOINT_URL / --endpoint-url and the network"
        ))
        }
        SdkError::DispatchFailure(d) => {
            let why = if d.is_timeout() {
                "timed out"
            } else if d.is_io() {
                "connection refused"
            } else {
                "request failed"
            };
            ProviderError::Io(format!("{what}: cannot reach the AWS endpoint ({why}); check AWS_ENDPOINT_URL / --endpoint-url and the network"))
        }
        SdkError::ResponseError(_) | SdkError::ServiceError(_) if e.code().is_none() => ProviderError::Io(format!(
            "{what}: the endpoint answered with something that is not an AWS response (a proxy or a server error page?); nothing can be concluded about the request: `meridian plan` shows what is live"
        )),
        SdkError::TimeoutError(_) => ProviderError::Io(format!("{what}: timed out (throttling, or an unreachable endpoint)")),
        SdkError::ConstructionFailure(_) => ProviderError::Io(format!(
            "{what}: cannot build the request (missing credentials or region?): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and AWS_REGION"
        )),
        _ => {
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or("").to_string();
            let text = format!("{what}: {code}: {message}");
            match code.as_str() {
                "NoSuchHealthCheck" | "NoSuchHostedZone" | "RepositoryNotFoundException" => ProviderError::NotFound { what: text },
                "HealthCheckAlreadyExists" | "RepositoryAlreadyExistsException" => ProviderError::AlreadyExists { what: text },
                "HealthCheckVersionMismatch" => ProviderError::Conflict { what: text, expected: 0, actual: None },
                c if retryable(c) => {
                    ProviderError::Io(format!("{text} (still failing after retries: try again later)"))
                }
                "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" | "AccessDenied" | "AccessDeniedException" | "ExpiredToken" | "ExpiredTokenException" | "InvalidSignatureException" => {
                    ProviderError::Io(format!("{text} (check the AWS credentials and their permissions)"))
                }
                _ => ProviderError::Invalid(text),
            }
        }
    }
}

/// Whether a failed request never connected (nothing listening): then it surely did not reach
/// AWS, unlike a connection reset after the request was written.
fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        if err.to_string().contains("Connection refused") {
            return true;
        }
        cur = err.source();
    }
    false
}

type R53Error<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

/// Codes that mean AWS refused the request without acting on it: retried, even a write.
const REFUSED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "PriorRequestNotComplete",
    "RequestLimitExceeded",
];

/// Server errors: retried, but a write that got one may have been acted on.
const SERVER: &[&str] = &["ServiceUnavailable", "InternalFailure", "ServerException"];

/// Whether a code is worth retrying (for the retry decision and the final message alike).
fn retryable(code: &str) -> bool {
    REFUSED.contains(&code) || SERVER.contains(&code)
}

/// Retries after throttling or a server error, at most this many.
const MAX_RETRIES: u32 = 7;

enum Retry {
    No,
    /// The request may or may not have reached AWS (connection reset, timeout, garbage reply).
    Connection,
    /// AWS refused it without acting (throttling, a zone busy with a batch).
    Throttled,
    /// A server error: most likely not acted on, but not certainly.
    Server,
}

fn retry_kind<E: ProvideErrorMetadata>(e: &R53Error<E>) -> Retry {
    use aws_smithy_runtime_api::client::result::SdkError;
    match e {
        // A connection refused, reset or closed before the answer (not a mistake of ours).
        SdkError::DispatchFailure(d) if !d.is_user() => Retry::Connection,
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Retry::Connection,
        // A success status with a body that is not an answer: nothing is known of the request.
        SdkError::ServiceError(s) if s.raw().status().is_success() => Retry::Connection,
        SdkError::ServiceError(s) => {
            let code = e.code().unwrap_or("");
            if REFUSED.contains(&code) {
                Retry::Throttled
            } else if retryable(code) || s.raw().status().as_u16() >= 500 {
                Retry::Server
            } else {
                Retry::No
            }
        }
        _ => Retry::No,
    }
}

/// 0.2 s, 0.4 s, 0.8 s ... at most 10 s, with up to 25 % jitter so parallel work spreads out.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200)
        .saturating_mul(1u32 << attempt.min(6))
        .min(Duration::from_secs(10));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + base.mul_f64(f64::from(nanos % 250) / 1000.0)
}

fn trim_dot(s: &str) -> String {
    s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase()
}

/// Route 53 escapes some characters in names as `\ooo` octal codes (`\052` is `*`).
fn unescape(name: &str) -> String {
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            if let Ok(code) = u8::from_str_radix(&name[i + 1..i + 4], 8) {
                out.push(code as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

impl AwsProvider {
    pub fn new(settings: &AwsSettings) -> Result<AwsProvider, ProviderError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ProviderError::Io(format!("cannot start the async runtime: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(8))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_timeout(
                        settings
                            .operation_timeout
                            .filter(|t| !t.is_zero())
                            .unwrap_or(OPERATION_TIMEOUT),
                    )
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
        // Fail early, with one clear message, when there are no credentials at all.
        let creds = config.credentials_provider().ok_or_else(|| {
            ProviderError::Io("no AWS credentials provider: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into())
        })?;
        rt.block_on(async {
            use aws_credential_types::provider::ProvideCredentials;
            creds.provide_credentials().await
        })
        .map_err(|e| {
            ProviderError::Io(format!(
                "no usable AWS credentials ({e}): set AWS_PROFILE (SSO profiles included), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ))
        })?;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::Io(
                "no AWS region: set AWS_REGION, --region, or `region` in the provider \"aws\" block".into(),
            )
        })?;
        let source = LiveSource::Aws {
            region,
            // Credentials in the URL are never printed nor saved with a plan.
            endpoint: config.endpoint_url().map(super::redact_userinfo),
            profile: settings.profile.clone(),
        };
        let rps: f64 = settings
            .route53_rps
            .filter(|v: &f64| v.is_finite() && *v >= 0.01)
            .unwrap_or(ROUTE53_RPS);
        // Route 53 retries go through `r53()`, so every attempt takes a rate-limiter slot.
        let route53 = r53::Client::from_conf(
            r53::config::Builder::from(&config)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        );
        Ok(AwsProvider {
            rt,
            route53,
            config,
            ecr: Mutex::new(BTreeMap::new()),
            registry_ids: Mutex::new(BTreeMap::new()),
            zone_ids: Mutex::new(BTreeMap::new()),
            limiter: tokio::sync::Mutex::new(Instant::now()),
            interval: Duration::from_secs_f64(1.0 / rps),
            calls: Mutex::new(BTreeMap::new()),
            batches: Mutex::new(super::BatchStats::default()),
            source,
            progress: settings.progress.clone(),
            stop: settings.stop,
            insync_timeout: settings.insync_timeout.unwrap_or(INSYNC_TIMEOUT),
        })
    }

    fn report(&self, p: Progress) {
        if let Some(sink) = &self.progress {
            sink(p);
        }
    }

    /// API calls made so far, by operation.
    pub fn calls(&self) -> BTreeMap<&'static str, usize> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn count(&self, op: &'static str) {
        tracing::debug!(operation = op, "AWS call");
        if let Ok(mut c) = self.calls.lock() {
            *c.entry(op).or_default() += 1;
        }
    }

    /// Waits for a Route 53 request slot.
    async fn route53_slot(&self, op: &'static str) {
        let mut next = self.limiter.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep(*next - now).await;
        }
        *next = Instant::now().max(*next) + self.interval;
        drop(next);
        self.count(op);
    }

    /// One Route 53 call with Meridian's own retries: each attempt waits for a rate-limiter
    /// slot (and is counted), throttling and server errors back off exponentially, a failed
    /// connection is tried three times in all.
    async fn r53<T, E, F, Fut>(&self, op: &'static str, call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, R53Error<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.r53_with(op, true, call).await.map_err(|(e, _)| e)
    }

    /// One Route 53 call; with `idempotent` false, a failure that may have been acted on
    /// (connection reset, timeout, server error) is not retried but returned with `true`
    /// ("ambiguous"), for the caller to read back what is live.
    async fn r53_with<T, E, F, Fut>(
        &self,
        op: &'static str,
        idempotent: bool,
        mut call: F,
    ) -> Result<T, (ProviderError, bool)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, R53Error<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut attempt: u32 = 0;
        loop {
            self.route53_slot(op).await;
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let kind = retry_kind(&e);
                    let ambiguous = matches!(kind, Retry::Connection | Retry::Server);
                    if ambiguous && !idempotent {
                        return Err((sdk_error(op, e), true));
                    }
                    let limit = match kind {
                        Retry::No => 0,
                        Retry::Connection => 2,
                        Retry::Throttled | Retry::Server => MAX_RETRIES,
                    };
                    if attempt >= limit {
                        return Err((sdk_error(op, e), false));
                    }
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    fn ecr_client(&self, region: &str) -> ecr::Client {
        let mut clients = self.ecr.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let conf = ecr::config::Builder::from(&self.config)
                    .region(aws_config::Region::new(region.to_string()))
                    .build();
                ecr::Client::from_conf(conf)
            })
            .clone()
    }

    async fn zone_id(&self, zone: &str) -> Result<String, ProviderError> {
        let req = self
            .route53
            .list_hosted_zones_by_name()
            .dns_name(format!("{zone}."))
            .max_items(20);
        let out = self
            .r53("ListHostedZonesByName", || req.clone().send())
            .await?;
        // Zones sort by name: private zones of the same name (split horizon) may come first.
        let public: Vec<&r53::types::HostedZone> = out
            .hosted_zones()
            .iter()
            .filter(|z| trim_dot(z.name()) == zone && !z.config().is_some_and(|c| c.private_zone()))
            .collect();
        match public.as_slice() {
            [z] => Ok(z.id().trim_start_matches("/hostedzone/").to_string()),
            [] => Err(ProviderError::NotFound {
                what: format!("public hosted zone {zone} (Meridian looks zones up and never creates them: create it first)"),
            }),
            several => Err(ProviderError::Invalid(format!(
                "{} public hosted zones are named {zone}; Meridian cannot tell which one serves the name",
                several.len()
            ))),
        }
    }

    async fn records(&self, zone: &str, zone_id: &str) -> Result<Vec<RecordSet>, ProviderError> {
        let mut out = Vec::new();
        let mut seen: BTreeSet<(String, String, Option<String>)> = BTreeSet::new();
        let mut start: Option<(String, r53::types::RrType, Option<String>)> = None;
        let mut pages = 0usize;
        loop {
            let mut req = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .max_items(300);
            if let Some((name, ty, id)) = &start {
                req = req.start_record_name(name).start_record_type(ty.clone());
                if let Some(id) = id {
                    req = req.start_record_identifier(id);
                }
            }
            let page = self
                .r53("ListResourceRecordSets", || req.clone().send())
                .await?;
            pages += 1;
            let mut progress = false;
            for r in page.resource_record_sets() {
                let name = trim_dot(&unescape(r.name()));
                let key = (
                    name.clone(),
                    r.r#type().as_str().to_string(),
                    r.set_identifier().map(String::from),
                );
                // Servers that ignore StartRecordIdentifier repeat records across pages.
                if !seen.insert(key) {
                    continue;
                }
                progress = true;
                out.push(convert_record(zone, &name, r));
            }
            let next = match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(n), Some(t)) => Some((
                    n.to_string(),
                    t.clone(),
                    page.next_record_identifier().map(String::from),
                )),
                _ => None,
            };
            if next.is_none() {
                break;
            }
            // A page that brought nothing new, or points back where it started: the server is
            // looping, and what was read is not the whole zone.
            if !progress || next == start || pages > 100_000 {
                return Err(ProviderError::Io(format!(
                    "ListResourceRecordSets for {zone}: the server repeated a page, so the zone could not be read completely"
                )));
            }
            start = next;
        }
        Ok(out)
    }

    async fn health_checks(&self) -> Result<Vec<LiveHealthCheck>, ProviderError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = self.route53.list_health_checks().max_items(1000);
            if let Some(m) = &marker {
                req = req.marker(m);
            }
            let page = self.r53("ListHealthChecks", || req.clone().send()).await?;
            let mut progress = false;
            for h in page.health_checks() {
                if !seen.insert(h.id().to_string()) {
                    continue;
                }
                progress = true;
                if let Some(c) = h.health_check_config().and_then(convert_check) {
                    out.push(LiveHealthCheck {
                        id: h.id().to_string(),
                        caller_reference: h.caller_reference().to_string(),
                        version: u64::try_from(h.health_check_version()).unwrap_or(0),
                        config: c,
                        tags: BTreeMap::new(),
                        drift: h
                            .health_check_config()
                            .map(|c| {
                                let mut d = Vec::new();
                                if c.inverted() == Some(true) {
                                    d.push("inverted".to_string());
                                }
                                if c.disabled() == Some(true) {
                                    d.push("disabled".to_string());
                                }
                                d
                            })
                            .unwrap_or_default(),
                    });
                }
            }
            match page.next_marker() {
                Some(m) if page.is_truncated() => {
                    if !progress || marker.as_deref() == Some(m) {
                        return Err(ProviderError::Io(
                            "ListHealthChecks: the server repeated a page, so the health checks could not be read completely".into(),
                        ));
                    }
                    marker = Some(m.to_string())
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// Fills in the tags of the checks `scope` asks about: `ListTagsForResources`, 10 checks
    /// a call (Route 53's limit).
    async fn read_tags(
        &self,
        scope: &Scope,
        checks: &mut [LiveHealthCheck],
    ) -> Result<(), ProviderError> {
        let ids: Vec<String> = checks
            .iter()
            .filter(|h| scope.reads_tags_of(&h.caller_reference))
            .map(|h| h.id.clone())
            .collect();
        let mut tags: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for chunk in ids.chunks(10) {
            let req = self
                .route53
                .list_tags_for_resources()
                .resource_type(r53::types::TagResourceType::Healthcheck)
                .set_resource_ids(Some(chunk.to_vec()));
            let out = self
                .r53("ListTagsForResources", || req.clone().send())
                .await?;
            for set in out.resource_tag_sets() {
                let Some(id) = set.resource_id() else {
                    continue;
                };
                let entry = tags.entry(id.to_string()).or_default();
                for t in set.tags() {
                    if let (Some(k), Some(v)) = (t.key(), t.value()) {
                        entry.insert(k.to_string(), v.to_string());
                    }
                }
            }
        }
        for h in checks.iter_mut() {
            if let Some(t) = tags.remove(&h.id) {
                h.tags = t;
            }
        }
        Ok(())
    }

    /// A region's replication configuration (`DescribeRegistry`), destinations in this
    /// account by region, others as `REGISTRY/REGION`.
    async fn replication_rules(&self, region: &str) -> Result<Vec<ReplicationRule>, ProviderError> {
        let client = self.ecr_client(region);
        self.count("DescribeRegistry");
        let reg = client
            .describe_registry()
            .send()
            .await
            .map_err(|e| sdk_error("DescribeRegistry", e))?;
        let own = reg.registry_id().map(String::from);
        if let Some(id) = reg.registry_id() {
            if let Ok(mut ids) = self.registry_ids.lock() {
                ids.insert(region.to_string(), id.to_string());
            }
        }
        let rules = reg
            .replication_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .map(|r| {
                        // A destination in this account is its region; one in another account keeps
                        // its registry id ("123456789012/us-west-2"), so it is written back as read.
                        let mut destinations: Vec<String> = r
                            .destinations()
                            .iter()
                            .map(|d| {
                                if own.as_deref() == Some(d.registry_id()) {
                                    d.region().to_string()
                                } else {
                                    format!("{}/{}", d.registry_id(), d.region())
                                }
                            })
                            .collect();
                        destinations.sort();
                        let mut filters: Vec<String> = r
                            .repository_filters()
                            .iter()
                            .map(|f| f.filter().to_string())
                            .collect();
                        filters.sort();
                        ReplicationRule {
                            destinations,
                            filters,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(rules)
    }

    async fn registry(
        &self,
        region: &str,
    ) -> Result<(Vec<String>, Vec<ReplicationRule>), ProviderError> {
        let rules = self.replication_rules(region).await?;
        let client = self.ecr_client(region);
        let mut repos = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.count("DescribeRepositories");
            let mut req = client.describe_repositories().max_results(1000);
            if let Some(t) = &token {
                req = req.next_token(t);
            }
            let page = req
                .send()
                .await
                .map_err(|e| sdk_error("DescribeRepositories", e))?;
            repos.extend(
                page.repositories()
                    .iter()
                    .filter_map(|r| r.repository_name().map(String::from)),
            );
            match page.next_token() {
                Some(t) if token.as_deref() != Some(t) => token = Some(t.to_string()),
                _ => break,
            }
        }
        repos.sort();
        repos.dedup();
        Ok((repos, rules))
    }

    async fn read_all(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        let mut live = LiveState::default();
        for zone in &scope.zones {
            let id = self.zone_id(zone).await?;
            live.records.extend(self.records(zone, &id).await?);
            live.zones.insert(zone.clone(), id);
        }
        if let Ok(mut z) = self.zone_ids.lock() {
            z.extend(live.zones.clone());
        }
        live.health_checks = self.health_checks().await?;
        self.read_tags(scope, &mut live.health_checks).await?;
        for region in &scope.regions {
            let (repos, rules) = self.registry(region).await?;
            live.repositories.insert(region.clone(), repos);
            live.replication.insert(region.clone(), rules);
        }
        Ok(live)
    }

    async fn run(&self, op: &Op) -> Result<Done, ProviderError> {
        match op {
            Op::CreateHealthCheck {
                caller_reference,
                config,
            } => self.create_check(caller_reference, config).await,
            Op::TagHealthCheck { id, tags } => {
                let mut req = self
                    .route53
                    .change_tags_for_resource()
                    .resource_type(r53::types::TagResourceType::Healthcheck)
                    .resource_id(id);
                for (k, v) in tags {
                    req = req.add_tags(r53::types::Tag::builder().key(k).value(v).build());
                }
                // Adding a tag again is harmless: a retry after a lost answer is safe.
                self.r53("ChangeTagsForResource", || req.clone().send())
                    .await
                    .map(|_| Done::Other)
            }
            Op::UpdateHealthCheck {
                id,
                version,
                config,
                reset,
            } => self.update_check(id, *version, config, reset).await,
            Op::DeleteHealthCheck { id } => {
                let req = self.route53.delete_health_check().health_check_id(id);
                match self.r53("DeleteHealthCheck", || req.clone().send()).await {
                    // Gone already (a retried request whose answer was lost): as wanted.
                    Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(Done::Other),
                    Err(e) => Err(e),
                }
            }
            Op::ChangeRecords { zone, changes } => self.change_records(zone, changes).await,
            Op::CreateRepository { region, name } => {
                self.count("CreateRepository");
                let created = self
                    .ecr_client(region)
                    .create_repository()
                    .repository_name(name)
                    .send()
                    .await
                    .map_err(|e| sdk_error("CreateRepository", e));
                match created {
                    // Made by a retried request whose answer was lost: it exists, as wanted.
                    Ok(_) | Err(ProviderError::AlreadyExists { .. }) => Ok(Done::Other),
                    Err(e) => Err(e),
                }
            }
            Op::UpdateReplication {
                region,
                add,
                remove,
            } => self.update_replication(region, add, remove).await,
        }
    }

    /// After a wave, one listing settles what its answers left unsure: a delete is done only
    /// when the check is gone (an answer can be lost, or be a 200 that is not Route 53's), and
    /// a create that failed is done when a check with its caller reference exists.
    async fn read_back_checks(&self, ops: &[Op], out: &mut [Result<Done, ProviderError>]) {
        let unsure = ops.iter().zip(out.iter()).any(|(op, r)| match op {
            Op::DeleteHealthCheck { .. } => true,
            Op::CreateHealthCheck { .. } => r.is_err(),
            _ => false,
        });
        if !unsure {
            return;
        }
        let Ok(live) = self.health_checks().await else {
            return;
        };
        for (op, r) in ops.iter().zip(out.iter_mut()) {
            match op {
                Op::DeleteHealthCheck { id } => {
                    let there = live.iter().any(|h| &h.id == id);
                    *r = match (there, &r) {
                        (false, _) => Ok(Done::Other),
                        (true, Ok(_)) => Err(ProviderError::Io(format!(
                            "DeleteHealthCheck {id} was answered, but the check is still there"
                        ))),
                        (true, Err(e)) => Err(e.clone()),
                    };
                }
                Op::CreateHealthCheck {
                    caller_reference, ..
                } if r.is_err() => {
                    if let Some(h) = live
                        .iter()
                        .find(|h| &h.caller_reference == caller_reference)
                    {
                        *r = Ok(Done::HealthCheck(h.id.clone()));
                    }
                }
                _ => {}
            }
        }
    }

    async fn create_check(
        &self,
        caller_reference: &str,
        config: &crate::graph::HealthCheckSpec,
    ) -> Result<Done, ProviderError> {
        let req = self
            .route53
            .create_health_check()
            .caller_reference(caller_reference)
            .health_check_config(check_config(config)?);
        // Retrying with the same caller reference returns the same check; one whose first
        // answer was lost and whose settings Route 53 then compares differently answers
        // HealthCheckAlreadyExists: the check is found by its caller reference.
        let id = match self.r53("CreateHealthCheck", || req.clone().send()).await {
            Ok(out) => out
                .health_check()
                .map(|h| h.id().to_string())
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    ProviderError::Io("CreateHealthCheck answered without an id".into())
                })?,
            Err(ProviderError::AlreadyExists { what }) => self
                .health_checks()
                .await?
                .into_iter()
                .find(|h| h.caller_reference == caller_reference)
                .map(|h| h.id)
                .ok_or(ProviderError::AlreadyExists { what })?,
            Err(e) => return Err(e),
        };
        Ok(Done::HealthCheck(id))
    }

    async fn update_check(
        &self,
        id: &str,
        version: u64,
        config: &crate::graph::HealthCheckSpec,
        reset: &[String],
    ) -> Result<Done, ProviderError> {
        let mut req = self
            .route53
            .update_health_check()
            .health_check_id(id)
            .health_check_version(to_i64("HealthCheckVersion", version)?)
            .port(i32::from(config.port))
            .failure_threshold(to_i32("FailureThreshold", config.failure_threshold)?)
            .set_fully_qualified_domain_name(config.fqdn.clone())
            .set_ip_address(config.ip_address.clone())
            .set_resource_path(config.resource_path.clone())
            .set_search_string(config.search_string.clone());
        for r in &config.regions {
            req = req.regions(r53::types::HealthCheckRegion::from(r.as_str()));
        }
        for e in reset {
            req = req.reset_elements(r53::types::ResettableElementName::from(e.as_str()));
        }
        // Meridian's checks are never inverted or disabled.
        req = req.inverted(false).disabled(false);
        self.r53("UpdateHealthCheck", || req.clone().send())
            .await
            .map_err(|e| match e {
                ProviderError::Conflict { what, .. } => ProviderError::Conflict {
                    what,
                    expected: version,
                    actual: None,
                },
                other => other,
            })?;
        Ok(Done::Other)
    }

    async fn change_records(
        &self,
        zone: &str,
        changes: &[RecordChange],
    ) -> Result<Done, ProviderError> {
        let known = self.zone_ids.lock().ok().and_then(|z| z.get(zone).cloned());
        let zone_id = match known {
            Some(id) => id,
            None => self.zone_id(zone).await?,
        };
        // The batches touch disjoint names, so they go out back to back and are awaited
        // together: one INSYNC wait for the zone, not one per batch.
        let batches = split_batches(changes);
        if let Ok(mut s) = self.batches.lock() {
            s.batches += batches.len();
            s.lower_bound += batch_lower_bound(changes);
        }
        let mut pending = Vec::new();
        let mut insync = true;
        for batch in &batches {
            let sent = match self.send_batch(zone, &zone_id, batch).await {
                // The zone still busy with the batches before, after every retry: wait for
                // them, then send this one again.
                Err(e)
                    if !pending.is_empty() && e.to_string().contains("PriorRequestNotComplete") =>
                {
                    insync &= self.wait_counted(&pending).await;
                    pending.clear();
                    self.send_batch(zone, &zone_id, batch).await?
                }
                other => other?,
            };
            match sent {
                Sent::InSync => {}
                Sent::Pending(id) => pending.push(id),
                Sent::Unknown => insync = false,
            }
        }
        if !pending.is_empty() {
            insync &= self.wait_counted(&pending).await;
        }
        Ok(Done::Records { insync })
    }

    /// One INSYNC wait for these changes (counted); whether INSYNC was seen.
    async fn wait_counted(&self, ids: &[String]) -> bool {
        if let Ok(mut s) = self.batches.lock() {
            s.waits += 1;
        }
        match self.wait_insync(ids).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        }
    }

    /// Sends one change batch. A batch is not idempotent: after a failure that may have been
    /// acted on, what is live decides (applied: done; untouched: sent again; anything else: an
    /// error).
    async fn send_batch(
        &self,
        zone: &str,
        zone_id: &str,
        batch: &[&RecordChange],
    ) -> Result<Sent, ProviderError> {
        let mut cb = Vec::new();
        for c in batch {
            cb.push(
                r53::types::Change::builder()
                    .action(r53::types::ChangeAction::from(c.action.as_str()))
                    .resource_record_set(record_set(&c.record)?)
                    .build()
                    .map_err(|e| ProviderError::Invalid(e.to_string()))?,
            );
        }
        let change_batch = r53::types::ChangeBatch::builder()
            .set_changes(Some(cb))
            .build()
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        let req = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(change_batch);
        for _ in 0..3 {
            match self
                .r53_with("ChangeResourceRecordSets", false, || req.clone().send())
                .await
            {
                Ok(out) => {
                    return Ok(match out.change_info() {
                        None => Sent::Unknown,
                        Some(i) if *i.status() == r53::types::ChangeStatus::Insync => Sent::InSync,
                        Some(i) => Sent::Pending(i.id().trim_start_matches("/change/").to_string()),
                    });
                }
                Err((e, true)) => match self.batch_state(zone, zone_id, batch).await? {
                    BatchState::Applied => return Ok(Sent::Unknown),
                    BatchState::Untouched => continue,
                    BatchState::Mixed => {
                        return Err(ProviderError::Io(format!(
                            "{e}; read back, the zone holds part of the batch: someone else is changing it. Run `meridian plan`"
                        )))
                    }
                },
                Err((e, false)) => return Err(e),
            }
        }
        Err(ProviderError::Io(format!(
            "ChangeResourceRecordSets for {zone}: every attempt failed without reaching Route 53"
        )))
    }

    /// What the zone shows of a batch whose answer was lost.
    async fn batch_state(
        &self,
        zone: &str,
        zone_id: &str,
        batch: &[&RecordChange],
    ) -> Result<BatchState, ProviderError> {
        let live = self.records(zone, zone_id).await?;
        Ok(batch_state(batch, &live))
    }

    /// The account's registry id in `region`, read once.
    async fn registry_id(&self, region: &str) -> Result<String, ProviderError> {
        let known = || {
            self.registry_ids
                .lock()
                .ok()
                .and_then(|r| r.get(region).cloned())
        };
        if let Some(id) = known() {
            return Ok(id);
        }
        self.registry(region).await?;
        known().ok_or_else(|| {
            ProviderError::Io(format!("DescribeRegistry in {region} gave no registry id"))
        })
    }

    /// Re-reads the region's configuration, writes it with only this change, and reads it
    /// back: another writer's rule that appeared meanwhile is kept, and a write that another
    /// writer undid at once is made again (at most 3 times). `PutReplicationConfiguration` has
    /// no precondition, so a writer between the read and the write can still be overwritten
    /// within that window (see README).
    async fn update_replication(
        &self,
        region: &str,
        add: &[ReplicationRule],
        remove: &[ReplicationRule],
    ) -> Result<Done, ProviderError> {
        for _ in 0..3 {
            let live = self.replication_rules(region).await?;
            let want = crate::provider::updated_rules(&live, add, remove);
            let put = if want == live {
                None
            } else {
                self.put_replication(region, &want).await.err()
            };
            // Read back even after an error: a write whose answer was lost may have landed.
            let now = self.replication_rules(region).await?;
            if add.iter().all(|a| now.contains(a)) && !remove.iter().any(|r| now.contains(r)) {
                return Ok(Done::Other);
            }
            if let Some(e) = put {
                return Err(e);
            }
        }
        Err(ProviderError::Io(format!(
            "ECR replication in {region}: another writer kept changing the configuration; run `meridian plan` again"
        )))
    }

    async fn put_replication(
        &self,
        region: &str,
        rules: &[ReplicationRule],
    ) -> Result<Done, ProviderError> {
        let registry = self.registry_id(region).await?;
        let built = rules
            .iter()
            .map(|rule| ecr_rule(rule, &registry))
            .collect::<Result<Vec<_>, _>>()?;
        let conf = ecr::types::ReplicationConfiguration::builder()
            .set_rules(Some(built))
            .build()
            .map_err(|e| ProviderError::Invalid(e.to_string()))?;
        self.count("PutReplicationConfiguration");
        self.ecr_client(region)
            .put_replication_configuration()
            .replication_configuration(conf)
            .send()
            .await
            .map_err(|e| sdk_error("PutReplicationConfiguration", e))?;
        Ok(Done::Other)
    }

    /// Sleeps `pause`, in slices, unless the apply is asked to stop; whether it was.
    async fn sleep_unless_stopped(&self, pause: Duration) -> bool {
        let stopped = || {
            self.stop
                .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst))
        };
        let end = Instant::now() + pause;
        while !stopped() {
            let now = Instant::now();
            if now >= end {
                return false;
            }
            tokio::time::sleep((end - now).min(Duration::from_millis(100))).await;
        }
        true
    }

    /// Polls GetChange for each change until all are INSYNC, with growing pauses, at most
    /// the settings' INSYNC timeout in all.
    async fn wait_insync(&self, ids: &[String]) -> Result<(), ProviderError> {
        let start = Instant::now();
        let timeout = self.insync_timeout;
        let mut pause = Duration::from_millis(500);
        let mut pending: Vec<&String> = ids.iter().collect();
        while !pending.is_empty() {
            for id in &pending {
                self.report(Progress::Propagating {
                    change_id: (*id).clone(),
                    elapsed: start.elapsed(),
                });
            }
            if self.sleep_unless_stopped(pause).await {
                return Err(ProviderError::Io(format!(
                    "change {} was accepted and is propagating: the apply was interrupted before it reached INSYNC (it completes on its own)",
                    pending[0]
                )));
            }
            let mut still = Vec::new();
            for id in pending {
                let req = self.route53.get_change().id(id);
                let out = self.r53("GetChange", || req.clone().send()).await?;
                if out
                    .change_info()
                    .is_some_and(|c| *c.status() == r53::types::ChangeStatus::Insync)
                {
                    self.report(Progress::InSync {
                        change_id: id.clone(),
                        elapsed: start.elapsed(),
                    });
                } else {
                    still.push(id);
                }
            }
            pending = still;
            if !pending.is_empty() && start.elapsed() > timeout {
                return Err(ProviderError::Io(format!(
                    "change {} was accepted but did not reach INSYNC within {} s; it will complete on its own: run `meridian plan` to see what remains",
                    pending[0],
                    timeout.as_secs()
                )));
            }
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        Ok(())
    }
}

/// What sending a batch came to.
enum Sent {
    /// Route 53 said INSYNC at once.
    InSync,
    /// Accepted; this change id is propagating.
    Pending(String),
    /// Applied, but its change id is unknown (an answer lost, then read back).
    Unknown,
}

/// What a zone shows of a batch: all of it, none of it, or some (someone else's change).
enum BatchState {
    Applied,
    Untouched,
    Mixed,
}

/// What `live` shows of `batch`. A batch is atomic, so each record set is judged by the state
/// the batch leaves it in (its last change: absent after a DELETE, these values after a
/// CREATE or UPSERT), not change by change: a DELETE and CREATE of one key is a replacement.
fn batch_state(batch: &[&RecordChange], live: &[RecordSet]) -> BatchState {
    let by_key: BTreeMap<RecordKey, &RecordSet> = live.iter().map(|r| (r.key(), r)).collect();
    let mut end: BTreeMap<RecordKey, Option<&RecordSet>> = BTreeMap::new();
    for c in batch {
        let state = (c.action != ChangeAction::Delete).then_some(&c.record);
        end.insert(c.record.key(), state);
    }
    let reached = end
        .iter()
        .filter(|(key, want)| by_key.get(*key).copied() == **want)
        .count();
    if reached == end.len() {
        BatchState::Applied
    } else if reached == 0 {
        BatchState::Untouched
    } else {
        BatchState::Mixed
    }
}

/// The name a change is batched with: its own, its service's for an ownership marker, and an
/// alias's target's when this list also changes records at that name (an alias to a record of
/// the same zone must not reach Route 53 before its target; one level of aliasing).
fn group_name<'a>(c: &'a RecordChange, names: &BTreeSet<(&str, &str)>) -> &'a str {
    let owner = |name: &'a str| {
        let name = name.trim_end_matches('.');
        crate::dns::marker_domain(name).unwrap_or(name)
    };
    match &c.record.alias {
        Some(a) if names.contains(&(c.record.zone.as_str(), a.dns_name.trim_end_matches('.'))) => {
            owner(&a.dns_name)
        }
        _ => owner(&c.record.name),
    }
}

/// What one change costs in a batch: ResourceRecord elements and value characters, an UPSERT
/// counted twice (Route 53's rule).
fn batch_cost(c: &RecordChange) -> (usize, usize) {
    let factor = if c.action == ChangeAction::Upsert {
        2
    } else {
        1
    };
    let elements = c.record.values.len().max(1) * factor;
    let chars: usize = c.record.values.iter().map(String::len).sum::<usize>() * factor;
    (elements, chars)
}

/// The fewest batches `changes` can fit in: elements / 1,000 and characters / 32,000,
/// rounded up, whichever is more.
pub fn batch_lower_bound(changes: &[RecordChange]) -> usize {
    let (e, c) = changes
        .iter()
        .map(batch_cost)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    e.div_ceil(MAX_BATCH_ELEMENTS)
        .max(c.div_ceil(MAX_BATCH_CHARS))
}

/// Splits a zone's changes into batches within Route 53's limits (1,000 ResourceRecord
/// elements and 32,000 value characters, UPSERTs counted twice). Every change at one name, and
/// a service's ownership marker (`_meridian.<name>`) with them, stays in one batch: a name
/// never goes unanswered between batches (a type change, CNAME to A say, deletes and creates
/// together), and a record is never written without its marker. So batches touch disjoint
/// names and may be sent back to back. The groups are packed largest first into the first
/// batch with room (first-fit decreasing).
pub fn split_batches(changes: &[RecordChange]) -> Vec<Vec<&RecordChange>> {
    let names: BTreeSet<(&str, &str)> = changes
        .iter()
        .map(|c| (c.record.zone.as_str(), c.record.name.trim_end_matches('.')))
        .collect();
    let mut by_name: BTreeMap<(&str, &str), Vec<&RecordChange>> = BTreeMap::new();
    for c in changes {
        by_name
            .entry((c.record.zone.as_str(), group_name(c, &names)))
            .or_default()
            .push(c);
    }
    let mut groups: Vec<(usize, usize, Vec<&RecordChange>)> = Vec::new();
    for (_, g) in by_name {
        let (e, c) = g
            .iter()
            .map(|c| batch_cost(c))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let deletes = g.iter().any(|c| c.action == ChangeAction::Delete);
        if (e > MAX_BATCH_ELEMENTS || c > MAX_BATCH_CHARS) && !deletes {
            // Too big for one batch and nothing deleted: its changes go one by one.
            groups.extend(g.into_iter().map(|c| {
                let (e, ch) = batch_cost(c);
                (e, ch, vec![c])
            }));
        } else {
            groups.push((e, c, g));
        }
    }
    // Largest first, by the larger of its two shares of a batch; ties keep name order.
    let share = |e: usize, c: usize| (e * MAX_BATCH_CHARS).max(c * MAX_BATCH_ELEMENTS);
    groups.sort_by_key(|g| std::cmp::Reverse(share(g.0, g.1)));
    let mut out: Vec<(usize, usize, Vec<&RecordChange>)> = Vec::new();
    for (e, c, g) in groups {
        let fits = out
            .iter()
            .position(|b| b.0 + e <= MAX_BATCH_ELEMENTS && b.1 + c <= MAX_BATCH_CHARS);
        match fits {
            Some(i) => {
                out[i].0 += e;
                out[i].1 += c;
                out[i].2.extend(g);
            }
            None => out.push((e, c, g)),
        }
    }
    // Route 53 applies a batch's changes in order: deletes first, aliases after the targets
    // it creates and before those it deletes (route53_order).
    out.into_iter()
        .map(|(_, _, b)| route53_order(&b).into_iter().map(|i| b[i]).collect())
        .collect()
}

/// The order in which Route 53 applies a batch of one zone's record changes safely, as indices
/// into `batch`: Route 53 checks a batch's changes in order, so an alias must come after the
/// records at its target name that the batch creates or updates, and before those it deletes.
/// Deletes go first (a type change frees its name before the new type arrives), aliases before
/// their targets; then creates and updates, targets before the aliases that point at them,
/// down chains of aliases (a tree's latency alias -> failover pair -> nested pair). Stable
/// otherwise.
fn route53_order(batch: &[&RecordChange]) -> Vec<usize> {
    let mut at_name: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, c) in batch.iter().enumerate() {
        at_name
            .entry((&c.record.zone, c.record.name.trim_end_matches('.')))
            .or_default()
            .push(i);
    }
    // How deep each change sits in a chain of aliases to names this batch changes the same
    // way (deletes with deletes, writes with writes); a loop stops at the batch's size.
    fn depth(
        i: usize,
        batch: &[&RecordChange],
        at_name: &BTreeMap<(&str, &str), Vec<usize>>,
        hops: usize,
    ) -> usize {
        let c = batch[i];
        let Some(a) = &c.record.alias else { return 0 };
        let target = (c.record.zone.as_str(), a.dns_name.trim_end_matches('.'));
        let deleting = c.action == ChangeAction::Delete;
        match at_name.get(&target) {
            Some(js) if hops < batch.len() => js
                .iter()
                .filter(|j| (batch[**j].action == ChangeAction::Delete) == deleting)
                .map(|j| 1 + depth(*j, batch, at_name, hops + 1))
                .max()
                .unwrap_or(0),
            _ => 0,
        }
    }
    let mut order: Vec<(bool, i64, usize)> = (0..batch.len())
        .map(|i| {
            let d = depth(i, batch, &at_name, 0) as i64;
            match batch[i].action {
                ChangeAction::Delete => (false, -d, i),
                _ => (true, d, i),
            }
        })
        .collect();
    order.sort_unstable();
    order.into_iter().map(|(_, _, i)| i).collect()
}

/// A record set as Route 53 returns it, reduced to what its routing policy and kind mean: a
/// value that has no meaning for the record (a TTL on an alias, as some servers return, a
/// weight beside a failover role) is dropped here, never diffed.
fn convert_record(zone: &str, name: &str, r: &r53::types::ResourceRecordSet) -> RecordSet {
    RecordSet {
        zone: zone.to_string(),
        name: name.to_string(),
        record_type: RecordType::parse(r.r#type().as_str()),
        set_identifier: r.set_identifier().map(String::from),
        ttl: r
            .ttl()
            .filter(|_| r.alias_target().is_none())
            .and_then(|t| u32::try_from(t).ok()),
        // As stored: a DELETE must carry the exact live values.
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        alias: r.alias_target().map(|a| crate::graph::AliasTarget {
            dns_name: trim_dot(&unescape(a.dns_name())),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        routing: routing_of(r),
        health_check_id: r.health_check_id().map(String::from),
    }
}

/// The one routing policy of a record set as read.
fn routing_of(r: &r53::types::ResourceRecordSet) -> RoutingPolicy {
    let unmanaged = r.multi_value_answer().is_some()
        || r.cidr_routing_config().is_some()
        || r.geo_proximity_location().is_some()
        || r.traffic_policy_instance_id().is_some();
    if unmanaged {
        return RoutingPolicy::Unmanaged;
    }
    if let Some(f) = r.failover() {
        return match f {
            r53::types::ResourceRecordSetFailover::Primary => RoutingPolicy::Failover {
                role: FailoverRole::Primary,
            },
            r53::types::ResourceRecordSetFailover::Secondary => RoutingPolicy::Failover {
                role: FailoverRole::Secondary,
            },
            _ => RoutingPolicy::Unmanaged,
        };
    }
    if let Some(g) = r.geo_location() {
        return RoutingPolicy::Geolocation {
            location: geo_code(g),
        };
    }
    if let Some(region) = r.region() {
        return RoutingPolicy::Latency {
            region: region.as_str().to_string(),
        };
    }
    match r.weight().map(u8::try_from) {
        Some(Ok(weight)) => RoutingPolicy::Weighted { weight },
        // A weight Route 53 allows (up to 255) always fits; anything else is not ours.
        Some(Err(_)) => RoutingPolicy::Unmanaged,
        None if r.set_identifier().is_some() => RoutingPolicy::Unmanaged,
        None => RoutingPolicy::Simple,
    }
}

/// Meridian's location code of a Route 53 geolocation.
fn geo_code(g: &r53::types::GeoLocation) -> String {
    match (g.continent_code(), g.country_code(), g.subdivision_code()) {
        (Some(c), _, _) => c.to_string(),
        (None, Some(country), Some(sub)) => format!("{country}-{sub}"),
        (None, Some(country), None) => crate::model::catalog::country_code_of(country),
        _ => "*".to_string(),
    }
}

fn record_set(r: &RecordSet) -> Result<r53::types::ResourceRecordSet, ProviderError> {
    let mut b = r53::types::ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(r53::types::RrType::from(r.record_type.as_str()))
        .set_set_identifier(r.set_identifier.clone())
        .set_ttl(r.ttl.map(i64::from))
        .set_health_check_id(r.health_check_id.clone());
    b = match &r.routing {
        RoutingPolicy::Simple => b,
        RoutingPolicy::Latency { region } => {
            b.region(r53::types::ResourceRecordSetRegion::from(region.as_str()))
        }
        RoutingPolicy::Weighted { weight } => b.weight(i64::from(*weight)),
        RoutingPolicy::Failover { role } => {
            b.failover(r53::types::ResourceRecordSetFailover::from(role.as_str()))
        }
        RoutingPolicy::Geolocation { location } => b.geo_location(geo_location(location)),
        RoutingPolicy::Unmanaged => {
            return Err(ProviderError::Invalid(format!(
                "{} {}: Meridian does not write record sets with routing it does not manage",
                r.name, r.record_type
            )))
        }
    };
    for v in &r.values {
        b = b.resource_records(
            r53::types::ResourceRecord::builder()
                .value(v)
                .build()
                .map_err(|e| ProviderError::Invalid(e.to_string()))?,
        );
    }
    if let Some(a) = &r.alias {
        b = b.alias_target(
            r53::types::AliasTarget::builder()
                .dns_name(&a.dns_name)
                .hosted_zone_id(&a.hosted_zone_id)
                .evaluate_target_health(a.evaluate_target_health)
                .build()
                .map_err(|e| ProviderError::Invalid(e.to_string()))?,
        );
    }
    b.build().map_err(|e| ProviderError::Invalid(e.to_string()))
}

/// A Route 53 geolocation from Meridian's location code.
fn geo_location(g: &str) -> r53::types::GeoLocation {
    let geo = r53::types::GeoLocation::builder();
    let geo = if g == "*" {
        geo.country_code("*")
    } else if let Some(country) = g.strip_prefix("country:") {
        geo.country_code(country)
    } else if crate::model::catalog::CONTINENTS.contains(&g) {
        geo.continent_code(g)
    } else if let Some((country, sub)) = g.split_once('-') {
        geo.country_code(country).subdivision_code(sub)
    } else {
        geo.country_code(g)
    };
    geo.build()
}

/// One ECR replication rule; a destination `registry/region` is another account's.
fn ecr_rule(
    rule: &ReplicationRule,
    registry: &str,
) -> Result<ecr::types::ReplicationRule, ProviderError> {
    let invalid = |e: ecr::error::BuildError| ProviderError::Invalid(e.to_string());
    let mut b = ecr::types::ReplicationRule::builder();
    for d in &rule.destinations {
        let (reg_id, d) = d.split_once('/').unwrap_or((registry, d.as_str()));
        b = b.destinations(
            ecr::types::ReplicationDestination::builder()
                .region(d)
                .registry_id(reg_id)
                .build()
                .map_err(invalid)?,
        );
    }
    for f in &rule.filters {
        b = b.repository_filters(
            ecr::types::RepositoryFilter::builder()
                .filter(f)
                .filter_type(ecr::types::RepositoryFilterType::PrefixMatch)
                .build()
                .map_err(invalid)?,
        );
    }
    b.build().map_err(invalid)
}

/// A number the API takes as i32; out of range is an error, never a substitute.
fn to_i32(what: &str, v: u32) -> Result<i32, ProviderError> {
    i32::try_from(v).map_err(|_| ProviderError::Invalid(format!("{what} {v} is out of range")))
}

fn to_i64(what: &str, v: u64) -> Result<i64, ProviderError> {
    i64::try_from(v).map_err(|_| ProviderError::Invalid(format!("{what} {v} is out of range")))
}

fn convert_check(c: &r53::types::HealthCheckConfig) -> Option<crate::graph::HealthCheckSpec> {
    let kind = crate::model::HealthCheckType::parse(c.r#type().as_str())?;
    let mut regions: Vec<String> = c.regions().iter().map(|r| r.as_str().to_string()).collect();
    regions.sort();
    Some(crate::graph::HealthCheckSpec {
        kind,
        fqdn: c.fully_qualified_domain_name().map(trim_dot),
        ip_address: c.ip_address().map(String::from),
        port: c
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .or(kind.default_port())
            .unwrap_or(0),
        resource_path: c.resource_path().map(String::from),
        // Route 53 always returns both; when a server omits one, its documented default
        // (RequestInterval 30, FailureThreshold 3) is what the check runs with.
        request_interval: c
            .request_interval()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(ROUTE53_DEFAULT_INTERVAL),
        failure_threshold: c
            .failure_threshold()
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(ROUTE53_DEFAULT_THRESHOLD),
        regions,
        search_string: c.search_string().map(String::from),
    })
}

fn check_config(
    h: &crate::graph::HealthCheckSpec,
) -> Result<r53::types::HealthCheckConfig, ProviderError> {
    let mut b = r53::types::HealthCheckConfig::builder()
        .r#type(r53::types::HealthCheckType::from(h.kind.as_str()))
        .port(i32::from(h.port))
        .request_interval(to_i32("RequestInterval", h.request_interval)?)
        .failure_threshold(to_i32("FailureThreshold", h.failure_threshold)?)
        .set_fully_qualified_domain_name(h.fqdn.clone())
        .set_ip_address(h.ip_address.clone())
        .set_resource_path(h.resource_path.clone())
        .set_search_string(h.search_string.clone());
    if h.kind.is_https() {
        b = b.enable_sni(true);
    }
    for r in &h.regions {
        b = b.regions(r53::types::HealthCheckRegion::from(r.as_str()));
    }
    b.build().map_err(|e| ProviderError::Invalid(e.to_string()))
}

impl Provider for AwsProvider {
    fn source(&self) -> LiveSource {
        self.source.clone()
    }

    fn read(&self, scope: &Scope) -> Result<LiveState, ProviderError> {
        self.rt.block_on(self.read_all(scope))
    }

    fn check_limit(&self) -> super::CheckLimit {
        let req = self
            .route53
            .get_account_limit()
            .r#type(r53::types::AccountLimitType::MaxHealthChecksByOwner);
        match self.rt.block_on(self.r53("GetAccountLimit", || req.clone().send())) {
            Ok(out) => match out.limit() {
                Some(l) => super::CheckLimit::Known {
                    limit: u64::try_from(l.value()).unwrap_or(0),
                    count: u64::try_from(out.count()).unwrap_or(0),
                },
                None => super::CheckLimit::Unknown {
                    why: "GetAccountLimit answered without a limit".into(),
                },
            },
            Err(ProviderError::Io(m)) if m.contains("not an AWS response") => {
                super::CheckLimit::Unknown {
                    why: "the endpoint did not answer GetAccountLimit as AWS does; a test server may not implement it".into(),
                }
            }
            Err(e) => super::CheckLimit::Unknown { why: e.to_string() },
        }
    }

    fn apply(&self, ops: &[Op], parallelism: usize) -> Vec<Result<Done, ProviderError>> {
        // Independent operations run concurrently, at most `parallelism` at once; the Route 53
        // rate limiter still spaces its calls.
        // buffer_unordered starts the next operation as one finishes and polls only the
        // operations that were woken: the CPU per call stays the same however many there are.
        use futures_util::stream::{self, StreamExt};
        self.rt.block_on(async {
            let mut out: Vec<Option<Result<Done, ProviderError>>> = vec![None; ops.len()];
            let mut running = stream::iter(ops.iter().enumerate())
                .map(|(i, op)| async move { (i, self.run(op).await) })
                .buffer_unordered(parallelism.clamp(1, 1024));
            while let Some((i, result)) = running.next().await {
                out[i] = Some(result);
            }
            let mut out: Vec<Result<Done, ProviderError>> = out
                .into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| Err(ProviderError::Io("the operation did not run".into())))
                })
                .collect();
            self.read_back_checks(ops, &mut out).await;
            out
        })
    }

    fn batch_stats(&self) -> Option<super::BatchStats> {
        self.batches.lock().ok().map(|s| *s)
    }

    fn stats(&self) -> BTreeMap<String, usize> {
        self.calls()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: ChangeAction, name: &str, values: usize) -> RecordChange {
        RecordChange {
            action,
            record: RecordSet {
                zone: "z".into(),
                name: name.into(),
                record_type: RecordType::A,
                set_identifier: None,
                ttl: Some(60),
                values: (0..values).map(|i| format!("192.0.2.{i}")).collect(),
                alias: None,
                routing: RoutingPolicy::Simple,
                health_check_id: None,
            },
        }
    }

    #[test]
    fn batches_respect_the_element_limit_and_count_upserts_twice() {
        let creates: Vec<_> = (0..2500)
            .map(|i| change(ChangeAction::Create, &format!("n{i}"), 1))
            .collect();
        let b = split_batches(&creates);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        let upserts: Vec<_> = (0..600)
            .map(|i| change(ChangeAction::Upsert, &format!("n{i}"), 1))
            .collect();
        assert_eq!(split_batches(&upserts).len(), 2);
    }

    #[test]
    fn a_delete_and_create_of_one_name_stay_in_one_batch() {
        let mut c: Vec<_> = (0..999)
            .map(|i| change(ChangeAction::Create, &format!("n{i}"), 1))
            .collect();
        c.push(change(ChangeAction::Delete, "x", 1));
        c.push(change(ChangeAction::Create, "x", 1));
        let b = split_batches(&c);
        assert_eq!(b.len(), 2);
        let with_x: Vec<_> = b
            .iter()
            .filter(|b| b.iter().any(|c| c.record.name == "x"))
            .collect();
        assert_eq!(with_x.len(), 1, "x is split across batches");
        let actions: Vec<_> = with_x[0]
            .iter()
            .filter(|c| c.record.name == "x")
            .map(|c| c.action)
            .collect();
        assert_eq!(actions, [ChangeAction::Delete, ChangeAction::Create]);
    }

    /// An alias to a record of the same zone travels with its target, even when packing would
    /// put it first.
    #[test]
    fn an_alias_to_a_record_of_the_same_zone_is_batched_with_its_target() {
        let mut c: Vec<_> = (0..999)
            .map(|i| change(ChangeAction::Create, &format!("n{i}"), 1))
            .collect();
        c.push(change(ChangeAction::Create, "target.example.com", 1));
        let mut alias = change(ChangeAction::Create, "www.example.com", 0);
        alias.record.alias = Some(crate::graph::AliasTarget {
            dns_name: "target.example.com.".into(),
            hosted_zone_id: "Z1".into(),
            evaluate_target_health: false,
        });
        c.push(alias);
        let b = split_batches(&c);
        let home = |name: &str| {
            b.iter()
                .position(|b| b.iter().any(|c| c.record.name == name))
        };
        assert!(home("www.example.com").is_some());
        assert_eq!(home("www.example.com"), home("target.example.com"));
    }

    /// A service's marker and its records: one change per region plus the marker.
    fn service(i: usize, regions: usize, ips: usize, action: ChangeAction) -> Vec<RecordChange> {
        let name = format!("svc{i}.example.com");
        let mut marker = change(action, &format!("_meridian.{name}"), 1);
        marker.record.record_type = RecordType::Txt;
        marker.record.values = vec![format!(
            "\"meridian v=3 id=t-0123456789abcdef s={:08x}\"",
            i
        )];
        let mut out = vec![marker];
        for r in 0..regions {
            let mut c = change(action, &name, ips);
            c.record.set_identifier = Some(format!("svc{i}-r{r}"));
            out.push(c);
        }
        out
    }

    fn check_packing(changes: &[RecordChange]) {
        let b = split_batches(changes);
        assert_eq!(b.iter().map(Vec::len).sum::<usize>(), changes.len());
        let mut home: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, batch) in b.iter().enumerate() {
            let (e, c) = batch
                .iter()
                .map(|c| batch_cost(c))
                .fold((0, 0), |a, x| (a.0 + x.0, a.1 + x.1));
            assert!(
                e <= MAX_BATCH_ELEMENTS && c <= MAX_BATCH_CHARS,
                "batch {k}: {e} elements, {c} chars"
            );
            for ch in batch {
                let n = ch.record.name.as_str();
                let owner = crate::dns::marker_domain(n).unwrap_or(n);
                assert_eq!(*home.entry(owner).or_insert(k), k, "{owner} spans batches");
            }
        }
        let bound = batch_lower_bound(changes);
        assert!(
            b.len() <= bound + 1,
            "{} batches, lower bound {bound}",
            b.len()
        );
    }

    /// 3,000 services x 3 regions, created: 12,000 elements, so 12 batches (the marker-first
    /// packing took 13), each service's marker beside its records.
    #[test]
    fn markers_travel_with_their_records_and_batches_meet_the_lower_bound() {
        let changes: Vec<RecordChange> = (0..3000)
            .flat_map(|i| service(i, 3, 1, ChangeAction::Create))
            .collect();
        assert_eq!(batch_lower_bound(&changes), 12);
        assert_eq!(split_batches(&changes).len(), 12);
        check_packing(&changes);
    }

    proptest::proptest! {
        /// Designs of every shape (1 to 5 regions, 1 to 8 addresses per record, creates,
        /// upserts and deletes) pack within the limits, keep each name in one batch, and need
        /// at most one batch more than the lower bound.
        #[test]
        fn any_design_packs_within_one_batch_of_the_bound(
            shapes in proptest::collection::vec((1usize..=5, 1usize..=8, 0u8..3), 1..1500)
        ) {
            let changes: Vec<RecordChange> = shapes
                .iter()
                .enumerate()
                .flat_map(|(i, (regions, ips, a))| {
                    let action = match a {
                        0 => ChangeAction::Create,
                        1 => ChangeAction::Upsert,
                        _ => ChangeAction::Delete,
                    };
                    service(i, *regions, *ips, action)
                })
                .collect();
            check_packing(&changes);
        }
    }

    #[test]
    fn a_type_change_across_regions_deletes_every_old_record_first() {
        let mut c = Vec::new();
        for region in ["eu", "us"] {
            c.push(change(ChangeAction::Delete, "api", 1));
            c.last_mut().unwrap().record.set_identifier = Some(format!("api-{region}"));
        }
        for region in ["eu", "us"] {
            let mut x = change(ChangeAction::Create, "api", 1);
            x.record.record_type = RecordType::Cname;
            x.record.set_identifier = Some(format!("api-{region}"));
            c.push(x);
        }
        let b = split_batches(&c);
        assert_eq!(b.len(), 1);
        let actions: Vec<&str> = b[0].iter().map(|c| c.action.as_str()).collect();
        assert_eq!(actions, ["DELETE", "DELETE", "CREATE", "CREATE"]);
    }

    /// A replacement (DELETE and CREATE of one key) read back after a lost answer is judged by
    /// the state it leaves: applied when the new values are live, untouched when the old are.
    #[test]
    fn a_read_back_judges_a_replacement_by_its_end_state() {
        let old = change(ChangeAction::Delete, "api", 1);
        let mut new = change(ChangeAction::Create, "api", 2);
        new.record.ttl = Some(30);
        let other = change(ChangeAction::Create, "www", 1);
        let batch = [&old, &new, &other];
        let applied = [new.record.clone(), other.record.clone()];
        assert!(matches!(batch_state(&batch, &applied), BatchState::Applied));
        let untouched = [old.record.clone()];
        assert!(matches!(
            batch_state(&batch, &untouched),
            BatchState::Untouched
        ));
        let mixed = [old.record.clone(), other.record.clone()];
        assert!(matches!(batch_state(&batch, &mixed), BatchState::Mixed));
    }

    /// moto 5.2.1 returns `TTL: 0` on alias records; real Route 53 omits it. Either way the
    /// record read back is the one Meridian wrote, so the plan converges.
    #[test]
    fn an_alias_read_back_with_a_ttl_has_none_and_a_stray_weight_is_dropped() {
        let alias = r53::types::AliasTarget::builder()
            .dns_name("lb-1.us-east-1.elb.amazonaws.com.")
            .hosted_zone_id("Z35SXDOTRQ7X7K")
            .evaluate_target_health(true)
            .build()
            .unwrap();
        let read = r53::types::ResourceRecordSet::builder()
            .name("api.example.com.")
            .r#type(r53::types::RrType::A)
            .set_identifier("api-us-east-1")
            .ttl(0)
            .weight(0)
            .region(r53::types::ResourceRecordSetRegion::UsEast1)
            .alias_target(alias)
            .build()
            .unwrap();
        let r = convert_record("example.com", "api.example.com", &read);
        assert_eq!(r.ttl, None);
        assert_eq!(
            r.routing,
            RoutingPolicy::Latency {
                region: "us-east-1".into()
            }
        );
        // Written back, it carries exactly one routing setting and no TTL.
        let written = record_set(&r).unwrap();
        assert_eq!(written.ttl(), None);
        assert_eq!(written.weight(), None);
        assert!(written.region().is_some());
    }

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape("\\052.example.com."), "*.example.com.");
        assert_eq!(unescape("plain"), "plain");
    }
}

#[cfg(test)]
mod order_tests {
    use super::route53_order;
    use crate::dns::{ChangeAction, RecordType, RoutingPolicy};
    use crate::provider::{RecordChange, RecordSet};

    fn change(action: ChangeAction, name: &str, alias_to: Option<&str>) -> RecordChange {
        RecordChange {
            action,
            record: RecordSet {
                zone: "example.com".into(),
                name: name.into(),
                record_type: RecordType::Cname,
                set_identifier: Some(name.into()),
                ttl: alias_to.is_none().then_some(60),
                values: Vec::new(),
                alias: alias_to.map(|t| crate::graph::AliasTarget {
                    dns_name: t.into(),
                    hosted_zone_id: "Z1".into(),
                    evaluate_target_health: true,
                }),
                routing: RoutingPolicy::Simple,
                health_check_id: None,
            },
        }
    }

    /// A tree written in one batch: the nested pair, then the pair (its secondary aliases the
    /// nested one), then the latency alias; deletes first, an alias before its target.
    #[test]
    fn aliases_follow_the_targets_they_write_and_precede_those_they_delete() {
        use ChangeAction::*;
        let batch = [
            change(Create, "api", Some("p1")),
            change(Create, "p1", None),
            change(Create, "p1", Some("p2")),
            change(Create, "p2", None),
            change(Delete, "old", None),
            change(Delete, "gone", Some("old")),
            change(Upsert, "other", None),
        ];
        let refs: Vec<&RecordChange> = batch.iter().collect();
        let order = route53_order(&refs);
        assert_eq!(order, vec![5, 4, 1, 3, 6, 2, 0]);
    }
}
