//! `/api/v1/courses/` and `/api/v1/programs/` (courses spec 5.3): paginated only when
//! `page` is given, else a bare array. Also `/api/v1/course_runs/` and
//! `/api/v1/departments/` (never paginated).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use mitx_services::store::catalog_api::{CatalogCourse, CatalogRun, CourseFilter, ProgramFilter};
use serde_json::{Map, Value, json};

use super::shapes::{Ctx, RunSelection, RunV2, V2Course, V2Program};
use super::{FieldErrors, PathKey, base_url, course_by_key, query_map};
use crate::etag::json_with_etag;
use crate::pagination::{PageRequest, paginate};
use crate::{ApiError, AppState};

/// The v1 catalog routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/courses/", get(list_courses))
        .route("/api/v1/courses/{id}/", get(course_detail))
        .route("/api/v1/programs/", get(list_programs))
        .route("/api/v1/programs/{id}/", get(program_detail))
        .route("/api/v1/course_runs/", get(list_runs))
        .route("/api/v1/course_runs/{id}/", get(run_detail))
        .route("/api/v1/departments/", get(list_departments))
        .route("/api/v1/departments/{id}/", get(department_detail))
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A v1 run: Run + products (each with `product_flexible_price`, null for anonymous
/// readers) + `approved_flexible_price_exists`.
fn v1_run(run: &CatalogRun, ctx: Ctx<'_>) -> Result<Value, ApiError> {
    let mut value = to_value(&RunV2::new(run, ctx))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("b2b_contract");
        if let Some(Value::Array(products)) = map.get_mut("products") {
            for product in products {
                if let Some(p) = product.as_object_mut() {
                    p.insert("product_flexible_price".into(), Value::Null);
                }
            }
        }
    }
    Ok(value)
}

/// `CourseWithRuns`: `programs` is null unless asked for.
fn v1_course(course: &CatalogCourse, with_programs: bool, ctx: Ctx<'_>) -> Result<Value, ApiError> {
    let v2 = V2Course::new(course, RunSelection::All, ctx);
    let mut runs = Vec::new();
    for run in course
        .runs
        .iter()
        .filter(|r| r.run.is_usable() && !r.run.is_b2b())
    {
        runs.push(v1_run(run, ctx)?);
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(v2.id));
    out.insert("title".into(), json!(v2.title));
    out.insert("readable_id".into(), json!(v2.readable_id));
    out.insert("next_run_id".into(), json!(v2.next_run_id));
    out.insert("departments".into(), to_value(&v2.departments)?);
    out.insert("page".into(), to_value(&v2.page)?);
    out.insert(
        "programs".into(),
        if with_programs {
            to_value(&v2.programs)?
        } else {
            Value::Null
        },
    );
    out.insert("courseruns".into(), Value::Array(runs));
    Ok(Value::Object(out))
}

/// Answers `items` as a page when `page` was given, else as a bare array.
fn maybe_paged(
    query: &BTreeMap<String, String>,
    items: Vec<Value>,
    site: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if query.contains_key("page") {
        let page = PageRequest::parse(query)?;
        Ok(json_with_etag(headers, &paginate(items, page, site, uri)?))
    } else {
        Ok(json_with_etag(headers, &items))
    }
}

#[utoipa::path(get, operation_id = "catalog_v1_courses_list", path = "/api/v1/courses/", tag = "catalog",
    params(("page" = Option<u64>, Query, description = "Given: the answer is paginated; absent: a bare array"), ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)"), ("id" = Option<String>, Query, description = "Comma-separated ids"), ("live" = Option<bool>, Query), ("readable_id" = Option<String>, Query), ("page__live" = Option<bool>, Query), ("courserun_is_enrollable" = Option<bool>, Query)),
    responses((status = 200, body = serde_json::Value, description = "CourseWithRuns items: a bare array, or a page when `page` is given"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors)))]
