//! The order emails (ecommerce spec 7, integrations spec 5): the receipt, the refund
//! notice and the refund-request notification. Their jobs carry only an id; each handler
//! reads the order (or request) when it runs, so a retried job shows the current data,
//! then renders the template and sends it through the mailer. A failure is retried by the
//! queue and finally recorded on the job; it never reaches the order.

use chrono::{DateTime, Utc};
use mitx_core::ids::OrderId;
use mitx_store::jobs::JobRecord;
use mitx_store::order_views::OrderView;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Services;
use crate::email::{EmailJob, Template, render};
use crate::jobs::{self, JobOutcome};
use crate::order_receipts::{billing_address, is_paypal, payment_summary, receipt_lines};

/// Payload of [`jobs::ORDER_RECEIPT_EMAIL`] and [`jobs::ORDER_REFUND_EMAIL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEmailJob {
    /// The order.
    pub order: i64,
}

/// Payload of [`jobs::ORDERS_REFUND_REQUEST_EMAIL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequestEmailJob {
    /// The refund request.
    pub refund_request: i64,
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%B %-d, %Y").to_string()
}

/// The learner's name as the emails greet them: the legal name when recorded.
fn learner_name(order: &OrderView) -> String {
    let legal = order.purchaser.legal_address.as_ref().map(|a| {
        format!("{} {}", a.first_name, a.last_name)
            .trim()
            .to_owned()
    });
    legal
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| order.purchaser.name.clone())
}

fn reference(order: &OrderView) -> String {
    order
        .reference_number
        .clone()
        .unwrap_or_else(|| order.id.to_string())
}

/// The receipt email of an order: subject "Your receipt from MIT Learn", to the newest
/// transaction's `req_bill_to_email` or the purchaser.
pub fn receipt_email(order: &OrderView) -> EmailJob {
    let lines = receipt_lines(order);
    let total: mitx_core::money::Money = lines.iter().map(|l| l.total_paid_amount).sum();
    let newest = order.newest_transaction();
    let payment = newest.map(payment_summary).unwrap_or_default();
    let billing = newest.map(billing_address).unwrap_or_default();
    let legal = order.purchaser.legal_address.clone().unwrap_or_default();
    let (address_lines, city, state, postal, country) = if billing.line.is_empty() {
        (
            legal
                .street_address_1
                .clone()
                .into_iter()
                .collect::<Vec<_>>(),
            legal.city.clone().unwrap_or_default(),
            legal.state.clone().unwrap_or_default(),
            legal.postal_code.clone().unwrap_or_default(),
            legal.country.clone().unwrap_or_default(),
        )
    } else {
        (
            billing.line.clone(),
            billing.city.clone(),
            billing.state.clone(),
            billing.postal_code.clone(),
            billing.country.clone(),
        )
    };
    let to = if payment.bill_to_email.is_empty() {
        order.purchaser.email.clone()
    } else {
        payment.bill_to_email.clone()
    };
    let codes: Vec<String> = order
        .redemptions
        .iter()
        .map(|r| r.discount.code.to_string())
        .collect();
    let line_values: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({
                "content_title": l.content_title,
                "readable_id": l.readable_id,
                "start_date": l.start_date.map(day),
                "end_date": l.end_date.map(day),
                "quantity": l.quantity,
                "price": l.price,
                "discount": l.discount,
                "total_paid": l.total_paid,
            })
        })
        .collect();
    let city_line = format!("{city}, {state} {postal}")
        .trim_matches(|c: char| c == ',' || c.is_whitespace())
        .to_owned();
    EmailJob {
        template: Template::OrderReceipt,
        to: to.clone(),
        context: json!({
            "user_name": learner_name(order),
            "reference_number": reference(order),
            "order_date": day(order.created_on),
            "order_total": total.to_price_string(),
            "discount_code": codes.join(", "),
            "lines": line_values,
            "customer_name": if payment.name.is_empty() { learner_name(order) } else { payment.name.clone() },
            "customer_email": to,
            "address_lines": address_lines,
            "address_city_line": city_line,
            "address_country": country,
            "paypal": newest.is_some_and(is_paypal),
            "card_type": payment.card_type,
            "card_number": payment.card_number,
        }),
    }
}

/// The refund email of an order: subject "Refund of MITxOnline Order {ref}", to the
/// purchaser, with the newest refund transaction's amount; `None` when the order has no
/// refund transaction (nothing to announce).
pub fn refund_email(order: &OrderView) -> Option<EmailJob> {
    let refund = order.newest_refund()?;
    let (number, title) = match order.lines.first() {
        Some(line) => match (&line.run, &line.program) {
            (Some(run), _) => (run.course_number().to_owned(), run.course_title.clone()),
            (None, Some(program)) => (program.readable_id.clone(), program.title.clone()),
            (None, None) => (String::new(), line.description.clone()),
        },
        None => (String::new(), String::new()),
    };
    Some(EmailJob {
        template: Template::OrderRefund,
        to: order.purchaser.email.clone(),
        context: json!({
            "user_name": learner_name(order),
            "reference_number": reference(order),
            "refund_amount": refund.amount.to_price_string(),
            "course_number": number,
            "course_title": title,
        }),
    })
}

