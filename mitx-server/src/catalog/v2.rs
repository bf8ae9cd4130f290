//! `/api/v2/` catalog (courses spec 5.4).
//!
//! B2B filters: `org_id` / `contract_id` are checked against the caller (resolved from the
//! gateway header only when one of them is given). An organization is accessible to its
//! members (`user_organizations`), a contract to its attached learners
//! (`contract_learners`; SSO reconciliation attaches organization members to its active
//! managed/auto contracts). Courses: each accessible parameter keeps the courses having a
//! run in an active-flagged contract of it, an inaccessible one empties the list (or 404s
//! the detail); `courseruns`, `next_run_id` and `programs` then follow the B2B view.
//! Programs: each accessible parameter keeps the programs linked to its contracts
//! (`contract_programs`, B2B-only included), an inaccessible one keeps the non-B2B list.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use mitx_core::ids::ContractId;
use mitx_services::store::catalog_api::{CatalogRun, CourseFilter, ProgramFilter};

use super::shapes::{
    B2bView, Ctx, DepartmentV2, ProgramCollectionV2, RunSelection, V2Course, V2Program,
};
use super::{FieldErrors, base_url, course_by_key, query_map};
use crate::auth::CurrentUser;
use crate::etag::json_with_etag;
use crate::pagination::{PageRequest, paginate};
use crate::path_key::PathKey;
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

/// The `org_id` / `contract_id` parameters of a v2 catalog request (empty = not given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct B2bParams {
    org: Option<i64>,
    contract: Option<i64>,
}

impl B2bParams {
    fn parse(query: &BTreeMap<String, String>, errors: &mut FieldErrors) -> Self {
        B2bParams {
            org: errors.number(query, "org_id"),
            contract: errors.number(query, "contract_id"),
        }
    }

    fn given(self) -> bool {
        self.org.is_some() || self.contract.is_some()
    }
}

/// One given B2B parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum B2bParam {
    Org(i64),
    Contract(i64),
}

impl B2bParam {
    /// `(organization, contract)` for the store filters.
    fn filter(self) -> (Option<i64>, Option<i64>) {
        match self {
            B2bParam::Org(id) => (Some(id), None),
            B2bParam::Contract(id) => (None, Some(id)),
        }
    }
}

/// What the caller may reach: their organizations and attached contracts.
#[derive(Clone, Debug, Default)]
struct B2bAccess {
    orgs: Vec<i64>,
    contracts: Vec<i64>,
}

impl B2bAccess {
    /// Resolves the caller (only called when a B2B parameter is present) and reads their
    /// memberships and contracts; anonymous callers reach nothing. `Err` is the response
    /// to answer instead (authentication refused, or a database failure).
    async fn of_request(state: &AppState, parts: &mut Parts) -> Result<Self, Response> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(user) = user else {
            return Ok(B2bAccess::default());
        };
        let read = async {
            Ok::<_, ApiError>(B2bAccess {
                orgs: state.store.user_org_ids(user.id).await?,
                contracts: state.store.user_contract_ids(user.id).await?,
            })
        };
        read.await.map_err(IntoResponse::into_response)
    }

    /// The given parameters with whether each is accessible.
    fn check(&self, params: B2bParams) -> Vec<(B2bParam, bool)> {
        let mut out = Vec::new();
        if let Some(org) = params.org {
            out.push((B2bParam::Org(org), self.orgs.contains(&org)));
        }
        if let Some(contract) = params.contract {
            out.push((
                B2bParam::Contract(contract),
                self.contracts.contains(&contract),
            ));
        }
        out
    }
}

