//! DRF page-number pagination: `?page=n&page_size=k` (default 12, at most 100), bodies
//! `{count, next, previous, results}`, and 404 for a page past the end; and DRF's
//! limit/offset pagination ([`LimitOffset`]) with the same bodies.

use std::collections::{BTreeMap, HashMap};

use axum::http::Uri;
use serde::Serialize;
use serde_json::Value;

use crate::ApiError;

/// The default page size of the original API.
pub const DEFAULT_PAGE_SIZE: u64 = 12;
/// The largest page size honoured (larger requests are clamped, as DRF does).
pub const MAX_PAGE_SIZE: u64 = 100;

/// [`PageRequest::page`] of `?page=last` (real page numbers start at 1).
pub const LAST_PAGE: u64 = 0;

/// A requested page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number, or [`LAST_PAGE`].
    pub page: u64,
    /// Items per page.
    pub size: u64,
}

impl PageRequest {
    /// Reads `page` and `page_size` from the query pairs. Non-numbers are field errors;
    /// a page size above the maximum is clamped; zero or missing sizes use the default.
    pub fn parse(query: &BTreeMap<String, String>) -> Result<PageRequest, ApiError> {
        let mut errors = BTreeMap::new();
        let page = match query.get("page").map(String::as_str) {
            None | Some("") => 1,
            Some("last") => LAST_PAGE,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    errors.insert(
                        "page".to_owned(),
                        Value::String("A valid integer is required.".into()),
                    );
                    1
                }
            },
        };
        let size = match query.get("page_size").map(String::as_str) {
            None | Some("") => DEFAULT_PAGE_SIZE,
            Some(text) => match text.parse::<u64>() {
                Ok(0) => DEFAULT_PAGE_SIZE,
                Ok(n) => n.min(MAX_PAGE_SIZE),
                Err(_) => {
                    errors.insert(
                        "page_size".to_owned(),
                        Value::String("A valid integer is required.".into()),
                    );
                    DEFAULT_PAGE_SIZE
                }
            },
        };
        if errors.is_empty() {
            Ok(PageRequest { page, size })
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// Zero-based offset of the first item (of a numbered page).
    pub fn offset(self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.size)
    }
}

/// A page of results in the original's shape.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// Total number of items.
    pub count: u64,
    /// URL of the next page, or null.
    pub next: Option<String>,
    /// URL of the previous page, or null.
    pub previous: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

/// Cuts `items` (all matches, in order) into the requested page. A page past the end is
/// 404 `{"detail": "Invalid page."}` (page 1 of an empty list is an empty page).
pub fn paginate<T>(
    items: Vec<T>,
    request: PageRequest,
    base: &str,
    uri: &Uri,
) -> Result<Page<T>, ApiError> {
    let count = items.len() as u64;
    let pages = count.div_ceil(request.size).max(1);
    let page = if request.page == LAST_PAGE {
        pages
    } else {
        request.page
    };
    if page > pages {
        return Err(ApiError::NotFound("Invalid page.".into()));
    }
    let request = PageRequest {
        page,
        size: request.size,
    };
    let results: Vec<T> = items
        .into_iter()
        .skip(usize::try_from(request.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(request.size).unwrap_or(usize::MAX))
        .collect();
    let link = |n: u64| page_url(base, uri, n);
    Ok(Page {
        count,
        next: (page < pages).then(|| link(page + 1)),
        previous: (page > 1).then(|| {
            if page == 2 {
                page_url_without(base, uri)
            } else {
                link(page - 1)
            }
        }),
        results,
    })
}

fn query_without_page(uri: &Uri) -> Vec<String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .map(str::to_owned)
        .collect()
}

fn page_url(base: &str, uri: &Uri, page: u64) -> String {
    let mut pairs = query_without_page(uri);
    pairs.push(format!("page={page}"));
    format!("{base}{}?{}", uri.path(), pairs.join("&"))
}

fn page_url_without(base: &str, uri: &Uri) -> String {
    let pairs = query_without_page(uri);
    if pairs.is_empty() {
        format!("{base}{}", uri.path())
    } else {
        format!("{base}{}?{}", uri.path(), pairs.join("&"))
    }
}

/// DRF's `LimitOffsetPagination` with its parameter names, default and maximum: a
/// missing, invalid or zero limit is the default, a larger one the maximum; an invalid
/// offset is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitOffset {
    /// The limit's query parameter (`limit`, the legacy views' `l`).
    pub limit_key: &'static str,
    /// The offset's query parameter (`offset`, the legacy views' `o`).
    pub offset_key: &'static str,
    /// The page size without a limit.
    pub default: u64,
    /// The largest limit honoured, if any.
    pub max: Option<u64>,
}

/// A limit/offset window read from a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Items per page.
    pub limit: u64,
    /// Items skipped.
    pub offset: u64,
}

impl Window {
    /// This window of `items`.
    pub fn slice<T>(self, items: Vec<T>) -> Vec<T> {
        items
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .collect()
    }
}

impl LimitOffset {
    /// `limit` / `offset` (default 10, no maximum): the v0 staff discount routes.
    pub const V0_DISCOUNTS: LimitOffset = LimitOffset {
        limit_key: "limit",
        offset_key: "offset",
        default: 10,
        max: None,
    };

    /// `l` / `o` (default 10, at most 50): the legacy `/api/discounts/` views.
    pub const LEGACY_DISCOUNTS: LimitOffset = LimitOffset {
        limit_key: "l",
        offset_key: "o",
        default: 10,
        max: Some(50),
    };

