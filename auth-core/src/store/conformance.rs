//! The store conformance suite (feature `test-util`): what every [`Store`] must do, including
//! the exactly-once guarantees under concurrency and expiry. Run it against a backend with
//! [`run`], giving it a way to make an empty store:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use auth_core::store::{SqliteStore, Store, conformance};
//!
//! conformance::run(|| async {
//!     let path = std::env::temp_dir().join(format!("conformance-{}.db", uuid::Uuid::new_v4()));
//!     Arc::new(SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap()) as Arc<dyn Store>
//! })
//! .await;
//! # }
//! ```
//!
//! Each check panics with what went wrong; the suite is for tests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::sync::Arc;

use super::{
    Acceptor, AuditSource, AuthMethod, CacheEvent, EmailTokenPurpose, InvitationId, NewAuditEvent, NewEmailToken,
    NewInvitation, NewUser, OidcSession, OrgId, Pushed, Role, SessionId, SessionRecord, Store, StoreError, UserId,
};
use crate::time::now;

/// How many tasks race in each concurrency check.
const RACERS: usize = 12;

/// Runs every check, each on a fresh store from `make`.
pub async fn run<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    setup_happens_exactly_once(make().await).await;
    users_and_organizations(make().await).await;
    sessions_revoke_and_expire(make().await).await;
    the_last_admin_stays(make().await).await;
    invitations_are_accepted_once(make().await).await;
    invitations_for_an_email_are_accepted_once(make().await).await;
    oidc_identities_and_sessions(make().await).await;
    login_states_are_single_use(make().await).await;
    email_tokens_are_single_use(make().await).await;
    signing_secret_is_stable(make().await).await;
    throttle_buckets_add_up(make().await).await;
    organizations_by_id_or_name(make().await).await;
    users_are_listed_disabled_and_deleted(make().await).await;
    audit_events_append_page_and_prune(make().await).await;
    signing_secrets_rotate(make().await).await;
    session_events_are_not_echoed(make().await).await;
}

fn user(email: &str) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: email.into(),
        name: "Name".into(),
        password_hash: Some("$argon2id$fake".into()),
    }
}

fn sid(id: &str) -> SessionId {
    SessionId::new(id)
}

fn uid(id: &str) -> UserId {
    UserId::new(id)
}

fn session(id: &str, user_id: &UserId, expires_at: i64) -> SessionRecord {
    SessionRecord {
        id: sid(id),
        user_id: user_id.clone(),
        auth_method: AuthMethod::Password,
        created_at: now(),
        expires_at,
        revoked: false,
    }
}

/// Runs `RACERS` copies of `f(i)` at once and returns their results.
async fn race<T, Fut>(f: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..RACERS).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(RACERS);
    for t in tasks {
        out.push(t.await.expect("a racer panicked"));
    }
    out
}

pub async fn setup_happens_exactly_once(store: Arc<dyn Store>) {
    assert!(store.needs_setup().await.unwrap());
    let results = race(|i| {
        let store = Arc::clone(&store);
        async move { store.create_first_admin(&user(&format!("admin{i}@example.com")), "Acme").await }
    })
    .await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one first admin: {results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::Conflict(_)))), "{results:?}");
    assert!(!store.needs_setup().await.unwrap());
    let (admin, org) = results.into_iter().find_map(Result::ok).unwrap();
    let m = store.user_memberships(&admin.id).await.unwrap();
    assert_eq!((m.len(), m[0].id.as_str(), m[0].role), (1, org.id.as_str(), Role::Admin));
    // The losers left nothing behind.
    assert_eq!(store.list_members(&org.id).await.unwrap().len(), 1);
    assert!(store.find_user_by_email("admin99@example.com").await.unwrap().is_none());
}

