//! A fake Open edX for tests and the demo: an in-process axum app on `127.0.0.1:0` that
//! speaks the wire format of courses spec 4.3 for the calls mitx makes, keeps its accounts
//! and enrollments in memory, counts every call, and can be switched to fail (any status)
//! or to answer slowly.
//!
//! Service calls need `Authorization: Bearer` [`FakeEdx::SERVICE_TOKEN`]; learner calls
//! need an access token the fake issued ([`FakeEdx::issue_tokens`] or a refresh).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::EdxSettings;

/// Calls the fake has answered, by kind (failed ones included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdxCalls {
    /// Requests of any kind, counted on arrival (before any delay or forced failure).
    pub received: u64,
    /// Account registrations.
    pub registrations: u64,
    /// LTI email fixes.
    pub lti_fixes: u64,
    /// Enrollment listings.
    pub finds: u64,
    /// Enroll posts (`is_active` not false).
    pub enrolls: u64,
    /// Unenroll posts (`is_active: false`).
    pub unenrolls: u64,
    /// Email-settings changes.
    pub email_settings: u64,
    /// Token refreshes.
    pub token_refreshes: u64,
    /// Grade listings (each page counts).
    pub grade_pages: u64,
    /// Course-list pages (run sync).
    pub course_lists: u64,
    /// Course details.
    pub course_details: u64,
    /// Studio JWTs issued (client_credentials).
    pub jwt_tokens: u64,
    /// Studio course-run updates (`PUT api/v1/course_runs/{K}/`).
    pub studio_updates: u64,
}

/// One enrollment the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeEnrollment {
    /// Mode slug.
    pub mode: String,
    /// Active flag.
    pub is_active: bool,
    /// Subscribed to course emails.
    pub receive_emails: bool,
}

