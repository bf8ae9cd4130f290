//! `mitx catalog ...` end to end, on SQLite and (when configured) PostgreSQL.

use std::process::Command;

use mitx_services::testing::TestDb;

fn mitx(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mitx"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run mitx");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_len(text: &str) -> usize {
    serde_json::from_str::<Vec<serde_json::Value>>(text)
        .expect("json array")
        .len()
}

async fn import_story(db: &TestDb) {
    let url = db.url.as_str();
    let (code, out, err) = mitx(url, &["--json", "db", "status"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied"), "{out}");

    let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = mitx(url, &["--json", "catalog", "list", "courses"]);
    assert_eq!(code, 0);
    assert_eq!(json_len(&out), 20);
    let before = db.store.catalog_counts().await.expect("counts");

    // Again: nothing changes.
    let (code, _, err) = mitx(url, &["catalog", "import", "fixtures/demo/catalog.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Nothing changed."), "{err}");
    assert_eq!(db.store.catalog_counts().await.expect("counts"), before);

    // Bad files are rejected whole, naming the record; nothing is written.
    for (file, expected) in [
        (
            "fixtures/test/bad-run-dates.json",
            "End date must be later than start date.",
        ),
        (
            "fixtures/test/bad-requirement.json",
            "unknown course 'course-v1:MITxT+8.99x'",
        ),
        ("fixtures/test/bad-price.json", "bad price '12.345'"),
    ] {
        let (code, out, err) = mitx(url, &["catalog", "import", file]);
        assert_eq!(code, 1, "{file}: {err}");
        assert!(out.is_empty(), "{file}: stdout must stay empty: {out}");
        assert!(err.contains(expected), "{file}: {err}");
        assert!(err.contains("nothing was written"), "{file}: {err}");
        assert_eq!(
            db.store.catalog_counts().await.expect("counts"),
            before,
            "{file}"
        );
    }

    let (code, out, _) = mitx(url, &["--json", "catalog", "list", "runs"]);
    assert_eq!(code, 0);
    assert_eq!(json_len(&out), 51);
    let (code, out, _) = mitx(url, &["--json", "catalog", "list", "programs"]);
    assert_eq!(code, 0);
    assert_eq!(json_len(&out), 4);

    let (code, out, err) = mitx(url, &["catalog", "export"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"program-v1:MITx+DEDP\""),
        "export holds the programs"
    );

    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "course",
            "course-v1:MITx+99.99x",
            "--title",
            "New",
            "--live",
            "--dept",
            "Economics",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "course",
            "course-v1:MITx+99.99x",
            "--title",
            "New",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "run",
            "course-v1:MITx+99.99x",
            "--run-tag",
            "1T2027",
            "--start",
            "2027-02-01",
            "--end",
            "2027-01-01",
        ],
    );
    assert_eq!(code, 1, "a run ending before it starts is refused");
    assert!(
        err.contains("End date must be later than start date."),
        "{err}"
    );
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "run",
            "course-v1:MITx+99.99x",
            "--run-tag",
            "1T2027",
            "--start",
            "2027-02-01",
            "--end",
            "2027-05-01",
            "--enrollment-start",
            "2026-12-01",
            "--live",
            "--verified",
            "--price",
            "75",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "create",
            "program",
            "program-v1:MITx+NEW",
            "--title",
            "New program",
            "--required",
            "course-v1:MITx+99.99x",
            "--elective",
            "course-v1:MITx+14.100x",
            "--min-electives",
            "1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = mitx(
        url,
        &[
            "--json",
            "catalog",
            "check-requirements",
            "--program",
            "program-v1:MITx+NEW",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json_len(&out), 0, "{out}");
    let (code, _, err) = mitx(
        url,
        &[
            "catalog",
            "check-requirements",
            "--program",
            "program-v1:Nope",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_import_list_export_create_on_sqlite() {
    let db = TestDb::sqlite().await.expect("sqlite");
    import_story(&db).await;
    db.cleanup().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_import_list_export_create_on_postgres() {
    let Some(db) = TestDb::postgres().await.expect("postgres") else {
        eprintln!(
            "skipped: {} is not set",
            mitx_services::testing::POSTGRES_URL_VAR
        );
        return;
    };
    import_story(&db).await;
    db.cleanup().await.expect("cleanup");
}

#[test]
fn a_fresh_database_must_be_migrated_first() {
    let path = std::env::temp_dir().join(format!("mitx-unmigrated-{}.db", std::process::id()));
    let url = format!("sqlite://{}", path.display());
    let (code, _, err) = mitx(&url, &["catalog", "list", "courses"]);
    assert_eq!(code, 1);
    assert!(err.contains("run `mitx db migrate` first"), "{err}");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, _) = mitx("sqlite://unused.db", &["catalog", "list", "nothing"]);
    assert_eq!(code, 2);
}
