//! Deferrals through the workflow with the fake Open edX (courses spec 2.9, scenarios
//! 21–26), on every backend.

use chrono::{DateTime, Duration, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{ChangeStatus, DeferralPlan, EnrollRequest, EnrollRequestError};
use mitx_core::ids::UserId;
use mitx_services::Services;
use mitx_services::clock::Clock;
use mitx_services::deferral::{self, DeferWorkflowError, DeferralOrder};
use mitx_services::enrollment::{self, Enrollment};
use mitx_services::store::audit_log::Audit;
use mitx_services::store::enrollments::EnrollmentRecord;
use mitx_services::testing;
use serde_json::{Value, json};

use crate::support::{World, backends, t0, world};

pub const R1: &str = "course-v1:MITx+6.001x+1T2026";
pub const R2: &str = "course-v1:MITx+6.001x+2T2026";
pub const R3: &str = "course-v1:MITx+6.001x+3T2025";
pub const OTHER: &str = "course-v1:MITx+6.002x+1T2026";

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn run(key: &str, tag: &str, now: DateTime<Utc>, enrollment_end: Option<DateTime<Utc>>) -> Value {
    json!({
        "courseware_id": key,
        "run_tag": tag,
        "title": "Introduction to Computer Science",
        "start_date": time(now - Duration::days(28)),
        "end_date": time(now + Duration::days(92)),
        "enrollment_start": time(now - Duration::days(59)),
        "enrollment_end": enrollment_end.map(time),
        "upgrade_deadline": time(now + Duration::days(61)),
        "certificate_available_date": null,
        "expiration_date": null,
        "live": true,
        "is_self_paced": false,
        "modes": ["audit", "verified"],
        "language": "en",
        "price": "100.00"
    })
}

/// The runs of section 7 relative to `now` (NOW = 2026-03-01 gives the spec's dates): R1
/// and R2 of C1 open, R3 of C1 closed since a month, and an open run of another course.
pub fn scenario_catalog(now: DateTime<Utc>) -> Value {
    json!({
        "version": 1,
        "departments": [{"name": "Scenario Department"}],
        "courses": [
            {
                "readable_id": "course-v1:MITx+6.001x",
                "title": "Introduction to Computer Science",
                "live": true,
                "departments": ["Scenario Department"],
                "runs": [
                    run(R1, "1T2026", now, None),
                    run(R2, "2T2026", now, None),
                    run(R3, "3T2025", now, Some(now - Duration::days(28))),
                ]
            },
            {
                "readable_id": "course-v1:MITx+6.002x",
                "title": "Circuits and Electronics",
                "live": true,
                "departments": ["Scenario Department"],
                "runs": [run(OTHER, "1T2026", now, None)]
            }
        ]
    })
}

/// A world at NOW with the scenario runs.
pub async fn scenario_world(db: testing::TestDb) -> World {
    let w = world(db, false, Clock::fixed(t0()), &[]).await;
    let data = serde_json::from_value(scenario_catalog(t0())).expect("catalog JSON");
    mitx_services::catalog::import(&w.services, &data, false)
        .await
        .expect("scenario catalog");
    w
}

pub async fn run_of(
    services: &Services,
    key: &str,
) -> mitx_services::store::enrollments::EnrollmentRun {
    services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("run {key}"))
}

fn no_check(_: Option<&EnrollmentRecord>, _: DateTime<Utc>) -> Result<(), EnrollRequestError> {
    Ok(())
}

/// Enrolls `user` in `key` in `mode` through the core routine (edX up).
pub async fn enrolled(
    services: &Services,
    user: UserId,
    key: &str,
    mode: EnrollmentMode,
) -> EnrollmentRecord {
    let run = run_of(services, key).await;
    match enrollment::enroll(
        services,
        user,
        &run,
        EnrollRequest::new(mode, false),
        None,
        &no_check,
    )
    .await
    .unwrap()
    {
        Enrollment::Enrolled(record) => record,
        Enrollment::EdxFailed(failure) => panic!("edX failed: {failure:?}"),
    }
}

async fn row(services: &Services, user: UserId, key: &str) -> Option<EnrollmentRecord> {
    let run = run_of(services, key).await;
    services
        .store()
        .run_enrollment(user, run.run.id)
        .await
        .unwrap()
}

