//! Persistence: a small async trait with its own error type, and its two implementations,
//! SQLite (embedded, one machine) and PostgreSQL (several instances), which share their SQL.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
#[cfg(feature = "test-util")]
pub mod conformance;

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
    /// A row holds what this version cannot read (an unknown role, a wrong type): refused,
    /// never read as a default.
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),
}

/// Result alias of the store.
pub type StoreResult<T> = Result<T, StoreError>;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// A distinct type, so one kind of id cannot be passed where another is expected; it
        /// reads as `&str` (`Deref`) and prints as itself.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(any(feature = "sqlite", feature = "postgres"), derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from elsewhere (a URL path, a token claim).
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A user's id (a UUID).
    UserId
);
id_type!(
    /// An organization's id (a UUID).
    OrgId
);
id_type!(
    /// A session's id (the token's `sid`, random).
    SessionId
);
id_type!(
    /// An invitation's id (a UUID; the token is something else, never stored).
    InvitationId
);

impl UserId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl OrgId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

impl InvitationId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
}

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

    /// Parses `password` or `oidc`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(Self::Password),
            "oidc" => Some(Self::Oidc),
            _ => None,
        }
    }
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id (UUID).
    pub id: UserId,
    /// Lower-case email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string; `None` for accounts without a password (OIDC only).
    pub password_hash: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Set by an operator (`auth-admin users disable`, the admin console): the account cannot
    /// sign in and its sessions are refused.
    pub disabled: bool,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Organization {
    /// Stable id (UUID).
    pub id: OrgId,
    /// Display name.
    pub name: String,
}

/// A user's membership in one organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    /// Organization id.
    pub id: OrgId,
    /// Organization name.
    pub name: String,
    /// The user's role there.
    pub role: Role,
}

/// A new account to insert.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Id to use (UUID).
    pub id: UserId,
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
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
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
    pub user_id: UserId,
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
    pub id: InvitationId,
    /// Organization id.
    pub org_id: OrgId,
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
    pub id: InvitationId,
    /// Organization id.
    pub org_id: OrgId,
    /// Lower-case email.
    pub email: String,
    /// Role granted on acceptance.
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Inviting user id; `None` when an operator invited from the command line.
    pub invited_by: Option<UserId>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Acceptor {
    /// A new account to create.
    New(NewUser),
    /// An existing user (signed in with the invited email).
    Existing(UserId),
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
    pub id: SessionId,
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
    pub user_id: UserId,
    /// The address it was made for: the link does nothing once the user's email changed.
    pub email: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Where an audited action came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditSource {
    /// An HTTP request (a route, a page, the IdP).
    Http,
    /// The operator's command line (`auth-admin`).
    Cli,
}

impl AuditSource {
    /// `http` or `cli`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Cli => "cli",
        }
    }

    /// Parses `http` or `cli`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "http" => Some(Self::Http),
            "cli" => Some(Self::Cli),
            _ => None,
        }
    }
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Unix seconds.
    pub at: i64,
    /// What happened (`login`, `user_disabled`, ...).
    pub event: String,
    /// Where it came from.
    pub source: AuditSource,
    /// Who did it, when someone signed in did.
    pub actor_id: Option<UserId>,
    /// Whose account it concerns.
    pub user_id: Option<UserId>,
    /// Which organization it concerns.
    pub org_id: Option<OrgId>,
    /// The event's other fields, a JSON object (never a secret, token or password).
    pub detail: String,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log: larger is newer.
    pub seq: i64,
    /// The event.
    pub event: NewAuditEvent,
}

