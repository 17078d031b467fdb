//! `auth-admin [--config FILE] COMMAND`: the operator's command line (see the README's
//! "Operating" section). Exit status: 0 when everything passed, 1 when a check failed, 2 when
//! the config does not validate or the command line is wrong.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

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
