//! Role requirements, named as types so that extractors can carry them
//! (`OrgRole<Admin>` in both adapters). The check itself is [`CurrentUser::require`](crate::CurrentUser::require).

use crate::Role;

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
