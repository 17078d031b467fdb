//! Metrics: the instrumentation points (through the [`metrics`] facade) and the Prometheus
//! text they are read as (`metrics.path`, optionally on its own `metrics.listen` address).
//!
//! Every metric is named `auth_*`, carries only labels from small fixed sets (static strings,
//! or a provider id from the config) and never an email, id, address or token.
//!
//! **One recorder per process.** The `metrics` facade has one global recorder. The first
//! [`AuthService`](crate::AuthService) that starts with `metrics.path` installs the Prometheus
//! recorder ([`install`]) and keeps its handle in a `OnceLock`; later services (with metrics on)
//! reuse that handle, so several services in one process (tests, or two apps) work and share the
//! counters. Before that, and in a process where no service enables metrics, the facade's
//! no-op recorder makes each instrumentation point a few nanoseconds. A process that installed
//! its own recorder before gets the `auth_*` metrics there, and a service with `metrics.path`
//! refuses to start (its endpoint could not show them). The guard's counters are handles taken
//! when a service starts: a recorder installed after that does not see that service's guard
//! decisions (install it first).
//!
//! The guard's hot path increments counter handles registered when the service starts
//! ([`GuardCounters`]): no allocation, key build or registry lookup per request.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The `Content-Type` of the Prometheus text exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `auth_logins_total{method,outcome}`.
pub(crate) const LOGINS: &str = "auth_logins_total";
/// `auth_lockouts_total`.
pub(crate) const LOCKOUTS: &str = "auth_lockouts_total";
/// `auth_guard_decisions_total{decision}`.
pub(crate) const GUARD_DECISIONS: &str = "auth_guard_decisions_total";
/// `auth_session_cache_requests_total{result}`.
pub(crate) const SESSION_CACHE: &str = "auth_session_cache_requests_total";
/// `auth_password_hash_queue_depth`.
pub(crate) const HASH_QUEUE: &str = "auth_password_hash_queue_depth";
/// `auth_password_hash_wait_seconds`.
pub(crate) const HASH_WAIT: &str = "auth_password_hash_wait_seconds";
/// `auth_idp_request_duration_seconds{provider,endpoint}`.
pub(crate) const IDP_DURATION: &str = "auth_idp_request_duration_seconds";
/// `auth_idp_request_errors_total{provider,endpoint}`.
pub(crate) const IDP_ERRORS: &str = "auth_idp_request_errors_total";
/// `auth_store_errors_total{kind}`.
pub(crate) const STORE_ERRORS: &str = "auth_store_errors_total";

/// Histogram buckets (seconds) for both latency histograms: argon2 waits are milliseconds to
/// seconds under load, IdP calls milliseconds up to the 15 s client timeout.
const BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0];

/// How often histogram samples are folded into their buckets when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's Prometheus recorder: installed on the first call, the same handle afterwards.
/// `Err` when another global recorder was installed first (the message says what to do).
pub(crate) fn install() -> Result<PrometheusHandle, String> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .map_err(|e| e.to_string())?;
            let handle = builder.install_recorder().map_err(|e| {
                format!(
                    "metrics.path: this process already has a global `metrics` recorder ({e}); the auth_* metrics \
                     go to it: export them with it and remove metrics.path"
                )
            })?;
            describe();
            let upkeep = handle.clone();
            // A plain thread, not a task: it must outlive whichever runtime started the first service.
            let spawned = std::thread::Builder::new().name("auth-metrics-upkeep".into()).spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the metrics upkeep thread; histograms are folded at each scrape");
            }
            Ok(handle)
        })
        .clone()
}

