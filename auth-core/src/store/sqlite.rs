//! The embedded default: SQLite through sqlx (WAL, foreign keys, busy timeout).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::sql::{
    AuditRow, INVITATION_SELECT, InvitationRow, MemberRow, MembershipRow, OidcSessionRow, OrganizationRow,
    SessionInfoRow, SessionRow, USER_COLUMNS, UserRow, contains_pattern, db_error, email_taken, sql_store,
};
use super::{
    Acceptor, AuditRecord, CacheEvent, EmailTokenPurpose, InvitationId, InvitationRecord, Member, Membership,
    NewAuditEvent, NewEmailToken, NewInvitation, NewUser, OidcSession, OrgId, Organization, Pushed, Role, SessionId,
    SessionInfo, SessionRecord, SessionView, Store, StoreError, StoreResult, UserId, UserPage, UserRecord,
};
use crate::time::now;

/// A [`Store`] on a SQLite file, safe to share between processes on one machine. SQLite
/// cannot push: the processes on one file (servers, `auth-admin`) append session changes to a
/// table that each server polls every 250 ms; `session.revalidateAfter` stays the safety net.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Names this handle's session events, so that it skips its own.
    instance: String,
}

fn migrator() -> Migrator {
    let m = |version, name, sql: &'static str| {
        Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(sql), false)
    };
    Migrator::with_migrations(vec![
        m(1, "initial", include_str!("migrations/sqlite/0001_initial.sql")),
        m(2, "invitations", include_str!("migrations/sqlite/0002_invitations.sql")),
        m(3, "oidc", include_str!("migrations/sqlite/0003_oidc.sql")),
        m(4, "email_tokens", include_str!("migrations/sqlite/0004_email_tokens.sql")),
        m(5, "session_devices", include_str!("migrations/sqlite/0005_session_devices.sql")),
        m(6, "throttle", include_str!("migrations/sqlite/0006_throttle.sql")),
        m(7, "operations", include_str!("migrations/sqlite/0007_operations.sql")),
    ])
}

impl SqliteStore {
    /// No row lock needed: `BEGIN IMMEDIATE` already makes writers take turns.
    const LOCK_ORG: Option<&'static str> = None;
    /// Insertion order.
    const CREATION_ORDER: &'static str = "rowid";

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
            .map_err(db_error)?;
        migrator().run(&pool).await.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool, instance: uuid::Uuid::new_v4().to_string() })
    }

    /// [`super::inspect`] for SQLite: opens the file read-only (never creating it) and reads
    /// `_sqlx_migrations` and whether a generated secret is stored.
    pub(super) async fn inspect(url: &str) -> StoreResult<super::StoreHealth> {
        use sqlx::ConnectOptions as _;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid sqlite URL: {e}")))?
            .create_if_missing(false)
            .read_only(true)
            .busy_timeout(Duration::from_secs(5));
        let path = options.get_filename().to_path_buf();
        let migrator = migrator();
        let mut health = super::StoreHealth::new(path.display().to_string(), &migrator);
        if url.contains(":memory:") || !path.is_file() {
            return Ok(health);
        }
        health.exists = true;
        let mut conn = options.connect().await.map_err(db_error)?;
        let has_table = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
        let has = |name: &'static str| sqlx::query_scalar::<_, i64>(has_table).bind(name);
        if has("_sqlx_migrations").fetch_one(&mut conn).await.map_err(db_error)? > 0 {
            let rows = sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .map_err(db_error)?;
            health.record(&migrator, rows);
        }
        if has("signing_keys").fetch_one(&mut conn).await.map_err(db_error)? > 0 {
            let len: Option<i64> = sqlx::query_scalar("SELECT length(secret) FROM signing_keys WHERE id = 'session'")
                .fetch_optional(&mut conn)
                .await
                .map_err(db_error)?;
            health.stored_secret_bytes = len.and_then(|n| usize::try_from(n).ok());
        }
        let _ = sqlx::Connection::close(conn).await;
        Ok(health)
    }

    /// IMMEDIATE takes the write lock up front: concurrent writers queue instead of racing.
    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)
    }

    /// Appends the event to `session_events`, which the other processes on this file poll.
    async fn publish_event(&self, event: &CacheEvent) -> StoreResult<()> {
        let (kind, sid) = match event {
            CacheEvent::Revoked(sid) => ("revoked", sid),
            CacheEvent::Changed(sid) => ("changed", sid),
        };
        sqlx::query("INSERT INTO session_events (at, origin, kind, session_id) VALUES ($1, $2, $3, $4)")
            .bind(now())
            .bind(&self.instance)
            .bind(kind)
            .bind(sid)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    fn subscribe_events(&self) -> Option<tokio::sync::mpsc::Receiver<Pushed>> {
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        tokio::spawn(poll_events(self.pool.clone(), self.instance.clone(), tx));
        Some(rx)
    }
}