async fn paid(services: &Services, user: UserId, key: &str) -> bool {
    let run = run_of(services, key).await;
    services
        .store()
        .form_enrollment_facts(user, run.run.id)
        .await
        .unwrap()
        .already_paid
}

fn order<'a>(
    user: UserId,
    to: Option<&'a str>,
    force: bool,
    audit: &'a Audit,
) -> DeferralOrder<'a> {
    DeferralOrder {
        user,
        from_run: R1,
        to_run: to,
        keep_failed: false,
        force,
        audit,
    }
}

fn audit() -> Audit {
    Audit::new("tester", Some("ticket 21".into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s21_deferral_moves_the_verified_seat_and_the_payment() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u21").await;
        let r1 = enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let r1_run = run_of(s, R1).await.run.id;
        testing::database(s)
            .insert_paid_course_run_fixture(user, r1_run, "fulfilled", t0())
            .await
            .unwrap();
        let audit = audit();
        // A dry run changes nothing and calls nobody.
        let calls = w.edx.calls().received;
        let preview = deferral::preview(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap();
        assert!(
            matches!(preview.plan, DeferralPlan::Move { .. }),
            "{preview:?}"
        );
        assert_eq!(w.edx.calls().received, calls);
        assert!(row(s, user, R2).await.is_none());

        let outcome = deferral::defer(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap();
        let to = outcome.to.expect("B enrollment");
        assert_eq!((to.mode.as_str(), to.active), ("verified", true));
        let b = row(s, user, R2).await.unwrap().enrollment;
        assert!(b.active && b.edx_enrolled);
        assert_eq!(b.mode, EnrollmentMode::Verified);
        assert_eq!(b.change_status, None);
        let a = row(s, user, R1).await.unwrap();
        assert_eq!(a.id, r1.id);
        assert!(a.enrollment.active);
        assert_eq!(a.enrollment.mode, EnrollmentMode::Audit);
        assert_eq!(a.enrollment.change_status, Some(ChangeStatus::Deferred));
        // The payment follows the seat.
        assert!(paid(s, user, R2).await);
        assert!(!paid(s, user, R1).await);
        // edX: B verified, A audit.
        let edx = w.edx.enrollments();
        let mode_of = |key: &str| {
            edx.iter()
                .find(|(_, course, _)| course == key)
                .map(|(_, _, e)| (e.mode.clone(), e.is_active))
        };
        assert_eq!(mode_of(R2), Some(("verified".into(), true)));
        assert_eq!(mode_of(R1), Some(("audit".into(), true)));
        // The operator's reason is on the audit log of both rows.
        for id in [a.id.0, b_id(s, user).await] {
            let rows = s
                .store()
                .audit_log_for("course_run_enrollment", &id.to_string())
                .await
                .unwrap();
            assert!(!rows.is_empty(), "audit rows of {id}");
            assert!(rows.iter().all(|r| r.reason.as_deref() == Some("ticket 21")
                && r.actor == "tester"
                && r.action == deferral::AUDIT_ACTION));
        }
        // Repeating it changes nothing.
        let calls = w.edx.calls().received;
        let again = deferral::defer(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap();
        assert!(again.unchanged);
        assert_eq!(again.plan, DeferralPlan::AlreadyDeferred);
        assert_eq!(w.edx.calls().received, calls);
        w.cleanup().await;
    }
}

async fn b_id(s: &Services, user: UserId) -> i64 {
    row(s, user, R2).await.unwrap().id.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s22_deferral_replaces_an_active_audit_seat_in_the_target() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u22").await;
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let audit_b = enrolled(s, user, R2, EnrollmentMode::Audit).await;
        let unenrolls = w.edx.calls().unenrolls;
        let audit = audit();
        deferral::defer(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap();
        assert_eq!(
            w.edx.calls().unenrolls,
            unenrolls + 1,
            "B's audit seat left edX first"
        );
        let b = row(s, user, R2).await.unwrap();
        assert_eq!(b.id, audit_b.id, "the same row, reactivated");
        assert!(b.enrollment.active && b.enrollment.edx_enrolled);
        assert_eq!(b.enrollment.mode, EnrollmentMode::Verified);
        assert_eq!(b.enrollment.change_status, None);
        let a = row(s, user, R1).await.unwrap().enrollment;
        assert_eq!(a.change_status, Some(ChangeStatus::Deferred));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s23_deferral_to_the_same_run_is_refused_without_an_edx_call() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u23").await;
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let calls = w.edx.calls().received;
        let audit = audit();
        for force in [false, true] {
            let err = deferral::defer(s, &order(user, Some(R1), force, &audit))
                .await
                .unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(
                    "Invalid enrollment deferral - Cannot defer to the same course run"
                ),
                "{text}"
            );
            assert_eq!(err.fault(), mitx_services::Fault::Caller);
        }
        assert_eq!(w.edx.calls().received, calls, "no edX call");
        let a = row(s, user, R1).await.unwrap().enrollment;
        assert_eq!((a.mode, a.change_status), (EnrollmentMode::Verified, None));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s24_deferral_to_a_closed_run_needs_force() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u24").await;
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let audit = audit();
        let err = deferral::defer(s, &order(user, Some(R3), false, &audit))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "Invalid enrollment deferral - Cannot defer to a course run that is outside of its enrollment period"
            ),
            "{err}"
        );
        assert!(row(s, user, R3).await.is_none());
        deferral::defer(s, &order(user, Some(R3), true, &audit))
            .await
            .unwrap();
        let b = row(s, user, R3).await.unwrap().enrollment;
        assert!(b.active && b.mode == EnrollmentMode::Verified);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s25_deferral_to_another_course_needs_force() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u25").await;
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let audit = audit();
        let err = deferral::defer(s, &order(user, Some(OTHER), false, &audit))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "Invalid enrollment deferral - Cannot defer to a course run of a different course"
            ),
            "{err}"
        );
        assert!(row(s, user, OTHER).await.is_none());
        deferral::defer(s, &order(user, Some(OTHER), true, &audit))
            .await
            .unwrap();
        let b = row(s, user, OTHER).await.unwrap().enrollment;
        assert!(b.active && b.mode == EnrollmentMode::Verified);
        let a = row(s, user, R1).await.unwrap().enrollment;
        assert_eq!(a.change_status, Some(ChangeStatus::Deferred));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s26_deferral_without_a_target_defers_in_place() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("u26").await;
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let audit = audit();
        let outcome = deferral::defer(s, &order(user, None, false, &audit))
            .await
            .unwrap();
        assert!(outcome.to.is_none());
        let from = outcome.from.expect("A");
        assert_eq!(from.mode, "audit");
        assert_eq!(from.change_status.as_deref(), Some("deferred"));
        let a = row(s, user, R1).await.unwrap().enrollment;
        assert!(a.active);
        assert_eq!(a.mode, EnrollmentMode::Audit);
        assert_eq!(a.change_status, Some(ChangeStatus::Deferred));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferral_refuses_unknown_runs_and_missing_enrollments_and_edx_failures() {
    for db in backends().await {
        let w = scenario_world(db).await;
        let s = &w.services;
        let user = w.learner("unknown").await;
        let audit = audit();
        let err = deferral::defer(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("'from' course run enrollment does not exist ({R1})")
        );
        assert_eq!(err.fault(), mitx_services::Fault::NotFound);
        enrolled(s, user, R1, EnrollmentMode::Verified).await;
        let err = deferral::defer(
            s,
            &order(user, Some("course-v1:MITx+Nope+1T2026"), false, &audit),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "'to' course does not exist (course-v1:MITx+Nope+1T2026)"
        );
        // edX refuses: nothing changes locally without --keep-failed.
        w.edx.set_failing(Some(500));
        let err = deferral::defer(s, &order(user, Some(R2), false, &audit))
            .await
            .unwrap_err();
        assert!(matches!(err, DeferWorkflowError::Deferral(_)), "{err}");
        assert!(row(s, user, R2).await.is_none());
        let a = row(s, user, R1).await.unwrap().enrollment;
        assert_eq!((a.mode, a.change_status), (EnrollmentMode::Verified, None));
        // With keep-failed the seat moves locally; edX catches up through the retry job.
        let mut keep = order(user, Some(R2), false, &audit);
        keep.keep_failed = true;
        deferral::defer(s, &keep).await.unwrap();
        let b = row(s, user, R2).await.unwrap().enrollment;
        assert!(b.active && !b.edx_enrolled);
        assert_eq!(b.mode, EnrollmentMode::Verified);
        w.cleanup().await;
    }
}
