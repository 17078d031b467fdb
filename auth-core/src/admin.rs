//! Instance administration: what the admin console (`/settings/admin`), the `GET /admin/*`
//! routes and the operator's `auth-admin` command do, decided once.
//!
//! Instance admins are the admins of the instance's first organization (the one "Create
//! Account" made): the first admin, and whoever an admin of it promotes. An operator with the
//! config and the database (`auth-admin`) may do everything an instance admin may, and more
//! (set a password, rotate the signing key).

use crate::config::JwtSecretSource;
use crate::email::Email;
use crate::error::AuthError;
use crate::orgs::CreatedInvitation;
use crate::service::AuthService;
use crate::session::CurrentUser;
use crate::store::{
    AuditRecord, Membership, NewUser, OrgId, Organization, Role, SessionId, SessionInfo, StoreError, UserId, UserPage,
    UserRecord,
};
use crate::time::now;

/// Administrative actions, by an instance admin ([`AuthService::admin_as`]) or by the operator
/// ([`AuthService::operator`]). Every action is audited.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    service: &'a AuthService,
    /// The instance admin acting; `None` for the operator.
    actor: Option<&'a CurrentUser>,
}

/// One user, as the console and `auth-admin users show` describe them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetail {
    /// The account.
    pub user: UserRecord,
    /// Organizations and roles.
    pub memberships: Vec<Membership>,
    /// Whether the email address is verified.
    pub email_verified: bool,
    /// Whether the user is an instance admin.
    pub instance_admin: bool,
    /// Live sessions, most recent first.
    pub sessions: Vec<SessionInfo>,
}

/// An organization with its member count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationSummary {
    /// The organization.
    pub organization: Organization,
    /// How many members it has.
    pub members: u64,
    /// Whether it is the instance's own (its admins are instance admins).
    pub instance: bool,
}

/// The most a page of users or audit events holds.
pub const MAX_PAGE: u32 = 200;

impl AuthService {
    /// Administrative actions for the operator of the instance (`auth-admin`): no sign-in,
    /// audited with source `cli` when the service was built with
    /// [`AuthService::for_operator`].
    pub fn operator(&self) -> Admin<'_> {
        Admin { service: self, actor: None }
    }

    /// Administrative actions for a signed-in instance admin; 403 `forbidden` for anyone else.
    pub async fn admin_as<'a>(&'a self, user: &'a CurrentUser) -> Result<Admin<'a>, AuthError> {
        if self.is_instance_admin(&user.organizations).await? {
            Ok(Admin { service: self, actor: Some(user) })
        } else {
            Err(AuthError::Forbidden("this needs an instance admin (an admin of the instance's organization)".into()))
        }
    }

    /// The instance's own organization, if one exists.
    pub(crate) async fn instance_org(&self) -> Result<Option<Organization>, AuthError> {
        Ok(self.inner.store.find_organizations(None).await?.into_iter().next())
    }

    /// Whether `memberships` make their user an instance admin.
    pub(crate) async fn is_instance_admin(&self, memberships: &[Membership]) -> Result<bool, AuthError> {
        if !memberships.iter().any(|m| m.role == Role::Admin) {
            return Ok(false);
        }
        let Some(org) = self.instance_org().await? else { return Ok(false) };
        Ok(memberships.iter().any(|m| m.id == org.id && m.role == Role::Admin))
    }
}

fn no_user() -> AuthError {
    AuthError::NotFound("no such user".into())
}

