//! [`AuthService`]: the one facade the adapters call. Cheap to clone (one `Arc`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{AuthConfig, JwtSecretSource};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::password::PasswordHasher;
use crate::secret::Secret;
use crate::session::{CookieSpec, CurrentUser, SessionCache, SessionState, TokenCodec, TokenEntry};
use crate::store::{AuditSource, CacheEvent, Pushed, SessionId, Store, StoreError};
use crate::throttle::{DeviceCookies, Throttle};
use crate::time::now;

/// Failure to start the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartupError {
    /// The store could not be opened or migrated.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// What the guard decided for a request that is not an auth route.
#[derive(Debug)]
pub enum GuardOutcome {
    /// Let the request through; `user` is the signed-in user, if any. `set_cookie` (a refreshed
    /// session cookie) must be added to the application's response.
    Allow {
        /// The signed-in user.
        user: Option<CurrentUser>,
        /// A `Set-Cookie` value to append to the response.
        set_cookie: Option<String>,
    },
    /// Answer with this response instead of calling the application.
    Respond(AuthResponse),
}

/// What the cache-only guard ([`AuthService::guard_cached`]) could decide.
#[derive(Debug)]
pub enum Cached {
    /// Decided without I/O.
    Decided(GuardOutcome),
    /// The token or its session is not (freshly) cached: call [`AuthService::guard`].
    CallGuard,
}

/// Which part of the stack answers a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// An `/api/v1/auth/*` route or a built-in page: read the body, call [`AuthService::handle`].
    Auth,
    /// An application route behind the guard: call [`AuthService::guard`].
    Guarded,
    /// A `publicPaths` entry: the guard attaches a user if there is one, never refuses.
    Public,
}

pub use crate::http::API_PREFIX;

/// How a session was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carrier {
    Cookie,
    Bearer,
}

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) passwords: PasswordHasher,
    /// The session key ring; replaced when the stored keys rotate.
    pub(crate) tokens: std::sync::RwLock<Arc<TokenCodec>>,
    /// When the key ring was last read from the store.
    pub(crate) keys_read_at: tokio::sync::Mutex<Instant>,
    pub(crate) cache: SessionCache,
    pub(crate) throttle: Throttle,
    pub(crate) devices: DeviceCookies,
    pub(crate) cookie: CookieSpec,
    pub(crate) public_origin: String,
    pub(crate) mailer: Option<crate::mail::Mailer>,
    pub(crate) oidc: Option<crate::oidc::Oidc>,
    pub(crate) assets: crate::assets::Assets,
    /// What audit events from this service name as their source.
    pub(crate) audit_source: crate::store::AuditSource,
    /// Password-reset and verification requests per client address and hour.
    pub(crate) recovery_per_client: crate::rate::WindowLimiter,
    /// ... and per email address and hour.
    pub(crate) recovery_per_address: crate::rate::WindowLimiter,
    /// Invitations per organization and hour.
    pub(crate) invitations_limit: crate::rate::WindowLimiter,
    /// The OpenAPI document, built on first use (`routes::openapi`).
    pub(crate) openapi: std::sync::OnceLock<Vec<u8>>,
    /// Whether the "no client address" warning was logged.
    pub(crate) peer_warned: std::sync::atomic::AtomicBool,
    /// Whether the "forwarding headers but no trusted proxy" warning was logged.
    pub(crate) forwarded_warned: std::sync::atomic::AtomicBool,
    /// The Prometheus endpoint, when `metrics.path` is set.
    pub(crate) metrics: Option<MetricsEndpoint>,
    /// The guard's counter handles (registered after `metrics` installed its recorder).
    pub(crate) counters: crate::telemetry::GuardCounters,
}

