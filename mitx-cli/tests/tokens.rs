//! `mitx tokens create|list|revoke` end to end.

use mitx_services::store::service_tokens::{is_well_formed_token, token_hash};

use crate::support::{all_dbs, mitx, mitx_json, sqlite_db};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_create_list_revoke() {
    for db in all_dbs().await {
        let url = db.url.as_str();

        // The secret alone on stdout (so scripts can capture it), the warning on stderr.
        let (code, out, err) = mitx(
            url,
            &[
                "tokens",
                "create",
                "mit-learn-etl",
                "--scope",
                "catalog:read",
                "--reason",
                "Learn catalog pull",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let secret = out.trim().to_owned();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(is_well_formed_token(&secret), "{secret}");
        assert!(err.contains("cannot be shown again"), "{err}");
        assert!(!err.contains(&secret), "{err}");
        let stored = db
            .store
            .find_active_service_token(&token_hash(&secret))
            .await
            .unwrap()
            .expect("found by the hash of the printed secret");
        assert_eq!(stored.name, "mit-learn-etl");
        assert_eq!(stored.scopes, ["catalog:read"]);

        // --json shows the secret once too, with the token.
        let created = mitx_json(
            url,
            &["tokens", "create", "staging", "--scope", "catalog:read"],
        );
        let second = created["secret"].as_str().unwrap().to_owned();
        assert!(is_well_formed_token(&second));
        assert_ne!(second, secret);
        assert_eq!(created["name"], "staging");
        assert_eq!(created["scopes"][0], "catalog:read");

        // Listing never shows secrets or hashes.
        let listed = mitx_json(url, &["tokens", "list"]);
        let rows = listed.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["name"], "mit-learn-etl");
        assert_eq!(rows[0]["revoked_on"], serde_json::Value::Null);
        let (code, table, _) = mitx(url, &["tokens", "list"]);
        assert_eq!(code, 0);
        assert!(
            table.contains("mit-learn-etl") && table.contains("catalog:read"),
            "{table}"
        );
        assert!(
            table.contains("last used") && table.contains("revoked"),
            "{table}"
        );
        for text in [listed.to_string(), table] {
            for hidden in [&secret, &second, &token_hash(&secret)] {
                assert!(!text.contains(hidden.as_str()), "{text}");
            }
        }

        // Dry run changes nothing.
        let (code, _, err) = mitx(
            url,
            &[
                "tokens",
                "revoke",
                "mit-learn-etl",
                "--reason",
                "leaked",
                "--dry-run",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Dry run"), "{err}");
        assert!(
            db.store
                .find_active_service_token(&token_hash(&secret))
                .await
                .unwrap()
                .is_some()
        );

        let (code, _, err) = mitx(
            url,
            &[
                "tokens",
                "revoke",
                "mit-learn-etl",
                "--reason",
                "leaked",
                "--actor",
                "ops",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("Revoked service token 'mit-learn-etl'"),
            "{err}"
        );
        assert!(
            db.store
                .find_active_service_token(&token_hash(&secret))
                .await
                .unwrap()
                .is_none()
        );
        // Idempotent.
        let (code, _, err) = mitx(
            url,
            &["tokens", "revoke", "mit-learn-etl", "--reason", "again"],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("already revoked"), "{err}");

        let audit = db
            .store
            .audit_log_for("service_token", "mit-learn-etl")
            .await
            .unwrap();
        let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["service_token.create", "service_token.revoke"]);
        assert_eq!(audit[0].actor, "tester", "actor defaults to $USER");
        assert_eq!(audit[0].reason.as_deref(), Some("Learn catalog pull"));
        assert_eq!(audit[1].actor, "ops");
        assert_eq!(audit[1].reason.as_deref(), Some("leaked"));

        let listed = mitx_json(url, &["tokens", "list"]);
        assert!(listed[0]["revoked_on"].is_string(), "{listed}");
        assert!(listed[1]["revoked_on"].is_null(), "{listed}");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_bad_input_exits_1_or_2_and_writes_nothing() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    // Unknown scope, bad name: failures (1), nothing stored.
    let (code, out, err) = mitx(url, &["tokens", "create", "etl", "--scope", "admin"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("Unknown scope 'admin'"), "{err}");
    let (code, _, err) = mitx(
        url,
        &["tokens", "create", "has space", "--scope", "catalog:read"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("Invalid token name"), "{err}");
    // No scope at all, or no --reason on revoke: usage errors (2).
    let (code, _, _) = mitx(url, &["tokens", "create", "etl"]);
    assert_eq!(code, 2);
    let (code, _, _) = mitx(url, &["tokens", "revoke", "etl"]);
    assert_eq!(code, 2);
    assert_eq!(db.store.count("service_tokens").await.unwrap(), 0);
    assert_eq!(db.store.count("audit_log").await.unwrap(), 0);

    // A name in use: refused, and the first token is unchanged.
    let (code, first, _) = mitx(url, &["tokens", "create", "etl", "--scope", "catalog:read"]);
    assert_eq!(code, 0);
    let (code, out, err) = mitx(url, &["tokens", "create", "etl", "--scope", "catalog:read"]);
    assert_eq!(code, 1);
    assert!(
        out.is_empty(),
        "no secret printed for a refused token: {out}"
    );
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(db.store.count("service_tokens").await.unwrap(), 1);
    assert!(
        db.store
            .find_active_service_token(&token_hash(first.trim()))
            .await
            .unwrap()
            .is_some()
    );
    // Revoking an unknown name fails.
    let (code, _, err) = mitx(url, &["tokens", "revoke", "nope", "--reason", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("Service token 'nope' not found."), "{err}");
    db.cleanup().await.unwrap();
}