    /// The window the query asks for.
    pub fn window(self, query: &HashMap<String, String>) -> Window {
        let limit = query
            .get(self.limit_key)
            .and_then(|l| l.trim().parse::<u64>().ok())
            .filter(|l| *l > 0)
            .map_or(self.default, |l| self.max.map_or(l, |max| l.min(max)));
        let offset = query
            .get(self.offset_key)
            .and_then(|o| o.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Window { limit, offset }
    }

    /// The URL of another window: the other query parameters (sorted), then the limit and
    /// the offset (left out when 0).
    fn link(self, url: &str, query: &HashMap<String, String>, window: Window) -> String {
        let mut pairs: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| *k != self.limit_key && *k != self.offset_key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        pairs.sort();
        pairs.push((self.limit_key.to_owned(), window.limit.to_string()));
        if window.offset > 0 {
            pairs.push((self.offset_key.to_owned(), window.offset.to_string()));
        }
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{url}?{encoded}")
    }

    /// `{count, next, previous, results}` for the window's `results` out of `count`, with
    /// links to `url` (the absolute URL of the listing, without its query).
    pub fn page(
        self,
        url: &str,
        query: &HashMap<String, String>,
        window: Window,
        count: u64,
        results: Vec<Value>,
    ) -> Value {
        let Window { limit, offset } = window;
        let next = (offset.saturating_add(limit) < count).then(|| {
            self.link(
                url,
                query,
                Window {
                    limit,
                    offset: offset + limit,
                },
            )
        });
        let previous = (offset > 0).then(|| {
            self.link(
                url,
                query,
                Window {
                    limit,
                    offset: offset.saturating_sub(limit),
                },
            )
        });
        serde_json::json!({
            "count": count,
            "next": next,
            "previous": previous,
            "results": results,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn limit_offset_windows_and_links() {
        let q = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let legacy = LimitOffset::LEGACY_DISCOUNTS;
        assert_eq!(
            legacy.window(&q(&[])),
            Window {
                limit: 10,
                offset: 0
            }
        );
        assert_eq!(
            legacy.window(&q(&[("l", "60"), ("o", "5")])),
            Window {
                limit: 50,
                offset: 5
            }
        );
        assert_eq!(
            legacy.window(&q(&[("l", "0"), ("o", "x")])),
            Window {
                limit: 10,
                offset: 0
            }
        );
        assert_eq!(
            LimitOffset::V0_DISCOUNTS
                .window(&q(&[("limit", "500")]))
                .limit,
            500
        );
        let query = q(&[("l", "2"), ("o", "2"), ("q", "a b")]);
        let window = legacy.window(&query);
        assert_eq!(window.slice((0..10).collect::<Vec<_>>()), vec![2, 3]);
        let page = legacy.page("http://h/api/discounts/", &query, window, 5, Vec::new());
        assert_eq!(page["next"], "http://h/api/discounts/?q=a+b&l=2&o=4");
        assert_eq!(page["previous"], "http://h/api/discounts/?q=a+b&l=2");
        let last = legacy.page(
            "http://h/x/",
            &query,
            Window {
                limit: 2,
                offset: 4,
            },
            5,
            Vec::new(),
        );
        assert!(last["next"].is_null());
        let huge = legacy.page(
            "http://h/x/",
            &query,
            Window {
                limit: 50,
                offset: u64::MAX,
            },
            5,
            Vec::new(),
        );
        assert!(huge["next"].is_null());
    }

    #[test]
    fn sizes_default_and_clamp() {
        assert_eq!(
            PageRequest::parse(&query(&[])).unwrap(),
            PageRequest { page: 1, size: 12 }
        );
        assert_eq!(
            PageRequest::parse(&query(&[("page_size", "500")]))
                .unwrap()
                .size,
            100
        );
        assert!(PageRequest::parse(&query(&[("page", "x")])).is_err());
        assert!(PageRequest::parse(&query(&[("page", "0")])).is_err());
    }

    #[test]
    fn pages_and_links() {
        let uri: Uri = "/api/v2/courses/?live=true&page=2".parse().unwrap();
        let page = paginate(
            (0..30).collect(),
            PageRequest { page: 2, size: 12 },
            "http://h",
            &uri,
        )
        .unwrap();
        assert_eq!(page.count, 30);
        assert_eq!(page.results.first(), Some(&12));
        assert_eq!(
            page.next.as_deref(),
            Some("http://h/api/v2/courses/?live=true&page=3")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://h/api/v2/courses/?live=true")
        );
        for beyond in [4, u64::MAX] {
            assert!(
                paginate(
                    (0..30).collect::<Vec<i32>>(),
                    PageRequest {
                        page: beyond,
                        size: 12
                    },
                    "http://h",
                    &uri
                )
                .is_err(),
                "{beyond}"
            );
        }
        let last = PageRequest::parse(&query(&[("page", "last")])).unwrap();
        let page = paginate((0..30).collect::<Vec<i32>>(), last, "http://h", &uri).unwrap();
        assert_eq!(page.results.first(), Some(&24));
        let huge = PageRequest::parse(&query(&[("page", "18446744073709551615")])).unwrap();
        assert!(paginate((0..30).collect::<Vec<i32>>(), huge, "http://h", &uri).is_err());
        let empty = paginate(
            Vec::<i32>::new(),
            PageRequest { page: 1, size: 12 },
            "http://h",
            &uri,
        )
        .unwrap();
        assert_eq!(empty.count, 0);
    }
}
