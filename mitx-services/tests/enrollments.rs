//! Enrollments through the workflows with Open edX up, down, or refusing (courses spec 2.1–2.3,
//! 4.4; issue 8's "Done when").

use chrono::Duration;
use mitx_core::enrollment::{ChangeStatus, UnenrollEmail, WindowCheck};
use mitx_services::clock::Clock;
use mitx_services::edx::sync::sync_enrollments;
use mitx_services::enrollment::{self, EnrollmentError, RetryScope};
use mitx_services::jobs::{self, periodic};
use mitx_services::store::enrollments::RetryResetFilter;

use crate::support::{backends, subjects, t0, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s13_edx_down_kept_then_the_retry_job_completes_each_once() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, true, clock.clone(), &[]).await;
        let runs = w.runs(3).await;
        let mut enrolled = Vec::new();
        w.edx.set_failing(Some(503));
        for (i, run) in runs.iter().enumerate() {
            let user = w.learner(&format!("learner{i}")).await;
            let (record, _) =
                enrollment::enroll_via_api(&w.services, user, *run, WindowCheck::Skip)
                    .await
                    .expect("kept despite edX");
            assert!(record.enrollment.active);
            assert!(!record.enrollment.edx_enrolled, "edX was down");
            enrolled.push(record.id);
        }
        // No email while edX has not confirmed.
        assert!(w.jobs(jobs::EMAIL_SEND).await.is_empty());
        assert_eq!(w.drain().await.done, 0);
        assert!(w.outbox().is_empty());
        // edX is back; the periodic retry leaves rows younger than 5 minutes alone.
        w.edx.set_failing(None);
        let report = periodic::run(&w.services, periodic::RETRY_FAILED_EDX_ENROLLMENTS)
            .await
            .unwrap();
        assert_eq!(report.summary, "queued 0 edX enrollment job(s)");
        clock.advance(Duration::minutes(6));
        let report = periodic::run(&w.services, periodic::RETRY_FAILED_EDX_ENROLLMENTS)
            .await
            .unwrap();
        assert_eq!(report.summary, "queued 3 edX enrollment job(s)");
        // Queued twice (a second tick before the worker ran): still one job each.
        let again = periodic::run(&w.services, periodic::RETRY_FAILED_EDX_ENROLLMENTS)
            .await
            .unwrap();
        assert_eq!(again.summary, "queued 0 edX enrollment job(s)");
        let report = w.drain().await;
        assert_eq!(
            (report.done, report.failed),
            (6, 0),
            "3 edX jobs + 3 emails"
        );
        for id in &enrolled {
            let row = w
                .services
                .store()
                .enrollment_by_id(*id)
                .await
                .unwrap()
                .unwrap();
            assert!(row.enrollment.edx_enrolled);
            assert!(row.enrollment.edx_emails_subscription);
        }
        assert_eq!(w.edx.calls().enrolls, 3, "each reached edX exactly once");
        let messages = w.outbox();
        assert_eq!(messages.len(), 3, "one enrollment email each");
        assert!(
            subjects(&messages)
                .iter()
                .all(|s| s.starts_with("You have been enrolled in "))
        );
        // Nothing left to do: another pass changes nothing.
        clock.advance(Duration::minutes(30));
        let report = periodic::run(&w.services, periodic::RETRY_FAILED_EDX_ENROLLMENTS)
            .await
            .unwrap();
        assert_eq!(report.summary, "queued 0 edX enrollment job(s)");
        assert_eq!(w.drain().await.done, 0);
        assert_eq!(w.edx.calls().enrolls, 3);
        assert_eq!(w.outbox().len(), 3);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edx_down_kept_then_the_command_completes_each_once_whatever_its_age() {
    for db in backends().await {
        let w = world(db, true, Clock::system(), &[]).await;
        let runs = w.runs(2).await;
        w.edx.set_failing(Some(502));
        for (i, run) in runs.iter().enumerate() {
            let user = w.learner(&format!("learner{i}")).await;
            enrollment::enroll_via_api(&w.services, user, *run, WindowCheck::Skip)
                .await
                .unwrap();
        }
        // Still down: the command reports each as missing and changes nothing.
        let candidates = enrollment::retry_candidates(&w.services, &RetryScope::default())
            .await
            .unwrap();
        assert_eq!(candidates.len(), 2);
        for record in &candidates {
            let line = enrollment::retry_one(&w.services, record, false).await;
            assert!(!line.enrolled, "{line:?}");
        }
        w.edx.set_failing(None);
        let candidates = enrollment::retry_candidates(&w.services, &RetryScope::default())
            .await
            .unwrap();
        assert_eq!(
            candidates.len(),
            2,
            "rows seconds old are pushed by the command"
        );
        for record in &candidates {
            let line = enrollment::retry_one(&w.services, record, false).await;
            assert!(line.enrolled, "{line:?}");
            assert_eq!(line.outcome, "enrolled");
        }
        assert!(
            enrollment::retry_candidates(&w.services, &RetryScope::default())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(w.edx.calls().enrolls, 2);
        w.drain().await;
        assert_eq!(w.outbox().len(), 2);
        // The retry job finds nothing left either.
        w.services.clock().advance(Duration::minutes(10));
        assert_eq!(enrollment::queue_edx_retries(&w.services).await.unwrap(), 0);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s12_edx_down_without_keeping_failures_writes_nothing() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let run = w.runs(1).await[0];
        let user = w.learner("jdoe").await;
        w.edx.set_failing(Some(500));
        let err = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap_err();
        assert!(matches!(err, EnrollmentError::EdxEnroll(_)), "{err:?}");
        assert_eq!(err.fault(), mitx_services::Fault::Caller);
        assert!(
            w.services
                .store()
                .run_enrollment(user, run)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            w.services
                .store()
                .count("course_run_enrollment_audits")
                .await
                .unwrap(),
            0
        );
        assert_eq!(w.services.store().count("jobs").await.unwrap(), 0);
        assert_eq!(
            w.services.store().count("leases").await.unwrap(),
            0,
            "lease given back"
        );
        // edX is back: the same request enrolls, once, with one email.
        w.edx.set_failing(None);
        let (record, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        assert!(record.enrollment.edx_enrolled);
        // A repeat changes nothing: no edX call, no second email.
        let (again, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        assert_eq!(again.id, record.id);
        assert_eq!(w.edx.calls().enrolls, 1);
        w.drain().await;
        assert_eq!(w.outbox().len(), 1);
        assert_eq!(
            w.services
                .store()
                .count("course_run_enrollment_audits")
                .await
                .unwrap(),
            1
        );
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s16_s17_unenroll_with_edx_up_and_down() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let run = w.runs(1).await[0];
        let user = w.learner("jdoe").await;
        let (record, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        // edX refuses and failures are not kept: 400, the row stays active.
        w.edx.set_failing(Some(500));
        let err = enrollment::unenroll(
            &w.services,
            user,
            record.id,
            ChangeStatus::Unenrolled,
            UnenrollEmail::Send,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, EnrollmentError::EdxUnenroll(_)), "{err:?}");
        assert!(
            w.services
                .store()
                .enrollment_by_id(record.id)
                .await
                .unwrap()
                .unwrap()
                .enrollment
                .active
        );
        // Another learner's id is not found.
        let other = w.learner("other").await;
        let err = enrollment::unenroll(
            &w.services,
            other,
            record.id,
            ChangeStatus::Unenrolled,
            UnenrollEmail::Send,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, EnrollmentError::NotFound(_)));
        w.edx.set_failing(None);
        let after = enrollment::unenroll(
            &w.services,
            user,
            record.id,
            ChangeStatus::Unenrolled,
            UnenrollEmail::Send,
        )
        .await
        .unwrap();
        assert!(!after.enrollment.active);
        assert_eq!(
            after.enrollment.change_status,
            Some(ChangeStatus::Unenrolled)
        );
        assert!(!after.enrollment.edx_enrolled && !after.enrollment.edx_emails_subscription);
        let username = w
            .services
            .store()
            .edx_user(user)
            .await
            .unwrap()
            .unwrap()
            .edx_username
            .unwrap();
        let run_key = w
            .services
            .store()
            .enrollment_run(run)
            .await
            .unwrap()
            .unwrap()
            .run
            .courseware_id;
        assert!(
            !w.edx
                .enrollment(&username, run_key.as_str())
                .unwrap()
                .is_active
        );
        w.drain().await;
        let subjects = subjects(&w.outbox());
        assert_eq!(subjects.len(), 2, "{subjects:?}");
        assert!(
            subjects
                .iter()
                .any(|s| s.starts_with("You have been unenrolled from "))
        );
        // A second unenrollment finds nothing to address.
        let err = enrollment::unenroll(
            &w.services,
            user,
            record.id,
            ChangeStatus::Unenrolled,
            UnenrollEmail::Send,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, EnrollmentError::NotFound(_)));
        assert_eq!(
            w.edx.calls().unenrolls,
            2,
            "the refused one and the accepted one"
        );
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s14_reactivation_queues_the_email_subscription() {
    for db in backends().await {
        let w = world(db, true, Clock::system(), &[]).await;
        let run = w.runs(1).await[0];
        let user = w.learner("jdoe").await;
        let (record, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        enrollment::unenroll(
            &w.services,
            user,
            record.id,
            ChangeStatus::Refunded,
            UnenrollEmail::Suppress,
        )
        .await
        .unwrap();
        let (again, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        assert_eq!(again.id, record.id, "the same row is reactivated");
        assert!(again.enrollment.active);
        assert_eq!(again.enrollment.change_status, None);
        let subscription = w.jobs(jobs::EDX_EMAIL_SUBSCRIPTION).await;
        assert_eq!(subscription.len(), 1);
        w.drain().await;
        // Without the learner's own edX token the job says so and is done.
        let job = w
            .services
            .store()
            .job(subscription[0].id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.status.as_str(), "done");
        assert!(job.last_error.unwrap().contains("no Open edX API token"));
        // Two enrollment emails (the first and the reactivation), none for the suppressed
        // unenrollment.
        assert_eq!(subjects(&w.outbox()).len(), 2);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_s46_permanent_failures_count_and_reset_puts_them_back() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, true, clock.clone(), &[]).await;
        let run = w.runs(1).await[0];
        let user = w.learner("jdoe").await;
        // The learner has an edX account; edX then refuses the enrollment itself (400): the
        // enrollment is kept, then counted.
        mitx_services::edx::users::ensure_edx_account(&w.services, user)
            .await
            .unwrap();
        w.edx.set_failing(Some(400));
        let (record, _) = enrollment::enroll_via_api(&w.services, user, run, WindowCheck::Skip)
            .await
            .unwrap();
        w.edx.set_failing(None);
        w.services.clock().advance(Duration::minutes(6));
        // A permanent failure on each pass: edX answers 400 to the enrollment itself.
        for pass in 1..=5u32 {
            w.edx.set_failing(Some(400));
            assert_eq!(enrollment::queue_edx_retries(&w.services).await.unwrap(), 1);
            w.drain().await;
            let row = w
                .services
                .store()
                .enrollment_by_id(record.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.enrollment.edx_enrollment_retry_count, pass);
            clock.advance(Duration::minutes(30));
        }
        // At 5 it is never retried automatically.
        assert_eq!(enrollment::queue_edx_retries(&w.services).await.unwrap(), 0);
        // A transient failure (503) does not count.
        let audit = mitx_services::store::audit_log::Audit::new("tester", Some("edX fixed".into()));
        let reset = enrollment::reset_edx_retries(
            &w.services,
            &RetryResetFilter {
                run: Some(run),
                only_exhausted_at: Some(5),
                ..RetryResetFilter::default()
            },
            &audit,
        )
        .await
        .unwrap();
        assert_eq!(reset, 1);
        w.edx.set_failing(Some(503));
        assert_eq!(enrollment::queue_edx_retries(&w.services).await.unwrap(), 1);
        w.drain().await;
        let row = w
            .services
            .store()
            .enrollment_by_id(record.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.enrollment.edx_enrollment_retry_count, 0);
        assert!(!row.enrollment.edx_enrolled);
        // The transient failure left its job queued for a later attempt (backoff).
        let job = &w.jobs(jobs::EDX_ENROLL).await[0];
        assert_eq!(job.status.as_str(), "queued");
        assert!(job.run_after > w.services.now());
        w.edx.set_failing(None);
        clock.advance(Duration::minutes(5));
        w.drain().await;
        let row = w
            .services
            .store()
            .enrollment_by_id(record.id)
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.edx_enrolled);
        let audits = w
            .services
            .store()
            .audit_log_for("course_run_enrollment", "*")
            .await
            .unwrap();
        assert_eq!(audits.len(), 1);
        assert_eq!(audits[0].action, "enrollment.reset_edx_retries");
        assert_eq!(audits[0].reason.as_deref(), Some("edX fixed"));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_enrollments_takes_edx_state() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let runs = w.runs(3).await;
        let user = w.learner("jdoe").await;
        for run in &runs[..2] {
            enrollment::enroll_via_api(&w.services, user, *run, WindowCheck::Skip)
                .await
                .unwrap();
        }
        let username = w
            .services
            .store()
            .edx_user(user)
            .await
            .unwrap()
            .unwrap()
            .edx_username
            .unwrap();
        let key = |i: usize| {
            let store = w.services.store().clone();
            let run = runs[i];
            async move {
                store
                    .enrollment_run(run)
                    .await
                    .unwrap()
                    .unwrap()
                    .run
                    .courseware_id
                    .as_str()
                    .to_owned()
            }
        };
        // edX deactivated the first, and knows a third the learner enrolled in there.
        w.edx
            .put_enrollment(&username, &key(0).await, "audit", false);
        w.edx
            .put_enrollment(&username, &key(2).await, "audit", true);
        w.edx
            .put_enrollment(&username, "course-v1:Unknown+X+1T2026", "audit", true);
        w.edx.set_page_size(2);
        let report = sync_enrollments(&w.services, user).await.unwrap();
        assert_eq!(report.updated, vec![runs[0]]);
        assert_eq!(report.created, vec![runs[2]]);
        assert_eq!(
            report.unknown_course_ids,
            vec!["course-v1:Unknown+X+1T2026".to_owned()]
        );
        let first = w
            .services
            .store()
            .run_enrollment(user, runs[0])
            .await
            .unwrap()
            .unwrap();
        assert!(!first.enrollment.active);
        assert_eq!(
            first.enrollment.change_status,
            Some(ChangeStatus::Unenrolled)
        );
        let third = w
            .services
            .store()
            .run_enrollment(user, runs[2])
            .await
            .unwrap()
            .unwrap();
        assert!(third.enrollment.active && third.enrollment.edx_enrolled);
        // A second sync changes nothing.
        let again = sync_enrollments(&w.services, user).await.unwrap();
        assert!(again.updated.is_empty() && again.created.is_empty());
        w.cleanup().await;
    }
}
