//! DRF page-number pagination: `?page=n&page_size=k` (default 12, at most 100), bodies
//! `{count, next, previous, results}`, and 404 for a page past the end.

use std::collections::BTreeMap;

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
