//! The embedded default: SQLite through sqlx (WAL, foreign keys, busy timeout).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{
    Acceptor, AuthMethod, EmailTokenPurpose, InvitationRecord, Member, Membership, NewEmailToken, NewInvitation,
    NewUser, OidcSession, Organization, Role, SessionInfo, SessionRecord, SessionView, Store, StoreError, StoreResult,
    UserRecord,
};
use crate::time::now;

/// A [`Store`] on a SQLite file, safe to share between processes on one machine.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn unavailable(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("already exists".into()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

type UserRow = (String, String, String, Option<String>, i64);

fn user(row: UserRow) -> UserRecord {
    UserRecord { id: row.0, email: row.1, name: row.2, password_hash: row.3, created_at: row.4 }
}

fn migrator() -> Migrator {
    let m = |version, name, sql: &'static str| {
        Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(sql), false)
    };
    Migrator::with_migrations(vec![
        m(1, "initial", include_str!("migrations/0001_initial.sql")),
        m(2, "invitations", include_str!("migrations/0002_invitations.sql")),
        m(3, "oidc", include_str!("migrations/0003_oidc.sql")),
        m(4, "email_tokens", include_str!("migrations/0004_email_tokens.sql")),
        m(5, "session_devices", include_str!("migrations/0005_session_devices.sql")),
    ])
}

type InvitationRow = (String, String, String, String, String, i64, i64, Option<i64>, Option<i64>);

const INVITATION_COLUMNS: &str =
    "i.id, i.org_id, o.name, i.email, i.role, i.created_at, i.expires_at, i.accepted_at, i.revoked_at";

fn invitation(row: InvitationRow) -> InvitationRecord {
    InvitationRecord {
        id: row.0,
        org_id: row.1,
        org_name: row.2,
        email: row.3,
        role: Role::parse(&row.4).unwrap_or(Role::Member),
        created_at: row.5,
        expires_at: row.6,
        accepted: row.7.is_some(),
        revoked: row.8.is_some(),
    }
}