pub async fn users_and_organizations(store: Arc<dyn Store>) {
    let (a, org) = store.create_user_with_org(&user("a@example.com"), "A").await.unwrap();
    assert!(!store.needs_setup().await.unwrap(), "open signup completes setup");
    assert!(matches!(store.create_user_with_org(&user("a@example.com"), "A2").await, Err(StoreError::Conflict(_))));
    assert_eq!(store.find_user_by_email("a@example.com").await.unwrap().unwrap(), a);
    assert_eq!(store.get_user(&a.id).await.unwrap().unwrap().email, "a@example.com");
    assert!(store.get_user(&uid("nobody")).await.unwrap().is_none());
    store.update_user_name(&a.id, "Ada").await.unwrap();
    store.set_password_hash(&a.id, "$argon2id$new").await.unwrap();
    let read = store.get_user(&a.id).await.unwrap().unwrap();
    assert_eq!((read.name.as_str(), read.password_hash.as_deref()), ("Ada", Some("$argon2id$new")));
    assert!(matches!(store.update_user_name(&uid("nobody"), "x").await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_password_hash(&uid("nobody"), "x").await, Err(StoreError::NotFound)));
    assert_eq!(store.member_role(&org.id, &a.id).await.unwrap(), Some(Role::Admin));
    assert_eq!(store.member_role(&org.id, &uid("nobody")).await.unwrap(), None);
    assert!(!store.email_verified(&a.id).await.unwrap());
    assert!(!store.set_email_verified(&a.id, "other@example.com").await.unwrap(), "only the current address");
    assert!(store.set_email_verified(&a.id, "a@example.com").await.unwrap());
    assert!(store.email_verified(&a.id).await.unwrap());
}

pub async fn sessions_revoke_and_expire(store: Arc<dyn Store>) {
    let t = now();
    let (u, _) = store.create_first_admin(&user("s@example.com"), "S").await.unwrap();
    let (other, _) = store.create_user_with_org(&user("t@example.com"), "T").await.unwrap();
    let later = t + 3600;
    for id in ["s1", "s2", "s3"] {
        store.create_session(&session(id, &u.id, later)).await.unwrap();
    }
    store.create_session(&session("old", &u.id, t - 1)).await.unwrap();
    store.create_session(&session("t1", &other.id, later)).await.unwrap();
    let view = store.load_session(&sid("s1")).await.unwrap().unwrap();
    assert_eq!((view.user.id.as_str(), view.session.revoked, view.memberships.len()), (u.id.as_str(), false, 1));
    assert!(store.load_session(&sid("missing")).await.unwrap().is_none());

    store.describe_session(&sid("s2"), Some("Firefox"), Some("192.0.2.1"), t + 5).await.unwrap();
    store.touch_session(&sid("s2"), t + 10).await.unwrap();
    store.touch_session(&sid("s2"), t + 7).await.unwrap();
    let listed = store.list_sessions(&u.id, t).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "expired sessions are not listed: {ids:?}");
    assert_eq!(ids[0], "s2", "most recently used first");
    assert_eq!(listed[0].last_seen_at, t + 10, "touch never goes back in time");
    assert_eq!((listed[0].user_agent.as_deref(), listed[0].ip.as_deref()), (Some("Firefox"), Some("192.0.2.1")));

    let mut live = store.live_session_ids(&u.id).await.unwrap();
    live.sort();
    assert_eq!(live, ["s1", "s2", "s3"]);
    assert!(!store.revoke_own_session(&other.id, &sid("s1")).await.unwrap(), "not someone else's session");
    assert!(store.revoke_own_session(&u.id, &sid("s3")).await.unwrap());
    assert!(!store.revoke_own_session(&u.id, &sid("s3")).await.unwrap(), "once");
    let mut ended = store.revoke_user_sessions(&u.id, Some(&sid("s1"))).await.unwrap();
    ended.sort();
    assert_eq!(ended, ["old", "s2"], "every live session but the kept one, each reported once");
    assert!(!store.load_session(&sid("s1")).await.unwrap().unwrap().session.revoked);
    assert!(store.load_session(&sid("s2")).await.unwrap().unwrap().session.revoked);
    store.revoke_session(&sid("s1")).await.unwrap();
    assert!(store.load_session(&sid("s1")).await.unwrap().unwrap().session.revoked);
    assert!(store.live_session_ids(&u.id).await.unwrap().is_empty());
    assert_eq!(store.live_session_ids(&other.id).await.unwrap(), ["t1"], "other users untouched");
}