#[derive(Debug, Default)]
struct FakeState {
    /// username → email
    users: BTreeMap<String, String>,
    /// Emails held by other (LTI) accounts until fixed.
    lti_emails: HashSet<String>,
    /// (username, course key) → enrollment
    enrollments: BTreeMap<(String, String), FakeEnrollment>,
    /// access token → username
    access_tokens: HashMap<String, String>,
    /// refresh token → username
    refresh_tokens: HashMap<String, String>,
    /// course key → username → grade record (the wire object)
    grades: BTreeMap<String, BTreeMap<String, Value>>,
    /// Grade listing page size.
    grade_page_size: usize,
    /// Answer every call with this status instead.
    failing: Option<u16>,
    /// Wait this long before answering.
    delay: Duration,
    /// Listing page size.
    page_size: usize,
    calls: EdxCalls,
    token_counter: u64,
    /// Course key → course-list item (run sync and Studio).
    courses: BTreeMap<String, Value>,
    /// The number of keys of each course-list call's first page.
    course_list_keys: Vec<usize>,
    /// Studio JWTs issued.
    jwts: HashSet<String>,
    /// Studio updates received: (course key, body).
    studio_updates: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<FakeState>>;

fn lock(state: &Shared) -> MutexGuard<'_, FakeState> {
    // A panicking test thread must not wedge the others: keep using the data.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running fake Open edX.
#[derive(Debug)]
pub struct FakeEdx {
    addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeEdx {
    /// The service worker's bearer token the fake accepts.
    pub const SERVICE_TOKEN: &'static str = "fake-edx-service-token";
    /// The OAuth client the fake accepts for refreshes.
    pub const CLIENT_ID: &'static str = "fake-client";
    /// Its secret.
    pub const CLIENT_SECRET: &'static str = "fake-secret";
    /// The Studio JWT client (client_credentials) the fake accepts.
    pub const COURSES_CLIENT_ID: &'static str = "fake-courses-client";
    /// Its secret.
    pub const COURSES_CLIENT_SECRET: &'static str = "fake-courses-secret";

    /// Starts a fake on `127.0.0.1` with a free port.
    pub async fn start() -> std::io::Result<FakeEdx> {
        let state: Shared = Arc::new(Mutex::new(FakeState {
            page_size: 100,
            grade_page_size: 100,
            ..FakeState::default()
        }));
        let app = Router::new()
            .route("/user_api/v1/account/registration/", post(register))
            .route("/api/lti-user-fix/", post(lti_fix))
            .route("/api/enrollment/v1/enrollments", get(find))
            .route("/api/enrollment/v1/enrollment", post(enroll))
            .route("/api/change_email_settings", post(email_settings))
            .route("/oauth2/access_token", post(token))
            .route("/api/grades/v1/courses/{course_key}/", get(grades))
            .merge(courses::routes())
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeEdx {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Settings that point the client at this fake (`ignore_failures` as given).
    pub fn settings(&self, ignore_failures: bool) -> EdxSettings {
        EdxSettings {
            api_base_url: Some(self.base_url()),
            service_token: Some(Self::SERVICE_TOKEN.into()),
            service_username: Some("mitx-service".into()),
            registration_access_token: Some("fake-registration-token".into()),
            oauth_provider: "mitxpro-oauth2".into(),
            client_id: Some(Self::CLIENT_ID.into()),
            client_secret: Some(Self::CLIENT_SECRET.into()),
            studio_base_url: Some(self.studio_url()),
            courses_client_id: Some(Self::COURSES_CLIENT_ID.into()),
            courses_client_secret: Some(Self::COURSES_CLIENT_SECRET.into()),
            timeout: Duration::from_secs(10),
            ignore_failures,
        }
    }

    /// The environment variables that point `mitx` at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OPENEDX_API_BASE_URL", self.base_url()),
            (
                "OPENEDX_SERVICE_WORKER_API_TOKEN",
                Self::SERVICE_TOKEN.into(),
            ),
            ("OPENEDX_SERVICE_WORKER_USERNAME", "mitx-service".into()),
            ("OPENEDX_API_CLIENT_ID", Self::CLIENT_ID.into()),
            ("OPENEDX_API_CLIENT_SECRET", Self::CLIENT_SECRET.into()),
            ("OPENEDX_STUDIO_API_BASE_URL", self.studio_url()),
            (
                "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_ID",
                Self::COURSES_CLIENT_ID.into(),
            ),
            (
                "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET",
                Self::COURSES_CLIENT_SECRET.into(),
            ),
        ]
    }

    /// The fake Studio's base URL (`{base}/studio`).
    pub fn studio_url(&self) -> String {
        format!("{}/studio", self.base_url())
    }

    /// Answer every call with `status` (e.g. 503), or normally again with `None`.
    pub fn set_failing(&self, status: Option<u16>) {
        lock(&self.state).failing = status;
    }

    /// Wait this long before answering each call.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Listing page size (to exercise cursor paging).
    pub fn set_page_size(&self, size: usize) {
        lock(&self.state).page_size = size.max(1);
    }

    /// The calls answered so far.
    pub fn calls(&self) -> EdxCalls {
        lock(&self.state).calls
    }

    /// An existing edX account.
    pub fn add_user(&self, username: &str, email: &str) {
        lock(&self.state)
            .users
            .insert(username.to_owned(), email.to_owned());
    }

    /// Whether an account with this username exists.
    pub fn has_user(&self, username: &str) -> bool {
        lock(&self.state).users.contains_key(username)
    }

    /// An email held by an LTI account: registration answers `duplicate-email` until
    /// `/api/lti-user-fix/` frees it.
    pub fn add_lti_email(&self, email: &str) {
        lock(&self.state).lti_emails.insert(email.to_lowercase());
    }

    /// The enrollment of `username` in `course`, if any.
    pub fn enrollment(&self, username: &str, course: &str) -> Option<FakeEnrollment> {
        lock(&self.state)
            .enrollments
            .get(&(username.to_owned(), course.to_owned()))
            .cloned()
    }

    /// Every (username, course, enrollment).
    pub fn enrollments(&self) -> Vec<(String, String, FakeEnrollment)> {
        lock(&self.state)
            .enrollments
            .iter()
            .map(|((u, c), e)| (u.clone(), c.clone(), e.clone()))
            .collect()
    }

    /// Puts an enrollment straight into the fake (edX-side changes).
    pub fn put_enrollment(&self, username: &str, course: &str, mode: &str, is_active: bool) {
        lock(&self.state).enrollments.insert(
            (username.to_owned(), course.to_owned()),
            FakeEnrollment {
                mode: mode.to_owned(),
                is_active,
                receive_emails: true,
            },
        );
    }

    /// Sets the grade edX reports for `username` in `course` (replacing an earlier one).
    pub fn set_grade(
        &self,
        course: &str,
        username: &str,
        percent: f64,
        passed: bool,
        letter_grade: Option<&str>,
    ) {
        let record = json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "course_id": course,
            "passed": passed,
            "percent": percent,
            "letter_grade": letter_grade,
        });
        lock(&self.state)
            .grades
            .entry(course.to_owned())
            .or_default()
            .insert(username.to_owned(), record);
    }

