//! Checkout (ecommerce spec 4.4, 3.4, 5.1, 5.2, 5.4): validate the learner's basket in the
//! spec's order, build or reuse the pending order in one unit of work, then either fulfil
//! a zero-total order at once (no gateway) or return the signed CyberSource form.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use mitx_core::ids::{OrderId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::{
    CheckoutDiscount, CheckoutFacts, CheckoutItem, CheckoutRejection, CheckoutResponse, Event,
    GatewayType, HttpMethod, NoProductVersions, PayloadValue, PaymentTransaction, PendingOrderPlan,
    ReferenceNumber, TransactionId, ZERO_PAYMENT_PAYLOAD, gateway_amount, line_discounted_price,
    plan_pending_order,
};
use mitx_core::pricing::{Basket, BasketItem, DiscountRecord, product_ok, redeemable_by};
use mitx_store::StoreError;
use mitx_store::orders::{CheckoutBasket, OrderLineRow, OrderRow};
use mitx_store::products::ContentType;

use crate::Services;
use crate::course_certificates::random_uuid;
use crate::cybersource;
use crate::order_events::{self, EventOptions, EventOutcome, OrderEventError};

/// The Django content-type ids the original sends as `item_{i}_code` (and in the SKU);
/// mitx has no content-type table, so the two kinds keep fixed ids.
pub fn content_type_id(kind: ContentType) -> u32 {
    match kind {
        ContentType::CourseRun => 60,
        ContentType::Program => 61,
    }
}

