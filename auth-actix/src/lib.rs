//! actix-web middleware for the login layer, with a `CurrentUser` extractor.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use auth_actix::auth_core::{AuthConfig, AuthService};
//! use auth_actix::{AuthMiddleware, CurrentUser};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = AuthService::new(AuthConfig::load()?).await?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(AuthMiddleware::new(auth.clone()))
//!         .route("/", web::get().to(|user: CurrentUser| async move { format!("Hello, {}", user.email) }))
//! })
//! .bind("127.0.0.1:3000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

mod convert;
mod extract;
mod future;
mod middleware;

pub use auth_core;
pub use extract::{Admin, AuthRejection, CurrentUser, Member, OrgAdmin, OrgMember, OrgRole, RequiredRole};
#[doc(hidden)]
pub use future::AuthFuture;
pub use middleware::{AuthMiddleware, AuthMiddlewareService};