/// Help texts and units, shown as `# HELP` lines.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        LOGINS,
        "Sign-in attempts by method (password, oidc) and outcome (success or the error code answered)"
    );
    describe_counter!(LOCKOUTS, "Login lockouts started (an account or client reached its failure limit)");
    describe_counter!(GUARD_DECISIONS, "Decisions of the guard on application requests");
    describe_counter!(
        SESSION_CACHE,
        "Guarded requests with a session token: hit = decided from the per-instance cache, miss = token verification or store read needed"
    );
    describe_gauge!(HASH_QUEUE, "Password hashing jobs (argon2id, strength checks) waiting for a hashing slot");
    describe_histogram!(HASH_WAIT, Unit::Seconds, "Time a password hashing job waited for a hashing slot");
    describe_histogram!(IDP_DURATION, Unit::Seconds, "Duration of HTTP requests to identity providers");
    describe_counter!(IDP_ERRORS, "HTTP requests to identity providers that failed or got an error status");
    describe_counter!(STORE_ERRORS, "Store failures answered with 503 (kind: unavailable, corrupt)");
}

/// How a sign-in was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginMethod {
    Password,
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    Oidc,
}

/// One sign-in attempt; `outcome` is `success` or the error code answered.
pub(crate) fn login(method: LoginMethod, outcome: &'static str) {
    let method = match method {
        LoginMethod::Password => "password",
        LoginMethod::Oidc => "oidc",
    };
    metrics::counter!(LOGINS, "method" => method, "outcome" => outcome).increment(1);
    tracing::Span::current().record("auth.outcome", outcome);
}

/// A lockout started.
pub(crate) fn lockout() {
    metrics::counter!(LOCKOUTS).increment(1);
}

/// What the guard decided for one application request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardDecision {
    /// A valid session: the user goes to the handler.
    Allowed,
    /// A public path without (valid) session: through, without a user.
    Anonymous,
    /// No valid session: 401.
    Unauthenticated,
    /// No valid session on a browser navigation: 303 to the login page.
    Redirected,
    /// A cross-site unsafe request with the cookie: 403.
    CsrfRejected,
    /// The store could not be asked: 503 (fail closed).
    Unavailable,
}

impl GuardDecision {
    /// The label value (also the span's `auth.outcome`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Anonymous => "anonymous",
            Self::Unauthenticated => "unauthenticated",
            Self::Redirected => "redirected",
            Self::CsrfRejected => "csrf_rejected",
            Self::Unavailable => "unavailable",
        }
    }
}

/// The guard's counters, registered once per service ([`crate::AuthService`] start) and
/// incremented through their handles: the hot path then costs one atomic add per counter (or
/// nothing, with the no-op recorder), not a key build and a registry lookup per request.
///
/// Registered after the service installed its Prometheus recorder (`metrics.path`), so they
/// land there; a recorder the application installs itself must be installed before the service
/// starts (as for any `metrics` handle).
pub(crate) struct GuardCounters {
    allowed: metrics::Counter,
    anonymous: metrics::Counter,
    unauthenticated: metrics::Counter,
    redirected: metrics::Counter,
    csrf_rejected: metrics::Counter,
    unavailable: metrics::Counter,
    cache_hit: metrics::Counter,
    cache_miss: metrics::Counter,
}

impl GuardCounters {
    pub(crate) fn register() -> Self {
        Self {
            allowed: metrics::counter!(GUARD_DECISIONS, "decision" => "allowed"),
            anonymous: metrics::counter!(GUARD_DECISIONS, "decision" => "anonymous"),
            unauthenticated: metrics::counter!(GUARD_DECISIONS, "decision" => "unauthenticated"),
            redirected: metrics::counter!(GUARD_DECISIONS, "decision" => "redirected"),
            csrf_rejected: metrics::counter!(GUARD_DECISIONS, "decision" => "csrf_rejected"),
            unavailable: metrics::counter!(GUARD_DECISIONS, "decision" => "unavailable"),
            cache_hit: metrics::counter!(SESSION_CACHE, "result" => "hit"),
            cache_miss: metrics::counter!(SESSION_CACHE, "result" => "miss"),
        }
    }

    /// One guard decision.
    pub(crate) fn guard(&self, decision: GuardDecision) {
        let counter = match decision {
            GuardDecision::Allowed => &self.allowed,
            GuardDecision::Anonymous => &self.anonymous,
            GuardDecision::Unauthenticated => &self.unauthenticated,
            GuardDecision::Redirected => &self.redirected,
            GuardDecision::CsrfRejected => &self.csrf_rejected,
            GuardDecision::Unavailable => &self.unavailable,
        };
        counter.increment(1);
    }

