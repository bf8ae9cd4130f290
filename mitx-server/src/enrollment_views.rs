//! The learner's enrollment items as each API version renders them (courses spec 5.2–5.5),
//! shared by the run-enrollment and program-enrollment endpoints.
//!
//! The run and its course use the catalog's shapes ([`crate::catalog::shapes`]), so an
//! enrollment shows a course exactly as the catalog does: v1 `run.course` is the v1 course
//! (page fields and programs, without runs), v2 `run.course` the V2Course, v3 the short
//! course. Grades, certificate links and approved flexible prices come from the learner's
//! transcript, read once per request.

use std::collections::{BTreeMap, BTreeSet};

use mitx_core::ids::{CourseRunId, ProgramId, UserId};
use mitx_services::store::catalog_api::{CatalogCourse, CatalogRun};
use mitx_services::store::enrollments::{EnrollmentRecord, EnrollmentRun};
use mitx_services::store::transcript::RunGrade;
use serde_json::{Map, Value, json};

use crate::catalog::shapes::{Ctx, RunSelection, RunV2, V2Course};
use crate::catalog::v1::v1_run_with_course;
use crate::{ApiError, AppState};

/// The API version of a request (shapes and filters differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `/api/v1/`.
    V1,
    /// `/api/v2/`.
    V2,
    /// `/api/v3/`.
    V3,
}

/// What the learner has earned, keyed for lookups.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    grades: BTreeMap<CourseRunId, RunGrade>,
    run_certificates: BTreeMap<CourseRunId, String>,
    program_certificates: BTreeMap<ProgramId, String>,
    flexible_price_courses: BTreeSet<i64>,
}

impl Transcript {
    /// Reads the learner's grades, certificates active now and approved flexible prices.
    pub async fn load(state: &AppState, user: UserId) -> Result<Transcript, ApiError> {
        let t = state
            .store
            .learner_transcript(user, chrono::Utc::now())
            .await?;
        Ok(Transcript {
            grades: t.grades.into_iter().map(|g| (g.run, g)).collect(),
            run_certificates: t
                .run_certificates
                .into_iter()
                .map(|c| (c.of, c.uuid))
                .collect(),
            program_certificates: t
                .program_certificates
                .into_iter()
                .map(|c| (c.of, c.uuid))
                .collect(),
            flexible_price_courses: t.flexible_price_courses.into_iter().collect(),
        })
    }

    /// `[Grade]` of a run: `{grade, letter_grade, passed, set_by_admin, grade_percent}`.
    fn grades(&self, run: CourseRunId) -> Value {
        let items: Vec<Value> = self
            .grades
            .get(&run)
            .map(|g| {
                let grade = g.grade.unwrap_or(0.0);
                json!({
                    "grade": grade,
                    "letter_grade": g.letter_grade,
                    "passed": g.passed,
                    "set_by_admin": g.set_by_admin,
                    "grade_percent": grade * 100.0,
                })
            })
            .into_iter()
            .collect();
        Value::Array(items)
    }

    /// `CertLink` of a run's active certificate, or null.
    fn run_certificate(&self, run: CourseRunId) -> Value {
        self.run_certificates.get(&run).map_or(
            Value::Null,
            |uuid| json!({ "uuid": uuid, "link": format!("/certificate/{uuid}/") }),
        )
    }

    /// `CertLink` of a program's active certificate, or null.
    pub fn program_certificate(&self, program: ProgramId) -> Value {
        self.program_certificates.get(&program).map_or(
            Value::Null,
            |uuid| json!({ "uuid": uuid, "link": format!("/certificate/program/{uuid}/") }),
        )
    }

    fn approved_flexible_price(&self, course: i64) -> bool {
        self.flexible_price_courses.contains(&course)
    }
}

/// The catalog courses of a set of enrollments, read in one batch.
#[derive(Debug, Default)]
pub struct Courses(std::collections::HashMap<i64, std::sync::Arc<CatalogCourse>>);

impl Courses {
    /// Reads the courses of `runs`.
    pub async fn load<'a>(
        state: &AppState,
        runs: impl IntoIterator<Item = &'a EnrollmentRun>,
    ) -> Result<Courses, ApiError> {
        let mut ids: Vec<i64> = runs.into_iter().map(|r| r.run.course_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(Courses(
            state.course_cache.courses(&state.store, &ids).await?,
        ))
    }

    fn run(&self, run: &EnrollmentRun) -> Result<(&CatalogCourse, &CatalogRun), ApiError> {
        let course = self.0.get(&run.run.course_id.0).ok_or_else(|| {
            ApiError::Internal(format!("course of run {} not loaded", run.run.id))
        })?;
        let catalog_run = course
            .runs
            .iter()
            .find(|r| r.run.id == run.run.id)
            .ok_or_else(|| ApiError::Internal(format!("run {} not loaded", run.run.id)))?;
        Ok((course, catalog_run))
    }
}