/// The Prometheus endpoint of a service with `metrics.path` (see [`crate::telemetry`]).
pub(crate) struct MetricsEndpoint {
    /// The process's recorder.
    pub(crate) handle: metrics_exporter_prometheus::PrometheusHandle,
    /// `metrics.path`.
    pub(crate) path: String,
    /// Served by the layer on the app's port (no `metrics.listen`).
    pub(crate) on_app: bool,
    /// Stops the `metrics.listen` server when the service is dropped.
    _stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MetricsEndpoint {
    /// Installs (or reuses) the recorder and, with `metrics.listen`, starts its own server.
    async fn start(config: &crate::config::MetricsConfig) -> Result<Option<Self>, StartupError> {
        let Some(path) = &config.path else { return Ok(None) };
        let handle = crate::telemetry::install().map_err(StartupError::Config)?;
        let stop = match config.listen {
            Some(addr) => {
                let listener = crate::telemetry::bind(addr).await.map_err(StartupError::Config)?;
                let (tx, rx) = tokio::sync::oneshot::channel();
                tokio::spawn(crate::telemetry::serve(listener, path.clone(), handle.clone(), rx));
                tracing::info!(%addr, path = %path, "Prometheus metrics served on their own address");
                Some(tx)
            }
            None => {
                tracing::info!(
                    path = %path,
                    "Prometheus metrics served on the app's port without a session; prefer metrics.listen \
                     (a separate address) or block the path at the proxy"
                );
                None
            }
        };
        Ok(Some(Self { handle, path: path.clone(), on_app: stop.is_none(), _stop: stop }))
    }
}

/// The authentication service shared by both adapters.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let config = auth_core::AuthConfig::load()?;
/// let service = auth_core::AuthService::new(config).await?;
/// // hand `service` to auth_tower::AuthLayer::new(service) or auth_actix::AuthMiddleware::new(service)
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AuthService {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("public_url", &self.inner.config.public_url.as_str())
            .finish_non_exhaustive()
    }
}

/// A signed-in session to hand back to the client.
pub(crate) struct IssuedSession {
    pub(crate) cookie: String,
    pub(crate) user: CurrentUser,
    /// The device cookie (`Set-Cookie`) a password sign-in hands out, see [`crate::throttle`].
    pub(crate) device_cookie: Option<String>,
}

impl AuthService {
    /// Opens the configured store (`database.url`) and builds the service.
    pub async fn new(config: AuthConfig) -> Result<Self, StartupError> {
        let store = crate::store::open(&config.database_url, &config.database_pool).await?;
        Self::with_store(config, store).await
    }

