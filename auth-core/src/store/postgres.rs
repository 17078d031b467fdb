//! PostgreSQL through sqlx, for several instances on one database: migrations under an
//! advisory lock, a bounded pool, row locks where SQLite relies on its single writer, and
//! `LISTEN`/`NOTIFY` to push session revocations to every instance at once.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::sql::{
    AuditRow, INVITATION_SELECT, InvitationRow, MemberRow, MembershipRow, OidcSessionRow, OrganizationRow,
    SessionInfoRow, SessionRow, USER_COLUMNS, UserRow, contains_pattern, db_error, email_taken, sql_store,
};
use super::{
    Acceptor, AuditRecord, CacheEvent, EmailTokenPurpose, InvitationId, InvitationRecord, Member, Membership,
    NewAuditEvent, NewEmailToken, NewInvitation, NewUser, OidcSession, OrgId, Organization, PoolConfig, Pushed, Role,
    SessionId, SessionInfo, SessionRecord, SessionView, Store, StoreError, StoreResult, UserId, UserPage, UserRecord,
};
use crate::time::now;

/// The `NOTIFY` channel the instances share.
const CHANNEL: &str = "auth_sessions";

/// Events queued for the service before the listener waits for it to catch up.
const QUEUE: usize = 4096;

/// A [`Store`] on PostgreSQL, shared by any number of instances.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// This instance's tag on what it publishes, so it skips its own events.
    instance: String,
}

fn migrator() -> Migrator {
    let m = |version, name, sql: &'static str| {
        Migration::new(version, Cow::Borrowed(name), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(sql), false)
    };
    // `Migrator::run` holds a PostgreSQL advisory lock while it migrates: instances that start
    // together apply each migration once, the others wait and find it applied.
    Migrator::with_migrations(vec![
        m(1, "initial", include_str!("migrations/postgres/0001_initial.sql")),
        m(2, "operations", include_str!("migrations/postgres/0002_operations.sql")),
    ])
}

impl PgStore {
    /// Serializes the "keep an admin" checks and invitation replacement of one organization
    /// across instances (PostgreSQL's default isolation would let two of them interleave).
    const LOCK_ORG: Option<&'static str> = Some("SELECT id FROM organizations WHERE id = $1 FOR UPDATE");
    /// The identity column of `organizations`.
    const CREATION_ORDER: &'static str = "seq";

    /// Connects to `url` (`postgres://user:pass@host:port/db?sslmode=...`) with a pool of
    /// `pool.max_connections` and migrates the schema.
    pub async fn connect(url: &str, pool: &PoolConfig) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid postgres URL: {}", redact(&e.to_string()))))?
            .application_name("auth-core");
        let pool = match PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => pool,
            Err(e) => {
                // The pool only says it timed out; one direct attempt says why (refused, DNS,
                // TLS, authentication), without the URL or its password.
                use sqlx::ConnectOptions as _;
                let why = match options.connect().await {
                    Err(direct) => direct.to_string(),
                    Ok(_) => e.to_string(),
                };
                let db = options.get_database().unwrap_or("(default)");
                return Err(StoreError::Unavailable(format!(
                    "cannot reach PostgreSQL at {}:{} (database {db}): {why}",
                    options.get_host(),
                    options.get_port()
                )));
            }
        };
        migrator().run(&pool).await.map_err(|e| StoreError::Unavailable(format!("migration failed: {e}")))?;
        Ok(Self { pool, instance: uuid::Uuid::new_v4().simple().to_string() })
    }

    /// [`super::inspect`] for PostgreSQL: one connection (within `pool.acquire_timeout`),
    /// `SELECT`s only.
    pub(super) async fn inspect(url: &str, pool: &PoolConfig) -> StoreResult<super::StoreHealth> {
        use sqlx::ConnectOptions as _;
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("invalid postgres URL: {}", redact(&e.to_string()))))?
            .application_name("auth-admin");
        let db = options.get_database().unwrap_or("(default)").to_string();
        let location = format!("{}:{}/{db}", options.get_host(), options.get_port());
        let migrator = migrator();
        let mut health = super::StoreHealth::new(location.clone(), &migrator);
        let mut conn = match tokio::time::timeout(pool.acquire_timeout, options.connect()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot reach PostgreSQL at {location}: {}",
                    redact(&e.to_string())
                )));
            }
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot reach PostgreSQL at {location}: no answer within {:?}",
                    pool.acquire_timeout
                )));
            }
        };
        health.exists = true;
        let has = |name: &'static str| sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL").bind(name);
        if has("_sqlx_migrations").fetch_one(&mut conn).await.map_err(db_error)? {
            let rows = sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut conn)
                .await
                .map_err(db_error)?;
            health.record(&migrator, rows);
        }
        if has("signing_keys").fetch_one(&mut conn).await.map_err(db_error)? {
            let len: Option<i32> =
                sqlx::query_scalar("SELECT octet_length(secret) FROM signing_keys WHERE id = 'session'")
                    .fetch_optional(&mut conn)
                    .await
                    .map_err(db_error)?;
            health.stored_secret_bytes = len.and_then(|n| usize::try_from(n).ok());
        }
        let _ = sqlx::Connection::close(conn).await;
        Ok(health)
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await.map_err(db_error)
    }

    async fn publish_event(&self, event: &CacheEvent) -> StoreResult<()> {
        let (kind, sid) = match event {
            CacheEvent::Revoked(sid) => ('r', sid),
            CacheEvent::Changed(sid) => ('c', sid),
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{}:{kind}:{sid}", self.instance))
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    fn subscribe_events(&self) -> Option<mpsc::Receiver<Pushed>> {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(listen(self.pool.clone(), self.instance.clone(), tx));
        Some(rx)
    }
}

/// Listens for other instances' events until the receiver is dropped. Whenever it (re)starts
/// listening it first sends [`Pushed::Resync`]: what was published while it was not listening
/// is lost, so the service forgets what it cached and asks the store again.
async fn listen(pool: PgPool, instance: String, tx: mpsc::Sender<Pushed>) {
    let mut backoff = Duration::from_millis(100);
    let own = format!("{instance}:");
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.eager_reconnect(false);
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let mut listener = tokio::select! {
            l = listener => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "session listener cannot connect");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = tx.closed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            },
            () = tx.closed() => return,
        };
        if tx.send(Pushed::Resync).await.is_err() {
            return;
        }
        backoff = Duration::from_millis(100);
        tracing::debug!("session listener is listening");
        loop {
            let next = tokio::select! {
                n = listener.try_recv() => n,
                () = tx.closed() => return,
            };
            let note = match next {
                Ok(Some(note)) => note,
                Ok(None) => {
                    tracing::warn!("session listener lost its connection; reconnecting");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "session listener failed; reconnecting");
                    break;
                }
            };
            let payload = note.payload();
            if payload.starts_with(&own) {
                continue;
            }
            let event = match payload.splitn(3, ':').collect::<Vec<_>>()[..] {
                [_, "r", sid] => CacheEvent::Revoked(sid.into()),
                [_, "c", sid] => CacheEvent::Changed(sid.into()),
                _ => {
                    tracing::warn!("ignoring a malformed session notification");
                    continue;
                }
            };
            if tx.send(Pushed::Event(event)).await.is_err() {
                return;
            }
        }
    }
}

/// A URL parse error may quote the URL: keep a password out of logs.
fn redact(message: &str) -> String {
    match (message.find("://"), message.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &message[..scheme], &message[at..]),
        _ => message.to_string(),
    }
}

sql_store!(PgStore, sqlx::Postgres);
