//! [`AuthService`]: the one facade the adapters call. Cheap to clone (one `Arc`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{AuthConfig, JwtSecretSource, SignupMode};
use crate::email::Email;
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::password::PasswordHasher;
use crate::secret::Secret;
use crate::session::{CookieSpec, CurrentUser, SessionCache, SessionState, TokenCodec, TokenEntry, random_id};
use crate::store::{AuthMethod, NewUser, Organization, SessionRecord, Store, StoreError, UserRecord, now};
use crate::throttle::Throttle;

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

/// The API prefix answered by the layer/middleware.
pub const API_PREFIX: &str = "/api/v1/auth";

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
    pub(crate) tokens: TokenCodec,
    pub(crate) cache: SessionCache,
    pub(crate) throttle: Throttle,
    pub(crate) cookie: CookieSpec,
    pub(crate) public_origin: String,
    pub(crate) mailer: Option<crate::mail::Mailer>,
    pub(crate) oidc: Option<crate::oidc::Oidc>,
    pub(crate) assets: crate::pages::assets::Assets,
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
}

impl AuthService {
    /// Opens the configured store (`database.url`) and builds the service.
    pub async fn new(config: AuthConfig) -> Result<Self, StartupError> {
        let store: Arc<dyn Store> = open_store(&config.database_url).await?;
        Self::with_store(config, store).await
    }

