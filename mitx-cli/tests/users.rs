//! `mitx users create|show|list` end to end.

use mitx_services::store::users::UserKey;

use crate::support::{all_dbs, mitx, mitx_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_create_show_list() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        let (code, out, err) = mitx(
            url,
            &[
                "users",
                "create",
                "--username",
                "alice",
                "--email",
                "Alice@Example.com",
                "--name",
                "Alice Liddell",
                "--country",
                "us",
                "--staff",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Created user"), "{err}");
        assert!(out.contains("alice") && out.contains("Liddell"), "{out}");

        // By email, case-insensitively; JSON carries the legal address and profile.
        let shown = mitx_json(url, &["users", "show", "alice@example.com"]);
        assert_eq!(shown["username"], "alice");
        assert_eq!(shown["is_staff"], true);
        assert_eq!(shown["legal_address"]["country"], "US");
        assert_eq!(shown["legal_address"]["first_name"], "Alice");
        assert!(shown["user_profile"].is_object());
        let id = shown["id"].as_i64().unwrap();
        let by_id = mitx_json(url, &["users", "show", &id.to_string()]);
        assert_eq!(by_id["email"], "Alice@Example.com");

        mitx(
            url,
            &[
                "users",
                "create",
                "--username",
                "bob",
                "--email",
                "bob@example.org",
            ],
        );
        let listed = mitx_json(url, &["users", "list"]);
        assert_eq!(listed.as_array().unwrap().len(), 2);
        let found = mitx_json(url, &["users", "list", "--search", "EXAMPLE.ORG"]);
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert_eq!(found[0]["username"], "bob");
        let (code, out, _) = mitx(url, &["users", "list", "--limit", "1"]);
        assert_eq!(code, 0);
        assert!(out.contains("alice") && !out.contains("bob"), "{out}");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_bad_input_exits_1_and_writes_nothing() {
    let db = crate::support::sqlite_db().await;
    let url = db.url.as_str();
    let (code, out, err) = mitx(url, &["users", "show", "nobody"]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("user 'nobody' not found"), "{err}");

    let (code, _, err) = mitx(
        url,
        &["users", "create", "--username", "a", "--email", "A@x.org"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = mitx(
        url,
        &["users", "create", "--username", "b", "--email", "a@X.org"],
    );
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("A user with email a@X.org already exists."),
        "{err}"
    );
    let (code, _, err) = mitx(
        url,
        &[
            "users",
            "create",
            "--username",
            "c",
            "--email",
            "c@x.org",
            "--country",
            "XX",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("Unknown country code 'XX'"), "{err}");
    let (code, _, err) = mitx(
        url,
        &["users", "create", "--username", "d", "--email", "nope"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("Invalid email address 'nope'."), "{err}");
    // Usage error: a required option is missing.
    let (code, _, _) = mitx(url, &["users", "create", "--username", "e"]);
    assert_eq!(code, 2);
    assert_eq!(db.store.list_users(None, 100).await.unwrap().len(), 1);
    assert!(
        db.store
            .find_user(&UserKey::parse("b"))
            .await
            .unwrap()
            .is_none()
    );
    db.cleanup().await.unwrap();
}
