//! The config loader: YAML (any document, also a Helm values file) and the environment.
//! Input: YAML, then `0xFF`, then `NAME=value` lines. Properties: no panic; a loaded config
//! passes its own validation; no error message repeats a secret given in the environment.
#![no_main]

use std::collections::HashMap;

use auth_core::AuthConfig;
use libfuzzer_sys::fuzz_target;

const SECRETS: [&str; 3] = ["AUTH_JWT_SECRET", "BYOC_JWT_SECRET", "OIDC_CLIENT_SECRET"];

fn load(yaml: &str, env: &HashMap<&str, &str>) -> Result<AuthConfig, String> {
    AuthConfig::from_yaml(yaml, |k| env.get(k).map(|v| v.to_string())).map_err(|e| e.to_string())
}

/// A value as long as `secret` that cannot contain it.
fn other_than(secret: &str) -> String {
    let c = ['Z', 'Q', '#'].into_iter().find(|c| !secret.contains(*c)).unwrap_or('Z');
    std::iter::repeat_n(c, secret.len()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some(f) = auth_fuzz::fields(data, 2) else { return };
    let (yaml, env_text) = (f[0], f[1]);
    let env: HashMap<&str, &str> = env_text.lines().filter_map(|l| l.split_once('=')).collect();
    match load(yaml, &env) {
        Ok(config) => {
            if let Err(e) = config.validate() {
                panic!("a loaded config fails its own validation: {e}");
            }
        }
        Err(text) => {
            assert!(!text.is_empty());
            for name in SECRETS {
                let Some(secret) = env.get(name).filter(|s| s.len() >= 12 && text.contains(**s)) else { continue };
                // The text may contain it for another reason: the file or another variable holds
                // it too, or it is part of the message's own words (a variable name, say). It is
                // a leak only if it goes away when the variable holds something else.
                let other = other_than(secret);
                let mut changed = env.clone();
                changed.insert(name, &other);
                let text2 = load(yaml, &changed).err().unwrap_or_default();
                assert!(text2.contains(*secret), "an error message repeats {name}: {text}");
            }
        }
    }
});
