//! `auth-admin doctor` as an operator runs it: the real binary, a real SQLite store, the real
//! test IdP (and the TLS test provider), the real SMTP sink. Each broken item alone fails its
//! own check, with its fix, and nothing else.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_core::store::{self, PoolConfig};
use auth_tests::hostile::{self, Hostile};
use auth_tests::smtp::{smtp_yaml, start_sink};
use auth_tests::{IDP_CLIENT_SECRET, Idp, Watchdog, free_port, fresh_db, fresh_sqlite, temp_dir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_auth-admin-under-test");
/// The longest one doctor run may take (its probes time out after a few seconds each).
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The app base the test IdP registers the redirect URI for.
const APP: &str = "http://127.0.0.1:3000";

/// What one run printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The ✗ lines.
    fn failed(&self) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.starts_with('✗')).collect()
    }

    /// The line of check `name`, which must be there.
    fn line(&self, name: &str) -> &str {
        let prefix = |mark: char| format!("{mark} {name}: ");
        self.stdout
            .lines()
            .find(|l| l.starts_with(&prefix('✓')) || l.starts_with(&prefix('✗')))
            .unwrap_or_else(|| panic!("no line for {name:?} in:\n{}", self.stdout))
    }
}

/// Runs `auth-admin --config config.yaml doctor ARGS` in a fresh folder with the auth
/// environment cleared, killing it (by its own pid) after [`RUN_LIMIT`].
fn doctor_in(dir: &Path, yaml: &str, args: &[&str]) -> Run {
    std::fs::write(dir.join("config.yaml"), yaml).expect("write config");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(["--config", "config.yaml", "doctor"]).args(args);
    for var in [
        "AUTH_CONFIG",
        "AUTH_PUBLIC_URL",
        "AUTH_DATABASE_URL",
        "AUTH_JWT_SECRET",
        "BYOC_JWT_SECRET",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_DISCOVERY_URL",
        "OIDC_VERIFY_SSL",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("auth-admin doctor ran longer than {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    for secret in [IDP_CLIENT_SECRET, hostile::CLIENT_SECRET, "hunter2-db-password"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "a secret was printed:\n{}", run.stdout);
    }
    run
}

fn doctor(yaml: &str, args: &[&str]) -> Run {
    doctor_in(&temp_dir("admin", "doctor"), yaml, args)
}

/// [`doctor`] off the async runtime (the TLS test provider runs on it).
async fn doctor_async(yaml: String) -> Run {
    tokio::task::spawn_blocking(move || doctor(&yaml, &[])).await.expect("doctor")
}

/// A migrated store (SQLite, or PostgreSQL in the suite's PostgreSQL pass) holding a
/// generated session secret of `secret_len` bytes.
async fn store_with_secret(secret_len: usize) -> String {
    let url = fresh_db();
    let s = store::open(&url, &PoolConfig::default()).await.expect("store");
    s.signing_secret(&vec![7u8; secret_len]).await.expect("secret");
    url
}

/// Asserts that `run` failed with exactly one ✗ line, for `name`, whose fix says `fix`.
fn fails_alone(run: &Run, name: &str, fix: &str) {
    assert_eq!(run.code, 1, "exit status 1 when a check fails:\n{}{}", run.stdout, run.stderr);
    let failed = run.failed();
    assert_eq!(failed.len(), 1, "only {name} fails:\n{}", run.stdout);
    let line = failed[0];
    assert!(line.starts_with(&format!("✗ {name}: ")), "{name} should fail:\n{}", run.stdout);
    let (_, given) = line.split_once(" — fix: ").unwrap_or_else(|| panic!("no fix in {line:?}"));
    assert!(given.contains(fix), "the fix of {name} should say {fix:?}: {line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_config_passes_every_check() {
    let _w = Watchdog::arm("a_good_config_passes_every_check");
    let port = free_port();
    let _idp = Idp::start(port, APP, "RS256");
    let sink = start_sink();
    let db = store_with_secret(32).await;
    let yaml = format!("database:\n  url: {db}\n{}{}", Idp::yaml(port), smtp_yaml(sink.port));
    let run = tokio::task::spawn_blocking({
        let yaml = yaml.clone();
        move || doctor(&yaml, &[])
    })
    .await
    .expect("doctor");
    assert_eq!(run.code, 0, "all pass:\n{}{}", run.stdout, run.stderr);
    assert!(run.failed().is_empty(), "{}", run.stdout);
    for (name, says) in [
        ("config", "valid"),
        ("database", "migrations current"),
        ("signing secret", "generated and stored in the database, 32 bytes"),
        ("oidc[default] tls", "plain http to a loopback host"),
        ("oidc[default] discovery", "answered a valid document"),
        ("oidc[default] issuer", &format!("http://127.0.0.1:{port} as configured")),
        ("oidc[default] jwks", "usable signing key"),
        ("oidc[default] clock", "leeway 60s"),
        ("oidc[default] redirect url", "register http://127.0.0.1:3000/api/v1/auth/callback"),
        ("oidc[default] scopes", "openid profile email supported"),
        ("smtp", &format!("127.0.0.1:{} answered, no TLS", sink.port)),
        ("cookie", "without Secure"),
    ] {
        let line = run.line(name);
        assert!(line.starts_with('✓') && line.contains(says), "{name} should say {says:?}: {line}");
    }
    assert!(run.stdout.ends_with("all 12 checks passed\n"), "{}", run.stdout);
    assert_eq!(sink.count(), 0, "the SMTP probe sends nothing");

    let json = tokio::task::spawn_blocking(move || doctor(&yaml, &["--json"])).await.expect("doctor");
    assert_eq!(json.code, 0);
    let doc: Value = serde_json::from_str(&json.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], true);
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 12);
    for c in checks {
        assert!(c["name"].is_string() && c["detail"].is_string(), "{c}");
        assert_eq!((&c["ok"], &c["fix"]), (&Value::Bool(true), &Value::Null), "{c}");
    }
}