/// Why checkout failed (not a validation result: those are [`CheckoutResponse`]s).
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// A basket product has no snapshot.
    #[error(transparent)]
    NoVersions(#[from] NoProductVersions),
    /// The fulfilment of a zero-total order failed.
    #[error(transparent)]
    Fulfilment(#[from] OrderEventError),
    /// The payment gateway refused or could not be reached.
    #[error("the payment gateway failed: {0}")]
    Gateway(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the checkout caller needs to render any of the entry points.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckoutResult {
    /// The v0 response (its `error` set when validation failed).
    pub response: CheckoutResponse,
    /// The validation failure, if any.
    pub rejection: Option<CheckoutRejection>,
    /// The order built (or reused), when validation passed.
    pub order: Option<OrderRow>,
    /// Its lines.
    pub lines: Vec<OrderLineRow>,
    /// The CyberSource form fields as text (what the auto-posted form sends).
    pub form: BTreeMap<String, String>,
}

impl CheckoutResult {
    fn rejected(rejection: CheckoutRejection) -> Self {
        CheckoutResult {
            response: CheckoutResponse::rejected(rejection),
            rejection: Some(rejection),
            order: None,
            lines: Vec::new(),
            form: BTreeMap::new(),
        }
    }
}

/// The caller of a checkout.
#[derive(Clone, Copy, Debug)]
pub struct Purchaser<'a> {
    /// The learner.
    pub user: UserId,
    /// Their edX username (hashed into `consumer_id`).
    pub edx_username: Option<&'a str>,
    /// The client address the server saw (never a forwarding header).
    pub ip: Option<IpAddr>,
}

/// Checks out the learner's basket (spec 4.4 then 3.4, 5.4 and 5.2). The program-paid run
/// upgrade (5.8) does not come through here: courses spec 2.7 records its fulfilled
/// zero-value order directly (`verified_program_enrollment`).
pub async fn checkout(
    services: &Services,
    purchaser: Purchaser<'_>,
) -> Result<CheckoutResult, CheckoutError> {
    let store = services.store();
    let user = purchaser.user;
    let now = services.now();
    let basket = store.checkout_basket(user).await?;
    let Some(basket) = basket else {
        return Ok(CheckoutResult::rejected(CheckoutRejection::BasketEmpty));
    };
    let codes = store.discount_records(&basket.discounts).await?;
    let facts = checkout_facts(services, user, &basket, &codes, now).await?;
    if let Err(rejection) = mitx_core::orders::validate_checkout(&facts) {
        if rejection.resets_basket_discounts() {
            let mut tx = services.db().begin().await?;
            tx.delete_basket_discounts(basket.id).await?;
            tx.commit().await?;
        }
        return Ok(CheckoutResult::rejected(rejection));
    }
    let gateway = services.settings().payment.default_gateway;
    let order = build_pending_order(services, user, gateway, &basket, &codes, now).await?;
    let lines = store.order_lines(order.id).await?;
    if order.total_price_paid.is_zero() {
        let payment = PaymentTransaction {
            transaction_id: TransactionId::from_uuid(random_uuid()),
            amount: Money::ZERO,
        };
        let data = serde_json::to_value(ZERO_PAYMENT_PAYLOAD).unwrap_or_default();
        let outcome = order_events::apply_event(
            services,
            order.id,
            Event::ZeroTotalCheckout { payment },
            EventOptions {
                data: Some(data),
                ..EventOptions::default()
            },
            None,
        )
        .await;
        return match outcome {
            Ok(EventOutcome::Applied { .. }) | Ok(EventOutcome::Ignored { .. }) => {
                let order = store.order(order.id).await?.unwrap_or(order);
                Ok(CheckoutResult {
                    response: CheckoutResponse::no_checkout(order.id),
                    rejection: None,
                    order: Some(order),
                    lines,
                    form: BTreeMap::new(),
                })
            }
            Err(OrderEventError::CodeTaken(_)) => {
                // Another checkout fulfilled the one-time code first.
                let mut tx = services.db().begin().await?;
                tx.delete_basket_discounts(basket.id).await?;
                tx.commit().await?;
                Ok(CheckoutResult::rejected(
                    CheckoutRejection::InvalidDiscounts,
                ))
            }
            Err(err) => Err(err.into()),
        };
    }
    match gateway {
        GatewayType::CyberSource => {
            let discounts: Vec<_> = codes.iter().map(|r| r.discount.clone()).collect();
            let form = cybersource_form(
                services, &purchaser, &order, &lines, &basket, &discounts, now,
            );
            let payload = form
                .iter()
                .map(|(k, v)| (k.clone(), payload_value(k, v)))
                .collect();
            Ok(CheckoutResult {
                response: CheckoutResponse::to_gateway(
                    services
                        .settings()
                        .payment
                        .cybersource_secure_acceptance_url
                        .clone(),
                    HttpMethod::Post,
                    payload,
                ),
                rejection: None,
                order: Some(order),
                lines,
                form,
            })
        }
        GatewayType::Stripe => {
            let discounts: Vec<_> = codes.iter().map(|r| r.discount.clone()).collect();
            let url = stripe_session(services, &order, &lines, &discounts, now).await?;
            Ok(CheckoutResult {
                response: CheckoutResponse::to_gateway(url, HttpMethod::Get, BTreeMap::new()),
                rejection: None,
                order: Some(order),
                lines,
                form: BTreeMap::new(),
            })
        }
    }
}

/// The Stripe Checkout Session of a pending order (spec 5.7): created at Stripe (outside
/// any unit of work), then stored as the order's transaction `Initial CheckoutSession`
/// (amount 0) so resolution can find it; the browser goes to the session's URL.
async fn stripe_session(
    services: &Services,
    order: &OrderRow,
    lines: &[OrderLineRow],
    discounts: &[mitx_core::pricing::Discount],
    now: DateTime<Utc>,
) -> Result<String, CheckoutError> {
    let result_url = format!("{}/checkout/result/", services.settings().site.base_url);
    let items: Vec<(String, i64)> = lines
        .iter()
        .map(|l| {
            let unit = line_discounted_price(l.price, 1, discounts).quantize();
            let cents = (unit.amount() * rust_decimal::Decimal::from(100))
                .trunc()
                .try_into()
                .unwrap_or(0i64);
            (l.description.clone(), cents)
        })
        .collect();
    let reference = order.reference_number.clone().unwrap_or_default();
    let session = services
        .stripe()
        .create_checkout_session(&reference, &items, &result_url, &result_url)
        .await
        .map_err(|e| CheckoutError::Gateway(e.to_string()))?;
    let mut tx = services.db().begin().await?;
    tx.record_transaction(
        order.id,
        &mitx_store::orders::NewTransaction {
            transaction_id: &session.id,
            amount: Money::ZERO,
            data: &session.raw,
            refund: false,
            reason: crate::stripe::INITIAL_CHECKOUT_SESSION_REASON,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(session.url)
}

/// The facts validation runs on (spec 4.4).
async fn checkout_facts(
    services: &Services,
    user: UserId,
    basket: &CheckoutBasket,
    codes: &[DiscountRecord],
    now: DateTime<Utc>,
) -> Result<CheckoutFacts, StoreError> {
    let store = services.store();
    let mut items = Vec::with_capacity(basket.items.len());
    // Runs of active B2B contracts (4.4 checks 5 and 6).
    let mut contracts: Vec<i64> = Vec::new();
    let mut code_required = false;
    for item in &basket.items {
        match item.content_type {
            ContentType::Program => items.push(CheckoutItem::Program),
            ContentType::CourseRun => {
                let run = mitx_core::ids::CourseRunId(item.object_id);
                if let Some((contract, paid, member)) = store.b2b_checkout_facts(user, run).await? {
                    contracts.push(contract);
                    code_required |= paid || !member;
                }
                let (country_blocked, already_paid) = store.run_checkout_facts(user, run).await?;
                let upgradable = store
                    .enrollment_run(run)
                    .await?
                    .is_some_and(|r| r.run.is_upgradable(now, true));
                items.push(CheckoutItem::CourseRun {
                    country_blocked,
                    already_paid,
                    upgradable,
                });
            }
        }
    }
    let pricing_basket = Basket {
        owner: mitx_core::pricing::BasketOwner::User(user),
        items: basket
            .items
            .iter()
            .map(|i| BasketItem::single(i.product, i.price))
            .collect(),
        discount: None,
    };
    let mut discounts = Vec::with_capacity(codes.len());
    for record in codes {
        let linked = !contracts.is_empty()
            && store
                .discount_linked_to_contracts(record.discount.id, &contracts)
                .await?;
        discounts.push(CheckoutDiscount {
            redeemable: redeemable_by(record, user, now),
            product_ok: product_ok(record, &pricing_basket, now),
            linked_to_b2b_contract: linked,
        });
    }
    Ok(CheckoutFacts {
        items,
        discounts,
        skip_discount_check: false,
        b2b_requires_enrollment_code: !contracts.is_empty() && code_required,
    })
}

/// `mitxonline-{ENVIRONMENT}-`: the reference number of an order is this and its id.
pub(crate) fn reference_prefix(services: &Services) -> String {
    format!(
        "{}{}-",
        mitx_core::orders::REFERENCE_NUMBER_PREFIX,
        services.settings().site.environment
    )
}

/// Builds or reuses the pending order (spec 3.4) in one unit of work.
async fn build_pending_order(
    services: &Services,
    user: UserId,
    gateway: GatewayType,
    basket: &CheckoutBasket,
    codes: &[DiscountRecord],
    now: DateTime<Utc>,
) -> Result<OrderRow, CheckoutError> {
    let mut versions = Vec::with_capacity(basket.items.len());
    for item in &basket.items {
        versions.push(item.version.ok_or(NoProductVersions(item.product))?);
    }
    let prefix = reference_prefix(services);
    let discounts: Vec<_> = codes.iter().map(|r| r.discount.clone()).collect();
    let total: Money = basket
        .items
        .iter()
        .map(|i| line_discounted_price(i.price, 1, &discounts))
        .sum();
    let mut tx = services.db().begin().await?;
    let candidates = tx.pending_order_candidates(user, gateway).await?;
    let order = match plan_pending_order(&candidates, &versions) {
        PendingOrderPlan::Reuse(order) => {
            let keep: Vec<_> = basket
                .items
                .iter()
                .map(|i| (i.content_type, i.object_id))
                .collect();
            tx.reuse_pending_order(order, &keep).await?;
            order
        }
        PendingOrderPlan::Create => tx.create_pending_order(user, gateway, &prefix, now).await?,
    };
    for code in codes {
        tx.insert_redemption(order, user, code.discount.id, now)
            .await?;
    }
    for (item, version) in basket.items.iter().zip(&versions) {
        tx.ensure_order_line(order, *version, item.content_type, item.object_id, now)
            .await?;
    }
    let row = tx
        .set_order_total(order, total, now)
        .await?
        .ok_or_else(|| StoreError::stale("order", order))?;
    tx.commit().await?;
    Ok(row)
}

/// The Secure Acceptance fields of spec 5.2, signed.
fn cybersource_form(
    services: &Services,
    purchaser: &Purchaser<'_>,
    order: &OrderRow,
    lines: &[OrderLineRow],
    basket: &CheckoutBasket,
    discounts: &[mitx_core::pricing::Discount],
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let settings = services.settings();
    let payment = &settings.payment;
    let result_url = format!("{}/checkout/result/", settings.site.base_url);
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        fields.insert(k.to_owned(), v);
    };
    // Every line goes to the gateway, each at its discounted unit price (a reused order
    // has lost the lines of products no longer in the basket: see `reuse_pending_order`).
    let redeemed_prices: Vec<Money> = lines
        .iter()
        .map(|l| line_discounted_price(l.price, 1, discounts))
        .collect();
    put("access_key", payment.cybersource_access_key.clone());
    put("profile_id", payment.cybersource_profile_id.clone());
    put("amount", gateway_amount(&redeemed_prices).to_price_string());
    put("tax_amount", "0.00".into());
    put(
        "consumer_id",
        sha256_hex(purchaser.edx_username.unwrap_or_default()),
    );
    put("currency", "USD".into());
    put("locale", "en-us".into());
    for (i, (line, price)) in lines.iter().zip(&redeemed_prices).enumerate() {
        let code = content_type_id(line.content_type);
        put(&format!("item_{i}_code"), code.to_string());
        put(
            &format!("item_{i}_name"),
            line.description.chars().take(254).collect(),
        );
        put(&format!("item_{i}_quantity"), line.quantity.to_string());
        put(
            &format!("item_{i}_sku"),
            format!("{code}-{}", line.object_id),
        );
        put(&format!("item_{i}_tax_amount"), "0".into());
        put(
            &format!("item_{i}_unit_price"),
            price.quantize().to_price_string(),
        );
    }
    put("line_item_count", lines.len().to_string());
    put("merchant_defined_data1", basket.id.0.to_string());
    put(
        "reference_number",
        order
            .reference_number
            .clone()
            .unwrap_or_else(|| order.id.0.to_string()),
    );
    put(
        "signed_date_time",
        now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    put("override_custom_receipt_page", result_url.clone());
    put("override_custom_cancel_page", result_url);
    put("transaction_type", "sale".into());
    put("transaction_uuid", random_uuid().simple().to_string());
    put("unsigned_field_names", String::new());
    put(
        "customer_ip_address",
        purchaser
            .ip
            .map_or_else(|| "None".to_owned(), |ip| ip.to_string()),
    );
    cybersource::sign(&mut fields, &payment.cybersource_security_key);
    fields
}

fn payload_value(name: &str, value: &str) -> PayloadValue {
    let integer = name == "line_item_count"
        || name == "merchant_defined_data1"
        || (name.starts_with("item_") && (name.ends_with("_quantity") || name.ends_with("_code")));
    match value.parse::<i64>() {
        Ok(n) if integer => PayloadValue::Integer(n),
        _ => PayloadValue::Text(value.to_owned()),
    }
}

fn sha256_hex(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The order a reference number names, decoded with this deployment's environment.
pub fn order_id_of_reference(services: &Services, reference: &str) -> Option<OrderId> {
    let environment =
        mitx_core::orders::Environment::parse(&services.settings().site.environment).ok()?;
    ReferenceNumber::parse(reference)
        .ok()?
        .order_id(&environment)
        .ok()
}

/// What a CyberSource callback (browser return or server-to-server) did.
#[derive(Clone, Debug, PartialEq)]
pub enum CallbackResult {
    /// The signature did not verify (or a signed field is missing): nothing changed.
    InvalidSignature,
    /// No order has the posted reference number: nothing changed.
    OrderNotFound,
    /// Processed (or, for an order no longer pending, left as it was).
    Done {
        /// The order as it is now.
        order: OrderRow,
        /// Whether this callback moved it.
        changed: bool,
        /// The first line's title for the user message (course title or program id).
        first_line_title: String,
        /// Where a successful payment lands when it is not `/dashboard/`.
        learn: Option<mitx_core::orders::LearnRedirect>,
    },
}

/// A CyberSource callback (spec 5.3): the signature is verified over the posted
/// `signed_field_names`, the order is decoded from `req_reference_number`, and the
/// decision is applied under the order's row lock; a repeat changes nothing.
pub async fn cybersource_callback(
    services: &Services,
    fields: &BTreeMap<String, String>,
) -> Result<CallbackResult, OrderEventError> {
    use mitx_core::orders::{PaymentData, PaymentPayload, Trigger, cybersource_trigger};
    let key = &services.settings().payment.cybersource_security_key;
    if key.is_empty() || !cybersource::verify(&|n: &str| fields.get(n).cloned(), key) {
        return Ok(CallbackResult::InvalidSignature);
    }
    let store = services.store();
    let Some(order) = fields
        .get("req_reference_number")
        .and_then(|r| order_id_of_reference(services, r))
    else {
        return Ok(CallbackResult::OrderNotFound);
    };
    let Some(row) = store.order(order).await? else {
        return Ok(CallbackResult::OrderNotFound);
    };
    let data: PaymentData = fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let raw = serde_json::to_value(fields).unwrap_or_default();
    let decision = fields.get("decision").map(String::as_str);
    let reason = fields.get("reason_code").map(String::as_str);
    if let Some(code) = reason.and_then(|r| r.trim().parse::<u32>().ok())
        && (101..200).contains(&code)
    {
        tracing::error!(%order, code, "CyberSource reported an error reason code");
    }
    let event = match cybersource_trigger(decision, reason) {
        Trigger::PaymentAccepted => {
            match mitx_core::orders::payment_transaction(
                row.total_price_paid,
                &PaymentPayload::CyberSource(data),
                random_uuid(),
            ) {
                Ok(payment) => Some(Event::PaymentAccepted { payment }),
                Err(err) => {
                    // The order stays pending; resolution can finish it later.
                    tracing::error!(%order, %err, "accepted payment without a usable transaction id");
                    None
                }
            }
        }
        Trigger::PaymentDeclined => Some(Event::PaymentDeclined),
        Trigger::PaymentCancelled => Some(Event::PaymentCancelled),
        _ => Some(Event::PaymentErrored),
    };
    let (after, lines, changed) = match event {
        Some(event) => {
            let applied = order_events::apply_event_to(
                services,
                order,
                Some(row),
                event,
                EventOptions {
                    data: Some(raw),
                    ..EventOptions::default()
                },
                None,
            )
            .await?;
            let changed = matches!(applied.outcome, EventOutcome::Applied { .. });
            (applied.order, applied.lines, changed)
        }
        None => {
            let lines = store.order_lines(order).await?;
            (row, lines, false)
        }
    };
    let items = order_events::purchased_items(order, &lines).unwrap_or_default();
    let learn = mitx_core::orders::is_uai_order(&items)
        .then(|| items.iter().any(|i| i.is_uai_b2c()))
        .filter(|b2c| *b2c)
        .map(|_| mitx_core::orders::LearnRedirect {
            dashboard_url: services.settings().email.learn_dashboard_url.clone(),
            order,
        });
    Ok(CallbackResult::Done {
        order: after,
        changed,
        first_line_title: first_line_title(&lines),
        learn,
    })
}

/// The title user messages show for an order: the first line's course title (run) or
/// program readable id.
pub fn first_line_title(lines: &[OrderLineRow]) -> String {
    let Some(line) = lines.first() else {
        return String::new();
    };
    let (course, program) = match line.content_type {
        ContentType::CourseRun => (Some(line.title.as_str()), None),
        ContentType::Program => (None, Some(line.readable_id.as_str())),
    };
    mitx_core::orders::first_line_title(course, program).to_owned()
}

impl CheckoutError {
    /// Whose fault it is (how the server answers).
    pub fn fault(&self) -> crate::error::Fault {
        use crate::error::{Fault, store_fault};
        match self {
            CheckoutError::NoVersions(_) => Fault::Caller,
            CheckoutError::Gateway(_) => Fault::Busy,
            CheckoutError::Fulfilment(err) => err.fault(),
            CheckoutError::Store(err) => store_fault(err),
        }
    }
}

/// The form enrollment's pending order (courses spec 2.6): after an audit enrollment in a
/// run with a product, make sure a pending order for the product's newest snapshot exists
/// (reused per 3.4) unless the learner already holds a fulfilled order for that snapshot.
/// The order that exists now, if one was needed.
pub async fn ensure_pending_order(
    services: &Services,
    user: UserId,
    product: mitx_core::ids::ProductId,
) -> Result<Option<OrderId>, CheckoutError> {
    let store = services.store();
    let Some((version, kind, object, price)) = store.newest_product_version(product).await? else {
        return Err(NoProductVersions(product).into());
    };
    if store.fulfilled_order_has_version(user, version).await? {
        return Ok(None);
    }
    let gateway = services.settings().payment.default_gateway;
    let prefix = reference_prefix(services);
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let candidates = tx.pending_order_candidates(user, gateway).await?;
    let order = match plan_pending_order(&candidates, &[version]) {
        PendingOrderPlan::Reuse(order) => {
            tx.reuse_pending_order(order, &[(kind, object)]).await?;
            order
        }
        PendingOrderPlan::Create => tx.create_pending_order(user, gateway, &prefix, now).await?,
    };
    tx.ensure_order_line(order, version, kind, object, now)
        .await?;
    tx.set_order_total(order, price, now)
        .await?
        .ok_or_else(|| StoreError::stale("order", order))?;
    tx.commit().await?;
    Ok(Some(order))
}
