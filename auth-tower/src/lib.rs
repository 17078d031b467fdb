//! tower Layer for the login layer: works for any tower HTTP stack; with the `axum` feature
//! (default) `CurrentUser` is an axum extractor.
//!
//! ```no_run
//! use auth_tower::auth_core::{AuthConfig, AuthService};
//! use auth_tower::{AuthLayer, CurrentUser};
//! use axum::{Router, routing::get};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = AuthService::new(AuthConfig::load()?).await?;
//! let app = Router::new()
//!     .route("/", get(|user: CurrentUser| async move { format!("Hello, {}", user.email) }))
//!     .layer(AuthLayer::new(auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```

mod convert;
mod extract;
mod future;
mod layer;
mod service;

pub use auth_core;
pub use extract::{Admin, AuthRejection, CurrentUser, Member, OrgAdmin, OrgMember, OrgRole, RequiredRole};
pub use future::{AuthBody, ResponseFuture};
pub use layer::AuthLayer;
pub use service::Auth;
