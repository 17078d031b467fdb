//! The built-in pages in a real browser: `tests/browser/workflow.mjs` (Chromium through
//! playwright-core) drives the whole sign-up / sign-in / settings / invitation / SSO workflow
//! against each example binary, with the real test IdP. `./scripts/test.sh` installs Chromium
//! and the npm packages.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use auth_tests::{Adapter, IDP_CLIENT_ID, IDP_CLIENT_SECRET, Idp, Proc, free_port, temp_dir};

const CHROMIUM: &str = "/usr/bin/chromium";
const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/browser");
/// Bound on the server's startup (the "listening on" line).
const STARTUP: Duration = Duration::from_secs(30);
/// Bound on one whole workflow run (node kills itself earlier, at 200 s).
const WORKFLOW: Duration = Duration::from_secs(240);

/// One browser run at a time: the machine has two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn require_tools() {
    let hint = "run ./scripts/test.sh once: it installs Debian's chromium and the npm packages of tests/browser";
    assert!(Path::new(CHROMIUM).exists(), "{CHROMIUM} is missing: {hint}");
    for pkg in ["playwright-core", "axe-core"] {
        assert!(
            Path::new(BROWSER_DIR).join("node_modules").join(pkg).exists(),
            "tests/browser/node_modules/{pkg} is missing: {hint}"
        );
    }
}

/// What a child wrote to one pipe, read on a thread as it arrives.
struct Drain {
    text: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

fn drain(mut pipe: impl Read + Send + 'static) -> Drain {
    let text = Arc::new(Mutex::new(Vec::new()));
    let (tx, done) = mpsc::channel();
    let sink = Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(&buf[..n]);
        }
        let _ = tx.send(());
    });
    Drain { text, done }
}

impl Drain {
    /// Everything read so far, after waiting (bounded) for the end of the pipe.
    fn collect(&self) -> String {
        let _ = self.done.recv_timeout(Duration::from_secs(5));
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

fn workflow(adapter: Adapter) {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    require_tools();
    let (bin, name) = match adapter {
        Adapter::Axum => (env!("CARGO_BIN_EXE_axum-app-under-test"), "axum"),
        Adapter::Actix => (env!("CARGO_BIN_EXE_actix-app-under-test"), "actix"),
    };
    let app_port = free_port();
    let app_base = format!("http://127.0.0.1:{app_port}");
    let idp_port = free_port();
    let idp = Idp::start(idp_port, &app_base, "RS256");

    let dir = temp_dir("browser", name);
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "publicUrl: \"{app_base}\"\n\
             database:\n  url: \"sqlite://{db}\"\n\
             basicAuth:\n  enabled: true\n\
             ui:\n  productName: \"Acme Portal\"\n  accentColor: \"#0f766e\"\n\
             oidc:\n  displayName: \"Test IdP\"\n  clientId: {IDP_CLIENT_ID}\n  clientSecret: {IDP_CLIENT_SECRET}\n  \
             discoveryUrl: \"{issuer}/.well-known/openid-configuration\"\n",
            db = dir.join("auth.db").display(),
            issuer = idp.issuer,
        ),
    )
    .expect("write config");

    let mut server = Command::new(bin)
        .current_dir(&dir)
        .args(["--config".as_ref(), config.as_os_str()])
        .args(["--listen", &format!("127.0.0.1:{app_port}")])
        .env_remove("AUTH_CONFIG")
        .env_remove("AUTH_DATABASE_URL")
        .env_remove("AUTH_JWT_SECRET")
        .env_remove("BYOC_JWT_SECRET")
        .env_remove("OIDC_VERIFY_SSL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the example server");
    let server_err = drain(server.stderr.take().expect("stderr"));
    let stdout = server.stdout.take().expect("stdout");
    let server = Proc(server);

    // The "listening on" line, within a bounded wait; the rest of stdout is drained.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if line.contains("listening on") {
                let _ = tx.send(line);
                break;
            }
        }
        lines.for_each(drop);
    });
    if rx.recv_timeout(STARTUP).is_err() {
        drop(server);
        panic!(
            "{name}: the server did not print \"listening on\" within {STARTUP:?}; stderr:\n{}",
            server_err.collect()
        );
    }

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser").join(name);
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("screenshot dir");

    let started = Instant::now();
    let mut node = Command::new("node")
        .current_dir(BROWSER_DIR)
        .arg("workflow.mjs")
        .args(["--base", &app_base, "--idp", &idp.issuer, "--name", name])
        .args(["--out".as_ref(), out.as_os_str()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn node");
    let node_out = drain(node.stdout.take().expect("stdout"));
    let node_err = drain(node.stderr.take().expect("stderr"));
    let mut node = Proc(node);
    let status = loop {
        if let Some(status) = node.0.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > WORKFLOW {
            let _ = node.0.kill();
            let _ = node.0.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = started.elapsed();
    let output = format!("{}{}", node_out.collect(), node_err.collect());
    drop(node);
    drop(server);
    drop(idp);
    let server_log = server_err.collect();

    match status {
        Some(s) if s.success() => {
            println!("--- browser workflow on {name} ({:.1} s) ---\n{output}", elapsed.as_secs_f64())
        }
        Some(s) => panic!(
            "browser workflow on {name} failed ({s}) after {:.1} s; screenshots in {}\n--- workflow output ---\n{output}\n--- server stderr ---\n{server_log}",
            elapsed.as_secs_f64(),
            out.display()
        ),
        None => panic!(
            "browser workflow on {name} did not finish within {WORKFLOW:?} (node was killed); screenshots in {}\n--- workflow output ---\n{output}\n--- server stderr ---\n{server_log}",
            out.display()
        ),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn browser_workflow_axum() {
    workflow(Adapter::Axum);
}

#[test]
fn browser_workflow_actix() {
    workflow(Adapter::Actix);
}
