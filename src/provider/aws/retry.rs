//! Errors in words, Route 53's request slots, and the retries of throttled or failed calls.

use super::*;

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
pub(super) fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
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

pub(super) type R53Error<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

/// Codes that mean AWS refused the request without acting on it: retried, even a write.
pub(super) const REFUSED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "PriorRequestNotComplete",
    "RequestLimitExceeded",
];

/// Server errors: retried, but a write that got one may have been acted on.
pub(super) const SERVER: &[&str] = &["ServiceUnavailable", "InternalFailure", "ServerException"];

/// Whether a code is worth retrying (for the retry decision and the final message alike).
pub(super) fn retryable(code: &str) -> bool {
    REFUSED.contains(&code) || SERVER.contains(&code)
}

/// Retries after throttling or a server error, at most this many.
pub(super) const MAX_RETRIES: u32 = 7;

pub(super) enum Retry {
    No,
    /// The request may or may not have reached AWS (connection reset, timeout, garbage reply).
    Connection,
    /// AWS refused it without acting (throttling, a zone busy with a batch).
    Throttled,
    /// A server error: most likely not acted on, but not certainly.
    Server,
}

pub(super) fn retry_kind<E: ProvideErrorMetadata>(e: &R53Error<E>) -> Retry {
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
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(200)
        .saturating_mul(1u32 << attempt.min(6))
        .min(Duration::from_secs(10));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + base.mul_f64(f64::from(nanos % 250) / 1000.0)
}

impl AwsProvider {
    /// Waits for a Route 53 request slot.
    pub(super) async fn route53_slot(&self, op: &'static str) {
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
    pub(super) async fn r53<T, E, F, Fut>(
        &self,
        op: &'static str,
        call: F,
    ) -> Result<T, ProviderError>
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
    pub(super) async fn r53_with<T, E, F, Fut>(
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
}
