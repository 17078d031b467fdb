//! The admin console (`/settings/admin`): users, organizations and recent audit events, for
//! instance admins. Every action goes through [`crate::admin::Admin`], which audits it.

use serde_json::Value;

use super::orgs::human_time;
use super::view::{
    AdminDeletePage, AdminOrgRow, AdminPage, AdminUserRow, AuditRow, Field, Form, InviteLink, Link, MessagePage,
    Section,
};
use super::{field, signed_in_user, to_login, with_query};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::service::AuthService;
use crate::store::{SessionId, UserId};

const PATH: &str = "/settings/admin";
/// Users per page.
const PER_PAGE: u32 = 50;
/// Audit events shown.
const EVENTS: u32 = 50;

/// What the last form on the console did, to show with the page.
pub(crate) enum Outcome<'a> {
    /// A password-reset link was made: shown once, on this response (never stored, never put
    /// in a URL).
    ResetLink(String, String),
    /// A form failed.
    Failed(&'a AuthError),
}

/// The search and offset the page was opened with, carried by its forms and links.
fn state(req: &RequestView<'_>) -> (String, u32) {
    let q = req.query_param("q").map(|q| q.trim().to_string()).unwrap_or_default();
    let offset = req.query_param("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    (q, offset)
}

fn page_url(q: &str, offset: u32, notice: Option<&str>) -> String {
    let offset = offset.to_string();
    let mut params = Vec::new();
    if !q.is_empty() {
        params.push(("q", q));
    }
    if offset != "0" {
        params.push(("offset", offset.as_str()));
    }
    if let Some(n) = notice {
        params.push(("notice", n));
    }
    with_query(PATH, &params)
}

/// An id as people scan it: its first eight characters.
fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// The page for someone who is not an instance admin.
fn forbidden(
    service: &AuthService,
    req: &RequestView<'_>,
    user: &crate::session::CurrentUser,
    e: &AuthError,
) -> AuthResponse {
    let mut c = service.chrome(req, "Admin", Some(user));
    c.error = Some(super::view::human(e));
    c.notice = None;
    let page = MessagePage { c, text: None, link: Link { href: "/".into(), text: "Back to the app".into() } };
    service.page(e.status(), &page)
}

pub(crate) async fn admin_page(
    service: &AuthService,
    req: &RequestView<'_>,
    outcome: Option<Outcome<'_>>,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login(PATH));
    };
    let admin = match service.admin_as(&user).await {
        Ok(a) => a,
        Err(e @ AuthError::Forbidden(_)) => return Ok(forbidden(service, req, &user, &e)),
        Err(e) => return Err(e),
    };
    let (q, offset) = state(req);
    let mut c = service.chrome(req, "Admin", Some(&user));
    c.section = Section::Admin;
    c.wide = true;
    if let Some(nav) = c.nav.as_mut() {
        nav.instance_admin = true;
    }
    let error = match &outcome {
        Some(Outcome::Failed(e)) => Some(*e),
        _ => None,
    };
    if error.is_some() {
        c.notice = None;
    }
    // A search that is refused shows its error beside the field, and the first page of all.
    let (found, search_error) = match admin.users(Some(&q), offset, PER_PAGE).await {
        Ok(p) => (p, None),
        Err(e @ AuthError::InvalidRequest { .. }) => (admin.users(None, 0, PER_PAGE).await?, Some(e)),
        Err(e) => return Err(e),
    };
    let search_field = Field::new("q", "q", "Search users", "search")
        .value(&q)
        .autocomplete("off")
        .optional()
        .hint("Part of an email address or a name.");
    let (search, search_summary) = Form::new(PATH, vec![search_field], search_error.as_ref());
    c.error = error.map(super::view::human).or(search_summary);
    let (q, offset) = if search_error.is_some() { (String::new(), 0) } else { (q, offset) };

    let mut users = Vec::with_capacity(found.users.len());
    for u in &found.users {
        let d = admin.detail(&u.id).await?;
        users.push(AdminUserRow {
            id: u.id.to_string(),
            email: u.email.clone(),
            name: u.name.clone(),
            disabled: u.disabled,
            verified: d.email_verified,
            instance_admin: d.instance_admin,
            password: u.password_hash.is_some(),
            sessions: d.sessions.len(),
            created: human_time(u.created_at),
            is_you: u.id == user.id,
        });
    }
    let shown = found.users.len() as u64;
    let range = if shown == 0 {
        format!("No user matches (of {} in all).", found.total)
    } else {
        format!("{}–{} of {}", u64::from(offset) + 1, u64::from(offset) + shown, found.total)
    };
    let prev = (offset > 0).then(|| page_url(&q, offset.saturating_sub(PER_PAGE), None));
    let next = (u64::from(offset) + shown < found.total).then(|| page_url(&q, offset + PER_PAGE, None));

    let orgs = admin
        .organizations()
        .await?
        .into_iter()
        .map(|o| AdminOrgRow { name: o.organization.name, members: o.members, instance: o.instance })
        .collect();
    let records = admin.audit_events(None, EVENTS).await?;
    let ids: Vec<UserId> =
        records.iter().flat_map(|r| [r.event.actor_id.clone(), r.event.user_id.clone()]).flatten().collect();
    let emails = admin.emails(&ids).await?;
    let who = |id: &Option<UserId>| match id {
        Some(id) => emails.get(id).cloned().unwrap_or_else(|| short(id)),
        None => String::new(),
    };
    let events = records
        .iter()
        .map(|r| AuditRow {
            at: human_time(r.event.at),
            event: r.event.event.clone(),
            source: r.event.source.as_str(),
            actor: who(&r.event.actor_id),
            user: who(&r.event.user_id),
        })
        .collect();
    let reset_link = match outcome {
        Some(Outcome::ResetLink(email, url)) => Some(InviteLink {
            label: "Password-reset link",
            text: format!("Password-reset link created for {email}. Give it to them; it works once."),
            url,
        }),
        _ => None,
    };
    let page = AdminPage {
        c,
        action: page_url(&q, offset, None),
        search,
        query: q,
        users,
        range,
        prev,
        next,
        orgs,
        events,
        reset_link,
        copy_script: crate::assets::COPY_SCRIPT,
    };
    Ok(service.page(error.or(search_error.as_ref()).map_or(200, AuthError::status), &page))
}