pub async fn the_last_admin_stays(store: Arc<dyn Store>) {
    let (a, org) = store.create_first_admin(&user("a@example.com"), "Org").await.unwrap();
    let b = invite_and_join(&store, &org.id, &a.id, "b@example.com", Role::Admin).await;
    let m = invite_and_join(&store, &org.id, &a.id, "m@example.com", Role::Member).await;
    assert!(matches!(store.set_member_role(&org.id, &uid("nobody"), Role::Member).await, Err(StoreError::NotFound)));
    store.set_member_role(&org.id, &m, Role::Admin).await.unwrap();
    store.set_member_role(&org.id, &m, Role::Member).await.unwrap();
    store.remove_member(&org.id, &m).await.unwrap();
    assert!(matches!(store.remove_member(&org.id, &m).await, Err(StoreError::NotFound)));
    // Two admins demote each other at the same moment: one of them stays an admin.
    let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
    let (o1, o2, a1, b1) = (org.id.clone(), org.id.clone(), a.id.clone(), b.clone());
    let (r1, r2) = tokio::join!(
        tokio::spawn(async move { s1.set_member_role(&o1, &b1, Role::Member).await }),
        tokio::spawn(async move { s2.remove_member(&o2, &a1).await }),
    );
    let ok = [r1.unwrap().is_ok(), r2.unwrap().is_ok()];
    assert_eq!(ok.iter().filter(|x| **x).count(), 1, "exactly one change may happen: {ok:?}");
    let admins = store.list_members(&org.id).await.unwrap().into_iter().filter(|m| m.role == Role::Admin).count();
    assert_eq!(admins, 1);
    let last = store.list_members(&org.id).await.unwrap().into_iter().find(|m| m.role == Role::Admin).unwrap();
    assert!(matches!(store.set_member_role(&org.id, &last.user_id, Role::Member).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.remove_member(&org.id, &last.user_id).await, Err(StoreError::Conflict(_))));
}

async fn invite_and_join(store: &Arc<dyn Store>, org: &OrgId, by: &UserId, email: &str, role: Role) -> UserId {
    let hash = format!("hash-{email}");
    store.create_invitation(&invitation(org, by, email, role, &hash, now() + 3600)).await.unwrap();
    let (u, _) = store.accept_invitation(&hash, &Acceptor::New(user(email))).await.unwrap();
    u.id
}

fn invitation(org: &OrgId, by: &UserId, email: &str, role: Role, hash: &str, expires_at: i64) -> NewInvitation {
    NewInvitation {
        id: InvitationId::generate(),
        org_id: org.clone(),
        email: email.into(),
        role,
        token_hash: hash.into(),
        invited_by: Some(by.clone()),
        expires_at,
    }
}

