//! One-time links sent by email: "forgot password" and password reset (also made by an
//! organization admin for deployments without mail), and email verification.
//!
//! Tokens have 256 random bits; only their SHA-256 is stored, bound to the purpose, the user
//! and the address they were made for, with an expiry; each is used once (one SQL statement
//! decides, so concurrent uses and other instances cannot use it twice).

use std::time::Duration;

use crate::email::Email;
use crate::error::AuthError;
use crate::http::RequestView;
use crate::orgs::{TOKEN_BYTES, token_hash};
use crate::service::AuthService;
use crate::session::{CurrentUser, random_id};
use crate::store::{EmailTokenPurpose, NewEmailToken, OrgId, Role, UserId, UserRecord};
use crate::time::now;

/// How long a verification link works.
pub(crate) const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);

fn link_gone() -> AuthError {
    AuthError::Gone("this link was already used, has expired or was replaced by a newer one".into())
}

impl AuthService {
    /// Makes a one-time link for `user`; returns its URL.
    pub(crate) async fn email_link(
        &self,
        user: &UserRecord,
        purpose: EmailTokenPurpose,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let token = random_id(TOKEN_BYTES);
        let hash = token_hash(&token).ok_or(AuthError::Unavailable)?;
        let expires_at = now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        self.inner
            .store
            .create_email_token(&NewEmailToken {
                token_hash: hash,
                purpose,
                user_id: user.id.clone(),
                email: user.email.clone(),
                expires_at,
            })
            .await?;
        let page = match purpose {
            EmailTokenPurpose::Reset => "/reset-password",
            EmailTokenPurpose::Verify => "/verify-email",
        };
        Ok(format!("{}?token={token}", self.config().public_url_for(page)))
    }

    /// Whether one-time links can be mailed (SMTP configured).
    pub(crate) fn can_mail(&self) -> bool {
        self.inner.mailer.is_some()
    }

