//! `mitx records partner-schools …` and `mitx certificates backfill-credentials` end to
//! end (courses spec 1.14, 3.8, spec 6 `backfill_verifiable_credentials`), on both
//! backends.

use chrono::Utc;

use crate::support::{all_dbs, mitx, mitx_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_partner_schools_add_link_list_and_deactivate() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
        assert_eq!(code, 0, "{err}");
        let school = mitx_json(
            url,
            &[
                "records",
                "partner-schools",
                "add",
                "--name",
                "Pathway College",
                "--email",
                "admissions@pathway.edu",
                "--reason",
                "new partner",
            ],
        );
        let id = school["id"].as_i64().unwrap().to_string();
        assert_eq!(school["is_active"], true);
        let (code, _, err) = mitx(
            url,
            &[
                "records",
                "partner-schools",
                "add",
                "--name",
                "X",
                "--email",
                "nope",
                "--reason",
                "r",
            ],
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("not an email address"), "{err}");
        let linked = mitx_json(
            url,
            &[
                "records",
                "partner-schools",
                "link",
                &id,
                "--program",
                "program-v1:MITx+DEDP",
                "--email",
                "dedp@pathway.edu",
                "--reason",
                "pathway",
            ],
        );
        assert_eq!(linked["linked"], true);
        let again = mitx_json(
            url,
            &[
                "records",
                "partner-schools",
                "link",
                &id,
                "--program",
                "program-v1:MITx+DEDP",
                "--email",
                "dedp@pathway.edu",
                "--reason",
                "pathway",
            ],
        );
        assert_eq!(again["linked"], false);
        let list = mitx_json(url, &["records", "partner-schools", "list"]);
        assert_eq!(list[0]["name"], "Pathway College");
        assert_eq!(
            list[0]["programs"],
            "program-v1:MITx+DEDP (dedp@pathway.edu)"
        );
        let (code, _, err) = mitx(
            url,
            &[
                "records",
                "partner-schools",
                "deactivate",
                &id,
                "--reason",
                "ended",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("is now inactive"), "{err}");
        let list = mitx_json(url, &["records", "partner-schools", "list"]);
        assert_eq!(list[0]["is_active"], false);
        let (code, _, _) = mitx(
            url,
            &[
                "records",
                "partner-schools",
                "deactivate",
                "999999",
                "--reason",
                "x",
            ],
        );
        assert_eq!(code, 1);
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_backfill_credentials_queues_one_job_per_certificate() {
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
        let run = runs.as_array().unwrap()[0]["id"].as_i64().unwrap();
        let now = Utc::now().to_rfc3339();
        db.store
            .execute_raw(&format!(
                "INSERT INTO course_run_certificates (user_id, course_run_id, uuid, is_revoked, issue_date, created_on, updated_on) \
                 VALUES ({user}, {run}, '0b0c0d0e-0000-4000-8000-0000000000b1', FALSE, '{now}', '{now}', '{now}')"
            ))
            .await
            .unwrap();
        let dry = mitx_json(url, &["certificates", "backfill-credentials", "--dry-run"]);
        assert_eq!(dry["queued"], 1, "{dry}");
        let done = mitx_json(
            url,
            &["certificates", "backfill-credentials", "--courses-only"],
        );
        assert_eq!(done["queued"], 1, "{done}");
        let again = mitx_json(url, &["certificates", "backfill-credentials"]);
        assert_eq!(
            (again["queued"].as_i64(), again["already_queued"].as_i64()),
            (Some(0), Some(1)),
            "{again}"
        );
        let programs = mitx_json(
            url,
            &["certificates", "backfill-credentials", "--programs-only"],
        );
        assert_eq!(programs["queued"], 0);
        let jobs = mitx_json(url, &["jobs", "list", "--kind", "credentials.issue"]);
        assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
        let (code, _, err) = mitx(
            url,
            &[
                "certificates",
                "backfill-credentials",
                "--program",
                "program-v1:Nope",
            ],
        );
        assert_eq!(code, 1, "{err}");
        db.cleanup().await.unwrap();
    }
}
