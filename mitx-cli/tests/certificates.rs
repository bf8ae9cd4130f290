//! `mitx certificates revoke|unrevoke` end to end (courses spec 3.5, scenario 36): the
//! certificate leaves the learner's transcript (what enrollment lists, records and program
//! eligibility read) and comes back; repeats change nothing; a missing certificate exits 1.

use chrono::Utc;
use mitx_core::ids::UserId;

use crate::support::{all_dbs, mitx, mitx_json};

const RUN: &str = "course-v1:MITx+14.100x+3T2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_and_unrevoke_hide_and_restore_a_certificate() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = mitx(
            url,
            &[
                "users",
                "create",
                "--username",
                "jdoe",
                "--email",
                "jdoe@example.com",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let user = mitx_json(url, &["users", "show", "jdoe"])["id"]
            .as_i64()
            .unwrap();
        let runs = mitx_json(url, &["catalog", "list", "runs"]);
        let run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["courseware_id"] == RUN)
            .unwrap_or_else(|| panic!("{RUN} in the demo catalog: {runs}"))["id"]
            .as_i64()
            .unwrap();
        // A certificate no workflow issues yet (generation comes with issue 10).
        let now = Utc::now().to_rfc3339();
        db.store
            .execute_raw(&format!(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) \
                 VALUES ({user}, {run}, '0b0c0d0e-0000-4000-8000-0000000000aa', FALSE, '{now}', '{now}', '{now}')"
            ))
            .await
            .unwrap();
        let earned = || async {
            db.store
                .learner_transcript(UserId(user), Utc::now())
                .await
                .unwrap()
                .run_certificates
                .len()
        };
        assert_eq!(earned().await, 1);

        let revoke = [
            "certificates",
            "revoke",
            "--user",
            "jdoe",
            "--run",
            RUN,
            "--reason",
            "integrity",
        ];
        let (code, _, err) = mitx(url, &revoke);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("is now revoked"), "{err}");
        assert_eq!(earned().await, 0, "a revoked certificate is not earned");
        // Again: nothing changes, no second audit row.
        let (code, _, err) = mitx(url, &revoke);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("already revoked; nothing changed"), "{err}");

        let restored = mitx_json(
            url,
            &[
                "certificates",
                "unrevoke",
                "--user",
                "jdoe@example.com",
                "--run",
                &run.to_string(),
                "--reason",
                "appeal",
            ],
        );
        assert_eq!(restored["changed"], true);
        assert_eq!(restored["certificate"]["is_revoked"], false);
        assert_eq!(
            restored["certificate"]["uuid"],
            "0b0c0d0e-0000-4000-8000-0000000000aa"
        );
        assert_eq!(earned().await, 1);
        let audit = db
            .store
            .audit_log_for(
                "course_run_certificate",
                &restored["certificate"]["id"].to_string(),
            )
            .await
            .unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(
            actions.contains(&"certificate.revoke") && actions.contains(&"certificate.unrevoke")
        );

        // No certificate for the program: exit 1, "No changes made", nothing written.
        let programs = mitx_json(url, &["catalog", "list", "programs"]);
        let program = programs[0]["readable_id"].as_str().unwrap().to_owned();
        let (code, _, err) = mitx(
            url,
            &[
                "certificates",
                "revoke",
                "--user",
                "jdoe",
                "--program",
                &program,
                "--reason",
                "x",
            ],
        );
        assert_eq!(code, 1);
        assert!(err.contains("No changes made"), "{err}");
        // Neither run nor program: a usage error.
        let (code, _, _) = mitx(
            url,
            &["certificates", "revoke", "--user", "jdoe", "--reason", "x"],
        );
        assert_eq!(code, 2);
        db.cleanup().await.unwrap();
    }
}