    /// `POST /password/forgot`: the same answer, as fast, for known and unknown addresses; the
    /// work (a token, a mail) happens after the answer. Rate-limited per address and client.
    pub(crate) fn forgot_password(&self, req: &RequestView<'_>, email: &str) -> Result<(), AuthError> {
        if !self.config().basic_auth.enabled {
            return Err(AuthError::NotFound("password accounts are disabled".into()));
        }
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        let client = self.client_ip(req).map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        let limited = |r: Result<(), Duration>| r.map_err(|retry_after| AuthError::RateLimited { retry_after });
        limited(self.inner.recovery_per_client.hit(&client))?;
        limited(self.inner.recovery_per_address.hit(email.as_str()))?;
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(e) = service.mail_reset_link(email.as_str()).await {
                tracing::warn!(error = %e.message(), "password reset mail not sent");
            }
        });
        Ok(())
    }

    async fn mail_reset_link(&self, email: &str) -> Result<(), AuthError> {
        let Some(mailer) = self.inner.mailer.as_ref() else { return Ok(()) };
        let Some(user) = self.inner.store.find_user_by_email(email).await? else { return Ok(()) };
        if user.password_hash.is_none() {
            return Ok(()); // SSO-only accounts have no password to reset.
        }
        let ttl = self.config().basic_auth.password_reset_ttl;
        let url = self.email_link(&user, EmailTokenPurpose::Reset, ttl).await?;
        let product = &self.config().ui.product_name;
        let expires = crate::time::rfc3339(now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(0)));
        mailer
            .send_link(
                &user.email,
                &format!("Reset your {product} password"),
                &format!("Someone asked to reset the password of your {product} account. Choose a new one here:"),
                &url,
                &expires,
            )
            .await
            .map_err(|e| AuthError::IdpBadResponse(format!("mail: {e}")))?;
        self.audit("password_reset_requested").user(&user.id).record().await;
        Ok(())
    }

    /// `POST /organizations/{org}/members/{user}/password-reset`: an admin's one-time reset link
    /// for a password member (for deployments without mail).
    pub(crate) async fn admin_reset_link(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> Result<String, AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        if self.inner.store.member_role(org_id, user_id).await?.is_none() {
            return Err(AuthError::NotFound("no such member".into()));
        }
        let user =
            self.inner.store.get_user(user_id).await?.ok_or_else(|| AuthError::NotFound("no such member".into()))?;
        if user.password_hash.is_none() {
            return Err(AuthError::Conflict("this member signs in through SSO and has no password".into()));
        }
        let url = self.email_link(&user, EmailTokenPurpose::Reset, self.config().basic_auth.password_reset_ttl).await?;
        self.audit("password_reset_link").user(&user.id).actor(&admin.id).org(org_id).record().await;
        Ok(url)
    }

    /// `POST /password/reset`: a new password through a one-time link; every session of the
    /// user ends. The password is checked first, so a refused one does not use up the link.
    pub(crate) async fn reset_password(&self, req: &RequestView<'_>, token: &str, new: &str) -> Result<(), AuthError> {
        let client = self.client_ip(req).map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        self.inner.recovery_per_client.hit(&client).map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let hash = token_hash(token).ok_or_else(link_gone)?;
        self.inner.passwords.check_policy("new_password", new, &[]).await?;
        let user_id =
            self.inner.store.use_email_token(&hash, EmailTokenPurpose::Reset, now()).await?.ok_or_else(link_gone)?;
        let password_hash = self.inner.passwords.hash(new).await?;
        self.inner.store.set_password_hash(&user_id, &password_hash).await?;
        let ended = self.inner.store.revoke_user_sessions(&user_id, None).await?;
        self.revoke_cached(&ended).await;
        self.audit("password_reset").user(&user_id).field("sessions_ended", ended.len()).record().await;
        Ok(())
    }

    /// After signup: the first verification mail, best effort.
    pub(crate) async fn mail_verification_to(&self, user_id: &UserId, email: &str) {
        let Ok(Some(record)) = self.inner.store.get_user(user_id).await else { return };
        if record.email == email
            && let Err(e) = self.verification_mail(&record).await
        {
            tracing::warn!(error = %e.message(), "verification mail not sent");
        }
    }

    /// `POST /me/email/verification`: mails a verification link to the signed-in user.
    pub(crate) async fn send_verification(&self, user: &CurrentUser) -> Result<(), AuthError> {
        let record = self.inner.store.get_user(&user.id).await?.ok_or(AuthError::Unauthenticated)?;
        if record.password_hash.is_none() && self.inner.store.email_verified(&record.id).await? {
            return Ok(());
        }
        self.verification_mail(&record).await
    }

    async fn verification_mail(&self, record: &UserRecord) -> Result<(), AuthError> {
        let Some(mailer) = self.inner.mailer.as_ref() else {
            return Err(AuthError::Conflict("mail is not configured here, so addresses cannot be verified".into()));
        };
        if self.inner.store.email_verified(&record.id).await? {
            return Ok(());
        }
        self.inner
            .recovery_per_address
            .hit(&record.email)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        let url = self.email_link(record, EmailTokenPurpose::Verify, VERIFY_TTL).await?;
        let product = &self.config().ui.product_name;
        let expires = crate::time::rfc3339(now().saturating_add(i64::try_from(VERIFY_TTL.as_secs()).unwrap_or(0)));
        mailer
            .send_link(
                &record.email,
                &format!("Confirm your email address for {product}"),
                &format!("Confirm that this address belongs to your {product} account:"),
                &url,
                &expires,
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "verification mail not sent");
                AuthError::Unavailable
            })?;
        self.audit("verification_sent").user(&record.id).record().await;
        Ok(())
    }

    /// `POST /email/verify`: marks the address of the link's user verified.
    pub(crate) async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        let hash = token_hash(token).ok_or_else(link_gone)?;
        let user_id =
            self.inner.store.use_email_token(&hash, EmailTokenPurpose::Verify, now()).await?.ok_or_else(link_gone)?;
        let user = self.inner.store.get_user(&user_id).await?.ok_or_else(link_gone)?;
        if !self.inner.store.set_email_verified(&user.id, &user.email).await? {
            return Err(link_gone());
        }
        self.audit("email_verified").user(&user.id).record().await;
        Ok(())
    }

    /// Whether the user proved they own their address.
    pub(crate) async fn email_verified(&self, user_id: &UserId) -> Result<bool, AuthError> {
        Ok(self.inner.store.email_verified(user_id).await?)
    }
}