#[test]
fn the_database_is_never_created_or_migrated() {
    let dir = temp_dir("admin", "nodb");
    let run = doctor_in(&dir, "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.line("database").contains("does not exist yet: it is created and migrated at the first start"));
    assert!(run.line("signing secret").contains("generated and stored in the database at the first start"));
    assert!(!dir.join("data").exists(), "doctor created the database");
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_migrations_pass_with_a_note_and_stay_pending() {
    let url = fresh_sqlite();
    store::open(&url, &PoolConfig::default()).await.expect("store");
    let path = url.trim_start_matches("sqlite://").to_string();
    let pool = sqlx::SqlitePool::connect(&url).await.expect("pool");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 6").execute(&pool).await.expect("unapply");
    pool.close().await;
    let yaml = format!("database:\n  url: {url}\n");
    let run = doctor_async(yaml.clone()).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.line("database").contains("migration(s) 6 pending, applied at the next start"), "{}", run.stdout);
    assert!(doctor_async(yaml).await.line("database").contains("6 pending"), "doctor applied the migration");
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_discovery_url_that_is_not_the_discovery_document() {
    let port = free_port();
    let _idp = Idp::start(port, APP, "RS256");
    let yaml = Idp::yaml(port).replace("/.well-known/openid-configuration", "/oidc");
    let run = doctor(&yaml, &[]);
    fails_alone(&run, "oidc[default] discovery", "ending in /.well-known/openid-configuration");
    assert!(run.line("oidc[default] discovery").contains("/oidc/.well-known/openid-configuration answered HTTP 404"));
}

#[test]
fn an_issuer_that_is_not_the_configured_one() {
    let port = free_port();
    let _idp = Idp::start(port, APP, "RS256");
    // The same IdP under another name: it announces http://127.0.0.1:PORT.
    let run = doctor(&Idp::yaml(port).replace("127.0.0.1", "localhost"), &[]);
    fails_alone(
        &run,
        "oidc[default] issuer",
        &format!("set discoveryUrl to http://127.0.0.1:{port}/.well-known/openid-configuration"),
    );
}

#[test]
fn an_idp_that_is_down() {
    let run = doctor(&Idp::yaml(free_port()), &[]);
    fails_alone(&run, "oidc[default] discovery", "check that the IdP is up and reachable");
    assert!(run.line("oidc[default] discovery").contains("cannot connect"), "{}", run.stdout);
    assert!(run.line("oidc[default] redirect url").starts_with('✓'), "still says what to register");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_certificate_from_an_unknown_ca() {
    let _w = Watchdog::arm("a_tls_certificate_from_an_unknown_ca");
    let idp = Hostile::start(true).await;
    let run = doctor_async(idp.yaml()).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    let tls = run.line("oidc[default] tls");
    assert!(tls.starts_with('✗') && tls.contains("not accepted"), "{tls}");
    assert!(tls.contains("set caCertFile") && tls.contains("verifySsl: false"), "{tls}");
    assert!(run.line("oidc[default] discovery").contains("TLS handshake failed"), "{}", run.stdout);
    assert_eq!(run.failed().len(), 2, "tls and discovery only:\n{}", run.stdout);

    // Accepted with verification off, loudly ...
    let run = doctor_async(format!("{}  verifySsl: false\n", idp.yaml())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.line("oidc[default] tls").contains("NOT verified"), "{}", run.stdout);
    // ... and, better, with the test CA in caCertFile.
    let run = doctor_async(format!("{}  caCertFile: {}\n", idp.yaml(), hostile::test_ca_file())).await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let tls = run.line("oidc[default] tls");
    assert!(tls.contains("certificate verified against") && tls.contains("ca.pem"), "{tls}");
    assert!(run.line("oidc[default] jwks").contains("1 usable signing key"), "{}", run.stdout);
}

#[test]
fn a_configured_secret_that_is_too_short_does_not_validate() {
    let run = doctor("basicAuth:\n  jwtSecret: short-secret\n", &[]);
    assert_eq!(run.code, 2, "a config error, as at startup:\n{}", run.stdout);
    assert_eq!(run.failed().len(), 1, "{}", run.stdout);
    let line = run.line("config");
    assert!(line.contains("basicAuth.jwtSecret: the secret is 12 bytes; at least 32 bytes"), "{line}");
    assert!(line.contains("fix: use a random secret of at least 32 bytes"), "{line}");
    assert!(!run.stdout.contains("short-secret"), "never the secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_secret_that_is_too_short() {
    let db = store_with_secret(5).await;
    let run = doctor_async(format!("database:\n  url: {db}\n")).await;
    fails_alone(&run, "signing secret", "configure basicAuth.jwtSecret (at least 32 random bytes)");
    assert!(run.line("signing secret").contains("the stored secret is 5 bytes"), "{}", run.stdout);
}

#[test]
fn the_secret_source_is_named() {
    let secret = "k".repeat(48);
    let run = doctor(&format!("basicAuth:\n  jwtSecret: {secret}\n"), &[]);
    assert!(run.line("signing secret").contains("configured (basicAuth.jwtSecret), 48 bytes"), "{}", run.stdout);
    let dir = temp_dir("admin", "k8s");
    std::fs::write(dir.join("byoc-jwt-secret"), &secret).expect("mounted key");
    let run = doctor_in(&dir, "basicAuth:\n  existingSecretName: auth-secret\n", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let line = run.line("signing secret");
    assert!(
        line.contains("Kubernetes Secret") && line.contains("\"auth-secret\"") && line.contains("48 bytes"),
        "{line}"
    );
    assert!(!run.stdout.contains(&secret));
}

#[test]
fn an_smtp_server_that_is_not_there() {
    let port = free_port();
    let run = doctor(&smtp_yaml(port), &[]);
    fails_alone(&run, "smtp", "check smtp.host and smtp.port");
    assert!(run.line("smtp").contains(&format!("127.0.0.1:{port} with no TLS")), "{}", run.stdout);
}

#[test]
fn plain_http_on_a_public_host_fails_the_cookie_check() {
    let run = doctor("publicUrl: http://app.example.com\n", &[]);
    fails_alone(&run, "cookie", "serve over https");
    let run = doctor("publicUrl: https://app.example.com\n", &[]);
    assert!(run.line("cookie").contains("__Host-auth_session with Secure"), "{}", run.stdout);
}

#[test]
fn an_unreachable_database_names_no_password() {
    let url = format!("postgres://auth:hunter2-db-password@127.0.0.1:{}/auth", free_port());
    let run = doctor(&format!("database:\n  url: {url}\n"), &[]);
    fails_alone(&run, "database", "check database.url");
    assert!(run.line("database").contains("cannot be opened"), "{}", run.stdout);
}

#[test]
fn an_unknown_key_is_named() {
    let run = doctor("basicAuth:\n  jwtSecrte: oops\n", &[]);
    fails_alone(&run, "config", "correct its spelling");
    assert!(run.stdout.contains("unknown key basicAuth.jwtSecrte"), "{}", run.stdout);
}

#[test]
fn a_config_that_does_not_validate_lists_every_error() {
    let yaml = "publicUrl: ftp://nowhere\nbasicAuth:\n  minPasswordLength: 2\noidc:\n  clientId: x\n  discoveryUrl: http://idp.example.com\n";
    let run = doctor(yaml, &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for path in ["publicUrl", "basicAuth.minPasswordLength", "oidc.discoveryUrl", "oidc.clientSecret"] {
        assert!(run.stdout.contains(&format!("✗ config: {path}: ")), "{path} is named:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("nothing else was checked"), "{}", run.stdout);
    let json = doctor(yaml, &["--json"]);
    assert_eq!(json.code, 2);
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(doc["ok"], false);
    assert!(doc["checks"].as_array().is_some_and(|c| c.len() >= 4 && c.iter().all(|c| c["fix"].is_string())));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_without_a_usable_signing_key() {
    let _w = Watchdog::arm("a_jwks_without_a_usable_signing_key");
    let idp = Hostile::start(false).await;
    // A symmetric key and an encryption key: neither verifies an ID token.
    let mut enc = hostile::Key::A.jwk(true);
    enc["use"] = "enc".into();
    let keys = serde_json::json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, enc]});
    idp.set(|s| s.jwks = Some(keys));
    let run = doctor_async(idp.yaml()).await;
    fails_alone(&run, "oidc[default] jwks", "publish an RSA, EC or Ed25519 signing key");
    assert!(run.line("oidc[default] jwks").contains("holds no usable signing key"), "{}", run.stdout);
    idp.set(|s| s.jwks = None);
    let run = doctor_async(idp.yaml()).await;
    assert_eq!(run.code, 0, "the fixture key is usable:\n{}", run.stdout);
}
