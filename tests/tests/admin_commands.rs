//! `auth-admin`'s account commands, run as the real binary against the store of a running
//! server: each one changes what the HTTP API then sees.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use auth_tests::{Adapter, PASSWORD, SECRET, StatusCode, TestServer, both, json};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_auth-admin-under-test");

both!(
    create_admin_on_an_empty_store,
    disable_enable_and_delete,
    reset_password_link_and_stdin,
    sessions_list_and_revoke,
    invite_prints_a_working_link,
    keys_rotate_needs_a_stored_secret,
);

/// The servers' config, with the server's own store and public URL.
fn config(s: &TestServer, secret: bool) -> String {
    let secret = if secret { format!("  jwtSecret: \"{SECRET}\"\n") } else { String::new() };
    format!("publicUrl: {}\ndatabase:\n  url: \"{}\"\nbasicAuth:\n  signup: open\n{secret}", s.base, s.db_url)
}

fn yaml(secret: bool) -> String {
    let secret = if secret { format!("  jwtSecret: \"{SECRET}\"\n") } else { String::new() };
    format!("basicAuth:\n  signup: open\n{secret}")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `auth-admin --config FILE args…` with `stdin`, killed by its pid after 60 s.
fn admin(config: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let dir = auth_tests::temp_dir("admin", "commands");
    let file = dir.join("config.yaml");
    std::fs::write(&file, config).expect("config");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("auth-admin");
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("auth-admin {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "the secret was printed");
    run
}

fn ok(run: &Run) -> &str {
    assert_eq!(run.code, 0, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    &run.stdout
}

async fn hello_becomes(s: &TestServer, token: &str, want: StatusCode) {
    let start = Instant::now();
    loop {
        let got = s.get("/api/hello", Some(token)).await.status();
        if got == want {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(2), "/api/hello still {got} after 2 s, wanted {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn login_status(s: &TestServer, email: &str, password: &str) -> StatusCode {
    s.post("/api/v1/auth/login", serde_json::json!({"email": email, "password": password}), None).await.status()
}

async fn create_admin_on_an_empty_store(a: Adapter) {
    let s = TestServer::start(a, &yaml(true)).await;
    let cfg = config(&s, true);
    // The password never comes from an argument.
    let r = admin(&cfg, &["users", "create-admin", "--email", "root@example.com"], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--password-stdin"), "{}", r.stderr);
    let r = admin(&cfg, &["users", "create-admin", "--email", "root@example.com", "--password-stdin"], Some("short\n"));
    assert_eq!(r.code, 1, "a weak password is refused: {}", r.stdout);
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    let r = admin(
        &cfg,
        &["users", "create-admin", "--email", "root@example.com", "--org", "Ops", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok(&r).contains("root@example.com is an instance admin: Ops (admin)"), "{}", r.stdout);
    let token = s.login("root@example.com", PASSWORD).await;
    assert_eq!(s.get("/api/v1/auth/admin/users", Some(&token)).await.status(), StatusCode::OK, "an instance admin");
    let cfg_json = json(s.get("/api/v1/auth/config", None).await).await;
    assert_eq!(cfg_json["needs_setup"], false, "setup is done");
    // A second one joins the instance's organization as admin.
    let r = admin(
        &cfg,
        &["users", "create-admin", "--email", "second@example.com", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(ok(&r).contains("Ops (admin)"), "{}", r.stdout);
    let second = s.login("second@example.com", PASSWORD).await;
    assert_eq!(s.get("/api/v1/auth/admin/users", Some(&second)).await.status(), StatusCode::OK);
    let list = admin(&cfg, &["users", "list", "--json"], None);
    let list: Value = serde_json::from_str(ok(&list)).expect("json");
    assert_eq!(list["total"], 2);
    // The audit log names the command line as the source.
    let audit = json(s.get("/api/v1/auth/admin/audit", Some(&token)).await).await;
    let created: Vec<&Value> =
        audit["events"].as_array().expect("events").iter().filter(|e| e["event"] == "instance_admin_created").collect();
    assert_eq!(created.len(), 2, "{audit}");
    assert!(created.iter().all(|e| e["source"] == "cli"));
}

async fn disable_enable_and_delete(a: Adapter) {
    let s = TestServer::start(a, &yaml(true)).await;
    let cfg = config(&s, true);
    s.signup("boss@example.com").await;
    let bob = s.signup("bob@example.com").await;
    assert_eq!(s.get("/api/hello", Some(&bob)).await.status(), StatusCode::OK);
    let r = admin(&cfg, &["users", "disable", "bob@example.com"], None);
    assert!(ok(&r).contains("bob@example.com is disabled; 1 session(s) ended"), "{}", r.stdout);
    hello_becomes(&s, &bob, StatusCode::UNAUTHORIZED).await;
    assert_eq!(login_status(&s, "bob@example.com", PASSWORD).await, StatusCode::FORBIDDEN);
    let show: Value =
        serde_json::from_str(ok(&admin(&cfg, &["users", "show", "bob@example.com", "--json"], None))).expect("json");
    assert_eq!(show["disabled"], true);
    assert_eq!(show["instance_admin"], false);
    assert_eq!(show["sessions"].as_array().map(Vec::len), Some(0));
    ok(&admin(&cfg, &["users", "enable", "bob@example.com"], None));
    assert_eq!(login_status(&s, "bob@example.com", PASSWORD).await, StatusCode::OK);
    // Delete asks for --yes, then the account is gone.
    let r = admin(&cfg, &["users", "delete", "bob@example.com"], None);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(login_status(&s, "bob@example.com", PASSWORD).await, StatusCode::OK, "not deleted without --yes");
    ok(&admin(&cfg, &["users", "delete", "bob@example.com", "--yes"], None));
    assert_eq!(login_status(&s, "bob@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED);
    // Unknown users and bad addresses are clear errors.
    let r = admin(&cfg, &["users", "disable", "nobody@example.com"], None);
    assert_eq!((r.code, r.stderr.trim()), (1, "error: no such user"));
    let r = admin(&cfg, &["users", "show", "not an email"], None);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("email"), "{}", r.stderr);
}

async fn reset_password_link_and_stdin(a: Adapter) {
    let s = TestServer::start(a, &yaml(true)).await;
    let cfg = config(&s, true);
    s.signup("boss@example.com").await;
    let bob = s.signup("bob@example.com").await;
    let r = admin(&cfg, &["users", "reset-password", "bob@example.com"], None);
    let link = ok(&r).lines().next().expect("link").to_string();
    assert!(link.starts_with(&format!("{}/reset-password?token=", s.base)), "{link}");
    let token = link.rsplit('=').next().expect("token");
    let new = "another long passphrase here";
    let reset =
        s.post("/api/v1/auth/password/reset", serde_json::json!({"token": token, "new_password": new}), None).await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    hello_becomes(&s, &bob, StatusCode::UNAUTHORIZED).await;
    assert_eq!(login_status(&s, "bob@example.com", new).await, StatusCode::OK);
    // Or set it directly from stdin.
    let third = "a third long passphrase";
    let r =
        admin(&cfg, &["users", "reset-password", "bob@example.com", "--password-stdin"], Some(&format!("{third}\n")));
    assert!(ok(&r).contains("the password of bob@example.com is set"), "{}", r.stdout);
    assert!(!r.stdout.contains(third));
    assert_eq!(login_status(&s, "bob@example.com", new).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_status(&s, "bob@example.com", third).await, StatusCode::OK);
}

async fn sessions_list_and_revoke(a: Adapter) {
    let s = TestServer::start(a, &yaml(true)).await;
    let cfg = config(&s, true);
    s.signup("boss@example.com").await;
    let one = s.signup("bob@example.com").await;
    let two = s.login("bob@example.com", PASSWORD).await;
    s.get("/api/hello", Some(&one)).await;
    let list: Value =
        serde_json::from_str(ok(&admin(&cfg, &["sessions", "list", "--user", "bob@example.com", "--json"], None)))
            .expect("json");
    let ids: Vec<&str> = list.as_array().expect("list").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids.len(), 2, "{list}");
    // One session, then the rest.
    let mine = json(s.get("/api/v1/auth/me/sessions", Some(&one)).await).await;
    let one_id = mine.as_array().expect("sessions").iter().find(|x| x["current"] == true).expect("current")["id"]
        .as_str()
        .expect("id")
        .to_string();
    ok(&admin(&cfg, &["sessions", "revoke", "--user", "bob@example.com", "--session", &one_id], None));
    hello_becomes(&s, &one, StatusCode::UNAUTHORIZED).await;
    assert_eq!(s.get("/api/hello", Some(&two)).await.status(), StatusCode::OK);
    let r = admin(&cfg, &["sessions", "revoke", "--user", "bob@example.com"], None);
    assert!(ok(&r).contains("1 session(s) of bob@example.com ended"), "{}", r.stdout);
    hello_becomes(&s, &two, StatusCode::UNAUTHORIZED).await;
}

async fn invite_prints_a_working_link(a: Adapter) {
    let s = TestServer::start(a, &yaml(true)).await;
    let cfg = config(&s, true);
    s.signup("boss@example.com").await;
    let r = admin(&cfg, &["invite", "new@example.com", "--org", "Acme", "--role", "admin"], None);
    let link = ok(&r).lines().next().expect("link").to_string();
    assert!(r.stdout.contains("not mailed (no smtp configured)"), "{}", r.stdout);
    let token = link.rsplit('/').next().expect("token");
    let inv = json(s.get(&format!("/api/v1/auth/invitations/{token}"), None).await).await;
    assert_eq!((inv["email"].as_str(), inv["organization"]["name"].as_str()), (Some("new@example.com"), Some("Acme")));
    let r = s
        .post(
            &format!("/api/v1/auth/invitations/{token}/accept"),
            serde_json::json!({"name": "New", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body = json(r).await;
    assert_eq!(body["organizations"][0]["role"], "admin");
    let r = admin(&cfg, &["invite", "x@example.com", "--org", "No Such Org"], None);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no organization"), "{}", r.stderr);
    let r = admin(&cfg, &["invite", "x@example.com", "--role", "owner"], None);
    assert_eq!(r.code, 2, "clap refuses the role: {}", r.stderr);
}

async fn keys_rotate_needs_a_stored_secret(a: Adapter) {
    // A configured secret is rotated in the config.
    let s = TestServer::start(a, &yaml(true)).await;
    let r = admin(&config(&s, true), &["keys", "rotate"], None);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("previousJwtSecrets"), "{}", r.stderr);
    // A stored one rotates; sessions made before keep working.
    let s = TestServer::start(a, &yaml(false)).await;
    let before = s.signup("boss@example.com").await;
    let r = admin(&config(&s, false), &["keys", "rotate"], None);
    assert!(ok(&r).contains("a new session signing key"), "{}", r.stdout);
    assert_eq!(s.get("/api/hello", Some(&before)).await.status(), StatusCode::OK);
    let audit = json(s.get("/api/v1/auth/admin/audit", Some(&before)).await).await;
    assert_eq!(audit["events"][0]["event"], "signing_key_rotated", "{audit}");
    assert_eq!(audit["events"][0]["source"], "cli");
}
