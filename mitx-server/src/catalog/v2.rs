//! `/api/v2/courses/` (courses spec 5.4).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use mitx_store::catalog_api::{CatalogRun, CourseFilter, ProgramFilter};

use super::shapes::{Ctx, DepartmentV2, ProgramCollectionV2, RunSelection, V2Course, V2Program};
use super::{FieldErrors, base_url, course_by_key, query_map};
use crate::etag::json_with_etag;
use crate::pagination::{PageRequest, paginate};
use crate::{ApiError, AppState};

/// The run languages the API accepts as a filter (OpenAPI `LanguageEnum`).
const LANGUAGES: &[&str] = &[
    "af_ZA", "ar", "az", "bo", "da", "de", "de_DE", "el", "en", "es_419", "es_ES", "fa", "fr",
    "fr_CA", "he", "hi", "hu", "id", "it_IT", "ja", "ka", "kk", "ko", "lv", "nl", "pl", "pt_BR",
    "pt_PT", "ro", "ru", "sq", "sv", "sw", "te", "th", "tr_TR", "uk", "uz", "vi", "zh_CN",
    "zh_HANS", "zh_HK",
];

/// The v2 catalog routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/courses/", get(list_courses))
        .route("/api/v2/courses/{id}/", get(course_detail))
        .route("/api/v2/programs/", get(list_programs))
        .route("/api/v2/programs/{id}/", get(program_detail))
        .route("/api/v2/departments/", get(list_departments))
        .route("/api/v2/departments/{id}/", get(department_detail))
        .route("/api/v2/program-collections/", get(list_collections))
        .route("/api/v2/program-collections/{id}/", get(collection_detail))
}

/// The parsed filters of `GET /api/v2/courses/`.
#[derive(Debug, Default)]
struct CourseQuery {
    db: CourseFilter,
    enrollable: Option<bool>,
    language: Option<String>,
    variant_length: Option<String>,
    variant_industry: Option<String>,
    /// `org_id` or `contract_id` was given.
    b2b_context: bool,
}

fn parse_course_query(query: &BTreeMap<String, String>) -> Result<CourseQuery, ApiError> {
    let mut errors = FieldErrors::default();
    let parsed = CourseQuery {
        db: CourseFilter {
            ids: errors.int_list(query, "id"),
            live: errors.boolean(query, "live"),
            readable_id: query.get("readable_id").filter(|v| !v.is_empty()).cloned(),
            page_live: errors.boolean(query, "page__live"),
        },
        enrollable: errors.boolean(query, "courserun_is_enrollable"),
        language: errors.choice(query, "courseruns__language", LANGUAGES),
        variant_length: errors.choice(query, "courseruns__variant_length", &["", "S"]),
        variant_industry: errors.choice(
            query,
            "courseruns__variant_industry",
            &["", "E", "F", "HC"],
        ),
        b2b_context: errors.number(query, "org_id").is_some()
            | errors.number(query, "contract_id").is_some(),
    };
    let _ = errors.boolean(query, "include_approved_financial_aid");
    let page_errors = PageRequest::parse(query).err();
    errors.into_result()?;
    match page_errors {
        Some(err) => Err(err),
        None => Ok(parsed),
    }
}

/// Whether `runs` (one course's) satisfy the run-based filters of the listing.
fn runs_match(runs: &[&CatalogRun], q: &CourseQuery, now: chrono::DateTime<Utc>) -> bool {
    let usable = || runs.iter().map(|r| &r.run).filter(|r| r.is_usable());
    let enrollable_ok = match q.enrollable {
        None => true,
        Some(want) => usable().any(|r| r.is_enrollable(now) == want),
    };
    let language_ok = q
        .language
        .as_ref()
        .is_none_or(|l| usable().any(|r| &r.language == l));
    let length_ok = q
        .variant_length
        .as_ref()
        .is_none_or(|v| usable().any(|r| r.variant_length.code() == v));
    let industry_ok = q
        .variant_industry
        .as_ref()
        .is_none_or(|v| usable().any(|r| r.variant_industry.code() == v));
    enrollable_ok && language_ok && length_ok && industry_ok
}