    /// Builds the service on an existing store.
    pub async fn with_store(config: AuthConfig, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let (tokens, secret) = key_ring(&config, &*store).await?;
        if matches!(config.jwt_secret, JwtSecretSource::Generate) {
            tracing::warn!(
                "no jwtSecret configured: using a random secret persisted in the store; \
                 configure basicAuth.jwtSecret (or existingSecretName) to share it with other services"
            );
        }
        let passwords = password_hasher(&config).await?;
        for p in &config.oidc {
            if !p.verify_ssl {
                tracing::warn!(
                    provider = %p.id,
                    "OIDC_VERIFY_SSL=false: TLS certificates of the identity provider are NOT verified. \
                     Use only with a test IdP; prefer oidc.caCertFile"
                );
            }
        }
        let mailer = config.smtp.as_ref().map(crate::mail::Mailer::new).transpose().map_err(StartupError::Config)?;
        let oidc = if config.oidc.is_empty() {
            None
        } else {
            let oidc = crate::oidc::Oidc::new(&config, &secret).map_err(StartupError::Config)?;
            oidc.warm_up();
            Some(oidc)
        };
        let metrics = MetricsEndpoint::start(&config.metrics).await?;
        let parts = Parts { store, passwords, tokens, secret, mailer, oidc, metrics, source: AuditSource::Http };
        let inner = Inner::new(config, parts);
        let inner = Arc::new(inner);
        if let Some(events) = inner.store.subscribe() {
            tokio::spawn(apply_pushed(Arc::downgrade(&inner), events));
        }
        if matches!(inner.config.jwt_secret, JwtSecretSource::Generate) {
            tokio::spawn(reread_keys(Arc::downgrade(&inner)));
        }
        tokio::spawn(prune_audit(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The service for the operator's command line (`auth-admin`): audit events name the
    /// source `cli`, and nothing runs in the background (no IdP discovery, no listener).
    pub async fn for_operator(mut config: AuthConfig) -> Result<Self, StartupError> {
        let store = crate::store::open(&config.database_url, &config.database_pool).await?;
        // The IdPs are not needed to administer accounts.
        config.oidc.clear();
        let (tokens, secret) = key_ring(&config, &*store).await?;
        let passwords = password_hasher(&config).await?;
        let mailer = config.smtp.as_ref().map(crate::mail::Mailer::new).transpose().map_err(StartupError::Config)?;
        let parts =
            Parts { store, passwords, tokens, secret, mailer, oidc: None, metrics: None, source: AuditSource::Cli };
        let inner = Inner::new(config, parts);
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The key ring that signs and verifies session tokens now.
    pub(crate) fn codec(&self) -> Arc<TokenCodec> {
        Arc::clone(&self.inner.tokens.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Reads the key ring from the config and the store again (after `auth-admin keys rotate`).
    pub(crate) async fn reload_keys(&self) -> Result<(), AuthError> {
        let (codec, _) = key_ring(&self.inner.config, &*self.inner.store).await.map_err(|e| match e {
            StartupError::Store(e) => AuthError::from(e),
            _ => AuthError::Unavailable,
        })?;
        *self.inner.tokens.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(codec);
        *self.inner.keys_read_at.lock().await = Instant::now();
        Ok(())
    }

    /// The longest a session lives (`session.absoluteTimeout`), in seconds.
    pub(crate) fn longest_session_secs(&self) -> i64 {
        i64::try_from(self.inner.config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX)
    }

    /// Revokes sessions in this instance's cache and tells the other instances (at once on
    /// PostgreSQL; elsewhere they notice within `revalidateAfter`). The store already holds
    /// the revocation: a failed notification is logged, and the other instances' next
    /// revalidation still refuses the session.
    pub(crate) async fn revoke_cached<S: AsRef<str>>(&self, sids: impl IntoIterator<Item = S>) {
        for sid in sids {
            let sid = sid.as_ref();
            self.inner.cache.revoke(sid);
            self.announce(CacheEvent::Revoked(sid.into())).await;
        }
    }

    /// Forgets sessions whose grants changed (roles, name) here and on the other instances.
    pub(crate) async fn forget_cached<S: AsRef<str>>(&self, sids: impl IntoIterator<Item = S>) {
        for sid in sids {
            let sid = sid.as_ref();
            self.inner.cache.forget(sid);
            self.announce(CacheEvent::Changed(sid.into())).await;
        }
    }

    async fn announce(&self, event: CacheEvent) {
        if let Err(e) = self.inner.store.publish(&event).await {
            tracing::warn!(error = %e, "could not tell the other instances about a session change");
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        self.inner.cookie.name()
    }

    /// The guard without any I/O: answers from the per-instance cache when it can (a token
    /// verified before, a session validated within `revalidateAfter`); otherwise
    /// [`Cached::CallGuard`].
    ///
    /// A decision made here is counted (`auth_guard_decisions_total`, and a cache hit when a
    /// token was presented) and leaves one `auth.guard` span; [`Cached::CallGuard`] is counted
    /// as a cache miss and leaves the span to [`AuthService::guard`].
    pub fn guard_cached(&self, req: &RequestView<'_>, kind: RouteKind) -> Cached {
        let (cached, presented) = self.guard_from_cache(req, kind);
        if presented {
            self.inner.counters.session_cache(matches!(cached, Cached::Decided(_)));
        }
        if let Cached::Decided(outcome) = &cached {
            let span = guard_span(req);
            note_guard(&self.inner.counters, &span, outcome);
        }
        cached
    }

    fn guard_from_cache(&self, req: &RequestView<'_>, kind: RouteKind) -> (Cached, bool) {
        let (token, carrier) = self.presented(req);
        let Some(token) = token else {
            return (Cached::Decided(self.deny(req, kind, false)), false);
        };
        let Some(entry) = self.inner.cache.token(token) else { return (Cached::CallGuard, true) };
        let now = now();
        if entry.exp < now {
            return (Cached::Decided(self.deny(req, kind, carrier == Carrier::Cookie)), true);
        }
        let Some(state) = self.inner.cache.session(&entry.sid) else { return (Cached::CallGuard, true) };
        if !self.inner.cache.fresh(&state) {
            return (Cached::CallGuard, true);
        }
        (Cached::Decided(self.decide(req, kind, carrier, &entry, &state, now)), true)
    }

    /// The guard: verifies the session (cookie or bearer), re-validating it against the store
    /// when `revalidateAfter` has passed. Fails closed (503) when the store is unreachable.
    /// Counted and traced like [`AuthService::guard_cached`] (one `auth.guard` span).
    pub async fn guard(&self, req: &RequestView<'_>, kind: RouteKind) -> GuardOutcome {
        use tracing::Instrument as _;
        let span = guard_span(req);
        let outcome = self.guard_with_store(req, kind).instrument(span.clone()).await;
        note_guard(&self.inner.counters, &span, &outcome);
        outcome
    }

    async fn guard_with_store(&self, req: &RequestView<'_>, kind: RouteKind) -> GuardOutcome {
        self.note_peer(req);
        let (token, carrier) = self.presented(req);
        let Some(token) = token else {
            return self.deny(req, kind, false);
        };
        let now = now();
        let entry = match self.verified(token, now).await {
            Some(e) => e,
            None => return self.deny(req, kind, carrier == Carrier::Cookie),
        };
        match self.session_state(&entry).await {
            Ok(state) => self.decide(req, kind, carrier, &entry, &state, now),
            // A public path works without a user; everything else fails closed.
            Err(_) if kind == RouteKind::Public => GuardOutcome::Allow { user: None, set_cookie: None },
            Err(e) => GuardOutcome::Respond(AuthResponse::error(&e)),
        }
    }

    /// Resolves the session of a request (for auth routes): `Ok(None)` when there is none or it
    /// is invalid.
    pub(crate) async fn session_of(&self, req: &RequestView<'_>) -> Result<Option<(CurrentUser, Carrier)>, AuthError> {
        let (token, carrier) = self.presented(req);
        let Some(token) = token else { return Ok(None) };
        let now = now();
        let Some(entry) = self.verified(token, now).await else {
            return Ok(None);
        };
        match &*self.session_state(&entry).await? {
            SessionState::Active { user, .. } => {
                tracing::Span::current().record("enduser.id", user.id.as_str());
                Ok(Some((user.clone(), carrier)))
            }
            SessionState::Revoked => Ok(None),
        }
    }

    fn presented<'r>(&self, req: &'r RequestView<'_>) -> (Option<&'r str>, Carrier) {
        if let Some(t) = req.bearer() {
            return (Some(t), Carrier::Bearer);
        }
        (req.cookie(self.inner.cookie.name()).filter(|t| !t.is_empty()), Carrier::Cookie)
    }

    async fn verified(&self, token: &str, now: i64) -> Option<Arc<TokenEntry>> {
        if let Some(e) = self.inner.cache.token(token) {
            return (e.exp >= now).then_some(e);
        }
        let mut verdict = self.codec().verify(token, now);
        if verdict == Err(crate::session::TokenRejection::UnknownKey) && self.reread_keys_soon().await {
            verdict = self.codec().verify(token, now);
        }
        match verdict {
            Ok(claims) => Some(self.inner.cache.insert_token(token, &claims)),
            Err(why) => {
                tracing::debug!(?why, "session token refused");
                None
            }
        }
    }

    /// A token names a key this instance does not hold: when the store holds the keys (another
    /// instance or `auth-admin keys rotate` may have rotated them), reads them again, at most
    /// every 5 s (concurrent callers wait for the one read). Whether the ring was read.
    async fn reread_keys_soon(&self) -> bool {
        if !matches!(self.inner.config.jwt_secret, JwtSecretSource::Generate) {
            return false;
        }
        let read_at = *self.inner.keys_read_at.lock().await;
        if read_at.elapsed() < std::time::Duration::from_secs(5) {
            return false;
        }
        let mut guard = self.inner.keys_read_at.lock().await;
        if guard.elapsed() < std::time::Duration::from_secs(5) {
            // Another caller just read them.
            return true;
        }
        *guard = Instant::now();
        drop(guard);
        self.reload_keys().await.is_ok()
    }

    async fn session_state(&self, entry: &TokenEntry) -> Result<Arc<SessionState>, AuthError> {
        if let Some(state) = self.inner.cache.session(&entry.sid)
            && self.inner.cache.fresh(&state)
        {
            return Ok(state);
        }
        let epoch = self.inner.cache.epoch();
        let sid = SessionId::new(&*entry.sid);
        let view = self.inner.store.load_session(&sid).await?;
        if view.as_ref().is_some_and(|v| !v.session.revoked)
            && let Err(e) = self.inner.store.touch_session(&sid, now()).await
        {
            tracing::debug!(error = %e, "could not note a session's last use");
        }
        let state = match view {
            Some(v)
                if !v.session.revoked && !v.user.disabled && v.session.expires_at > now() && v.user.id == entry.sub =>
            {
                SessionState::Active {
                    user: CurrentUser::from_view(&v),
                    checked_at: Instant::now(),
                    expires_at: v.session.expires_at,
                }
            }
            _ => SessionState::Revoked,
        };
        Ok(self.inner.cache.set_session_read_at(Arc::clone(&entry.sid), state, epoch))
    }

    fn decide(
        &self,
        req: &RequestView<'_>,
        kind: RouteKind,
        carrier: Carrier,
        entry: &TokenEntry,
        state: &SessionState,
        now: i64,
    ) -> GuardOutcome {
        let SessionState::Active { user, expires_at, .. } = state else {
            return self.deny(req, kind, carrier == Carrier::Cookie);
        };
        if *expires_at <= now {
            return self.deny(req, kind, carrier == Carrier::Cookie);
        }
        if carrier == Carrier::Cookie
            && kind != RouteKind::Auth
            && req.is_unsafe_method()
            && let Err(e) = self.check_csrf(req)
        {
            return GuardOutcome::Respond(AuthResponse::error(&e));
        }
        // Sliding idle timeout: past half the idle window, hand the browser a fresh token.
        let idle = i64::try_from(self.inner.config.session.idle_timeout.as_secs()).unwrap_or(i64::MAX);
        let set_cookie =
            (carrier == Carrier::Cookie && now - entry.iat > idle / 2 && entry.exp < *expires_at).then(|| {
                // Minted once per old token, however many requests carry it before the browser
                // stores the new cookie.
                entry
                    .renewal
                    .get_or_init(|| {
                        let exp = (now.saturating_add(idle)).min(*expires_at);
                        let token = self.codec().issue(&entry.sub, &entry.sid, now, exp);
                        self.inner.cookie.set(&token, exp - now)
                    })
                    .clone()
            });
        GuardOutcome::Allow { user: Some(user.clone()), set_cookie }
    }

    /// Logs once when requests arrive without the client address: per-client throttling is then
    /// off (axum served without `into_make_service_with_connect_info`).
    pub(crate) fn note_peer(&self, req: &RequestView<'_>) {
        use std::sync::atomic::Ordering;
        if req.peer.is_none() && !self.inner.peer_warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "requests arrive without the client address: per-client login throttling is off. \
                 With axum, serve the app with into_make_service_with_connect_info::<SocketAddr>()"
            );
        }
        self.note_forwarded(req);
    }

    /// Logs once when requests carry forwarding headers while `trustedProxies` is empty: behind
    /// a reverse proxy every client then shares the proxy's address (and its throttling bucket).
    fn note_forwarded(&self, req: &RequestView<'_>) {
        use std::sync::atomic::Ordering;
        if self.inner.config.trusted_proxies.is_empty()
            && !self.inner.forwarded_warned.load(Ordering::Relaxed)
            && (req.headers.get("x-forwarded-for").is_some() || req.headers.get("forwarded").is_some())
            && !self.inner.forwarded_warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                peer = ?req.peer,
                "requests arrive with X-Forwarded-For/Forwarded but trustedProxies is empty: the headers are \
                 ignored and every client behind that proxy shares one address for login throttling. \
                 Configure trustedProxies with the proxy's address"
            );
        }
    }

    /// No valid session: public paths pass, navigations go to the login page, the rest get 401.
    fn deny(&self, req: &RequestView<'_>, kind: RouteKind, clear_cookie: bool) -> GuardOutcome {
        if kind == RouteKind::Public {
            return GuardOutcome::Allow { user: None, set_cookie: None };
        }
        let mut resp = if req.is_navigation() {
            let target = match req.query {
                Some(q) => format!("{}?{q}", req.path),
                None => req.path.to_string(),
            };
            let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
            AuthResponse::redirect(303, &format!("/login?return_to={encoded}"))
        } else {
            AuthResponse::error(&AuthError::Unauthenticated).with_header("www-authenticate", "Bearer".into())
        };
        if clear_cookie {
            resp.headers.push(("set-cookie", self.inner.cookie.clear()));
        }
        GuardOutcome::Respond(resp)
    }

    /// CSRF for a state-changing request, see [`csrf_verdict`].
    pub(crate) fn check_csrf(&self, req: &RequestView<'_>) -> Result<(), AuthError> {
        csrf_verdict(req.headers.get("sec-fetch-site"), req.headers.get("origin"), &self.inner.public_origin)
    }

    /// The client address: the peer, or behind a trusted proxy the right-most untrusted
    /// `X-Forwarded-For` entry.
    pub(crate) fn client_ip(&self, req: &RequestView<'_>) -> Option<IpAddr> {
        let peer = req.peer?;
        let trusted = |ip: &IpAddr| self.inner.config.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return Some(peer);
        }
        let xff = req.headers.get("x-forwarded-for")?;
        let mut last = peer;
        for hop in xff.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if trusted(&ip) => last = ip,
                Ok(ip) => return Some(ip),
                Err(_) => return Some(last),
            }
        }
        Some(last)
    }
}

