//! The session-token verifier (`TokenCodec::verify`): any string a cookie or a bearer header
//! can carry. Properties: no panic; a token is accepted only if it is, byte for byte, the
//! token the codec itself issues for those claims (no second spelling of a token: base64 or
//! JSON malleability would give one session several cache keys); a ring with an extra key
//! accepts whatever its one key accepts, and nothing that key refuses.
#![no_main]

use std::sync::OnceLock;

use auth_core::Secret;
use auth_core::session::{TokenCodec, TokenRejection};
use libfuzzer_sys::fuzz_target;

/// The fixed "now" of every check, so seeds issued for it stay valid.
const NOW: i64 = 1_800_000_000;

struct Codecs {
    one: TokenCodec,
    ring: TokenCodec,
}

fn codecs() -> &'static Codecs {
    static C: OnceLock<Codecs> = OnceLock::new();
    C.get_or_init(|| {
        let key = Secret::new(auth_fuzz::JWT_SECRET.as_bytes().to_vec());
        let other = Secret::new(b"another-secret-of-the-ring-0123456789abcdef".to_vec());
        Codecs {
            one: TokenCodec::new(auth_fuzz::PUBLIC_URL, &key, &[]).expect("codec"),
            ring: TokenCodec::new(auth_fuzz::PUBLIC_URL, &other, std::slice::from_ref(&key)).expect("codec"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let c = codecs();
    let one = c.one.verify(token, NOW);
    let ring = c.ring.verify(token, NOW);
    if let Ok(claims) = &one {
        assert!(claims.exp > claims.iat && !claims.sid.is_empty() && !claims.sub.is_empty());
        if claims.nbf.is_none() {
            let reissued = c.one.issue(&claims.sub, &claims.sid, claims.iat, claims.exp);
            assert_eq!(reissued, token, "an accepted token must be the codec's own spelling of its claims");
        }
    }
    match (&one, &ring) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(a), Err(e)) => panic!("the ring refuses ({e:?}) what its own key accepts: {a:?}"),
        // Signed by the ring's other key: only the ring knows it.
        (Err(TokenRejection::UnknownKey), _) => {}
        (Err(_), Ok(b)) => panic!("the ring accepts what its key refuses: {b:?}"),
        (Err(_), Err(_)) => {}
    }
});
