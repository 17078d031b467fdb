//! The SQL both backends share: typed rows (`sqlx::FromRow`), strict decoding (a corrupt row is
//! an error, never a default) and one body of queries, written once in portable SQL (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`) and instantiated per backend by [`sql_store!`].
//!
//! What differs between SQLite and PostgreSQL is what a backend provides to the macro:
//! `begin_write` (SQLite: `BEGIN IMMEDIATE`, one writer at a time; PostgreSQL: `BEGIN`) and
//! `LOCK_ORG` (PostgreSQL: a row lock on the organization, so "keep an admin" checks cannot
//! interleave across instances; SQLite: nothing, its write lock already serializes).

use super::{
    AuditRecord, AuditSource, AuthMethod, InvitationId, InvitationRecord, Member, Membership, NewAuditEvent, OrgId,
    Role, SessionId, SessionInfo, StoreError, UserId, UserRecord,
};

/// Maps a driver error: uniqueness → `Conflict`, undecodable data → `Corrupt`, the rest →
/// `Unavailable`.
pub(super) fn db_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("already exists".into()),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// The email uniqueness rule, said in words.
pub(super) fn email_taken(e: sqlx::Error) -> StoreError {
    match db_error(e) {
        StoreError::Conflict(_) => StoreError::Conflict("an account with this email already exists".into()),
        other => other,
    }
}

macro_rules! text_enum {
    ($ty:ty, $parse:expr, $what:literal) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $ty
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $ty
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                let parse: fn(&str) -> Option<$ty> = $parse;
                parse(&text).ok_or_else(|| format!(concat!("unknown ", $what, " {:?} in the store"), text).into())
            }
        }
    };
}

text_enum!(Role, Role::parse, "role");
text_enum!(AuthMethod, AuthMethod::parse, "auth method");
text_enum!(AuditSource, AuditSource::parse, "audit source");

/// `users` as read.
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: UserId,
    email: String,
    name: String,
    password_hash: Option<String>,
    created_at: i64,
    disabled_at: Option<i64>,
}

impl From<UserRow> for UserRecord {
    fn from(r: UserRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            name: r.name,
            password_hash: r.password_hash,
            created_at: r.created_at,
            disabled: r.disabled_at.is_some(),
        }
    }
}

pub(super) const USER_COLUMNS: &str = "id, email, name, password_hash, created_at, disabled_at";

/// `audit_events` as read.
#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    seq: i64,
    at: i64,
    event: String,
    source: AuditSource,
    actor_id: Option<UserId>,
    user_id: Option<UserId>,
    org_id: Option<OrgId>,
    detail: String,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        Self {
            seq: r.seq,
            event: NewAuditEvent {
                at: r.at,
                event: r.event,
                source: r.source,
                actor_id: r.actor_id,
                user_id: r.user_id,
                org_id: r.org_id,
                detail: r.detail,
            },
        }
    }
}

/// A `LIKE` pattern matching `text` anywhere (escaped with `\`), lower-cased.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// An invitation joined with its organization's name.
#[derive(sqlx::FromRow)]
pub(super) struct InvitationRow {
    id: InvitationId,
    org_id: OrgId,
    org_name: String,
    email: String,
    role: Role,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<InvitationRow> for InvitationRecord {
    fn from(r: InvitationRow) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            org_name: r.org_name,
            email: r.email,
            role: r.role,
            created_at: r.created_at,
            expires_at: r.expires_at,
            accepted: r.accepted_at.is_some(),
            revoked: r.revoked_at.is_some(),
        }
    }
}

pub(super) const INVITATION_SELECT: &str = "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.role, \
     i.created_at, i.expires_at, i.accepted_at, i.revoked_at \
     FROM invitations i JOIN organizations o ON o.id = i.org_id";