/// A page of users, as the admin console lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users on this page, by email.
    pub users: Vec<UserRecord>,
    /// How many users match in all.
    pub total: u64,
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
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>>;
    /// Renames a user.
    async fn update_user_name(&self, id: &UserId, name: &str) -> StoreResult<()>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()>;
    /// The organizations a user belongs to.
    async fn user_memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>>;
    /// Records a new session.
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Loads a session with its user and memberships.
    async fn load_session(&self, id: &SessionId) -> StoreResult<Option<SessionView>>;
    /// Revokes one session.
    async fn revoke_session(&self, id: &SessionId) -> StoreResult<()>;
    /// Revokes every live session of a user except `keep`; returns the revoked ids.
    async fn revoke_user_sessions(&self, user_id: &UserId, keep: Option<&SessionId>) -> StoreResult<Vec<SessionId>>;
    /// Ids of the live (not revoked, not expired) sessions of a user.
    async fn live_session_ids(&self, user_id: &UserId) -> StoreResult<Vec<SessionId>>;
    /// The user's role in an organization, read fresh from the store.
    async fn member_role(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<Option<Role>>;
    /// The organization's members.
    async fn list_members(&self, org_id: &OrgId) -> StoreResult<Vec<Member>>;
    /// Changes a member's role; [`StoreError::Conflict`] when it would leave no admin,
    /// [`StoreError::NotFound`] when not a member.
    async fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<()>;
    /// Removes a member; [`StoreError::Conflict`] for the last admin.
    async fn remove_member(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<()>;
    /// Organizations by id or exact name (several may share a name); with `None`, the first
    /// organization ever created (the instance's own), if any.
    async fn find_organizations(&self, id_or_name: Option<&str>) -> StoreResult<Vec<Organization>>;
    /// The first `limit` organizations by creation, each with its number of members.
    async fn list_organizations(&self, limit: u32) -> StoreResult<Vec<(Organization, u64)>>;
    /// Makes a user a member with `role` unless they already are one (then nothing changes);
    /// `true` when the membership was created.
    async fn add_member(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool>;
    /// Stores an invitation, revoking any pending one for the same organization and email.
    async fn create_invitation(&self, invitation: &NewInvitation) -> StoreResult<InvitationRecord>;
    /// Pending (not accepted, revoked or expired) invitations of an organization.
    async fn pending_invitations(&self, org_id: &OrgId) -> StoreResult<Vec<InvitationRecord>>;
    /// Revokes a pending invitation; [`StoreError::NotFound`] if there is none.
    async fn revoke_invitation(&self, org_id: &OrgId, id: &InvitationId) -> StoreResult<()>;
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
    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &UserId) -> StoreResult<()>;
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
    async fn accept_invitations_for(&self, email: &str, user_id: &UserId) -> StoreResult<Vec<InvitationRecord>>;
    /// Records the OIDC details of a session.
    async fn set_oidc_session(&self, session_id: &SessionId, oidc: &OidcSession) -> StoreResult<()>;
    /// The OIDC details of a session, if it was established through OIDC.
    async fn oidc_session(&self, session_id: &SessionId) -> StoreResult<Option<OidcSession>>;
    /// Revokes the live sessions matching an IdP logout (by `sid`, else by subject).
    async fn revoke_idp_sessions(
        &self,
        issuer: &str,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> StoreResult<Vec<SessionId>>;
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
    ) -> StoreResult<Option<UserId>>;
    /// Records the browser and address of a new session (its first use at `at`).
    async fn describe_session(
        &self,
        id: &SessionId,
        user_agent: Option<&str>,
        ip: Option<&str>,
        at: i64,
    ) -> StoreResult<()>;
    /// Notes that a session was used at `at` (called when the guard re-validates it).
    async fn touch_session(&self, id: &SessionId, at: i64) -> StoreResult<()>;
    /// The live sessions of a user (not revoked, not expired at `now`), most recent first.
    async fn list_sessions(&self, user_id: &UserId, now: i64) -> StoreResult<Vec<SessionInfo>>;
    /// Revokes one session of `user_id`; `false` when the user has no such live session.
    async fn revoke_own_session(&self, user_id: &UserId, id: &SessionId) -> StoreResult<bool>;
    /// Whether the user proved they own their current email address.
    async fn email_verified(&self, user_id: &UserId) -> StoreResult<bool>;
    /// Marks the user's email verified if it still is `email`; `false` otherwise.
    async fn set_email_verified(&self, user_id: &UserId, email: &str) -> StoreResult<bool>;
    /// Adds a failed sign-in to a shared throttle bucket and returns its failures; a bucket
    /// whose last failure is older than `quiet_since` starts again from one.
    async fn throttle_fail(&self, bucket: &str, now: i64, quiet_since: i64) -> StoreResult<u32>;
    /// Locks a bucket until `until` (never shortens a longer lock).
    async fn throttle_lock(&self, bucket: &str, until: i64) -> StoreResult<()>;
    /// The latest lock in force at `now` on any of `buckets`.
    async fn throttle_locked_until(&self, buckets: &[String], now: i64) -> StoreResult<Option<i64>>;
    /// Forgets a bucket (a successful sign-in).
    async fn throttle_clear(&self, bucket: &str) -> StoreResult<()>;
    /// Tells the other instances on this store that a cached session changed. Stores that
    /// cannot push (SQLite) do nothing: there, others see it within `revalidateAfter`.
    async fn publish(&self, event: &CacheEvent) -> StoreResult<()>;
    /// Users whose email or name contains `query` (case-insensitive; all with `None`), by
    /// email, `limit` from `offset`.
    async fn list_users(&self, query: Option<&str>, offset: u32, limit: u32) -> StoreResult<UserPage>;
    /// Disables (`disabled_at` set) or enables a user; [`StoreError::NotFound`] when none.
    async fn set_user_disabled(&self, id: &UserId, disabled_at: Option<i64>) -> StoreResult<()>;
    /// Deletes a user with their sessions, identities and memberships; an organization left
    /// without members goes too. [`StoreError::Conflict`] when they are the last admin of an
    /// organization that has other members; [`StoreError::NotFound`] when none.
    async fn delete_user(&self, id: &UserId) -> StoreResult<()>;
    /// Appends an audit event.
    async fn append_audit(&self, event: &NewAuditEvent) -> StoreResult<()>;
    /// Audit events older (smaller `seq`) than `before` (all with `None`), newest first, at
    /// most `limit`.
    async fn list_audit(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    /// Deletes audit events from before `at`; how many went.
    async fn prune_audit(&self, at: i64) -> StoreResult<u64>;
    /// Makes `secret` the stored signing secret; the one it replaces is kept as retired at
    /// `now`, and retired ones from before `forget_before` are deleted.
    async fn rotate_signing_secret(&self, secret: &[u8], now: i64, forget_before: i64) -> StoreResult<()>;
    /// Retired signing secrets retired at or after `since`, newest first.
    async fn retired_signing_secrets(&self, since: i64) -> StoreResult<Vec<Vec<u8>>>;
    /// The other instances' [`CacheEvent`]s, for a store that can push them; called once.
    fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Pushed>>;
}

/// A change to a cached session that every instance must apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheEvent {
    /// The session was revoked: refuse it from now on.
    Revoked(SessionId),
    /// What the session grants changed (roles, name): read it from the store again.
    Changed(SessionId),
}

/// What a store pushes to an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// Another instance's event.
    Event(CacheEvent),
    /// The push channel (re)connected, and events may have been missed: forget every cached
    /// session.
    Resync,
}

