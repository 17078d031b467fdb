//! Organizations: members, roles and invitations. Every decision is made here, once.

use sha2::{Digest, Sha256};

use crate::email::Email;
use crate::error::AuthError;
use crate::http::RequestView;
use crate::service::{AuthService, IssuedSession};
use crate::session::{CurrentUser, random_id};
use crate::store::{
    Acceptor, AuthMethod, InvitationId, InvitationRecord, Member, NewInvitation, NewUser, OrgId, Role, StoreError,
    UserId,
};
use crate::time::{now, rfc3339};

/// A freshly created invitation and the one copy of its token.
pub struct CreatedInvitation {
    /// The invitation as stored.
    pub record: InvitationRecord,
    /// The link to send (the one copy of the token).
    pub accept_url: String,
    /// Whether it was mailed.
    pub delivery: Delivery,
}

/// Whether an invitation was mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// The mail server accepted the mail.
    Sent,
    /// Sending failed (logged); the invitation stays valid, the admin sends `accept_url`.
    Failed,
    /// No `smtp` is configured: the admin sends `accept_url`.
    NotConfigured,
}

/// Invitation tokens are 256 random bits, URL-safe base64 (43 characters).
pub(crate) const TOKEN_BYTES: usize = 32;

pub(crate) fn token_hash(token: &str) -> Option<String> {
    let plausible = token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect())
}

fn invitation_gone() -> AuthError {
    AuthError::NotFound("this invitation does not exist, was revoked, has expired or was already used".into())
}

impl CurrentUser {
    /// Checks that the user has at least `role` in `org_id`, from the session's view of the
    /// memberships (refreshed at once after a change: on this instance, and on every instance
    /// on PostgreSQL; within `revalidateAfter` on other instances sharing a SQLite file). Non-members get 404, so organizations are not revealed.
    pub fn require(&self, org_id: &str, role: Role) -> Result<Role, AuthError> {
        match self.role_in(org_id) {
            None => Err(AuthError::NotFound("no such organization".into())),
            Some(have) if self.has_role(org_id, role) => Ok(have),
            Some(_) => Err(AuthError::Forbidden("this needs the admin role in the organization".into())),
        }
    }
}

impl AuthService {
    /// The user's role in `org_id`, read fresh from the store, at least `role`.
    pub(crate) async fn require_role(&self, user: &CurrentUser, org_id: &OrgId, role: Role) -> Result<Role, AuthError> {
        match self.inner.store.member_role(org_id, &user.id).await? {
            None => Err(AuthError::NotFound("no such organization".into())),
            Some(Role::Member) if role == Role::Admin => {
                Err(AuthError::Forbidden("this needs the admin role in the organization".into()))
            }
            Some(have) => Ok(have),
        }
    }

    /// Makes every live session of `user_id` re-read the store on its next request, on every
    /// instance.
    pub(crate) async fn invalidate_user(&self, user_id: &UserId) -> Result<(), AuthError> {
        let live = self.inner.store.live_session_ids(user_id).await?;
        self.forget_cached(&live).await;
        Ok(())
    }

    pub(crate) async fn members(&self, user: &CurrentUser, org_id: &OrgId) -> Result<Vec<Member>, AuthError> {
        self.require_role(user, org_id, Role::Member).await?;
        Ok(self.inner.store.list_members(org_id).await?)
    }

