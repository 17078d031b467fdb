//! `auth-admin [--config FILE] COMMAND`: the operator's command line (see the README's
//! "Operating" section). Exit status: 0 when everything passed, 1 when a check failed, 2 when
//! the config does not validate or the command line is wrong.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use auth_admin::manage::{self, Invite, Keys, Sessions, Users};
use auth_admin::{doctor, exit, load};
use clap::{Parser, Subcommand};

/// Operate the login layer: the same config file and environment as the servers.
#[derive(Debug, Parser)]
#[command(name = "auth-admin", version)]
struct Cli {
    /// YAML config (Helm-style values or the bare model), as for the servers.
    #[arg(long, global = true, value_name = "FILE", env = "AUTH_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The commands. Secrets are read from stdin, never from arguments.
#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the config, then probe the database, the session secret, each OIDC provider,
    /// SMTP and the cookie settings; one ✓/✗ line per check, with the fix.
    Doctor {
        /// Print one JSON document `{"ok", "checks": [{"name", "ok", "detail", "fix"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// List, show, disable, enable, delete users; create an instance admin; reset a password.
    #[command(subcommand)]
    Users(Users),
    /// List or end a user's sessions.
    #[command(subcommand)]
    Sessions(Sessions),
    /// Invite someone to an organization; prints the link (and mails it when SMTP is set).
    Invite(Invite),
    /// Rotate the session signing key (when the store holds it).
    #[command(subcommand)]
    Keys(Keys),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match cli.command {
        Command::Doctor { json } => runtime.block_on(run_doctor(cli.config, json)),
        Command::Users(cmd) => {
            // Only the first admin may come before the first start (and its new database).
            let may_create = matches!(cmd, Users::CreateAdmin { .. });
            runtime
                .block_on(run_manage(cli.config, may_create, |s| Box::pin(async move { manage::users(&s, cmd).await })))
        }
        Command::Sessions(cmd) => runtime
            .block_on(run_manage(cli.config, false, |s| Box::pin(async move { manage::sessions(&s, cmd).await }))),
        Command::Invite(cmd) => {
            runtime.block_on(run_manage(cli.config, false, |s| Box::pin(async move { manage::invite(&s, cmd).await })))
        }
        Command::Keys(cmd) => {
            runtime.block_on(run_manage(cli.config, false, |s| Box::pin(async move { manage::keys(&s, cmd).await })))
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

async fn run_doctor(config: Option<PathBuf>, json: bool) -> i32 {
    let (report, code) = match load(config.as_deref()) {
        Ok(loaded) => {
            let report = doctor::run(&loaded).await;
            let code = if report.ok() { exit::OK } else { exit::CHECK_FAILED };
            (report, code)
        }
        Err(errors) => (doctor::Report::from_config_errors(&errors), exit::INVALID_CONFIG),
    };
    let text = if json { format!("{}\n", report.to_json()) } else { report.to_text() };
    // A closed pipe (`| head`) is not worth a panic; the exit status still tells.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    code
}

/// Loads the config, opens the store as the operator (refusing to create a database unless
/// `may_create`) and runs one account command: its output
/// on stdout (exit 0), or `error: …` on stderr (exit 1; 2 for a config that does not validate).
async fn run_manage(
    config: Option<PathBuf>,
    may_create: bool,
    command: impl FnOnce(auth_core::AuthService) -> std::pin::Pin<Box<dyn std::future::Future<Output = manage::Outcome>>>,
) -> i32 {
    let loaded = match load(config.as_deref()) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("error: the config does not validate (run `auth-admin doctor` for the fixes):\n{errors}");
            return exit::INVALID_CONFIG;
        }
    };
    if !may_create {
        // A mistyped database.url must not quietly become a new, empty database.
        match auth_core::store::inspect(&loaded.config.database_url, &loaded.config.database_pool).await {
            Ok(health) if !health.exists => {
                eprintln!(
                    "error: there is no database at {}: check database.url (a server creates it at its first start)",
                    health.location
                );
                return exit::CHECK_FAILED;
            }
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: {e}");
                return exit::CHECK_FAILED;
            }
        }
    }
    let service = match auth_core::AuthService::for_operator(loaded.config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::CHECK_FAILED;
        }
    };
    match command(service).await {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            exit::OK
        }
        Err(why) => {
            eprintln!("error: {why}");
            exit::CHECK_FAILED
        }
    }
}
