//! The request bodies: every JSON body of `/api/v1/auth` as its handler parses it (a failure is
//! a 400 naming a field), and the pages' form parser (`application/x-www-form-urlencoded`;
//! the back-channel logout form is parsed by the same `form_urlencoded`, in `logout_token`).
//! Properties: no panic; a form is an object of strings whose keys all occur in the body
//! (decoded).
#![no_main]

use auth_core::fuzzing::{form_fields, parse_bodies};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    parse_bodies(data);
    let form = form_fields(data);
    let map = form.as_object().expect("a form is an object");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    for (k, v) in map {
        let v = v.as_str().expect("every form value is a string");
        // The last occurrence of a repeated name wins.
        let last = pairs.iter().rev().find(|(pk, _)| pk == k).map(|(_, pv)| pv.as_str());
        assert_eq!(last, Some(v), "form field {k:?}");
    }
});
