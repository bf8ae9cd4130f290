//! The Open edX HTTP client (courses spec 4.2–4.3): the calls of the enrollment and user
//! workflows, with the service bearer token, the registration token, and learners' own
//! tokens where edX needs them. Every base URL comes from the settings, so tests and the
//! demo point it at [`super::fake::FakeEdx`].
//!
//! The client never runs inside a database transaction: workflows call it between their
//! reads and their unit of work (docs/decisions/0007).

use std::time::Duration;

use mitx_core::Timestamp;
use mitx_core::enrollment::{EdxCourseItem, EdxEnrollment, EdxFailure};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::EdxSettings;

/// Why an edX call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EdxError {
    /// A setting the call needs is empty.
    #[error("Open edX is not configured: {0} is not set")]
    NotConfigured(&'static str),
    /// edX answered with an error status.
    #[error("Open edX answered {status}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The body (truncated).
        body: String,
    },
    /// edX could not be reached (refused, reset, timed out).
    #[error("cannot reach Open edX: {0}")]
    Connection(String),
    /// edX answered something that is not the documented shape.
    #[error("unexpected answer from Open edX: {0}")]
    Decode(String),
}

impl EdxError {
    /// The failure as the enrollment rules classify it.
    pub fn failure(&self) -> EdxFailure {
        match self {
            EdxError::Http { status, .. } => EdxFailure::Http { status: *status },
            EdxError::Connection(_) => EdxFailure::Connection,
            EdxError::NotConfigured(_) | EdxError::Decode(_) => EdxFailure::Unknown,
        }
    }

    /// The error's JSON body, if edX answered one.
    fn json_body(&self) -> Option<Value> {
        match self {
            EdxError::Http { body, .. } => serde_json::from_str(body).ok(),
            _ => None,
        }
    }
}

/// The fields of an edX account registration (spec 4.3 "create edX user").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// edX username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Full name.
    pub name: String,
    /// ISO country code.
    pub country: String,
    /// ISO 3166-2 state (US/CA), else empty.
    pub state: String,
    /// edX gender code, or empty.
    pub gender: String,
    /// Year of birth, or empty.
    pub year_of_birth: String,
    /// edX level-of-education code, or empty.
    pub level_of_education: String,
}

/// How a registration ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// The account exists now.
    Created,
    /// edX has another account with this username; its suggestions, in order.
    DuplicateUsername(Vec<String>),
    /// edX has another account with this email (an LTI account, fixable once).
    DuplicateEmail,
    /// edX refused for good (400, or another 409): its answer.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
}

/// A learner's tokens as edX's OAuth endpoint returns them.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// Lifetime in seconds.
    pub expires_in: i64,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// An edX enrollment object (the fields mitx reads).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct EnrollmentObject {
    /// Mode slug.
    #[serde(default)]
    pub mode: String,
    /// Active flag.
    #[serde(default)]
    pub is_active: bool,
    /// edX username.
    #[serde(default)]
    pub user: String,
    /// The course.
    pub course_details: CourseDetails,
}

/// `course_details` of an enrollment object.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct CourseDetails {
    /// The course key.
    pub course_id: String,
}

impl EnrollmentObject {
    /// As the sync rules see it.
    pub fn as_edx_enrollment(&self) -> EdxEnrollment {
        EdxEnrollment {
            course_id: self.course_details.course_id.clone(),
            is_active: self.is_active,
            mode: self.mode.clone(),
        }
    }
}

#[derive(Deserialize)]
struct EnrollmentPage {
    #[serde(default)]
    results: Vec<EnrollmentObject>,
    #[serde(default)]
    next: Option<String>,
}

/// How many cursor pages a listing follows at most (a loop guard).
const MAX_PAGES: usize = 1000;

/// One learner's grade in a course run as edX reports it (`GET /api/grades/v1/courses/{K}/`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct GradeRecord {
    /// The learner's edX username (mapped to a local user through the edX linkage).
    pub username: String,
    /// The learner's email on edX (informational).
    #[serde(default)]
    pub email: Option<String>,
    /// The course key.
    #[serde(default)]
    pub course_id: Option<String>,
    /// Passed.
    #[serde(default)]
    pub passed: bool,
    /// The grade, a fraction (normally 0–1).
    pub percent: f64,
    /// edX's letter grade (free text, e.g. `Pass`).
    #[serde(default)]
    pub letter_grade: Option<String>,
}