/// The span of one guard decision: OpenTelemetry's HTTP server attribute names (the query is
/// never recorded: it may hold a token). At `DEBUG`, as tower-http's `TraceLayer` makes its
/// request spans: the guard is every request's hot path, and a subscriber at `INFO` then pays
/// nothing for it (a disabled callsite).
fn guard_span(req: &RequestView<'_>) -> tracing::Span {
    tracing::debug_span!(
        "auth.guard",
        otel.kind = "server",
        http.request.method = req.method,
        url.path = req.path,
        http.response.status_code = tracing::field::Empty,
        auth.outcome = tracing::field::Empty,
        enduser.id = tracing::field::Empty,
    )
}

/// Counts a guard decision and records it (and the user, or the answer's status) on `span`.
fn note_guard(counters: &crate::telemetry::GuardCounters, span: &tracing::Span, outcome: &GuardOutcome) {
    use crate::telemetry::GuardDecision;
    let decision = match outcome {
        GuardOutcome::Allow { user: Some(user), .. } => {
            span.record("enduser.id", user.id.as_str());
            GuardDecision::Allowed
        }
        GuardOutcome::Allow { user: None, .. } => GuardDecision::Anonymous,
        GuardOutcome::Respond(r) => {
            span.record("http.response.status_code", r.status);
            match r.status {
                303 => GuardDecision::Redirected,
                403 => GuardDecision::CsrfRejected,
                503 => GuardDecision::Unavailable,
                _ => GuardDecision::Unauthenticated,
            }
        }
    };
    span.record("auth.outcome", decision.as_str());
    counters.guard(decision);
}

