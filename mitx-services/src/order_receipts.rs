//! What the order history, the receipt API and the order emails show about an order
//! (ecommerce spec 1.4, 7): receipt lines with the core's arithmetic, the payment and
//! billing address from the newest transaction's `req_*` fields, history titles and
//! `refund_eligible`. The server renders these; the email jobs put them in templates.

use chrono::{DateTime, Utc};
use mitx_core::money::Money;
use mitx_core::orders::{card_type_name, is_refund_eligible, line_discounted_price, receipt_line};
use mitx_store::order_views::{OrderLineView, OrderView, TransactionView};
use mitx_store::products::ContentType;
use serde::Serialize;
use serde_json::Value;

/// One receipt line (spec 7, "Receipt line").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    /// Always 1 today.
    pub quantity: u32,
    /// `(price − discount) × quantity`, 2 decimals.
    pub total_paid: String,
    /// `price − line discounted price` when the order redeemed a discount, else `"0.0"`.
    pub discount: String,
    /// `"{course_number} {run title}"` for a run, the title for a program.
    pub content_title: String,
    /// `courserun` or `program`.
    pub content_type: String,
    /// The course's readable id (run) or the program's.
    pub readable_id: String,
    /// The snapshot price, 2 decimals.
    pub price: String,
    /// The run's dates (programs have none).
    pub start_date: Option<DateTime<Utc>>,
    /// The run's dates.
    pub end_date: Option<DateTime<Utc>>,
    /// The amount paid, for totals.
    #[serde(skip)]
    pub total_paid_amount: Money,
}

/// The card (or PayPal) of the newest transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PaymentSummary {
    /// `req_card_number` (already masked by the gateway).
    pub card_number: String,
    /// The card brand for `req_card_type` (the code itself when unknown).
    pub card_type: String,
    /// `req_bill_to_forename req_bill_to_surname`.
    pub name: String,
    /// `req_bill_to_email`.
    pub bill_to_email: String,
    /// `req_payment_method` (`card`, `paypal`).
    pub payment_method: String,
}

/// The billing address of the newest transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BillingAddress {
    /// Street lines.
    pub line: Vec<String>,
    /// Postal code.
    pub postal_code: String,
    /// State.
    pub state: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
}

fn field(data: &Value, key: &str) -> String {
    match data.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The receipt line of `line` in `order`.
pub fn receipt_line_of(order: &OrderView, line: &OrderLineView) -> ReceiptLine {
    let discounts = order.discounts();
    let discounted = line_discounted_price(line.price, line.quantity, &discounts);
    let amounts = receipt_line(
        line.price,
        discounted,
        line.quantity,
        !order.redemptions.is_empty(),
    );
    let (content_title, readable_id, start_date, end_date) = match (&line.run, &line.program) {
        (Some(run), _) => (
            format!("{} {}", run.course_number(), run.title),
            run.course_readable_id.clone(),
            run.start_date,
            run.end_date,
        ),
        (None, Some(program)) => (
            program.title.clone(),
            program.readable_id.clone(),
            None,
            None,
        ),
        (None, None) => (line.description.clone(), String::new(), None, None),
    };
    ReceiptLine {
        quantity: line.quantity,
        total_paid: amounts.total_paid.to_price_string(),
        discount: if order.redemptions.is_empty() {
            "0.0".into()
        } else {
            amounts.discount.to_price_string()
        },
        content_title,
        content_type: line.content_type.slug().into(),
        readable_id,
        price: amounts.price.to_price_string(),
        start_date,
        end_date,
        total_paid_amount: amounts.total_paid,
    }
}

/// Every receipt line of the order.
pub fn receipt_lines(order: &OrderView) -> Vec<ReceiptLine> {
    order
        .lines
        .iter()
        .map(|l| receipt_line_of(order, l))
        .collect()
}

/// The card details of a transaction's payload.
pub fn payment_summary(transaction: &TransactionView) -> PaymentSummary {
    let data = &transaction.data;
    let code = field(data, "req_card_type");
    let forename = field(data, "req_bill_to_forename");
    let surname = field(data, "req_bill_to_surname");
    PaymentSummary {
        card_number: field(data, "req_card_number"),
        card_type: card_type_name(&code).map_or(code, str::to_owned),
        name: format!("{forename} {surname}").trim().to_owned(),
        bill_to_email: field(data, "req_bill_to_email"),
        payment_method: field(data, "req_payment_method"),
    }
}

/// The billing address of a transaction's payload.
pub fn billing_address(transaction: &TransactionView) -> BillingAddress {
    let data = &transaction.data;
    BillingAddress {
        line: ["req_bill_to_address_line1", "req_bill_to_address_line2"]
            .iter()
            .map(|k| field(data, k))
            .filter(|l| !l.is_empty())
            .collect(),
        postal_code: field(data, "req_bill_to_address_postal_code"),
        state: field(data, "req_bill_to_address_state"),
        city: field(data, "req_bill_to_address_city"),
        country: field(data, "req_bill_to_address_country"),
    }
}

/// Whether the payment was made with PayPal (the payload carries a PayPal token or the
/// payment method says so).
pub fn is_paypal(transaction: &TransactionView) -> bool {
    transaction.data.get("paypal_token").is_some()
        || field(&transaction.data, "req_payment_method").eq_ignore_ascii_case("paypal")
}

/// `titles` of the order history: per line the course title (run), else
/// `"No Title - {product id}"` (program products included, as in the original).
pub fn history_titles(order: &OrderView) -> Vec<String> {
    order
        .lines
        .iter()
        .map(|l| match (&l.run, l.content_type) {
            (Some(run), ContentType::CourseRun) => run.course_title.clone(),
            _ => format!("No Title - {}", l.product_id),
        })
        .collect()
}

/// `refund_eligible` of the order at `now` (spec 1.4).
pub fn refund_eligible(order: &OrderView, now: DateTime<Utc>) -> bool {
    is_refund_eligible(order.created_on, &order.run_start_dates(), now)
}
