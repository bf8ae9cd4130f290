//! Cross-site request forgery defence for callers signed in through the API gateway.
//!
//! The gateway turns a browser's session cookie into `X-Userinfo`, so the header is an
//! ambient credential: a page on another site can make the browser send it. Browsers let
//! such a page send only "simple" requests (a form post, or `fetch` with a `text/plain`
//! or form body) without asking first, and they always say where the request came from in
//! `Origin` (or at least `Referer`). Hence:
//!
//! - JSON endpoints: an unsafe request (POST, PUT, PATCH) carrying the gateway header must
//!   be `application/json` — which a cross-site page cannot send without a CORS preflight
//!   this server never grants — unless its `Origin`/`Referer` is trusted.
//! - Form endpoints (`POST /enrollments/`): the `Origin` or `Referer` must be trusted.
//!
//! Trusted: `SITE_BASE_URL`'s origin and `CSRF_TRUSTED_ORIGINS` (the original's setting).
//! Requests without the gateway header (anonymous, or a service token in `Authorization`,
//! which a browser never adds by itself) are not affected. DELETE needs no check: it is
//! never a simple request.

use axum::extract::MatchedPath;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use mitx_services::config::origin_of;

use crate::auth::USERINFO_HEADER;
use crate::{ApiError, AppState};

/// The routes that take HTML form posts.
const FORM_ROUTES: &[&str] = &["/enrollments/"];

/// The origins whose pages may send unsafe requests.
#[derive(Clone, Debug, Default)]
pub struct TrustedOrigins(Vec<String>);

impl TrustedOrigins {
    /// The site's own origin and the configured ones.
    pub fn new(site_base_url: &str, configured: &[String]) -> TrustedOrigins {
        let mut origins: Vec<String> = origin_of(site_base_url).into_iter().collect();
        origins.extend(configured.iter().cloned());
        TrustedOrigins(origins)
    }

    /// The origin the request says it comes from (`Origin`, else `Referer`'s), if any.
    fn claimed(headers: &HeaderMap) -> Option<String> {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match text(header::ORIGIN) {
            // `Origin: null` (sandboxed pages, file://) is never trusted.
            Some(origin) => Some(origin_of(origin).unwrap_or_else(|| origin.to_owned())),
            None => text(header::REFERER).and_then(origin_of),
        }
    }

    fn trusts(&self, origin: &str) -> bool {
        self.0.iter().any(|pattern| origin_matches(pattern, origin))
    }
}

/// Django's matching of `CSRF_TRUSTED_ORIGINS`: exact, or `scheme://*.domain[:port]` for
/// any subdomain of `domain`.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == origin {
        return true;
    }
    let Some((scheme, domain)) = pattern.split_once("://*.") else {
        return false;
    };
    origin
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"))
        .and_then(|host| host.strip_suffix(domain))
        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Refuses a possibly cross-site unsafe request signed in through the gateway header.
/// Called where the header is about to authenticate the request (before the user is
/// resolved, which may write), so only served methods of real routes are checked.
pub fn check(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let unsafe_method = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH);
    let gateway_signed_in = !state.services.settings().server.gateway_disabled
        && parts.headers.contains_key(USERINFO_HEADER);
    if !unsafe_method || !gateway_signed_in {
        return Ok(());
    }
    let claimed = TrustedOrigins::claimed(&parts.headers);
    let trusted = claimed.as_deref().is_some_and(|o| state.csrf.trusts(o));
    let form_route = parts
        .extensions
        .get::<MatchedPath>()
        .is_some_and(|route| FORM_ROUTES.contains(&route.as_str()));
    if trusted || (!form_route && is_json(&parts.headers)) {
        return Ok(());
    }
    let reason = match (form_route, claimed) {
        (_, Some(origin)) => {
            format!("Origin checking failed - {origin} does not match any trusted origins.")
        }
        (true, None) => "Referer checking failed - no Referer.".to_owned(),
        (false, None) => {
            "requests signed in through the gateway must send Content-Type: application/json."
                .to_owned()
        }
    };
    tracing::warn!(%reason, "refused a possibly cross-site request");
    Err(ApiError::Forbidden(format!("CSRF Failed: {reason}")))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn claimed_origins_and_trust() {
        let trusted = TrustedOrigins::new(
            "https://mitx.example",
            &["https://learn.mit.edu".to_owned()],
        );
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Headers, Option<&str>, bool)] = &[
            (
                &[("origin", "https://mitx.example")],
                Some("https://mitx.example"),
                true,
            ),
            (
                &[("origin", "https://LEARN.mit.edu")],
                Some("https://learn.mit.edu"),
                true,
            ),
            (
                &[("origin", "https://evil.example")],
                Some("https://evil.example"),
                false,
            ),
            (&[("origin", "null")], Some("null"), false),
            (
                &[("referer", "https://mitx.example/dashboard/?x=1")],
                Some("https://mitx.example"),
                true,
            ),
            (
                &[
                    ("origin", "https://evil.example"),
                    ("referer", "https://mitx.example/"),
                ],
                Some("https://evil.example"),
                false,
            ),
            (&[], None, false),
        ];
        for (pairs, want, trust) in cases {
            let mut headers = HeaderMap::new();
            for (k, v) in *pairs {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            let claimed = TrustedOrigins::claimed(&headers);
            assert_eq!(claimed.as_deref(), *want, "{pairs:?}");
            assert_eq!(
                claimed.is_some_and(|o| trusted.trusts(&o)),
                *trust,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn wildcard_origins_match_subdomains_only() {
        let cases = [
            ("https://*.mit.edu", "https://learn.mit.edu", true),
            ("https://*.mit.edu", "https://a.b.mit.edu", true),
            ("https://*.mit.edu", "https://mit.edu", false),
            ("https://*.mit.edu", "https://evilmit.edu", false),
            ("https://*.mit.edu", "http://learn.mit.edu", false),
            ("https://*.mit.edu", "https://learn.mit.edu:8443", false),
            ("https://*.mit.edu:8443", "https://learn.mit.edu:8443", true),
            ("https://learn.mit.edu", "https://learn.mit.edu", true),
        ];
        for (pattern, origin, want) in cases {
            assert_eq!(origin_matches(pattern, origin), want, "{pattern} {origin}");
        }
    }

    #[test]
    fn only_application_json_counts_as_json() {
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("application/jsonp", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }
}