async fn list_courses(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let mut errors = FieldErrors::default();
    let filter = CourseFilter {
        ids: errors.int_list(&query, "id"),
        live: errors.boolean(&query, "live"),
        readable_id: query.get("readable_id").filter(|v| !v.is_empty()).cloned(),
        page_live: errors.boolean(&query, "page__live"),
    };
    let enrollable = errors.boolean(&query, "courserun_is_enrollable");
    errors.into_result()?;
    PageRequest::parse(&query)?;
    let ids = state.store.catalog_course_ids(&filter).await?;
    // v1 lists are small and unpaginated by default: load them all in one batch.
    let courses = state.store.catalog_courses(&ids).await?;
    let ctx = Ctx::new(&state, &site, now);
    let mut items = Vec::new();
    for course in &courses {
        if let Some(want) = enrollable {
            let usable = course.runs.iter().filter(|r| r.run.is_usable());
            if !usable.clone().any(|r| r.run.is_enrollable(now) == want) {
                continue;
            }
        }
        items.push(v1_course(course, filter.readable_id.is_some(), ctx)?);
    }
    maybe_paged(&query, items, &site, &uri, &headers)
}

#[utoipa::path(get, operation_id = "catalog_v1_courses_retrieve", path = "/api/v1/courses/{id}/", tag = "catalog",
    params(("id" = String, Path, description = "Id (digits) or readable id")),
    responses((status = 200, body = serde_json::Value, description = "CourseWithRuns"), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn course_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let course = course_by_key(&state, &key).await?;
    let course = &course;
    let ctx = Ctx::new(&state, &site, now);
    Ok(json_with_etag(&headers, &v1_course(course, false, ctx)?))
}

/// The v1 `req_tree`: an array holding the root node (`program_root`) with its subtree
/// (empty without a tree). Learner records show it as the program's `requirements`.
pub(crate) fn v1_req_tree(
    program: &mitx_services::store::catalog_api::CatalogProgram,
    v2: &V2Program,
) -> Result<Vec<Value>, ApiError> {
    let root = program.requirements.iter().find(|n| n.parent_id.is_none());
    Ok(match root {
        None => Vec::new(),
        Some(root) => vec![json!({
            "id": root.id,
            "data": {
                "node_type": root.node_type,
                "operator": root.operator,
                "operator_value": root.operator_value,
                "program": program.id,
                "course": root.course_id,
                "required_program": root.required_program_id,
                "title": root.title,
                "elective_flag": root.elective_flag,
            },
            "children": to_value(&v2.req_tree)?,
        })],
    })
}

/// The v1 program item, given its live courses already rendered.
fn v1_program(
    program: &mitx_services::store::catalog_api::CatalogProgram,
    courses: &[(i64, Value)],
    ctx: Ctx<'_>,
) -> Result<Value, ApiError> {
    let v2 = V2Program::new(program, ctx);
    let ids =
        |list: &[super::shapes::IdAndReadable]| -> Vec<i64> { list.iter().map(|c| c.id).collect() };
    let req_tree = v1_req_tree(program, &v2)?;
    let course_items: Vec<Value> = v2
        .courses
        .iter()
        .filter_map(|id| {
            courses
                .iter()
                .find(|(c, _)| c == id)
                .map(|(_, v)| v.clone())
        })
        .collect();
    Ok(json!({
        "title": v2.title,
        "readable_id": v2.readable_id,
        "id": v2.id,
        "courses": course_items,
        "requirements": {
            "required": ids(&v2.requirements.courses.required),
            "electives": ids(&v2.requirements.courses.electives),
        },
        "req_tree": req_tree,
        "page": match &v2.page {
            Some(page) => to_value(page)?,
            None => json!({ "feature_image_src": null }),
        },
        "program_type": v2.program_type,
        "departments": to_value(&v2.departments)?,
        "live": v2.live,
        "enrollment_modes": to_value(&v2.enrollment_modes)?,
    }))
}

async fn programs_json(
    state: &AppState,
    ids: &[i64],
    ctx: Ctx<'_>,
) -> Result<Vec<Value>, ApiError> {
    let programs = state.store.catalog_programs(ids).await?;
    v1_programs(state, &programs, ctx).await
}

/// The v1 items of programs already read, in their order (one batch for their courses).
pub(crate) async fn v1_programs(
    state: &AppState,
    programs: &[mitx_services::store::catalog_api::CatalogProgram],
    ctx: Ctx<'_>,
) -> Result<Vec<Value>, ApiError> {
    let mut course_ids: Vec<i64> = programs
        .iter()
        .flat_map(|p| p.requirements.iter())
        .filter(|n| n.course_live)
        .filter_map(|n| n.course_id)
        .collect();
    course_ids.sort_unstable();
    course_ids.dedup();
    // One batch for the courses of every program on the page.
    let courses = state.store.catalog_courses(&course_ids).await?;
    let mut rendered = Vec::with_capacity(courses.len());
    for course in &courses {
        rendered.push((course.id, v1_course(course, false, ctx)?));
    }
    programs
        .iter()
        .map(|p| v1_program(p, &rendered, ctx))
        .collect()
}