async fn list_courses(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&headers);
    let query = query_map(&uri)?;
    let q = parse_course_query(&query)?;
    let page = PageRequest::parse(&query)?;
    // No B2B access is implemented yet: an org or contract the caller cannot reach
    // answers an empty list, as the original does for a user without access.
    let mut ids = if q.b2b_context {
        Vec::new()
    } else {
        state.store.catalog_course_ids(&q.db).await?
    };
    let run_filtered = q.enrollable.is_some()
        || q.language.is_some()
        || q.variant_length.is_some()
        || q.variant_industry.is_some();
    if run_filtered && !ids.is_empty() {
        // One query for the runs of every candidate, then the rules of mitx-core.
        let runs = state.store.catalog_runs_of(&ids).await?;
        ids.retain(|id| {
            let mine: Vec<&CatalogRun> = runs.iter().filter(|r| r.run.course_id.0 == *id).collect();
            runs_match(&mine, &q, now)
        });
    }
    let page = paginate(ids, page, &site, &uri)?;
    let courses = state.store.catalog_courses(&page.results).await?;
    let selection = q
        .enrollable
        .map_or(RunSelection::All, RunSelection::Enrollable);
    let ctx = Ctx::new(&state, &site, now);
    let results: Vec<V2Course> = courses
        .iter()
        .map(|c| V2Course::new(c, selection, ctx))
        .collect();
    let body = crate::pagination::Page {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results,
    };
    Ok(json_with_etag(&headers, &body))
}

async fn course_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&headers);
    let course = course_by_key(&state, &key).await?;
    let course = &course;
    let ctx = Ctx::new(&state, &site, now);
    Ok(json_with_etag(
        &headers,
        &V2Course::new(course, RunSelection::All, ctx),
    ))
}

async fn list_programs(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&headers);
    let query = query_map(&uri)?;
    let mut errors = FieldErrors::default();
    let filter = ProgramFilter {
        ids: errors.int_list(&query, "id"),
        live: errors.boolean(&query, "live"),
        readable_id: query.get("readable_id").filter(|v| !v.is_empty()).cloned(),
        page_live: errors.boolean(&query, "page__live"),
    };
    // No B2B access is implemented yet, so an org or contract is never accessible: the
    // original then answers the non-B2B list, which is what the store returns.
    let _ = errors.number(&query, "org_id");
    let _ = errors.number(&query, "contract_id");
    errors.into_result()?;
    let page = PageRequest::parse(&query)?;
    let ids = state.store.catalog_program_ids(&filter).await?;
    let page = paginate(ids, page, &site, &uri)?;
    let programs = state.store.catalog_programs(&page.results).await?;
    let ctx = Ctx::new(&state, &site, now);
    let body = crate::pagination::Page {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results: programs
            .iter()
            .map(|p| V2Program::new(p, ctx))
            .collect::<Vec<_>>(),
    };
    Ok(json_with_etag(&headers, &body))
}

async fn program_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&headers);
    // B2B-only programs are not found without an org/contract context, which no caller
    // has yet.
    let id = state
        .store
        .catalog_program_id(&key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let programs = state.store.catalog_programs(&[id]).await?;
    let program = programs.first().ok_or_else(ApiError::not_found)?;
    let ctx = Ctx::new(&state, &site, now);
    Ok(json_with_etag(&headers, &V2Program::new(program, ctx)))
}

/// Departments with the course ids narrowed to courses having an enrollable usable run
/// (one query for the runs of every candidate course).
async fn departments(state: &AppState, only: Option<i64>) -> Result<Vec<DepartmentV2>, ApiError> {
    let now = Utc::now();
    let departments = state.store.catalog_departments(only).await?;
    let mut candidates: Vec<i64> = departments
        .iter()
        .flat_map(|d| d.course_ids.iter().copied())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let runs = state.store.catalog_runs_of(&candidates).await?;
    let enrollable = |course: i64| {
        runs.iter()
            .any(|r| r.run.course_id.0 == course && r.run.is_usable() && r.run.is_enrollable(now))
    };
    Ok(departments
        .into_iter()
        .map(|d| DepartmentV2 {
            id: d.id,
            course_ids: d
                .course_ids
                .into_iter()
                .filter(|c| enrollable(*c))
                .collect(),
            program_ids: d.program_ids,
            name: d.name,
            slug: d.slug,
        })
        .collect())
}

async fn list_departments(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(json_with_etag(&headers, &departments(&state, None).await?))
}

async fn department_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let mut found = departments(&state, Some(id)).await?;
    let department = found.pop().ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(&headers, &department))
}

async fn list_collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let site = base_url(&headers);
    let query = query_map(&uri)?;
    let page = PageRequest::parse(&query)?;
    let ids = state.store.catalog_collection_ids().await?;
    let page = paginate(ids, page, &site, &uri)?;
    let collections = state.store.catalog_collections(&page.results).await?;
    let body = crate::pagination::Page {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results: collections
            .iter()
            .map(ProgramCollectionV2::from)
            .collect::<Vec<_>>(),
    };
    Ok(json_with_etag(&headers, &body))
}

async fn collection_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let found = state.store.catalog_collections(&[id]).await?;
    let collection = found.first().ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(
        &headers,
        &ProgramCollectionV2::from(collection),
    ))
}
