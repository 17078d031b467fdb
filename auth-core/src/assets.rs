//! What the pages need beside their HTML: the stylesheet (with the colours derived from
//! `ui.accentColor`), the one small progressive script, and the Content-Security-Policy that
//! allows exactly these.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::config::{OidcProviderConfig, UiConfig};

/// The path of the stylesheet (a `?v=` version follows in the pages' links).
pub(crate) const CSS_PATH: &str = "/api/v1/auth/assets/auth.css";

/// The copy-to-clipboard script, inlined in the organization page and allowed by its hash.
pub(crate) const COPY_SCRIPT: &str = include_str!("../assets/copy.js");

const BASE_CSS: &str = include_str!("../assets/auth.css");

/// Built once at startup from the config.
#[derive(Debug)]
pub(crate) struct Assets {
    /// The stylesheet's body.
    pub(crate) css: String,
    /// `CSS_PATH?v=<hash>`: a new URL whenever the stylesheet changes, so it can be cached.
    pub(crate) css_url: String,
    /// The pages' `Content-Security-Policy`.
    pub(crate) csp: String,
}

impl Assets {
    pub(crate) fn new(ui: &UiConfig, providers: &[OidcProviderConfig]) -> Self {
        let css = format!("{}\n{BASE_CSS}", accent_properties(&ui.accent_color));
        let digest = Sha256::digest(css.as_bytes());
        let version: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let script_hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(COPY_SCRIPT.as_bytes()));
        // A logo on another origin needs that origin in img-src.
        let logo_origin = ui
            .logo_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| format!(" {}", u.origin().ascii_serialization()))
            .unwrap_or_default();
        // "Sign out" posts to /logout, which answers 303 to the IdP's end-session endpoint for
        // SSO sessions: browsers apply form-action to that redirect too.
        let mut idp_origins: Vec<String> =
            providers.iter().map(|p| p.discovery_url.origin().ascii_serialization()).collect();
        idp_origins.sort();
        idp_origins.dedup();
        let form_action: String = idp_origins.iter().map(|o| format!(" {o}")).collect();
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'{logo_origin}; \
             script-src 'sha256-{script_hash}'; form-action 'self'{form_action}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        Self { css, css_url: format!("{CSS_PATH}?v={version}"), csp }
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rgb(f64, f64, f64);

impl Rgb {
    /// `#rgb` or `#rrggbb` (validated by the config).
    fn parse(hex: &str) -> Self {
        let h = hex.trim_start_matches('#');
        let h: String = if h.len() == 3 { h.chars().flat_map(|c| [c, c]).collect() } else { h.to_string() };
        let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        Self(f64::from(byte(0)), f64::from(byte(2)), f64::from(byte(4)))
    }

    /// WCAG 2 relative luminance.
    fn luminance(self) -> f64 {
        let lin = |c: f64| {
            let c = c / 255.0;
            if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    fn contrast(self, other: Self) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    fn mix(self, other: Self, t: f64) -> Self {
        Self(self.0 + (other.0 - self.0) * t, self.1 + (other.1 - self.1) * t, self.2 + (other.2 - self.2) * t)
    }

    fn hex(self) -> String {
        // Channels stay within 0..=255 by construction.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let c = |v: f64| v.round().clamp(0.0, 255.0) as u8;
        format!("#{:02x}{:02x}{:02x}", c(self.0), c(self.1), c(self.2))
    }

    /// The first mix of `self` towards `towards` readable (WCAG AA, 4.5:1) on `background`.
    fn readable_on(self, background: Self, towards: Self) -> Self {
        (0..=20)
            .map(|i| self.mix(towards, f64::from(i) / 20.0))
            .find(|c| c.contrast(background) >= 4.5)
            .unwrap_or(towards)
    }
}

const WHITE: Rgb = Rgb(255.0, 255.0, 255.0);
const BLACK: Rgb = Rgb(0.0, 0.0, 0.0);
/// `--card` in dark mode (auth.css).
const DARK_CARD: Rgb = Rgb(24.0, 27.0, 33.0);
/// `--bg` in light mode (auth.css), the darker of the light surfaces.
const LIGHT_BG: Rgb = Rgb(244.0, 245.0, 247.0);

/// The custom properties derived from the accent colour, each readable where it is used: text on
/// accent buttons, links on light and on dark surfaces.
fn accent_properties(accent_hex: &str) -> String {
    let accent = Rgb::parse(accent_hex);
    let on_accent = if accent.contrast(WHITE) >= accent.contrast(BLACK) { "#ffffff" } else { "#111111" };
    let link_light = accent.readable_on(LIGHT_BG, BLACK);
    let link_dark = accent.readable_on(DARK_CARD, WHITE);
    format!(
        ":root {{ --accent: {}; --on-accent: {on_accent}; --link-light: {}; --link-dark: {}; }}",
        accent.hex(),
        link_light.hex(),
        link_dark.hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_colours_are_readable() {
        for accent in ["#2557d6", "#ffeb3b", "#0f766e", "#000", "#fff", "#808080"] {
            let a = Rgb::parse(accent);
            let props = accent_properties(accent);
            let get = |name: &str| {
                let start = props.find(name).map(|i| i + name.len() + 2).unwrap_or(0);
                Rgb::parse(&props[start..start + 7])
            };
            assert!(get("--on-accent").contrast(a) >= 4.5, "{accent}: text on buttons");
            assert!(get("--link-light").contrast(LIGHT_BG) >= 4.5, "{accent}: links, light");
            assert!(get("--link-dark").contrast(DARK_CARD) >= 4.5, "{accent}: links, dark");
        }
    }

    #[test]
    fn csp_allows_only_what_the_pages_use() {
        let ui = UiConfig { logo_url: Some("https://cdn.example.com/logo.svg".into()), ..UiConfig::default() };
        let a = Assets::new(&ui, &[]);
        assert!(a.csp.contains("img-src 'self' https://cdn.example.com;"));
        assert!(a.csp.contains("script-src 'sha256-"));
        assert!(a.csp.contains("frame-ancestors 'none'"));
        assert!(!a.csp.contains("unsafe"));
        assert!(a.css_url.starts_with(CSS_PATH));
    }
}
