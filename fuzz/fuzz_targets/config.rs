//! The config loader: YAML (any document, also a Helm values file) and the environment.
//! Input: YAML, then `0xFF`, then `NAME=value` lines. Properties: no panic; a loaded config
//! passes its own validation; no error message repeats a secret given in the environment.
#![no_main]

use std::collections::HashMap;

use auth_core::AuthConfig;
use libfuzzer_sys::fuzz_target;

const SECRETS: [&str; 3] = ["AUTH_JWT_SECRET", "BYOC_JWT_SECRET", "OIDC_CLIENT_SECRET"];

fuzz_target!(|data: &[u8]| {
    let Some(f) = auth_fuzz::fields(data, 2) else { return };
    let (yaml, env_text) = (f[0], f[1]);
    let env: HashMap<&str, &str> = env_text.lines().filter_map(|l| l.split_once('=')).collect();
    match AuthConfig::from_yaml(yaml, |k| env.get(k).map(|v| v.to_string())) {
        Ok(config) => {
            if let Err(e) = config.validate() {
                panic!("a loaded config fails its own validation: {e}");
            }
        }
        Err(errors) => {
            let text = errors.to_string();
            assert!(!text.is_empty());
            for name in SECRETS {
                // Unless the same text is also given where it is no secret (the file, another variable).
                let elsewhere = |s: &str| yaml.contains(s) || env.iter().any(|(k, v)| *k != name && v.contains(s));
                if let Some(secret) = env.get(name).filter(|s| s.len() >= 12 && !elsewhere(s)) {
                    assert!(!text.contains(secret), "an error message repeats {name}: {text}");
                }
            }
        }
    }
});