/// The label of a refund reason slug (the original's choice labels).
pub fn refund_reason_label(slug: &str) -> &str {
    match slug {
        "enrolled_in_another_course" => "I enrolled in another course",
        "course_not_as_expected" => "Course is not what I expected",
        "technical_difficulties" => "Technical difficulties",
        "financial_reasons" => "Financial reasons",
        "other" => "Other",
        "" => "(none given)",
        other => other,
    }
}

/// The refund-request notification: subject "Refund Request Submitted – Order {ref}", to
/// `REFUND_REQUEST_EMAIL`.
pub fn refund_request_email(
    order: &OrderView,
    request: &mitx_store::order_views::RefundRequestRecord,
    to: &str,
) -> EmailJob {
    let item = receipt_lines(order)
        .first()
        .map(|l| l.content_title.clone())
        .unwrap_or_default();
    EmailJob {
        template: Template::RefundRequest,
        to: to.to_owned(),
        context: json!({
            "learner_name": learner_name(order),
            "learner_email": order.purchaser.email,
            "reference_number": reference(order),
            "order_date": day(order.created_on),
            "amount_paid": order.total_price_paid.to_price_string(),
            "item_title": item,
            "refund_reason": refund_reason_label(&request.refund_reason),
            "refund_reason_text": request.refund_reason_text,
            "submitted_on": request.created_on.format("%B %-d, %Y %H:%M UTC").to_string(),
        }),
    }
}

async fn send(services: &Services, job: &JobRecord, email: &EmailJob) -> JobOutcome {
    let settings = services.settings();
    let rendered = match render(email, &settings.email, &settings.site) {
        Ok(rendered) => rendered,
        Err(err) => return JobOutcome::Fail(err.to_string()),
    };
    match services
        .mailer()
        .send(&rendered, &format!("job-{}", job.id))
        .await
    {
        Ok(()) => JobOutcome::Done(None),
        Err(err) if err.is_transient() => {
            tracing::warn!(job = job.id, kind = %job.name, error = %err, "order email not sent; retrying");
            JobOutcome::Retry(err.to_string())
        }
        Err(err) => {
            tracing::error!(job = job.id, kind = %job.name, error = %err, "order email failed");
            JobOutcome::Fail(err.to_string())
        }
    }
}

async fn load_order(services: &Services, id: i64) -> Result<OrderView, JobOutcome> {
    match services.store().order_view(OrderId(id)).await {
        Ok(Some(order)) => Ok(order),
        Ok(None) => Err(JobOutcome::Fail(format!("order {id} does not exist"))),
        Err(err) if err.is_transient() => Err(JobOutcome::Retry(err.to_string())),
        Err(err) => Err(JobOutcome::Fail(err.to_string())),
    }
}

/// Runs [`jobs::ORDER_RECEIPT_EMAIL`].
pub(crate) async fn run_receipt_job(services: &Services, job: &JobRecord) -> JobOutcome {
    let payload: OrderEmailJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let order = match load_order(services, payload.order).await {
        Ok(order) => order,
        Err(outcome) => return outcome,
    };
    send(services, job, &receipt_email(&order)).await
}

/// Runs [`jobs::ORDER_REFUND_EMAIL`].
pub(crate) async fn run_refund_job(services: &Services, job: &JobRecord) -> JobOutcome {
    let payload: OrderEmailJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let order = match load_order(services, payload.order).await {
        Ok(order) => order,
        Err(outcome) => return outcome,
    };
    match refund_email(&order) {
        Some(email) => send(services, job, &email).await,
        None => JobOutcome::Done(Some(format!(
            "skipped: order {} has no refund transaction",
            payload.order
        ))),
    }
}

/// Runs [`jobs::ORDERS_REFUND_REQUEST_EMAIL`].
pub(crate) async fn run_refund_request_job(services: &Services, job: &JobRecord) -> JobOutcome {
    let payload: RefundRequestEmailJob = match jobs::payload(job) {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let request = match services
        .store()
        .refund_request(payload.refund_request)
        .await
    {
        Ok(Some(request)) => request,
        Ok(None) => {
            return JobOutcome::Fail(format!(
                "refund request {} does not exist",
                payload.refund_request
            ));
        }
        Err(err) if err.is_transient() => return JobOutcome::Retry(err.to_string()),
        Err(err) => return JobOutcome::Fail(err.to_string()),
    };
    let order = match load_order(services, request.order.0).await {
        Ok(order) => order,
        Err(outcome) => return outcome,
    };
    let to = services.settings().email.refund_request.clone();
    send(services, job, &refund_request_email(&order, &request, &to)).await
}
