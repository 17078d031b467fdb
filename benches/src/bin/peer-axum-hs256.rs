//! Peer: a hand-written minimal HS256 check on axum, as an extractor: split the token, base64
//! the signature, HMAC-SHA256 (key set up once, cloned per request), constant-time compare,
//! then the payload's `exp` through serde_json. Stateless: no revocation.
//!
//! `peer-axum-hs256 --listen 127.0.0.1:3200`; `POST /login` sets the `token` cookie.

use std::sync::{Arc, OnceLock};

use auth_benches::{
    Claims, JWT_COOKIE, JWT_SECRET, Login, find_cookie, listen_arg, mint_token, token_set_cookie, unix_now,
};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The one header this server issues: `{"typ":"JWT","alg":"HS256"}` as jsonwebtoken writes it.
static HEADER: OnceLock<String> = OnceLock::new();
static KEY: OnceLock<Hmac<Sha256>> = OnceLock::new();

fn verify(token: &str) -> Option<Claims> {
    let (signed, signature) = token.rsplit_once('.')?;
    let (header, payload) = signed.split_once('.')?;
    if Some(header) != HEADER.get().map(String::as_str) {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut mac = KEY.get()?.clone();
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.exp > unix_now()).then_some(claims)
}

struct User(Arc<Claims>);

impl<S: Sync> FromRequestParts<S> for User {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|c| find_cookie(c, JWT_COOKIE))
            .and_then(verify)
            .map(|c| User(Arc::new(c)))
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

async fn login(Json(creds): Json<Login>) -> Response {
    if !creds.is_valid() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    ([(header::SET_COOKIE, token_set_cookie(&mint_token()))], "ok").into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = listen_arg();
    let header = mint_token().split('.').next().unwrap_or_default().to_string();
    let _ = HEADER.set(header);
    let Ok(key) = Hmac::<Sha256>::new_from_slice(JWT_SECRET) else { unreachable!("HMAC takes any key length") };
    let _ = KEY.set(key);
    let app = Router::new()
        .route("/api/hello", get(|User(c): User| async move { Json(serde_json::json!({ "hello": c.email })) }))
        .route("/login", post(login))
        .route("/health", get(|| async { "ok".into_response() }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("peer-axum-hs256 listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}
