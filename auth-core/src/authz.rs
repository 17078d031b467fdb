//! Role requirements, named as types so that extractors can carry them
//! (`OrgRole<Admin>` in both adapters). The check itself is [`CurrentUser::require`](crate::CurrentUser::require).

use crate::error::AuthError;
use crate::session::CurrentUser;
use crate::store::Role;

/// A role requirement: [`Admin`] or [`Member`].
pub trait RequiredRole: Send + Sync + 'static {
    /// The least role that passes (admins pass `Member`).
    const ROLE: Role;
}

/// Requires the admin role.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

/// Requires membership (any role).
#[derive(Debug, Clone, Copy)]
pub struct Member;

impl RequiredRole for Admin {
    const ROLE: Role = Role::Admin;
}

impl RequiredRole for Member {
    const ROLE: Role = Role::Member;
}

/// The one check behind every `CurrentUser` extractor: the user the layer attached, or why
/// there is none (`installed` says whether the request went through the layer at all).
pub fn current_user(installed: bool, user: Option<&CurrentUser>) -> Result<CurrentUser, AuthError> {
    match user {
        Some(u) => Ok(u.clone()),
        None if !installed => Err(AuthError::Misconfigured(
            "CurrentUser needs the auth layer: install auth_tower::AuthLayer (Router::layer) or \
             auth_actix::AuthMiddleware (App::wrap)",
        )),
        None => Err(AuthError::Unauthenticated),
    }
}

/// The one check behind every `OrgRole<R>` extractor: `user` holds at least `R` in the
/// organization named by the route's `{org}` path parameter. Returns the organization id and
/// the user's role there; non-members get 404, members without the role 403.
pub fn org_role<R: RequiredRole>(user: &CurrentUser, org: Option<&str>) -> Result<(String, Role), AuthError> {
    let org = org.ok_or(AuthError::Misconfigured("OrgMember/OrgAdmin need a route with an {org} path parameter"))?;
    let role = user.require(org, R::ROLE)?;
    Ok((org.to_string(), role))
}