/// The B2B view of courses for a caller with access to every given parameter.
async fn course_view(
    state: &AppState,
    params: B2bParams,
    access: &B2bAccess,
) -> Result<B2bView, ApiError> {
    let mut run_contracts: Option<Vec<i64>> = None;
    let mut user_contracts: Vec<i64> = Vec::new();
    if let Some(org) = params.org {
        let of_org = state.store.organization_contract_ids(org).await?;
        user_contracts = access
            .contracts
            .iter()
            .copied()
            .filter(|c| of_org.contains(c))
            .collect();
        run_contracts = Some(of_org);
    }
    if let Some(contract) = params.contract {
        run_contracts = Some(match run_contracts {
            None => vec![contract],
            Some(ids) => ids.into_iter().filter(|c| *c == contract).collect(),
        });
        user_contracts = access
            .contracts
            .iter()
            .copied()
            .filter(|c| *c == contract)
            .collect();
    }
    // The original filters a course's programs by the organization when both are given.
    let programs = match (params.org, params.contract) {
        (None, None) => Vec::new(),
        (Some(org), _) => {
            (state.store)
                .catalog_contract_program_ids(Some(org), None)
                .await?
        }
        (None, contract) => {
            (state.store)
                .catalog_contract_program_ids(None, contract)
                .await?
        }
    };
    Ok(B2bView {
        run_contracts: run_contracts
            .unwrap_or_default()
            .into_iter()
            .map(ContractId)
            .collect(),
        user_contracts: user_contracts.into_iter().map(ContractId).collect(),
        programs,
    })
}

/// The parsed filters of `GET /api/v2/courses/`.
#[derive(Debug, Default)]
struct CourseQuery {
    db: CourseFilter,
    enrollable: Option<bool>,
    language: Option<String>,
    variant_length: Option<String>,
    variant_industry: Option<String>,
    /// `org_id` / `contract_id`.
    b2b: B2bParams,
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
        b2b: B2bParams::parse(query, &mut errors),
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

#[utoipa::path(get, operation_id = "catalog_v2_courses_list", path = "/api/v2/courses/", tag = "catalog",
    params(("page" = Option<u64>, Query, description = "1-based page"), ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)"), ("id" = Option<String>, Query, description = "Comma-separated ids"), ("live" = Option<bool>, Query), ("readable_id" = Option<String>, Query), ("page__live" = Option<bool>, Query), ("courserun_is_enrollable" = Option<bool>, Query), ("courseruns__language" = Option<String>, Query), ("courseruns__variant_length" = Option<String>, Query), ("courseruns__variant_industry" = Option<String>, Query), ("include_approved_financial_aid" = Option<bool>, Query), ("org_id" = Option<i64>, Query, description = "Organization the caller belongs to"), ("contract_id" = Option<i64>, Query, description = "Contract the caller is attached to")),
    responses((status = 200, body = crate::pagination::Page<V2Course>, description = "Courses by title"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors), (status = 304, description = "Not modified (If-None-Match)")))]
async fn list_courses(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let (headers, uri) = (parts.headers.clone(), parts.uri.clone());
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let q = parse_course_query(&query)?;
    let page = PageRequest::parse(&query)?;
    let mut ids = state.store.catalog_course_ids(&q.db).await?;
    let mut view = None;
    if q.b2b.given() {
        // An org or contract the caller cannot reach answers an empty list; each one they
        // can reach keeps the courses with runs in its active contracts.
        let access = match B2bAccess::of_request(&state, &mut parts).await {
            Ok(access) => access,
            Err(response) => return Ok(response),
        };
        let checked = access.check(q.b2b);
        for (param, accessible) in &checked {
            if !accessible {
                ids.clear();
            }
            if ids.is_empty() {
                break;
            }
            let (org, contract) = param.filter();
            let keep: BTreeSet<i64> = state
                .store
                .catalog_b2b_course_ids(org, contract)
                .await?
                .into_iter()
                .collect();
            ids.retain(|id| keep.contains(id));
        }
        if checked.iter().all(|(_, accessible)| *accessible) {
            view = Some(course_view(&state, q.b2b, &access).await?);
        }
    }
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
    let mut ctx = Ctx::new(&state, &site, now);
    if let Some(view) = &view {
        ctx = ctx.with_b2b(view);
    }
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

#[utoipa::path(get, operation_id = "catalog_v2_courses_retrieve", path = "/api/v2/courses/{id}/", tag = "catalog",
    params(("id" = String, Path, description = "Id (digits) or readable id"), ("org_id" = Option<i64>, Query, description = "Organization the caller belongs to"), ("contract_id" = Option<i64>, Query, description = "Contract the caller is attached to")),
    responses((status = 200, body = V2Course), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors), (status = 404, description = "Not found", body = crate::openapi::Detail), (status = 304, description = "Not modified (If-None-Match)")))]
