//! The catalog file model (docs/catalog-format.md): what `mitx catalog import` reads and
//! `mitx catalog export` writes. Identifiers and money are kept as text here; the import
//! workflow validates every record (with its path) before the store writes anything.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A whole catalog document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogData {
    /// Format version; must be 1.
    pub version: u32,
    /// Departments.
    #[serde(default)]
    pub departments: Vec<DepartmentRecord>,
    /// Courses with their runs.
    #[serde(default)]
    pub courses: Vec<CourseRecord>,
    /// Programs with their requirement trees.
    #[serde(default)]
    pub programs: Vec<ProgramRecord>,
    /// Exchange rates, income thresholds and tiers.
    #[serde(default)]
    pub flexible_pricing: FlexiblePricingRecord,
    /// Discount codes.
    #[serde(default)]
    pub discounts: Vec<DiscountRecord>,
}

/// A department.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRecord {
    /// Unique name.
    pub name: String,
    /// Unique slug; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
}

/// A course.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseRecord {
    /// Unique readable id.
    pub readable_id: String,
    /// Title.
    pub title: String,
    /// Shown in the catalog.
    #[serde(default)]
    pub live: bool,
    /// Department names.
    #[serde(default)]
    pub departments: Vec<String>,
    /// ISO alpha-2 countries whose learners cannot enroll.
    #[serde(default)]
    pub blocked_countries: Vec<String>,
    /// Marketing page.
    #[serde(default)]
    pub page: Option<PageRecord>,
    /// Certificate page (courses spec 1.12): each import that changes it writes a new
    /// immutable revision; issued certificates keep the revision they pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_page: Option<CertificatePageRecord>,
    /// Runs.
    #[serde(default)]
    pub runs: Vec<RunRecord>,
}

/// A course run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// Unique Open edX key.
    pub courseware_id: String,
    /// Run tag, e.g. `1T2026`.
    pub run_tag: String,
    /// Title (defaults to the course title).
    #[serde(default)]
    pub title: Option<String>,
    /// Dates.
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    /// End.
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
    /// Enrollment opens.
    #[serde(default)]
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Enrollment closes.
    #[serde(default)]
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Last moment for a paid upgrade.
    #[serde(default)]
    pub upgrade_deadline: Option<DateTime<Utc>>,
    /// Certificates appear from then on.
    #[serde(default)]
    pub certificate_available_date: Option<DateTime<Utc>>,
    /// Run content expires.
    #[serde(default)]
    pub expiration_date: Option<DateTime<Utc>>,
    /// Shown and enrollable.
    #[serde(default)]
    pub live: bool,
    /// Self-paced.
    #[serde(default)]
    pub is_self_paced: bool,
    /// Offered modes: `audit`, `verified`.
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
    /// Language code.
    #[serde(default = "default_language")]
    pub language: String,
    /// The canonical run of its run tag (courses spec 1.3): at most one run per (course,
    /// run tag, source flag, B2B contract) may have it. Default true; set false on the
    /// other language runs of a run tag.
    #[serde(default = "yes")]
    pub is_primary_language: bool,
    /// A template run for B2B re-runs, hidden from the public catalog. Default false.
    #[serde(default)]
    pub is_source_run: bool,
    /// The run's product price (decimal text with at most 2 places).
    #[serde(default)]
    pub price: Option<String>,
}

/// A program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRecord {
    /// Unique readable id.
    pub readable_id: String,
    /// Title.
    pub title: String,
    /// Shown in the catalog.
    #[serde(default)]
    pub live: bool,
    /// Program type (`Series` by default).
    #[serde(default)]
    pub program_type: Option<String>,
    /// `anytime` or `dated`.
    #[serde(default = "default_availability")]
    pub availability: String,
    /// Department names.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Offered modes.
    #[serde(default = "default_modes")]
    pub modes: Vec<String>,
    /// `course` presents the program like a course.
    #[serde(default)]
    pub display_mode: Option<String>,
    /// Excluded from public listings.
    #[serde(default)]
    pub b2b_only: bool,
    /// Program product price.
    #[serde(default)]
    pub price: Option<String>,
    /// Marketing page.
    #[serde(default)]
    pub page: Option<PageRecord>,
    /// Certificate page (see [`CourseRecord::certificate_page`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_page: Option<CertificatePageRecord>,
    /// The root's children, in order.
    #[serde(default)]
    pub requirements: Vec<RequirementRecord>,
}

/// A requirement node: an operator group, a course or a sub-program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequirementRecord {
    /// `{"course": readable_id}`.
    Course {
        /// The course's readable id.
        course: String,
    },
    /// `{"program": readable_id}`.
    Program {
        /// The sub-program's readable id.
        program: String,
    },
    /// An operator group.
    Operator {
        /// `all_of` or `min_number_of`.
        operator: String,
        /// The n of min_number_of.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<u32>,
        /// Title.
        #[serde(default)]
        title: String,
        /// Elective group.
        #[serde(default)]
        elective: bool,
        /// Children in order.
        #[serde(default)]
        children: Vec<RequirementRecord>,
    },
}

