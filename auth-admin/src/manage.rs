//! The account commands: `users`, `sessions`, `invite`, `keys`. Each one acts through
//! [`auth_core::AuthService::operator`], so it is decided and audited (source `cli`) exactly as
//! the admin console's actions are, and the running servers see its effect at once (a disabled
//! user's sessions are refused within a second).

use std::io::BufRead as _;

use auth_core::admin::{Admin, UserDetail};
use auth_core::store::{SessionId, UserRecord};
use auth_core::{AuthError, AuthService, Role};
use clap::{Args, Subcommand};
use serde_json::json;

/// `users …`
#[derive(Debug, Subcommand)]
pub enum Users {
    /// List users by email (`--query` filters on email or name).
    List {
        /// Only users whose email or name contains this.
        #[arg(long, short)]
        query: Option<String>,
        /// At most this many (1-200).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one user: organizations, verification, sessions.
    Show {
        /// The user's email.
        email: String,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Refuse the user's sign-ins and end their sessions at once.
    Disable {
        /// The user's email.
        email: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// The user's email.
        email: String,
    },
    /// Delete the user, their sessions and memberships (and organizations left empty).
    Delete {
        /// The user's email.
        email: String,
        /// Confirm: deleting cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Create an instance admin: the first admin of an empty store, or an extra one (an
    /// existing account is promoted). The password is read from stdin.
    CreateAdmin {
        /// The admin's email.
        #[arg(long)]
        email: String,
        /// Display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
        /// The organization to create on an empty store (default: "NAME's organization").
        #[arg(long)]
        org: Option<String>,
        /// Read the password from the first line of stdin (required: never an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Print a one-time password-reset link (using it ends every session of the user), or
    /// with `--password-stdin` set the password now and end them.
    ResetPassword {
        /// The user's email.
        email: String,
        /// Read the new password from the first line of stdin and set it.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `sessions …`
#[derive(Debug, Subcommand)]
pub enum Sessions {
    /// The user's live sessions, most recent first.
    List {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// End the user's sessions (all, or `--session ID`), on every instance at once.
    Revoke {
        /// The user's email.
        #[arg(long)]
        user: String,
        /// Only this session.
        #[arg(long)]
        session: Option<String>,
    },
}

/// `invite EMAIL --org ORG --role ROLE`
#[derive(Debug, Args)]
pub struct Invite {
    /// Who to invite.
    pub email: String,
    /// The organization's id or exact name (default: the instance's own).
    #[arg(long)]
    pub org: Option<String>,
    /// The role on joining.
    #[arg(long, default_value = "member", value_parser = ["admin", "member"])]
    pub role: String,
}

/// `keys …`
#[derive(Debug, Subcommand)]
pub enum Keys {
    /// A new session signing key; the old one keeps verifying until its sessions expire.
    Rotate,
}

/// What a command printed, or why it failed (`error: …`, exit status 1).
pub type Outcome = Result<String, String>;

fn failed(e: &AuthError) -> String {
    match e {
        AuthError::Unavailable => {
            "the store is unavailable (see the log above), or the command could not finish".into()
        }
        other => other.message(),
    }
}

async fn user(admin: &Admin<'_>, email: &str) -> Result<UserRecord, String> {
    admin.find(email).await.map_err(|e| failed(&e))
}

/// The first line of stdin, without its line ending.
fn password_from_stdin() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err("no password on stdin: pipe it in, e.g. `printf '%s\\n' \"$PASSWORD\" | auth-admin …`".into());
    }
    Ok(password)
}

fn detail_json(d: &UserDetail) -> serde_json::Value {
    json!({
        "id": d.user.id.as_str(),
        "email": d.user.email,
        "name": d.user.name,
        "created_at": rfc3339(d.user.created_at),
        "disabled": d.user.disabled,
        "has_password": d.user.password_hash.is_some(),
        "email_verified": d.email_verified,
        "instance_admin": d.instance_admin,
        "organizations": d.memberships.iter().map(|m| json!({"id": m.id.as_str(), "name": m.name, "role": m.role.as_str()})).collect::<Vec<_>>(),
        "sessions": d.sessions.iter().map(|s| json!({
            "id": s.id.as_str(), "created_at": rfc3339(s.created_at), "last_seen_at": rfc3339(s.last_seen_at),
            "ip": s.ip, "user_agent": s.user_agent,
        })).collect::<Vec<_>>(),
    })
}

fn rfc3339(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

fn status(u: &UserRecord) -> &'static str {
    if u.disabled { "disabled" } else { "active" }
}

/// Runs `users …`.
pub async fn users(service: &AuthService, cmd: Users) -> Outcome {
    let admin = service.operator();
    match cmd {
        Users::List { query, limit, offset, json } => {
            let page = admin.users(query.as_deref(), offset, limit).await.map_err(|e| failed(&e))?;
            if json {
                let users: Vec<_> = page
                    .users
                    .iter()
                    .map(|u| {
                        json!({"id": u.id.as_str(), "email": u.email, "name": u.name,
                            "created_at": rfc3339(u.created_at), "disabled": u.disabled,
                            "has_password": u.password_hash.is_some()})
                    })
                    .collect();
                return Ok(format!("{}\n", json!({"users": users, "total": page.total})));
            }
            let mut out = String::new();
            for u in &page.users {
                out.push_str(&format!("{}  {}  {}  {}\n", u.email, status(u), u.name, u.id));
            }
            let shown = page.users.len();
            out.push_str(&format!("{shown} of {} user(s)\n", page.total));
            Ok(out)
        }
        Users::Show { email, json } => {
            let u = user(&admin, &email).await?;
            let d = admin.detail(&u.id).await.map_err(|e| failed(&e))?;
            if json {
                return Ok(format!("{}\n", detail_json(&d)));
            }
            let mut out = format!(
                "{}\n  id: {}\n  name: {}\n  status: {}\n  created: {}\n  password: {}\n  email verified: {}\n  instance admin: {}\n",
                d.user.email,
                d.user.id,
                d.user.name,
                status(&d.user),
                rfc3339(d.user.created_at),
                if d.user.password_hash.is_some() { "yes" } else { "no (signs in through SSO)" },
                if d.email_verified { "yes" } else { "no" },
                if d.instance_admin { "yes" } else { "no" },
            );
            out.push_str("  organizations:\n");
            for m in &d.memberships {
                out.push_str(&format!("    {} ({}) {}\n", m.name, m.id, m.role.as_str()));
            }
            out.push_str(&format!("  live sessions: {}\n", d.sessions.len()));
            Ok(out)
        }
        Users::Disable { email } => {
            let u = user(&admin, &email).await?;
            let ended = admin.disable(&u.id).await.map_err(|e| failed(&e))?;
            Ok(format!("{} is disabled; {ended} session(s) ended\n", u.email))
        }
        Users::Enable { email } => {
            let u = user(&admin, &email).await?;
            admin.enable(&u.id).await.map_err(|e| failed(&e))?;
            Ok(format!("{} may sign in again\n", u.email))
        }
        Users::Delete { email, yes } => {
            if !yes {
                return Err(format!("deleting {email} cannot be undone: add --yes to confirm"));
            }
            let u = user(&admin, &email).await?;
            admin.delete(&u.id).await.map_err(|e| failed(&e))?;
            Ok(format!("{} is deleted\n", u.email))
        }
        Users::CreateAdmin { email, name, org, password_stdin: _ } => {
            let password = password_from_stdin()?;
            let d =
                admin.create_admin(&email, name.as_deref(), org.as_deref(), &password).await.map_err(|e| failed(&e))?;
            let orgs: Vec<String> = d.memberships.iter().map(|m| format!("{} ({})", m.name, m.role.as_str())).collect();
            Ok(format!("{} is an instance admin: {}\n", d.user.email, orgs.join(", ")))
        }
        Users::ResetPassword { email, password_stdin } => {
            let u = user(&admin, &email).await?;
            if password_stdin {
                let password = password_from_stdin()?;
                let ended = admin.set_password(&u.id, &password).await.map_err(|e| failed(&e))?;
                return Ok(format!("the password of {} is set; {ended} session(s) ended\n", u.email));
            }
            let link = admin.reset_link(&u.id).await.map_err(|e| failed(&e))?;
            let ttl = service.config().basic_auth.password_reset_ttl.as_secs() / 60;
            Ok(format!("{link}\n(one use, valid for {ttl} minutes: send it to {} yourself)\n", u.email))
        }
    }
}

/// Runs `sessions …`.
pub async fn sessions(service: &AuthService, cmd: Sessions) -> Outcome {
    let admin = service.operator();
    match cmd {
        Sessions::List { user: email, json } => {
            let u = user(&admin, &email).await?;
            let d = admin.detail(&u.id).await.map_err(|e| failed(&e))?;
            if json {
                return Ok(format!("{}\n", detail_json(&d)["sessions"]));
            }
            let mut out = String::new();
            for s in &d.sessions {
                out.push_str(&format!(
                    "{}  signed in {}  last seen {}  {}  {}\n",
                    s.id,
                    rfc3339(s.created_at),
                    rfc3339(s.last_seen_at),
                    s.ip.as_deref().unwrap_or("-"),
                    s.user_agent.as_deref().unwrap_or("-"),
                ));
            }
            out.push_str(&format!("{} live session(s) of {}\n", d.sessions.len(), u.email));
            Ok(out)
        }
        Sessions::Revoke { user: email, session } => {
            let u = user(&admin, &email).await?;
            match session {
                Some(id) => {
                    admin.end_session(&u.id, &SessionId::new(id)).await.map_err(|e| failed(&e))?;
                    Ok(format!("the session of {} ended\n", u.email))
                }
                None => {
                    let ended = admin.end_sessions(&u.id).await.map_err(|e| failed(&e))?;
                    Ok(format!("{ended} session(s) of {} ended\n", u.email))
                }
            }
        }
    }
}

/// Runs `invite`.
pub async fn invite(service: &AuthService, cmd: Invite) -> Outcome {
    let role = Role::parse(&cmd.role).ok_or_else(|| format!("unknown role {:?}: use admin or member", cmd.role))?;
    let inv = service.operator().invite(&cmd.email, cmd.org.as_deref(), role).await.map_err(|e| failed(&e))?;
    let delivery = match inv.delivery {
        auth_core::Delivery::Sent => "mailed",
        auth_core::Delivery::Failed => "NOT mailed (the mail server refused it; see the log): send the link yourself",
        auth_core::Delivery::NotConfigured => "not mailed (no smtp configured): send the link yourself",
    };
    Ok(format!(
        "{}\n(invites {} to {} as {}, until {}; {delivery})\n",
        inv.accept_url,
        inv.record.email,
        inv.record.org_name,
        inv.record.role.as_str(),
        rfc3339(inv.record.expires_at)
    ))
}

/// Runs `keys …`.
pub async fn keys(service: &AuthService, cmd: Keys) -> Outcome {
    match cmd {
        Keys::Rotate => {
            service.operator().rotate_signing_key().await.map_err(|e| failed(&e))?;
            let hours = service.config().session.absolute_timeout.as_secs() / 3600;
            Ok(format!(
                "a new session signing key signs from now on (every instance within a minute); the previous one \
                 keeps verifying for {hours} h, until the sessions made with it expire\n"
            ))
        }
    }
}
