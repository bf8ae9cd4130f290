//! The learner's transcript as the enrollment views read it: grades, certificates active
//! at a time (not revoked, already issued), and courses with an approved flexible price.

use chrono::{DateTime, TimeZone, Utc};
use mitx_core::ids::{CourseRunId, ProgramId};
use mitx_store::catalog::CatalogData;
use mitx_store::users::NewUser;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn small() -> CatalogData {
    serde_json::from_str(include_str!("../../fixtures/test/small.json")).unwrap()
}

conformance!(
    transcript_reads_grades_active_certificates_and_flexible_prices,
    |db| {
        let store = &db.store;
        tx!(store, t => t.import_catalog(&small(), now()).await).unwrap();
        let learner = NewUser {
            username: "learner".into(),
            email: "learner@example.com".into(),
            name: "Learner".into(),
            is_staff: false,
            is_superuser: false,
            country: Some("US".into()),
        };
        let user = tx!(store, t => t.create_user(&learner, now()).await)
            .unwrap()
            .user
            .id;
        let runs = store.list_runs().await.unwrap();
        let (r1, r2) = (runs[0].id, runs[1].id);
        let program = store.list_programs().await.unwrap()[0].id;
        let course = store.catalog_run_course_id(r1).await.unwrap().unwrap();
        let u = user.0;
        for sql in [
            format!(
                "INSERT INTO course_run_grades (user_id, course_run_id, grade, letter_grade, passed, set_by_admin, created_on, updated_on) VALUES ({u}, {r1}, 0.5, NULL, FALSE, TRUE, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            ),
            // Active, revoked, and not yet issued.
            format!(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) VALUES ({u}, {r1}, '00000000-0000-4000-8000-000000000001', FALSE, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
            ),
            format!(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) VALUES ({u}, {r2}, '00000000-0000-4000-8000-000000000002', TRUE, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
            ),
            format!(
                "INSERT INTO program_certificates (user_id, program_id, uuid, is_revoked, issue_date, created_on, updated_on) VALUES ({u}, {program}, '00000000-0000-4000-8000-000000000003', FALSE, '2026-03-02T00:00:00Z', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
            ),
            format!(
                "INSERT INTO flexible_prices (user_id, course_id, status, created_on, updated_on) VALUES ({u}, {course}, 'approved', '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z')"
            ),
        ] {
            store.execute_raw(&sql).await.unwrap();
        }
        let transcript = store.learner_transcript(user, now()).await.unwrap();
        let grades = &transcript.grades;
        assert_eq!(grades.len(), 1);
        assert_eq!(grades[0].run, CourseRunId(r1));
        assert_eq!(grades[0].grade, Some(0.5));
        assert_eq!(grades[0].letter_grade, None);
        assert!(!grades[0].passed && grades[0].set_by_admin);
        let certs = &transcript.run_certificates;
        assert_eq!(certs.len(), 1, "the revoked one is left out");
        assert_eq!(certs[0].of, CourseRunId(r1));
        assert_eq!(certs[0].uuid, "00000000-0000-4000-8000-000000000001");
        // The program certificate is issued the day after `now`.
        assert!(transcript.program_certificates.is_empty());
        let later = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let programs = store
            .learner_transcript(user, later)
            .await
            .unwrap()
            .program_certificates;
        assert_eq!(programs.len(), 1);
        assert_eq!(programs[0].of, ProgramId(program));
        assert_eq!(transcript.flexible_price_courses, vec![course]);
    }
);
