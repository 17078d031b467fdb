//! Persistence: a small async trait with its own error type, and its SQLite implementation.

use async_trait::async_trait;

#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// Store failures. Anything but `Conflict`/`NotFound` fails the request closed with 503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule was hit (the email is taken, setup is done, ...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// The database cannot be reached or failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

/// Role of a user in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages members and invitations.
    Admin,
    /// Belongs to the organization.
    Member,
}

impl Role {
    /// `admin` or `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Parses `admin` or `member`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// How a session was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// Email and password.
    Password,
    /// An OpenID Connect provider.
    Oidc,
}

impl AuthMethod {
    /// `password` or `oidc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Oidc => "oidc",
        }
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn parse(s: &str) -> Self {
        if s == "oidc" { Self::Oidc } else { Self::Password }
    }
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id (UUID).
    pub id: String,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string; `None` for accounts without a password (OIDC only).
    pub password_hash: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Organization {
    /// Stable id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A user's membership in one organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    /// Organization id.
    pub id: String,
    /// Organization name.
    pub name: String,
    /// The user's role there.
    pub role: Role,
}

/// A new account to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id to use (UUID).
    pub id: String,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string, if any.
    pub password_hash: Option<String>,
}

/// A server-side session record (what logout revokes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Session id (the token's `sid`).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// How it was established.
    pub auth_method: AuthMethod,
    /// Unix seconds.
    pub created_at: i64,
    /// Absolute expiry, unix seconds.
    pub expires_at: i64,
    /// Set once revoked (logout, password change).
    pub revoked: bool,
}

/// Everything the guard needs to re-validate a session, in one call.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The session.
    pub session: SessionRecord,
    /// Its user.
    pub user: UserRecord,
    /// The user's organizations.
    pub memberships: Vec<Membership>,
}

/// A member of an organization, as listed to its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// User id.
    pub user_id: String,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in the organization.
    pub role: Role,
}

/// An invitation as stored (the token itself is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Invitation id (UUID).
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Organization name.
    pub org_name: String,
    /// Lower-case email the invitation is bound to.
    pub email: String,
    /// Role granted on acceptance.
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Set once accepted.
    pub accepted: bool,
    /// Set once revoked or replaced.
    pub revoked: bool,
}

/// A new invitation to insert.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// Invitation id (UUID).
    pub id: String,
    /// Organization id.
    pub org_id: String,
    /// Lower-case email.
    pub email: String,
    /// Role granted on acceptance.
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Inviting user id.
    pub invited_by: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Acceptor {
    /// A new account to create.
    New(NewUser),
    /// An existing user (signed in with the invited email).
    Existing(String),
}

/// What logout needs to know about a session established through OIDC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSession {
    /// Provider id (config).
    pub provider: String,
    /// The IdP's issuer.
    pub issuer: String,
    /// The user's subject at the IdP.
    pub subject: String,
    /// The IdP's session id (`sid` claim), if sent.
    pub idp_sid: Option<String>,
    /// The raw ID token (for `id_token_hint`).
    pub id_token: String,
}

/// A session as its user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the instance notes use when it re-validates (`revalidateAfter`).
    pub last_seen_at: i64,
    /// The client address at sign-in.
    pub ip: Option<String>,
    /// The `User-Agent` at sign-in.
    pub user_agent: Option<String>,
}

/// What a one-time email link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenPurpose {
    /// "Forgot password" and admin-made reset links.
    Reset,
    /// Proof that the user owns the address.
    Verify,
}

impl EmailTokenPurpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Verify => "verify",
        }
    }
}

