//! Discounts: creation with restrictions and assignees, batches in one transaction,
//! conflicts, redemption facts, listing filters, expiration updates, and the price facts
//! gathered for `mitx price explain`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mitx_core::ids::{DiscountId, UserId};
use mitx_core::money::Money;
use mitx_core::pricing::flexible::{Courseware, PricedObject, RequestStatus};
use mitx_core::pricing::{DiscountCode, DiscountDraft, DiscountType, PaymentType, RedemptionType};
use mitx_store::StoreError;
use mitx_store::audit_log::Audit;
use mitx_store::discounts::DiscountFilter;
use mitx_store::users::NewUser;
use rust_decimal::Decimal;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn ops() -> Audit {
    Audit {
        actor: "ops".into(),
        reason: Some("campaign".into()),
    }
}

fn draft(code: &str, kind: DiscountType, amount: i64) -> DiscountDraft {
    DiscountDraft::new(
        DiscountCode::parse(code).unwrap(),
        kind,
        Decimal::from(amount),
    )
}

async fn user(store: &mitx_store::Database, username: &str) -> UserId {
    tx!(store, t => t.create_user(
            &NewUser {
                username: username.into(),
                email: format!("{username}@example.com"),
                ..NewUser::default()
            },
            now(),
        ).await)
    .unwrap()
    .user
    .id
}

const RUN: &str = "course-v1:MITx+6.001x+1T2026";

async fn product(store: &mitx_store::Database) -> mitx_core::ids::ProductId {
    store
        .insert_course_run_fixture("course-v1:MITx+6.001x", RUN, now())
        .await
        .unwrap();
    let target = store.resolve_product_target(RUN).await.unwrap().unwrap();
    tx!(store, t => t.upsert_product(
            &target,
            Money::parse_price("1000.00").unwrap(),
            RUN,
            true,
            &ops(),
            now(),
        ).await)
    .unwrap()
    .product
    .id
}

conformance!(create_discount_with_restrictions_and_assignees, |db| {
    let store = &db.store;
    let learner = user(store, "learner").await;
    let p = product(store).await;
    let d = DiscountDraft {
        redemption_type: RedemptionType::OneTimePerUser,
        payment_type: Some(PaymentType::Marketing),
        max_redemptions: 5,
        expiration_date: Some(now() + Duration::days(30)),
        amount: Decimal::new(1255, 2),
        ..draft("SAVE12", DiscountType::PercentOff, 0)
    };
    let id = tx!(store, t => t.create_discount(&d, &[p], &[learner, learner], &ops(), now()).await)
        .unwrap();
    let detail = store.discount_detail_by_id(id).await.unwrap();
    let discount = &detail.record.discount;
    assert_eq!(discount.code.as_str(), "SAVE12");
    assert_eq!(discount.amount, Decimal::new(1255, 2));
    assert_eq!(discount.redemption_type, RedemptionType::OneTimePerUser);
    assert_eq!(discount.payment_type, Some(PaymentType::Marketing));
    assert_eq!(discount.max_redemptions, 5);
    assert_eq!(discount.expiration_date, Some(now() + Duration::days(30)));
    assert_eq!(detail.record.usage.restricted_to, vec![p]);
    assert_eq!(detail.record.usage.assigned_to, vec![learner]);
    assert_eq!(detail.products.len(), 1);
    assert_eq!(detail.products[0].courseware.as_deref(), Some(RUN));
    assert_eq!(detail.assignees.len(), 1);
    assert_eq!(detail.assignees[0].username, "learner");

    let by_code = store.discount_detail("SAVE12").await.unwrap().unwrap();
    assert_eq!(by_code, detail);
    // Lookups are exact and case-sensitive.
    assert!(store.discount_detail("save12").await.unwrap().is_none());

    let err = tx!(store, t => t.create_discount(&d, &[], &[], &ops(), now()).await).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(err.to_string(), "Discount code 'SAVE12' already exists.");

    let audit = store
        .audit_log_for("discount", &discount.id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "discount.create");
});

