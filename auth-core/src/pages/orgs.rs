//! Pages for organizations: accepting an invitation, and organization settings.

use serde_json::Value;

use super::{escape, field, layout, message, signed_in_user};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::orgs::rfc3339;
use crate::service::AuthService;
use crate::store::Role;

pub(crate) async fn invitation_page(
    service: &AuthService,
    req: &RequestView<'_>,
    token: &str,
    error: Option<&AuthError>,
) -> Result<AuthResponse, AuthError> {
    let inv = match service.pending_invitation(token).await {
        Ok(inv) => inv,
        Err(e) => {
            let html = format!(
                "<h1>Invitation</h1>{}<p><a href=\"/login\">Sign in</a></p>",
                message("error", Some(&e.message()))
            );
            return Ok(AuthResponse::html(e.status(), layout("Invitation", &html)));
        }
    };
    let user = signed_in_user(service, req).await?;
    let action = format!("/invitations/{}", escape(token));
    let form = match &user {
        Some(u) if u.email == inv.email => format!(
            r#"<form method="post" action="{action}"><button type="submit">Join {org}</button></form>"#,
            org = escape(&inv.org_name)
        ),
        Some(u) => format!(
            "<p class=\"error\">You are signed in as {}; this invitation is for another address. \
             <a href=\"/logout\">Sign out</a> first.</p>",
            escape(&u.email)
        ),
        None => format!(
            r#"<form method="post" action="{action}">
<label for="name">Your name</label><input id="name" name="name" autocomplete="name" required>
<label for="password">Choose a password (at least {min} characters)</label><input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">Create account and join</button></form>
<p class="muted">Already have an account? <a href="/login?return_to={rt}">Sign in</a> first.</p>"#,
            min = service.config().basic_auth.min_password_length,
            rt = escape(
                &url::form_urlencoded::byte_serialize(format!("/invitations/{token}").as_bytes()).collect::<String>()
            ),
        ),
    };
    let html = format!(
        "<h1>Join {org}</h1>{err}<p>You were invited as <strong>{email}</strong> (role: {role}). \
         The invitation expires {expires}.</p>{form}",
        org = escape(&inv.org_name),
        err = message("error", error.map(AuthError::message).as_deref()),
        email = escape(&inv.email),
        role = inv.role.as_str(),
        expires = escape(&rfc3339(inv.expires_at)),
    );
    Ok(AuthResponse::html(error.map_or(200, AuthError::status), layout("Invitation", &html)))
}

pub(crate) async fn invitation_post(
    service: &AuthService,
    req: &RequestView<'_>,
    token: &str,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let name = Some(field(form, "name")).filter(|n| !n.is_empty());
    let password = Some(field(form, "password")).filter(|p| !p.is_empty());
    match service.accept_invitation(req, token, name, password).await {
        Ok(s) => Ok(AuthResponse::redirect(303, "/").with_header("set-cookie", s.cookie)),
        Err(e) => invitation_page(service, req, token, Some(&e)).await,
    }
}