pub(crate) async fn admin_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login(PATH));
    };
    let admin = match service.admin_as(&user).await {
        Ok(a) => a,
        Err(e @ AuthError::Forbidden(_)) => return Ok(forbidden(service, req, &user, &e)),
        Err(e) => return Err(e),
    };
    let (q, offset) = state(req);
    let id = UserId::new(field(form, "user"));
    let result = match field(form, "action") {
        "disable" => admin.disable(&id).await.map(|_| "user-disabled"),
        "enable" => admin.enable(&id).await.map(|()| "user-enabled"),
        "end-sessions" => admin.end_sessions(&id).await.map(|_| "user-sessions-ended"),
        "end-session" => {
            admin.end_session(&id, &SessionId::new(field(form, "session"))).await.map(|()| "user-sessions-ended")
        }
        "reset-link" => match admin.reset_link(&id).await {
            // Rendered on this response (200), not redirected: the link is stored nowhere and
            // never put in a URL.
            Ok(url) => {
                let email = admin.detail(&id).await.map(|d| d.user.email).unwrap_or_default();
                return admin_page(service, req, Some(Outcome::ResetLink(email, url))).await;
            }
            Err(e) => Err(e),
        },
        "delete" if field(form, "confirm") == "yes" => admin.delete(&id).await.map(|()| "user-deleted"),
        "delete" => match admin.detail(&id).await {
            // The confirmation step, a page of its own (no script needed).
            Ok(d) => {
                let mut c = service.chrome(req, "Delete user", Some(&user));
                c.section = Section::Admin;
                c.notice = None;
                if let Some(nav) = c.nav.as_mut() {
                    nav.instance_admin = true;
                }
                let page = AdminDeletePage {
                    c,
                    action: page_url(&q, offset, None),
                    id: d.user.id.to_string(),
                    email: d.user.email,
                    name: d.user.name,
                    cancel: page_url(&q, offset, None),
                };
                return Ok(service.page(200, &page));
            }
            Err(e) => Err(e),
        },
        _ => Err(AuthError::invalid("action", "unknown action")),
    };
    match result {
        Ok(notice) => Ok(AuthResponse::redirect(303, &page_url(&q, offset, Some(notice)))),
        Err(e) => admin_page(service, req, Some(Outcome::Failed(&e))).await,
    }
}