/// The grades endpoint answers a bare array or a `{results, next}` page.
#[derive(Deserialize)]
#[serde(untagged)]
enum GradePage {
    Paged {
        results: Vec<GradeRecord>,
        #[serde(default)]
        next: Option<String>,
    },
    Bare(Vec<GradeRecord>),
}

/// The Open edX client: cheap to clone.
#[derive(Clone, Debug)]
pub struct EdxClient {
    http: reqwest::Client,
    settings: EdxSettings,
}

impl EdxClient {
    /// A client for these settings (installs the TLS crypto provider if none is).
    pub fn new(settings: EdxSettings) -> Result<EdxClient, EdxError> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| EdxError::Connection(e.to_string()))?;
        Ok(EdxClient { http, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &EdxSettings {
        &self.settings
    }

    fn base(&self) -> Result<&str, EdxError> {
        self.settings
            .api_base_url
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_API_BASE_URL"))
    }

    fn service_token(&self) -> Result<&str, EdxError> {
        self.settings
            .service_token
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_SERVICE_WORKER_API_TOKEN"))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<String, EdxError> {
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() || e.is_connect() || e.is_request() {
                EdxError::Connection(e.to_string())
            } else {
                EdxError::Decode(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| EdxError::Connection(e.to_string()))?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(EdxError::Http {
                status,
                body: body.chars().take(2000).collect(),
            })
        }
    }

    /// GETs `first` with the service token and every page its answers point to:
    /// `page` reads one answer into its items and the next page's URL (none or empty:
    /// the end). `what` names the listing in the error of one that never ends.
    async fn follow_pages<T, P: serde::de::DeserializeOwned>(
        &self,
        first: String,
        token: &str,
        what: &str,
        mut page: impl FnMut(P, &mut Vec<T>) -> Option<String>,
    ) -> Result<Vec<T>, EdxError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(page_url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(EdxError::Decode(format!("the {what} never ends")));
            }
            let body = self
                .send(self.http.get(&page_url).bearer_auth(token))
                .await?;
            next = page(Self::decode::<P>(&body)?, &mut out).filter(|n| !n.is_empty());
        }
        Ok(out)
    }

    fn decode<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, EdxError> {
        serde_json::from_str(body).map_err(|e| EdxError::Decode(e.to_string()))
    }

    /// Creates an edX account (`POST /user_api/v1/account/registration/`, a form).
    pub async fn register(
        &self,
        registration: &Registration,
    ) -> Result<RegistrationOutcome, EdxError> {
        let url = format!("{}/user_api/v1/account/registration/", self.base()?);
        let form: Vec<(&str, &str)> = vec![
            ("username", &registration.username),
            ("email", &registration.email),
            ("name", &registration.name),
            ("country", &registration.country),
            ("state", &registration.state),
            ("gender", &registration.gender),
            ("year_of_birth", &registration.year_of_birth),
            ("level_of_education", &registration.level_of_education),
            ("provider", &self.settings.oauth_provider),
            ("honor_code", "true"),
        ];
        let mut request = self.http.post(url).form(&form);
        if let Some(token) = &self.settings.registration_access_token {
            request = request.header("X-Access-Token", token);
        }
        match self.send(request).await {
            Ok(_) => Ok(RegistrationOutcome::Created),
            Err(err @ EdxError::Http { status: 409, .. }) => {
                let body = err.json_body().unwrap_or(Value::Null);
                match body.get("error_code").and_then(Value::as_str) {
                    Some("duplicate-username") => {
                        let suggestions = body
                            .get("username_suggestions")
                            .and_then(Value::as_array)
                            .map(|list| {
                                list.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_owned)
                                    .collect()
                            })
                            .unwrap_or_default();
                        Ok(RegistrationOutcome::DuplicateUsername(suggestions))
                    }
                    Some("duplicate-email") => Ok(RegistrationOutcome::DuplicateEmail),
                    _ => Ok(RegistrationOutcome::Refused {
                        status: 409,
                        body: body.to_string(),
                    }),
                }
            }
            Err(EdxError::Http { status: 400, body }) => {
                Ok(RegistrationOutcome::Refused { status: 400, body })
            }
            Err(other) => Err(other),
        }
    }

    /// Asks edX to free an email held by a duplicate LTI account (`POST /api/lti-user-fix/`).
    pub async fn fix_lti_user(&self, email: &str) -> Result<(), EdxError> {
        let url = format!("{}/api/lti-user-fix/", self.base()?);
        let request = self
            .http
            .post(url)
            .bearer_auth(self.service_token()?)
            .json(&serde_json::json!({ "email": email }));
        self.send(request).await.map(drop)
    }

    /// The user's enrollments in a course, or all of them (`GET
    /// /api/enrollment/v1/enrollments`, cursor-paged), with the service token.
    pub async fn find_enrollments(
        &self,
        username: &str,
        course_id: Option<&str>,
    ) -> Result<Vec<EnrollmentObject>, EdxError> {
        let base = self.base()?;
        let token = self.service_token()?;
        let mut url = reqwest::Url::parse(&format!("{base}/api/enrollment/v1/enrollments"))
            .map_err(|e| EdxError::Decode(e.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(course) = course_id {
                query.append_pair("course_id", course);
            }
            query.append_pair("username", username);
        }
        self.follow_pages(
            url.to_string(),
            token,
            "enrollment listing",
            |page: EnrollmentPage, out| {
                out.extend(page.results);
                page.next
            },
        )
        .await
    }

    /// Every learner's grade in the run `course_key` (`GET /api/grades/v1/courses/{K}/`,
    /// following `next` pages), with the service token.
    pub async fn run_grades(&self, course_key: &str) -> Result<Vec<GradeRecord>, EdxError> {
        self.grades(course_key, None).await
    }

    /// One learner's grade in the run (`?username=U`; the first element is used).
    pub async fn user_grade(
        &self,
        course_key: &str,
        username: &str,
    ) -> Result<Option<GradeRecord>, EdxError> {
        Ok(self
            .grades(course_key, Some(username))
            .await?
            .into_iter()
            .next())
    }

    async fn grades(
        &self,
        course_key: &str,
        username: Option<&str>,
    ) -> Result<Vec<GradeRecord>, EdxError> {
        let base = self.base()?;
        let token = self.service_token()?;
        let mut url = reqwest::Url::parse(&format!(
            "{base}/api/grades/v1/courses/{}/",
            encode_path_segment(course_key)
        ))
        .map_err(|e| EdxError::Decode(e.to_string()))?;
        if let Some(username) = username {
            url.query_pairs_mut().append_pair("username", username);
        }
        self.follow_pages(
            url.to_string(),
            token,
            "grade listing",
            |page: GradePage, out| match page {
                GradePage::Paged { results, next } => {
                    out.extend(results);
                    next
                }
                GradePage::Bare(results) => {
                    out.extend(results);
                    None
                }
            },
        )
        .await
    }

    /// Enrolls (or changes the mode of) `username` in `course_id` with the service token
    /// (`POST /api/enrollment/v1/enrollment`, `force_enrollment`); an answer that is still
    /// inactive is posted once more. The post is idempotent in edX, so mitx posts directly
    /// instead of first listing the learner's enrollments to reuse an active one in the
    /// same mode: the same end state in one call instead of two (docs/compatibility.md).
    pub async fn enroll(
        &self,
        username: &str,
        course_id: &str,
        mode: &str,
    ) -> Result<EnrollmentObject, EdxError> {
        let body = serde_json::json!({
            "mode": mode,
            "course_details": { "course_id": course_id },
            "user": username,
            "force_enrollment": true,
        });
        let mut enrollment = self.post_enrollment(&body).await?;
        if !enrollment.is_active {
            enrollment = self.post_enrollment(&body).await?;
        }
        Ok(enrollment)
    }

    /// Unenrolls `username` from `course_id` with the service token.
    pub async fn unenroll(
        &self,
        username: &str,
        course_id: &str,
    ) -> Result<EnrollmentObject, EdxError> {
        let body = serde_json::json!({
            "course_details": { "course_id": course_id },
            "is_active": false,
            "user": username,
        });
        self.post_enrollment(&body).await
    }

    async fn post_enrollment(&self, body: &Value) -> Result<EnrollmentObject, EdxError> {
        let url = format!("{}/api/enrollment/v1/enrollment", self.base()?);
        let request = self
            .http
            .post(url)
            .bearer_auth(self.service_token()?)
            .json(body);
        Self::decode(&self.send(request).await?)
    }

    /// Subscribes (or unsubscribes) the learner owning `access_token` to a course's
    /// emails (`POST /api/change_email_settings`); edX's `success`.
    pub async fn change_email_settings(
        &self,
        access_token: &str,
        course_id: &str,
        subscribe: bool,
    ) -> Result<bool, EdxError> {
        let url = format!("{}/api/change_email_settings", self.base()?);
        let mut form = vec![("course_id", course_id)];
        if subscribe {
            form.push(("receive_emails", "on"));
        }
        let request = self.http.post(url).bearer_auth(access_token).form(&form);
        let body: Value = Self::decode(&self.send(request).await?)?;
        Ok(body
            .get("success")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    /// Refreshes a learner's tokens (`POST /oauth2/access_token`,
    /// `grant_type=refresh_token`).
    pub async fn refresh_token(&self, refresh_token: &str) -> Result<TokenResponse, EdxError> {
        let url = format!("{}/oauth2/access_token", self.base()?);
        let client_id = self
            .settings
            .client_id
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_API_CLIENT_ID"))?;
        let client_secret = self
            .settings
            .client_secret
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_API_CLIENT_SECRET"))?;
        let form = [
            ("refresh_token", refresh_token),
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ];
        let request = self.http.post(url).form(&form);
        Self::decode(&self.send(request).await?)
    }
}

/// A course key as one URL path segment: edX keys (`course-v1:MITx+6.001x+1T2026`) keep
/// their `:` and `+`; anything that would end or change the segment is escaped.
fn encode_path_segment(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'+' => {
                out.push(char::from(byte));
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Whether an OAuth error answer says the refresh token is dead (`invalid_grant`).
pub fn is_invalid_grant(err: &EdxError) -> bool {
    matches!(err, EdxError::Http { status: 400, .. })
        && err
            .json_body()
            .and_then(|b| b.get("error").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|e| e == "invalid_grant")
}

/// How many course keys one course-list call asks for (courses spec 4.3).
pub const COURSE_LIST_BATCH: usize = 100;

/// One item of the course list that could not be read: its key (when it had one) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadCourseItem {
    /// The item's `id`, if present.
    pub id: Option<String>,
    /// Why it could not be read.
    pub reason: String,
}

/// One item of the course list, read or not.
pub type CourseListItem = Result<EdxCourseItem, BadCourseItem>;

#[derive(Deserialize)]
struct CoursePage {
    #[serde(default)]
    results: Vec<Value>,
    #[serde(default)]
    pagination: Option<CoursePagination>,
}

#[derive(Deserialize)]
struct CoursePagination {
    #[serde(default)]
    next: Option<String>,
}

fn course_item(value: Value) -> CourseListItem {
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    serde_json::from_value::<EdxCourseItem>(value).map_err(|e| BadCourseItem {
        id,
        reason: format!("unreadable course item: {e}"),
    })
}

/// The schedule of a Studio course-run update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StudioSchedule {
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// Enrollment opens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_start: Option<Timestamp>,
    /// Enrollment closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrollment_end: Option<Timestamp>,
}

/// The body of `PUT api/v1/course_runs/{K}/` (courses spec 4.3 "Studio run").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StudioRunUpdate {
    /// Run title.
    pub title: String,
    /// `self_paced` or `instructor_paced`.
    pub pacing_type: &'static str,
    /// Sent only when the run has a start and an end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<StudioSchedule>,
}

impl StudioRunUpdate {
    /// The update that gives Studio the run's title, pacing and dates.
    pub fn of_run(run: &mitx_core::catalog::CourseRun) -> StudioRunUpdate {
        StudioRunUpdate {
            title: run.title.clone(),
            pacing_type: if run.is_self_paced {
                "self_paced"
            } else {
                "instructor_paced"
            },
            schedule: match (run.start_date, run.end_date) {
                (Some(start), Some(end)) => Some(StudioSchedule {
                    start,
                    end,
                    enrollment_start: run.enrollment_start,
                    enrollment_end: run.enrollment_end,
                }),
                _ => None,
            },
        }
    }
}

#[derive(Deserialize)]
struct JwtResponse {
    access_token: String,
}

impl EdxClient {
    fn service_username(&self) -> Result<&str, EdxError> {
        self.settings
            .service_username
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_SERVICE_WORKER_USERNAME"))
    }

    /// The course-list items of up to [`COURSE_LIST_BATCH`] keys (`GET
    /// /api/courses/v1/courses/?course_keys=…&username=…&page_size=100&page=1`, following
    /// `pagination.next`), with the service token. Keys edX does not know are simply absent.
    pub async fn course_list(&self, keys: &[&str]) -> Result<Vec<CourseListItem>, EdxError> {
        let base = self.base()?;
        let token = self.service_token()?;
        let username = self.service_username()?;
        let mut url = reqwest::Url::parse(&format!("{base}/api/courses/v1/courses/"))
            .map_err(|e| EdxError::Decode(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("course_keys", &keys.join(","))
            .append_pair("username", username)
            .append_pair("page_size", &COURSE_LIST_BATCH.to_string())
            .append_pair("page", "1");
        self.follow_pages(
            url.to_string(),
            token,
            "course list",
            |page: CoursePage, out| {
                out.extend(page.results.into_iter().map(course_item));
                page.pagination.and_then(|p| p.next)
            },
        )
        .await
    }

    /// One course's detail (`GET /api/courses/v1/courses/{K}/?username=…`), with the service
    /// token.
    pub async fn course_detail(&self, key: &str) -> Result<EdxCourseItem, EdxError> {
        let base = self.base()?;
        let token = self.service_token()?;
        let username = self.service_username()?;
        let mut url = reqwest::Url::parse(&format!("{base}/api/courses/v1/courses/{key}/"))
            .map_err(|e| EdxError::Decode(e.to_string()))?;
        url.query_pairs_mut().append_pair("username", username);
        let body = self.send(self.http.get(url).bearer_auth(token)).await?;
        Self::decode(&body)
    }

    /// A JWT for Studio calls (`POST /oauth2/access_token` on the LMS,
    /// `grant_type=client_credentials`, `token_type=jwt`).
    async fn studio_jwt(&self) -> Result<String, EdxError> {
        let url = format!("{}/oauth2/access_token", self.base()?);
        let client_id =
            self.settings
                .courses_client_id
                .as_deref()
                .ok_or(EdxError::NotConfigured(
                    "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_ID",
                ))?;
        let client_secret =
            self.settings
                .courses_client_secret
                .as_deref()
                .ok_or(EdxError::NotConfigured(
                    "OPENEDX_COURSES_SERVICE_WORKER_CLIENT_SECRET",
                ))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("token_type", "jwt"),
        ];
        let token: JwtResponse = Self::decode(&self.send(self.http.post(url).form(&form)).await?)?;
        Ok(token.access_token)
    }

    /// Updates a run in Studio (`PUT {studio}/api/v1/course_runs/{K}/`, `Authorization: JWT
    /// …`).
    pub async fn update_studio_run(
        &self,
        key: &str,
        update: &StudioRunUpdate,
    ) -> Result<(), EdxError> {
        let studio = self
            .settings
            .studio_base_url
            .as_deref()
            .ok_or(EdxError::NotConfigured("OPENEDX_STUDIO_API_BASE_URL"))?;
        let token = self.studio_jwt().await?;
        let url = format!("{studio}/api/v1/course_runs/{key}/");
        let request = self
            .http
            .put(url)
            .header("Authorization", format!("JWT {token}"))
            .json(update);
        self.send(request).await.map(drop)
    }
}
