//! The example binaries as a user runs them: flags, config files, startup errors.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BINARIES: [&str; 2] = [env!("CARGO_BIN_EXE_axum-app-under-test"), env!("CARGO_BIN_EXE_actix-app-under-test")];

const SEED: &str = r#"backend:
  config:
    basicAuth:
      enabled: true
      validEmailDomain: "example.com"   # optional: only this email domain may sign up / be invited / log in
      jwtSecret: "at-least-32-bytes-of-secret-material"  # optional
      # existingSecretName: "existing-basic-auth-secret"
    oidc:
      clientId: "your-client-id"
      clientSecret: "your-client-secret"
      discoveryUrl: "https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration"
  extraEnvVariables:
    - name: OIDC_VERIFY_SSL
      value: false
"#;

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("auth-cli-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn command(bin: &str, dir: &PathBuf) -> Command {
    let mut c = Command::new(bin);
    c.current_dir(dir)
        .env_remove("AUTH_CONFIG")
        .env_remove("AUTH_DATABASE_URL")
        .env_remove("AUTH_JWT_SECRET")
        .env_remove("BYOC_JWT_SECRET")
        .env_remove("OIDC_VERIFY_SSL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    c
}

/// A started server, stopped (by its own pid) when dropped.
struct Running {
    child: Child,
    base: String,
}

impl Running {
    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
        }
        err
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(mut cmd: Command) -> Running {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let base = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "unexpected first line: {line:?}");
    Running { child, base }
}

fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
        let r = client.get(url).send().await.expect("request");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    })
}

#[test]
fn no_config_runs_basic_auth_on_embedded_sqlite() {
    for bin in BINARIES {
        let dir = temp_dir();
        let mut cmd = command(bin, &dir);
        cmd.args(["--listen", "127.0.0.1:0"]);
        let app = start(cmd);
        assert_eq!(get(&format!("{}/health", app.base)), (200, "ok".to_string()), "{bin}");
        let (status, body) = get(&format!("{}/api/v1/auth/config", app.base));
        assert_eq!(status, 200);
        assert!(body.contains(r#""needs_setup":true"#), "{body}");
        assert_eq!(get(&format!("{}/api/hello", app.base)).0, 401);
        assert!(dir.join("data/auth.db").exists(), "the default SQLite file is created");
    }
}

#[test]
fn seed_values_file_loads_unchanged() {
    for bin in BINARIES {
        let dir = temp_dir();
        std::fs::write(dir.join("values.yaml"), SEED).expect("write");
        let mut cmd = command(bin, &dir);
        cmd.args(["--config", "values.yaml", "--listen", "127.0.0.1:0"]);
        let app = start(cmd);
        let (status, body) = get(&format!("{}/api/v1/auth/config", app.base));
        assert_eq!(status, 200, "{bin}");
        assert!(body.contains(r#""basic_auth":{"enabled":true"#), "{body}");
        let log = app.stop();
        assert!(log.contains("OIDC_VERIFY_SSL=false"), "a loud warning at startup:\n{log}");
        assert!(!log.contains("your-client-secret") && !log.contains("at-least-32-bytes"), "no secret in logs");
    }
}

#[test]
fn config_errors_are_reported_at_once_with_paths() {
    let bad = r#"backend:
  config:
    basicAuth:
      jwtSecret: "too-short-secret"
      argon2: { memoryKib: 4096 }
    oidc:
      clientId: "id"
      clientSecret: "secret"
      discoveryUrl: "https://idp.example.com/.well-known/oauth-authorization-server"
"#;
    for bin in BINARIES {
        let dir = temp_dir();
        std::fs::write(dir.join("bad.yaml"), bad).expect("write");
        let out = command(bin, &dir).args(["--config", "bad.yaml", "--listen", "127.0.0.1:0"]).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{bin}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for path in [
            "backend.config.basicAuth.jwtSecret",
            "backend.config.basicAuth.argon2.memoryKib",
            "backend.config.oidc.discoveryUrl",
        ] {
            assert!(stderr.contains(path), "{bin}: {path} missing from:\n{stderr}");
        }
        assert!(
            stderr.contains("oauth-authorization-server") && stderr.contains(".well-known/openid-configuration"),
            "quotes value and rule"
        );
        assert!(!stderr.contains("too-short-secret"), "never prints a secret:\n{stderr}");
    }
}

#[test]
fn missing_kubernetes_secret_says_what_is_missing() {
    for bin in BINARIES {
        let dir = temp_dir();
        std::fs::write(dir.join("k8s.yaml"), "basicAuth:\n  existingSecretName: existing-basic-auth-secret\n")
            .expect("write");
        let out = command(bin, &dir).args(["--config", "k8s.yaml", "--listen", "127.0.0.1:0"]).output().expect("run");
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("basicAuth.existingSecretName"), "{stderr}");
        assert!(stderr.contains("existing-basic-auth-secret") && stderr.contains("BYOC_JWT_SECRET"), "{stderr}");

        // Injected as the environment variable, it starts.
        let mut cmd = command(bin, &dir);
        cmd.args(["--config", "k8s.yaml", "--listen", "127.0.0.1:0"])
            .env("BYOC_JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let app = start(cmd);
        assert_eq!(get(&format!("{}/health", app.base)).0, 200);
    }
}

#[test]
fn bad_flags_are_refused() {
    for bin in BINARIES {
        let out = Command::new(bin).args(["--listen", "not-an-address"]).output().expect("run");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    }
}