impl AuthService {
    /// `metrics.path`, when the layer answers it on the app's port (no `metrics.listen`).
    pub(crate) fn metrics_on_app(&self) -> Option<&str> {
        self.inner.metrics.as_ref().filter(|m| m.on_app).map(|m| m.path.as_str())
    }

    /// The Prometheus text of the process's recorder, when `metrics.path` is set.
    pub(crate) fn render_metrics(&self) -> Option<String> {
        self.inner.metrics.as_ref().map(|m| m.handle.render())
    }
}

/// Applies the other instances' session events to this instance's cache, until the service
/// is dropped.
async fn apply_pushed(inner: std::sync::Weak<Inner>, mut events: tokio::sync::mpsc::Receiver<Pushed>) {
    while let Some(pushed) = events.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match pushed {
            Pushed::Event(CacheEvent::Revoked(sid)) => inner.cache.revoke(&sid),
            Pushed::Event(CacheEvent::Changed(sid)) => inner.cache.forget(&sid),
            Pushed::Resync => inner.cache.forget_all(),
        }
    }
}

/// The CSRF rule for every unsafe request the layer judges (SPEC §5).
///
/// Browsers send `Sec-Fetch-Site` (a header page scripts cannot set) on every request; when it
/// is there it decides: `same-origin` and `none` (typed URL, bookmark) pass, anything else
/// (`cross-site`, `same-site`, unknown values) is refused. Without it, an `Origin` must be
/// `publicUrl`'s origin; `Origin: null` (opaque: sandboxed frames, some redirects, a
/// `no-referrer` page) is refused, since only `Sec-Fetch-Site: same-origin` could vouch for it.
/// With neither header the client is not a browser that could have been tricked into the
/// request, and its credentials alone decide.
pub(crate) fn csrf_verdict(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    public_origin: &str,
) -> Result<(), AuthError> {
    if let Some(site) = sec_fetch_site {
        let site = site.trim();
        return if site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none") {
            Ok(())
        } else {
            Err(AuthError::CsrfRejected)
        };
    }
    match origin {
        Some(o) if !o.trim().eq_ignore_ascii_case(public_origin) => Err(AuthError::CsrfRejected),
        _ => Ok(()),
    }
}