    pub(crate) async fn change_role(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
        user_id: &UserId,
        role: Role,
    ) -> Result<Member, AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        self.inner.store.set_member_role(org_id, user_id, role).await.map_err(|e| match e {
            StoreError::NotFound => AuthError::NotFound("no such member".into()),
            StoreError::Conflict(why) => AuthError::Conflict(why),
            other => other.into(),
        })?;
        self.invalidate_user(user_id).await?;
        self.audit("role_change")
            .org(org_id)
            .user(user_id)
            .field("role", role.as_str())
            .actor(&admin.id)
            .record()
            .await;
        let members = self.inner.store.list_members(org_id).await?;
        members.into_iter().find(|m| m.user_id == *user_id).ok_or_else(|| AuthError::NotFound("no such member".into()))
    }

    pub(crate) async fn remove_member(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
        user_id: &UserId,
    ) -> Result<(), AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        self.inner.store.remove_member(org_id, user_id).await.map_err(|e| match e {
            StoreError::NotFound => AuthError::NotFound("no such member".into()),
            StoreError::Conflict(why) => AuthError::Conflict(why),
            other => other.into(),
        })?;
        self.invalidate_user(user_id).await?;
        self.audit("member_removed").org(org_id).user(user_id).actor(&admin.id).record().await;
        Ok(())
    }

    pub(crate) async fn invite(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
        email: &str,
        role: Role,
    ) -> Result<CreatedInvitation, AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        self.invite_by(Some(&admin.id), org_id, email, role).await
    }

    /// An invitation made by `by` (an operator when `None`), who may invite to `org_id`.
    pub(crate) async fn invite_by(
        &self,
        by: Option<&UserId>,
        org_id: &OrgId,
        email: &str,
        role: Role,
    ) -> Result<CreatedInvitation, AuthError> {
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        self.check_domain(&email)?;
        if let Some(existing) = self.inner.store.find_user_by_email(email.as_str()).await?
            && self.inner.store.member_role(org_id, &existing.id).await?.is_some()
        {
            return Err(AuthError::Conflict("this user is already a member".into()));
        }
        // Counted once the request is valid: a per-organization cap on invitations (and so on
        // invitation mail) per hour.
        if let Err(retry_after) = self.inner.invitations_limit.hit(org_id) {
            self.audit("invite_rate_limited").warning().org(org_id).record().await;
            return Err(AuthError::RateLimited { retry_after });
        }
        let token = random_id(TOKEN_BYTES);
        let ttl = i64::try_from(self.config().invitation_ttl.as_secs()).unwrap_or(i64::MAX);
        let new = NewInvitation {
            id: InvitationId::generate(),
            org_id: org_id.clone(),
            email: email.as_str().to_string(),
            role,
            token_hash: token_hash(&token).ok_or(AuthError::Unavailable)?,
            invited_by: by.cloned(),
            expires_at: now().saturating_add(ttl),
        };
        let record = self.inner.store.create_invitation(&new).await?;
        let mut audit =
            self.audit("invite").org(org_id).field("invitation_id", record.id.to_string()).field("role", role.as_str());
        if let Some(by) = by {
            audit = audit.actor(by);
        }
        audit.record().await;
        let accept_url = self.config().public_url_for(&format!("/invitations/{token}"));
        let delivery = match &self.inner.mailer {
            None => Delivery::NotConfigured,
            Some(mailer) => {
                match mailer
                    .send_invitation(&record.email, &record.org_name, &accept_url, &rfc3339(record.expires_at))
                    .await
                {
                    Ok(()) => Delivery::Sent,
                    Err(e) => {
                        tracing::warn!(invitation_id = %record.id, error = %e, "invitation mail not delivered; the invitation stays valid");
                        Delivery::Failed
                    }
                }
            }
        };
        Ok(CreatedInvitation { record, accept_url, delivery })
    }

    pub(crate) async fn invitations(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
    ) -> Result<Vec<InvitationRecord>, AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        Ok(self.inner.store.pending_invitations(org_id).await?)
    }

    pub(crate) async fn revoke_invitation(
        &self,
        admin: &CurrentUser,
        org_id: &OrgId,
        id: &InvitationId,
    ) -> Result<(), AuthError> {
        self.require_role(admin, org_id, Role::Admin).await?;
        self.inner.store.revoke_invitation(org_id, id).await.map_err(|e| match e {
            StoreError::NotFound => AuthError::NotFound("no pending invitation with this id".into()),
            other => other.into(),
        })?;
        self.audit("invitation_revoked")
            .org(org_id)
            .field("invitation_id", id.to_string())
            .actor(&admin.id)
            .record()
            .await;
        Ok(())
    }

    /// A pending invitation by token, or 404 for anything else (unknown, used, revoked, expired).
    pub(crate) async fn pending_invitation(&self, token: &str) -> Result<InvitationRecord, AuthError> {
        let hash = token_hash(token).ok_or_else(invitation_gone)?;
        match self.inner.store.find_invitation(&hash).await? {
            Some(inv) if !inv.accepted && !inv.revoked && inv.expires_at > now() => Ok(inv),
            _ => Err(invitation_gone()),
        }
    }

    /// Accepts an invitation: a signed-in user with the invited email joins; otherwise a new
    /// account is created with `name` and `password`. Single use, also under concurrency.
    pub(crate) async fn accept_invitation(
        &self,
        req: &RequestView<'_>,
        token: &str,
        name: Option<&str>,
        password: Option<&str>,
    ) -> Result<IssuedSession, AuthError> {
        let inv = self.pending_invitation(token).await?;
        let email = Email::parse(&inv.email).map_err(|_| invitation_gone())?;
        self.check_domain(&email)?;
        let hash = token_hash(token).ok_or_else(invitation_gone)?;
        let signed_in = self.session_of(req).await?.map(|(u, _)| u);
        let (acceptor, method) = match &signed_in {
            Some(user) if user.email == inv.email => (Acceptor::Existing(user.id.clone()), user.auth_method),
            Some(_) => {
                return Err(AuthError::Forbidden(
                    "this invitation is for another email address; sign out first".into(),
                ));
            }
            None => {
                if !self.config().basic_auth.enabled {
                    return Err(AuthError::Forbidden("sign in with SSO, then accept the invitation".into()));
                }
                if let Ok(email) = Email::parse(&inv.email) {
                    self.check_password_allowed(&email)?;
                }
                if self.inner.store.find_user_by_email(&inv.email).await?.is_some() {
                    return Err(AuthError::Conflict("an account with this email exists: sign in, then accept".into()));
                }
                let password = password.ok_or_else(|| AuthError::invalid("password", "missing field `password`"))?;
                let name = crate::accounts::clean_name("name", name.unwrap_or_default())?;
                self.inner.passwords.check_policy("password", password, &[&inv.email, &name]).await?;
                let hash = self.inner.passwords.hash(password).await?;
                let user =
                    NewUser { id: UserId::generate(), email: inv.email.clone(), name, password_hash: Some(hash) };
                (Acceptor::New(user), AuthMethod::Password)
            }
        };
        let (user, inv) = self.inner.store.accept_invitation(&hash, &acceptor).await.map_err(|e| match e {
            StoreError::NotFound => invitation_gone(),
            StoreError::Conflict(why) => AuthError::Conflict(why),
            other => other.into(),
        })?;
        if matches!(acceptor, Acceptor::New(_)) && self.config().basic_auth.require_verified_email {
            // The invitation was bound to this address: accepting it proves it.
            self.inner.store.set_email_verified(&user.id, &user.email).await?;
        }
        self.invalidate_user(&user.id).await?;
        self.audit("invitation_accepted")
            .org(&inv.org_id)
            .field("invitation_id", inv.id.to_string())
            .user(&user.id)
            .record()
            .await;
        self.start_session(req, &user, method).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hashed_and_shape_checked() {
        let t = random_id(TOKEN_BYTES);
        assert_eq!(t.len(), 43);
        let h = token_hash(&t).expect("plausible");
        assert_eq!(h.len(), 64);
        assert_ne!(h, t);
        assert!(token_hash("short").is_none());
        assert!(token_hash(&"a/".repeat(22)[..43]).is_none());
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
