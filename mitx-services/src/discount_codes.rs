//! Discount code workflows (ecommerce spec 6): creating one discount, generating a batch
//! (`generate_discount_code`, written to a CSV), `check_discount_code` and
//! `extend_coupons`. The rules are mitx-core's; this module validates, asks the store,
//! and writes the CSV.

use std::path::Path;

use chrono::{DateTime, Utc};
use mitx_core::ids::{ProductId, UserId};
use mitx_core::pricing::{
    CodeGenerationError, CodeGenerationRequest, DateParseError, Discount, DiscountCode,
    DiscountCodeError, DiscountDraft, DiscountRecord, DiscountSaveError, DiscountType, PaymentType,
    RedeemabilityVerdict, RedemptionType, check_discount_code, expiration_shortened,
    extend_coupons_targets, parse_supplied_date, plan_discount_codes, valid_now,
};
use mitx_store::audit_log::Audit;
use mitx_store::discounts::DiscountDetail;
use mitx_store::{Store, StoreError};

use crate::Services;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

/// The CSV header of generated codes (the original's).
pub const CODES_CSV_HEADER: [&str; 4] = ["code", "type", "amount", "expiration_date"];

/// Why a discount workflow stopped.
#[derive(Debug, thiserror::Error)]
pub enum DiscountCodesError {
    /// The generation parameters were refused (the original's messages).
    #[error(transparent)]
    Generation(#[from] CodeGenerationError),
    /// A discount failed the save-time checks.
    #[error(transparent)]
    Save(#[from] DiscountSaveError),
    /// A date could not be read.
    #[error(transparent)]
    Date(#[from] DateParseError),
    /// A code is empty or too long.
    #[error(transparent)]
    Code(#[from] DiscountCodeError),
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No discount has that code.
    #[error("Discount '{0}' not found.")]
    NotFound(String),
    /// `extend` was given an empty prefix (it would match every code).
    #[error("The discount code prefix must not be empty.")]
    EmptyPrefix,
    /// The CSV could not be written.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// Why.
        source: csv::Error,
    },
}

/// One discount to create, as an operator types it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDiscount {
    /// The code.
    pub code: String,
    /// How it changes the price.
    pub discount_type: DiscountType,
    /// Percent (0–100) or dollars.
    pub amount: Decimal,
    /// How often it may be redeemed.
    pub redemption_type: RedemptionType,
    /// Bookkeeping category.
    pub payment_type: Option<PaymentType>,
    /// 0 = no cap.
    pub max_redemptions: u32,
    /// Auto-applied in v0 basket flows.
    pub automatic: bool,
    /// Activation date text (lenient, see `parse_supplied_date`).
    pub activates: Option<String>,
    /// Expiration date text.
    pub expires: Option<String>,
}

/// Parses the dates and checks the discount as every save does.
pub fn draft_discount(
    input: &NewDiscount,
    now: DateTime<Utc>,
) -> Result<DiscountDraft, DiscountCodesError> {
    let draft = DiscountDraft {
        redemption_type: input.redemption_type,
        payment_type: input.payment_type,
        max_redemptions: input.max_redemptions,
        automatic: input.automatic,
        activation_date: input
            .activates
            .as_deref()
            .map(parse_supplied_date)
            .transpose()?,
        expiration_date: input
            .expires
            .as_deref()
            .map(parse_supplied_date)
            .transpose()?,
        ..DiscountDraft::new(
            DiscountCode::parse(&input.code)?,
            input.discount_type,
            input.amount,
        )
    };
    draft.check_for_save(now)?;
    Ok(draft)
}

/// Creates one checked discount with its product restrictions and assignees.
pub async fn create_discount(
    services: &Services,
    draft: &DiscountDraft,
    products: &[ProductId],
    users: &[UserId],
    audit: &Audit,
) -> Result<DiscountDetail, DiscountCodesError> {
    let mut tx = services.db().begin().await?;
    let id = tx
        .create_discount(draft, products, users, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(services.store().discount_detail_by_id(id).await?)
}

/// Plans a generation request: the core's checks and codes (one UUID from `next_uuid`
/// per batch code), then the save-time checks of every draft.
pub fn plan_generation(
    request: &CodeGenerationRequest,
    now: DateTime<Utc>,
    next_uuid: &mut dyn FnMut() -> Uuid,
) -> Result<Vec<DiscountDraft>, DiscountCodesError> {
    let drafts = plan_discount_codes(request, next_uuid)?;
    for draft in &drafts {
        draft.check_for_save(now)?;
    }
    Ok(drafts)
}

/// Plans the codes, inserts them and writes their CSV to `csv` as one write: the CSV is
/// written to a temporary file beside `csv`, the codes are committed only once that file
/// is complete on disk, and only then is it renamed into place. A failure on either side
/// leaves neither (a CSV that cannot be written, e.g. in a missing or read-only folder,
/// leaves no codes). `progress` is told how many codes were inserted, before the CSV is
/// written.
pub async fn generate_codes(
    services: &Services,
    request: &CodeGenerationRequest,
    audit: &Audit,
    next_uuid: &mut dyn FnMut() -> Uuid,
    csv: &Path,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Discount>, DiscountCodesError> {
    let now = services.now();
    let drafts = plan_generation(request, now, next_uuid)?;
    let partial = partial_path(csv);
    // Errors name the file the operator asked for, not the temporary one.
    let named = |err: DiscountCodesError| match err {
        DiscountCodesError::Csv { source, .. } => DiscountCodesError::Csv {
            path: csv.display().to_string(),
            source,
        },
        other => other,
    };
    // Fail before any insert when the folder cannot take the file.
    write_codes_csv(&partial, &[]).map_err(named)?;
    let mut tx = match services.db().begin().await {
        Ok(tx) => tx,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err.into());
        }
    };
    // One statement batch and one audit row for the whole batch (see `create_discounts`),
    // so progress is reported once the codes are inserted, before the CSV is written.
    let created = match tx.create_discounts(&drafts, audit, now).await {
        Ok(created) => created,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err.into());
        }
    };
    progress(created.len());
    if let Err(err) = write_codes_csv(&partial, &created) {
        let _ = std::fs::remove_file(&partial);
        return Err(named(err));
    }
    if let Err(err) = tx.commit().await {
        let _ = std::fs::remove_file(&partial);
        return Err(err.into());
    }
    // The codes are committed and their CSV is complete: a rename in the same folder.
    // Should it still fail, the complete file is kept where it is and named.
    std::fs::rename(&partial, csv).map_err(|e| DiscountCodesError::Csv {
        path: format!(
            "{} (the codes were created; their CSV is complete in {})",
            csv.display(),
            partial.display()
        ),
        source: csv::Error::from(e),
    })?;
    Ok(created)
}