fn to_map<T: serde::Serialize>(value: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::Internal("shape is not an object".into())),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

/// A run in the v2 shape with its V2Course (`V2CourseRunWithCourse`, without the
/// course's `courseruns`), as v2 enrollments and course certificates show it.
pub fn v2_run_with_course(
    course: &CatalogCourse,
    catalog_run: &CatalogRun,
    ctx: Ctx<'_>,
) -> Result<Value, ApiError> {
    let mut map = to_map(&RunV2::new(catalog_run, ctx))?;
    let mut course_map = to_map(&V2Course::new(course, RunSelection::All, ctx))?;
    course_map.remove("courseruns");
    map.insert("course".into(), Value::Object(course_map));
    Ok(Value::Object(map))
}

/// The `run` of an item.
fn run_value(
    run: &EnrollmentRun,
    course: &CatalogCourse,
    catalog_run: &CatalogRun,
    version: Version,
    ctx: Ctx<'_>,
) -> Result<Value, ApiError> {
    match version {
        Version::V1 => v1_run_with_course(catalog_run, course, false, ctx),
        Version::V2 => v2_run_with_course(course, catalog_run, ctx),
        Version::V3 => {
            let mut map = to_map(&RunV2::new(catalog_run, ctx))?;
            for key in ["products", "approved_flexible_price_exists", "b2b_contract"] {
                map.remove(key);
            }
            // The upgrade product: the run's active product, only while it is upgradable.
            let upgradable = run.run.is_upgradable(ctx.now, run.active_product.is_some());
            let product = run.active_product.filter(|_| upgradable);
            map.insert("upgrade_product_id".into(), json!(product.map(|p| p.id)));
            map.insert(
                "upgrade_product_price".into(),
                json!(product.map(|p| p.price.to_price_string())),
            );
            map.insert(
                "upgrade_product_is_active".into(),
                json!(product.map(|_| true)),
            );
            map.insert(
                "course".into(),
                json!({
                    "id": course.id,
                    "title": course.title,
                    "readable_id": course.readable_id,
                    "type": "course",
                    "include_in_learn_catalog":
                        course.page.as_ref().is_some_and(|p| p.include_in_learn_catalog),
                }),
            );
            Ok(Value::Object(map))
        }
    }
}

/// Renders enrollment items of one learner.
#[derive(Debug)]
pub struct Renderer<'a> {
    /// Clock and URLs.
    pub ctx: Ctx<'a>,
    /// The courses of the enrollments.
    pub courses: Courses,
    /// The learner's grades and certificates.
    pub transcript: Transcript,
}

impl<'a> Renderer<'a> {
    /// Reads what rendering the enrollments of `runs` for `user` needs.
    pub async fn load<'r>(
        state: &AppState,
        ctx: Ctx<'a>,
        user: UserId,
        runs: impl IntoIterator<Item = &'r EnrollmentRun>,
    ) -> Result<Renderer<'a>, ApiError> {
        Ok(Renderer {
            ctx,
            courses: Courses::load(state, runs).await?,
            transcript: Transcript::load(state, user).await?,
        })
    }

    /// One enrollment item: v1 `CourseRunEnrollment`, v2 `CourseRunEnrollmentRequestV2`,
    /// v3 `CourseRunEnrollmentV3`.
    pub fn item(
        &self,
        record: &EnrollmentRecord,
        run: &EnrollmentRun,
        version: Version,
    ) -> Result<Value, ApiError> {
        let (course, catalog_run) = self.courses.run(run)?;
        let mut run_json = run_value(run, course, catalog_run, version, self.ctx)?;
        let flexible = self.transcript.approved_flexible_price(course.id);
        if version != Version::V3
            && let Some(map) = run_json.as_object_mut()
        {
            map.insert(
                "approved_flexible_price_exists".into(),
                Value::Bool(flexible),
            );
        }
        let e = &record.enrollment;
        let mut item = Map::new();
        item.insert("id".into(), json!(record.id));
        item.insert(
            "edx_emails_subscription".into(),
            json!(e.edx_emails_subscription),
        );
        item.insert("certificate".into(), self.transcript.run_certificate(e.run));
        item.insert("enrollment_mode".into(), json!(e.mode.slug()));
        item.insert("grades".into(), self.transcript.grades(e.run));
        item.insert("run".into(), run_json);
        if version != Version::V3 {
            item.insert(
                "approved_flexible_price_exists".into(),
                Value::Bool(flexible),
            );
        }
        if version != Version::V1 {
            item.insert("b2b_organization_id".into(), json!(run.b2b_organization));
            item.insert(
                "b2b_contract_id".into(),
                json!(run.run.b2b_contract.map(|c| c.0)),
            );
        }
        Ok(Value::Object(item))
    }
}