impl SqliteStore {
    /// Opens (creating the file and its folder if missing) and migrates the database at `url`
    /// (`sqlite://path/to/file.db`, `sqlite::memory:` for tests).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid sqlite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(unavailable)?;
        migrator().run(&pool).await.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool })
    }

    async fn insert_user_and_org(
        tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
        user: &NewUser,
        org_name: &str,
    ) -> StoreResult<(UserRecord, Organization)> {
        let ts = now();
        sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(&user.password_hash)
            .bind(ts)
            .execute(&mut **tx)
            .await
            .map_err(|e| match unavailable(e) {
                StoreError::Conflict(_) => StoreError::Conflict("an account with this email already exists".into()),
                other => other,
            })?;
        let org = Organization { id: uuid::Uuid::new_v4().to_string(), name: org_name.to_string() };
        sqlx::query("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)")
            .bind(&org.id)
            .bind(&org.name)
            .bind(ts)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, 'admin', ?)")
            .bind(&org.id)
            .bind(&user.id)
            .bind(ts)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        let record = UserRecord {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name.clone(),
            password_hash: user.password_hash.clone(),
            created_at: ts,
        };
        Ok((record, org))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn needs_setup(&self) -> StoreResult<bool> {
        let done: Option<i64> = sqlx::query_scalar("SELECT id FROM setup WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(done.is_none())
    }

    async fn create_first_admin(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)> {
        // IMMEDIATE takes the write lock up front: concurrent setups queue instead of racing.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let inserted = sqlx::query("INSERT INTO setup (id, completed_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING")
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        if inserted.rows_affected() != 1 {
            return Err(StoreError::Conflict("setup has already been completed".into()));
        }
        let out = Self::insert_user_and_org(&mut tx, user, org_name).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(out)
    }

    async fn create_user_with_org(&self, user: &NewUser, org_name: &str) -> StoreResult<(UserRecord, Organization)> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let out = Self::insert_user_and_org(&mut tx, user, org_name).await?;
        sqlx::query("INSERT INTO setup (id, completed_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING")
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(out)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM users WHERE email = ?")
                .bind(email)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(row.map(user))
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM users WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(row.map(user))
    }

    async fn update_user_name(&self, id: &str, name: &str) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET name = ? WHERE id = ?")
            .bind(name)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()> {
        let r = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn user_memberships(&self, user_id: &str) -> StoreResult<Vec<Membership>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id = ? ORDER BY m.created_at, o.name",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, role)| Role::parse(&role).map(|role| Membership { id, name, role }))
            .collect())
    }

    async fn create_session(&self, s: &SessionRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (id, user_id, auth_method, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&s.id)
            .bind(&s.user_id)
            .bind(s.auth_method.as_str())
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionView>> {
        let row: Option<(String, String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, user_id, auth_method, created_at, expires_at, revoked_at FROM sessions WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        let Some((id, user_id, method, created_at, expires_at, revoked_at)) = row else {
            return Ok(None);
        };
        let Some(user) = self.get_user(&user_id).await? else {
            return Ok(None);
        };
        let memberships = self.user_memberships(&user_id).await?;
        let session = SessionRecord {
            id,
            user_id,
            auth_method: AuthMethod::parse(&method),
            created_at,
            expires_at,
            revoked: revoked_at.is_some(),
        };
        Ok(Some(SessionView { session, user, memberships }))
    }

    async fn revoke_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn revoke_user_sessions(&self, user_id: &str, keep: Option<&str>) -> StoreResult<Vec<String>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id != ? RETURNING id",
        )
        .bind(now())
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(ids)
    }

    async fn live_session_ids(&self, user_id: &str) -> StoreResult<Vec<String>> {
        sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?")
            .bind(user_id)
            .bind(now())
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn member_role(&self, org_id: &str, user_id: &str) -> StoreResult<Option<Role>> {
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = ? AND user_id = ?")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(role.as_deref().and_then(Role::parse))
    }

    async fn list_members(&self, org_id: &str) -> StoreResult<Vec<Member>> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = ? ORDER BY m.created_at, u.email",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .filter_map(|(user_id, email, name, role)| {
                Role::parse(&role).map(|role| Member { user_id, email, name, role })
            })
            .collect())
    }

    async fn set_member_role(&self, org_id: &str, user_id: &str, role: Role) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        keep_an_admin(&mut tx, org_id, user_id, role == Role::Admin, "the last admin cannot be demoted").await?;
        sqlx::query("UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?")
            .bind(role.as_str())
            .bind(org_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn remove_member(&self, org_id: &str, user_id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        keep_an_admin(&mut tx, org_id, user_id, false, "the last admin cannot be removed").await?;
        sqlx::query("DELETE FROM memberships WHERE org_id = ? AND user_id = ?")
            .bind(org_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn find_organizations(&self, id_or_name: Option<&str>) -> StoreResult<Vec<Organization>> {
        let rows: Vec<(String, String)> = match id_or_name {
            None => sqlx::query_as("SELECT id, name FROM organizations ORDER BY created_at, rowid LIMIT 1")
                .fetch_all(&self.pool)
                .await
                .map_err(unavailable)?,
            Some(key) => sqlx::query_as(
                "SELECT id, name FROM organizations WHERE id = ? OR name = ? ORDER BY created_at, rowid LIMIT 16",
            )
            .bind(key)
            .bind(key)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?,
        };
        Ok(rows.into_iter().map(|(id, name)| Organization { id, name }).collect())
    }

    async fn add_member(&self, org_id: &str, user_id: &str, role: Role) -> StoreResult<bool> {
        let r = sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?) \
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
            _ => unavailable(e),
        })?;
        Ok(r.rows_affected() == 1)
    }

    async fn create_invitation(&self, inv: &NewInvitation) -> StoreResult<InvitationRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let ts = now();
        sqlx::query(
            "UPDATE invitations SET revoked_at = ? WHERE org_id = ? AND email = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(ts)
        .bind(&inv.org_id)
        .bind(&inv.email)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        .map_err(unavailable)?;
        let row: InvitationRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.id = ?"
        )))
        .bind(&inv.id)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(invitation(row))
    }

    async fn pending_invitations(&self, org_id: &str) -> StoreResult<Vec<InvitationRecord>> {
        let rows: Vec<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id \
             WHERE i.org_id = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ? \
             ORDER BY i.created_at"
        )))
        .bind(org_id)
        .bind(now())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows.into_iter().map(invitation).collect())
    }

    async fn revoke_invitation(&self, org_id: &str, id: &str) -> StoreResult<()> {
        let r = sqlx::query(
            "UPDATE invitations SET revoked_at = ? WHERE id = ? AND org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(id)
        .bind(org_id)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        if r.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>> {
        let row: Option<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = ?"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(invitation))
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        acceptor: &Acceptor,
    ) -> StoreResult<(UserRecord, InvitationRecord)> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let ts = now();
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = ? WHERE token_hash = ? \
             AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(ts)
        .bind(token_hash)
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        if claimed.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let row: InvitationRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = ?"
        )))
        .bind(token_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        let inv = invitation(row);
        let user_id = match acceptor {
            Acceptor::New(user) => {
                sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)")
                    .bind(&user.id)
                    .bind(&user.email)
                    .bind(&user.name)
                    .bind(&user.password_hash)
                    .bind(ts)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match unavailable(e) {
                        StoreError::Conflict(_) => {
                            StoreError::Conflict("an account with this email already exists".into())
                        }
                        other => other,
                    })?;
                user.id.clone()
            }
            Acceptor::Existing(id) => id.clone(),
        };
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (org_id, user_id) DO NOTHING",
        )
        .bind(&inv.org_id)
        .bind(&user_id)
        .bind(inv.role.as_str())
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        let row: UserRow = sqlx::query_as("SELECT id, email, name, password_hash, created_at FROM users WHERE id = ?")
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok((user(row), inv))
    }

    async fn find_user_by_identity(&self, issuer: &str, subject: &str) -> StoreResult<Option<UserRecord>> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.password_hash, u.created_at FROM oidc_identities i \
             JOIN users u ON u.id = i.user_id WHERE i.issuer = ? AND i.subject = ?",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(user))
    }

    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO oidc_identities (issuer, subject, user_id) VALUES (?, ?, ?)")
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn create_oidc_user(
        &self,
        new: &NewUser,
        issuer: &str,
        subject: &str,
        setup_org: &str,
    ) -> StoreResult<(UserRecord, Option<Organization>)> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let setup = sqlx::query("INSERT INTO setup (id, completed_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING")
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?
            .rows_affected()
            == 1;
        let (record, org) = if setup {
            let (u, o) = Self::insert_user_and_org(&mut tx, new, setup_org).await?;
            (u, Some(o))
        } else {
            let ts = now();
            sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, NULL, ?)")
                .bind(&new.id)
                .bind(&new.email)
                .bind(&new.name)
                .bind(ts)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            let u = UserRecord {
                id: new.id.clone(),
                email: new.email.clone(),
                name: new.name.clone(),
                password_hash: None,
                created_at: ts,
            };
            (u, None)
        };
        sqlx::query("INSERT INTO oidc_identities (issuer, subject, user_id) VALUES (?, ?, ?)")
            .bind(issuer)
            .bind(subject)
            .bind(&record.id)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok((record, org))
    }

    async fn accept_invitations_for(&self, email: &str, user_id: &str) -> StoreResult<Vec<InvitationRecord>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(unavailable)?;
        let ts = now();
        let rows: Vec<InvitationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN organizations o ON o.id = i.org_id \
             WHERE i.email = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?"
        )))
        .bind(email)
        .bind(ts)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
        let invitations: Vec<InvitationRecord> = rows.into_iter().map(invitation).collect();
        for inv in &invitations {
            sqlx::query("UPDATE invitations SET accepted_at = ? WHERE id = ?")
                .bind(ts)
                .bind(&inv.id)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            sqlx::query(
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (org_id, user_id) DO NOTHING",
            )
            .bind(&inv.org_id)
            .bind(user_id)
            .bind(inv.role.as_str())
            .bind(ts)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(invitations)
    }

    async fn set_oidc_session(&self, session_id: &str, o: &OidcSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_sessions (session_id, provider, issuer, subject, idp_sid, id_token) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(session_id)
        .bind(&o.provider)
        .bind(&o.issuer)
        .bind(&o.subject)
        .bind(&o.idp_sid)
        .bind(&o.id_token)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn oidc_session(&self, session_id: &str) -> StoreResult<Option<OidcSession>> {
        let row: Option<(String, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT provider, issuer, subject, idp_sid, id_token FROM oidc_sessions WHERE session_id = ?",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(row.map(|(provider, issuer, subject, idp_sid, id_token)| OidcSession {
            provider,
            issuer,
            subject,
            idp_sid,
            id_token,
        }))
    }

    async fn revoke_idp_sessions(
        &self,
        issuer: &str,
        idp_sid: Option<&str>,
        subject: Option<&str>,
    ) -> StoreResult<Vec<String>> {
        let ids: Vec<String> = match (idp_sid, subject) {
            (Some(sid), _) => {
                sqlx::query_scalar(
                    "UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL AND id IN \
                     (SELECT session_id FROM oidc_sessions WHERE issuer = ? AND idp_sid = ?) RETURNING id",
                )
                .bind(now())
                .bind(issuer)
                .bind(sid)
                .fetch_all(&self.pool)
                .await
            }
            (None, Some(sub)) => {
                sqlx::query_scalar(
                    "UPDATE sessions SET revoked_at = ? WHERE revoked_at IS NULL AND id IN \
                     (SELECT session_id FROM oidc_sessions WHERE issuer = ? AND subject = ?) RETURNING id",
                )
                .bind(now())
                .bind(issuer)
                .bind(sub)
                .fetch_all(&self.pool)
                .await
            }
            (None, None) => Ok(Vec::new()),
        }
        .map_err(unavailable)?;
        Ok(ids)
    }

    async fn consume_state(&self, state_hash: &str, expires_at: i64) -> StoreResult<bool> {
        sqlx::query("DELETE FROM oidc_used_states WHERE expires_at < ?")
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        let r =
            sqlx::query("INSERT INTO oidc_used_states (state_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(state_hash)
                .bind(expires_at)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?;
        Ok(r.rows_affected() == 1)
    }

    async fn signing_secret(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query(
            "INSERT INTO signing_keys (id, secret, created_at) VALUES ('session', ?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        sqlx::query_scalar("SELECT secret FROM signing_keys WHERE id = 'session'")
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn create_email_token(&self, token: &NewEmailToken) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let now = now();
        sqlx::query("UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL")
            .bind(now)
            .bind(&token.user_id)
            .bind(token.purpose.as_str())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.token_hash)
        .bind(token.purpose.as_str())
        .bind(&token.user_id)
        .bind(&token.email)
        .bind(now)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn use_email_token(
        &self,
        token_hash: &str,
        purpose: EmailTokenPurpose,
        now: i64,
    ) -> StoreResult<Option<String>> {
        // One statement: of any number of concurrent uses, exactly one sees the row unused.
        sqlx::query_scalar(
            "UPDATE email_tokens SET used_at = ? \
             WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? \
               AND EXISTS (SELECT 1 FROM users u WHERE u.id = email_tokens.user_id AND u.email = email_tokens.email) \
             RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn describe_session(&self, id: &str, user_agent: Option<&str>, ip: Option<&str>, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET user_agent = ?, ip = ?, last_seen_at = ? WHERE id = ?")
            .bind(user_agent)
            .bind(ip)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn touch_session(&self, id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)")
            .bind(at)
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list_sessions(&self, user_id: &str, now: i64) -> StoreResult<Vec<SessionInfo>> {
        let rows: Vec<(String, i64, Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions \
             WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
             ORDER BY COALESCE(last_seen_at, created_at) DESC, created_at DESC LIMIT 200",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(id, created_at, last_seen, ip, user_agent)| SessionInfo {
                id,
                created_at,
                last_seen_at: last_seen.unwrap_or(created_at),
                ip,
                user_agent,
            })
            .collect())
    }

    async fn revoke_own_session(&self, user_id: &str, id: &str) -> StoreResult<bool> {
        let r = sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(r.rows_affected() == 1)
    }

    async fn email_verified(&self, user_id: &str) -> StoreResult<bool> {
        let at: Option<Option<i64>> = sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(at.flatten().is_some())
    }

    async fn set_email_verified(&self, user_id: &str, email: &str) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ? AND email = ?",
        )
        .bind(now())
        .bind(user_id)
        .bind(email)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(r.rows_affected() == 1)
    }
}