/// What a service is made of besides its config.
struct Parts {
    store: Arc<dyn Store>,
    passwords: PasswordHasher,
    tokens: TokenCodec,
    /// The current session secret, from which the cookie keys derive.
    secret: Secret<Vec<u8>>,
    mailer: Option<crate::mail::Mailer>,
    oidc: Option<crate::oidc::Oidc>,
    metrics: Option<MetricsEndpoint>,
    source: AuditSource,
}

impl Inner {
    fn new(config: AuthConfig, p: Parts) -> Self {
        let hour = std::time::Duration::from_secs(3600);
        Self {
            counters: crate::telemetry::GuardCounters::register(),
            metrics: p.metrics,
            oidc: p.oidc,
            mailer: p.mailer,
            cache: SessionCache::new(config.session.cache_capacity, config.session.revalidate_after),
            throttle: Throttle::new(config.throttle.clone()),
            devices: DeviceCookies::new(&config, &p.secret),
            cookie: CookieSpec::new(&config),
            public_origin: config.public_origin(),
            assets: crate::assets::Assets::new(&config.ui, &config.oidc),
            audit_source: p.source,
            openapi: std::sync::OnceLock::new(),
            peer_warned: std::sync::atomic::AtomicBool::new(false),
            forwarded_warned: std::sync::atomic::AtomicBool::new(false),
            recovery_per_client: crate::rate::WindowLimiter::new(30, hour, 100_000),
            recovery_per_address: crate::rate::WindowLimiter::new(5, hour, 100_000),
            invitations_limit: crate::rate::WindowLimiter::new(config.invitations_per_hour, hour, 100_000),
            store: p.store,
            passwords: p.passwords,
            tokens: std::sync::RwLock::new(Arc::new(p.tokens)),
            keys_read_at: tokio::sync::Mutex::new(long_ago()),
            config,
        }
    }
}