/// A one-time email link to record (only the token's hash is stored).
#[derive(Debug, Clone)]
pub struct NewEmailToken {
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// What the link does.
    pub purpose: EmailTokenPurpose,
    /// Whose it is.
    pub user_id: String,
    /// The address it was made for: the link does nothing once the user's email changed.
    pub email: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The persistence the core needs. Implementations must be safe to share between instances
/// of the application (several processes on one store).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether no account exists yet (first-admin setup is pending).
    async fn needs_setup(&self) -> StoreResult<bool>;
    /// Creates the first admin and its organization, exactly once across all instances;
    /// [`StoreError::Conflict`] when setup already happened.
    async fn create_first_admin(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)>;
    /// Creates a user and their own organization (open signup).
    async fn create_user_with_org(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)>;
    /// Looks a user up by lower-case email.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// Looks a user up by id.
    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    /// Renames a user.
    async fn update_user_name(&self, id: &str, name: &str) -> StoreResult<()>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()>;
    /// The organizations a user belongs to.
    async fn user_memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>>;
    /// Records a new session.
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Loads a session with its user and memberships.
    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionView>>;
    /// Revokes one session.
    async fn revoke_session(&self, id: &str) -> StoreResult<()>;
    /// Revokes every live session of a user except `keep`; returns the revoked ids.
    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<Vec<String>>;
    /// Ids of the live (not revoked, not expired) sessions of a user.
    async fn live_session_ids(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// The user's role in an organization, read fresh from the store.
    async fn member_role(&self, org_id: &str, user_id: &str) -> StoreResult<Option<Role>>;
    /// The organization's members.
    async fn list_members(&self, org_id: &str) -> StoreResult<Vec<Member>>;
    /// Changes a member's role; [`StoreError::Conflict`] when it would leave no admin,
    /// [`StoreError::NotFound`] when not a member.
    async fn set_member_role(&self, org_id: &str, user_id: &str, role: Role) -> StoreResult<()>;
    /// Removes a member; [`StoreError::Conflict`] for the last admin.
    async fn remove_member(&self, org_id: &str, user_id: &str) -> StoreResult<()>;
    /// Stores an invitation, revoking any pending one for the same organization and email.
    async fn create_invitation(&self, invitation: &NewInvitation) -> StoreResult<InvitationRecord>;
    /// Pending (not accepted, revoked or expired) invitations of an organization.
    async fn pending_invitations(&self, org_id: &str) -> StoreResult<Vec<InvitationRecord>>;
    /// Revokes a pending invitation; [`StoreError::NotFound`] if there is none.
    async fn revoke_invitation(&self, org_id: &str, id: &str) -> StoreResult<()>;
    /// Finds an invitation by token hash, whatever its state.
    async fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>>;
    /// Accepts a pending invitation exactly once (also under concurrency): creates the account
    /// if new and the membership. [`StoreError::NotFound`] when not pending any more,
    /// [`StoreError::Conflict`] when the new account's email is taken.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: &Acceptor,
    ) -> StoreResult<(UserRecord, InvitationRecord)>;
    /// The user linked to an OIDC identity (issuer, subject).
    async fn find_user_by_identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserRecord>>;
    /// Links an OIDC identity to an existing user.
    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str) -> StoreResult<()>;
    /// Creates a user (no password) linked to an OIDC identity. While setup is pending the user
    /// becomes the first admin of a new organization named `setup_org` (exactly once).
    async fn create_oidc_user(
        &self,
        user: &NewUser,
        issuer: &str,
        subject: &str,
        setup_org: &str,
    ) -> StoreResult<(UserRecord, Option<Organization>)>;
    /// Accepts every pending invitation for `email` on behalf of `user_id`.
    async fn accept_invitations_for(&self, email: &str, user_id: &str) -> StoreResult<Vec<InvitationRecord>>;
    /// Records the OIDC details of a session.
    async fn set_oidc_session(&self, session_id: &str, oidc: &OidcSession) -> StoreResult<()>;
    /// The OIDC details of a session, if it was established through OIDC.
    async fn oidc_session(&self, session_id: &str) -> StoreResult<Option<OidcSession>>;
    /// Revokes the live sessions matching an IdP logout (by `sid`, else by subject).
    async fn revoke_idp_sessions(
        &self,
        issuer: &str,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> StoreResult<Vec<String>>;
    /// Marks a login state as used; `false` when it was used before (a replay).
    async fn consume_state(&self, state_hash: &str, expires_at: i64) -> StoreResult<bool>;
    /// Returns the persisted session secret, storing `candidate` first if there is none.
    async fn signing_secret(&self, candidate: &[u8]) -> StoreResult<Vec<u8>>;
    /// Records a one-time email link; earlier unused links of the same purpose for the user
    /// stop working.
    async fn create_email_token(&self, token: &NewEmailToken) -> StoreResult<()>;
    /// Uses a link exactly once (also under concurrency and across instances): the user id if
    /// the link exists for `purpose`, is unused, unexpired at `now`, and the user's email is
    /// still the one it was made for.
    async fn use_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: i64,
    ) -> StoreResult<Option<String>>;
    /// Records the browser and address of a new session (its first use at `at`).
    async fn describe_session(&self, id: &str, user_agent: Option<&str>, ip: Option<&str>, at: i64) -> StoreResult<()>;
    /// Notes that a session was used at `at` (called when the guard re-validates it).
    async fn touch_session(&self, id: &str, at: i64) -> StoreResult<()>;
    /// The live sessions of a user (not revoked, not expired at `now`), most recent first.
    async fn list_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<SessionInfo>>;
    /// Revokes one session of `user_id`; `false` when the user has no such live session.
    async fn revoke_own_session(&self, user_id: &str, id: &str) -> StoreResult<bool>;
    /// Whether the user proved they own their current email address.
    async fn email_verified(&self, user_id: &str) -> StoreResult<bool>;
    /// Marks the user's email verified if it still is `email`; `false` otherwise.
    async fn set_email_verified(&self, user_id: &str, email: &str) -> StoreResult<bool>;
}

/// Whether this build can open `url`: the one place that decides which database URLs are
/// supported (the config validator and [`AuthService::new`](crate::AuthService::new) ask it).
pub(crate) fn supported_url(url: &str) -> Result<(), String> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    let offered: &[&str] = &[
        #[cfg(feature = "sqlite")]
        "sqlite://path/to/file.db",
    ];
    Err(match offered {
        [] => {
            format!("{url:?} is not supported by this build: it has no database backend (enable the `sqlite` feature)")
        }
        _ => format!("{url:?} is not supported by this build: use {}", offered.join(" or ")),
    })
}