/// The connection pool of a server database (`database.maxConnections`,
/// `database.acquireTimeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Connections per instance, 2 to 1000 (one is the listener's). Defaults to 10.
    pub max_connections: u32,
    /// How long a request waits for a connection before it answers 503, 1 s to 60 s.
    /// Defaults to 3 s.
    pub acquire_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(3) }
    }
}

/// Opens the store `url` names: the one place that maps a URL to a backend.
pub async fn open(url: &str, pool: &PoolConfig) -> StoreResult<Arc<dyn Store>> {
    supported_url(url).map_err(StoreError::Unavailable)?;
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(Arc::new(SqliteStore::connect(url).await?));
    }
    #[cfg(feature = "postgres")]
    if is_postgres(url) {
        return Ok(Arc::new(PgStore::connect(url, pool).await?));
    }
    let _ = pool;
    Err(StoreError::Unavailable(format!("{url:?} has no backend in this build")))
}

/// What [`inspect`] found out about a database, without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreHealth {
    /// Whether the database exists. A missing SQLite file is created and migrated at the
    /// service's first start.
    pub exists: bool,
    /// Where it is, without credentials: the SQLite file, or `host:port/database`.
    pub location: String,
    /// The migration versions this build applies, in order.
    pub known_migrations: Vec<i64>,
    /// The versions recorded as applied successfully.
    pub applied_migrations: Vec<i64>,
    /// Applied versions whose SQL differs from this build's (the service refuses to start).
    pub changed_migrations: Vec<i64>,
    /// Versions recorded as failed half-way (the service refuses to start).
    pub failed_migrations: Vec<i64>,
    /// The length in bytes of the generated session secret the store holds, if it holds one.
    pub stored_secret_bytes: Option<usize>,
}

