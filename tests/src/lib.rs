//! Test harness: the example app served by either adapter on a real loopback port, and HTTP
//! helpers. Every scenario in `tests/tests/` runs against both adapters via [`both!`].

pub mod faulty;
pub mod hostile;
pub mod pg;
pub mod smtp;

use std::sync::atomic::{AtomicU64, Ordering};

use auth_core::config::LoadOptions;
use auth_core::{AuthConfig, AuthService};
pub use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

/// Which framework serves the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// axum + `auth_tower::AuthLayer`.
    Axum,
    /// actix-web + `auth_actix::AuthMiddleware`.
    Actix,
}

/// The session cookie's name on http `publicUrl`s.
pub const COOKIE: &str = "auth_session";
/// A password that passes the policy.
pub const PASSWORD: &str = "correct horse battery staple";
/// The jwtSecret used by [`TestServer::start`] unless the YAML sets another.
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// A running example app.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The adapter serving it.
    pub adapter: Adapter,
    /// The sqlx URL of its store (share it to start a second instance).
    pub db_url: String,
    stop: Stop,
}

enum Stop {
    Axum(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &self.stop {
            Stop::Axum(task) => task.abort(),
            // The stop command is sent at once; the returned future only awaits completion.
            Stop::Actix(handle) => drop(handle.stop(false)),
        }
    }
}

/// A child process stopped (by its own pid) when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A new, empty folder `auth-{kind}-{name}-PID-NANOS` in the temp folder.
pub fn temp_dir(kind: &str, name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("auth-{kind}-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A fresh store: a new database on the shared PostgreSQL cluster when the run selects it
/// (`AUTH_TEST_STORE=postgres`), else a new SQLite file.
pub fn fresh_db() -> String {
    if pg::selected() { pg::fresh_db() } else { fresh_sqlite() }
}

/// A fresh SQLite URL in the temp folder.
pub fn fresh_sqlite() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("auth-tests-{}-{n}-{}.db", std::process::id(), rand_suffix()));
    format!("sqlite://{}", path.display())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

impl TestServer {
    /// Starts the app with a bare-model YAML config on a fresh database.
    pub async fn start(adapter: Adapter, yaml: &str) -> Self {
        Self::start_on(adapter, yaml, &fresh_db()).await
    }

    /// Starts the app on an existing database.
    pub async fn start_on(adapter: Adapter, yaml: &str, db_url: &str) -> Self {
        Self::launch(adapter, yaml, db_url, None, None).await
    }

    /// Starts a second instance of `first`'s deployment: same store, same `publicUrl`.
    pub async fn start_beside(adapter: Adapter, yaml: &str, first: &TestServer) -> Self {
        Self::launch(adapter, yaml, &first.db_url, Some(&first.base), None).await
    }

    /// Starts the app on a fresh SQLite store behind a fault [`faulty::Switch`].
    pub async fn start_faulty(adapter: Adapter, yaml: &str, switch: std::sync::Arc<faulty::Switch>) -> Self {
        Self::launch(adapter, yaml, &fresh_db(), None, Some(switch)).await
    }

    async fn launch(
        adapter: Adapter,
        yaml: &str,
        db_url: &str,
        public_url: Option<&str>,
        fault: Option<std::sync::Arc<faulty::Switch>>,
    ) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let config = test_config(yaml, db_url, public_url.unwrap_or(&base));
        let stop = match adapter {
            Adapter::Axum => {
                let auth = service(config, fault).await;
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                Stop::Axum(tokio::spawn(async move {
                    let _ = auth_examples::axum_app::serve(listener, auth).await;
                }))
            }
            Adapter::Actix => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        let auth = service(config, fault).await;
                        let server = auth_examples::actix_app::server(listener, auth, 1).expect("server");
                        let _ = tx.send(server.handle());
                        let _ = server.await;
                    });
                });
                Stop::Actix(rx.await.expect("actix server started"))
            }
        };
        Self { base, adapter, db_url: db_url.to_string(), stop }
    }

    /// What `auth-admin` builds on this server's store and `yaml` (the operator's service:
    /// audit source `cli`, no background work).
    pub async fn operator(&self, yaml: &str) -> AuthService {
        AuthService::for_operator(test_config(yaml, &self.db_url, &self.base)).await.expect("operator service")
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client that follows no redirects and keeps no cookies.
    pub fn client(&self) -> Client {
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
    }

    /// `POST path` with a JSON body and optional session cookie.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Response {
        let mut req = self.client().post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.header("cookie", format!("{COOKIE}={t}"));
        }
        req.send().await.expect("request")
    }

    /// `GET path` with an optional session cookie.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client().get(self.url(path));
        if let Some(t) = token {
            req = req.header("cookie", format!("{COOKIE}={t}"));
        }
        req.send().await.expect("request")
    }

    /// Creates an account through `POST /signup`; returns the session token.
    pub async fn signup(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/signup",
                serde_json::json!({"email": email, "password": PASSWORD, "organization": "Acme"}),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "signup of {email}");
        session_token(&r).expect("signup sets the session cookie")
    }

    /// Creates the first admin (`admin@example.com`) and its organization "Acme"; returns the
    /// session token and the organization id.
    pub async fn first_admin(&self) -> (String, String) {
        let body = serde_json::json!({"email": "admin@example.com", "password": PASSWORD, "organization": "Acme"});
        let r = self.post("/api/v1/auth/signup", body, None).await;
        assert_eq!(r.status(), StatusCode::CREATED, "first admin");
        let token = session_token(&r).expect("signup sets the session cookie");
        let org = json(r).await["organizations"][0]["id"].as_str().expect("org id").to_string();
        (token, org)
    }

    /// Signs in through `POST /login`; returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.post("/api/v1/auth/login", serde_json::json!({"email": email, "password": password}), None).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {email}");
        session_token(&r).expect("login sets the session cookie")
    }
}

