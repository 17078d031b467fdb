//! The protocol the adapters speak, and nothing else: a borrowed [`RequestView`] in, an
//! [`AuthResponse`] or a [`GuardOutcome`] out, and the body read under the core's policy
//! ([`BodyReader`]). An adapter converts its framework's types to and from these in one file;
//! every decision stays in the core.
//!
//! The call sequence per request:
//!
//! 1. [`AuthService::classify`] the path.
//! 2. [`RouteKind::Auth`]: read the body with [`AuthService::body_reader`], then
//!    [`AuthService::handle`] answers.
//! 3. Otherwise [`AuthService::guard_cached`] (no I/O); on [`Cached::CallGuard`],
//!    [`AuthService::guard`]. `Allow` puts the user into the request and appends `set_cookie`
//!    to the application's response; `Respond` answers instead of the application.

use crate::error::AuthError;
pub use crate::http::{AuthResponse, HeaderSource, RequestView};
use crate::service::AuthService;
pub use crate::service::{Cached, GuardOutcome, RouteKind};

/// Collects a request body for an auth route: at most `maxBodyBytes` (413 beyond, also when
/// `Content-Length` announces more), and a stream that breaks off is refused (400), never
/// treated as an empty or partial body.
#[derive(Debug)]
pub struct BodyReader {
    max: usize,
    body: Vec<u8>,
}

impl AuthService {
    /// Starts reading a body whose `Content-Length` header is `content_length`; `Err` is the
    /// response to send at once.
    pub fn body_reader(&self, content_length: Option<&str>) -> Result<BodyReader, AuthResponse> {
        let max = self.config().max_body_bytes;
        match content_length.map(|v| v.trim().parse::<u64>()) {
            Some(Ok(n)) if n > max as u64 => Err(AuthResponse::error(&AuthError::PayloadTooLarge)),
            Some(Err(_)) => Err(AuthResponse::error(&AuthError::invalid("content-length", "not a number"))),
            _ => Ok(BodyReader { max, body: Vec::new() }),
        }
    }
}

impl BodyReader {
    /// Appends a chunk; `Err` (413) once the body passes the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), AuthResponse> {
        if self.body.len() + chunk.len() > self.max {
            return Err(AuthResponse::error(&AuthError::PayloadTooLarge));
        }
        self.body.extend_from_slice(chunk);
        Ok(())
    }

    /// The response when the body stream failed before its end.
    pub fn broken(self) -> AuthResponse {
        AuthResponse::error(&AuthError::invalid("body", "the request body could not be read to its end"))
    }

    /// The whole body.
    pub fn finish(self) -> Vec<u8> {
        self.body
    }
}

/// Declares, inside an adapter crate, the extractor types both adapters offer: the
/// `CurrentUser` newtype (private field, `Deref` to [`crate::CurrentUser`], `into_inner`),
/// the `Installed` marker, and `OrgRole<R>` with `OrgAdmin`/`OrgMember`. They must be local to
/// each adapter (the orphan rule: a framework's extractor trait can only be implemented for a
/// local type); this macro keeps them one definition. Each type's docs are passed in, because
/// their examples are framework code. The checks are [`crate::authz`]'s.
#[doc(hidden)]
#[macro_export]
macro_rules! extractor_types {
    ($(#[$user_doc:meta])* CurrentUser; $(#[$role_doc:meta])* OrgRole;) => {
        $(#[$user_doc])*
        #[derive(Debug, Clone)]
        pub struct CurrentUser($crate::CurrentUser);

        impl CurrentUser {
            /// The core's user (id, email, name, organizations, session id).
            pub fn into_inner(self) -> $crate::CurrentUser {
                self.0
            }

            /// The user the layer attached, or why there is none ([`Installed`] present or not).
            pub(crate) fn found(installed: bool, user: Option<&CurrentUser>) -> Result<Self, $crate::AuthError> {
                $crate::authz::current_user(installed, user.map(|u| &u.0)).map(CurrentUser)
            }
        }

        impl ::std::ops::Deref for CurrentUser {
            type Target = $crate::CurrentUser;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        /// Marks a request that went through the layer without a user (an attached
        /// `CurrentUser` marks the others).
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct Installed;

        $(#[$role_doc])*
        #[derive(Debug, Clone)]
        pub struct OrgRole<R> {
            /// The signed-in user.
            pub user: CurrentUser,
            /// The organization id from the path.
            pub org_id: String,
            /// The user's actual role there.
            pub role: $crate::Role,
            _required: ::std::marker::PhantomData<R>,
        }

        impl<R: $crate::authz::RequiredRole> OrgRole<R> {
            /// `user` checked against the route's `{org}` parameter.
            pub(crate) fn check(user: CurrentUser, org: Option<&str>) -> Result<Self, $crate::AuthError> {
                let (org_id, role) = $crate::authz::org_role::<R>(&user, org)?;
                Ok(Self { user, org_id, role, _required: ::std::marker::PhantomData })
            }
        }

        /// [`OrgRole`] requiring the admin role.
        pub type OrgAdmin = OrgRole<$crate::authz::Admin>;
        /// [`OrgRole`] requiring membership.
        pub type OrgMember = OrgRole<$crate::authz::Member>;
    };
}
