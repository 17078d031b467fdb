//! Password accounts: first-admin setup and signup, login (throttled), sessions started and
//! ended, renaming, password change.

use std::sync::Arc;
use std::time::Instant;

use crate::config::SignupMode;
use crate::email::Email;
use crate::error::AuthError;
use crate::http::RequestView;
use crate::service::{AuthService, IssuedSession};
use crate::session::{CurrentUser, SessionState, random_id};
use crate::store::{AuthMethod, NewUser, Organization, SessionId, SessionRecord, StoreError, UserId, UserRecord};
use crate::throttle::Via;
use crate::time::now;

impl AuthService {
    pub(crate) fn check_domain(&self, email: &Email) -> Result<(), AuthError> {
        match &self.inner.config.basic_auth.valid_email_domain {
            Some(d) if !email.is_in_domain(d) => Err(AuthError::EmailDomainNotAllowed),
            _ => Ok(()),
        }
    }

    /// Password sign-in and signup are refused for a domain whose provider is enforced.
    pub(crate) fn check_password_allowed(&self, email: &Email) -> Result<(), AuthError> {
        match self.inner.config.provider_for_domain(email.domain()) {
            Some(p) if p.enforce => Err(AuthError::SsoRequired(p.display_name.clone())),
            _ => Ok(()),
        }
    }