async fn service(config: AuthConfig, fault: Option<std::sync::Arc<faulty::Switch>>) -> AuthService {
    match fault {
        None => AuthService::new(config).await.expect("service"),
        Some(switch) => {
            let inner = auth_core::store::open(&config.database_url, &config.database_pool).await.expect("store");
            let store = faulty::Faulty { inner, switch };
            AuthService::with_store(config, std::sync::Arc::new(store)).await.expect("service")
        }
    }
}

/// The session token from a response's `Set-Cookie`, if set (and not a deletion).
pub fn session_token(r: &Response) -> Option<String> {
    set_cookie(r).and_then(|c| {
        let value = c.split(';').next()?.strip_prefix(&format!("{COOKIE}="))?.to_string();
        (!value.is_empty()).then_some(value)
    })
}

/// The session cookie's `Set-Cookie` header, if any.
pub fn set_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{COOKIE}=")))
        .map(str::to_string)
}

/// The JSON body of a response.
pub async fn json(r: Response) -> Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Runs each named scenario (`async fn name(adapter: Adapter)`) against both adapters, each
/// under a [`Watchdog`].
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn axum() {
                    let _watchdog = $crate::Watchdog::arm(concat!(module_path!(), "::axum"));
                    super::$name($crate::Adapter::Axum).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn actix() {
                    let _watchdog = $crate::Watchdog::arm(concat!(module_path!(), "::actix"));
                    super::$name($crate::Adapter::Actix).await
                }
            }
        )+
    };
}

/// Ends the whole test process when one scenario runs longer than its limit (300 s, or
/// `AUTH_TEST_TIMEOUT` seconds): a hung peer or a deadlock fails the run at once, naming the
/// scenario, instead of stalling CI. Disarmed when dropped (also while a panic unwinds). The
/// peers the process started end with it: the IdP on its closed stdin, PostgreSQL by its
/// watchdog.
pub struct Watchdog {
    _disarm: std::sync::mpsc::Sender<()>,
}