    /// Grade listing page size.
    pub fn set_grade_page_size(&self, size: usize) {
        lock(&self.state).grade_page_size = size.max(1);
    }

    /// Issues (access, refresh) tokens for `username`, as the OAuth flow would.
    pub fn issue_tokens(&self, username: &str) -> (String, String) {
        let mut state = lock(&self.state);
        issue(&mut state, username)
    }

    /// Puts a course-list item (`{id, name, start, end, enrollment_start, enrollment_end,
    /// certificate_available_date, pacing}`) into the fake's course catalog.
    pub fn put_course(&self, item: Value) {
        let key = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        lock(&self.state).courses.insert(key, item);
    }

    /// The course-list item of `key`, if the fake has it (Studio updates change it).
    pub fn course(&self, key: &str) -> Option<Value> {
        lock(&self.state).courses.get(key).cloned()
    }

    /// How many keys each course-list call asked for (first pages only).
    pub fn course_list_keys(&self) -> Vec<usize> {
        lock(&self.state).course_list_keys.clone()
    }

    /// The Studio course-run updates received: (course key, body).
    pub fn studio_updates(&self) -> Vec<(String, Value)> {
        lock(&self.state).studio_updates.clone()
    }

    /// Stops the fake: later calls cannot connect.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for FakeEdx {
    fn drop(&mut self) {
        self.stop();
    }
}

fn issue(state: &mut FakeState, username: &str) -> (String, String) {
    state.token_counter += 1;
    let access = format!("access-{}-{username}", state.token_counter);
    let refresh = format!("refresh-{}-{username}", state.token_counter);
    state
        .access_tokens
        .insert(access.clone(), username.to_owned());
    state
        .refresh_tokens
        .insert(refresh.clone(), username.to_owned());
    (access, refresh)
}

fn error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The common prologue: the delay, then a forced failure, then the service token check.
async fn gate(state: &Shared, headers: &HeaderMap, service: bool) -> Result<(), Response> {
    let (delay, failing) = {
        let mut s = lock(state);
        s.calls.received += 1;
        (s.delay, s.failing)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = failing {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(error(
            status,
            json!({"detail": "The fake edX is failing on purpose."}),
        ));
    }
    if service && bearer(headers) != Some(FakeEdx::SERVICE_TOKEN) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Authentication credentials were not provided."}),
        ));
    }
    Ok(())
}

async fn register(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    lock(&state).calls.registrations += 1;
    if let Err(response) = gate(&state, &headers, false).await {
        return response;
    }
    let username = form.get("username").cloned().unwrap_or_default();
    let email = form.get("email").cloned().unwrap_or_default();
    if username.is_empty() || email.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"username": [{"user_message": "Username and email are required."}]}),
        );
    }
    let mut s = lock(&state);
    if s.users.contains_key(&username) {
        let suggestions: Vec<String> = (1..=3)
            .map(|n| format!("{username}{n}"))
            .filter(|u| !s.users.contains_key(u))
            .collect();
        return error(
            StatusCode::CONFLICT,
            json!({"error_code": "duplicate-username", "username_suggestions": suggestions,
                   "username": [{"user_message": "It looks like this username is already taken"}]}),
        );
    }
    let lower = email.to_lowercase();
    if s.lti_emails.contains(&lower) || s.users.values().any(|e| e.to_lowercase() == lower) {
        return error(
            StatusCode::CONFLICT,
            json!({"error_code": "duplicate-email",
                   "email": [{"user_message": "It looks like this email address is already registered"}]}),
        );
    }
    s.users.insert(username, email);
    (StatusCode::OK, Json(json!({"success": true}))).into_response()
}

