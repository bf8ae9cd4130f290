//! Program-enrollment auto-upgrade (courses spec 2.8): the workflow, its dry run and the
//! periodic job, on every backend.

use mitx_core::catalog::EnrollmentMode;
use mitx_core::ids::ProgramId;
use mitx_services::clock::Clock;
use mitx_services::jobs::periodic;
use mitx_services::{program_enrollment, program_upgrade};

use crate::deferral::enrolled;
use crate::support::{backends, t0, world};

const FCS: &str = "program-v1:MITx+FCS";
/// One run of each required course of FCS.
const RUNS: [&str; 3] = [
    "course-v1:MITx+6.00.1x+1T2026",
    "course-v1:MITx+6.00.2x+2T2026",
    "course-v1:MITx+6.1200x+3T2026",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_enrollments_upgrade_once_every_required_course_is_verified() {
    for db in backends().await {
        let w = world(db, false, Clock::fixed(t0()), &[]).await;
        let s = &w.services;
        let fcs = ProgramId(s.store().catalog_program_id(FCS).await.unwrap().unwrap());
        let done = w.learner("done").await;
        let partial = w.learner("partial").await;
        for user in [done, partial] {
            program_enrollment::enroll(s, user, fcs).await.unwrap();
        }
        for run in RUNS {
            enrolled(s, done, run, EnrollmentMode::Verified).await;
        }
        enrolled(s, partial, RUNS[0], EnrollmentMode::Verified).await;
        enrolled(s, partial, RUNS[1], EnrollmentMode::Audit).await;

        let preview = program_upgrade::upgrade_eligible(s, true).await.unwrap();
        assert_eq!((preview.checked, preview.upgraded), (2, 1), "{preview:?}");
        assert_eq!(preview.upgrades[0].user, done);
        assert_eq!(preview.upgrades[0].outcome, "would upgrade");
        let mode = |user| async move {
            s.store()
                .program_enrollment(user, fcs)
                .await
                .unwrap()
                .unwrap()
                .enrollment
                .mode
        };
        assert_eq!(
            mode(done).await,
            EnrollmentMode::Audit,
            "a dry run changes nothing"
        );

        let report = periodic::run(s, periodic::UPGRADE_ELIGIBLE_PROGRAM_ENROLLMENTS)
            .await
            .unwrap();
        assert_eq!(
            report.summary,
            "Upgraded 1 of 2 audit program enrollment(s) to verified (0 skipped: changed meanwhile)."
        );
        assert_eq!(mode(done).await, EnrollmentMode::Verified);
        assert_eq!(mode(partial).await, EnrollmentMode::Audit);
        // Idempotent: nothing left to upgrade.
        let again = program_upgrade::upgrade_eligible(s, false).await.unwrap();
        assert_eq!((again.checked, again.upgraded), (1, 0));
        // The job is scheduled daily at 01:00.
        let job = periodic::schedule(s.settings())
            .into_iter()
            .find(|j| j.name == periodic::UPGRADE_ELIGIBLE_PROGRAM_ENROLLMENTS)
            .unwrap();
        assert!(job.is_scheduled());
        w.cleanup().await;
    }
}