    /// `POST /signup`: the first admin (exactly once), later only with open signup.
    pub(crate) async fn signup(
        &self,
        req: &RequestView<'_>,
        email: &str,
        password: &str,
        name: Option<&str>,
        organization: Option<&str>,
    ) -> Result<(Option<IssuedSession>, UserRecord, Vec<Organization>), AuthError> {
        if !self.inner.config.basic_auth.enabled {
            return Err(AuthError::NotFound("password accounts are disabled".into()));
        }
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        self.check_domain(&email)?;
        self.check_password_allowed(&email)?;
        let name = clean_name("name", name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("")))?;
        let org_name = match organization {
            Some(o) => clean_name("organization", o)?,
            None => format!("{name}'s organization"),
        };
        self.inner.passwords.check_policy("password", password, &[email.as_str(), &name]).await?;
        let setup = self.inner.store.needs_setup().await?;
        if !setup && self.inner.config.basic_auth.signup != SignupMode::Open {
            return Err(AuthError::SignupClosed);
        }
        let hash = self.inner.passwords.hash(password).await?;
        let new =
            NewUser { id: UserId::generate(), email: email.as_str().to_string(), name, password_hash: Some(hash) };
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
        self.audit("signup").user(&user.id).org(&org.id).field("first_admin", setup).record().await;
        if self.can_mail() {
            let service = self.clone();
            let (id, email) = (user.id.clone(), user.email.clone());
            tokio::spawn(async move { service.mail_verification_to(&id, &email).await });
        }
        if self.inner.config.basic_auth.require_verified_email {
            // No session before the address is verified: the link is on its way.
            return Ok((None, user, vec![org]));
        }
        let session = self.start_session(req, &user, AuthMethod::Password).await?;
        Ok((Some(session), user, vec![org]))
    }

    /// `basicAuth.requireVerifiedEmail`: refuses a session to a password account whose address
    /// is not verified, and mails a fresh link (within the per-address limit).
    async fn require_verified(&self, user: &UserRecord) -> Result<(), AuthError> {
        if !self.inner.config.basic_auth.require_verified_email || self.inner.store.email_verified(&user.id).await? {
            return Ok(());
        }
        let service = self.clone();
        let (id, email) = (user.id.clone(), user.email.clone());
        tokio::spawn(async move { service.mail_verification_to(&id, &email).await });
        self.audit("login_refused_unverified").warning().user(&user.id).record().await;
        Err(AuthError::EmailNotVerified)
    }

    /// `POST /login`: constant-shape answer for unknown email and wrong password. Counted in
    /// `auth_logins_total{method="password"}` by its outcome.
    pub(crate) async fn login(
        &self,
        req: &RequestView<'_>,
        email: &str,
        password: &str,
    ) -> Result<IssuedSession, AuthError> {
        let result = self.password_login(req, email, password).await;
        crate::telemetry::login(crate::telemetry::LoginMethod::Password, crate::error::outcome(&result));
        if let Ok(session) = &result {
            tracing::Span::current().record("enduser.id", session.user.id.as_str());
        }
        result
    }

    async fn password_login(
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
        self.check_password_allowed(&email)?;
        // Reserved before hashing (see `crate::throttle`); released uncounted on an early return.
        let via = self.throttle_via(req, email.as_str());
        let attempt = self
            .inner
            .throttle
            .reserve(email.as_str(), via)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let shared = attempt.shared();
        self.shared_throttle_check(&shared).await?;
        let user = self.inner.store.find_user_by_email(email.as_str()).await?;
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let verdict = self.inner.passwords.verify(password, stored).await?;
        let Some(user) = user.filter(|_| verdict.valid) else {
            let local = attempt.fail();
            let everywhere = self.inner.throttle.shared_fail(&*self.inner.store, &shared).await?;
            if let Some(lock) = local.max(everywhere) {
                crate::telemetry::lockout();
                self.audit("login_locked").warning().field("lock_secs", lock.as_secs()).record().await;
            }
            return Err(AuthError::InvalidCredentials);
        };
        attempt.succeed();
        self.inner.throttle.shared_succeed(&*self.inner.store, &shared).await?;
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
        self.require_verified(&user).await?;
        let mut session = self.start_session(req, &user, AuthMethod::Password).await?;
        self.audit("login").user(&user.id).field("method", "password").record().await;
        let device = match via {
            Via::Device(id) => Some(id),
            Via::Untrusted(_) => None,
        };
        session.device_cookie = Some(self.inner.devices.issue(device, email.as_str(), now()));
        Ok(session)
    }

    /// Refuses an attempt while another instance holds a lock on one of its buckets.
    async fn shared_throttle_check(&self, shared: &[crate::throttle::SharedBucket]) -> Result<(), AuthError> {
        match self.inner.throttle.shared_lock(&*self.inner.store, shared).await? {
            Some(retry_after) => Err(AuthError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// Which throttling buckets judge a password attempt for `account`: its own device bucket
    /// when the request holds a valid device cookie for it, otherwise the shared ones.
    fn throttle_via(&self, req: &RequestView<'_>, account: &str) -> Via {
        match self.inner.devices.open(req.cookie(self.inner.devices.name()), account, now()) {
            Some(id) => Via::Device(id),
            None => Via::Untrusted(self.client_ip(req)),
        }
    }

    /// Records a new session and mints its token and cookie. A new token at every login.
    pub(crate) async fn start_session(
        &self,
        req: &RequestView<'_>,
        user: &UserRecord,
        method: AuthMethod,
    ) -> Result<IssuedSession, AuthError> {
        if user.disabled {
            self.audit("login_refused_disabled")
                .warning()
                .user(&user.id)
                .field("method", method.as_str())
                .record()
                .await;
            return Err(AuthError::Forbidden("this account is disabled: ask an administrator to enable it".into()));
        }
        let cfg = &self.inner.config.session;
        let now = now();
        let absolute = i64::try_from(cfg.absolute_timeout.as_secs()).unwrap_or(i64::MAX);
        let idle = i64::try_from(cfg.idle_timeout.as_secs()).unwrap_or(i64::MAX);
        let record = SessionRecord {
            id: SessionId::new(random_id(16)),
            user_id: user.id.clone(),
            auth_method: method,
            created_at: now,
            expires_at: now.saturating_add(absolute),
            revoked: false,
        };
        self.inner.store.create_session(&record).await?;
        let agent = req.headers.get("user-agent").map(|a| a.chars().take(512).collect::<String>());
        let ip = self.client_ip(req).map(|ip| ip.to_string());
        self.inner.store.describe_session(&record.id, agent.as_deref(), ip.as_deref(), now).await?;
        let memberships = self.inner.store.user_memberships(&user.id).await?;
        let exp = now.saturating_add(idle).min(record.expires_at);
        let codec = self.codec();
        let token = codec.issue(&user.id, &record.id, now, exp);
        let view = crate::store::SessionView { session: record, user: user.clone(), memberships };
        let current = CurrentUser::from_view(&view);
        let entry =
            self.inner.cache.insert_token(&token, &codec.verify(&token, now).map_err(|_| AuthError::Unavailable)?);
        self.inner.cache.set_session(
            Arc::clone(&entry.sid),
            SessionState::Active {
                user: current.clone(),
                checked_at: Instant::now(),
                expires_at: view.session.expires_at,
            },
        );
        let cookie = self.inner.cookie.set(&token, exp - now);
        Ok(IssuedSession { cookie, user: current, device_cookie: None })
    }

    /// Ends a session everywhere: revoked in the store, refused at once on this instance.
    pub(crate) async fn logout(&self, user: &CurrentUser) -> Result<(), AuthError> {
        self.inner.store.revoke_session(&user.session_id).await?;
        self.revoke_cached([&*user.session_id]).await;
        self.audit("logout").user(&user.id).record().await;
        Ok(())
    }

    /// Renames the signed-in user.
    pub(crate) async fn rename(&self, user: &CurrentUser, name: &str) -> Result<CurrentUser, AuthError> {
        let name = clean_name("name", name)?;
        self.inner.store.update_user_name(&user.id, &name).await?;
        self.audit("rename").user(&user.id).record().await;
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
        let attempt = self
            .inner
            .throttle
            .reserve(&record.email, self.throttle_via(req, &record.email))
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let shared = attempt.shared();
        self.shared_throttle_check(&shared).await?;
        if !self.inner.passwords.verify(current, Some(stored)).await?.valid {
            let _ = attempt.fail();
            self.inner.throttle.shared_fail(&*self.inner.store, &shared).await?;
            return Err(AuthError::invalid("current_password", "is not correct"));
        }
        attempt.succeed();
        self.inner.throttle.shared_succeed(&*self.inner.store, &shared).await?;
        self.inner.passwords.check_policy("new_password", new, &[&record.email, &record.name]).await?;
        let hash = self.inner.passwords.hash(new).await?;
        self.inner.store.set_password_hash(&record.id, &hash).await?;
        // Every session ends, the caller's included; the caller gets a fresh one.
        let revoked = self.inner.store.revoke_user_sessions(&record.id, None).await?;
        self.revoke_cached(&revoked).await;
        self.audit("password_change").user(&record.id).field("sessions_ended", revoked.len()).record().await;
        self.start_session(req, &record, user.auth_method).await
    }

    async fn reload(&self, user: &CurrentUser) -> Result<CurrentUser, AuthError> {
        self.forget_cached([&*user.session_id]).await;
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

/// A short description of a browser from its `User-Agent` ("Firefox on Linux"), for people
/// looking at their sessions. Unknown agents are shown as they are, shortened.
pub(crate) fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map(|(_, name)| *name);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_string(),
        _ => ua.split_whitespace().next().unwrap_or("Unknown device").chars().take(40).collect(),
    }
}

impl AuthService {
    /// The caller's live sessions.
    pub(crate) async fn my_sessions(&self, user: &CurrentUser) -> Result<Vec<crate::store::SessionInfo>, AuthError> {
        Ok(self.inner.store.list_sessions(&user.id, now()).await?)
    }

    /// Ends one of the caller's sessions (404 for anything else).
    pub(crate) async fn end_my_session(&self, user: &CurrentUser, id: &SessionId) -> Result<(), AuthError> {
        if !self.inner.store.revoke_own_session(&user.id, id).await? {
            return Err(AuthError::NotFound("no such session".into()));
        }
        self.revoke_cached([id]).await;
        self.audit("session_revoked").user(&user.id).record().await;
        Ok(())
    }

    /// "Sign out everywhere else": every other session of the caller ends.
    pub(crate) async fn end_other_sessions(&self, user: &CurrentUser) -> Result<usize, AuthError> {
        let ended = self.inner.store.revoke_user_sessions(&user.id, Some(&user.session_id)).await?;
        self.revoke_cached(&ended).await;
        self.audit("sessions_revoked").user(&user.id).field("sessions_ended", ended.len()).record().await;
        Ok(ended.len())
    }
}

#[cfg(test)]
mod tests {
    use super::describe_device;

    #[test]
    fn devices_read_like_devices() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(describe_device(Some(chrome)), "Chrome on Windows");
        assert_eq!(describe_device(Some("curl/8.5.0")), "curl/8.5.0");
        assert_eq!(describe_device(None), "Unknown device");
    }
}
