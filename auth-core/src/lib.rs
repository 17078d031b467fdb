//! Framework-neutral core of the login layer for self-hosted axum and actix-web apps.
//!
//! Everything that decides lives here: config, password hashing, session tokens, the store,
//! the `/api/v1/auth` routes, the guard and the built-in pages. The adapters (`auth-tower`,
//! `auth-actix`) only translate requests and responses.
//!
//! ```no_run
//! use auth_core::{AuthConfig, AuthService};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Reads AUTH_CONFIG (a YAML file) and the environment; reports every problem at once.
//! let config = AuthConfig::load()?;
//! // Opens the store (SQLite by default), loads or creates the session secret.
//! let service = AuthService::new(config).await?;
//! # let _ = service; Ok(()) }
//! ```

mod accounts;
pub mod adapter;
pub mod admin;
mod api;
mod assets;
mod audit;
pub mod authz;
pub mod config;
pub mod email;
mod error;
#[cfg(fuzzing)]
pub mod fuzzing;
mod http;
#[cfg(feature = "smtp")]
mod mail;
#[cfg(not(feature = "smtp"))]
#[path = "mail_disabled.rs"]
mod mail;
#[cfg(feature = "oidc")]
mod oidc;
#[cfg(not(feature = "oidc"))]
#[path = "oidc/disabled.rs"]
mod oidc;
mod orgs;
mod pages;
pub mod password;
pub mod probe;
mod rate;
mod recovery;
mod routes;
pub mod secret;
mod service;
pub mod session;
pub mod store;
mod telemetry;
pub mod throttle;
mod time;

pub use config::AuthConfig;
pub use error::{AuthError, ErrorBody, ErrorCode};
pub use orgs::{CreatedInvitation, Delivery};
pub use routes::api_routes;
pub use secret::Secret;
pub use service::{API_PREFIX, AuthService, StartupError};
pub use session::CurrentUser;
pub use store::{AuthMethod, Membership, Role};