#[derive(sqlx::FromRow)]
pub(super) struct OrganizationRow {
    pub(super) id: OrgId,
    pub(super) name: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct MembershipRow {
    id: OrgId,
    name: String,
    role: Role,
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Self {
        Self { id: r.id, name: r.name, role: r.role }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    user_id: UserId,
    email: String,
    name: String,
    role: Role,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Self { user_id: r.user_id, email: r.email, name: r.name, role: r.role }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    pub(super) id: SessionId,
    pub(super) user_id: UserId,
    pub(super) auth_method: AuthMethod,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) revoked_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionInfoRow {
    id: SessionId,
    created_at: i64,
    last_seen_at: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionInfoRow> for SessionInfo {
    fn from(r: SessionInfoRow) -> Self {
        Self {
            id: r.id,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at.unwrap_or(r.created_at),
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct OidcSessionRow {
    pub(super) provider: String,
    pub(super) issuer: String,
    pub(super) subject: String,
    pub(super) idp_sid: Option<String>,
    pub(super) id_token: String,
}

/// Implements [`Store`](super::Store) for a backend type `$store` with a `pool: sqlx::Pool<$db>`
/// field, an `async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, $db>>` and a
/// `const LOCK_ORG: Option<&'static str>` statement taking the organization id as `$1`, and a
/// `const CREATION_ORDER: &'static str` column that orders organizations by creation.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_user_and_org(
                tx: &mut sqlx::Transaction<'static, $db>,
                user: &NewUser,
                org_name: &str,
            ) -> StoreResult<(UserRecord, Organization)> {
                let ts = now();
                sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&user.id)
                    .bind(&user.email)
                    .bind(&user.name)
                    .bind(&user.password_hash)
                    .bind(ts)
                    .execute(&mut **tx)
                    .await
                    .map_err(email_taken)?;
                let org = Organization { id: OrgId::generate(), name: org_name.to_string() };
                sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(&org.id)
                    .bind(&org.name)
                    .bind(ts)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'admin', $3)")
                    .bind(&org.id)
                    .bind(&user.id)
                    .bind(ts)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                let record = UserRecord {
                    id: user.id.clone(),
                    email: user.email.clone(),
                    name: user.name.clone(),
                    password_hash: user.password_hash.clone(),
                    created_at: ts,
                    disabled: false,
                };
                Ok((record, org))
            }

            /// Marks setup done inside `tx`; whether this call was the one that did it.
            async fn complete_setup(tx: &mut sqlx::Transaction<'static, $db>) -> StoreResult<bool> {
                let r = sqlx::query("INSERT INTO setup (id, completed_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
                    .bind(now())
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                Ok(r.rows_affected() == 1)
            }

            /// Inside a write transaction: `NotFound` unless `user_id` is a member, and
            /// `Conflict(why)` when the change would leave the organization without an admin
            /// (`stays_admin` false for the last one).
            async fn keep_an_admin(
                tx: &mut sqlx::Transaction<'static, $db>,
                org_id: &OrgId,
                user_id: &UserId,
                stays_admin: bool,
                why: &str,
            ) -> StoreResult<()> {
                if let Some(lock) = Self::LOCK_ORG {
                    sqlx::query(lock).bind(org_id).execute(&mut **tx).await.map_err(db_error)?;
                }
                let current: Option<Role> =
                    sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                        .bind(org_id)
                        .bind(user_id)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db_error)?;
                let Some(current) = current else { return Err(StoreError::NotFound) };
                if current != Role::Admin || stays_admin {
                    return Ok(());
                }
                let admins: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin'")
                        .bind(org_id)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db_error)?;
                if admins <= 1 { Err(StoreError::Conflict(why.into())) } else { Ok(()) }
            }

            async fn invitation_by(
                tx: &mut sqlx::Transaction<'static, $db>,
                column: &'static str,
                value: &str,
            ) -> StoreResult<InvitationRecord> {
                let row: InvitationRow =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{INVITATION_SELECT} WHERE i.{column} = $1")))
                        .bind(value)
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(db_error)?;
                Ok(row.into())
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn needs_setup(&self) -> StoreResult<bool> {
                let done: Option<i64> = sqlx::query_scalar("SELECT id FROM setup WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(done.is_none())
            }

            async fn create_first_admin(
                &self,
                user: &NewUser,
                org_name: &str,
            ) -> StoreResult<(UserRecord, Organization)> {
                let mut tx = self.begin_write().await?;
                // Concurrent setups wait on the one `setup` row: exactly one inserts it.
                if !Self::complete_setup(&mut tx).await? {
                    return Err(StoreError::Conflict("setup has already been completed".into()));
                }
                let out = Self::insert_user_and_org(&mut tx, user, org_name).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(out)
            }

            async fn create_user_with_org(
                &self,
                user: &NewUser,
                org_name: &str,
            ) -> StoreResult<(UserRecord, Organization)> {
                let mut tx = self.begin_write().await?;
                let out = Self::insert_user_and_org(&mut tx, user, org_name).await?;
                Self::complete_setup(&mut tx).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(out)
            }

            async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
                let row: Option<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")))
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                Ok(row.map(Into::into))
            }

            async fn get_user(&self, id: &UserId) -> StoreResult<Option<UserRecord>> {
                let row: Option<UserRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                Ok(row.map(Into::into))
            }

            async fn update_user_name(&self, id: &UserId, name: &str) -> StoreResult<()> {
                let r = sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
                    .bind(name)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn set_password_hash(&self, id: &UserId, hash: &str) -> StoreResult<()> {
                let r = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn user_memberships(&self, user_id: &UserId) -> StoreResult<Vec<Membership>> {
                let rows: Vec<MembershipRow> = sqlx::query_as(
                    "SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id \
                     WHERE m.user_id = $1 ORDER BY m.created_at, o.name",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (id, user_id, auth_method, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&s.id)
                .bind(&s.user_id)
                .bind(s.auth_method.as_str())
                .bind(s.created_at)
                .bind(s.expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn load_session(&self, id: &SessionId) -> StoreResult<Option<SessionView>> {
                let row: Option<SessionRow> = sqlx::query_as(
                    "SELECT id, user_id, auth_method, created_at, expires_at, revoked_at FROM sessions WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                let Some(row) = row else { return Ok(None) };
                let Some(user) = self.get_user(&row.user_id).await? else { return Ok(None) };
                let memberships = self.user_memberships(&row.user_id).await?;
                let session = SessionRecord {
                    id: row.id,
                    user_id: row.user_id,
                    auth_method: row.auth_method,
                    created_at: row.created_at,
                    expires_at: row.expires_at,
                    revoked: row.revoked_at.is_some(),
                };
                Ok(Some(SessionView { session, user, memberships }))
            }

            async fn revoke_session(&self, id: &SessionId) -> StoreResult<()> {
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(now())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn revoke_user_sessions(
                &self,
                user_id: &UserId,
                keep: Option<&SessionId>,
            ) -> StoreResult<Vec<SessionId>> {
                sqlx::query_scalar(
                    "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3 \
                     RETURNING id",
                )
                .bind(now())
                .bind(user_id)
                .bind(keep.map_or("", SessionId::as_str))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn live_session_ids(&self, user_id: &UserId) -> StoreResult<Vec<SessionId>> {
                sqlx::query_scalar(
                    "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
                )
                .bind(user_id)
                .bind(now())
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn member_role(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<Option<Role>> {
                sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn list_members(&self, org_id: &OrgId) -> StoreResult<Vec<Member>> {
                let rows: Vec<MemberRow> = sqlx::query_as(
                    "SELECT u.id AS user_id, u.email, u.name, m.role FROM memberships m \
                     JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY m.created_at, u.email",
                )
                .bind(org_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn set_member_role(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::keep_an_admin(&mut tx, org_id, user_id, role == Role::Admin, "the last admin cannot be demoted")
                    .await?;
                sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                    .bind(role.as_str())
                    .bind(org_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn remove_member(&self, org_id: &OrgId, user_id: &UserId) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                Self::keep_an_admin(&mut tx, org_id, user_id, false, "the last admin cannot be removed").await?;
                sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
                    .bind(org_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn find_organizations(&self, id_or_name: Option<&str>) -> StoreResult<Vec<Organization>> {
                let rows: Vec<OrganizationRow> = match id_or_name {
                    None => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT id, name FROM organizations ORDER BY {} LIMIT 1",
                        Self::CREATION_ORDER
                    )))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?,
                    Some(key) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT id, name FROM organizations WHERE id = $1 OR name = $1 ORDER BY {} LIMIT 16",
                        Self::CREATION_ORDER
                    )))
                    .bind(key)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?,
                };
                Ok(rows.into_iter().map(|r| Organization { id: r.id, name: r.name }).collect())
            }

            async fn list_organizations(&self, limit: u32) -> StoreResult<Vec<(Organization, u64)>> {
                let rows: Vec<(OrgId, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT o.id, o.name, (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id) \
                     FROM organizations o ORDER BY o.{} LIMIT $1",
                    Self::CREATION_ORDER
                )))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, name, n)| (Organization { id, name }, n.try_into().unwrap_or(0)))
                    .collect())
            }

            async fn add_member(&self, org_id: &OrgId, user_id: &UserId, role: Role) -> StoreResult<bool> {
                let r = sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO NOTHING",
                )
                .bind(org_id)
                .bind(user_id)
                .bind(role.as_str())
                .bind(now())
                .execute(&self.pool)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
                    _ => db_error(e),
                })?;
                Ok(r.rows_affected() == 1)
            }

            async fn create_invitation(&self, inv: &NewInvitation) -> StoreResult<InvitationRecord> {
                let mut tx = self.begin_write().await?;
                if let Some(lock) = Self::LOCK_ORG {
                    // One pending invitation per (organization, email), also across instances.
                    sqlx::query(lock).bind(&inv.org_id).execute(&mut *tx).await.map_err(db_error)?;
                }
                let ts = now();
                sqlx::query(
                    "UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND email = $3 \
                     AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(ts)
                .bind(&inv.org_id)
                .bind(&inv.email)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                sqlx::query(
                    "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&inv.id)
                .bind(&inv.org_id)
                .bind(&inv.email)
                .bind(inv.role.as_str())
                .bind(&inv.token_hash)
                .bind(&inv.invited_by)
                .bind(ts)
                .bind(inv.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                let record = Self::invitation_by(&mut tx, "id", &inv.id).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(record)
            }

            async fn pending_invitations(&self, org_id: &OrgId) -> StoreResult<Vec<InvitationRecord>> {
                let rows: Vec<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{INVITATION_SELECT} WHERE i.org_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
                     AND i.expires_at > $2 ORDER BY i.created_at"
                )))
                .bind(org_id)
                .bind(now())
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_invitation(&self, org_id: &OrgId, id: &InvitationId) -> StoreResult<()> {
                let r = sqlx::query(
                    "UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND org_id = $3 \
                     AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(now())
                .bind(id)
                .bind(org_id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>> {
                let row: Option<InvitationRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("{INVITATION_SELECT} WHERE i.token_hash = $1")))
                        .bind(token_hash)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                Ok(row.map(Into::into))
            }

            async fn accept_invitation(
                &self,
                token_hash: &str,
                acceptor: &Acceptor,
            ) -> StoreResult<(UserRecord, InvitationRecord)> {
                let mut tx = self.begin_write().await?;
                let ts = now();
                // One conditional update: of any number of concurrent accepts, one claims it.
                let claimed = sqlx::query(
                    "UPDATE invitations SET accepted_at = $1 WHERE token_hash = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind(ts)
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                if claimed.rows_affected() != 1 {
                    return Err(StoreError::NotFound);
                }
                let inv = Self::invitation_by(&mut tx, "token_hash", token_hash).await?;
                let user_id = match acceptor {
                    Acceptor::New(user) => {
                        sqlx::query(
                            "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(&user.id)
                        .bind(&user.email)
                        .bind(&user.name)
                        .bind(&user.password_hash)
                        .bind(ts)
                        .execute(&mut *tx)
                        .await
                        .map_err(email_taken)?;
                        user.id.clone()
                    }
                    Acceptor::Existing(id) => id.clone(),
                };
                sqlx::query(
                    "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, user_id) DO NOTHING",
                )
                .bind(&inv.org_id)
                .bind(&user_id)
                .bind(inv.role.as_str())
                .bind(ts)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                let row: UserRow =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")))
                        .bind(&user_id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok((row.into(), inv))
            }

            async fn find_user_by_identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserRecord>> {
                let row: Option<UserRow> = sqlx::query_as(
                    "SELECT u.id, u.email, u.name, u.password_hash, u.created_at, u.disabled_at FROM oidc_identities i \
                     JOIN users u ON u.id = i.user_id WHERE i.issuer = $1 AND i.subject = $2",
                )
                .bind(issuer)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(row.map(Into::into))
            }

            async fn link_identity(&self, issuer: &str, subject: &str, user_id: &UserId) -> StoreResult<()> {
                sqlx::query("INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, $2, $3)")
                    .bind(issuer)
                    .bind(subject)
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn create_oidc_user(
                &self,
                new: &NewUser,
                issuer: &str,
                subject: &str,
                setup_org: &str,
            ) -> StoreResult<(UserRecord, Option<Organization>)> {
                let mut tx = self.begin_write().await?;
                let (record, org) = if Self::complete_setup(&mut tx).await? {
                    let (u, o) = Self::insert_user_and_org(&mut tx, new, setup_org).await?;
                    (u, Some(o))
                } else {
                    let ts = now();
                    sqlx::query(
                        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, NULL, $4)",
                    )
                    .bind(&new.id)
                    .bind(&new.email)
                    .bind(&new.name)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    let u = UserRecord {
                        id: new.id.clone(),
                        email: new.email.clone(),
                        name: new.name.clone(),
                        password_hash: None,
                        created_at: ts,
                        disabled: false,
                    };
                    (u, None)
                };
                sqlx::query("INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, $2, $3)")
                    .bind(issuer)
                    .bind(subject)
                    .bind(&record.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok((record, org))
            }

            async fn accept_invitations_for(&self, email: &str, user_id: &UserId) -> StoreResult<Vec<InvitationRecord>> {
                let mut tx = self.begin_write().await?;
                let ts = now();
                // Claimed in one statement, so two concurrent sign-ins accept each one once.
                let ids: Vec<InvitationId> = sqlx::query_scalar(
                    "UPDATE invitations SET accepted_at = $1 WHERE email = $2 \
                     AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1 RETURNING id",
                )
                .bind(ts)
                .bind(email)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
                let mut invitations = Vec::with_capacity(ids.len());
                for id in &ids {
                    let inv = Self::invitation_by(&mut tx, "id", id).await?;
                    sqlx::query(
                        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (org_id, user_id) DO NOTHING",
                    )
                    .bind(&inv.org_id)
                    .bind(user_id)
                    .bind(inv.role.as_str())
                    .bind(ts)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    invitations.push(inv);
                }
                tx.commit().await.map_err(db_error)?;
                Ok(invitations)
            }

            async fn set_oidc_session(&self, session_id: &SessionId, o: &OidcSession) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO oidc_sessions (session_id, provider, issuer, subject, idp_sid, id_token) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(session_id)
                .bind(&o.provider)
                .bind(&o.issuer)
                .bind(&o.subject)
                .bind(&o.idp_sid)
                .bind(&o.id_token)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn oidc_session(&self, session_id: &SessionId) -> StoreResult<Option<OidcSession>> {
                let row: Option<OidcSessionRow> = sqlx::query_as(
                    "SELECT provider, issuer, subject, idp_sid, id_token FROM oidc_sessions WHERE session_id = $1",
                )
                .bind(session_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(row.map(|r| OidcSession {
                    provider: r.provider,
                    issuer: r.issuer,
                    subject: r.subject,
                    idp_sid: r.idp_sid,
                    id_token: r.id_token,
                }))
            }

            async fn revoke_idp_sessions(
                &self,
                issuer: &str,
                idp_sid: Option<&str>,
                subject: Option<&str>,
            ) -> StoreResult<Vec<SessionId>> {
                let (column, value) = match (idp_sid, subject) {
                    (Some(sid), _) => ("idp_sid", sid),
                    (None, Some(sub)) => ("subject", sub),
                    (None, None) => return Ok(Vec::new()),
                };
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND id IN \
                     (SELECT session_id FROM oidc_sessions WHERE issuer = $2 AND {column} = $3) RETURNING id"
                )))
                .bind(now())
                .bind(issuer)
                .bind(value)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn consume_state(&self, state_hash: &str, expires_at: i64) -> StoreResult<bool> {
                sqlx::query("DELETE FROM oidc_used_states WHERE expires_at < $1")
                    .bind(now())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                let r = sqlx::query(
                    "INSERT INTO oidc_used_states (state_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(state_hash)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(r.rows_affected() == 1)
            }

            async fn signing_secret(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
                sqlx::query(
                    "INSERT INTO signing_keys (id, secret, created_at) VALUES ('session', $1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(candidate)
                .bind(now())
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                sqlx::query_scalar("SELECT secret FROM signing_keys WHERE id = 'session'")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn create_email_token(&self, token: &NewEmailToken) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_error)?;
                let now = now();
                sqlx::query(
                    "UPDATE email_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
                )
                .bind(now)
                .bind(&token.user_id)
                .bind(token.purpose.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                sqlx::query(
                    "INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&token.token_hash)
                .bind(token.purpose.as_str())
                .bind(&token.user_id)
                .bind(&token.email)
                .bind(now)
                .bind(token.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn use_email_token(
                &self,
                token_hash: &str,
                purpose: EmailTokenPurpose,
                now: i64,
            ) -> StoreResult<Option<UserId>> {
                // One statement: of any number of concurrent uses, exactly one sees the row unused.
                sqlx::query_scalar(
                    "UPDATE email_tokens SET used_at = $1 \
                     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
                       AND EXISTS (SELECT 1 FROM users u WHERE u.id = email_tokens.user_id \
                                   AND u.email = email_tokens.email) \
                     RETURNING user_id",
                )
                .bind(now)
                .bind(token_hash)
                .bind(purpose.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn describe_session(
                &self,
                id: &SessionId,
                user_agent: Option<&str>,
                ip: Option<&str>,
                at: i64,
            ) -> StoreResult<()> {
                sqlx::query("UPDATE sessions SET user_agent = $1, ip = $2, last_seen_at = $3 WHERE id = $4")
                    .bind(user_agent)
                    .bind(ip)
                    .bind(at)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn touch_session(&self, id: &SessionId, at: i64) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)",
                )
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn list_sessions(&self, user_id: &UserId, now: i64) -> StoreResult<Vec<SessionInfo>> {
                let rows: Vec<SessionInfoRow> = sqlx::query_as(
                    "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions \
                     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                     ORDER BY COALESCE(last_seen_at, created_at) DESC, created_at DESC LIMIT 200",
                )
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn revoke_own_session(&self, user_id: &UserId, id: &SessionId) -> StoreResult<bool> {
                let r = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                )
                .bind(now())
                .bind(id)
                .bind(user_id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(r.rows_affected() == 1)
            }

            async fn email_verified(&self, user_id: &UserId) -> StoreResult<bool> {
                let at: Option<Option<i64>> = sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(at.flatten().is_some())
            }

            async fn set_email_verified(&self, user_id: &UserId, email: &str) -> StoreResult<bool> {
                let r = sqlx::query(
                    "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2 AND email = $3",
                )
                .bind(now())
                .bind(user_id)
                .bind(email)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(r.rows_affected() == 1)
            }

            async fn throttle_fail(&self, bucket: &str, now: i64, quiet_since: i64) -> StoreResult<u32> {
                // Buckets quiet for the whole window are history: swept as failures come in.
                sqlx::query("DELETE FROM throttle_buckets WHERE last_failure < $1 AND locked_until < $2")
                    .bind(quiet_since)
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                let failures: i64 = sqlx::query_scalar(
                    "INSERT INTO throttle_buckets (bucket, failures, last_failure, locked_until) VALUES ($1, 1, $2, 0) \
                     ON CONFLICT (bucket) DO UPDATE SET \
                       failures = CASE WHEN throttle_buckets.last_failure < $3 THEN 1 \
                                       ELSE throttle_buckets.failures + 1 END, \
                       last_failure = $2 \
                     RETURNING failures",
                )
                .bind(bucket)
                .bind(now)
                .bind(quiet_since)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(u32::try_from(failures).unwrap_or(u32::MAX))
            }

            async fn throttle_lock(&self, bucket: &str, until: i64) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE throttle_buckets SET locked_until = CASE WHEN locked_until < $1 THEN $1 \
                     ELSE locked_until END WHERE bucket = $2",
                )
                .bind(until)
                .bind(bucket)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn throttle_locked_until(&self, buckets: &[String], now: i64) -> StoreResult<Option<i64>> {
                let mut latest = None;
                for bucket in buckets {
                    let until: Option<i64> = sqlx::query_scalar(
                        "SELECT locked_until FROM throttle_buckets WHERE bucket = $1 AND locked_until > $2",
                    )
                    .bind(bucket)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                    latest = latest.max(until);
                }
                Ok(latest)
            }

            async fn throttle_clear(&self, bucket: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM throttle_buckets WHERE bucket = $1")
                    .bind(bucket)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn list_users(&self, query: Option<&str>, offset: u32, limit: u32) -> StoreResult<UserPage> {
                let pattern = contains_pattern(query.unwrap_or(""));
                let filter = "WHERE email LIKE $1 ESCAPE '\\' OR lower(name) LIKE $1 ESCAPE '\\'";
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM users {filter}")))
                    .bind(&pattern)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users {filter} ORDER BY email LIMIT $2 OFFSET $3"
                )))
                .bind(&pattern)
                .bind(i64::from(limit))
                .bind(i64::from(offset))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(UserPage { users: rows.into_iter().map(Into::into).collect(), total: total.try_into().unwrap_or(0) })
            }

            async fn set_user_disabled(&self, id: &UserId, disabled_at: Option<i64>) -> StoreResult<()> {
                let r = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
                    .bind(disabled_at)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn delete_user(&self, id: &UserId) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let orgs: Vec<(OrgId, Role)> =
                    sqlx::query_as("SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY org_id")
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_error)?;
                let mut emptied = Vec::new();
                for (org_id, role) in &orgs {
                    if let Some(lock) = Self::LOCK_ORG {
                        sqlx::query(lock).bind(org_id).execute(&mut *tx).await.map_err(db_error)?;
                    }
                    let (others, other_admins): (i64, i64) = sqlx::query_as(
                        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0)                          FROM memberships WHERE org_id = $1 AND user_id <> $2",
                    )
                    .bind(org_id)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    if others == 0 {
                        emptied.push(org_id.clone());
                    } else if *role == Role::Admin && other_admins == 0 {
                        return Err(StoreError::Conflict(
                            "the user is the last admin of an organization with other members: promote another \
                             member first"
                                .into(),
                        ));
                    }
                }
                let r = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_error)?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                for org_id in &emptied {
                    sqlx::query("DELETE FROM organizations WHERE id = $1")
                        .bind(org_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }

            async fn append_audit(&self, e: &NewAuditEvent) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_events (at, event, source, actor_id, user_id, org_id, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.at)
                .bind(&e.event)
                .bind(e.source.as_str())
                .bind(&e.actor_id)
                .bind(&e.user_id)
                .bind(&e.org_id)
                .bind(&e.detail)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn list_audit(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditRecord>> {
                let rows: Vec<AuditRow> = sqlx::query_as(
                    "SELECT seq, at, event, source, actor_id, user_id, org_id, detail FROM audit_events \
                     WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
                )
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn prune_audit(&self, at: i64) -> StoreResult<u64> {
                let r = sqlx::query("DELETE FROM audit_events WHERE at < $1")
                    .bind(at)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(r.rows_affected())
            }

            async fn rotate_signing_secret(&self, secret: &[u8], now: i64, forget_before: i64) -> StoreResult<()> {
                let mut tx = self.begin_write().await?;
                let retired = format!("retired-{}", uuid::Uuid::new_v4());
                sqlx::query("UPDATE signing_keys SET id = $1, retired_at = $2 WHERE id = 'session'")
                    .bind(&retired)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("INSERT INTO signing_keys (id, secret, created_at) VALUES ('session', $1, $2)")
                    .bind(secret)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
                    .bind(forget_before)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn retired_signing_secrets(&self, since: i64) -> StoreResult<Vec<Vec<u8>>> {
                sqlx::query_scalar(
                    "SELECT secret FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at >= $1 \
                     ORDER BY retired_at DESC, created_at DESC",
                )
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn publish(&self, event: &CacheEvent) -> StoreResult<()> {
                self.publish_event(event).await
            }

            fn subscribe(&self) -> Option<tokio::sync::mpsc::Receiver<Pushed>> {
                self.subscribe_events()
            }
        }
    };
}

pub(super) use sql_store;
