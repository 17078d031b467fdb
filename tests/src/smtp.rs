//! The real SMTP sink (aiosmtpd, `support/smtp_sink.py`) on a loopback port: each mail lands
//! in its folder as `1.eml`, `2.eml`, ...

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SMTP sink, stopped by its own pid when dropped.
pub struct Sink {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Where the mails land.
    pub dir: PathBuf,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the sink.
pub fn start_sink() -> Sink {
    let port = crate::free_port();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("auth-smtp-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp_sink.py");
    let mut child = Command::new("python3")
        .args([script, "--port", &port.to_string(), "--dir"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 with aiosmtpd (pip install -r tests/support/requirements.txt)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("sink output");
    assert_eq!(line.trim(), "ready", "the SMTP sink did not start (is aiosmtpd installed?)");
    Sink { child, port, dir }
}

/// The YAML `smtp` section for the sink.
pub fn smtp_yaml(port: u16) -> String {
    format!(
        "smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n  from: \"Acme <noreply@example.com>\"\n  timeout: 5s\n"
    )
}

impl Sink {
    /// How many mails arrived so far.
    pub fn count(&self) -> usize {
        (1..).take_while(|n| self.dir.join(format!("{n}.eml")).exists()).count()
    }

    /// Waits (at most 10 s) for mail number `n` and returns it, with quoted-printable soft line
    /// breaks removed so that links read whole.
    pub async fn mail(&self, n: usize) -> String {
        let path = self.dir.join(format!("{n}.eml"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(Instant::now() < deadline, "mail {n} did not reach the SMTP sink");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mail = std::fs::read_to_string(&path).expect("mail");
        mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
    }
}

impl Sink {
    /// The token of the first link to `base` + `page` (`/reset-password`, `/verify-email`) in
    /// the mails to `to`; waits for them like [`mail`](Self::mail), at most 20 mails.
    pub async fn token_for(&self, base: &str, to: &str, page: &str) -> String {
        for n in 1..=20 {
            let mail = self.mail(n).await;
            if mail.contains(&format!("X-Rcpt-To: {to}")) && mail.contains(&format!("{base}{page}?token=")) {
                let url = link(&mail, &format!("{base}{page}?token="));
                return url.rsplit("token=").next().expect("token").to_string();
            }
        }
        panic!("no {page} mail for {to}");
    }
}

/// The first URL in `mail` that starts with `prefix`.
pub fn link(mail: &str, prefix: &str) -> String {
    let start = mail.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {mail}"));
    mail[start..].chars().take_while(|c| !c.is_whitespace()).collect()
}