pub(crate) async fn organization_page(
    service: &AuthService,
    req: &RequestView<'_>,
    error: Option<&AuthError>,
    notice: Option<&str>,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(AuthResponse::redirect(303, "/login?return_to=%2Fsettings%2Forganization"));
    };
    let Some(org) = req
        .query_param("org")
        .and_then(|id| user.organizations.iter().find(|m| m.id == id))
        .or_else(|| user.organizations.first())
        .cloned()
    else {
        let html = "<h1>Organization</h1><p>You do not belong to an organization yet.</p><p><a href=\"/\">Back</a></p>";
        return Ok(AuthResponse::html(200, layout("Organization", html)));
    };
    let role = service.require_role(&user, &org.id, Role::Member).await?;
    let admin = role == Role::Admin;
    let members = service.members(&user, &org.id).await?;
    let action = format!("/settings/organization?org={}", escape(&org.id));
    let mut rows = String::new();
    for m in &members {
        let controls = if admin && m.user_id != user.id {
            let other = if m.role == Role::Admin { "member" } else { "admin" };
            format!(
                r#" <form method="post" action="{action}" style="display:inline"><input type="hidden" name="action" value="role"><input type="hidden" name="user" value="{id}"><input type="hidden" name="role" value="{other}"><button type="submit">Make {other}</button></form>
<form method="post" action="{action}" style="display:inline"><input type="hidden" name="action" value="remove"><input type="hidden" name="user" value="{id}"><button type="submit">Remove</button></form>"#,
                id = escape(&m.user_id),
            )
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<li>{name} &lt;{email}&gt; — {role}{controls}</li>",
            name = escape(&m.name),
            email = escape(&m.email),
            role = m.role.as_str()
        ));
    }
    let mut admin_html = String::new();
    if admin {
        admin_html.push_str(&format!(
            r#"<hr><h2>Invite</h2><form method="post" action="{action}"><input type="hidden" name="action" value="invite">
<label for="email">Email</label><input id="email" name="email" type="email" required>
<label for="role">Role</label><select id="role" name="role"><option value="member">member</option><option value="admin">admin</option></select>
<button type="submit">Invite</button></form>"#
        ));
        let pending = service.invitations(&user, &org.id).await?;
        if !pending.is_empty() {
            admin_html.push_str("<h2>Pending invitations</h2><ul>");
            for inv in pending {
                admin_html.push_str(&format!(
                    r#"<li>{email} — {role}, expires {exp} <form method="post" action="{action}" style="display:inline"><input type="hidden" name="action" value="revoke"><input type="hidden" name="id" value="{id}"><button type="submit">Revoke</button></form></li>"#,
                    email = escape(&inv.email),
                    role = inv.role.as_str(),
                    exp = escape(&rfc3339(inv.expires_at)),
                    id = escape(&inv.id),
                ));
            }
            admin_html.push_str("</ul>");
        }
    }
    let html = format!(
        "<h1>{org}</h1>{err}{ok}<h2>Members</h2><ul>{rows}</ul>{admin_html}<hr><p><a href=\"/\">Back</a></p>",
        org = escape(&org.name),
        err = message("error", error.map(AuthError::message).as_deref()),
        ok = notice.map(|n| format!("<div class=\"ok\">{n}</div>")).unwrap_or_default(),
    );
    Ok(AuthResponse::html(error.map_or(200, AuthError::status), layout("Organization", &html)))
}

pub(crate) async fn organization_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(AuthResponse::redirect(303, "/login?return_to=%2Fsettings%2Forganization"));
    };
    let Some(org_id) = req.query_param("org") else {
        return Err(AuthError::invalid("org", "missing"));
    };
    let role = |s: &str| Role::parse(s).ok_or_else(|| AuthError::invalid("role", "must be admin or member"));
    let outcome: Result<Option<String>, AuthError> = async {
        match field(form, "action") {
            "invite" => {
                let created = service.invite(&user, &org_id, field(form, "email"), role(field(form, "role"))?).await?;
                // Shown once; the token is never stored.
                Ok(Some(format!(
                    "Invitation created. Send this link to {}: <code>{}</code>",
                    escape(&created.record.email),
                    escape(&created.accept_url)
                )))
            }
            "revoke" => service.revoke_invitation(&user, &org_id, field(form, "id")).await.map(|()| None),
            "role" => {
                service.change_role(&user, &org_id, field(form, "user"), role(field(form, "role"))?).await.map(|_| None)
            }
            "remove" => service.remove_member(&user, &org_id, field(form, "user")).await.map(|()| None),
            _ => Err(AuthError::invalid("action", "unknown action")),
        }
    }
    .await;
    match outcome {
        Ok(notice) => organization_page(service, req, None, notice.as_deref().or(Some("Saved."))).await,
        Err(e) => organization_page(service, req, Some(&e), None).await,
    }
}