async fn course_detail(
    State(state): State<AppState>,
    PathKey(key): PathKey,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let headers = parts.headers.clone();
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&parts.uri)?;
    let mut errors = FieldErrors::default();
    let params = B2bParams::parse(&query, &mut errors);
    errors.into_result()?;
    let course = course_by_key(&state, &key).await?;
    let course = &course;
    // The detail goes through the same filters as the listing: under an org or contract
    // the course must be one of its courses, for a caller who can reach it.
    let mut view = None;
    if params.given() {
        let access = match B2bAccess::of_request(&state, &mut parts).await {
            Ok(access) => access,
            Err(response) => return Ok(response),
        };
        for (param, accessible) in access.check(params) {
            let (org, contract) = param.filter();
            if !accessible
                || !state
                    .store
                    .catalog_b2b_course_ids(org, contract)
                    .await?
                    .contains(&course.id)
            {
                return Err(ApiError::not_found());
            }
        }
        view = Some(course_view(&state, params, &access).await?);
    }
    let mut ctx = Ctx::new(&state, &site, now);
    if let Some(view) = &view {
        ctx = ctx.with_b2b(view);
    }
    Ok(json_with_etag(
        &headers,
        &V2Course::new(course, RunSelection::All, ctx),
    ))
}

/// Applies the B2B parameters to program ids: an accessible parameter keeps the programs
/// linked to its contracts, an inaccessible one keeps the public (non-B2B-only) ones.
async fn filter_b2b_programs(
    state: &AppState,
    checked: &[(B2bParam, bool)],
    ids: &mut Vec<i64>,
    public: impl AsyncFnOnce() -> Result<Vec<i64>, ApiError>,
) -> Result<(), ApiError> {
    let mut public = Some(public);
    for (param, accessible) in checked {
        let keep: BTreeSet<i64> = if *accessible {
            let (org, contract) = param.filter();
            state
                .store
                .catalog_contract_program_ids(org, contract)
                .await?
                .into_iter()
                .collect()
        } else if let Some(public) = public.take() {
            public().await?.into_iter().collect()
        } else {
            // The public filter was applied already.
            continue;
        };
        ids.retain(|id| keep.contains(id));
    }
    Ok(())
}

#[utoipa::path(get, operation_id = "catalog_v2_programs_list", path = "/api/v2/programs/", tag = "catalog",
    params(("page" = Option<u64>, Query, description = "1-based page"), ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)"), ("id" = Option<String>, Query, description = "Comma-separated ids"), ("live" = Option<bool>, Query), ("readable_id" = Option<String>, Query), ("page__live" = Option<bool>, Query), ("org_id" = Option<i64>, Query, description = "Organization the caller belongs to"), ("contract_id" = Option<i64>, Query, description = "Contract the caller is attached to")),
    responses((status = 200, body = crate::pagination::Page<V2Program>, description = "Programs by title"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors), (status = 304, description = "Not modified (If-None-Match)")))]