    /// Builds the service on an existing store.
    pub async fn with_store(config: AuthConfig, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let secret = match &config.jwt_secret {
            JwtSecretSource::Configured(s) => s.clone(),
            JwtSecretSource::Generate => {
                let mut candidate = vec![0u8; 32];
                rand::fill(&mut candidate[..]);
                let stored = store.signing_secret(&candidate).await?;
                tracing::warn!(
                    "no jwtSecret configured: using a random secret persisted in the store; \
                     configure basicAuth.jwtSecret (or existingSecretName) to share it with other services"
                );
                Secret::new(stored)
            }
        };
        let issuer = config.public_url.as_str().trim_end_matches('/').to_string();
        let tokens = TokenCodec::new(&issuer, &secret, &config.previous_jwt_secrets)
            .ok_or_else(|| StartupError::Config("the session secret is empty".into()))?;
        let b = &config.basic_auth;
        let passwords = tokio::task::spawn_blocking({
            let (params, max, min) = (b.argon2, b.max_concurrent_hashes, b.min_password_length);
            move || PasswordHasher::new(params, max, min)
        })
        .await
        .map_err(|e| StartupError::Config(e.to_string()))?
        .map_err(|e| StartupError::Config(e.to_string()))?;
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
        let inner = Inner {
            oidc,
            mailer,
            cache: SessionCache::new(config.session.cache_capacity, config.session.revalidate_after),
            throttle: Throttle::new(config.throttle.clone()),
            cookie: CookieSpec::new(&config),
            public_origin: config.public_origin(),
            assets: crate::pages::assets::Assets::new(&config.ui, &config.oidc),
            store,
            passwords,
            tokens,
            config,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The validated configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &str {
        self.inner.cookie.name()
    }

    /// Which part of the stack answers `path`.
    pub fn classify(&self, path: &str) -> RouteKind {
        if path == API_PREFIX || path.starts_with("/api/v1/auth/") {
            return RouteKind::Auth;
        }
        if self.inner.config.ui.enabled && crate::pages::is_page(path) {
            return RouteKind::Auth;
        }
        let public = self.inner.config.public_paths.iter().any(|p| match p.strip_suffix("/*") {
            Some(prefix) => path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/')),
            None => p == path,
        });
        if public { RouteKind::Public } else { RouteKind::Guarded }
    }

    /// The guard without any I/O: answers from the per-instance cache when it can (a token
    /// verified before, a session validated within `revalidateAfter`). `None` means "call
    /// [`guard`](Self::guard)".
    pub fn guard_cached(&self, req: &RequestView<'_>, kind: RouteKind) -> Option<GuardOutcome> {
        let (token, carrier) = self.presented(req);
        let Some(token) = token else {
            return Some(self.deny(req, kind, false));
        };
        let entry = self.inner.cache.token(token)?;
        let now = now();
        if entry.exp < now {
            return Some(self.deny(req, kind, carrier == Carrier::Cookie));
        }
        let state = self.inner.cache.session(&entry.sid)?;
        if !self.inner.cache.fresh(&state) {
            return None;
        }
        Some(self.decide(req, kind, carrier, &entry, &state, now))
    }

    /// The guard: verifies the session (cookie or bearer), re-validating it against the store
    /// when `revalidateAfter` has passed. Fails closed (503) when the store is unreachable.
    pub async fn guard(&self, req: &RequestView<'_>, kind: RouteKind) -> GuardOutcome {
        let (token, carrier) = self.presented(req);
        let Some(token) = token else {
            return self.deny(req, kind, false);
        };
        let now = now();
        let entry = match self.verified(token, now) {
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
        let Some(entry) = self.verified(token, now) else {
            return Ok(None);
        };
        match &*self.session_state(&entry).await? {
            SessionState::Active { user, .. } => Ok(Some((user.clone(), carrier))),
            SessionState::Revoked => Ok(None),
        }
    }

    fn presented<'r>(&self, req: &'r RequestView<'_>) -> (Option<&'r str>, Carrier) {
        if let Some(t) = req.bearer() {
            return (Some(t), Carrier::Bearer);
        }
        (req.cookie(self.inner.cookie.name()).filter(|t| !t.is_empty()), Carrier::Cookie)
    }

    fn verified(&self, token: &str, now: i64) -> Option<Arc<TokenEntry>> {
        if let Some(e) = self.inner.cache.token(token) {
            return (e.exp >= now).then_some(e);
        }
        match self.inner.tokens.verify(token, now) {
            Ok(claims) => Some(self.inner.cache.insert_token(token, &claims)),
            Err(why) => {
                tracing::debug!(?why, "session token refused");
                None
            }
        }
    }

    async fn session_state(&self, entry: &TokenEntry) -> Result<Arc<SessionState>, AuthError> {
        if let Some(state) = self.inner.cache.session(&entry.sid)
            && self.inner.cache.fresh(&state)
        {
            return Ok(state);
        }
        let view = self.inner.store.load_session(&entry.sid).await?;
        let state = match view {
            Some(v) if !v.session.revoked && v.session.expires_at > now() && v.user.id == entry.sub => {
                SessionState::Active {
                    user: CurrentUser::from_view(&v),
                    checked_at: Instant::now(),
                    expires_at: v.session.expires_at,
                }
            }
            _ => SessionState::Revoked,
        };
        Ok(self.inner.cache.set_session(Arc::clone(&entry.sid), state))
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
                        let token = self.inner.tokens.issue(&entry.sub, &entry.sid, now, exp);
                        self.inner.cookie.set(&token, exp - now)
                    })
                    .clone()
            });
        GuardOutcome::Allow { user: Some(user.clone()), set_cookie }
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

    // --- account operations -------------------------------------------------------------------

    pub(crate) fn check_domain(&self, email: &Email) -> Result<(), AuthError> {
        match &self.inner.config.basic_auth.valid_email_domain {
            Some(d) if !email.is_in_domain(d) => Err(AuthError::EmailDomainNotAllowed),
            _ => Ok(()),
        }
    }

    /// `POST /signup`: the first admin (exactly once), later only with open signup.
    pub(crate) async fn signup(
        &self,
        email: &str,
        password: &str,
        name: Option<&str>,
        organization: Option<&str>,
    ) -> Result<(IssuedSession, Vec<Organization>), AuthError> {
        if !self.inner.config.basic_auth.enabled {
            return Err(AuthError::NotFound("password accounts are disabled".into()));
        }
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        self.check_domain(&email)?;
        let name = clean_name("name", name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("")))?;
        let org_name = match organization {
            Some(o) => clean_name("organization", o)?,
            None => format!("{name}'s organization"),
        };
        self.inner.passwords.check_policy("password", password, Some(email.as_str()))?;
        let setup = self.inner.store.needs_setup().await?;
        if !setup && self.inner.config.basic_auth.signup != SignupMode::Open {
            return Err(AuthError::SignupClosed);
        }
        let hash = self.inner.passwords.hash(password).await?;
        let new = NewUser {
            id: uuid::Uuid::new_v4().to_string(),
            email: email.as_str().to_string(),
            name,
            password_hash: Some(hash),
        };
        let created = if setup {
            match self.inner.store.create_first_admin(&new, &org_name).await {
                Err(StoreError::Conflict(_)) if self.inner.config.basic_auth.signup == SignupMode::Open => {
                    self.inner.store.create_user_with_org(&new, &org_name).await
                }
                Err(StoreError::Conflict(_)) => return Err(AuthError::SignupClosed),
                other => other,
            }
        } else {
            self.inner.store.create_user_with_org(&new, &org_name).await
        };
        let (user, org) = created.map_err(|e| match e {
            StoreError::Conflict(_) => AuthError::Conflict("an account with this email already exists".into()),
            other => other.into(),
        })?;
        tracing::info!(target: "auth::audit", event = "signup", user_id = %user.id, org_id = %org.id, first_admin = setup);
        let session = self.start_session(&user, AuthMethod::Password).await?;
        Ok((session, vec![org]))
    }

    /// `POST /login`: constant-shape answer for unknown email and wrong password.
    pub(crate) async fn login(
        &self,
        req: &RequestView<'_>,
        email: &str,
        password: &str,
    ) -> Result<IssuedSession, AuthError> {
        if !self.inner.config.basic_auth.enabled {
            return Err(AuthError::NotFound("password sign-in is disabled".into()));
        }
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        self.check_domain(&email)?;
        let client = self.client_ip(req);
        self.inner
            .throttle
            .check(email.as_str(), client)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let user = self.inner.store.find_user_by_email(email.as_str()).await?;
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let verdict = self.inner.passwords.verify(password, stored).await?;
        let Some(user) = user.filter(|_| verdict.valid) else {
            if let Some(lock) = self.inner.throttle.record_failure(email.as_str(), client) {
                tracing::warn!(target: "auth::audit", event = "login_locked", lock_secs = lock.as_secs());
            }
            return Err(AuthError::InvalidCredentials);
        };
        self.inner.throttle.record_success(email.as_str());
        if verdict.needs_rehash {
            match self.inner.passwords.hash(password).await {
                Ok(h) => {
                    if let Err(e) = self.inner.store.set_password_hash(&user.id, &h).await {
                        tracing::warn!(error = %e, "could not store a rehashed password");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not rehash a password"),
            }
        }
        tracing::info!(target: "auth::audit", event = "login", user_id = %user.id, method = "password");
        self.start_session(&user, AuthMethod::Password).await
    }

    /// Records a new session and mints its token and cookie. A new token at every login.
    pub(crate) async fn start_session(
        &self,
        user: &UserRecord,
        method: AuthMethod,
    ) -> Result<IssuedSession, AuthError> {
        let cfg = &self.inner.config.session;
        let now = now();
        let absolute = i64::try_from(cfg.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
        let idle = i64::try_from(cfg.idle_timeout.as_secs()).unwrap_or(i64::MAX);
        let record = SessionRecord {
            id: random_id(16),
            user_id: user.id.clone(),
            auth_method: method,
            created_at: now,
            expires_at: now.saturating_add(absolute),
            revoked: false,
        };
        self.inner.store.create_session(&record).await?;
        let memberships = self.inner.store.user_memberships(&user.id).await?;
        let exp = now.saturating_add(idle).min(record.expires_at);
        let token = self.inner.tokens.issue(&user.id, &record.id, now, exp);
        let view = crate::store::SessionView { session: record, user: user.clone(), memberships };
        let current = CurrentUser::from_view(&view);
        let entry = self
            .inner
            .cache
            .insert_token(&token, &self.inner.tokens.verify(&token, now).map_err(|_| AuthError::Unavailable)?);
        self.inner.cache.set_session(
            Arc::clone(&entry.sid),
            SessionState::Active {
                user: current.clone(),
                checked_at: Instant::now(),
                expires_at: view.session.expires_at,
            },
        );
        let cookie = self.inner.cookie.set(&token, exp - now);
        Ok(IssuedSession { cookie, user: current })
    }

    /// Ends a session everywhere: revoked in the store, refused at once on this instance.
    pub(crate) async fn logout(&self, user: &CurrentUser) -> Result<(), AuthError> {
        self.inner.store.revoke_session(&user.session_id).await?;
        self.inner.cache.revoke(&user.session_id);
        tracing::info!(target: "auth::audit", event = "logout", user_id = %user.id);
        Ok(())
    }

    /// Renames the signed-in user.
    pub(crate) async fn rename(&self, user: &CurrentUser, name: &str) -> Result<CurrentUser, AuthError> {
        let name = clean_name("name", name)?;
        self.inner.store.update_user_name(&user.id, &name).await?;
        tracing::info!(target: "auth::audit", event = "rename", user_id = %user.id);
        self.reload(user).await
    }

    /// Changes the password: needs the current one (a wrong one counts as a failed attempt),
    /// ends every other session of the user and returns a fresh session for the caller.
    pub(crate) async fn change_password(
        &self,
        req: &RequestView<'_>,
        user: &CurrentUser,
        current: &str,
        new: &str,
    ) -> Result<IssuedSession, AuthError> {
        let record = self.inner.store.get_user(&user.id).await?.ok_or(AuthError::Unauthenticated)?;
        let Some(stored) = record.password_hash.as_deref() else {
            return Err(AuthError::invalid(
                "current_password",
                "this account signs in through SSO and has no password",
            ));
        };
        let client = self.client_ip(req);
        self.inner
            .throttle
            .check(&record.email, client)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        if !self.inner.passwords.verify(current, Some(stored)).await?.valid {
            self.inner.throttle.record_failure(&record.email, client);
            return Err(AuthError::invalid("current_password", "is not correct"));
        }
        self.inner.passwords.check_policy("new_password", new, Some(&record.email))?;
        let hash = self.inner.passwords.hash(new).await?;
        self.inner.store.set_password_hash(&record.id, &hash).await?;
        // Every session ends, the caller's included; the caller gets a fresh one.
        let revoked = self.inner.store.revoke_user_sessions(&record.id, None).await?;
        for sid in &revoked {
            self.inner.cache.revoke(sid);
        }
        tracing::info!(target: "auth::audit", event = "password_change", user_id = %record.id, sessions_ended = revoked.len());
        self.start_session(&record, user.auth_method).await
    }

    async fn reload(&self, user: &CurrentUser) -> Result<CurrentUser, AuthError> {
        self.inner.cache.forget(&user.session_id);
        match self.inner.store.load_session(&user.session_id).await? {
            Some(v) if !v.session.revoked => {
                let current = CurrentUser::from_view(&v);
                self.inner.cache.set_session(
                    Arc::from(user.session_id.as_str()),
                    SessionState::Active {
                        user: current.clone(),
                        checked_at: Instant::now(),
                        expires_at: v.session.expires_at,
                    },
                );
                Ok(current)
            }
            _ => Err(AuthError::Unauthenticated),
        }
    }

    /// Whether first-admin setup is pending.
    pub(crate) async fn needs_setup(&self) -> Result<bool, AuthError> {
        Ok(self.inner.store.needs_setup().await?)
    }

    /// The cookie that deletes the session cookie.
    pub(crate) fn clear_cookie(&self) -> String {
        self.inner.cookie.clear()
    }
}

/// Trims and checks a display name: 1 to 100 characters, no control characters.
pub(crate) fn clean_name(field: &'static str, raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AuthError::invalid(field, "must not be empty"));
    }
    if name.chars().count() > 100 {
        return Err(AuthError::invalid(field, "must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(AuthError::invalid(field, "must not contain control characters"));
    }
    Ok(name.to_string())
}

async fn open_store(url: &str) -> Result<Arc<dyn Store>, StartupError> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(crate::store::SqliteStore::connect(url).await?));
    }
    Err(StartupError::Config(format!("database.url: {url:?} is not supported by this build")))
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
