//! Fault injection around the real store: while switched off, every call fails as an
//! unreachable database would (the SQLite store underneath stays real).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use auth_core::Role;
use auth_core::store::{
    Acceptor, AuditRecord, CacheEvent, EmailTokenPurpose, InvitationId, InvitationRecord, Member, Membership,
    NewAuditEvent, NewEmailToken, NewInvitation, NewUser, OidcSession, OrgId, Organization, Pushed, SessionId,
    SessionInfo, SessionRecord, SessionView, Store, StoreError, StoreResult, UserId, UserPage, UserRecord,
};

/// Turns the store off and on.
#[derive(Debug, Default)]
pub struct Switch(AtomicBool);

impl Switch {
    /// Every store call fails from now on.
    pub fn down(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// The store answers again.
    pub fn up(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// A store that fails while its [`Switch`] is down.
pub struct Faulty {
    /// The real store.
    pub inner: Arc<dyn Store>,
    /// The switch.
    pub switch: Arc<Switch>,
}

impl Faulty {
    fn check(&self) -> StoreResult<()> {
        if self.switch.0.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("connection refused (injected fault)".into()))
        } else {
            Ok(())
        }
    }
}

macro_rules! delegate {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        #[async_trait]
        impl Store for Faulty {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.check()?;
                    self.inner.$name($($arg),*).await
                }
            )*

            fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Pushed>> {
                self.inner.subscribe()
            }
        }
    };
}

delegate! {
    fn needs_setup(&self) -> StoreResult<bool>;
    fn create_first_admin(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)>;
    fn create_user_with_org(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)>;
    fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
    fn update_user_name(&self, id: &UserId, name: &str) -> StoreResult<()>;
    fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()>;
    fn user_memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>>;
    fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    fn load_session(&self, id: &SessionId) -> StoreResult<Option<SessionView>>;
    fn revoke_session(&self, id: &SessionId) -> StoreResult<()>;
    fn revoke_user_sessions(&self, user_id: &UserId, keep: Option<&SessionId>) -> StoreResult<Vec<SessionId>>;
    fn live_session_ids(&self, user_id: &UserId) -> StoreResult<Vec<SessionId>>;
    fn member_role(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<Option<Role>>;
    fn list_members(&self, org_id: &OrgId) -> StoreResult<Vec<Member>>;
    fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<()>;
    fn remove_member(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<()>;
    fn find_organizations(&self, id_or_name: Option<&str>) -> StoreResult<Vec<Organization>>;
    fn list_organizations(&self, limit: u32) -> StoreResult<Vec<(Organization, u64)>>;
    fn add_member(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool>;
    fn create_invitation(&self, invitation: &NewInvitation) -> StoreResult<InvitationRecord>;
    fn pending_invitations(&self, org_id: &OrgId) -> StoreResult<Vec<InvitationRecord>>;
    fn revoke_invitation(&self, org_id: &OrgId, id: &InvitationId) -> StoreResult<()>;
    fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>>;
    fn accept_invitation(&self, token_hash: &str, acceptor: &Acceptor) -> StoreResult<(UserRecord, InvitationRecord)>;
    fn find_user_by_identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserRecord>>;
    fn link_identity(&self, issuer: &str, subject: &str, user_id: &UserId) -> StoreResult<()>;
    fn create_oidc_user(&self, user: &NewUser, issuer: &str, subject: &str, setup_org: &str) -> StoreResult<(UserRecord, Option<Organization>)>;
    fn accept_invitations_for(&self, email: &str, user_id: &UserId) -> StoreResult<Vec<InvitationRecord>>;
    fn set_oidc_session(&self, session_id: &SessionId, oidc: &OidcSession) -> StoreResult<()>;
    fn oidc_session(&self, session_id: &SessionId) -> StoreResult<Option<OidcSession>>;
    fn revoke_idp_sessions(&self, issuer: &str, idp_sid: Option<&str>, subject: Option<&str>) -> StoreResult<Vec<SessionId>>;
    fn consume_state(&self, state_hash: &str, expires_at: i64) -> StoreResult<bool>;
    fn signing_secret(&self, candidate: &[u8]) -> StoreResult<Vec<u8>>;
    fn create_email_token(&self, token: &NewEmailToken) -> StoreResult<()>;
    fn use_email_token(&self, token_hash: &str, purpose: EmailTokenPurpose, now: i64) -> StoreResult<Option<UserId>>;
    fn describe_session(&self, id: &SessionId, user_agent: Option<&str>, ip: Option<&str>, at: i64) -> StoreResult<()>;
    fn touch_session(&self, id: &SessionId, at: i64) -> StoreResult<()>;
    fn list_sessions(&self, user_id: &UserId, now: i64) -> StoreResult<Vec<SessionInfo>>;
    fn revoke_own_session(&self, user_id: &UserId, id: &SessionId) -> StoreResult<bool>;
    fn email_verified(&self, user_id: &UserId) -> StoreResult<bool>;
    fn set_email_verified(&self, user_id: &UserId, email: &str) -> StoreResult<bool>;
    fn throttle_fail(&self, bucket: &str, now: i64, quiet_since: i64) -> StoreResult<u32>;
    fn throttle_lock(&self, bucket: &str, until: i64) -> StoreResult<()>;
    fn throttle_locked_until(&self, buckets: &[String], now: i64) -> StoreResult<Option<i64>>;
    fn throttle_clear(&self, bucket: &str) -> StoreResult<()>;
    fn list_users(&self, query: Option<&str>, offset: u32, limit: u32) -> StoreResult<UserPage>;
    fn set_user_disabled(&self, id: &UserId, disabled_at: Option<i64>) -> StoreResult<()>;
    fn delete_user(&self, id: &UserId) -> StoreResult<()>;
    fn append_audit(&self, event: &NewAuditEvent) -> StoreResult<()>;
    fn list_audit(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    fn prune_audit(&self, at: i64) -> StoreResult<u64>;
    fn rotate_signing_secret(&self, secret: &[u8], now: i64, forget_before: i64) -> StoreResult<()>;
    fn retired_signing_secrets(&self, since: i64) -> StoreResult<Vec<Vec<u8>>>;
    fn publish(&self, event: &CacheEvent) -> StoreResult<()>;
}
