//! Pages for organizations: accepting an invitation, and organization settings.

use serde_json::Value;

use super::view::{
    Field, Form, InvitationMode, InvitationPage, InvitationView, InviteLink, MemberRow, OrgLink, OrganizationPage,
    PendingRow, Section,
};
use super::{field, signed_in_user, to_login, with_query};
use crate::error::AuthError;
use crate::http::{AuthResponse, RequestView};
use crate::orgs::Delivery;
use crate::service::AuthService;
use crate::store::{InvitationId, OrgId, Role, UserId};

/// A timestamp as people read it: `8 Dec 2026, 14:05 UTC`.
pub(crate) fn human_time(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(t) => {
            let month = &format!("{:?}", t.month())[..3];
            format!("{} {month} {}, {:02}:{:02} UTC", t.day(), t.year(), t.hour(), t.minute())
        }
        Err(_) => crate::time::rfc3339(ts),
    }
}

pub(crate) async fn invitation_page(
    service: &AuthService,
    req: &RequestView<'_>,
    token: &str,
    error: Option<&AuthError>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let user = signed_in_user(service, req).await?;
    let path = format!("/invitations/{token}");
    let sign_in = with_query("/login", &[("return_to", &path)]);
    let inv = match service.pending_invitation(token).await {
        Ok(inv) => inv,
        Err(e) => {
            let mut c = service.chrome(req, "Invitation", user.as_ref());
            c.error = Some(super::view::human(&e));
            let page = InvitationPage {
                c,
                invitation: None,
                mode: InvitationMode::NewAccount,
                action: path,
                form: None,
                sso: Vec::new(),
                sign_in,
            };
            return Ok(service.page(e.status(), &page));
        }
    };
    let mut c = service.chrome(req, format!("Join {}", inv.org_name), user.as_ref());
    let mode = match &user {
        Some(u) if u.email == inv.email => InvitationMode::Join,
        Some(u) => InvitationMode::OtherUser(u.email.clone()),
        None => InvitationMode::NewAccount,
    };
    let mut new_account = None;
    if matches!(mode, InvitationMode::NewAccount) && service.config().basic_auth.enabled {
        let min = service.config().basic_auth.min_password_length;
        let fields = vec![
            Field::new("name", "name", "Your name", "text").value(field(form, "name")).autocomplete("name"),
            Field::new("password", "password", "Choose a password", "password")
                .autocomplete("new-password")
                .minlength(min)
                .hint(format!("At least {min} characters.")),
        ];
        let (f, summary) = Form::new(path.clone(), fields, error);
        c.error = summary;
        new_account = Some(f);
    } else {
        c.error = error.map(super::view::human);
    }
    let sso = if matches!(mode, InvitationMode::NewAccount) {
        service.sso_buttons(&[("invitation", token)])
    } else {
        Vec::new()
    };
    let page = InvitationPage {
        c,
        invitation: Some(InvitationView {
            organization: inv.org_name.clone(),
            email: inv.email.clone(),
            role: inv.role.as_str(),
            expires: human_time(inv.expires_at),
        }),
        mode,
        action: path,
        form: new_account,
        sso,
        sign_in,
    };
    Ok(service.page(error.map_or(200, AuthError::status), &page))
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
        Err(e) => invitation_page(service, req, token, Some(&e), form).await,
    }
}

/// What the last form on the organization page did, to show with the page.
pub(crate) enum Outcome<'a> {
    /// An invitation was created: its link is shown once.
    Invited(crate::orgs::CreatedInvitation),
    /// A password-reset link for a member was made: shown once.
    ResetLink(String),
    /// A form failed; the invite form keeps what was typed.
    Failed(&'a AuthError, &'a Value),
}

