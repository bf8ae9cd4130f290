//! Small builders shared by the stories. Everything here goes through public constructors
//! and public fields only.

use chrono::{NaiveDate, TimeZone, Utc};
use mitx_core::Timestamp;
use mitx_core::catalog::{CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength};
use mitx_core::enrollment::RunEnrollment;
use mitx_core::ids::{CourseId, CourseRunId, DiscountId, UserId};
use mitx_core::money::Money;
use mitx_core::orders::PurchasedItem;
use mitx_core::pricing::{Discount, DiscountCode, DiscountDraft, DiscountType, PaymentType};
use rust_decimal::Decimal;
use uuid::Uuid;

/// An instant in UTC, on the hour.
pub fn at(year: i32, month: u32, day: u32, hour: u32) -> Timestamp {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .unwrap()
}

/// A calendar day (contract dates are days).
pub fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

/// A product price as typed in the catalog admin (2 decimal places at most).
pub fn price(text: &str) -> Money {
    Money::parse_price(text).unwrap()
}

/// An instructor-paced 2026 spring run of `course`, enrollable since January, upgradable
/// until May 1st, offering audit and verified. The run tag is the key's last segment.
pub fn course_run(id: i64, course: i64, key: &str) -> CourseRun {
    let courseware_id = CoursewareId::parse(key).unwrap();
    CourseRun {
        id: CourseRunId(id),
        course_id: CourseId(course),
        title: format!("Run {id}"),
        run_tag: courseware_id.course_number().to_owned(),
        courseware_id,
        start_date: Some(at(2026, 2, 1, 0)),
        end_date: Some(at(2026, 6, 1, 0)),
        enrollment_start: Some(at(2026, 1, 1, 0)),
        enrollment_end: None,
        certificate_available_date: None,
        upgrade_deadline: Some(at(2026, 5, 1, 0)),
        expiration_date: None,
        live: true,
        is_self_paced: false,
        enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
        b2b_contract: None,
        is_source_run: false,
        is_primary_language: true,
        language: "en".into(),
        has_courseware_url: true,
        variant_length: VariantLength::Full,
        variant_industry: VariantIndustry::General,
    }
}

/// An active enrollment already known to edX.
pub fn enrolled(user: UserId, run: &CourseRun, mode: EnrollmentMode) -> RunEnrollment {
    RunEnrollment {
        edx_enrolled: true,
        ..RunEnrollment::new(user, run.id, mode)
    }
}

/// What an order line for `run` purchases.
pub fn run_item(run: &CourseRun) -> PurchasedItem {
    PurchasedItem::CourseRun {
        run: run.id,
        courseware_id: run.courseware_id.clone(),
        contract: run.b2b_contract,
    }
}

/// A stored, unlimited, undated discount.
pub fn discount(
    id: i64,
    code: &str,
    kind: DiscountType,
    amount: Decimal,
    payment: PaymentType,
) -> Discount {
    DiscountDraft {
        payment_type: Some(payment),
        ..DiscountDraft::new(DiscountCode::parse(code).unwrap(), kind, amount)
    }
    .into_discount(DiscountId(id))
}

/// The UUIDs a caller would draw, made predictable: `start`, `start + 1`, ...
pub fn uuid_sequence(start: u128) -> impl FnMut() -> Uuid {
    let mut next = start;
    move || {
        let uuid = Uuid::from_u128(next);
        next += 1;
        uuid
    }
}

/// For decisions that must not draw a UUID.
pub fn no_uuid() -> Uuid {
    panic!("this decision must not draw a new UUID")
}