/// The password hasher of `basicAuth` (its breached-password list is read on the blocking pool).
async fn password_hasher(config: &AuthConfig) -> Result<PasswordHasher, StartupError> {
    let b = &config.basic_auth;
    let (params, max, min, score) = (b.argon2, b.max_concurrent_hashes, b.min_password_length, b.min_password_score);
    tokio::task::spawn_blocking(move || PasswordHasher::new(params, max, min, score))
        .await
        .map_err(|e| StartupError::Config(e.to_string()))?
        .map_err(|e| StartupError::Config(e.to_string()))
}

/// The session key ring from the config, or from the store when it holds the secret (the
/// current one, then those retired within the longest session), then `previousJwtSecrets`.
/// Also the current secret, from which the other cookie keys derive.
async fn key_ring(config: &AuthConfig, store: &dyn Store) -> Result<(TokenCodec, Secret<Vec<u8>>), StartupError> {
    let mut previous = Vec::new();
    let secret = match &config.jwt_secret {
        JwtSecretSource::Configured(s) => s.clone(),
        JwtSecretSource::Generate => {
            let mut candidate = vec![0u8; 32];
            rand::fill(&mut candidate[..]);
            let current = store.signing_secret(&candidate).await?;
            let longest = i64::try_from(config.session.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
            for retired in store.retired_signing_secrets(now().saturating_sub(longest)).await? {
                previous.push(Secret::new(retired));
            }
            Secret::new(current)
        }
    };
    previous.extend(config.previous_jwt_secrets.iter().cloned());
    let issuer = config.public_url.as_str().trim_end_matches('/').to_string();
    let codec = TokenCodec::new(&issuer, &secret, &previous)
        .ok_or_else(|| StartupError::Config("the session secret is empty".into()))?;
    Ok((codec, secret))
}

/// Reads the stored key ring every minute while the service lives, so that every instance signs
/// with a rotated key soon after `auth-admin keys rotate`.
async fn reread_keys(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let service = AuthService { inner };
        if let Err(e) = service.reload_keys().await {
            tracing::debug!(error = %e.message(), "could not re-read the signing keys");
        }
    }
}