pub(crate) async fn organization_page(
    service: &AuthService,
    req: &RequestView<'_>,
    outcome: Option<Outcome<'_>>,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login("/settings/organization"));
    };
    let Some(org) = req
        .query_param("org")
        .and_then(|id| user.organizations.iter().find(|m| m.id == id))
        .or_else(|| user.organizations.first())
        .cloned()
    else {
        let mut c = service.chrome(req, "Organization", Some(&user));
        c.section = Section::Organization;
        let page = super::view::MessagePage {
            c,
            text: Some("You do not belong to an organization yet. Ask an administrator for an invitation.".into()),
            link: super::view::Link { href: "/".into(), text: "Back to the app".into() },
        };
        return Ok(service.page(200, &page));
    };
    let admin = service.require_role(&user, &org.id, Role::Member).await? == Role::Admin;
    let members = service.members(&user, &org.id).await?;
    let action = with_query("/settings/organization", &[("org", &org.id)]);
    let mut c = service.chrome(req, org.name.clone(), Some(&user));
    c.section = Section::Organization;
    c.wide = true;
    service.mark_instance_admin(&mut c, &user).await?;
    let (error, typed) = match &outcome {
        Some(Outcome::Failed(e, form)) => (Some(*e), *form),
        _ => (None, &Value::Null),
    };
    if error.is_some() {
        c.notice = None;
    }
    let invite_form = admin.then(|| {
        let email = if field(typed, "action") == "invite" { field(typed, "email") } else { "" };
        let fields = vec![Field::new("invite-email", "email", "Email", "email").value(email).autocomplete("off")];
        let invite_error = error.filter(|_| field(typed, "action") == "invite");
        let (f, summary) = Form::new(action.clone(), fields, invite_error);
        c.error = summary;
        f
    });
    if error.is_some() && c.error.is_none() {
        c.error = error.map(super::view::human);
    }
    let pending = if admin {
        service
            .invitations(&user, &org.id)
            .await?
            .into_iter()
            .map(|i| PendingRow {
                id: i.id.to_string(),
                email: i.email,
                role: i.role.as_str(),
                expires: human_time(i.expires_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let invite_link = match outcome {
        Some(Outcome::Invited(created)) => {
            let how = match created.delivery {
                Delivery::Sent => "It was emailed to them; you can also send this link yourself.",
                Delivery::Failed => "The email could not be sent: send them this link yourself.",
                Delivery::NotConfigured => "Send them this link; it works once.",
            };
            Some(InviteLink {
                label: "Invitation link",
                text: format!("Invitation created for {}. {how}", created.record.email),
                url: created.accept_url,
            })
        }
        Some(Outcome::ResetLink(url)) => Some(InviteLink {
            label: "Password-reset link",
            text: "Password-reset link created. Give it to the member; it works once.".into(),
            url,
        }),
        _ => None,
    };
    let page = OrganizationPage {
        c,
        action,
        admin,
        members: members
            .into_iter()
            .map(|m| MemberRow {
                is_you: m.user_id == user.id,
                is_admin: m.role == Role::Admin,
                role: m.role.as_str(),
                id: m.user_id.to_string(),
                name: m.name,
                email: m.email,
            })
            .collect(),
        others: user
            .organizations
            .iter()
            .filter(|o| o.id != org.id)
            .map(|o| OrgLink { name: o.name.clone(), href: with_query("/settings/organization", &[("org", &o.id)]) })
            .collect(),
        invite_form,
        invite_admin: field(typed, "role") == "admin",
        invite_link,
        pending,
        copy_script: crate::assets::COPY_SCRIPT,
    };
    Ok(service.page(error.map_or(200, AuthError::status), &page))
}

pub(crate) async fn organization_post(
    service: &AuthService,
    req: &RequestView<'_>,
    form: &Value,
) -> Result<AuthResponse, AuthError> {
    let Some(user) = signed_in_user(service, req).await? else {
        return Ok(to_login("/settings/organization"));
    };
    let Some(org_id) = req.query_param("org").map(OrgId::new) else {
        return Err(AuthError::invalid("org", "missing"));
    };
    let member = || UserId::new(field(form, "user"));
    let role = |s: &str| Role::parse(s).ok_or_else(|| AuthError::invalid("role", "must be admin or member"));
    let done = |notice: &str| {
        AuthResponse::redirect(
            303,
            &with_query("/settings/organization", &[("org", org_id.as_str()), ("notice", notice)]),
        )
    };
    let result = match field(form, "action") {
        "invite" => match service.invite(&user, &org_id, field(form, "email"), role(field(form, "role"))?).await {
            // Shown once, on this response: the token is never stored.
            Ok(created) => return organization_page(service, req, Some(Outcome::Invited(created))).await,
            Err(e) => Err(e),
        },
        "revoke" => service
            .revoke_invitation(&user, &org_id, &InvitationId::new(field(form, "id")))
            .await
            .map(|()| "invitation-revoked"),
        "role" => {
            service.change_role(&user, &org_id, &member(), role(field(form, "role"))?).await.map(|_| "role-updated")
        }
        "remove" => service.remove_member(&user, &org_id, &member()).await.map(|()| "member-removed"),
        "reset-link" => match service.admin_reset_link(&user, &org_id, &member()).await {
            Ok(url) => return organization_page(service, req, Some(Outcome::ResetLink(url))).await,
            Err(e) => Err(e),
        },
        _ => Err(AuthError::invalid("action", "unknown action")),
    };
    match result {
        Ok(notice) => Ok(done(notice)),
        Err(e) => organization_page(service, req, Some(Outcome::Failed(&e, form))).await,
    }
}
