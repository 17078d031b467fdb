//! The operator's command line for the login layer, `auth-admin [--config FILE] COMMAND`: it
//! reads the same config file and environment as the servers. This library holds the logic
//! of each command so that it can be tested; `main.rs` only parses flags and prints.
//!
//! ```no_run
//! use auth_admin::{doctor, load};
//!
//! # async fn run() {
//! match load(None) {
//!     Ok(loaded) => {
//!         let report = doctor::run(&loaded).await;
//!         print!("{}", report.to_text());
//!     }
//!     Err(errors) => print!("{}", doctor::Report::from_config_errors(&errors).to_text()),
//! }
//! # }
//! ```

use std::path::{Path, PathBuf};

use auth_core::AuthConfig;
use auth_core::config::{ConfigErrors, LoadOptions, unknown_keys};

pub mod doctor;
pub mod manage;

/// Exit statuses of `auth-admin`.
pub mod exit {
    /// Everything passed.
    pub const OK: i32 = 0;
    /// The config is valid but a check failed.
    pub const CHECK_FAILED: i32 = 1;
    /// The config does not validate (the servers would refuse to start, with status 2 too).
    pub const INVALID_CONFIG: i32 = 2;
}

/// A config as the servers load it, and what the loader only warns about.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated model.
    pub config: AuthConfig,
    /// The file it came from (`--config` or `AUTH_CONFIG`), if any.
    pub file: Option<PathBuf>,
    /// Keys of the file the model does not know (ignored, with a warning, by the servers).
    pub unknown_keys: Vec<String>,
}

/// Loads the config like the example servers: the file (`--config FILE`, else `AUTH_CONFIG`;
/// none means defaults), then the process environment over it, validated once with every
/// error reported.
pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigErrors> {
    let config = AuthConfig::load_with(file, |k| std::env::var(k).ok(), &LoadOptions::default())?;
    let unknown_keys = match file {
        Some(path) => std::fs::read_to_string(path).ok().and_then(|t| unknown_keys(&t).ok()).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(Loaded { config, file: file.map(Path::to_path_buf), unknown_keys })
}
