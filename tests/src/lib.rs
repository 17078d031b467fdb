//! Test harness: the example app served by either adapter on a real loopback port, and HTTP
//! helpers. Every scenario in `tests/tests/` runs against both adapters via [`both!`].

use std::sync::atomic::{AtomicU64, Ordering};

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

/// A fresh SQLite URL in the temp folder.
pub fn fresh_db() -> String {
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
        Self::launch(adapter, yaml, db_url, None).await
    }

    /// Starts a second instance of `first`'s deployment: same store, same `publicUrl`.
    pub async fn start_beside(adapter: Adapter, yaml: &str, first: &TestServer) -> Self {
        Self::launch(adapter, yaml, &first.db_url, Some(&first.base)).await
    }

    async fn launch(adapter: Adapter, yaml: &str, db_url: &str, public_url: Option<&str>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let yaml = if yaml.contains("jwtSecret") || yaml.contains("basicAuth:") {
            yaml.to_string()
        } else {
            format!("{yaml}\nbasicAuth:\n  jwtSecret: \"{SECRET}\"\n")
        };
        let mut config = AuthConfig::from_yaml(&yaml, |_| None).unwrap_or_else(|e| panic!("test config: {e}"));
        config.public_url = public_url.unwrap_or(&base).parse().expect("url");
        config.public_url_configured = true;
        config.database_url = db_url.to_string();
        config.public_paths.push("/health".into());
        let stop = match adapter {
            Adapter::Axum => {
                let auth = AuthService::new(config).await.expect("service");
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
                        let auth = AuthService::new(config).await.expect("service");
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

    /// Signs in through `POST /login`; returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self.post("/api/v1/auth/login", serde_json::json!({"email": email, "password": password}), None).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {email}");
        session_token(&r).expect("login sets the session cookie")
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

/// Runs each named scenario (`async fn name(adapter: Adapter)`) against both adapters.
#[macro_export]
macro_rules! both {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn axum() {
                    super::$name($crate::Adapter::Axum).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn actix() {
                    super::$name($crate::Adapter::Actix).await
                }
            }
        )+
    };
}
