//! Story 4: a B2B enrollment code.
//!
//! Acme Corp buys a free, code-only contract with 2 seats for a run of 6.001x. The
//! contract run and its product are planned from the course's source run, two one-time
//! enrollment codes are generated, Alice and Bob attach codes until the seats are gone,
//! Carol is turned away, and Alice enrolls: her basket costs nothing, so checkout fulfils
//! the order at once (no gateway, no receipt, no CRM deal).

use mitx_core::b2b::{
    AttachDecision, AttachEffect, AttachError, AttachRequest, AttachStatus, AttachmentId,
    AttachmentRecord, B2bEnrollResult, BasketCode, BasketContract, BasketStep, CheckoutAttempt,
    CheckoutGateError, CodeChange, CodeFacts, CodeStatus, CodeSummary, Contract,
    ContractRunOutcome, ContractRunRequest, ContractSeats, CourseVariants, EnrollCheck,
    EnrollCheckInput, EnrollResponse, LinkedCode, MembershipEffect, MembershipType, OrgKey,
    Organization, ProductCodeLink, ProductCodes, SourceRunOptions, after_checkout, basket_step,
    check_b2b_basket, check_b2b_enroll, choose_basket_code, code_status, decide_attach,
    enrollment_code_draft, plan_contract_runs, plan_enrollment_codes, select_source_runs,
    single_active_product,
};
use mitx_core::catalog::{Course, CourseRun, EnrollmentMode, ReadableId};
use mitx_core::enrollment::{
    EdxOutcome, EnrollChange, EnrollEffect, RunEnrollment, plan_enroll, run_purchase_request,
};
use mitx_core::ids::{
    ContractId, CourseId, CourseRunId, DiscountId, OrderId, OrganizationId, ProductId, UserId,
};
use mitx_core::money::Money;
use mitx_core::orders::{
    CheckoutDiscount, CheckoutFacts, CheckoutItem, Effect, Event, OrderState, PaymentPayload,
    PaymentTransaction, REFUND_REQUEST_B2B, RefundRequestErrors, RefundRequestFacts, TransactionId,
    TransitionContext, ZERO_PAYMENT_PAYLOAD, payment_transaction, transition, transition_new,
    validate_checkout, validate_refund_request,
};
use mitx_core::pricing::{
    self, ApplyDecision, Basket, BasketItem, Discount, DiscountCode, DiscountDraft, DiscountRecord,
    DiscountType, DiscountUsage, PaymentType, RedemptionType, SetReason, product_ok, redeemable_by,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::support::{at, course_run, day, no_uuid, price, run_item, uuid_sequence};

const ORG: OrganizationId = OrganizationId(3);
const CONTRACT: ContractId = ContractId(40);
const PRODUCT: ProductId = ProductId(601);
const ALICE: UserId = UserId(21);
const BOB: UserId = UserId(22);
const CAROL: UserId = UserId(23);

/// The organization, its contract, the contract run and its product price.
struct Acme {
    org: Organization,
    contract: Contract,
    run: CourseRun,
    product_price: Money,
}

fn acme() -> Acme {
    let now = at(2026, 1, 10, 9);
    let org = Organization {
        id: ORG,
        name: "Acme Corp".into(),
        org_key: OrgKey::parse("acme").unwrap(),
        org_key_prefix: String::new(),
        description: String::new(),
        logo: None,
        sso_organization_id: None,
        slug: Organization::slug_for("Acme Corp", ""),
    };
    org.validate().unwrap();
    assert_eq!(org.slug, "org-acme-corp");

    let mut contract = Contract::new(CONTRACT, ORG, "Acme Spring Cohort");
    contract.membership_type = MembershipType::Code;
    contract.max_learners = Some(2);
    contract.contract_start = Some(day(2026, 1, 1));
    contract.contract_end = Some(day(2026, 12, 31));
    assert_eq!(contract.slug, "acme-spring-cohort");
    assert!(contract.is_free() && contract.requires_codes() && !contract.is_auto_type());
    assert_eq!(contract.seat_cap(), Some(2));

    // The contract run is cloned from the course's source run.
    let course = Course {
        id: CourseId(11),
        title: "Introduction to Computer Science".into(),
        readable_id: ReadableId::parse("course-v1:UAI_SOURCE+6.001x").unwrap(),
        live: true,
        departments: vec![],
    };
    let mut source = course_run(90, 11, "course-v1:UAI_SOURCE+6.001x+SOURCE");
    source.is_source_run = true;
    let runs = [source];
    let sources = select_source_runs(
        &course,
        &runs,
        CourseVariants::default(),
        SourceRunOptions {
            strict: true,
            ..SourceRunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(sources.len(), 1);
    let mut planned = plan_contract_runs(&ContractRunRequest {
        organization: &org,
        contract: &contract,
        course: &course,
        sources: &sources,
        existing: &runs,
        explicit_prefix: None,
        no_reruns: false,
        now,
    })
    .unwrap();
    let Some(ContractRunOutcome::Create(plan)) = planned.pop() else {
        panic!("one contract run must be planned")
    };
    assert_eq!(
        plan.run.courseware_id.as_str(),
        "course-v1:UAI_acme+6.001x+1T40C2026_en"
    );
    assert_eq!(plan.run.run_tag, "1T40C2026");
    assert_eq!(plan.run.start_date, at(2026, 1, 1, 0));
    assert_eq!(plan.run.end_date, Some(at(2026, 12, 31, 0)));
    assert_eq!(
        plan.product.description,
        "Acme Corp #40 - Introduction to Computer Science course-v1:UAI_SOURCE+6.001x [_en]"
    );
    assert!(plan.product.is_active);
    let product_price = plan.product.price;
    assert_eq!(product_price.to_price_string(), "0.00");
    let run = plan.run.into_course_run(CourseRunId(201));
    assert_eq!(run.b2b_contract, Some(CONTRACT));
    Acme {
        org,
        contract,
        run,
        product_price,
    }
}

/// What the store answers for `POST /api/v0/b2b/attach/{code}/`.
struct AttachFacts<'a> {
    code: &'a Discount,
    /// Users who already redeemed this code.
    used_by: usize,
    /// Learners attached to the contract now.
    seats_taken: u32,
    user_contracts: &'a [ContractId],
    user_memberships: &'a [OrganizationId],
}

fn attach(
    acme: &Acme,
    user: UserId,
    facts: &AttachFacts<'_>,
) -> Result<AttachDecision, AttachError> {
    let codes = [CodeFacts {
        discount: facts.code,
        records_with_user: facts.used_by,
        contracts: vec![CONTRACT],
        open_records: vec![],
    }];
    let contracts = [ContractSeats {
        contract: &acme.contract,
        attached_learners: facts.seats_taken,
    }];
    decide_attach(&AttachRequest {
        user: Some(user),
        codes: &codes,
        contracts: &contracts,
        organizations: std::slice::from_ref(&acme.org),
        user_contracts: facts.user_contracts,
        user_memberships: facts.user_memberships,
        today: day(2026, 3, 1),
        now: at(2026, 3, 1, 12),
    })
}

/// The effects of a first attach: membership, contract, redemption record.
fn joined(user: UserId, code: DiscountId) -> Vec<AttachEffect> {
    vec![
        AttachEffect::Membership(MembershipEffect::CreateMembership {
            organization: ORG,
            keep_until_seen: true,
        }),
        AttachEffect::Membership(MembershipEffect::AttachToContract { contract: CONTRACT }),
        AttachEffect::CreateRecord {
            discount: code,
            contract: CONTRACT,
            user,
            redeemed_on: at(2026, 3, 1, 12),
        },
    ]
}

fn enroll_check(acme: &Acme, user: Option<UserId>, attached: bool, enrolled: u32) -> EnrollCheck {
    check_b2b_enroll(&EnrollCheckInput {
        user,
        run: &acme.run,
        contract: Some(&acme.contract),
        active_enrollments_in_run: enrolled,
        user_attached: attached,
        user_enrollment: None,
        order_with_product: None,
        today: day(2026, 3, 1),
        now: at(2026, 3, 1, 12),
    })
}

#[test]
fn b2b_enrollment_codes_fill_the_contract_seats() {
    let today = day(2026, 3, 1);
    let acme = acme();
    assert!(acme.contract.is_active_on(today));

    // ensure_enrollment_codes_exist: one one-time code per seat, at the contract price.
    let plan = plan_enrollment_codes(
        &acme.contract,
        &[ProductCodes {
            product: PRODUCT,
            codes: vec![],
        }],
        &mut uuid_sequence(0xA1),
    );
    let first_draft = DiscountDraft {
        redemption_type: RedemptionType::OneTime,
        payment_type: Some(PaymentType::Sales),
        is_bulk: true,
        ..DiscountDraft::new(
            DiscountCode::parse("00000000-0000-0000-0000-0000000000a1").unwrap(),
            DiscountType::FixedPrice,
            Decimal::ZERO,
        )
    };
    assert_eq!(
        plan.changes,
        vec![
            CodeChange::Create {
                product: PRODUCT,
                draft: first_draft.clone(),
            },
            CodeChange::Create {
                product: PRODUCT,
                draft: enrollment_code_draft(
                    Uuid::from_u128(0xA2),
                    Money::ZERO,
                    RedemptionType::OneTime
                ),
            },
        ]
    );
    assert_eq!(
        plan.summary,
        CodeSummary::Reconciled {
            created: 2,
            updated: 0,
            errors: 0
        }
    );
    assert!(plan.update_sheet);
    let CodeChange::Create {
        draft: second_draft,
        ..
    } = plan.changes[1].clone()
    else {
        unreachable!()
    };
    let code_a = first_draft.into_discount(DiscountId(801));
    let code_b = second_draft.into_discount(DiscountId(802));

    // Running it again only re-asserts the two codes.
    let linked = |used: [bool; 2]| ProductCodes {
        product: PRODUCT,
        codes: vec![
            LinkedCode {
                discount: code_a.id,
                products: vec![PRODUCT],
                used: used[0],
            },
            LinkedCode {
                discount: code_b.id,
                products: vec![PRODUCT],
                used: used[1],
            },
        ],
    };
    let again = plan_enrollment_codes(&acme.contract, &[linked([false; 2])], &mut no_uuid);
    assert_eq!(again.summary.as_tuple(), (0, 2, 0));
    assert!(
        again
            .changes
            .iter()
            .all(|c| matches!(c, CodeChange::Update { redemption_type: RedemptionType::OneTime, amount, .. } if amount.is_zero()))
    );

    // Alice attaches code A: she joins Acme and the contract; the redemption is recorded.
    let alice = attach(
        &acme,
        ALICE,
        &AttachFacts {
            code: &code_a,
            used_by: 0,
            seats_taken: 0,
            user_contracts: &[],
            user_memberships: &[],
        },
    )
    .unwrap();
    assert_eq!(
        alice,
        AttachDecision {
            status: AttachStatus::Created,
            contract: Some(CONTRACT),
            effects: joined(ALICE, code_a.id),
        }
    );
    assert_eq!(alice.status.http_status(), 201);
    let AttachEffect::CreateRecord {
        discount,
        contract,
        user,
        redeemed_on,
    } = alice.effects[2].clone()
    else {
        unreachable!()
    };
    let record = AttachmentRecord {
        id: AttachmentId(1),
        discount,
        contract,
        user: Some(user),
        assigned_email: String::new(),
        assigned_name: String::new(),
        assigned_by: None,
        redeemed_on: Some(redeemed_on),
        last_reminder_sent_on: None,
        email_message_id: String::new(),
        email_status: None,
        email_status_event_timestamp: None,
        created_on: redeemed_on,
    };
    assert_eq!(code_status([&record]), CodeStatus::Redeemed);
    assert_eq!(code_status([]), CodeStatus::Unassigned);

    // Code A is one-time and now used: Alice cannot attach it again (1 of 2 seats taken).
    let reuse = attach(
        &acme,
        ALICE,
        &AttachFacts {
            code: &code_a,
            used_by: 1,
            seats_taken: 1,
            user_contracts: &[CONTRACT],
            user_memberships: &[ORG],
        },
    )
    .unwrap_err();
    assert_eq!(reuse, AttachError::InvalidCode);
    assert_eq!(
        (reuse.http_status(), reuse.to_string().as_str()),
        (404, "Invalid or expired enrollment code.")
    );
    // Code B for someone already in the contract: 200, nothing stored, B stays unused.
    let noop = attach(
        &acme,
        ALICE,
        &AttachFacts {
            code: &code_b,
            used_by: 0,
            seats_taken: 1,
            user_contracts: &[CONTRACT],
            user_memberships: &[ORG],
        },
    )
    .unwrap();
    assert_eq!(
        (noop.status, noop.contract, noop.effects.len()),
        (AttachStatus::Unchanged, Some(CONTRACT), 0)
    );

    // Bob takes the second seat with code B.
    let bob = attach(
        &acme,
        BOB,
        &AttachFacts {
            code: &code_b,
            used_by: 0,
            seats_taken: 1,
            user_contracts: &[],
            user_memberships: &[],
        },
    )
    .unwrap();
    assert_eq!(bob.effects, joined(BOB, code_b.id));
    assert!(acme.contract.is_full(2));

    // Carol finds no seat: every code is used and the contract is full.
    let full = attach(
        &acme,
        CAROL,
        &AttachFacts {
            code: &code_a,
            used_by: 1,
            seats_taken: 2,
            user_contracts: &[],
            user_memberships: &[],
        },
    )
    .unwrap_err();
    assert_eq!(full, AttachError::ContractFull);
    assert_eq!(
        (full.http_status(), full.to_string().as_str()),
        (409, "Contract is full.")
    );

    // Acme lowers the cap to 1: used codes are never removed, the surplus is an error,
    // and the contract is over-full.
    let mut shrunk = acme.contract.clone();
    shrunk.max_learners = Some(1);
    let plan = plan_enrollment_codes(&shrunk, &[linked([true; 2])], &mut no_uuid);
    assert_eq!(
        plan.summary,
        CodeSummary::Reconciled {
            created: 0,
            updated: 2,
            errors: 1
        }
    );
    assert!(
        !plan
            .changes
            .iter()
            .any(|c| matches!(c, CodeChange::Unlink { .. } | CodeChange::Delete { .. }))
    );
    assert!(shrunk.is_over_full(2));

    // The enroll endpoint's checks: Carol is not attached; seats are counted on enrollments.
    assert_eq!(
        enroll_check(&acme, Some(ALICE), true, 0),
        EnrollCheck::Proceed
    );
    assert_eq!(
        enroll_check(&acme, Some(CAROL), false, 0),
        EnrollCheck::Refused(B2bEnrollResult::NoContract)
    );
    assert_eq!(
        enroll_check(&acme, None, false, 0),
        EnrollCheck::Refused(B2bEnrollResult::Disallowed)
    );
    let no_room = enroll_check(&acme, Some(ALICE), true, 2);
    assert_eq!(
        no_room,
        EnrollCheck::Refused(B2bEnrollResult::NotEnrollable)
    );
    assert_eq!(
        B2bEnrollResult::NotEnrollable.as_str(),
        "b2b-error-not-enrollable"
    );
}

#[test]
fn an_attached_learner_enrolls_through_a_free_checkout() {
    let now = at(2026, 3, 1, 12);
    let acme = acme();
    let order = OrderId(2001);
    let code = DiscountDraft {
        redemption_type: RedemptionType::OneTime,
        payment_type: Some(PaymentType::Sales),
        is_bulk: true,
        ..DiscountDraft::new(
            DiscountCode::from_uuid(Uuid::from_u128(0xA1)),
            DiscountType::FixedPrice,
            Decimal::ZERO,
        )
    }
    .into_discount(DiscountId(801));

    // The run has one active product; the basket gets the lowest-linked unused code.
    assert_eq!(
        single_active_product(&[(ProductId(600), false), (PRODUCT, true)]),
        Ok(PRODUCT)
    );
    let link = |link_id, discount| ProductCodeLink {
        link_id,
        discount,
        is_bulk: true,
        redemption_type: RedemptionType::OneTime,
        order_redemptions: 0,
    };
    assert_eq!(
        choose_basket_code(
            &[link(2, DiscountId(802)), link(1, DiscountId(801))],
            &acme.contract,
            &mut no_uuid
        ),
        BasketCode::Existing(DiscountId(801))
    );

    // The basket: the product and the code, which is restricted to the product.
    let record = DiscountRecord {
        discount: code,
        usage: DiscountUsage {
            restricted_to: vec![PRODUCT],
            ..DiscountUsage::default()
        },
    };
    let mut basket = Basket::for_user(ALICE);
    basket
        .items
        .push(BasketItem::single(PRODUCT, acme.product_price));
    assert_eq!(
        pricing::apply(&basket, &record, false, now),
        ApplyDecision::Set(SetReason::Vacant)
    );
    basket.discount = Some(record.clone());
    let total = basket.discounted_price();
    assert_eq!(total.to_price_string(), "0.00");
    assert_eq!(basket_step(total), BasketStep::CheckOut);
    // (A priced contract would stop here and ask for payment.)
    assert_eq!(
        basket_step(price("100.00")),
        BasketStep::Pay(EnrollResponse::requires_checkout(price("100.00"), None))
    );

    // The checkout gate: Alice is attached to a free contract, so she needs no code; Carol,
    // who is not, needs one linked to the contract's products.
    let gate = |attached: bool, discounts: &[&[ProductId]]| {
        check_b2b_basket(
            &[BasketContract {
                contract: &acme.contract,
                user_attached: attached,
                active_products: &[PRODUCT],
            }],
            discounts,
        )
    };
    assert_eq!(gate(true, &[]), Ok(()));
    let missing = gate(false, &[]).unwrap_err();
    assert_eq!(missing, CheckoutGateError::MissingEnrollmentCode);
    assert_eq!(missing.to_string(), "b2b-error-missing-enrollment-code");
    assert_eq!(
        gate(false, &[&[ProductId(999)]]),
        Err(CheckoutGateError::InvalidBasket)
    );
    assert_eq!(gate(false, &[&[PRODUCT]]), Ok(()));

    let facts = CheckoutFacts {
        items: vec![CheckoutItem::CourseRun {
            country_blocked: false,
            already_paid: false,
            upgradable: acme.run.is_upgradable(now, true),
        }],
        discounts: vec![CheckoutDiscount {
            redeemable: redeemable_by(&record, ALICE, now),
            product_ok: product_ok(&record, &basket, now),
            linked_to_b2b_contract: true,
        }],
        skip_discount_check: false,
        b2b_requires_enrollment_code: gate(true, &[]).is_err(),
    };
    assert_eq!(validate_checkout(&facts), Ok(()));

    // T1 then T2: the zero total skips the gateway; the order is fulfilled with a $0
    // transaction. A B2B (and UAI) run gets no receipt, and a contract member no CRM deal.
    let ctx = TransitionContext {
        order,
        purchaser: ALICE,
        items: vec![run_item(&acme.run)],
        skip_fulfillment: false,
        skip_receipt: false,
        purchaser_in_b2b_contract: true,
        purchased_run_in_enrolled_program: false,
    };
    assert!(ctx.items[0].is_b2b_run() && ctx.items[0].is_uai());
    assert_eq!(transition_new(&Event::Checkout, &ctx).unwrap().rule, "T1");
    let payment = payment_transaction(
        basket.order_total(),
        &PaymentPayload::Administrative(ZERO_PAYMENT_PAYLOAD),
        Uuid::from_u128(0xF1),
    )
    .unwrap();
    assert_eq!(
        payment,
        PaymentTransaction {
            transaction_id: TransactionId::parse("00000000-0000-0000-0000-0000000000f1").unwrap(),
            amount: Money::ZERO,
        }
    );
    let fulfilled = transition(
        OrderState::Pending,
        &Event::ZeroTotalCheckout {
            payment: payment.clone(),
        },
        &ctx,
    )
    .unwrap();
    assert_eq!(
        (fulfilled.rule, fulfilled.to),
        ("T2", OrderState::Fulfilled)
    );
    assert_eq!(
        fulfilled.effects,
        vec![
            Effect::RecordPaymentTransaction(payment),
            Effect::EnrollVerified {
                user: ALICE,
                run: acme.run.id
            },
            Effect::CreatePaidCourseRun {
                user: ALICE,
                run: acme.run.id,
                order
            },
            Effect::DeleteBasketIfMatches { user: ALICE, order },
        ]
    );
    let response = after_checkout(total, CheckoutAttempt::Fulfilled { order });
    assert_eq!(response, EnrollResponse::success(Some(order)));
    assert_eq!(
        (response.http_status(), response.result.as_str()),
        (201, "b2b-enroll-success")
    );

    // The enrollment: a new verified row; enrolling in a contract run attaches the learner
    // to the contract (idempotent, she already is).
    let enrollment = plan_enroll(
        ALICE,
        None,
        &acme.run,
        run_purchase_request(),
        EdxOutcome::Succeeded,
    );
    let plan = enrollment.first().unwrap();
    assert_eq!(plan.change, EnrollChange::Created);
    assert_eq!(
        plan.enrollment,
        RunEnrollment {
            edx_enrolled: true,
            ..RunEnrollment::new(ALICE, acme.run.id, EnrollmentMode::Verified)
        }
    );
    assert_eq!(
        plan.effects,
        vec![
            EnrollEffect::AuditLog,
            EnrollEffect::AttachToContract { contract: CONTRACT },
            EnrollEffect::SendEnrollmentEmail,
        ]
    );

    // Enrolling again answers success with the existing order, without a new basket.
    let again = check_b2b_enroll(&EnrollCheckInput {
        user: Some(ALICE),
        run: &acme.run,
        contract: Some(&acme.contract),
        active_enrollments_in_run: 1,
        user_attached: true,
        user_enrollment: Some(&plan.enrollment),
        order_with_product: Some(order),
        today: day(2026, 3, 1),
        now,
    });
    assert_eq!(again, EnrollCheck::AlreadyEnrolled { order: Some(order) });

    // Contract orders cannot be refunded by the learner.
    let refused = validate_refund_request(&RefundRequestFacts {
        requester: ALICE,
        purchaser: ALICE,
        state: OrderState::Fulfilled,
        is_b2b_contract_order: true,
        consent_given: true,
    });
    assert_eq!(
        refused,
        Err(RefundRequestErrors {
            order: Some(REFUND_REQUEST_B2B),
            consent_given: None,
        })
    );
}