/// Deletes stored audit events older than `audit.retention`, at start and hourly.
async fn prune_audit(inner: std::sync::Weak<Inner>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let keep = i64::try_from(inner.config.audit_retention.as_secs()).unwrap_or(i64::MAX);
        match inner.store.prune_audit(now().saturating_sub(keep)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "old audit events deleted (audit.retention)"),
            Err(e) => tracing::debug!(error = %e, "could not delete old audit events"),
        }
    }
}

/// An instant far enough back that the key ring may be read again at once.
fn long_ago() -> Instant {
    let now = Instant::now();
    now.checked_sub(std::time::Duration::from_secs(60)).unwrap_or(now)
}

#[cfg(test)]
mod csrf_tests {
    use super::csrf_verdict;

    const ME: &str = "http://127.0.0.1:3000";

    #[test]
    fn fetch_metadata_decides_when_present() {
        for ok in ["same-origin", "none", "Same-Origin"] {
            assert!(csrf_verdict(Some(ok), None, ME).is_ok(), "{ok}");
            // What Chromium sends for a form post from a `no-referrer` page.
            assert!(csrf_verdict(Some(ok), Some("null"), ME).is_ok(), "{ok} + null");
        }
        for bad in ["cross-site", "same-site", "", "garbage"] {
            assert!(csrf_verdict(Some(bad), Some(ME), ME).is_err(), "{bad}");
        }
    }

    #[test]
    fn origin_decides_without_fetch_metadata() {
        assert!(csrf_verdict(None, Some(ME), ME).is_ok());
        assert!(csrf_verdict(None, Some("HTTP://127.0.0.1:3000"), ME).is_ok());
        for bad in ["null", "http://127.0.0.1:3001", "http://evil.example", "http://127.0.0.1:3000.evil.example"] {
            assert!(csrf_verdict(None, Some(bad), ME).is_err(), "{bad}");
        }
        assert!(csrf_verdict(None, None, ME).is_ok(), "a non-browser client: its credentials decide");
    }
}
