//! A throwaway PostgreSQL cluster (Debian's `postgresql` package, see RECIPES): `initdb` in a
//! temporary folder as the unprivileged user `pgtest`, a loopback port, stopped by its PID.
//!
//! [`shared`] starts one cluster per test process on first use; a watchdog stops it by its PID
//! when the process ends. [`Cluster::start`] gives a test a cluster of its own (to stop it and
//! start it again: "the database goes down"). `./scripts/test.sh` installs the package; if it
//! is missing the harness panics saying so — a PostgreSQL test is never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const USER: &str = "pgtest";

/// A running cluster.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    pid: std::sync::Mutex<Option<u32>>,
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run ./scripts/test.sh, which installs Debian's postgresql")
    })
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_user(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", USER, "--"]).arg(program);
    c
}

fn ensure_user() {
    let known = Command::new("id").arg(USER).output().is_ok_and(|o| o.status.success());
    if !known {
        // A second test process may have created it meanwhile: only its existence matters.
        let _ = Command::new("useradd").args(["--system", "--user-group", "--no-create-home", USER]).status();
    }
}

impl Cluster {
    /// Initializes and starts a new cluster.
    pub fn start() -> Self {
        let bin = bin_dir();
        ensure_user();
        let dir = std::env::temp_dir().join(format!("auth-pg-{}-{}", std::process::id(), crate::free_port()));
        std::fs::create_dir_all(dir.join("sock")).expect("cluster dir");
        run(Command::new("chown").args(["-R", &format!("{USER}:{USER}")]).arg(&dir));
        run(as_user(&bin.join("initdb")).arg("-D").arg(dir.join("data")).args([
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ]));
        let cluster = Self { dir, bin, port: crate::free_port(), pid: std::sync::Mutex::new(None) };
        cluster.resume();
        cluster
    }

    /// Starts the (stopped) cluster again on the same data and port.
    pub fn resume(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
            self.port,
            self.dir.join("sock").display()
        );
        run(as_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .args(["-w", "-o", &options, "start"]));
        let pid_file = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).expect("postmaster.pid");
        let pid: u32 = pid_file.lines().next().and_then(|l| l.trim().parse().ok()).expect("a PID in postmaster.pid");
        *self.pid.lock().expect("pid") = Some(pid);
    }

    /// Stops the cluster (fast shutdown: connections are cut) by its postmaster's PID and
    /// waits until it is gone.
    pub fn stop(&self) {
        let Some(pid) = self.pid.lock().expect("pid").take() else { return };
        let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new, empty database; its sqlx URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        run(as_user(&self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            USER,
            &name,
        ]));
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the cluster when process `parent` ends (a test binary's statics are never
    /// dropped), then removes its folder.
    fn watch(&self, parent: u32) {
        let pid = self.pid.lock().expect("pid").unwrap_or(0);
        let script = "while kill -0 \"$0\" 2>/dev/null; do sleep 0.5; done; kill -INT \"$1\"; \
                      while kill -0 \"$1\" 2>/dev/null; do sleep 0.1; done; rm -rf \"$2\"";
        let _ = Command::new("sh")
            .args(["-c", script, &parent.to_string(), &pid.to_string()])
            .arg(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster this test process shares, started on first use.
pub fn shared() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let c = Cluster::start();
        c.watch(std::process::id());
        c
    })
}

/// A fresh database on the shared cluster.
pub fn fresh_db() -> String {
    shared().database()
}

/// Whether this run puts every scenario on PostgreSQL (`AUTH_TEST_STORE=postgres`, the second
/// pass of `./scripts/test.sh`).
pub fn selected() -> bool {
    std::env::var("AUTH_TEST_STORE").is_ok_and(|v| v == "postgres")
}
