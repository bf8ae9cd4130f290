//! Open edX accounts (courses spec 4.3 "edX user creation", 4.4 user repair).

use chrono::Duration;
use mitx_core::enrollment::{EdxFailure, WindowCheck};
use mitx_services::clock::Clock;
use mitx_services::edx::users::{EdxAccountError, ensure_edx_account};
use mitx_services::enrollment;
use mitx_services::jobs::periodic;
use mitx_services::store::users::NewUser;

use crate::support::{backends, t0, world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_created_once_with_free_usernames() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let jane = w.learner("jane").await;
        // edX already has a "jane" (not ours): its first suggestion is taken instead.
        w.edx.add_user("jane", "someone-else@example.com");
        let username = ensure_edx_account(&w.services, jane).await.unwrap();
        assert_eq!(username, "jane1");
        assert!(w.edx.has_user("jane1"));
        let record = w.services.store().edx_user(jane).await.unwrap().unwrap();
        assert!(record.has_been_synced && !record.has_sync_error);
        // Once synced, no second registration.
        let before = w.edx.calls().registrations;
        assert_eq!(
            ensure_edx_account(&w.services, jane).await.unwrap(),
            "jane1"
        );
        assert_eq!(w.edx.calls().registrations, before);
        // An LTI account holds the email: fixed once, then created.
        let bob = w.learner("bob").await;
        w.edx.add_lti_email("bob@example.com");
        assert_eq!(ensure_edx_account(&w.services, bob).await.unwrap(), "bob");
        assert_eq!(w.edx.calls().lti_fixes, 1);
        // A learner whose email edX knows for another account (not LTI): refused for good,
        // recorded for an operator, and enrolling fails as "no edX account".
        let new = NewUser {
            username: "carol".into(),
            email: "carol@example.com".into(),
            name: "Carol".into(),
            ..NewUser::default()
        };
        let carol = mitx_services::users::create(&w.services, &new)
            .await
            .unwrap()
            .user
            .id;
        w.edx.add_user("carol-elsewhere", "carol@example.com");
        let err = ensure_edx_account(&w.services, carol).await.unwrap_err();
        assert!(
            matches!(err, EdxAccountError::Refused { status: 409, .. }),
            "{err:?}"
        );
        let record = w.services.store().edx_user(carol).await.unwrap().unwrap();
        assert!(record.has_sync_error && !record.has_been_synced);
        assert!(record.sync_error_data.unwrap().contains("409"));
        assert_eq!(err.failure(), EdxFailure::UserMissing);
        let run = w.runs(1).await[0];
        let err = enrollment::enroll_via_api(&w.services, carol, run, WindowCheck::Skip)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            enrollment::EnrollmentError::EdxEnroll(EdxFailure::UserMissing)
        ));
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_enrollments_create_one_account() {
    for db in backends().await {
        let w = world(db, false, Clock::system(), &[]).await;
        let user = w.learner("dana").await;
        let runs = w.runs(4).await;
        let mut tasks = tokio::task::JoinSet::new();
        for run in runs {
            let services = w.services.clone();
            tasks.spawn(async move {
                enrollment::enroll_via_api(&services, user, run, WindowCheck::Skip).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (record, _) = match done.unwrap() {
                Ok(ok) => ok,
                Err(err) => panic!(
                    "{} {err:?} {}",
                    w.db.store.backend().name(),
                    mitx_services::cause_chain(&err)
                ),
            };
            assert!(record.enrollment.edx_enrolled);
        }
        assert_eq!(w.edx.calls().registrations, 1);
        assert_eq!(w.edx.calls().enrolls, 4);
        w.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repair_job_creates_missing_accounts_of_users_who_logged_in() {
    for db in backends().await {
        let clock = Clock::fixed(t0());
        let w = world(db, false, clock.clone(), &[]).await;
        let logged_in = w.learner("erin").await;
        let never = w.learner("frank").await;
        w.db.store
            .execute_raw(&format!(
                "UPDATE users SET last_login = created_on WHERE id = {}",
                logged_in.0
            ))
            .await
            .unwrap();
        // Too young: left alone.
        let report = periodic::run(&w.services, periodic::REPAIR_FAULTY_EDX_USERS)
            .await
            .unwrap();
        assert_eq!(report.summary, "checked 0 user(s): 0 repaired, 0 failed");
        clock.advance(Duration::minutes(6));
        let report = periodic::run(&w.services, periodic::REPAIR_FAULTY_EDX_USERS)
            .await
            .unwrap();
        assert_eq!(report.summary, "checked 1 user(s): 1 repaired, 0 failed");
        assert!(
            w.services
                .store()
                .edx_user(logged_in)
                .await
                .unwrap()
                .unwrap()
                .has_been_synced
        );
        assert!(w.services.store().edx_user(never).await.unwrap().is_none());
        let report = periodic::run(&w.services, periodic::REPAIR_FAULTY_EDX_USERS)
            .await
            .unwrap();
        assert_eq!(report.summary, "checked 0 user(s): 0 repaired, 0 failed");
        w.cleanup().await;
    }
}