async fn lti_fix(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    lock(&state).calls.lti_fixes += 1;
    if let Err(response) = gate(&state, &headers, true).await {
        return response;
    }
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase();
    lock(&state).lti_emails.remove(&email);
    (StatusCode::OK, Json(json!({}))).into_response()
}

#[derive(Deserialize)]
struct GradeQuery {
    username: Option<String>,
    page: Option<usize>,
}

/// `GET /api/grades/v1/courses/{K}/`: `?username=U` answers a bare array with that
/// learner's record (empty when none); otherwise `{results, next}` pages by `?page=n`.
async fn grades(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(course_key): axum::extract::Path<String>,
    Query(query): Query<GradeQuery>,
) -> Response {
    lock(&state).calls.grade_pages += 1;
    if let Err(response) = gate(&state, &headers, true).await {
        return response;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let s = lock(&state);
    let empty = BTreeMap::new();
    let course = s.grades.get(&course_key).unwrap_or(&empty);
    if let Some(username) = &query.username {
        let one: Vec<&Value> = course.get(username).into_iter().collect();
        return (StatusCode::OK, Json(json!(one))).into_response();
    }
    let page = query.page.unwrap_or(1).max(1);
    let size = s.grade_page_size;
    let all: Vec<&Value> = course.values().collect();
    let start = ((page - 1) * size).min(all.len());
    let end = (start + size).min(all.len());
    let next = (end < all.len()).then(|| {
        format!(
            "http://{host}/api/grades/v1/courses/{}/?page={}",
            encode(&course_key),
            page + 1
        )
    });
    (
        StatusCode::OK,
        Json(json!({"results": &all[start..end], "next": next, "previous": null})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct FindQuery {
    course_id: Option<String>,
    username: Option<String>,
    cursor: Option<usize>,
}

async fn find(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<FindQuery>,
) -> Response {
    lock(&state).calls.finds += 1;
    if let Err(response) = gate(&state, &headers, true).await {
        return response;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let s = lock(&state);
    let all: Vec<Value> = s
        .enrollments
        .iter()
        .filter(|((u, c), _)| {
            query.username.as_deref().is_none_or(|want| want == u)
                && query.course_id.as_deref().is_none_or(|want| want == c)
        })
        .map(|((u, c), e)| object(u, c, e))
        .collect();
    let start = query.cursor.unwrap_or(0).min(all.len());
    let end = (start + s.page_size).min(all.len());
    let next = (end < all.len()).then(|| {
        let mut url = format!("http://{host}/api/enrollment/v1/enrollments?cursor={end}");
        if let Some(u) = &query.username {
            url.push_str(&format!("&username={}", encode(u)));
        }
        if let Some(c) = &query.course_id {
            url.push_str(&format!("&course_id={}", encode(c)));
        }
        url
    });
    (
        StatusCode::OK,
        Json(json!({"results": &all[start..end], "next": next, "previous": null})),
    )
        .into_response()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn object(username: &str, course: &str, enrollment: &FakeEnrollment) -> Value {
    json!({
        "mode": enrollment.mode,
        "is_active": enrollment.is_active,
        "user": username,
        "course_details": {"course_id": course},
    })
}

async fn enroll(
    State(state): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let unenroll = body.get("is_active") == Some(&Value::Bool(false));
    {
        let mut s = lock(&state);
        if unenroll {
            s.calls.unenrolls += 1;
        } else {
            s.calls.enrolls += 1;
        }
    }
    if let Err(response) = gate(&state, &headers, true).await {
        return response;
    }
    let user = body.get("user").and_then(Value::as_str).unwrap_or_default();
    let course = body
        .pointer("/course_details/course_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut s = lock(&state);
    if !s.users.contains_key(user) {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"message": format!("The user {user} does not exist.")}),
        );
    }
    if course.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"message": "Course ID must be specified."}),
        );
    }
    let key = (user.to_owned(), course.to_owned());
    let entry = s.enrollments.entry(key).or_insert(FakeEnrollment {
        mode: "audit".into(),
        is_active: false,
        receive_emails: true,
    });
    if unenroll {
        entry.is_active = false;
    } else {
        entry.is_active = true;
        if let Some(mode) = body.get("mode").and_then(Value::as_str) {
            entry.mode = mode.to_owned();
        }
    }
    let entry = entry.clone();
    (StatusCode::OK, Json(object(user, course, &entry))).into_response()
}