/// A certificate page of a course or program (courses spec 1.12, 3.8, 5.4): what a
/// certificate shows and whether a verifiable credential is issued. Stored as the
/// `page_data` JSON of `certificate_page_revisions`, in this shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatePageRecord {
    /// Page title.
    pub title: String,
    /// The product named on the certificate (defaults to the course or program title
    /// where it is shown).
    #[serde(default)]
    pub product_name: String,
    /// Continuing education units, as text (`"2.5"`).
    #[serde(default, rename = "CEUs")]
    pub ceus: String,
    /// Overrides (`[{type, value, id}]`), passed through as given.
    #[serde(default)]
    pub overrides: Vec<serde_json::Value>,
    /// Signatories (`[{name, title_1, title_2, title_3, organization, signature_image}]`).
    #[serde(default)]
    pub signatory_items: Vec<SignatoryRecord>,
    /// Issue an Open Badges 3.0 verifiable credential with each certificate.
    #[serde(default)]
    pub should_provision_verifiable_credential: bool,
    /// The credential's criteria narrative (no credential when empty).
    #[serde(default)]
    pub verifiable_credential_criteria: String,
    /// Image URL of the achievement in the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// A signatory of a certificate page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatoryRecord {
    /// Name.
    pub name: String,
    /// First title line.
    #[serde(default)]
    pub title_1: String,
    /// Second title line.
    #[serde(default)]
    pub title_2: String,
    /// Third title line.
    #[serde(default)]
    pub title_3: String,
    /// Organization.
    #[serde(default)]
    pub organization: String,
    /// Signature image URL.
    #[serde(default)]
    pub signature_image: String,
}

/// Marketing page fields of a course or program.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageRecord {
    /// Published.
    #[serde(default = "yes")]
    pub live: bool,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Image URL.
    #[serde(default)]
    pub feature_image_src: Option<String>,
    /// Instructors.
    #[serde(default)]
    pub instructors: Vec<InstructorRecord>,
    /// Duration text.
    #[serde(default)]
    pub length: String,
    /// Effort text.
    #[serde(default)]
    pub effort: Option<String>,
    /// Weeks.
    #[serde(default)]
    pub min_weeks: Option<i64>,
    /// Weeks.
    #[serde(default)]
    pub max_weeks: Option<i64>,
    /// Hours per week.
    #[serde(default)]
    pub min_weekly_hours: Option<i64>,
    /// Hours per week.
    #[serde(default)]
    pub max_weekly_hours: Option<i64>,
    /// Price text shown on the page.
    #[serde(default)]
    pub price_text: Option<String>,
    /// Topics.
    #[serde(default)]
    pub topics: Vec<String>,
    /// Prerequisites text.
    #[serde(default)]
    pub prerequisites: String,
    /// Included in MIT Learn's catalog.
    #[serde(default = "yes")]
    pub include_in_learn_catalog: bool,
}

/// An instructor on a page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstructorRecord {
    /// Name.
    pub name: String,
    /// Title.
    #[serde(default)]
    pub title: String,
}

/// Flexible-pricing data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexiblePricingRecord {
    /// Exchange rates.
    #[serde(default)]
    pub exchange_rates: Vec<ExchangeRateRecord>,
    /// Country income thresholds.
    #[serde(default)]
    pub income_thresholds: Vec<IncomeThresholdRecord>,
    /// Tiers.
    #[serde(default)]
    pub tiers: Vec<TierRecord>,
}

/// An exchange rate: foreign units per 1 USD.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRateRecord {
    /// ISO 4217 code.
    pub currency_code: String,
    /// Name.
    #[serde(default)]
    pub description: Option<String>,
    /// Units per USD.
    pub rate: f64,
}

/// A country's income threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomeThresholdRecord {
    /// ISO alpha-2 code.
    pub country_code: String,
    /// USD per year.
    pub income_threshold: i64,
}

/// A flexible-pricing tier with its discount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRecord {
    /// Course or program readable id.
    pub courseware: String,
    /// Inclusive lower income bound, USD.
    pub threshold: f64,
    /// Used for pricing.
    #[serde(default = "yes")]
    pub current: bool,
    /// Discount type.
    pub discount_type: String,
    /// Discount amount.
    pub amount: String,
    /// Discount code.
    pub code: String,
}

/// A discount code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountRecord {
    /// The code.
    pub code: String,
    /// `percent-off`, `dollars-off`, `fixed-price`.
    pub discount_type: String,
    /// Amount (decimal text).
    pub amount: String,
    /// `one-time`, `one-time-per-user`, `unlimited`.
    pub redemption_type: String,
    /// Payment type.
    #[serde(default)]
    pub payment_type: Option<String>,
    /// 0 = no cap.
    #[serde(default)]
    pub max_redemptions: u32,
    /// Auto-applied.
    #[serde(default)]
    pub automatic: bool,
    /// Not before.
    #[serde(default)]
    pub activation_date: Option<DateTime<Utc>>,
    /// Not after.
    #[serde(default)]
    pub expiration_date: Option<DateTime<Utc>>,
    /// Product restriction: run courseware ids or program readable ids.
    #[serde(default)]
    pub products: Vec<String>,
}

fn default_modes() -> Vec<String> {
    vec!["audit".into()]
}

fn default_language() -> String {
    "en".into()
}

fn default_availability() -> String {
    "anytime".into()
}

fn yes() -> bool {
    true
}
