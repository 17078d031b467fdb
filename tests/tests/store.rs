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
