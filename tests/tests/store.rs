//! The store conformance suite (`auth_core::store::conformance`) on both backends: the
//! embedded SQLite file and a real PostgreSQL server.

use std::sync::Arc;

use auth_core::store::{PoolConfig, Store, conformance, open};
use auth_tests::{fresh_sqlite, pg};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_conforms() {
    conformance::run(|| async { open(&fresh_sqlite(), &PoolConfig::default()).await.expect("sqlite store") }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_conforms() {
    conformance::run(|| async { open(&pg::fresh_db(), &PoolConfig::default()).await.expect("postgres store") }).await;
}

/// Instances that start together on an empty database migrate it once, without errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_migrate_once() {
    let url = pg::fresh_db();
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { open(&url, &PoolConfig::default()).await.map(|_| ()) })
        })
        .collect();
    for s in starts {
        s.await.expect("task").expect("every instance starts");
    }
    let store: Arc<dyn Store> = open(&url, &PoolConfig::default()).await.expect("store");
    assert!(store.needs_setup().await.expect("query"));
}

/// A URL with a password never reaches an error message.
#[tokio::test]
async fn a_bad_postgres_url_keeps_its_password() {
    let err = open("postgres://user:hunter2@127.0.0.1:1/db?sslmode=bogus", &PoolConfig::default())
        .await
        .err()
        .expect("refused");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// An unreachable server is named with its cause (here: nothing listens), never with the
/// password of its URL.
#[tokio::test]
async fn an_unreachable_postgres_says_where_and_why() {
    let port = auth_tests::free_port();
    let pool = PoolConfig { acquire_timeout: std::time::Duration::from_secs(1), ..PoolConfig::default() };
    let err = open(&format!("postgres://user:hunter2@127.0.0.1:{port}/app"), &pool).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&format!("cannot reach PostgreSQL at 127.0.0.1:{port} (database app)")), "{text}");
    assert!(text.to_lowercase().contains("refused"), "the cause is named: {text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// A database that does not exist on a running server: the server's own words.
#[tokio::test]
async fn a_missing_database_is_named() {
    let url = pg::fresh_db();
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    let err = open(&format!("{base}/no_such_db"), &PoolConfig::default()).await.err().expect("refused");
    assert!(err.to_string().contains("no_such_db"), "{err}");
}