conformance!(
    batch_of_1000_in_one_transaction_and_conflicts_write_nothing,
    |db| {
        let store = &db.store;
        let drafts: Vec<DiscountDraft> = (0..1000)
            .map(|i| DiscountDraft {
                is_bulk: true,
                payment_type: Some(PaymentType::Marketing),
                ..draft(&format!("SPRING{i:04}"), DiscountType::PercentOff, 10)
            })
            .collect();
        let created = tx!(store, t => t.create_discounts(&drafts, &ops(), now()).await).unwrap();
        assert_eq!(created.len(), 1000);
        assert_eq!(created[17].code.as_str(), "SPRING0017");
        let mut ids: Vec<DiscountId> = created.iter().map(|d| d.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1000);
        let listed = store
            .list_discounts(&DiscountFilter {
                limit: 5000,
                ..DiscountFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(listed.len(), 1000);
        assert!(listed.iter().all(|s| s.discount.is_bulk));

        // One existing code in a new batch: the whole batch is refused.
        let clash = vec![
            draft("FRESH1", DiscountType::DollarsOff, 5),
            draft("SPRING0003", DiscountType::DollarsOff, 5),
        ];
        let err = tx!(store, t => t.create_discounts(&clash, &ops(), now()).await).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Discount code 'SPRING0003' already exists."
        );
        assert!(store.discount_detail("FRESH1").await.unwrap().is_none());
        let repeated = vec![
            draft("TWICE", DiscountType::DollarsOff, 5),
            draft("TWICE", DiscountType::DollarsOff, 5),
        ];
        let err = tx!(store, t => t.create_discounts(&repeated, &ops(), now()).await).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    }
);

conformance!(redemption_facts_and_list_filters, |db| {
    let store = &db.store;
    let learner = user(store, "learner").await;
    let other = user(store, "other").await;
    let used = tx!(store, t => t.create_discount(
            &DiscountDraft {
                redemption_type: RedemptionType::OneTime,
                payment_type: Some(PaymentType::Sales),
                ..draft("USED-ONE", DiscountType::DollarsOff, 50)
            },
            &[],
            &[],
            &ops(),
            now(),
        ).await)
    .unwrap();
    tx!(store, t => t.create_discount(
            &draft("fresh-one", DiscountType::FixedPrice, 10),
            &[],
            &[],
            &ops(),
            now(),
        ).await)
    .unwrap();
    store
        .insert_redemption_fixture(used, learner, "pending", now())
        .await
        .unwrap();
    store
        .insert_redemption_fixture(used, other, "fulfilled", now())
        .await
        .unwrap();

    let record = store
        .discount_record_by_code("USED-ONE")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.usage.all_redemptions, 2);
    assert_eq!(record.usage.fulfilled_redeemers, vec![other]);
    assert!(record.usage.is_redeemed());

    let codes = |list: Vec<mitx_store::discounts::DiscountSummary>| {
        list.into_iter()
            .map(|s| s.discount.code.to_string())
            .collect::<Vec<_>>()
    };
    let base = DiscountFilter {
        limit: 100,
        ..DiscountFilter::default()
    };
    assert_eq!(
        codes(store.list_discounts(&base).await.unwrap()),
        ["fresh-one", "USED-ONE"]
    );
    let redeemed = DiscountFilter {
        redeemed: Some(true),
        ..base.clone()
    };
    let listed = store.list_discounts(&redeemed).await.unwrap();
    assert_eq!(listed[0].redemptions, 2);
    assert_eq!(codes(listed), ["USED-ONE"]);
    let never = DiscountFilter {
        redeemed: Some(false),
        ..base.clone()
    };
    assert_eq!(
        codes(store.list_discounts(&never).await.unwrap()),
        ["fresh-one"]
    );
    let sales = DiscountFilter {
        payment_type: Some(PaymentType::Sales),
        ..base.clone()
    };
    assert_eq!(
        codes(store.list_discounts(&sales).await.unwrap()),
        ["USED-ONE"]
    );
    let unlimited = DiscountFilter {
        redemption_type: Some(RedemptionType::Unlimited),
        ..base.clone()
    };
    assert_eq!(
        codes(store.list_discounts(&unlimited).await.unwrap()),
        ["fresh-one"]
    );
    // Code search is case-sensitive on both backends.
    let search = DiscountFilter {
        search: Some("ONE".into()),
        ..base.clone()
    };
    assert_eq!(
        codes(store.list_discounts(&search).await.unwrap()),
        ["USED-ONE"]
    );
    let limited = DiscountFilter { limit: 1, ..base };
    assert_eq!(store.list_discounts(&limited).await.unwrap().len(), 1);
});

conformance!(expirations_update_in_one_transaction_with_audit, |db| {
    let store = &db.store;
    for code in ["XMAS-A", "XMAS-B", "xmas-c", "OTHER"] {
        tx!(store, t => t.create_discount(
                &draft(code, DiscountType::PercentOff, 10),
                &[],
                &[],
                &ops(),
                now(),
            ).await)
        .unwrap();
    }
    let matching = store.discount_records_containing("XMAS").await.unwrap();
    assert_eq!(
        matching
            .iter()
            .map(|r| r.discount.code.as_str())
            .collect::<Vec<_>>(),
        ["XMAS-A", "XMAS-B"]
    );
    let expires = now() + Duration::days(90);
    let targets: Vec<_> = matching.iter().map(|r| r.discount.clone()).collect();
    let n = tx!(store, t => t.set_discount_expirations(&targets, expires, &ops(), now()).await)
        .unwrap();
    assert_eq!(n, 2);
    let a = store
        .discount_record_by_code("XMAS-A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.discount.expiration_date, Some(expires));
    let c = store
        .discount_record_by_code("xmas-c")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.discount.expiration_date, None);
    let audit = store
        .audit_log_for("discount", &a.discount.id.to_string())
        .await
        .unwrap();
    assert_eq!(audit.last().unwrap().action, "discount.extend");
});