/// How often an instance looks for the other processes' session events.
const POLL: Duration = Duration::from_millis(250);
/// How long events are kept: a process that could not read the file for longer resyncs.
const KEEP_EVENTS_SECS: i64 = 300;

/// Reads the other handles' events appended after the last one seen, every [`POLL`], until the
/// receiver is dropped.
/// After reads failed for longer than the events are kept, sends [`Pushed::Resync`].
async fn poll_events(pool: SqlitePool, instance: String, tx: tokio::sync::mpsc::Sender<Pushed>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<i64> = None;
    let mut failing_since: Option<i64> = None;
    let mut pruned_at = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = tx.closed() => return,
        }
        let Some(seen) = last else {
            // Start after what is already there.
            match sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM session_events").fetch_one(&pool).await {
                Ok(max) => last = Some(max.unwrap_or(0)),
                Err(e) => tracing::debug!(error = %e, "session events cannot be read yet"),
            }
            continue;
        };
        let rows = sqlx::query_as::<_, (i64, String, SessionId)>(
            "SELECT seq, kind, session_id FROM session_events WHERE seq > $1 AND origin <> $2 ORDER BY seq LIMIT 1000",
        )
        .bind(seen)
        .bind(&instance)
        .fetch_all(&pool)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                let since = *failing_since.get_or_insert_with(now);
                tracing::debug!(error = %e, "session events cannot be read");
                if now() - since > KEEP_EVENTS_SECS {
                    failing_since = Some(now());
                    if tx.send(Pushed::Resync).await.is_err() {
                        return;
                    }
                }
                continue;
            }
        };
        failing_since = None;
        for (seq, kind, sid) in rows {
            last = Some(seq);
            let event = if kind == "revoked" { CacheEvent::Revoked(sid) } else { CacheEvent::Changed(sid) };
            if tx.send(Pushed::Event(event)).await.is_err() {
                return;
            }
        }
        if now() - pruned_at > 60 {
            pruned_at = now();
            let cutoff = pruned_at - KEEP_EVENTS_SECS;
            if let Err(e) = sqlx::query("DELETE FROM session_events WHERE at < $1").bind(cutoff).execute(&pool).await {
                tracing::debug!(error = %e, "old session events not deleted");
            }
        }
    }
}

sql_store!(SqliteStore, sqlx::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    /// Inspection reads without creating or migrating, and sees what `connect` did.
    #[tokio::test]
    async fn inspect_changes_nothing() {
        let path = std::env::temp_dir().join(format!("auth-core-inspect-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", path.display());
        let missing = SqliteStore::inspect(&url).await.expect("inspect a missing file");
        assert!(!missing.exists && !path.exists(), "never creates the file");
        assert_eq!(missing.pending_migrations(), missing.known_migrations);
        let store = SqliteStore::connect(&url).await.expect("store");
        let migrated = SqliteStore::inspect(&url).await.expect("inspect");
        assert!(migrated.exists && migrated.pending_migrations().is_empty(), "{migrated:?}");
        assert!(migrated.unknown_migrations().is_empty() && migrated.changed_migrations.is_empty());
        assert_eq!(migrated.stored_secret_bytes, None);
        store.signing_secret(&[7u8; 32]).await.expect("secret");
        assert_eq!(SqliteStore::inspect(&url).await.expect("inspect").stored_secret_bytes, Some(32));
        let mut conn = store.pool.acquire().await.expect("connection");
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 6").execute(&mut *conn).await.expect("unapply");
        drop(conn);
        assert_eq!(SqliteStore::inspect(&url).await.expect("inspect").pending_migrations(), [6]);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    /// A row this version cannot read is an error (503 upstream), never a default.
    #[tokio::test]
    async fn corrupt_rows_are_errors() {
        let path = std::env::temp_dir().join(format!("auth-core-corrupt-{}.db", uuid::Uuid::new_v4()));
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.expect("store");
        let user =
            NewUser { id: UserId::new("u1"), email: "a@example.com".into(), name: "A".into(), password_hash: None };
        let (_, org) = store.create_first_admin(&user, "Org").await.expect("setup");
        let mut conn = store.pool.acquire().await.expect("connection");
        sqlx::query("PRAGMA ignore_check_constraints = ON").execute(&mut *conn).await.expect("pragma");
        sqlx::query("UPDATE memberships SET role = 'owner'").execute(&mut *conn).await.expect("corrupt the role");
        sqlx::query(
            "INSERT INTO sessions (id, user_id, auth_method, created_at, expires_at) VALUES ('s', 'u1', 'magic', 0, 9)",
        )
        .execute(&mut *conn)
        .await
        .expect("corrupt session");
        drop(conn);
        for result in [
            store.member_role(&org.id, &UserId::new("u1")).await.map(|_| ()),
            store.user_memberships(&UserId::new("u1")).await.map(|_| ()),
            store.list_members(&org.id).await.map(|_| ()),
            store.load_session(&SessionId::new("s")).await.map(|_| ()),
        ] {
            assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
        }
        let _ = std::fs::remove_file(path);
    }
}