async fn list_programs(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let (headers, uri) = (parts.headers.clone(), parts.uri.clone());
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let mut errors = FieldErrors::default();
    let filter = ProgramFilter {
        ids: errors.int_list(&query, "id"),
        live: errors.boolean(&query, "live"),
        readable_id: query.get("readable_id").filter(|v| !v.is_empty()).cloned(),
        page_live: errors.boolean(&query, "page__live"),
    };
    let params = B2bParams::parse(&query, &mut errors);
    errors.into_result()?;
    let page = PageRequest::parse(&query)?;
    let ids = if params.given() {
        let access = match B2bAccess::of_request(&state, &mut parts).await {
            Ok(access) => access,
            Err(response) => return Ok(response),
        };
        let mut ids = state.store.catalog_program_ids_with_b2b(&filter).await?;
        let store = &state.store;
        let filter = &filter;
        filter_b2b_programs(&state, &access.check(params), &mut ids, async || {
            Ok(store.catalog_program_ids(filter).await?)
        })
        .await?;
        ids
    } else {
        state.store.catalog_program_ids(&filter).await?
    };
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

#[utoipa::path(get, operation_id = "catalog_v2_programs_retrieve", path = "/api/v2/programs/{id}/", tag = "catalog",
    params(("id" = String, Path, description = "Id (digits) or readable id"), ("org_id" = Option<i64>, Query, description = "Organization the caller belongs to"), ("contract_id" = Option<i64>, Query, description = "Contract the caller is attached to")),
    responses((status = 200, body = V2Program), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors), (status = 404, description = "Not found", body = crate::openapi::Detail), (status = 304, description = "Not modified (If-None-Match)")))]
async fn program_detail(
    State(state): State<AppState>,
    PathKey(key): PathKey,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let headers = parts.headers.clone();
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&parts.uri)?;
    let mut errors = FieldErrors::default();
    let params = B2bParams::parse(&query, &mut errors);
    errors.into_result()?;
    // B2B-only programs are not found without an org/contract parameter; with one, the
    // same filters as the listing apply.
    let id = if params.given() {
        let id = state
            .store
            .catalog_program_id_with_b2b(&key)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let access = match B2bAccess::of_request(&state, &mut parts).await {
            Ok(access) => access,
            Err(response) => return Ok(response),
        };
        let mut ids = vec![id];
        let store = &state.store;
        filter_b2b_programs(&state, &access.check(params), &mut ids, async || {
            Ok(store.catalog_program_id(&key).await?.into_iter().collect())
        })
        .await?;
        ids.pop().ok_or_else(ApiError::not_found)?
    } else {
        state
            .store
            .catalog_program_id(&key)
            .await?
            .ok_or_else(ApiError::not_found)?
    };
    let programs = state.store.catalog_programs(&[id]).await?;
    let program = programs.first().ok_or_else(ApiError::not_found)?;
    let ctx = Ctx::new(&state, &site, now);
    Ok(json_with_etag(&headers, &V2Program::new(program, ctx)))
}

/// Departments with the course ids narrowed to courses having an enrollable usable run
/// (one query for the runs of every candidate course).
pub(crate) async fn departments(
    state: &AppState,
    only: Option<i64>,
) -> Result<Vec<DepartmentV2>, ApiError> {
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

#[utoipa::path(get, operation_id = "catalog_v2_departments_list", path = "/api/v2/departments/", tag = "catalog",
    responses((status = 200, body = Vec<DepartmentV2>, description = "Departments by name (not paginated)")))]
async fn list_departments(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(json_with_etag(&headers, &departments(&state, None).await?))
}

#[utoipa::path(get, operation_id = "catalog_v2_departments_retrieve", path = "/api/v2/departments/{id}/", tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = DepartmentV2), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn department_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let mut found = departments(&state, Some(id)).await?;
    let department = found.pop().ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(&headers, &department))
}

#[utoipa::path(get, operation_id = "catalog_v2_program_collections_list", path = "/api/v2/program-collections/", tag = "catalog",
    params(("page" = Option<u64>, Query, description = "1-based page"), ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)")),
    responses((status = 200, body = crate::pagination::Page<ProgramCollectionV2>, description = "Collections by title"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors)))]
async fn list_collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let site = base_url(&state, &headers);
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

#[utoipa::path(get, operation_id = "catalog_v2_program_collections_retrieve", path = "/api/v2/program-collections/{id}/", tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = ProgramCollectionV2), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn collection_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let found = state.store.catalog_collections(&[id]).await?;
    let collection = found.first().ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(
        &headers,
        &ProgramCollectionV2::from(collection),
    ))
}
