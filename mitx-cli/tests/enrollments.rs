//! `mitx enrollments defer|upgrade-programs` end to end (courses spec 2.9, 2.8): the real
//! binary against a fresh database and the fake Open edX.

use chrono::{DateTime, Duration, Utc};
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::{ChangeStatus, EnrollRequest, EnrollRequestError};
use mitx_core::ids::UserId;
use mitx_services::Services;
use mitx_services::enrollment::{self, Enrollment};
use mitx_services::store::enrollments::EnrollmentRecord;
use mitx_services::testing::{self, FakeEdx, TestDb};
use serde_json::{Value, json};

use crate::support::{all_dbs, mitx_env, repo_root};

const R1: &str = "course-v1:MITx+6.001x+1T2026";
const R2: &str = "course-v1:MITx+6.001x+2T2026";

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn run(key: &str, tag: &str, now: DateTime<Utc>) -> Value {
    json!({
        "courseware_id": key, "run_tag": tag, "title": "Introduction to Computer Science",
        "start_date": time(now - Duration::days(28)), "end_date": time(now + Duration::days(92)),
        "enrollment_start": time(now - Duration::days(59)), "enrollment_end": null,
        "upgrade_deadline": time(now + Duration::days(61)), "certificate_available_date": null,
        "expiration_date": null, "live": true, "is_self_paced": false,
        "modes": ["audit", "verified"], "language": "en", "price": "100.00"
    })
}

/// Services over `db` with the fake edX and two open runs of one course; the environment
/// that points the binary at the same fake.
async fn setup(db: &TestDb, edx: &FakeEdx) -> (Services, Vec<(&'static str, String)>) {
    let settings = testing::settings_with_edx(edx, false, &[]);
    let mut envs = edx.env();
    envs.push((
        "MITX_EMAIL_OUTBOX",
        settings.email.outbox.display().to_string(),
    ));
    let services = testing::services(db, settings);
    let now = Utc::now();
    let data = json!({
        "version": 1,
        "departments": [{"name": "Scenario Department"}],
        "courses": [{
            "readable_id": "course-v1:MITx+6.001x", "title": "Introduction to Computer Science",
            "live": true, "departments": ["Scenario Department"],
            "runs": [run(R1, "1T2026", now), run(R2, "2T2026", now)]
        }]
    });
    let data = serde_json::from_value(data).unwrap();
    mitx_services::catalog::import(&services, &data, false)
        .await
        .unwrap();
    (services, envs)
}

fn no_check(_: Option<&EnrollmentRecord>, _: DateTime<Utc>) -> Result<(), EnrollRequestError> {
    Ok(())
}

async fn verified_in(services: &Services, user: UserId, key: &str) {
    let run = services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap();
    let done = enrollment::enroll(
        services,
        user,
        &run,
        EnrollRequest::verified(false),
        None,
        &no_check,
    )
    .await
    .unwrap();
    assert!(matches!(done, Enrollment::Enrolled(_)));
}

async fn row(services: &Services, user: UserId, key: &str) -> Option<EnrollmentRecord> {
    let run = services
        .store()
        .enrollment_run_by_courseware_id(key)
        .await
        .unwrap()
        .unwrap();
    services
        .store()
        .run_enrollment(user, run.run.id)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defer_command_dry_run_refusals_and_the_move() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (services, envs) = setup(&db, &edx).await;
        let user = testing::learner(&services, "jdoe").await;
        verified_in(&services, user, R1).await;
        let url = db.url.as_str();
        let root = repo_root();
        let defer = |extra: &[&str]| {
            let mut args = vec![
                "enrollments",
                "defer",
                "--user",
                "jdoe@example.com",
                "--from-run",
                R1,
            ];
            args.extend_from_slice(extra);
            mitx_env(&root, url, &args, &envs)
        };

        // Usage errors: 2.
        let (code, _, _) = defer(&["--to-run", R2]);
        assert_eq!(code, 2, "--reason is required");
        // A dry run prints the plan and changes nothing.
        let calls = edx.calls().received;
        let (code, out, err) = {
            let mut args = vec![
                "--json",
                "enrollments",
                "defer",
                "--user",
                "jdoe",
                "--from-run",
                R1,
            ];
            args.extend_from_slice(&["--to-run", R2, "--reason", "ticket 1", "--dry-run"]);
            mitx_env(&root, url, &args, &envs)
        };
        assert_eq!(code, 0, "{err}");
        let plan: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(plan["plan"]["plan"], "move", "{plan}");
        assert_eq!(plan["unchanged"], true);
        assert_eq!(edx.calls().received, calls, "a dry run calls nobody");
        assert!(row(&services, user, R2).await.is_none());
        // Refusals: 1, with the spec's messages.
        let (code, _, err) = defer(&["--to-run", R1, "--reason", "x"]);
        assert_eq!(code, 1);
        assert!(
            err.contains("Invalid enrollment deferral - Cannot defer to the same course run"),
            "{err}"
        );
        let (code, _, err) = defer(&["--to-run", "course-v1:MITx+6.001x+9T2099", "--reason", "x"]);
        assert_eq!(code, 1);
        assert!(
            err.contains("'to' course does not exist (course-v1:MITx+6.001x+9T2099)"),
            "{err}"
        );
        let (code, _, err) = mitx_env(
            &root,
            url,
            &[
                "enrollments",
                "defer",
                "--user",
                "nobody",
                "--from-run",
                R1,
                "--reason",
                "x",
            ],
            &envs,
        );
        assert_eq!(code, 1);
        assert!(err.contains("not found"), "{err}");
        // The move.
        let (code, _, err) = defer(&["--to-run", R2, "-k", "--reason", "ticket 1"]);
        assert_eq!(code, 0, "{err}");
        let b = row(&services, user, R2).await.unwrap().enrollment;
        assert!(b.active && b.mode == EnrollmentMode::Verified);
        let a = row(&services, user, R1).await.unwrap();
        assert_eq!(a.enrollment.change_status, Some(ChangeStatus::Deferred));
        let audit = services
            .store()
            .audit_log_for("course_run_enrollment", &a.id.0.to_string())
            .await
            .unwrap();
        assert_eq!(audit.last().unwrap().reason.as_deref(), Some("ticket 1"));
        assert_eq!(audit.last().unwrap().actor, "tester");
        // Again: nothing to do, exit 0.
        let (code, _, err) = defer(&["--to-run", R2, "--reason", "ticket 1"]);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("already deferred"), "{err}");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_programs_command_reports_a_summary() {
    for db in all_dbs().await {
        let edx = FakeEdx::start().await.unwrap();
        let (_services, envs) = setup(&db, &edx).await;
        let root = repo_root();
        let (code, _, err) = mitx_env(
            &root,
            db.url.as_str(),
            &["enrollments", "upgrade-programs", "--dry-run"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("Dry run: 0 of 0 audit program enrollment(s)"),
            "{err}"
        );
        let (code, _, err) = mitx_env(
            &root,
            db.url.as_str(),
            &["enrollments", "upgrade-programs"],
            &envs,
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Upgraded 0 of 0"), "{err}");
        db.cleanup().await.unwrap();
    }
}
