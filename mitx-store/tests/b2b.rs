//! B2B organizations, contracts and memberships: the gateway reconciliation facts and
//! writes, the access reads, and the catalog's B2B filters (mitx-store/src/b2b.rs and the
//! B2B functions of catalog_api.rs).

use chrono::{NaiveDate, Utc};
use mitx_core::b2b::{MembershipEffect, MembershipFact, MembershipType};
use mitx_core::ids::{ContractId, OrganizationId, UserId};
use mitx_core::users::gateway::{ClaimChanges, NewGatewayUser};
use mitx_store::catalog_api::ProgramFilter;
use mitx_store::{Backend, Database};
use uuid::Uuid;

const T0: &str = "'2026-01-01T00:00:00Z'";
const SSO_A: &str = "0b7c5a4e-3f0e-4d55-9a2b-1c2d3e4f5a6b";
const SSO_B: &str = "5d0c1b2a-9e8f-4a7b-8c6d-5e4f3a2b1c0d";

async fn run(store: &Database, sql: &str) {
    if let Err(e) = store.execute_raw(sql).await {
        panic!("{sql}: {e:?}");
    }
}

fn money(store: &Database, dollars: i64) -> String {
    match store.backend() {
        Backend::Sqlite => (dollars * 100_000).to_string(),
        Backend::Postgres => dollars.to_string(),
    }
}

/// Organizations 1 (SSO A, upper-case in storage), 2 (SSO B) and 3 (no SSO id);
/// contracts 11 (org 1, managed, dated, priced), 12 (org 1, code), 21 (org 2, auto,
/// inactive); user 900 without profile rows.
async fn seed(store: &Database) {
    let upper_a = SSO_A.to_uppercase();
    run(
        store,
        &format!(
            "INSERT INTO organizations (id, name, org_key, slug, sso_organization_id, created_on, updated_on) \
             VALUES (1, 'Acme', 'ACME', 'org-acme', '{upper_a}', {T0}, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO organizations (id, name, org_key, slug, sso_organization_id, created_on, updated_on) \
             VALUES (2, 'Beta', 'BETA', 'org-beta', '{SSO_B}', {T0}, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO organizations (id, name, org_key, slug, created_on, updated_on) \
             VALUES (3, 'Gamma', 'GAMMA', 'org-gamma', {T0}, {T0})"
        ),
    )
    .await;
    let price = money(store, 25);
    run(
        store,
        &format!(
            "INSERT INTO contracts (id, organization_id, name, slug, membership_type, contract_start, \
             contract_end, max_learners, enrollment_fixed_price, created_on, updated_on) \
             VALUES (11, 1, 'Managed', 'managed', 'managed', '2026-01-01', '2026-12-31', 10, {price}, {T0}, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO contracts (id, organization_id, name, slug, membership_type, created_on, updated_on) \
             VALUES (12, 1, 'Codes', 'codes', 'code', {T0}, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO contracts (id, organization_id, name, slug, membership_type, active, created_on, updated_on) \
             VALUES (21, 2, 'Auto', 'auto', 'auto', FALSE, {T0}, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO users (id, username, email, global_id, created_on, updated_on) \
             VALUES (900, 'learner', 'learner@example.com', 'sub-900', {T0}, {T0})"
        ),
    )
    .await;
}

fn uuid(text: &str) -> Uuid {
    Uuid::parse_str(text).unwrap()
}