impl Admin<'_> {
    fn store(&self) -> &dyn crate::store::Store {
        &*self.service.inner.store
    }

    fn audit(&self, event: &'static str, user: &UserId) -> crate::audit::Audit<'_> {
        let audit = self.service.audit(event).user(user);
        match self.actor {
            Some(a) => audit.actor(&a.id),
            None => audit,
        }
    }

    /// Refuses an instance admin's action on their own account (the operator may).
    fn not_self(&self, id: &UserId, what: &str) -> Result<(), AuthError> {
        match self.actor {
            Some(a) if a.id == *id => Err(AuthError::Conflict(format!("you cannot {what} your own account"))),
            _ => Ok(()),
        }
    }

    /// Users whose email or name contains `query`, by email, `limit` (at most [`MAX_PAGE`])
    /// from `offset`.
    pub async fn users(&self, query: Option<&str>, offset: u32, limit: u32) -> Result<UserPage, AuthError> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if query.is_some_and(|q| q.chars().count() > 200) {
            return Err(AuthError::invalid("q", "at most 200 characters"));
        }
        Ok(self.store().list_users(query, offset, limit.clamp(1, MAX_PAGE)).await?)
    }

    /// A user by email; 404 when none.
    pub async fn find(&self, email: &str) -> Result<UserRecord, AuthError> {
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        self.store().find_user_by_email(email.as_str()).await?.ok_or_else(no_user)
    }

    /// The emails of the users `ids` names that still exist, by id (to show who an audit
    /// event is about).
    pub async fn emails(&self, ids: &[UserId]) -> Result<std::collections::BTreeMap<UserId, String>, AuthError> {
        let mut found = std::collections::BTreeMap::new();
        for id in ids {
            if found.contains_key(id) {
                continue;
            }
            if let Some(u) = self.store().get_user(id).await? {
                found.insert(id.clone(), u.email);
            }
        }
        Ok(found)
    }

    /// Everything about one user.
    pub async fn detail(&self, id: &UserId) -> Result<UserDetail, AuthError> {
        let user = self.store().get_user(id).await?.ok_or_else(no_user)?;
        let memberships = self.store().user_memberships(id).await?;
        let instance_admin = self.service.is_instance_admin(&memberships).await?;
        Ok(UserDetail {
            email_verified: self.store().email_verified(id).await?,
            sessions: self.store().list_sessions(id, now()).await?,
            user,
            memberships,
            instance_admin,
        })
    }

    /// Ends every session of a user, on every instance; how many ended.
    pub async fn end_sessions(&self, id: &UserId) -> Result<usize, AuthError> {
        self.store().get_user(id).await?.ok_or_else(no_user)?;
        let ended = self.store().revoke_user_sessions(id, None).await?;
        self.service.revoke_cached(&ended).await;
        self.audit("sessions_revoked", id).field("sessions_ended", ended.len()).record().await;
        Ok(ended.len())
    }

    /// Ends one session of a user.
    pub async fn end_session(&self, id: &UserId, session: &SessionId) -> Result<(), AuthError> {
        if !self.store().revoke_own_session(id, session).await? {
            return Err(AuthError::NotFound("no such session".into()));
        }
        self.service.revoke_cached([session]).await;
        self.audit("session_revoked", id).record().await;
        Ok(())
    }

    /// Disables a user: no sign-in, and their sessions end at once; how many ended.
    pub async fn disable(&self, id: &UserId) -> Result<usize, AuthError> {
        self.not_self(id, "disable")?;
        self.store().set_user_disabled(id, Some(now())).await.map_err(not_found_user)?;
        let ended = self.store().revoke_user_sessions(id, None).await?;
        self.service.revoke_cached(&ended).await;
        self.audit("user_disabled", id).field("sessions_ended", ended.len()).record().await;
        Ok(ended.len())
    }

    /// Lets a disabled user sign in again.
    pub async fn enable(&self, id: &UserId) -> Result<(), AuthError> {
        self.store().set_user_disabled(id, None).await.map_err(not_found_user)?;
        self.audit("user_enabled", id).record().await;
        Ok(())
    }

    /// Deletes a user: sessions end at once, memberships go (and organizations left empty).
    /// 409 when they are the last admin of an organization with other members.
    pub async fn delete(&self, id: &UserId) -> Result<(), AuthError> {
        self.not_self(id, "delete")?;
        let sessions = self.store().live_session_ids(id).await?;
        self.store().delete_user(id).await.map_err(|e| match e {
            StoreError::NotFound => no_user(),
            StoreError::Conflict(why) => AuthError::Conflict(why),
            other => other.into(),
        })?;
        self.service.revoke_cached(&sessions).await;
        self.audit("user_deleted", id).field("sessions_ended", sessions.len()).record().await;
        Ok(())
    }

    /// A one-time password-reset link for a password user (for deployments without mail).
    pub async fn reset_link(&self, id: &UserId) -> Result<String, AuthError> {
        let user = self.store().get_user(id).await?.ok_or_else(no_user)?;
        if user.password_hash.is_none() {
            return Err(AuthError::Conflict("this user signs in through SSO and has no password".into()));
        }
        let ttl = self.service.config().basic_auth.password_reset_ttl;
        let url = self.service.email_link(&user, crate::store::EmailTokenPurpose::Reset, ttl).await?;
        self.audit("password_reset_link", id).record().await;
        Ok(url)
    }

    /// Sets a user's password (the policy applies); every session of the user ends.
    pub async fn set_password(&self, id: &UserId, password: &str) -> Result<usize, AuthError> {
        let user = self.store().get_user(id).await?.ok_or_else(no_user)?;
        let p = &self.service.inner.passwords;
        p.check_policy("password", password, &[user.email.as_str(), &user.name]).await?;
        let hash = p.hash(password).await?;
        self.store().set_password_hash(id, &hash).await?;
        let ended = self.store().revoke_user_sessions(id, None).await?;
        self.service.revoke_cached(&ended).await;
        self.audit("password_set", id).field("sessions_ended", ended.len()).record().await;
        Ok(ended.len())
    }

    /// Creates an instance admin with a password: the first admin and its organization
    /// (`org`, default "`name`'s organization") of an empty store; on a set-up instance an
    /// admin of the instance's organization (an existing account is promoted, its password
    /// left alone).
    pub async fn create_admin(
        &self,
        email: &str,
        name: Option<&str>,
        org: Option<&str>,
        password: &str,
    ) -> Result<UserDetail, AuthError> {
        let email = Email::parse(email).map_err(|e| AuthError::invalid("email", e.to_string()))?;
        let name = crate::accounts::clean_name(
            "name",
            name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("")),
        )?;
        let org_name = match org {
            Some(o) => crate::accounts::clean_name("org", o)?,
            None => format!("{name}'s organization"),
        };
        let store = self.store();
        let user = match (store.find_user_by_email(email.as_str()).await?, self.service.instance_org().await?) {
            (Some(existing), Some(instance)) => {
                if !store.add_member(&instance.id, &existing.id, Role::Admin).await? {
                    store.set_member_role(&instance.id, &existing.id, Role::Admin).await?;
                }
                self.service.invalidate_user(&existing.id).await?;
                self.audit("instance_admin_added", &existing.id).org(&instance.id).record().await;
                existing
            }
            (existing, instance) => {
                let p = &self.service.inner.passwords;
                p.check_policy("password", password, &[email.as_str(), &name]).await?;
                let new = NewUser {
                    id: UserId::generate(),
                    email: email.as_str().to_string(),
                    name,
                    password_hash: Some(p.hash(password).await?),
                };
                let taken = || AuthError::Conflict("an account with this email already exists".into());
                let (user, org) = match (existing, instance) {
                    (Some(_), None) => return Err(taken()),
                    (None, Some(instance)) => {
                        let (user, _) = store.create_user_with_org(&new, &org_name).await.map_err(|e| match e {
                            StoreError::Conflict(_) => taken(),
                            other => other.into(),
                        })?;
                        store.add_member(&instance.id, &user.id, Role::Admin).await?;
                        (user, instance.id)
                    }
                    _ => {
                        let (user, org) = store.create_first_admin(&new, &org_name).await.map_err(|e| match e {
                            StoreError::Conflict(why) => AuthError::Conflict(why),
                            other => other.into(),
                        })?;
                        (user, org.id)
                    }
                };
                self.audit("instance_admin_created", &user.id).org(&org).record().await;
                user
            }
        };
        self.detail(&user.id).await
    }

    /// Invites `email` to the organization `org` (its id or exact name; the instance's own
    /// when `None`) with `role`; the link is in the answer (and mailed when SMTP is set).
    pub async fn invite(&self, email: &str, org: Option<&str>, role: Role) -> Result<CreatedInvitation, AuthError> {
        let org_id = self.organization(org).await?;
        self.service.invite_by(self.actor.map(|a| &a.id), &org_id, email, role).await
    }

    /// One organization by id or exact name (the instance's own when `None`).
    pub async fn organization(&self, org: Option<&str>) -> Result<OrgId, AuthError> {
        let found = self.store().find_organizations(org).await?;
        match found.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(AuthError::NotFound(match org {
                Some(o) => format!("no organization has the id or name {o:?}"),
                None => "there is no organization yet".into(),
            })),
            _ => Err(AuthError::Conflict("several organizations have this name: use the id".into())),
        }
    }

    /// The organizations (the first 10,000), oldest first, with their member counts.
    pub async fn organizations(&self) -> Result<Vec<OrganizationSummary>, AuthError> {
        let all = self.store().list_organizations(10_000).await?;
        let first = all.first().map(|(o, _)| o.id.clone());
        Ok(all
            .into_iter()
            .map(|(organization, members)| OrganizationSummary {
                instance: first.as_ref() == Some(&organization.id),
                organization,
                members,
            })
            .collect())
    }

    /// Stored audit events before `before` (all with `None`), newest first, at most `limit`
    /// (at most [`MAX_PAGE`]).
    pub async fn audit_events(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRecord>, AuthError> {
        Ok(self.store().list_audit(before, limit.clamp(1, MAX_PAGE)).await?)
    }

    /// A new signing key for sessions, when the store holds the secret (no `jwtSecret`
    /// configured): it signs from now on, on every instance within a minute; the previous key
    /// keeps verifying until sessions made with it expire.
    pub async fn rotate_signing_key(&self) -> Result<(), AuthError> {
        if !matches!(self.service.config().jwt_secret, JwtSecretSource::Generate) {
            return Err(AuthError::Conflict(
                "the signing secret comes from the configuration (basicAuth.jwtSecret, existingSecretName, \
                 AUTH_JWT_SECRET or BYOC_JWT_SECRET): set a new one there and keep the old one in \
                 basicAuth.previousJwtSecrets until sessions made with it have expired"
                    .into(),
            ));
        }
        let mut secret = vec![0u8; 32];
        rand::fill(&mut secret[..]);
        let now = now();
        let forget_before = now.saturating_sub(self.service.longest_session_secs());
        self.store().rotate_signing_secret(&secret, now, forget_before).await?;
        self.service.reload_keys().await?;
        let mut audit = self.service.audit("signing_key_rotated");
        if let Some(a) = self.actor {
            audit = audit.actor(&a.id);
        }
        audit.record().await;
        Ok(())
    }
}

fn not_found_user(e: StoreError) -> AuthError {
    match e {
        StoreError::NotFound => no_user(),
        other => other.into(),
    }
}
