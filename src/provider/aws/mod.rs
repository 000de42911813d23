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
//!
//! The files: `retry.rs` (errors, the rate limiter, retries), `read.rs` (one plan's reads),
//! `write.rs` (operations, batches sent and awaited), `batch.rs` (packing record changes into
//! Route 53's batches), `convert.rs` (SDK types to and from Meridian's).

mod batch;
mod convert;
mod read;
mod retry;
mod write;

use super::*;
use aws_config::BehaviorVersion;
use aws_sdk_ecr as ecr;
use aws_sdk_route53 as r53;
use aws_sdk_route53::error::ProvideErrorMetadata;
use batch::*;
pub use batch::{batch_lower_bound, split_batches};
use convert::*;
pub(crate) use retry::sdk_error;
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
    /// `ListHealthChecks` pages the account's checks took when last listed (0: not yet): a
    /// read-back of a few deletions asks for each by id when that costs fewer calls.
    check_pages: std::sync::atomic::AtomicUsize,
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
            check_pages: std::sync::atomic::AtomicUsize::new(0),
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