async fn email_settings(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    lock(&state).calls.email_settings += 1;
    if let Err(response) = gate(&state, &headers, false).await {
        return response;
    }
    let mut s = lock(&state);
    let Some(user) = bearer(&headers)
        .and_then(|t| s.access_tokens.get(t))
        .cloned()
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            json!({"detail": "Invalid token."}),
        );
    };
    let course = form.get("course_id").cloned().unwrap_or_default();
    let subscribe = form.get("receive_emails").is_some_and(|v| v == "on");
    match s.enrollments.get_mut(&(user, course)) {
        Some(enrollment) => {
            enrollment.receive_emails = subscribe;
            (StatusCode::OK, Json(json!({"success": true}))).into_response()
        }
        None => (StatusCode::OK, Json(json!({"success": false}))).into_response(),
    }
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("grant_type").map(String::as_str) == Some("client_credentials") {
        return courses::jwt_token(state, headers, form).await;
    }
    lock(&state).calls.token_refreshes += 1;
    if let Err(response) = gate(&state, &headers, false).await {
        return response;
    }
    let mut s = lock(&state);
    if form.get("client_id").map(String::as_str) != Some(FakeEdx::CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(FakeEdx::CLIENT_SECRET)
    {
        return error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return error(
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"}),
        );
    }
    let refresh = form.get("refresh_token").cloned().unwrap_or_default();
    let Some(user) = s.refresh_tokens.remove(&refresh) else {
        return error(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}));
    };
    let (access, refresh) = issue(&mut s, &user);
    (
        StatusCode::OK,
        Json(
            json!({"access_token": access, "refresh_token": refresh, "expires_in": 36000,
                     "token_type": "Bearer", "scope": "read write"}),
        ),
    )
        .into_response()
}

/// The course catalog of the fake: the course list and detail of the run sync (courses spec
/// 4.3 "course list", "course detail"), Studio's JWT and its course-run update ("Studio
/// run"). Kept in a block of its own so other partner routes merge cleanly.
mod courses {
    use axum::extract::Path;
    use axum::routing::put;

    use super::*;

    pub(super) fn routes() -> Router<Shared> {
        Router::new()
            .route("/api/courses/v1/courses/", get(course_list))
            .route("/api/courses/v1/courses/{key}/", get(course_detail))
            .route(
                "/studio/api/v1/course_runs/{key}/",
                put(studio_update).get(studio_get),
            )
    }

    #[derive(Deserialize)]
    pub(super) struct ListQuery {
        course_keys: Option<String>,
        username: Option<String>,
        page: Option<usize>,
        page_size: Option<usize>,
    }

    fn username_error() -> Response {
        error(
            StatusCode::BAD_REQUEST,
            json!({"username": ["This field is required for the service worker."]}),
        )
    }

    async fn course_list(
        State(state): State<Shared>,
        headers: HeaderMap,
        Query(query): Query<ListQuery>,
    ) -> Response {
        lock(&state).calls.course_lists += 1;
        if let Err(response) = gate(&state, &headers, true).await {
            return response;
        }
        if query.username.as_deref().is_none_or(str::is_empty) {
            return username_error();
        }
        let keys: Option<Vec<String>> = query.course_keys.as_ref().map(|k| {
            k.split(',')
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()
        });
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned();
        let mut s = lock(&state);
        let page = query.page.unwrap_or(1).max(1);
        if page == 1 {
            s.course_list_keys.push(keys.as_ref().map_or(0, Vec::len));
        }
        let all: Vec<Value> = s
            .courses
            .iter()
            .filter(|(key, _)| keys.as_ref().is_none_or(|keys| keys.contains(key)))
            .map(|(_, item)| item.clone())
            .collect();
        let size = query
            .page_size
            .unwrap_or(s.page_size)
            .min(s.page_size)
            .max(1);
        let start = ((page - 1) * size).min(all.len());
        let end = (start + size).min(all.len());
        let next = (end < all.len()).then(|| {
            let mut url = format!(
                "http://{host}/api/courses/v1/courses/?page={}&page_size={size}",
                page + 1
            );
            if let Some(keys) = &query.course_keys {
                url.push_str(&format!("&course_keys={}", encode(keys)));
            }
            if let Some(user) = &query.username {
                url.push_str(&format!("&username={}", encode(user)));
            }
            url
        });
        let pages = all.len().div_ceil(size).max(1);
        (
            StatusCode::OK,
            Json(json!({
                "results": &all[start..end],
                "pagination": {"next": next, "previous": null, "count": all.len(), "num_pages": pages},
            })),
        )
            .into_response()
    }

