//! Peer: a straightforward `jsonwebtoken` layer on axum, as people write it: an
//! `axum::middleware::from_fn_with_state` that reads the `token` cookie, calls
//! `jsonwebtoken::decode` with a `Validation` per request and puts the claims in the request's
//! extensions for the handler. Stateless: no revocation.
//!
//! `peer-axum-jwt --listen 127.0.0.1:3200`; `POST /login` sets the `token` cookie.

use std::sync::Arc;

use auth_benches::{Claims, JWT_COOKIE, Login, decoding_key, find_cookie, listen_arg, mint_token, token_set_cookie};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};

async fn require_jwt(
    State(key): State<Arc<DecodingKey>>,
    mut req: Request,
    next: Next,
) -> Result<Response, StatusCode> {
    let token = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| find_cookie(c, JWT_COOKIE))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let data =
        decode::<Claims>(token, &key, &Validation::new(Algorithm::HS256)).map_err(|_| StatusCode::UNAUTHORIZED)?;
    req.extensions_mut().insert(data.claims);
    Ok(next.run(req).await)
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
    let key = Arc::new(decoding_key());
    let app =
        Router::new()
            .route(
                "/api/hello",
                get(|Extension(claims): Extension<Claims>| async move {
                    Json(serde_json::json!({ "hello": claims.email }))
                }),
            )
            .route_layer(middleware::from_fn_with_state(key, require_jwt))
            .route("/login", post(login))
            .route("/health", get(|| async { "ok".into_response() }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("peer-axum-jwt listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}