#[utoipa::path(get, operation_id = "catalog_v1_programs_list", path = "/api/v1/programs/", tag = "catalog",
    params(("page" = Option<u64>, Query, description = "Given: the answer is paginated; absent: a bare array"), ("page_size" = Option<u64>, Query, description = "Items per page (default 12, at most 100)"), ("id" = Option<String>, Query, description = "Comma-separated ids"), ("live" = Option<bool>, Query), ("readable_id" = Option<String>, Query)),
    responses((status = 200, body = serde_json::Value, description = "V1Program items: a bare array, or a page when `page` is given"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors)))]
async fn list_programs(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let mut errors = FieldErrors::default();
    let filter = ProgramFilter {
        ids: errors.int_list(&query, "id"),
        live: errors.boolean(&query, "live"),
        readable_id: query.get("readable_id").filter(|v| !v.is_empty()).cloned(),
        page_live: None,
    };
    errors.into_result()?;
    let ctx = Ctx::new(&state, &site, now);
    let ids = state.store.catalog_program_ids(&filter).await?;
    if query.contains_key("page") {
        // Render only the requested page.
        let request = PageRequest::parse(&query)?;
        let page = paginate(ids, request, &site, &uri)?;
        let results = programs_json(&state, &page.results, ctx).await?;
        let body = crate::pagination::Page {
            count: page.count,
            next: page.next,
            previous: page.previous,
            results,
        };
        return Ok(json_with_etag(&headers, &body));
    }
    let items = programs_json(&state, &ids, ctx).await?;
    Ok(json_with_etag(&headers, &items))
}

#[utoipa::path(get, operation_id = "catalog_v1_programs_retrieve", path = "/api/v1/programs/{id}/", tag = "catalog",
    params(("id" = String, Path, description = "Id (digits) or readable id")),
    responses((status = 200, body = serde_json::Value, description = "V1Program"), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn program_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let id = state
        .store
        .catalog_program_id(&key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let ctx = Ctx::new(&state, &site, now);
    let mut items = programs_json(&state, &[id], ctx).await?;
    let item = items.pop().ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(&headers, &item))
}

/// A v1 run with its `course` (id, title, readable_id, next_run_id, departments, page,
/// programs).
pub(crate) fn v1_run_with_course(
    run: &CatalogRun,
    course: &CatalogCourse,
    relevant: bool,
    ctx: Ctx<'_>,
) -> Result<Value, ApiError> {
    let mut value = v1_run(run, ctx)?;
    let mut course_value = v1_course(course, true, ctx)?;
    if let Some(map) = course_value.as_object_mut() {
        map.remove("courseruns");
    }
    if let Some(map) = value.as_object_mut() {
        map.insert("course".into(), course_value);
        if relevant {
            // Anonymous readers are never enrolled.
            map.insert("is_enrolled".into(), Value::Bool(false));
            map.insert("is_verified".into(), Value::Bool(false));
        }
    }
    Ok(value)
}

/// Course ids named by `relevant_to` (a course or program readable id), or none.
async fn relevant_course_ids(state: &AppState, key: &str) -> Result<Vec<i64>, ApiError> {
    if let Some(id) = state.store.catalog_course_id(key).await? {
        return Ok(vec![id]);
    }
    let Some(program) = state.store.catalog_program_id(key).await? else {
        return Ok(Vec::new());
    };
    let programs = state.store.catalog_programs(&[program]).await?;
    let mut ids: Vec<i64> = programs
        .iter()
        .flat_map(|p| p.requirements.iter())
        .filter_map(|n| n.course_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

#[utoipa::path(get, operation_id = "catalog_v1_course_runs_list", path = "/api/v1/course_runs/", tag = "catalog",
    params(("id" = Option<String>, Query, description = "Comma-separated ids"), ("live" = Option<bool>, Query), ("relevant_to" = Option<String>, Query, description = "A course or program readable id: its enrollable runs, with is_enrolled and is_verified")),
    responses((status = 200, body = serde_json::Value, description = "Runs with products and course (not paginated)"), (status = 400, description = "Bad query parameter", body = crate::openapi::FieldErrors)))]
