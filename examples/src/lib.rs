//! The example app, served by `axum-app` and `actix-app`: the same three routes on both.
//!
//! - `GET /` — protected HTML page naming the user
//! - `GET /api/hello` — protected JSON `{"hello": "<email>"}`
//! - `GET /health` — public, `ok`
//! - `GET /api/orgs/{org}/role` — members of `{org}` only: `{"org": id, "role": role}`
//! - `GET /api/orgs/{org}/admin` — admins of `{org}` only: `{"org": id, "admin": email}`

use std::net::SocketAddr;
use std::path::PathBuf;

use askama::Template;
use auth_core::config::LoadOptions;
use auth_core::{AuthConfig, AuthService};

/// Command-line flags shared by both binaries.
#[derive(Debug, Clone)]
pub struct Args {
    /// `--config FILE` (else `AUTH_CONFIG`).
    pub config: Option<PathBuf>,
    /// `--listen ADDR`, default `127.0.0.1:3000`.
    pub listen: SocketAddr,
}

const USAGE: &str = "usage: [--config FILE] [--listen ADDR]\n\
  --config FILE   YAML config (Helm-style values or the bare model); default: $AUTH_CONFIG\n\
  --listen ADDR   address to listen on; default: 127.0.0.1:3000";

impl Args {
    /// Parses `std::env::args()`; prints usage and exits on `--help` or a bad flag.
    pub fn from_env() -> Self {
        match Self::parse(std::env::args().skip(1)) {
            Ok(a) => a,
            Err(msg) => {
                let code = i32::from(msg != "help") * 2;
                if msg != "help" {
                    eprintln!("error: {msg}");
                }
                eprintln!("{USAGE}");
                std::process::exit(code);
            }
        }
    }

    /// Parses flags.
    pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = Self {
            config: std::env::var_os("AUTH_CONFIG").map(PathBuf::from),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        while let Some(flag) = args.next() {
            let (flag, inline) = match flag.split_once('=') {
                Some((f, v)) => (f.to_string(), Some(v.to_string())),
                None => (flag, None),
            };
            let mut value = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--config" => out.config = Some(PathBuf::from(value()?)),
                "--listen" => {
                    let v = value()?;
                    out.listen =
                        v.parse().map_err(|_| format!("--listen: {v:?} is not an address like 127.0.0.1:3000"))?;
                }
                "-h" | "--help" => return Err("help".into()),
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        Ok(out)
    }
}

/// Loads the config for an example server: `/health` is public, and without a configured
/// `publicUrl` the listen address is used.
pub fn load_config(config: Option<&std::path::Path>, listen: SocketAddr) -> Result<AuthConfig, String> {
    let host = if listen.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], listen.port())) } else { listen };
    let listen_url = url::Url::parse(&format!("http://{host}")).map_err(|e| e.to_string())?;
    let options = LoadOptions::default().with_default_public_url(listen_url).with_extra_public_path("/health");
    AuthConfig::load_with(config, |k| std::env::var(k).ok(), &options).map_err(|e| e.to_string())
}

/// Starts the service from flags, exiting with a clear message on bad config.
pub async fn service_from(args: &Args) -> AuthService {
    let config = match load_config(args.config.as_deref(), args.listen) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match AuthService::new(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// Installs a `tracing` subscriber on stderr (`RUST_LOG`, default `info`, with PostgreSQL's
/// routine notices such as "relation already exists, skipping" at `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx::postgres::notice=warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// The app's one page; it borrows the layer's stylesheet to look like the built-in pages.
#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example app</title><link rel="stylesheet" href="/api/v1/auth/assets/auth.css"></head>
<body><main id="main"><div class="card">
<h1>Hello, {{ name }}</h1>
<p>Signed in as <strong>{{ email }}</strong>.</p>
<p><a href="/settings/personal">Personal settings</a> · <a href="/settings/organization">Organization settings</a></p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>
</div></main></body></html>"#
)]
struct Home<'a> {
    name: &'a str,
    email: &'a str,
}

fn home_page(email: &str, name: &str) -> String {
    Home { name, email }.render().unwrap_or_else(|_| String::from("Hello"))
}