conformance!(
    b2b_gateway_org_facts_read_memberships_orgs_and_contracts,
    |db| {
        let store = &db.store;
        seed(store).await;
        // Nothing to read for a new user without organization claims.
        let none = store.gateway_org_facts(None, &[]).await.unwrap();
        assert!(none.organizations.is_empty() && none.memberships.is_empty());

        // A new user: the payload's organizations (matched case-insensitively), unknown ids
        // ignored, with all their contracts.
        let unknown = Uuid::from_u128(42);
        let facts = store
            .gateway_org_facts(None, &[uuid(SSO_A), unknown])
            .await
            .unwrap();
        assert!(facts.memberships.is_empty());
        let orgs: Vec<i64> = facts.organizations.iter().map(|o| o.id.0).collect();
        assert_eq!(orgs, vec![1]);
        assert_eq!(
            facts.organizations[0].sso_organization_id,
            Some(uuid(SSO_A))
        );
        assert_eq!(facts.organizations[0].org_key.as_str(), "ACME");
        let contracts: Vec<i64> = facts.contracts.iter().map(|c| c.id.0).collect();
        assert_eq!(contracts, vec![11, 12]);
        let managed = &facts.contracts[0];
        assert_eq!(managed.organization, OrganizationId(1));
        assert_eq!(managed.membership_type, MembershipType::Managed);
        assert_eq!(managed.contract_start, NaiveDate::from_ymd_opt(2026, 1, 1));
        assert_eq!(managed.contract_end, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(managed.max_learners, Some(10));
        assert_eq!(
            managed.enrollment_fixed_price.map(|m| m.to_price_string()),
            Some("25.00".to_owned())
        );
        assert!(managed.active);
        assert_eq!(facts.contracts[1].membership_type, MembershipType::Code);
        assert_eq!(facts.contracts[1].enrollment_fixed_price, None);

        // A member of 2 (kept until seen) and 3: those organizations come with the payload's.
        run(
        store,
        &format!(
            "INSERT INTO user_organizations (user_id, organization_id, keep_until_seen, created_on, updated_on) \
             VALUES (900, 2, TRUE, {T0}, {T0})"
        ),
    )
    .await;
        run(
            store,
            &format!(
                "INSERT INTO user_organizations (user_id, organization_id, created_on, updated_on) \
             VALUES (900, 3, {T0}, {T0})"
            ),
        )
        .await;
        let facts = store
            .gateway_org_facts(Some(UserId(900)), &[uuid(SSO_A)])
            .await
            .unwrap();
        let orgs: Vec<i64> = facts.organizations.iter().map(|o| o.id.0).collect();
        assert_eq!(orgs, vec![1, 2, 3]);
        assert_eq!(
            facts.memberships,
            vec![
                MembershipFact {
                    organization: OrganizationId(2),
                    keep_until_seen: true
                },
                MembershipFact {
                    organization: OrganizationId(3),
                    keep_until_seen: false
                },
            ]
        );
        let contracts: Vec<i64> = facts.contracts.iter().map(|c| c.id.0).collect();
        assert_eq!(contracts, vec![11, 12, 21]);
        assert!(!facts.contracts[2].active);
        assert_eq!(facts.contracts[2].membership_type, MembershipType::Auto);
        assert_eq!(facts.organizations[2].sso_organization_id, None);
        // Another user's memberships are not read.
        let other = store
            .gateway_org_facts(Some(UserId(901)), &[])
            .await
            .unwrap();
        assert!(other.organizations.is_empty());
    }
);

conformance!(b2b_membership_effects_apply_idempotently, |db| {
    let store = &db.store;
    seed(store).await;
    let user = UserId(900);
    let join = [
        MembershipEffect::CreateMembership {
            organization: OrganizationId(1),
            keep_until_seen: true,
        },
        MembershipEffect::AttachToContract {
            contract: ContractId(11),
        },
    ];
    tx!(store, t => t.apply_membership_effects(user, &join, Utc::now()).await).unwrap();
    tx!(store, t => t.apply_membership_effects(user, &join, Utc::now()).await).unwrap();
    assert_eq!(store.count("user_organizations").await.unwrap(), 1);
    assert_eq!(store.count("contract_learners").await.unwrap(), 1);
    assert_eq!(store.user_org_ids(user).await.unwrap(), vec![1]);
    assert_eq!(store.user_contract_ids(user).await.unwrap(), vec![11]);
    let facts = store.gateway_org_facts(Some(user), &[]).await.unwrap();
    assert!(facts.memberships[0].keep_until_seen);

    tx!(store, t => t.apply_membership_effects(
            user,
            &[MembershipEffect::ClearKeepUntilSeen {
                organization: OrganizationId(1),
            }],
            Utc::now(),
        ).await)
    .unwrap();
    let facts = store.gateway_org_facts(Some(user), &[]).await.unwrap();
    assert!(!facts.memberships[0].keep_until_seen);

    let leave = [
        MembershipEffect::DetachFromContract {
            contract: ContractId(11),
        },
        MembershipEffect::DeleteMembership {
            organization: OrganizationId(1),
        },
    ];
    tx!(store, t => t.apply_membership_effects(user, &leave, Utc::now()).await).unwrap();
    tx!(store, t => t.apply_membership_effects(user, &leave, Utc::now()).await).unwrap();
    assert_eq!(store.count("user_organizations").await.unwrap(), 0);
    assert_eq!(store.count("contract_learners").await.unwrap(), 0);
    assert!(store.user_org_ids(user).await.unwrap().is_empty());
});

conformance!(b2b_gateway_user_writes_carry_the_memberships, |db| {
    let store = &db.store;
    seed(store).await;
    // A user created outside the gateway has no profile rows yet.
    let facts = store.gateway_facts("sub-900", None, None).await.unwrap();
    assert!(facts.existing.is_some());
    assert!(!facts.rows_present);

    let new = NewGatewayUser {
        global_id: "sub-new".into(),
        username: "newbie".into(),
        email: "newbie@example.com".into(),
        name: String::new(),
    };
    let join = [
        MembershipEffect::CreateMembership {
            organization: OrganizationId(1),
            keep_until_seen: false,
        },
        MembershipEffect::AttachToContract {
            contract: ContractId(11),
        },
    ];
    let id = tx!(store, t => t.create_gateway_user(&new, &join, Utc::now()).await).unwrap();
    assert_eq!(store.user_org_ids(id).await.unwrap(), vec![1]);
    assert_eq!(store.user_contract_ids(id).await.unwrap(), vec![11]);
    let facts = store.gateway_facts("sub-new", None, None).await.unwrap();
    assert!(facts.rows_present);

    // The update applies the removals in its transaction.
    let leave = [
        MembershipEffect::DetachFromContract {
            contract: ContractId(11),
        },
        MembershipEffect::DeleteMembership {
            organization: OrganizationId(1),
        },
    ];
    tx!(store, t => t.update_gateway_user(id, &ClaimChanges::default(), &leave, Utc::now()).await)
        .unwrap();
    assert!(store.user_org_ids(id).await.unwrap().is_empty());
    assert!(store.user_contract_ids(id).await.unwrap().is_empty());

    // A failing membership write (unknown organization) rolls the whole creation back.
    let bad = NewGatewayUser {
        global_id: "sub-bad".into(),
        username: "bad".into(),
        email: "bad@example.com".into(),
        name: String::new(),
    };
    let users_before = store.count("users").await.unwrap();
    let broken = [MembershipEffect::CreateMembership {
        organization: OrganizationId(999),
        keep_until_seen: false,
    }];
    assert!(tx!(store, t => t.create_gateway_user(&bad, &broken, Utc::now()).await).is_err());
    assert_eq!(store.count("users").await.unwrap(), users_before);
});

conformance!(b2b_access_reads, |db| {
    let store = &db.store;
    seed(store).await;
    assert_eq!(
        store.organization_contract_ids(1).await.unwrap(),
        vec![11, 12]
    );
    assert!(store.organization_contract_ids(3).await.unwrap().is_empty());
    run(
        store,
        &format!(
            "INSERT INTO contract_learners (contract_id, user_id, created_on) VALUES (21, 900, {T0})"
        ),
    )
    .await;
    run(
        store,
        &format!(
            "INSERT INTO contract_learners (contract_id, user_id, created_on) VALUES (12, 900, {T0})"
        ),
    )
    .await;
    assert_eq!(
        store.user_contract_ids(UserId(900)).await.unwrap(),
        vec![12, 21]
    );
    assert!(store.user_org_ids(UserId(900)).await.unwrap().is_empty());
});

conformance!(b2b_catalog_filters, |db| {
    let store = &db.store;
    seed(store).await;
    for (id, readable) in [(1, "A"), (2, "B"), (3, "C")] {
        run(
            store,
            &format!(
                "INSERT INTO courses (id, readable_id, title, live, created_on, updated_on) \
                 VALUES ({id}, 'course-v1:MITx+{readable}', 'Course {readable}', TRUE, {T0}, {T0})"
            ),
        )
        .await;
    }
    // Course 1: a public run; course 2: a run in contract 11 (active); course 3: a run in
    // contract 21 (inactive).
    for (id, course, contract) in [(1, 1, "NULL"), (2, 2, "11"), (3, 3, "21")] {
        run(
            store,
            &format!(
                "INSERT INTO course_runs (id, course_id, title, courseware_id, run_tag, live, \
                 b2b_contract_id, created_on, updated_on) VALUES ({id}, {course}, 'Run', \
                 'course-v1:MITx+R{id}+1T2026', '1T2026', TRUE, {contract}, {T0}, {T0})"
            ),
        )
        .await;
    }
    assert_eq!(
        store.catalog_b2b_course_ids(Some(1), None).await.unwrap(),
        vec![2]
    );
    assert_eq!(
        store.catalog_b2b_course_ids(None, Some(11)).await.unwrap(),
        vec![2]
    );
    assert!(
        store
            .catalog_b2b_course_ids(None, Some(21))
            .await
            .unwrap()
            .is_empty(),
        "inactive contracts list nothing"
    );
    assert!(
        store
            .catalog_b2b_course_ids(Some(2), Some(11))
            .await
            .unwrap()
            .is_empty()
    );

    for (id, readable, b2b_only) in [(1, "PUB", "FALSE"), (2, "B2B", "TRUE")] {
        run(
            store,
            &format!(
                "INSERT INTO programs (id, readable_id, title, live, b2b_only, created_on, updated_on) \
                 VALUES ({id}, 'program-v1:MITx+{readable}', 'Program {readable}', TRUE, {b2b_only}, {T0}, {T0})"
            ),
        )
        .await;
    }
    run(
        store,
        "INSERT INTO contract_programs (contract_id, program_id, sort_order) VALUES (11, 2, 1)",
    )
    .await;
    assert_eq!(
        store
            .catalog_contract_program_ids(Some(1), None)
            .await
            .unwrap(),
        vec![2]
    );
    assert_eq!(
        store
            .catalog_contract_program_ids(None, Some(11))
            .await
            .unwrap(),
        vec![2]
    );
    assert!(
        store
            .catalog_contract_program_ids(None, Some(12))
            .await
            .unwrap()
            .is_empty()
    );
    let all = ProgramFilter::default();
    assert_eq!(store.catalog_program_ids(&all).await.unwrap(), vec![1]);
    assert_eq!(
        store.catalog_program_ids_with_b2b(&all).await.unwrap(),
        vec![2, 1],
        "by title: 'Program B2B' < 'Program PUB'"
    );
    assert_eq!(
        store
            .catalog_program_id("program-v1:MITx+B2B")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .catalog_program_id_with_b2b("program-v1:MITx+B2B")
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        store.catalog_program_id_with_b2b("2").await.unwrap(),
        Some(2)
    );
    assert_eq!(
        store.catalog_program_id_with_b2b("1").await.unwrap(),
        Some(1)
    );
});