    async fn course_detail(
        State(state): State<Shared>,
        headers: HeaderMap,
        Path(key): Path<String>,
        Query(query): Query<HashMap<String, String>>,
    ) -> Response {
        lock(&state).calls.course_details += 1;
        if let Err(response) = gate(&state, &headers, true).await {
            return response;
        }
        if query.get("username").is_none_or(|u| u.is_empty()) {
            return username_error();
        }
        match lock(&state).courses.get(&key) {
            Some(item) => (StatusCode::OK, Json(item.clone())).into_response(),
            None => error(StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
        }
    }

    /// `POST /oauth2/access_token` with `grant_type=client_credentials` (called by the token
    /// route).
    pub(super) async fn jwt_token(
        state: Shared,
        headers: HeaderMap,
        form: HashMap<String, String>,
    ) -> Response {
        lock(&state).calls.jwt_tokens += 1;
        if let Err(response) = gate(&state, &headers, false).await {
            return response;
        }
        if form.get("client_id").map(String::as_str) != Some(FakeEdx::COURSES_CLIENT_ID)
            || form.get("client_secret").map(String::as_str) != Some(FakeEdx::COURSES_CLIENT_SECRET)
        {
            return error(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}));
        }
        if form.get("token_type").map(String::as_str) != Some("jwt") {
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": "unsupported_token_type"}),
            );
        }
        let mut s = lock(&state);
        s.token_counter += 1;
        let token = format!("jwt-{}", s.token_counter);
        s.jwts.insert(token.clone());
        (
            StatusCode::OK,
            Json(
                json!({"access_token": token, "token_type": "JWT", "expires_in": 3600,
                         "scope": "read write"}),
            ),
        )
            .into_response()
    }

    fn jwt_ok(state: &Shared, headers: &HeaderMap) -> bool {
        let token = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("JWT "));
        token.is_some_and(|t| lock(state).jwts.contains(t))
    }

    async fn studio_get(
        State(state): State<Shared>,
        headers: HeaderMap,
        Path(key): Path<String>,
    ) -> Response {
        if let Err(response) = gate(&state, &headers, false).await {
            return response;
        }
        if !jwt_ok(&state, &headers) {
            return error(
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Authentication credentials were not provided."}),
            );
        }
        match lock(&state).courses.get(&key) {
            Some(item) => (StatusCode::OK, Json(item.clone())).into_response(),
            None => error(StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
        }
    }

    async fn studio_update(
        State(state): State<Shared>,
        headers: HeaderMap,
        Path(key): Path<String>,
        Json(body): Json<Value>,
    ) -> Response {
        lock(&state).calls.studio_updates += 1;
        if let Err(response) = gate(&state, &headers, false).await {
            return response;
        }
        if !jwt_ok(&state, &headers) {
            return error(
                StatusCode::UNAUTHORIZED,
                json!({"detail": "Authentication credentials were not provided."}),
            );
        }
        let mut s = lock(&state);
        s.studio_updates.push((key.clone(), body.clone()));
        let Some(item) = s.courses.get_mut(&key) else {
            return error(StatusCode::NOT_FOUND, json!({"detail": "Not found."}));
        };
        if let Some(title) = body.get("title") {
            item["name"] = title.clone();
        }
        if let Some(pacing) = body.get("pacing_type").and_then(Value::as_str) {
            item["pacing"] = json!(if pacing == "self_paced" {
                "self"
            } else {
                "instructor"
            });
        }
        if let Some(schedule) = body.get("schedule").and_then(Value::as_object) {
            for field in ["start", "end", "enrollment_start", "enrollment_end"] {
                if let Some(value) = schedule.get(field) {
                    item[field] = value.clone();
                }
            }
        }
        (StatusCode::OK, Json(item.clone())).into_response()
    }
}