impl Watchdog {
    /// Arms the limit for the scenario `name`.
    pub fn arm(name: &'static str) -> Self {
        let secs = std::env::var("AUTH_TEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
        Self::arm_for(name, std::time::Duration::from_secs(secs))
    }

    /// Arms an explicit limit.
    pub fn arm_for(name: &'static str, limit: std::time::Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("\n{name} ran longer than {limit:?}: ending the test process (a hung peer or a deadlock)");
                std::process::exit(101);
            }
        });
        Self { _disarm: tx }
    }
}

/// The real OpenID provider (panva/oidc-provider under Node) on a loopback port, stopped by its
/// own pid when dropped.
pub struct Idp {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT` (also the issuer).
    pub issuer: String,
    /// The port.
    pub port: u16,
}

/// The static client registered at the test IdP.
pub const IDP_CLIENT_ID: &str = "test-client";
/// Its secret.
pub const IDP_CLIENT_SECRET: &str = "test-client-secret-0123456789";

/// The config [`TestServer::start`] runs: `yaml` (bare model), plus the test `jwtSecret` unless
/// it has a `basicAuth` section, on `db_url`, with `/health` public.
pub fn test_config(yaml: &str, db_url: &str, public_url: &str) -> AuthConfig {
    let yaml = if yaml.contains("jwtSecret") || yaml.contains("basicAuth:") {
        yaml.to_string()
    } else {
        format!("{yaml}\nbasicAuth:\n  jwtSecret: \"{SECRET}\"\n")
    };
    let options = LoadOptions::default()
        .with_public_url(public_url.parse().expect("url"))
        .with_database_url(db_url)
        .with_extra_public_path("/health");
    AuthConfig::from_yaml_with(&yaml, |_| None, &options).unwrap_or_else(|e| panic!("test config: {e}"))
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Idp {
    /// Starts the IdP on `port` for an app whose `publicUrl` is `app_base`; `alg` signs ID tokens.
    /// Panics with what the IdP printed to stderr when it is not listening within 30 s.
    pub fn start(port: u16, app_base: &str, alg: &str) -> Self {
        use std::io::BufRead;
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/idp");
        assert!(
            std::path::Path::new(dir).join("node_modules/oidc-provider").exists(),
            "the test IdP is not installed: run `npm ci --no-audit --no-fund` in tests/idp"
        );
        let log = temp_dir("idp", &port.to_string()).join("stderr.log");
        let stderr = std::fs::File::create(&log).expect("idp log");
        let mut child = std::process::Command::new("node")
            .current_dir(dir)
            .args(["idp.mjs", "--port", &port.to_string(), "--alg", alg])
            .args(["--redirect-uri", &format!("{app_base}/api/v1/auth/callback")])
            .args(["--post-logout-uri", &format!("{app_base}/login")])
            .args(["--backchannel-uri", &format!("{app_base}/api/v1/auth/backchannel-logout")])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("node");
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = out.read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
            // Keep reading: the IdP logs to stdout and would die of EPIPE otherwise.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let first = rx.recv_timeout(std::time::Duration::from_secs(30));
        if !matches!(&first, Ok(Ok(line)) if line.trim() == "ready") {
            let _ = child.kill();
            let _ = child.wait();
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: String =
                said.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
            panic!("the test IdP on port {port} did not start within 30 s (stdout: {first:?}); its stderr:\n{tail}");
        }
        Self { child, issuer: format!("http://127.0.0.1:{port}"), port }
    }

    /// The YAML `oidc` section pointing at this IdP.
    pub fn yaml(port: u16) -> String {
        format!(
            "oidc:\n  clientId: {IDP_CLIENT_ID}\n  clientSecret: {IDP_CLIENT_SECRET}\n  displayName: Test IdP\n  \
             discoveryUrl: http://127.0.0.1:{port}/.well-known/openid-configuration\n"
        )
    }

    /// The account the next interaction signs in.
    pub async fn login_as(&self, sub: &str, email: &str, verified: bool) {
        self.login_as_claims(sub, email, Some(verified)).await;
    }

    /// Like [`login_as`](Self::login_as); `verified: None` leaves `email_verified` out.
    pub async fn login_as_claims(&self, sub: &str, email: &str, verified: Option<bool>) {
        self.login_as_json(
            serde_json::json!({"sub": sub, "email": email, "email_verified": verified, "name": format!("User {sub}")}),
        )
        .await;
    }

    /// Like [`login_as`](Self::login_as) (verified), with a `groups` claim in UserInfo.
    pub async fn login_as_groups(&self, sub: &str, email: &str, groups: &[&str]) {
        self.login_as_json(serde_json::json!({"sub": sub, "email": email, "email_verified": true,
            "name": format!("User {sub}"), "groups": groups}))
            .await;
    }

    async fn login_as_json(&self, body: Value) {
        let r = Client::new().post(format!("{}/__test/login-as", self.issuer)).json(&body).send().await.expect("idp");
        assert!(r.status().is_success());
    }

    /// Rotates the IdP's signing keys in place (same provider instance, sessions kept): new
    /// keys with new kids sign from now on, the old ones stay published.
    pub async fn rotate_keys(&self) {
        let r = Client::new().post(format!("{}/__test/rotate", self.issuer)).send().await.expect("idp");
        assert!(r.status().is_success());
    }

    /// Stops publishing every key but the ones that sign.
    pub async fn drop_old_keys(&self) {
        let r = Client::new().post(format!("{}/__test/drop-old-keys", self.issuer)).send().await.expect("idp");
        assert!(r.status().is_success());
    }

    /// How many requests the IdP's JWKS endpoint has served.
    pub async fn jwks_count(&self) -> u64 {
        let r = Client::new().get(format!("{}/__test/jwks-count", self.issuer)).send().await.expect("idp");
        json(r).await["count"].as_u64().expect("count")
    }

    /// The last back-channel logout token the IdP sent, if any.
    pub async fn last_logout_token(&self) -> Option<String> {
        let r = Client::new().get(format!("{}/__test/last-logout-token", self.issuer)).send().await.expect("idp");
        json(r).await["logout_token"].as_str().map(str::to_string)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: keeps cookies (all of them, like a browser on 127.0.0.1), follows no redirects
/// by itself.
pub fn browser() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().expect("client")
}

/// What a browser saw going through a redirect chain.
#[derive(Debug)]
pub struct Walk {
    /// The last response's status.
    pub status: StatusCode,
    /// The last response's `Location`, if a redirect.
    pub location: Option<String>,
    /// The session token set along the way, if any.
    pub session: Option<String>,
    /// The URLs visited, in order.
    pub visited: Vec<String>,
    /// The last response's body.
    pub body: String,
}

/// Follows redirects from `start` with `client` until a non-redirect, or a redirect that
/// leaves both `app_base` and `idp_base` (at most 12 hops).
pub async fn walk(client: &Client, start: &str, app_base: &str, idp_base: &str) -> Walk {
    let mut url = start.to_string();
    let mut session = None;
    let mut visited = Vec::new();
    for _ in 0..12 {
        visited.push(url.clone());
        let r = client.get(&url).header("accept", "text/html").send().await.expect("request");
        if let Some(t) = session_token(&r) {
            session = Some(t);
        }
        let status = r.status();
        let location = r.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = r.text().await.unwrap_or_default();
        let Some(loc) = location.clone().filter(|_| status.is_redirection()) else {
            return Walk { status, location, session, visited, body };
        };
        let next = if loc.starts_with('/') {
            let origin = if url.starts_with(idp_base) { idp_base } else { app_base };
            format!("{origin}{loc}")
        } else {
            loc.clone()
        };
        if !next.starts_with(app_base) && !next.starts_with(idp_base) {
            return Walk { status, location: Some(next), session, visited, body };
        }
        // Stop at the app's final redirect (after the callback) without following it.
        if url.contains("/api/v1/auth/callback") {
            return Walk { status, location: Some(loc), session, visited, body };
        }
        url = next;
    }
    panic!("too many redirects: {visited:?}");
}
