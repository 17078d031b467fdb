//! Peer: axum-login + tower-sessions with its `MemoryStore`, the popular choice on axum, set up
//! as its README does (`AuthManagerLayerBuilder`, `login_required!`, `AuthSession` in the
//! handler). The user backend is an in-memory map.
//!
//! `peer-axum-login --listen 127.0.0.1:3200`; `POST /login` sets the `id` cookie.

use std::collections::HashMap;
use std::sync::Arc;

use auth_benches::{EMAIL, Login, listen_arg};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_login::{AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, UserId, login_required};
use tower_sessions::{MemoryStore, SessionManagerLayer};

#[derive(Clone, Debug)]
struct User {
    id: u64,
    email: String,
    /// What axum-login compares on every request (normally the password hash).
    auth_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> Self::Id {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

#[derive(Clone, Debug)]
struct Backend {
    users: Arc<HashMap<u64, User>>,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Login;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, creds: Self::Credentials) -> Result<Option<Self::User>, Self::Error> {
        Ok(creds.is_valid().then(|| self.users.values().find(|u| u.email == creds.email).cloned()).flatten())
    }

    async fn get_user(&self, user_id: &UserId<Self>) -> Result<Option<Self::User>, Self::Error> {
        Ok(self.users.get(user_id).cloned())
    }
}

async fn login(mut auth: AuthSession<Backend>, Json(creds): Json<Login>) -> impl IntoResponse {
    match auth.authenticate(creds).await {
        Ok(Some(user)) => match auth.login(&user).await {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        _ => StatusCode::UNAUTHORIZED,
    }
}

async fn hello(auth: AuthSession<Backend>) -> impl IntoResponse {
    match auth.user {
        Some(user) => Json(serde_json::json!({ "hello": user.email })).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = listen_arg();
    let user = User { id: 1, email: EMAIL.into(), auth_hash: b"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_vec() };
    let backend = Backend { users: Arc::new(HashMap::from([(user.id, user)])) };
    let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
    let auth = AuthManagerLayerBuilder::new(backend, sessions).build();
    let app = Router::new()
        .route("/api/hello", get(hello))
        .route_layer(login_required!(Backend))
        .route("/login", post(login))
        .route("/health", get(|| async { "ok".into_response() }))
        .layer(auth);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("peer-axum-login listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}