    /// A guarded request's session token was (`hit`) or was not answered from the cache.
    pub(crate) fn session_cache(&self, hit: bool) {
        if hit { &self.cache_hit } else { &self.cache_miss }.increment(1);
    }
}

/// A password hashing job is queued for a slot until this is dropped (also when the waiting
/// request is cancelled).
pub(crate) struct HashQueued(std::time::Instant);

impl HashQueued {
    pub(crate) fn enter() -> Self {
        metrics::gauge!(HASH_QUEUE).increment(1.0);
        Self(std::time::Instant::now())
    }
}

impl Drop for HashQueued {
    fn drop(&mut self) {
        metrics::gauge!(HASH_QUEUE).decrement(1.0);
        metrics::histogram!(HASH_WAIT).record(self.0.elapsed().as_secs_f64());
    }
}

/// Which IdP endpoint a request went to.
#[cfg(feature = "oidc")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdpEndpoint {
    Discovery,
    Jwks,
    Token,
    Userinfo,
}

#[cfg(feature = "oidc")]
impl IdpEndpoint {
    fn as_str(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::Jwks => "jwks",
            Self::Token => "token",
            Self::Userinfo => "userinfo",
        }
    }
}

/// One request to an IdP: its duration, and whether it failed (transport, size cap, or an
/// error status). `provider` is the provider's configured id.
#[cfg(feature = "oidc")]
pub(crate) fn idp_request(provider: &std::sync::Arc<str>, endpoint: IdpEndpoint, took: Duration, failed: bool) {
    let provider = metrics::SharedString::from(std::sync::Arc::clone(provider));
    let endpoint = endpoint.as_str();
    metrics::histogram!(IDP_DURATION, "provider" => provider.clone(), "endpoint" => endpoint)
        .record(took.as_secs_f64());
    if failed {
        metrics::counter!(IDP_ERRORS, "provider" => provider, "endpoint" => endpoint).increment(1);
    }
}

/// What went wrong with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreErrorKind {
    Unavailable,
    Corrupt,
}

/// A store failure mapped to 503.
pub(crate) fn store_error(kind: StoreErrorKind) {
    let counter = match kind {
        StoreErrorKind::Unavailable => metrics::counter!(STORE_ERRORS, "kind" => "unavailable"),
        StoreErrorKind::Corrupt => metrics::counter!(STORE_ERRORS, "kind" => "corrupt"),
    };
    counter.increment(1);
}

/// Serves `GET path` (and `HEAD`) with the Prometheus text on `listener` until `stop` resolves
/// (the service is dropped); every other request is 404. HTTP/1.1 only: scrapers need no more.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    path: String,
    handle: PrometheusHandle,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let path: std::sync::Arc<str> = path.into();
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (path, handle) = (std::sync::Arc::clone(&path), handle.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let answer = scrape_answer(req.method().as_str(), req.uri().path(), &path, &handle);
                async move { Ok::<_, std::convert::Infallible>(answer) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn scrape_answer(
    method: &str,
    path: &str,
    want: &str,
    handle: &PrometheusHandle,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let (status, content_type, body) = match (method, path == want) {
        ("GET" | "HEAD", true) => (200, CONTENT_TYPE, handle.render()),
        (_, true) => (405, "text/plain; charset=utf-8", "method not allowed\n".to_string()),
        _ => (404, "text/plain; charset=utf-8", "not found\n".to_string()),
    };
    let body = if method == "HEAD" { String::new() } else { body };
    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::NOT_FOUND);
    let headers = resp.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    headers.insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    if status == 405 {
        headers.insert(http::header::ALLOW, http::HeaderValue::from_static("GET, HEAD"));
    }
    resp
}

/// Binds `addr` for [`serve`]; the error names the key and the address.
pub(crate) async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("metrics.listen: cannot listen on {addr}: {e}"))
}
