//! `mitx discounts create|generate|list|show|check|extend` end to end.

use std::collections::HashSet;
use std::time::Instant;

use chrono::Utc;
use mitx_services::store::discounts::DiscountFilter;
use mitx_services::store::users::UserKey;

use crate::support::{all_dbs, mitx, mitx_in, mitx_json, sqlite_db, temp_dir};

const RUN: &str = "course-v1:MITxT+8.01x+3T2026";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_create_show_check_list() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        db.store
            .insert_course_run_fixture("course-v1:MITxT+8.01x", RUN, Utc::now())
            .await
            .unwrap();
        assert_eq!(mitx(url, &["products", "create", RUN, "100"]).0, 0);
        assert_eq!(
            mitx(
                url,
                &[
                    "users",
                    "create",
                    "--username",
                    "alice",
                    "--email",
                    "a@x.org"
                ]
            )
            .0,
            0
        );

        let (code, out, err) = mitx(
            url,
            &[
                "discounts",
                "create",
                "SPRING25",
                "--discount-type",
                "percent-off",
                "--amount",
                "25",
                "--redemption-type",
                "one-time-per-user",
                "--payment-type",
                "marketing",
                "--max-redemptions",
                "10",
                "--expires",
                "2099-06-30",
                "--product",
                "1",
                "--user",
                "alice",
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("Created discount SPRING25."), "{err}");
        assert!(out.contains("25.00% off") && out.contains("alice"), "{out}");

        let shown = mitx_json(url, &["discounts", "show", "SPRING25"]);
        let d = &shown["record"]["discount"];
        assert_eq!(d["discount_type"], "percent-off");
        assert_eq!(d["redemption_type"], "one-time-per-user");
        assert_eq!(d["max_redemptions"], 10);
        assert_eq!(d["expiration_date"], "2099-06-30T00:00:00Z");
        assert_eq!(shown["products"][0]["courseware"], RUN);
        assert_eq!(shown["products"][0]["price"], "100.00");
        assert_eq!(shown["assignees"][0]["username"], "alice");
        let (code, out, _) = mitx(url, &["discounts", "show", "SPRING25"]);
        assert_eq!(code, 0);
        assert!(
            out.contains("Product restrictions") && out.contains("Assignees"),
            "{out}"
        );

        // check_discount_code verdicts.
        let (code, out, _) = mitx(url, &["discounts", "check", "SPRING25"]);
        assert_eq!(code, 0);
        assert!(out.contains("Can be redeemed? Potentially"), "{out}");
        mitx(
            url,
            &[
                "discounts",
                "create",
                "OPEN",
                "--discount-type",
                "dollars-off",
                "--amount",
                "10",
                "--redemption-type",
                "unlimited",
            ],
        );
        let (_, out, _) = mitx(url, &["discounts", "check", "OPEN"]);
        assert!(out.contains("Can be redeemed? Yes"), "{out}");
        mitx(
            url,
            &[
                "discounts",
                "create",
                "LATER",
                "--discount-type",
                "fixed-price",
                "--amount",
                "5",
                "--redemption-type",
                "one-time",
                "--activates",
                "2098-01-01",
            ],
        );
        let check = mitx_json(url, &["discounts", "check", "LATER"]);
        assert_eq!(check["can_be_redeemed"], "No");
        assert_eq!(check["valid_now"], false);
        let (code, _, err) = mitx(url, &["discounts", "check", "NOPE"]);
        assert_eq!(code, 1);
        assert!(err.contains("Discount 'NOPE' not found."), "{err}");

        // Duplicate code: a clear conflict.
        let (code, _, err) = mitx(
            url,
            &[
                "discounts",
                "create",
                "OPEN",
                "--discount-type",
                "dollars-off",
                "--amount",
                "1",
                "--redemption-type",
                "unlimited",
            ],
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("Discount code 'OPEN' already exists."),
            "{err}"
        );

        // Listing filters.
        let listed = mitx_json(url, &["discounts", "list"]);
        let codes: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["LATER", "OPEN", "SPRING25"], "newest first");
        let one_time = mitx_json(url, &["discounts", "list", "--redemption-type", "one-time"]);
        assert_eq!(one_time.as_array().unwrap().len(), 1);
        let marketing = mitx_json(url, &["discounts", "list", "--payment-type", "marketing"]);
        assert_eq!(marketing[0]["code"], "SPRING25");
        let search = mitx_json(url, &["discounts", "list", "--search", "PEN"]);
        assert_eq!(search[0]["code"], "OPEN");
        let open = db
            .store
            .discount_record_by_code("OPEN")
            .await
            .unwrap()
            .unwrap();
        let alice = db
            .store
            .find_user(&UserKey::parse("alice"))
            .await
            .unwrap()
            .unwrap();
        db.store
            .insert_redemption_fixture(open.discount.id, alice.id, "fulfilled", Utc::now())
            .await
            .unwrap();
        let redeemed = mitx_json(url, &["discounts", "list", "--redeemed", "yes"]);
        assert_eq!(redeemed.as_array().unwrap().len(), 1);
        assert_eq!(redeemed[0]["redemptions"], 1);
        let never = mitx_json(
            url,
            &["discounts", "list", "--redeemed", "no", "--limit", "1"],
        );
        assert_eq!(never.as_array().unwrap().len(), 1);
        let (code, out, _) = mitx(url, &["discounts", "list"]);
        assert_eq!(code, 0);
        assert!(out.contains("$10.00 off"), "{out}");
        db.cleanup().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_bad_input_exits_1_and_writes_nothing() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    let base = [
        "discounts",
        "create",
        "BAD",
        "--redemption-type",
        "unlimited",
    ];
    for (extra, message) in [
        (
            vec!["--discount-type", "percent-off", "--amount", "150"],
            "Discount amount 150 not valid for discount type percent-off.",
        ),
        (
            vec!["--discount-type", "percent-off", "--amount", "abc"],
            "Invalid amount 'abc'",
        ),
        (
            vec!["--discount-type", "half-off", "--amount", "5"],
            "Discount type half-off is not valid.",
        ),
        (
            vec![
                "--discount-type",
                "dollars-off",
                "--amount",
                "5",
                "--expires",
                "2001-01-01",
            ],
            "Expiration date 2001-01-01 00:00:00+00:00 must be in the future.",
        ),
        (
            vec![
                "--discount-type",
                "dollars-off",
                "--amount",
                "5",
                "--user",
                "ghost",
            ],
            "User 'ghost' not found.",
        ),
        (
            vec![
                "--discount-type",
                "dollars-off",
                "--amount",
                "5",
                "--product",
                "42",
            ],
            "Product 42 not found.",
        ),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra);
        let (code, out, err) = mitx(url, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // Generation errors: nothing in the database, no CSV.
    let dir = temp_dir("bad-generate");
    let (code, _, err) = mitx_in(
        &dir,
        url,
        &[
            "discounts",
            "generate",
            "--prefix",
            "X",
            "--count",
            "5",
            "--amount",
            "150",
            "--payment-type",
            "marketing",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("Discount amount 150 not valid for discount type percent-off."),
        "{err}"
    );
    let (code, _, err) = mitx_in(
        &dir,
        url,
        &[
            "discounts",
            "generate",
            "--count",
            "5",
            "--amount",
            "10",
            "--payment-type",
            "marketing",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("You must specify a prefix to create a batch of codes."),
        "{err}"
    );
    let (code, _, err) = mitx_in(
        &dir,
        url,
        &[
            "discounts",
            "generate",
            "A",
            "--amount",
            "10",
            "--payment-type",
            "gifts",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("Payment type gifts is not valid."), "{err}");
    assert!(!dir.join("generated-codes.csv").exists());
    let all = DiscountFilter {
        limit: 100,
        ..DiscountFilter::default()
    };
    assert!(db.store.list_discounts(&all).await.unwrap().is_empty());
    let _ = std::fs::remove_dir_all(dir);
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_generate_1000_codes_to_csv() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    let dir = temp_dir("generate");
    let started = Instant::now();
    let (code, out, err) = mitx_in(
        &dir,
        url,
        &[
            "discounts",
            "generate",
            "--prefix",
            "SPRING",
            "--count",
            "1000",
            "--discount-type",
            "percent-off",
            "--amount",
            "10",
            "--payment-type",
            "marketing",
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.is_empty(),
        "results go to the CSV; stdout stays empty: {out}"
    );
    assert!(err.contains("1000 created."), "{err}");
    eprintln!("generate 1000 codes (debug build): {elapsed:?}");

    let mut reader = csv::Reader::from_path(dir.join("generated-codes.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["code", "type", "amount", "expiration_date"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1000);
    let codes: HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(codes.len(), 1000, "codes are distinct");
    for row in &rows {
        assert!(row[0].starts_with("SPRING") && row[0].len() == "SPRING".len() + 36);
        assert_eq!(&row[1], "percent-off");
        assert_eq!(&row[2], "10");
        assert_eq!(&row[3], "");
    }
    let all = DiscountFilter {
        limit: 5000,
        ..DiscountFilter::default()
    };
    let stored = db.store.list_discounts(&all).await.unwrap();
    assert_eq!(stored.len(), 1000);
    assert!(
        stored
            .iter()
            .all(|s| s.discount.is_bulk && codes.contains(s.discount.code.as_str()))
    );

    // Explicit codes, one-time, with --json: stdout is the JSON list; --output elsewhere.
    let (code, out, err) = mitx_in(
        &dir,
        url,
        &[
            "--json",
            "discounts",
            "generate",
            "WELCOME1",
            "WELCOME2",
            "--amount",
            "50",
            "--discount-type",
            "dollars-off",
            "--payment-type",
            "customer-support",
            "--one-time",
            "--expires",
            "2099-01-01",
            "--output",
            "welcome.csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["redemption_type"], "one-time");
    let text = std::fs::read_to_string(dir.join("welcome.csv")).unwrap();
    assert_eq!(
        text,
        "code,type,amount,expiration_date\nWELCOME1,dollars-off,50,2099-01-01 00:00:00+00:00\nWELCOME2,dollars-off,50,2099-01-01 00:00:00+00:00\n"
    );
    let _ = std::fs::remove_dir_all(dir);
    db.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_extend_skips_redeemed_and_records_audit() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        mitx(
            url,
            &["users", "create", "--username", "u", "--email", "u@x.org"],
        );
        for code in [
            "XMAS-1",
            "XMAS-2",
            "XMAS-USED",
            "xmas-lower",
            "OTHER",
            "X-XMAS",
        ] {
            let (c, _, err) = mitx(
                url,
                &[
                    "discounts",
                    "create",
                    code,
                    "--discount-type",
                    "percent-off",
                    "--amount",
                    "10",
                    "--redemption-type",
                    "one-time",
                    "--expires",
                    "2098-01-01",
                ],
            );
            assert_eq!(c, 0, "{err}");
        }
        let used = db
            .store
            .discount_record_by_code("XMAS-USED")
            .await
            .unwrap()
            .unwrap();
        let user = db
            .store
            .find_user(&UserKey::parse("u"))
            .await
            .unwrap()
            .unwrap();
        db.store
            .insert_redemption_fixture(used.discount.id, user.id, "pending", Utc::now())
            .await
            .unwrap();

        let args = [
            "discounts",
            "extend",
            "--discount-code-prefix",
            "XMAS",
            "--expires",
            "2099-12-31",
            "--reason",
            "holiday extended",
        ];
        let mut dry = args.to_vec();
        dry.push("--dry-run");
        let (code, out, err) = mitx(url, &dry);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(
                "would set 2099-12-31T00:00:00Z on 2 discount code(s); skipped 1 redeemed"
            ),
            "{err}"
        );
        assert!(
            out.contains("XMAS-1") && !out.contains("XMAS-USED") && !out.contains("X-XMAS"),
            "{out}"
        );
        let one = db
            .store
            .discount_record_by_code("XMAS-1")
            .await
            .unwrap()
            .unwrap();
        let before = one.discount.expiration_date;
        assert_eq!(
            before.map(|d| d.date_naive().to_string()).as_deref(),
            Some("2098-01-01"),
            "dry run writes nothing"
        );

        let (code, _, err) = mitx(url, &args);
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains("Successfully updated 2 discount codes."),
            "{err}"
        );
        for (code, extended) in [
            ("XMAS-1", true),
            ("XMAS-2", true),
            ("XMAS-USED", false),
            ("xmas-lower", false),
            ("OTHER", false),
            ("X-XMAS", false),
        ] {
            let r = db
                .store
                .discount_record_by_code(code)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(r.discount.expiration_date != before, extended, "{code}");
        }
        let audit = db
            .store
            .audit_log_for("discount", &one.discount.id.to_string())
            .await
            .unwrap();
        let last = audit.last().unwrap();
        assert_eq!(last.action, "discount.extend");
        assert_eq!(last.reason.as_deref(), Some("holiday extended"));

        // A date in the past is refused with the save-time message.
        let (code, _, err) = mitx(
            url,
            &[
                "discounts",
                "extend",
                "--discount-code-prefix",
                "XMAS",
                "--expires",
                "2001-01-01",
                "--reason",
                "x",
            ],
        );
        assert_eq!(code, 1);
        assert!(err.contains("must be in the future."), "{err}");
        db.cleanup().await.unwrap();
    }
}

/// Extend: an empty prefix is refused; a date that would shorten codes (they expire later,
/// or never) skips them and says so, unless --allow-shorten; the dry run summarises.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discounts_extend_never_shortens_without_allow_shorten() {
    let db = sqlite_db().await;
    let url = db.url.as_str();
    for (code, expires) in [
        ("FALL-EARLY", Some("2097-01-01")),
        ("FALL-LATE", Some("2099-06-01")),
        ("FALL-OPEN", None),
    ] {
        let mut args = vec![
            "discounts",
            "create",
            code,
            "--discount-type",
            "percent-off",
            "--amount",
            "10",
            "--redemption-type",
            "unlimited",
        ];
        if let Some(date) = expires {
            args.extend(["--expires", date]);
        }
        let (c, _, err) = mitx(url, &args);
        assert_eq!(c, 0, "{err}");
    }
    let expires_of = |code: &'static str| {
        let store = db.store.clone();
        async move {
            store
                .discount_record_by_code(code)
                .await
                .unwrap()
                .unwrap()
                .discount
                .expiration_date
                .map(|d| d.date_naive().to_string())
        }
    };

    for prefix in ["", "  "] {
        let (code, out, err) = mitx(
            url,
            &[
                "discounts",
                "extend",
                "--discount-code-prefix",
                prefix,
                "--expires",
                "2098-01-01",
                "--reason",
                "x",
            ],
        );
        assert_eq!(code, 1, "{err}");
        assert!(out.is_empty(), "{out}");
        assert!(
            err.contains("The discount code prefix must not be empty."),
            "{err}"
        );
    }

    let args = [
        "discounts",
        "extend",
        "--discount-code-prefix",
        "FALL",
        "--expires",
        "2098-01-01",
        "--reason",
        "fall campaign",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let (code, _, err) = mitx(url, &dry);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Dry run: would set 2098-01-01T00:00:00Z on 1 discount code(s); skipped 2 that the date would shorten (use --allow-shorten) (nothing written)."),
        "{err}"
    );
    let plan = mitx_json(url, &dry);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["targets"].as_array().unwrap().len(), 1);
    let mut skipped: Vec<&str> = plan["shortening_skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    skipped.sort_unstable();
    assert_eq!(skipped, ["FALL-LATE", "FALL-OPEN"]);
    assert_eq!(
        expires_of("FALL-OPEN").await,
        None,
        "dry run writes nothing"
    );

    let (code, _, err) = mitx(url, &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Successfully updated 1 discount codes."),
        "{err}"
    );
    assert_eq!(
        expires_of("FALL-EARLY").await.as_deref(),
        Some("2098-01-01")
    );
    assert_eq!(expires_of("FALL-LATE").await.as_deref(), Some("2099-06-01"));
    assert_eq!(expires_of("FALL-OPEN").await, None);

    let mut shorten = args.to_vec();
    shorten.push("--allow-shorten");
    let (code, _, err) = mitx(url, &shorten);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("setting 2098-01-01T00:00:00Z on 2 discount code(s) (2 of them shortened); skipped 1 already expiring then"),
        "{err}"
    );
    assert_eq!(expires_of("FALL-LATE").await.as_deref(), Some("2098-01-01"));
    assert_eq!(expires_of("FALL-OPEN").await.as_deref(), Some("2098-01-01"));
    db.cleanup().await.unwrap();
}