conformance!(
    price_facts_gather_discounts_and_the_flexible_pricing_walk,
    |db| {
        let store = &db.store;
        let learner = user(store, "learner").await;
        let other = user(store, "other").await;
        let p = product(store).await;
        let (course, _) = store
            .insert_course_run_fixture(
                "course-v1:MITx+6.001x",
                "course-v1:MITx+6.001x+2T2026",
                now(),
            )
            .await
            .unwrap();
        let program = store
            .insert_program_fixture("program-v1:MITx+CS", &[course], now())
            .await
            .unwrap();
        let related = store
            .insert_program_fixture("program-v1:MITx+AI", &[], now())
            .await
            .unwrap();
        store
            .relate_programs_fixture(related, program)
            .await
            .unwrap();

        let assigned = tx!(store, t => t.create_discount(
                &draft("MINE", DiscountType::DollarsOff, 100),
                &[],
                &[learner],
                &ops(),
                now(),
            ).await)
        .unwrap();
        tx!(store, t => t.create_discount(
                &draft("THEIRS", DiscountType::DollarsOff, 100),
                &[],
                &[other],
                &ops(),
                now(),
            ).await)
        .unwrap();
        tx!(store, t => t.create_discount(
                &DiscountDraft {
                    automatic: true,
                    ..draft("AUTO", DiscountType::PercentOff, 5)
                },
                &[],
                &[],
                &ops(),
                now(),
            ).await)
        .unwrap();
        let tier_discount = tx!(store, t => t.create_discount(
                &DiscountDraft {
                    payment_type: Some(PaymentType::FinancialAssistance),
                    ..draft("TIER-50", DiscountType::PercentOff, 50)
                },
                &[],
                &[],
                &ops(),
                now(),
            ).await)
        .unwrap();
        let tier = store
            .insert_tier_fixture(Courseware::Program(program), 0.0, tier_discount, true)
            .await
            .unwrap();
        store
            .insert_flexible_price_fixture(
                learner,
                Courseware::Program(program),
                RequestStatus::Approved,
                Some(tier),
                now(),
            )
            .await
            .unwrap();

        let facts = store.price_facts(learner, p, Some(" MINE ")).await.unwrap();
        assert_eq!(facts.product.price, Money::parse_price("1000.00").unwrap());
        assert_eq!(facts.product.object, PricedObject::CourseRun(course));
        assert_eq!(
            facts.eligible,
            vec![
                Courseware::Program(program),
                Courseware::Course(course),
                Courseware::Program(related)
            ]
        );
        assert_eq!(
            facts.courseware_names,
            [
                "program-v1:MITx+CS",
                "course-v1:MITx+6.001x",
                "program-v1:MITx+AI"
            ]
        );
        assert_eq!(
            facts
                .assigned
                .iter()
                .map(|r| r.discount.code.as_str())
                .collect::<Vec<_>>(),
            ["MINE"]
        );
        assert_eq!(facts.assigned[0].discount.id, assigned);
        assert_eq!(
            facts
                .automatic
                .iter()
                .map(|r| r.discount.code.as_str())
                .collect::<Vec<_>>(),
            ["AUTO"]
        );
        let typed = facts.typed_code.as_ref().unwrap();
        assert_eq!(typed.text, "MINE");
        assert_eq!(
            typed.record.as_ref().unwrap().discount.code.as_str(),
            "MINE"
        );
        assert_eq!(facts.flexible_requests.len(), 1);
        let request = &facts.flexible_requests[0];
        assert_eq!(request.status, RequestStatus::Approved);
        let t = request.tier.as_ref().unwrap();
        assert_eq!(t.discount.code.as_str(), "TIER-50");
        assert!(t.current);
        assert_eq!(facts.tier_records.len(), 1);
        assert!(facts.tier_records[0].usage.tier_linked);

        let unknown = store.price_facts(learner, p, Some("NOPE")).await.unwrap();
        assert!(unknown.typed_code.unwrap().record.is_none());
        let none_for_other = store.price_facts(other, p, None).await.unwrap();
        assert!(none_for_other.flexible_requests.is_empty());
        assert!(none_for_other.typed_code.is_none());
    }
);