/// The load-test baselines (`examples/hello_*.rs`, `examples/noop_*.rs`): the example app's
/// `GET /api/hello` (answering a fixed `{"hello":"a@example.com"}`) and `GET /health`, WITHOUT
/// the login layer. One definition, so hello and the no-op middleware serve the same routes.
pub mod baseline {
    use actix_web::{HttpResponse, web};
    use axum::response::IntoResponse;

    /// The routes on axum.
    pub fn axum_router() -> axum::Router {
        axum::Router::new()
            .route(
                "/api/hello",
                axum::routing::get(|| async { axum::Json(serde_json::json!({ "hello": "a@example.com" })) }),
            )
            .route("/health", axum::routing::get(|| async { "ok".into_response() }))
    }

    async fn hello() -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({ "hello": "a@example.com" }))
    }

    async fn health() -> HttpResponse {
        HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
    }

    /// The routes on actix-web (`App::configure`).
    pub fn actix_routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/api/hello", web::get().to(hello)).route("/health", web::get().to(health));
    }

    /// actix-web workers, as actix-app starts them: one per CPU.
    pub fn actix_workers() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

/// The example app on axum.
pub mod axum_app {
    use auth_tower::{AuthLayer, CurrentUser, OrgAdmin, OrgMember};
    use axum::Router;
    use axum::response::{Html, IntoResponse};
    use axum::routing::get;

    use super::*;

    /// The app's router with the auth layer installed.
    pub fn router(auth: AuthService) -> Router {
        Router::new()
            .route("/", get(|user: CurrentUser| async move { Html(home_page(&user.email, &user.name)) }))
            .route(
                "/api/hello",
                get(|user: CurrentUser| async move { axum::Json(serde_json::json!({ "hello": user.email })) }),
            )
            .route("/health", get(|| async { "ok".into_response() }))
            .route(
                "/api/orgs/{org}/role",
                get(|m: OrgMember| async move { axum::Json(serde_json::json!({"org": m.org_id, "role": m.role})) }),
            )
            .route(
                "/api/orgs/{org}/admin",
                get(|a: OrgAdmin| async move { axum::Json(serde_json::json!({"org": a.org_id, "admin": a.user.email})) }),
            )
            .layer(AuthLayer::new(auth))
    }

    /// Serves the app on `listener` until the process ends.
    pub async fn serve(listener: tokio::net::TcpListener, auth: AuthService) -> std::io::Result<()> {
        axum::serve(listener, router(auth).into_make_service_with_connect_info::<SocketAddr>()).await
    }
}

/// The example app on actix-web.
pub mod actix_app {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use auth_actix::{AuthMiddleware, CurrentUser, OrgAdmin, OrgMember};

    use super::*;

    async fn home(user: CurrentUser) -> HttpResponse {
        HttpResponse::Ok().content_type("text/html; charset=utf-8").body(home_page(&user.email, &user.name))
    }

    async fn hello(user: CurrentUser) -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({ "hello": user.email }))
    }

    async fn org_role(m: OrgMember) -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({"org": m.org_id, "role": m.role}))
    }

    async fn org_admin(a: OrgAdmin) -> HttpResponse {
        HttpResponse::Ok().json(serde_json::json!({"org": a.org_id, "admin": a.user.email}))
    }

    async fn health() -> HttpResponse {
        HttpResponse::Ok().content_type("text/plain; charset=utf-8").body("ok")
    }

    /// Builds the server on `listener` (run it with `.await`; stop it with its handle).
    pub fn server(
        listener: std::net::TcpListener,
        auth: AuthService,
        workers: usize,
    ) -> std::io::Result<actix_web::dev::Server> {
        Ok(HttpServer::new(move || {
            App::new()
                .wrap(AuthMiddleware::new(auth.clone()))
                .route("/", web::get().to(home))
                .route("/api/hello", web::get().to(hello))
                .route("/health", web::get().to(health))
                .route("/api/orgs/{org}/role", web::get().to(org_role))
                .route("/api/orgs/{org}/admin", web::get().to(org_admin))
        })
        .workers(workers.max(1))
        .listen(listener)?
        .run())
    }
}
