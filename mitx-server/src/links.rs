//! Absolute URLs of this site (pagination links, certificate and page URLs).
//!
//! They come from `SITE_BASE_URL`, never from what a client sends: a forged
//! `X-Forwarded-Host` must not reach a rendered (and cached) body. Behind a proxy that
//! overwrites the forwarding headers, `USE_X_FORWARDED_HOST=true` (Django's setting name)
//! makes them follow the proxy's `X-Forwarded-Host`/`X-Forwarded-Proto` instead; the
//! catalog cache then keys on the resulting base, so each host keeps its own copy.

use axum::http::HeaderMap;

/// Where absolute URLs point.
#[derive(Clone, Debug)]
pub struct SiteLinks {
    base: String,
    use_forwarded_host: bool,
}

impl SiteLinks {
    /// Links on `site_base_url` (no trailing slash), or on the forwarded host when trusted.
    pub fn new(site_base_url: &str, use_forwarded_host: bool) -> SiteLinks {
        SiteLinks {
            base: site_base_url.trim_end_matches('/').to_owned(),
            use_forwarded_host,
        }
    }

    /// `scheme://host[/prefix]` for a request with `headers`.
    pub fn base(&self, headers: &HeaderMap) -> String {
        if self.use_forwarded_host
            && let Some(host) = forwarded_host(headers)
        {
            let scheme = first_value(headers, "x-forwarded-proto")
                .filter(|s| *s == "https" || *s == "http")
                .unwrap_or_else(|| {
                    if self.base.starts_with("https://") {
                        "https"
                    } else {
                        "http"
                    }
                });
            return format!("{scheme}://{host}{}", self.path_prefix());
        }
        self.base.clone()
    }
}

impl SiteLinks {
    /// The path of `SITE_BASE_URL` (`/mitx` of `https://host/mitx`; usually empty).
    fn path_prefix(&self) -> &str {
        let after_scheme = self.base.split_once("://").map_or("", |(_, rest)| rest);
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    }
}

fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The proxy's host, when it is a plausible `host[:port]` (anything else is ignored).
fn forwarded_host(headers: &HeaderMap) -> Option<&str> {
    first_value(headers, "x-forwarded-host").filter(|host| {
        host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn forwarding_headers_count_only_when_trusted() {
        let forged = headers(&[
            ("x-forwarded-host", "evil.example"),
            ("x-forwarded-proto", "http"),
            ("host", "evil.example"),
        ]);
        let cases = [
            (false, &forged, "https://mitx.example"),
            (true, &forged, "http://evil.example"),
            (true, &headers(&[]), "https://mitx.example"),
            (
                true,
                &headers(&[("x-forwarded-host", "a.example:8443, b.example")]),
                "https://a.example:8443",
            ),
            (
                true,
                &headers(&[("x-forwarded-host", "bad host/<x>")]),
                "https://mitx.example",
            ),
        ];
        let prefixed = SiteLinks::new("https://mitx.example/mitx/", true);
        assert_eq!(prefixed.base(&forged), "http://evil.example/mitx");
        assert_eq!(prefixed.base(&headers(&[])), "https://mitx.example/mitx");
        for (trusted, headers, expected) in cases {
            let links = SiteLinks::new("https://mitx.example/", trusted);
            assert_eq!(links.base(headers), expected, "{trusted} {headers:?}");
        }
    }
}