/// Inside a write transaction: `NotFound` unless `user_id` is a member, and `Conflict(why)` when
/// the change would leave the organization without an admin (`stays_admin` false for the last one).
async fn keep_an_admin(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    org_id: &str,
    user_id: &str,
    stays_admin: bool,
    why: &str,
) -> StoreResult<()> {
    let current: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE org_id = ? AND user_id = ?")
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
    let Some(current) = current else { return Err(StoreError::NotFound) };
    if current != "admin" || stays_admin {
        return Ok(());
    }
    let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'admin'")
        .bind(org_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(unavailable)?;
    if admins <= 1 { Err(StoreError::Conflict(why.into())) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_user(email: &str) -> NewUser {
        NewUser { id: uuid::Uuid::new_v4().to_string(), email: email.into(), name: "N".into(), password_hash: None }
    }

    #[tokio::test]
    async fn setup_happens_once_and_sessions_revoke() {
        let path = std::env::temp_dir().join(format!("auth-core-test-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.expect("store");
        assert!(store.needs_setup().await.expect("q"));
        let (u, org) = store.create_first_admin(&new_user("a@example.com"), "Acme").await.expect("first");
        assert!(matches!(
            store.create_first_admin(&new_user("b@example.com"), "B").await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.user_memberships(&u.id).await.expect("m")[0],
            Membership { id: org.id, name: "Acme".into(), role: Role::Admin }
        );
        let s = SessionRecord {
            id: "s1".into(),
            user_id: u.id.clone(),
            auth_method: AuthMethod::Password,
            created_at: 1,
            expires_at: 2,
            revoked: false,
        };
        store.create_session(&s).await.expect("session");
        store.create_session(&SessionRecord { id: "s2".into(), ..s.clone() }).await.expect("session");
        assert_eq!(store.revoke_user_sessions(&u.id, Some("s1")).await.expect("revoke"), vec!["s2".to_string()]);
        assert!(!store.load_session("s1").await.expect("load").expect("some").session.revoked);
        assert!(store.load_session("s2").await.expect("load").expect("some").session.revoked);
        let k = store.signing_secret(b"first").await.expect("k");
        assert_eq!(store.signing_secret(b"second").await.expect("k"), k);
    }
}