async fn list_runs(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let query = query_map(&uri)?;
    let mut errors = FieldErrors::default();
    let ids = errors.int_list(&query, "id");
    let live = errors.boolean(&query, "live");
    errors.into_result()?;
    let relevant_to = query.get("relevant_to").filter(|v| !v.is_empty());
    let course_ids = match relevant_to {
        Some(key) => relevant_course_ids(&state, key).await?,
        None => {
            state
                .store
                .catalog_course_ids(&CourseFilter::default())
                .await?
        }
    };
    let mut runs: Vec<CatalogRun> = state
        .store
        .catalog_runs_of(&course_ids)
        .await?
        .into_iter()
        .filter(|r| r.run.is_usable() && !r.run.is_b2b())
        .filter(|r| ids.as_ref().is_none_or(|ids| ids.contains(&r.run.id.0)))
        .collect();
    if relevant_to.is_some() {
        runs.retain(|r| r.run.is_enrollable(now));
        runs.sort_by_key(|r| (r.run.enrollment_start, r.run.id));
    } else {
        // Live runs by default, as the original's queryset.
        let want = live.unwrap_or(true);
        runs.retain(|r| r.run.live == want);
    }
    let mut used: Vec<i64> = runs.iter().map(|r| r.run.course_id.0).collect();
    used.sort_unstable();
    used.dedup();
    let courses = state.store.catalog_courses(&used).await?;
    let ctx = Ctx::new(&state, &site, now);
    let mut items = Vec::with_capacity(runs.len());
    for run in &runs {
        if let Some(course) = courses.iter().find(|c| c.id == run.run.course_id.0) {
            items.push(v1_run_with_course(run, course, relevant_to.is_some(), ctx)?);
        }
    }
    Ok(json_with_etag(&headers, &items))
}

#[utoipa::path(get, operation_id = "catalog_v1_course_runs_retrieve", path = "/api/v1/course_runs/{id}/", tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = serde_json::Value, description = "A run with products and course"), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn run_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let site = base_url(&state, &headers);
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let course_id = state
        .store
        .catalog_run_course_id(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let courses = state.store.catalog_courses(&[course_id]).await?;
    let course = courses.first().ok_or_else(ApiError::not_found)?;
    let run = course
        .runs
        .iter()
        .find(|r| r.run.id.0 == id && r.run.is_usable())
        .ok_or_else(ApiError::not_found)?;
    let ctx = Ctx::new(&state, &site, now);
    Ok(json_with_etag(
        &headers,
        &v1_run_with_course(run, course, false, ctx)?,
    ))
}

/// `DepartmentWithCount`: `{name, courses, programs}`. The original means the counts but
/// reads a misnamed attribute and errors (spec 5.3 QUIRK); mitx answers the intended
/// shape, counting what `/api/v2/departments/` lists: live courses with a live page and
/// an enrollable usable run, and live programs with a live page.
#[derive(Debug, serde::Serialize)]
struct DepartmentWithCount {
    name: String,
    courses: usize,
    programs: usize,
}

/// Departments by name (or only `only`) with their counts: the lists of
/// `/api/v2/departments/`, counted.
async fn departments_with_counts(
    state: &AppState,
    only: Option<i64>,
) -> Result<Vec<DepartmentWithCount>, ApiError> {
    Ok(super::v2::departments(state, only)
        .await?
        .into_iter()
        .map(|d| DepartmentWithCount {
            courses: d.course_ids.len(),
            programs: d.program_ids.len(),
            name: d.name,
        })
        .collect())
}

#[utoipa::path(get, operation_id = "catalog_v1_departments_list", path = "/api/v1/departments/", tag = "catalog",
    responses((status = 200, body = serde_json::Value, description = "DepartmentWithCount items by name: {name, courses, programs} (not paginated)")))]
async fn list_departments(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(json_with_etag(
        &headers,
        &departments_with_counts(&state, None).await?,
    ))
}

#[utoipa::path(get, operation_id = "catalog_v1_departments_retrieve", path = "/api/v1/departments/{id}/", tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = serde_json::Value, description = "DepartmentWithCount"), (status = 404, description = "Not found", body = crate::openapi::Detail)))]
async fn department_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathKey(key): PathKey,
) -> Result<Response, ApiError> {
    let id = key.parse::<i64>().map_err(|_| ApiError::not_found())?;
    let department = departments_with_counts(&state, Some(id))
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
    Ok(json_with_etag(&headers, &department))
}
