//! `POST /api/v2/verified_program_enrollments/{courseware_id}/` (courses spec 2.7): the
//! statuses, and the verified branch's zero-value order.

use chrono::Utc;
use mitx_core::catalog::EnrollmentMode;
use mitx_core::enrollment::ProgramEnrollment;
use mitx_core::ids::ProgramId;
use serde_json::json;

use crate::auth::{databases, jdoe, start_server};
use crate::learner::{Learner, load_demo};

/// A run of FCS's required course 6.00.1x, enrollable and upgradable for the next year.
const RUN: &str = "course-v1:MITx+6.00.1x+1T2027";
const FCS: &str = "program-v1:MITx+FCS";
const DEDP: &str = "program-v1:MITx+DEDP";

fn path(run: &str) -> String {
    format!("/api/v2/verified_program_enrollments/{run}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_program_enrollment_statuses() {
    for db in databases().await {
        load_demo(&db).await;
        let server = start_server(&db, true, false, &[]).await;
        let me = Learner::new(&server.base, &jdoe());
        let user = me.id().await;
        let fcs = ProgramId(db.store.catalog_program_id(FCS).await.unwrap().unwrap());
        let dedp = ProgramId(db.store.catalog_program_id(DEDP).await.unwrap().unwrap());

        // Bad bodies: 400; unknown run or program, or no program enrollment: 404.
        for bad in [json!({}), json!([]), json!([FCS, DEDP, FCS]), json!([1])] {
            let (status, body) = me.post(&path(RUN), &bad).await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert!(body["detail"].is_string(), "{body}");
        }
        let (status, _) = me
            .post(&path("course-v1:MITx+Nope+1T2027"), &json!([FCS]))
            .await;
        assert_eq!(status, 404);
        let (status, _) = me.post(&path(RUN), &json!(["program-v1:MITx+NOPE"])).await;
        assert_eq!(status, 404);
        let (status, body) = me.post(&path(RUN), &json!([FCS])).await;
        assert_eq!(status, 404, "not enrolled in FCS: {body}");

        // Audit program enrollment: an audit course enrollment, then 204.
        let (status, _) = me
            .post(
                "/api/v3/program_enrollments/",
                &json!({"program_id": fcs.0}),
            )
            .await;
        assert_eq!(status, 201);
        let (status, body) = me.post(&path(RUN), &json!([FCS])).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["enrollment_mode"], "audit");
        assert_eq!(body["run"]["courseware_id"], RUN);
        let (status, _) = me.post(&path(RUN), &json!([FCS])).await;
        assert_eq!(status, 204);

        // Two unrelated programs: 400.
        let (status, _) = me
            .post(
                "/api/v3/program_enrollments/",
                &json!({"program_id": dedp.0}),
            )
            .await;
        assert_eq!(status, 201);
        let (status, body) = me.post(&path(RUN), &json!([FCS, DEDP])).await;
        assert_eq!(status, 400, "{body}");

        // A verified program enrollment: verified through a fulfilled zero-value order.
        let before = db
            .store
            .program_enrollment(user, fcs)
            .await
            .unwrap()
            .unwrap();
        let mut verified: ProgramEnrollment = before.enrollment.clone();
        verified.mode = EnrollmentMode::Verified;
        tx!(db.store, t => t.save_program_enrollment(Some(&before), &verified, None, Utc::now()).await)
            .unwrap();
        let (status, body) = me.post(&path(RUN), &json!([FCS])).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["enrollment_mode"], "verified");
        let run = db
            .store
            .enrollment_run_by_courseware_id(RUN)
            .await
            .unwrap()
            .unwrap();
        let facts = db
            .store
            .form_enrollment_facts(user, run.run.id)
            .await
            .unwrap();
        assert!(
            facts.already_paid,
            "a fulfilled zero-value order pays the run"
        );
        // The order is a real one: a reference number, a $0 total, in the history.
        let (status, history) = me.get("/api/v0/orders/history/").await;
        assert_eq!(status, 200, "{history}");
        let order = &history["results"][0];
        assert_eq!(history["count"], 1, "{history}");
        assert_eq!(order["state"], "fulfilled");
        assert_eq!(order["total_price_paid"], "0.00000");
        assert_eq!(
            order["reference_number"].as_str().unwrap(),
            format!("mitxonline-dev-{}", order["id"]),
        );
        let row = db
            .store
            .run_enrollment(user, run.run.id)
            .await
            .unwrap()
            .unwrap();
        assert!(row.enrollment.active && row.enrollment.edx_enrolled);
        assert_eq!(row.enrollment.mode, EnrollmentMode::Verified);
        // Repeats change nothing.
        let (status, _) = me.post(&path(RUN), &json!([FCS])).await;
        assert_eq!(status, 204);
        let _ = server.stop.send(());
        db.cleanup().await.unwrap();
    }
}
