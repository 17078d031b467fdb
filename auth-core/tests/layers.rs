//! The module layers of auth-core point downwards only (docs/ARCHITECTURE.md): a file may use
//! `crate::x` only when `x` sits on a lower layer, and the two front ends never use each other.
//! Read from the sources, so a new arrow upwards fails here rather than in review.

use std::collections::BTreeMap;
use std::path::Path;

/// Each module's layer, lowest first.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: no knowledge of the service.
    ("time", 0),
    ("secret", 0),
    ("email", 0),
    ("store", 0),
    ("store::sqlite", 0),
    ("store::postgres", 0),
    ("store::sql", 0),
    ("store::conformance", 0),
    // The metrics facade's instrumentation points and the Prometheus endpoint.
    ("telemetry", 0),
    ("error", 1),
    ("http", 2),
    ("config", 2),
    ("assets", 3),
    ("password", 3),
    ("session", 3),
    ("throttle", 3),
    ("rate", 3),
    ("mail", 3),
    // `mail` in a build without the `smtp` feature.
    ("mail_disabled", 3),
    ("authz", 3),
    ("oidc", 3),
    ("oidc::http", 3),
    ("oidc::jwks", 3),
    // Domain: the service and the guard, then the operations added to it.
    ("service", 4),
    // Read-only diagnostics over the leaves (auth-admin doctor).
    ("probe", 4),
    ("accounts", 5),
    ("orgs", 5),
    ("oidc::sso", 5),
    ("recovery", 5),
    // Audit events (logged and stored), recorded by the operations.
    ("audit", 5),
    // `oidc` (the relying party and its sign-in operations) without the `oidc` feature.
    ("oidc::disabled", 5),
    // Instance administration over the operations (the console and `auth-admin`).
    ("admin", 6),
    // The adapters' protocol.
    ("adapter", 6),
    // Front ends.
    ("api", 7),
    ("pages", 7),
    ("pages::orgs", 7),
    ("pages::view", 7),
    // Classification and dispatch.
    ("routes", 8),
    // The fuzz targets' entry points into the front ends' parsers (only with `--cfg fuzzing`).
    ("fuzzing", 8),
];

fn module_of(path: &Path, src: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap_or(path).with_extension("");
    let s = rel.to_string_lossy().replace('/', "::");
    s.strip_suffix("::mod").map(str::to_string).unwrap_or(s)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The `crate::…` modules a file's code (not its comments or unit tests) refers to.
fn uses(text: &str, layers: &BTreeMap<&str, u8>) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut found = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>();
            let first = ident(rest);
            let second = rest.strip_prefix(&format!("{first}::")).map(ident).unwrap_or_default();
            let nested = format!("{first}::{second}");
            let m = if layers.contains_key(nested.as_str()) { nested } else { first };
            if layers.contains_key(m.as_str()) {
                found.push(m);
            }
        }
    }
    found
}

#[test]
fn every_arrow_points_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let module = module_of(file, &src);
        if module == "lib" {
            continue;
        }
        // A submodule not listed sits with its parent (config::raw with config).
        let mut placed = module.as_str();
        while !layers.contains_key(placed) && placed.contains("::") {
            placed = placed.rsplit_once("::").map_or(placed, |(parent, _)| parent);
        }
        let Some(&rank) = layers.get(placed) else {
            problems.push(format!("{module}: not placed in a layer (add it to LAYERS)"));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for used in uses(&text, &layers) {
            let family = used.starts_with(&format!("{module}::")) || module.starts_with(&format!("{used}::"));
            if used == module || family {
                continue;
            }
            let target = layers[used.as_str()];
            if target > rank || target == rank && rank >= 7 {
                problems.push(format!("{module} (layer {rank}) uses {used} (layer {target})"));
            }
        }
    }
    assert!(problems.is_empty(), "arrows that point up or sideways:\n{}", problems.join("\n"));
}
