//! `mitx price explain` on a small dataset made through the CLI (users, product,
//! discounts) plus a flexible-pricing tier and an approved request (store fixtures until
//! the flexprice commands exist).

use chrono::Utc;
use mitx_core::pricing::flexible::{Courseware, RequestStatus};
use mitx_services::store::users::UserKey;

use crate::support::{all_dbs, mitx, mitx_json};

const RUN: &str = "course-v1:MITxT+8.01x+3T2026";

fn create_discount(url: &str, args: &[&str]) {
    let mut all = vec!["discounts", "create"];
    all.extend_from_slice(args);
    let (code, _, err) = mitx(url, &all);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_explain_shows_every_candidate_and_the_winner() {
    for db in all_dbs().await {
        let url = db.url.as_str();
        let store = &db.store;
        let (course, _) = store
            .insert_course_run_fixture("course-v1:MITxT+8.01x", RUN, Utc::now())
            .await
            .unwrap();
        let program = store
            .insert_program_fixture("program-v1:MITxT+PHYS", &[course], Utc::now())
            .await
            .unwrap();
        for user in ["alice", "bob"] {
            let email = format!("{user}@example.com");
            assert_eq!(
                mitx(
                    url,
                    &["users", "create", "--username", user, "--email", &email]
                )
                .0,
                0
            );
        }
        let (code, _, err) = mitx(url, &["products", "create", RUN, "1000"]);
        assert_eq!(code, 0, "{err}");
        let product = mitx_json(url, &["products", "list"])[0]["id"]
            .as_i64()
            .unwrap()
            .to_string();

        create_discount(
            url,
            &[
                "AUTO5",
                "--discount-type",
                "percent-off",
                "--amount",
                "5",
                "--redemption-type",
                "unlimited",
                "--automatic",
            ],
        );
        create_discount(
            url,
            &[
                "MINE",
                "--discount-type",
                "dollars-off",
                "--amount",
                "10",
                "--redemption-type",
                "unlimited",
                "--user",
                "alice",
            ],
        );
        create_discount(
            url,
            &[
                "TIER-50",
                "--discount-type",
                "percent-off",
                "--amount",
                "50",
                "--redemption-type",
                "unlimited",
                "--payment-type",
                "financial-assistance",
            ],
        );
        create_discount(
            url,
            &[
                "SAVE30",
                "--discount-type",
                "percent-off",
                "--amount",
                "30",
                "--redemption-type",
                "unlimited",
            ],
        );
        let tier_discount = store
            .discount_record_by_code("TIER-50")
            .await
            .unwrap()
            .unwrap();
        let tier = store
            .insert_tier_fixture(
                Courseware::Program(program),
                0.0,
                tier_discount.discount.id,
                true,
            )
            .await
            .unwrap();
        let alice = store
            .find_user(&UserKey::parse("alice"))
            .await
            .unwrap()
            .unwrap();
        store
            .insert_flexible_price_fixture(
                alice.id,
                Courseware::Program(program),
                RequestStatus::Approved,
                Some(tier),
                Utc::now(),
            )
            .await
            .unwrap();

        // Alice: automatic, then assigned, then her approved tier, then the typed code.
        let e = mitx_json(
            url,
            &[
                "price",
                "explain",
                "--user",
                "alice",
                "--product",
                &product,
                "--code",
                "SAVE30",
            ],
        );
        assert_eq!(e["list_price"], "1000.00");
        assert_eq!(e["final_price"], "500.00");
        assert_eq!(e["winning_code"], "TIER-50");
        let steps: Vec<(&str, &str, &str)> = e["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["code"].as_str().unwrap(),
                    c["decision"].as_str().unwrap(),
                    c["unit_price"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("AUTO5", "set", "950.00"),
                ("MINE", "set", "990.00"),
                ("TIER-50", "set", "500.00"),
                ("SAVE30", "kept", "700.00"),
            ]
        );
        assert_eq!(e["candidates"][0]["origins"][0], "automatic");
        assert_eq!(e["candidates"][1]["origins"][0], "assigned");
        assert_eq!(e["candidates"][2]["origins"][0], "flexible-price-tier");
        assert_eq!(e["candidates"][3]["origins"][0], "typed-code");
        assert_eq!(
            e["candidates"][3]["reason"],
            "$700.00 is more than the current $500.00 (TIER-50)"
        );
        assert_eq!(e["candidates"][2]["winner"], true);
        assert_eq!(e["flexible_walk"][0]["courseware"]["type"], "program");

        // The table for people, with the summary line.
        let (code, out, err) = mitx(
            url,
            &[
                "price",
                "explain",
                "--user",
                "alice",
                "--product",
                &product,
                "--code",
                "SAVE30",
            ],
        );
        assert_eq!(code, 0, "{err}");
        for text in [
            "AUTO5",
            "MINE",
            "TIER-50 *",
            "SAVE30",
            "flexible-price tier",
            "Flexible pricing walk",
            "program-v1:MITxT+PHYS",
        ] {
            assert!(out.contains(text), "{text}: {out}");
        }
        assert!(
            out.contains("Final price $500.00 (list $1000.00): TIER-50 (50.00% off, flexible-price tier) won at step 3: a flexible-price tier discount replaces a user-assigned one."),
            "{out}"
        );

        // Bob has no assignment and no request: the typed code beats the automatic one.
        let e = mitx_json(
            url,
            &[
                "price",
                "explain",
                "--user",
                "bob@example.com",
                "--product",
                &product,
                "--code",
                "SAVE30",
            ],
        );
        assert_eq!(e["final_price"], "700.00");
        assert_eq!(e["winning_code"], "SAVE30");
        let codes: Vec<&str> = e["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            ["AUTO5", "SAVE30"],
            "no request, so no tier candidate"
        );
        assert_eq!(e["flexible_walk"][0]["outcome"], "no request");

        // Typing the tier code is refused; --at before the product existed still prices it.
        let e = mitx_json(
            url,
            &[
                "price",
                "explain",
                "--user",
                "bob",
                "--product",
                &product,
                "--code",
                "TIER-50",
                "--at",
                "2030-01-01",
            ],
        );
        assert_eq!(e["winning_code"], "AUTO5");
        let typed = e["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["step"] == 2)
            .unwrap();
        assert_eq!(
            typed["reason"],
            "not applicable: financial-assistance discounts cannot be typed"
        );

        let (code, out, err) = mitx(
            url,
            &[
                "price",
                "explain",
                "--user",
                "nobody",
                "--product",
                &product,
            ],
        );
        assert_eq!(code, 1);
        assert!(out.is_empty());
        assert!(err.contains("User 'nobody' not found."), "{err}");
        let (code, _, err) = mitx(
            url,
            &["price", "explain", "--user", "bob", "--product", "999"],
        );
        assert_eq!(code, 1);
        assert!(err.contains("Product 999 not found."), "{err}");
        db.cleanup().await.unwrap();
    }
}
