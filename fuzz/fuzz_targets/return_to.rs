//! `return_to` normalisation: where sign-in, sign-up and the OIDC login send the browser
//! afterwards. Property: the result, resolved by a WHATWG URL parser (the `url` crate, as a
//! browser resolves a `Location` or a link) against the app's URL from any page, stays on the
//! app's origin; it is a path (starts with one `/`), and a same-origin path survives unchanged.
#![no_main]

use auth_core::fuzzing::safe_return_to;
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    let got = safe_return_to(Some(raw));
    assert!(got.starts_with('/') && !got.starts_with("//"), "{raw:?} -> {got:?}");
    for base in
        ["https://app.example.com/", "https://app.example.com/login?return_to=x", "https://app.example.com/a/b/c"]
    {
        let base = Url::parse(base).expect("base");
        let resolved = base.join(&got).unwrap_or_else(|e| panic!("{got:?} does not resolve: {e}"));
        assert_eq!(resolved.origin(), base.origin(), "{raw:?} -> {got:?} leaves the origin: {resolved}");
        // Resolved again (a page at that URL linking to the same value), still here.
        let again = resolved.join(&got).expect("resolves");
        assert_eq!(again.origin(), base.origin(), "{raw:?} -> {got:?} leaves the origin from {resolved}");
    }
    if got != "/" {
        assert_eq!(got, raw, "an accepted path is kept as given");
    }
});