impl StoreHealth {
    /// Known versions not applied yet: the service applies them at its next start.
    pub fn pending_migrations(&self) -> Vec<i64> {
        self.known_migrations.iter().filter(|v| !self.applied_migrations.contains(v)).copied().collect()
    }

    /// Applied versions this build does not know: the database was migrated by a newer
    /// version.
    pub fn unknown_migrations(&self) -> Vec<i64> {
        self.applied_migrations.iter().filter(|v| !self.known_migrations.contains(v)).copied().collect()
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn new(location: String, migrator: &sqlx::migrate::Migrator) -> Self {
        Self {
            exists: false,
            location,
            known_migrations: migrator.iter().map(|m| m.version).collect(),
            applied_migrations: Vec::new(),
            changed_migrations: Vec::new(),
            failed_migrations: Vec::new(),
            stored_secret_bytes: None,
        }
    }

    /// Records the rows of `_sqlx_migrations` (version, success, checksum).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn record(&mut self, migrator: &sqlx::migrate::Migrator, rows: Vec<(i64, bool, Vec<u8>)>) {
        for (version, success, checksum) in rows {
            if !success {
                self.failed_migrations.push(version);
                continue;
            }
            self.applied_migrations.push(version);
            if migrator.iter().any(|m| m.version == version && *m.checksum != *checksum) {
                self.changed_migrations.push(version);
            }
        }
    }
}

/// Looks at the database `url` names without changing it: whether it exists, which
/// migrations are applied against the ones this build knows, and whether it holds a generated
/// session secret. Never creates a file, never migrates (read-only for SQLite, `SELECT`s only
/// for PostgreSQL); errors name no password.
pub async fn inspect(url: &str, pool: &PoolConfig) -> StoreResult<StoreHealth> {
    supported_url(url).map_err(StoreError::Unavailable)?;
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return SqliteStore::inspect(url).await;
    }
    #[cfg(feature = "postgres")]
    if is_postgres(url) {
        return PgStore::inspect(url, pool).await;
    }
    let _ = pool;
    Err(StoreError::Unavailable(format!("{url:?} has no backend in this build")))
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Whether this build can open `url`: the one place that decides which database URLs are
/// supported (the config validator and [`AuthService::new`](crate::AuthService::new) ask it).
pub(crate) fn supported_url(url: &str) -> Result<(), String> {
    #[cfg(feature = "sqlite")]
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    #[cfg(feature = "postgres")]
    if is_postgres(url) {
        return Ok(());
    }
    let offered: &[&str] = &[
        #[cfg(feature = "sqlite")]
        "sqlite://path/to/file.db",
        #[cfg(feature = "postgres")]
        "postgres://user:password@host/database",
    ];
    // Never echo the URL: it may hold a password.
    let url = match url.split_once(':') {
        Some((scheme, _)) if !scheme.is_empty() => format!("a {scheme:?} URL"),
        _ => "this URL".to_string(),
    };
    Err(match offered {
        [] => format!(
            "{url} is not supported by this build: it has no database backend \
             (enable the `sqlite` or `postgres` feature)"
        ),
        _ => format!("{url} is not supported by this build: use {}", offered.join(" or ")),
    })
}