pub async fn invitations_are_accepted_once(store: Arc<dyn Store>) {
    let (a, org) = store.create_first_admin(&user("a@example.com"), "Org").await.unwrap();
    let first = store
        .create_invitation(&invitation(&org.id, &a.id, "n@example.com", Role::Member, "h1", now() + 60))
        .await
        .unwrap();
    let second = store
        .create_invitation(&invitation(&org.id, &a.id, "n@example.com", Role::Admin, "h2", now() + 60))
        .await
        .unwrap();
    let pending = store.pending_invitations(&org.id).await.unwrap();
    assert_eq!(pending.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), [second.id.as_str()], "a new one replaces");
    assert!(store.find_invitation("h1").await.unwrap().unwrap().revoked);
    assert_eq!((second.org_name.as_str(), second.role, second.accepted), ("Org", Role::Admin, false));
    assert!(matches!(
        store.accept_invitation("h1", &Acceptor::New(user("n@example.com"))).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(store.revoke_invitation(&org.id, &first.id).await, Err(StoreError::NotFound)));

    let results = race(|_| {
        let store = Arc::clone(&store);
        async move { store.accept_invitation("h2", &Acceptor::New(user("n@example.com"))).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "accepted exactly once: {results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(_) | Err(StoreError::NotFound))), "{results:?}");
    let (joined, inv) = results.into_iter().find_map(Result::ok).unwrap();
    assert_eq!(inv.role, Role::Admin);
    assert_eq!(store.member_role(&org.id, &joined.id).await.unwrap(), Some(Role::Admin));
    assert!(store.find_invitation("h2").await.unwrap().unwrap().accepted);

    // Expired and revoked invitations are neither pending nor acceptable; an existing user joins.
    store
        .create_invitation(&invitation(&org.id, &a.id, "x@example.com", Role::Member, "old", now() - 1))
        .await
        .unwrap();
    assert!(store.pending_invitations(&org.id).await.unwrap().is_empty());
    assert!(matches!(
        store.accept_invitation("old", &Acceptor::New(user("x@example.com"))).await,
        Err(StoreError::NotFound)
    ));
    let r = store
        .create_invitation(&invitation(&org.id, &a.id, "r@example.com", Role::Member, "rev", now() + 60))
        .await
        .unwrap();
    store.revoke_invitation(&org.id, &r.id).await.unwrap();
    assert!(matches!(
        store.accept_invitation("rev", &Acceptor::Existing(joined.id.clone())).await,
        Err(StoreError::NotFound)
    ));
    // An invitation for an address that already has an account.
    store
        .create_invitation(&invitation(&org.id, &a.id, "a@example.com", Role::Member, "dup", now() + 60))
        .await
        .unwrap();
    assert!(matches!(
        store.accept_invitation("dup", &Acceptor::New(user("a@example.com"))).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!store.find_invitation("dup").await.unwrap().unwrap().accepted, "a failed accept leaves it pending");
}

pub async fn invitations_for_an_email_are_accepted_once(store: Arc<dyn Store>) {
    let (a, org) = store.create_first_admin(&user("a@example.com"), "Org").await.unwrap();
    let (_, org2) = store.create_user_with_org(&user("b@example.com"), "Org2").await.unwrap();
    store
        .create_invitation(&invitation(&org.id, &a.id, "sso@example.com", Role::Member, "e1", now() + 60))
        .await
        .unwrap();
    store
        .create_invitation(&invitation(&org2.id, &a.id, "sso@example.com", Role::Admin, "e2", now() + 60))
        .await
        .unwrap();
    let (u, _) = store.create_user_with_org(&user("sso@example.com"), "Own").await.unwrap();
    let results = race(|_| {
        let (store, id) = (Arc::clone(&store), u.id.clone());
        async move { store.accept_invitations_for("sso@example.com", &id).await.unwrap().len() }
    })
    .await;
    assert_eq!(results.iter().sum::<usize>(), 2, "each invitation accepted once: {results:?}");
    assert_eq!(store.user_memberships(&u.id).await.unwrap().len(), 3);
}

pub async fn oidc_identities_and_sessions(store: Arc<dyn Store>) {
    let iss = "https://idp.example.com";
    let sso = |email: &str| NewUser { password_hash: None, ..user(email) };
    let (first, org) = store.create_oidc_user(&sso("o@example.com"), iss, "sub-1", "Setup Org").await.unwrap();
    assert_eq!(org.as_ref().map(|o| o.name.as_str()), Some("Setup Org"), "the first user sets the instance up");
    assert!(first.password_hash.is_none());
    let (second, org) = store.create_oidc_user(&sso("p@example.com"), iss, "sub-2", "Setup Org").await.unwrap();
    assert!(org.is_none() && store.user_memberships(&second.id).await.unwrap().is_empty());
    assert!(matches!(
        store.create_oidc_user(&sso("q@example.com"), iss, "sub-1", "x").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.find_user_by_email("q@example.com").await.unwrap().is_none(), "nothing half-created");
    assert_eq!(store.find_user_by_identity(iss, "sub-1").await.unwrap().unwrap().id, first.id);
    assert!(store.find_user_by_identity("https://other.example.com", "sub-1").await.unwrap().is_none());
    store.link_identity("https://other.example.com", "sub-1", &second.id).await.unwrap();
    assert_eq!(store.find_user_by_identity("https://other.example.com", "sub-1").await.unwrap().unwrap().id, second.id);

    for (id, idp_sid, user_id, sub) in
        [("a", Some("idp-a"), &first.id, "sub-1"), ("b", None, &first.id, "sub-1"), ("c", None, &second.id, "sub-2")]
    {
        store
            .create_session(&SessionRecord { auth_method: AuthMethod::Oidc, ..session(id, user_id, now() + 60) })
            .await
            .unwrap();
        let o = OidcSession {
            provider: "idp".into(),
            issuer: iss.into(),
            subject: sub.into(),
            idp_sid: idp_sid.map(Into::into),
            id_token: format!("token-{id}"),
        };
        store.set_oidc_session(&sid(id), &o).await.unwrap();
    }
    assert_eq!(store.load_session(&sid("a")).await.unwrap().unwrap().session.auth_method, AuthMethod::Oidc);
    assert_eq!(store.oidc_session(&sid("a")).await.unwrap().unwrap().idp_sid.as_deref(), Some("idp-a"));
    assert!(store.oidc_session(&sid("nope")).await.unwrap().is_none());
    assert_eq!(store.revoke_idp_sessions(iss, Some("idp-a"), Some("sub-1")).await.unwrap(), ["a"], "by sid first");
    assert_eq!(store.revoke_idp_sessions(iss, None, Some("sub-1")).await.unwrap(), ["b"], "then by subject");
    assert!(store.revoke_idp_sessions("https://other.example.com", None, Some("sub-2")).await.unwrap().is_empty());
    assert!(store.revoke_idp_sessions(iss, None, None).await.unwrap().is_empty());
    assert!(!store.load_session(&sid("c")).await.unwrap().unwrap().session.revoked);
}

pub async fn login_states_are_single_use(store: Arc<dyn Store>) {
    let results = race(|_| {
        let store = Arc::clone(&store);
        async move { store.consume_state("state-1", now() + 600).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|x| **x).count(), 1, "one use: {results:?}");
    // Remembered until it expires, then swept (and a late replay is refused by the expired
    // flow cookie, not by this table).
    assert!(!store.consume_state("state-1", now() + 600).await.unwrap());
    assert!(store.consume_state("state-2", now() - 10).await.unwrap());
    assert!(store.consume_state("state-2", now() + 600).await.unwrap(), "an expired entry is swept");
}

pub async fn email_tokens_are_single_use(store: Arc<dyn Store>) {
    let (u, _) = store.create_first_admin(&user("e@example.com"), "E").await.unwrap();
    let token = |hash: &str, purpose, expires_at| NewEmailToken {
        token_hash: hash.into(),
        purpose,
        user_id: u.id.clone(),
        email: "e@example.com".into(),
        expires_at,
    };
    store.create_email_token(&token("r1", EmailTokenPurpose::Reset, now() + 60)).await.unwrap();
    store.create_email_token(&token("r2", EmailTokenPurpose::Reset, now() + 60)).await.unwrap();
    store.create_email_token(&token("v1", EmailTokenPurpose::Verify, now() + 60)).await.unwrap();
    assert_eq!(store.use_email_token("r1", EmailTokenPurpose::Reset, now()).await.unwrap(), None, "replaced by r2");
    assert_eq!(store.use_email_token("v1", EmailTokenPurpose::Reset, now()).await.unwrap(), None, "purpose-bound");
    assert_eq!(store.use_email_token("r2", EmailTokenPurpose::Reset, now() + 61).await.unwrap(), None, "expired");
    let results = race(|_| {
        let store = Arc::clone(&store);
        async move { store.use_email_token("r2", EmailTokenPurpose::Reset, now()).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().flatten().count(), 1, "used once: {results:?}");
    assert_eq!(results.into_iter().flatten().next().as_deref(), Some(u.id.as_str()));
    assert_eq!(
        store.use_email_token("v1", EmailTokenPurpose::Verify, now()).await.unwrap().as_deref(),
        Some(u.id.as_str())
    );
}

pub async fn signing_secret_is_stable(store: Arc<dyn Store>) {
    let results = race(|i| {
        let store = Arc::clone(&store);
        async move { store.signing_secret(format!("candidate-{i}").as_bytes()).await.unwrap() }
    })
    .await;
    assert!(results.windows(2).all(|w| w[0] == w[1]), "every instance gets the same secret");
    assert_eq!(store.signing_secret(b"later").await.unwrap(), results[0]);
}

pub async fn throttle_buckets_add_up(store: Arc<dyn Store>) {
    let t = now();
    let counts = race(|_| {
        let store = Arc::clone(&store);
        async move { store.throttle_fail("a:1", t, t - 900).await.unwrap() }
    })
    .await;
    let mut sorted = counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=RACERS as u32).collect::<Vec<_>>(), "each failure counted once");
    assert_eq!(store.throttle_locked_until(&["a:1".into()], t).await.unwrap(), None);
    store.throttle_lock("a:1", t + 30).await.unwrap();
    store.throttle_lock("a:1", t + 10).await.unwrap();
    let both = ["a:1".to_string(), "c:192.0.2.1".to_string()];
    assert_eq!(store.throttle_locked_until(&both, t).await.unwrap(), Some(t + 30), "never shortened");
    assert_eq!(store.throttle_locked_until(&both, t + 31).await.unwrap(), None, "expired");
    // A quiet period starts the count afresh.
    assert_eq!(store.throttle_fail("a:1", t + 2000, t + 1000).await.unwrap(), 1);
    store.throttle_clear("a:1").await.unwrap();
    assert_eq!(store.throttle_fail("a:1", t, t - 900).await.unwrap(), 1);
}

pub async fn organizations_by_id_or_name(store: Arc<dyn Store>) {
    assert!(store.find_organizations(None).await.unwrap().is_empty(), "no organization yet");
    let (a, first) = store.create_first_admin(&user("a@example.com"), "First").await.unwrap();
    let (_, second) = store.create_user_with_org(&user("b@example.com"), "Twin").await.unwrap();
    let (_, third) = store.create_user_with_org(&user("c@example.com"), "Twin").await.unwrap();
    assert_eq!(
        store.find_organizations(None).await.unwrap(),
        std::slice::from_ref(&first),
        "the instance's own: the first"
    );
    assert_eq!(store.find_organizations(Some(&second.id)).await.unwrap(), std::slice::from_ref(&second), "by id");
    let mut twins = store.find_organizations(Some("Twin")).await.unwrap();
    twins.sort_by(|x, y| x.id.cmp(&y.id));
    let mut want = vec![second.clone(), third];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(twins, want, "a shared name finds them all");
    assert!(store.find_organizations(Some("nothing")).await.unwrap().is_empty());

    let added = race(|_| {
        let (store, org, id) = (Arc::clone(&store), second.id.clone(), a.id.clone());
        async move { store.add_member(&org, &id, Role::Member).await.unwrap() }
    })
    .await;
    assert_eq!(added.iter().filter(|x| **x).count(), 1, "added once: {added:?}");
    assert!(!store.add_member(&second.id, &a.id, Role::Admin).await.unwrap(), "an existing membership is kept");
    assert_eq!(store.member_role(&second.id, &a.id).await.unwrap(), Some(Role::Member));
    assert!(matches!(store.add_member(&OrgId::new("missing"), &a.id, Role::Member).await, Err(StoreError::NotFound)));
}

pub async fn users_are_listed_disabled_and_deleted(store: Arc<dyn Store>) {
    let (admin, org) = store.create_first_admin(&user("boss@example.com"), "Acme").await.unwrap();
    let mut names = Vec::new();
    for (email, name) in [("ann@example.com", "Ann O'Hara"), ("bob@example.com", "Bob 100%"), ("cy@example.org", "Cy_")]
    {
        let mut u = user(email);
        u.name = name.into();
        let (u, _) = store.create_user_with_org(&u, "Own").await.unwrap();
        names.push(u);
    }
    let all = store.list_users(None, 0, 10).await.unwrap();
    assert_eq!(all.total, 4);
    let emails: Vec<&str> = all.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["ann@example.com", "bob@example.com", "boss@example.com", "cy@example.org"], "by email");
    let page = store.list_users(None, 1, 2).await.unwrap();
    assert_eq!((page.total, page.users.len(), page.users[0].email.as_str()), (4, 2, "bob@example.com"));
    // Search: email or name, case-insensitive, LIKE metacharacters taken literally.
    let found = |q: &'static str| {
        let store = Arc::clone(&store);
        async move {
            let p = store.list_users(Some(q), 0, 10).await.unwrap();
            (p.total, p.users.into_iter().map(|u| u.email).collect::<Vec<_>>())
        }
    };
    assert_eq!(found("EXAMPLE.ORG").await, (1, vec!["cy@example.org".to_string()]));
    assert_eq!(found("o'hara").await, (1, vec!["ann@example.com".to_string()]));
    assert_eq!(found("100%").await.0, 1, "% is literal");
    assert_eq!(found("_").await.0, 1, "_ is literal");
    assert_eq!(found("nobody").await.0, 0);
    // Disable and enable.
    let ann = &names[0];
    assert!(!store.get_user(&ann.id).await.unwrap().unwrap().disabled);
    store.set_user_disabled(&ann.id, Some(now())).await.unwrap();
    assert!(store.get_user(&ann.id).await.unwrap().unwrap().disabled);
    assert!(store.find_user_by_email("ann@example.com").await.unwrap().unwrap().disabled);
    store.create_session(&session("ann-s", &ann.id, now() + 60)).await.unwrap();
    assert!(store.load_session(&sid("ann-s")).await.unwrap().unwrap().user.disabled);
    store.set_user_disabled(&ann.id, None).await.unwrap();
    assert!(!store.get_user(&ann.id).await.unwrap().unwrap().disabled);
    assert!(matches!(store.set_user_disabled(&uid("nobody"), None).await, Err(StoreError::NotFound)));
    // Delete: sessions and the organization left empty go too.
    let own = store.user_memberships(&ann.id).await.unwrap()[0].id.clone();
    store.delete_user(&ann.id).await.unwrap();
    assert!(store.get_user(&ann.id).await.unwrap().is_none());
    assert!(store.load_session(&sid("ann-s")).await.unwrap().is_none());
    assert!(store.find_organizations(Some(&own)).await.unwrap().is_empty(), "the emptied organization is gone");
    assert!(matches!(store.delete_user(&ann.id).await, Err(StoreError::NotFound)));
    // The last admin of an organization with other members stays.
    let bob = &names[1];
    assert!(store.add_member(&org.id, &bob.id, Role::Member).await.unwrap());
    assert!(matches!(store.delete_user(&admin.id).await, Err(StoreError::Conflict(_))));
    assert!(store.get_user(&admin.id).await.unwrap().is_some());
    // A member of it may go; the organization stays.
    store.delete_user(&bob.id).await.unwrap();
    assert_eq!(store.list_members(&org.id).await.unwrap().len(), 1);
    assert_eq!(store.list_users(None, 0, 10).await.unwrap().total, 2);
}

pub async fn audit_events_append_page_and_prune(store: Arc<dyn Store>) {
    let event = |n: i64, at: i64| NewAuditEvent {
        at,
        event: format!("event{n}"),
        source: if n % 2 == 0 { AuditSource::Http } else { AuditSource::Cli },
        actor_id: (n == 1).then(|| uid("actor")),
        user_id: Some(uid("subject")),
        org_id: (n == 2).then(|| OrgId::new("org")),
        detail: format!("{{\"n\":{n}}}"),
    };
    let t = now();
    for n in 0..5 {
        store.append_audit(&event(n, t - 100 + n)).await.unwrap();
    }
    let newest = store.list_audit(None, 2).await.unwrap();
    assert_eq!(newest.iter().map(|r| r.event.event.as_str()).collect::<Vec<_>>(), ["event4", "event3"]);
    assert!(newest[0].seq > newest[1].seq);
    let older = store.list_audit(Some(newest[1].seq), 10).await.unwrap();
    assert_eq!(older.iter().map(|r| r.event.event.as_str()).collect::<Vec<_>>(), ["event2", "event1", "event0"]);
    assert_eq!(older[1].event, event(1, t - 99), "every field round-trips");
    assert_eq!(older[0].event, event(2, t - 98));
    assert_eq!(store.prune_audit(t - 97).await.unwrap(), 3);
    assert_eq!(store.list_audit(None, 10).await.unwrap().len(), 2);
}

pub async fn signing_secrets_rotate(store: Arc<dyn Store>) {
    let first = store.signing_secret(b"first-secret").await.unwrap();
    assert!(store.retired_signing_secrets(0).await.unwrap().is_empty());
    store.rotate_signing_secret(b"second-secret", 1_000, 0).await.unwrap();
    assert_eq!(store.signing_secret(b"ignored").await.unwrap(), b"second-secret");
    assert_eq!(store.retired_signing_secrets(0).await.unwrap(), vec![first.clone()]);
    store.rotate_signing_secret(b"third-secret", 2_000, 0).await.unwrap();
    assert_eq!(store.signing_secret(b"ignored").await.unwrap(), b"third-secret");
    assert_eq!(store.retired_signing_secrets(0).await.unwrap(), vec![b"second-secret".to_vec(), first]);
    assert_eq!(store.retired_signing_secrets(1_500).await.unwrap(), vec![b"second-secret".to_vec()]);
    // Retired keys older than the longest session are forgotten at the next rotation.
    store.rotate_signing_secret(b"fourth-secret", 3_000, 1_500).await.unwrap();
    assert_eq!(
        store.retired_signing_secrets(0).await.unwrap(),
        vec![b"third-secret".to_vec(), b"second-secret".to_vec()]
    );
}

/// Publishing works, and a store that pushes does not echo a handle's own events back to it
/// (they reach the other instances: `tests/tests/instances.rs` and `sessions.rs` check that with
/// real servers).
pub async fn session_events_are_not_echoed(store: Arc<dyn Store>) {
    let events = store.subscribe();
    store.publish(&CacheEvent::Revoked(sid("own-1"))).await.unwrap();
    store.publish(&CacheEvent::Changed(sid("own-2"))).await.unwrap();
    let Some(mut events) = events else { return };
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    while let Ok(got) = tokio::time::timeout_at(until, events.recv()).await {
        assert!(matches!(got, Some(Pushed::Resync)), "own event echoed: {got:?}");
    }
}