/// The temporary file next to `path` a CSV is written to before it is moved in place.
fn partial_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "codes.csv".into());
    path.with_file_name(format!(".{name}.partial"))
}

/// A timestamp as the original's CSV showed it (Python `str(datetime)`).
fn python_datetime(ts: &DateTime<Utc>) -> String {
    if ts.timestamp_subsec_micros() == 0 {
        ts.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        ts.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
    }
}

/// The CSV rows of generated codes: code, type, amount, expiration date (empty when none).
pub fn codes_csv_rows(discounts: &[Discount]) -> Vec<[String; 4]> {
    discounts
        .iter()
        .map(|d| {
            [
                d.code.to_string(),
                d.discount_type.slug().to_owned(),
                d.amount.normalize().to_string(),
                d.expiration_date
                    .as_ref()
                    .map(python_datetime)
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

/// Writes (overwrites) the codes CSV with the header `code,type,amount,expiration_date`.
pub fn write_codes_csv(path: &Path, discounts: &[Discount]) -> Result<(), DiscountCodesError> {
    let wrap = |source: csv::Error| DiscountCodesError::Csv {
        path: path.display().to_string(),
        source,
    };
    let mut writer = csv::Writer::from_path(path).map_err(wrap)?;
    writer.write_record(CODES_CSV_HEADER).map_err(wrap)?;
    for row in codes_csv_rows(discounts) {
        writer.write_record(&row).map_err(wrap)?;
    }
    writer.flush().map_err(|e| wrap(csv::Error::from(e)))?;
    Ok(())
}

/// `check_discount_code`: the discount's details and whether it can be redeemed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CodeCheck {
    /// The discount and its related rows.
    pub detail: DiscountDetail,
    /// Dates only (activation ≤ now < expiration).
    pub valid_now: bool,
    /// "Can be redeemed?".
    pub can_be_redeemed: RedeemabilityVerdict,
}

/// Looks a code up (exact, after trimming) and gives the "Can be redeemed?" verdict.
pub async fn check_code(
    store: &Store,
    code: &str,
    now: DateTime<Utc>,
) -> Result<CodeCheck, DiscountCodesError> {
    let key = code.trim();
    let detail = store
        .discount_detail(key)
        .await?
        .ok_or_else(|| DiscountCodesError::NotFound(key.to_owned()))?;
    Ok(CodeCheck {
        valid_now: valid_now(&detail.record.discount, now),
        can_be_redeemed: check_discount_code(&detail.record, now),
        detail,
    })
}

/// What `extend_coupons` would change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExtendPlan {
    /// The new expiration date.
    pub expires: DateTime<Utc>,
    /// The discounts that get the new date: never redeemed, code starting with the prefix,
    /// and expiring earlier than the new date (or, with `allow_shorten`, any date).
    pub targets: Vec<Discount>,
    /// How many of `targets` are shortened (only with `allow_shorten`).
    pub shortened: usize,
    /// Matching discounts left alone because they were redeemed.
    pub redeemed_skipped: Vec<String>,
    /// Matching discounts left alone because the new date would shorten them (they expire
    /// later, or never) and shortening was not allowed.
    pub shortening_skipped: Vec<String>,
    /// Matching discounts that already expire on the new date.
    pub unchanged: Vec<String>,
}

/// Finds the never-redeemed discounts whose code starts with `prefix` and checks each with
/// the new expiration date (a date in the past or before an activation date is refused, as
/// every save is). Without `allow_shorten`, a discount the new date would shorten (one
/// that expires later, or never) is skipped and listed in the plan.
pub async fn plan_extend(
    store: &Store,
    prefix: &str,
    expires: &str,
    allow_shorten: bool,
    now: DateTime<Utc>,
) -> Result<ExtendPlan, DiscountCodesError> {
    if prefix.trim().is_empty() {
        return Err(DiscountCodesError::EmptyPrefix);
    }
    let expires = parse_supplied_date(expires)?;
    let records: Vec<DiscountRecord> = store.discount_records_containing(prefix).await?;
    let ids = extend_coupons_targets(&records, prefix);
    let mut plan = ExtendPlan {
        expires,
        targets: Vec::new(),
        shortened: 0,
        redeemed_skipped: Vec::new(),
        shortening_skipped: Vec::new(),
        unchanged: Vec::new(),
    };
    for record in records {
        let code = record.discount.code.to_string();
        if !code.starts_with(prefix) {
            continue;
        }
        if !ids.contains(&record.discount.id) {
            plan.redeemed_skipped.push(code);
            continue;
        }
        // The date must be one every matching code could be saved with (not in the past,
        // not before its activation), skipped or not.
        Discount {
            expiration_date: Some(expires),
            ..record.discount.clone()
        }
        .check_for_save(now)?;
        if record.discount.expiration_date == Some(expires) {
            plan.unchanged.push(code);
        } else if expiration_shortened(&record.discount, expires) && !allow_shorten {
            plan.shortening_skipped.push(code);
        } else {
            if expiration_shortened(&record.discount, expires) {
                plan.shortened += 1;
            }
            plan.targets.push(record.discount);
        }
    }
    Ok(plan)
}

/// Applies an [`ExtendPlan`] in one unit of work; returns how many discounts changed.
pub async fn apply_extend(
    services: &Services,
    plan: &ExtendPlan,
    audit: &Audit,
) -> Result<usize, DiscountCodesError> {
    let mut tx = services.db().begin().await?;
    let changed = tx
        .set_discount_expirations(&plan.targets, plan.expires, audit, services.now())
        .await?;
    tx.commit().await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use mitx_core::ids::DiscountId;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn counter() -> impl FnMut() -> Uuid {
        let mut n = 0u128;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    fn request() -> CodeGenerationRequest {
        CodeGenerationRequest {
            discount_type: "percent-off".into(),
            payment_type: "marketing".into(),
            amount: Decimal::from(10),
            count: 3,
            prefix: Some("SPRING".into()),
            ..CodeGenerationRequest::default()
        }
    }

    #[test]
    fn generation_plans_prefixed_codes_and_checks_saves() {
        let drafts = plan_generation(&request(), now(), &mut counter()).unwrap();
        assert_eq!(drafts.len(), 3);
        assert_eq!(
            drafts[0].code.as_str(),
            "SPRING00000000-0000-0000-0000-000000000001"
        );
        let past = CodeGenerationRequest {
            expires: Some("2020-01-01".into()),
            ..request()
        };
        assert_eq!(
            plan_generation(&past, now(), &mut counter())
                .unwrap_err()
                .to_string(),
            "Expiration date 2020-01-01 00:00:00+00:00 must be in the future."
        );
        let too_much = CodeGenerationRequest {
            amount: Decimal::from(150),
            ..request()
        };
        assert_eq!(
            plan_generation(&too_much, now(), &mut counter())
                .unwrap_err()
                .to_string(),
            "Discount amount 150 not valid for discount type percent-off."
        );
    }

    #[test]
    fn csv_rows_show_type_amount_and_python_dates() {
        let draft = DiscountDraft {
            expiration_date: Some(Utc.with_ymd_and_hms(2026, 8, 15, 0, 0, 0).unwrap()),
            ..DiscountDraft::new(
                DiscountCode::parse("A").unwrap(),
                DiscountType::DollarsOff,
                Decimal::new(1050, 2),
            )
        };
        let open = DiscountDraft::new(
            DiscountCode::parse("B").unwrap(),
            DiscountType::PercentOff,
            Decimal::from(10),
        );
        let rows = codes_csv_rows(&[
            draft.into_discount(DiscountId(1)),
            open.into_discount(DiscountId(2)),
        ]);
        assert_eq!(
            rows[0],
            ["A", "dollars-off", "10.5", "2026-08-15 00:00:00+00:00"].map(String::from)
        );
        assert_eq!(rows[1], ["B", "percent-off", "10", ""].map(String::from));
    }

    #[test]
    fn draft_discount_checks_percent_and_dates() {
        let input = NewDiscount {
            code: " SAVE ".into(),
            discount_type: DiscountType::PercentOff,
            amount: Decimal::from(150),
            redemption_type: RedemptionType::Unlimited,
            payment_type: None,
            max_redemptions: 0,
            automatic: false,
            activates: None,
            expires: None,
        };
        assert_eq!(
            draft_discount(&input, now()).unwrap_err().to_string(),
            "Discount amount 150 not valid for discount type percent-off."
        );
        let ok = NewDiscount {
            amount: Decimal::from(15),
            activates: Some("2026-04-01".into()),
            expires: Some("2026-05-01T00:00:00+02:00".into()),
            ..input.clone()
        };
        let draft = draft_discount(&ok, now()).unwrap();
        assert_eq!(draft.code.as_str(), "SAVE");
        assert_eq!(
            draft.expiration_date,
            Some(Utc.with_ymd_and_hms(2026, 4, 30, 22, 0, 0).unwrap())
        );
        let backwards = NewDiscount {
            activates: Some("2026-06-01".into()),
            ..ok
        };
        assert_eq!(
            draft_discount(&backwards, now()).unwrap_err().to_string(),
            "Expiration date 2026-04-30 22:00:00+00:00 must be after the activation date 2026-06-01 00:00:00+00:00."
        );
        let bad_date = NewDiscount {
            expires: Some("next tuesday".into()),
            ..input
        };
        assert_eq!(
            draft_discount(&bad_date, now()).unwrap_err().to_string(),
            "Could not parse the date 'next tuesday'."
        );
    }
}
