//! Contract course runs: source-run selection, key generation and the new run and product
//! (pricing-and-b2b spec 5.3).

use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{Contract, Organization};
use crate::Timestamp;
use crate::catalog::{
    Course, CourseRun, CoursewareId, EnrollmentMode, VariantIndustry, VariantLength,
};
use crate::ids::{ContractId, CourseId, CourseRunId};
use crate::money::Money;

/// Why contract runs could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractRunError {
    /// Strict mode and the course has no source run (`{0}` is the course readable id).
    #[error("No source run found for {0}.")]
    NoSourceRun(String),
    /// Non-strict mode and the course has no run outside contracts either.
    #[error("No course runs available for {0}.")]
    NoRunsAvailable(String),
    /// The source run's id is not `course-v1:ORG+NUMBER+RUN`, so no course number.
    #[error("Source run '{0}' is not an Open edX course key.")]
    SourceNotEdxKey(String),
    /// The generated key is not a valid courseware id (e.g. odd characters in the org key).
    #[error("Generated contract run key '{0}' is not a valid course key.")]
    InvalidKey(String),
}

/// The language and variant of a run; contract runs copy it from their source run and
/// run indexes are counted per variant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunVariant {
    /// `""` when unspecified.
    pub language: String,
    /// Industry variant.
    pub industry: VariantIndustry,
    /// Length variant.
    pub length: VariantLength,
}

impl RunVariant {
    /// The variant of an existing run.
    pub fn of(run: &CourseRun) -> Self {
        RunVariant {
            language: run.language.clone(),
            industry: run.variant_industry,
            length: run.variant_length,
        }
    }

    /// Whether `run` has this language, industry and length.
    pub fn matches(&self, run: &CourseRun) -> bool {
        run.language == self.language
            && run.variant_industry == self.industry
            && run.variant_length == self.length
    }

    /// The courseware id suffix: `_{language}`, `_{industry}`, `_{length}`, each only when
    /// non-empty (`_en`, `_en_F_S`, `""`).
    pub fn suffix(&self) -> String {
        [
            self.language.as_str(),
            self.industry.code(),
            self.length.code(),
        ]
        .iter()
        .filter(|part| !part.is_empty())
        .map(|part| format!("_{part}"))
        .collect()
    }
}

/// `course-v1:{prefix}{org_key}+{course_number}`: the course part of a contract run key.
pub fn contract_course_key(prefix: &str, org_key: &str, course_number: &str) -> String {
    format!("course-v1:{prefix}{org_key}+{course_number}")
}

/// `T{contract_id}C{year}`: the end of every run tag of a contract in a year.
pub fn run_tag_suffix(contract: ContractId, year: i32) -> String {
    format!("T{contract}C{year}")
}

/// The index of the next run of a contract for one course key, variant and year: one more
/// than the highest index among existing runs whose courseware id starts with
/// `course_key`, whose run tag ends with `T{contract}C{year}` and whose variant matches;
/// 1 if none.
///
/// The original took the index of the lexicographically greatest courseware id, so after
/// `10T…` it picked `9T…` again; mitx takes the numeric maximum (the intent).
pub fn next_run_index(
    course_key: &str,
    contract: ContractId,
    year: i32,
    variant: &RunVariant,
    existing: &[CourseRun],
) -> u32 {
    let suffix = run_tag_suffix(contract, year);
    existing
        .iter()
        .filter(|r| r.courseware_id.as_str().starts_with(course_key) && variant.matches(r))
        .filter_map(|r| run_index(&r.run_tag, &suffix))
        .max()
        .map_or(1, |idx| idx.saturating_add(1))
}

/// The leading index of a run tag `{idx}T{contract}C{year}`, if the tag has that shape.
fn run_index(run_tag: &str, suffix: &str) -> Option<u32> {
    run_tag.strip_suffix(suffix)?.parse().ok()
}

/// The course number of an Open edX run key (`18.01x` for `course-v1:UAI_SOURCE+18.01x+SOURCE`).
fn edx_course_number(key: &CoursewareId) -> Option<&str> {
    if !key.is_edx_key() {
        return None;
    }
    key.as_str().split('+').nth(1)
}

/// The generated identifiers of a contract run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractRunKey {
    /// `course-v1:{prefix}{org_key}+{number}`.
    pub course_key: String,
    /// `{idx}T{contract}C{year}`; runs of all languages of one rerun share it.
    pub run_tag: String,
    /// `{course_key}+{run_tag}`: the key without the variant suffix.
    pub key: String,
    /// `key` plus the variant suffix: the id sent to edX.
    pub courseware_id: CoursewareId,
}

/// Generates the key of a new contract run cloned from `source`. `existing` must hold every
/// run whose courseware id may start with the new course key (the store locks them for the
/// call). The year is the current UTC year.
pub fn contract_run_key(
    organization: &Organization,
    explicit_prefix: Option<&str>,
    contract: ContractId,
    source: &CourseRun,
    existing: &[CourseRun],
    now: Timestamp,
) -> Result<ContractRunKey, ContractRunError> {
    let number = edx_course_number(&source.courseware_id)
        .ok_or_else(|| ContractRunError::SourceNotEdxKey(source.courseware_id.to_string()))?;
    let course_key = contract_course_key(
        organization.key_prefix(explicit_prefix),
        organization.org_key.as_str(),
        number,
    );
    let year = now.year();
    let variant = RunVariant::of(source);
    let idx = next_run_index(&course_key, contract, year, &variant, existing);
    let run_tag = format!("{idx}{}", run_tag_suffix(contract, year));
    let key = format!("{course_key}+{run_tag}");
    let full = format!("{key}{}", variant.suffix());
    let courseware_id = CoursewareId::parse(&full)
        .ok()
        .filter(CoursewareId::is_edx_key)
        .ok_or(ContractRunError::InvalidKey(full))?;
    Ok(ContractRunKey {
        course_key,
        run_tag,
        key,
        courseware_id,
    })
}

/// How source runs are chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceRunOptions<'a> {
    /// Require a designated source run; otherwise fall back to the newest non-contract run.
    pub strict: bool,
    /// Only the default-language source run ("" / "en" / primary).
    pub ignore_langs: bool,
    /// Keep only this language plus the course default variant.
    pub only_lang: Option<&'a str>,
    /// Narrow the course's active variant sets to these.
    pub requested_variants: Option<&'a [RunVariant]>,
}

/// The variant sets a course supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CourseVariants<'a> {
    /// Active variant sets.
    pub active: &'a [RunVariant],
    /// The default variant set, if the course has one.
    pub default: Option<&'a RunVariant>,
}

/// The source runs of `course` to clone for a contract, in id order.
///
/// Source runs are runs flagged `is_source_run` or tagged `SOURCE`. Without a default
/// variant (or with `ignore_langs`) only default-language runs count; otherwise the run's
/// variant must be one of the active sets (narrowed as requested). None found: strict →
/// "No source run found for {course}."; otherwise the newest run outside contracts.
pub fn select_source_runs<'a>(
    course: &Course,
    runs: &'a [CourseRun],
    variants: CourseVariants<'_>,
    options: SourceRunOptions<'_>,
) -> Result<Vec<&'a CourseRun>, ContractRunError> {
    let mut found: Vec<&CourseRun> = runs
        .iter()
        .filter(|r| r.course_id == course.id && r.is_source())
        .filter(|r| match variants.default {
            Some(default) if !options.ignore_langs => {
                let in_sets = variants.active.iter().any(|v| {
                    v.matches(r) && options.requested_variants.is_none_or(|req| req.contains(v))
                });
                let lang_ok = options
                    .only_lang
                    .is_none_or(|lang| r.language == lang || default.matches(r));
                in_sets && lang_ok
            }
            _ => r.is_default_language(),
        })
        .collect();
    found.sort_by_key(|r| r.id);
    if !found.is_empty() {
        return Ok(found);
    }
    let readable = course.readable_id.to_string();
    if options.strict {
        return Err(ContractRunError::NoSourceRun(readable));
    }
    runs.iter()
        .filter(|r| r.course_id == course.id && !r.is_b2b())
        .max_by_key(|r| r.id)
        .map(|r| vec![r])
        .ok_or(ContractRunError::NoRunsAvailable(readable))
}

/// Whether `course` already has a run in `contract` with the same language and variant
/// (with `no_reruns` such a source is skipped).
pub fn has_contract_run(
    course: CourseId,
    contract: ContractId,
    variant: &RunVariant,
    existing: &[CourseRun],
) -> bool {
    existing
        .iter()
        .any(|r| r.course_id == course && r.b2b_contract == Some(contract) && variant.matches(r))
}

/// A contract run about to be created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewContractRun {
    /// The source's course.
    pub course_id: CourseId,
    /// The source's title.
    pub title: String,
    /// Key plus variant suffix.
    pub courseware_id: CoursewareId,
    /// `{idx}T{contract}C{year}`.
    pub run_tag: String,
    /// Contract start at 00:00 UTC, or now.
    pub start_date: Timestamp,
    /// Contract end at 00:00 UTC (so enrollment closes at the START of the end date).
    pub end_date: Option<Timestamp>,
    /// Same as the start.
    pub enrollment_start: Timestamp,
    /// Same as the end.
    pub enrollment_end: Option<Timestamp>,
    /// Same as the start.
    pub certificate_available_date: Timestamp,
    /// Always true.
    pub is_self_paced: bool,
    /// Always true.
    pub live: bool,
    /// The contract.
    pub b2b_contract: ContractId,
    /// Copied from the source.
    pub variant: RunVariant,
    /// Copied from the source.
    pub is_primary_language: bool,
    /// Copied from the source.
    pub has_courseware_url: bool,
    /// Audit and verified.
    pub enrollment_modes: Vec<EnrollmentMode>,
    /// The source run an edX clone is made from (unless the caller skips edX).
    pub clone_from: CoursewareId,
}

impl NewContractRun {
    /// The run once the store has given it an id.
    pub fn into_course_run(self, id: CourseRunId) -> CourseRun {
        CourseRun {
            id,
            course_id: self.course_id,
            title: self.title,
            courseware_id: self.courseware_id,
            run_tag: self.run_tag,
            start_date: Some(self.start_date),
            end_date: self.end_date,
            enrollment_start: Some(self.enrollment_start),
            enrollment_end: self.enrollment_end,
            certificate_available_date: Some(self.certificate_available_date),
            upgrade_deadline: None,
            expiration_date: None,
            live: self.live,
            is_self_paced: self.is_self_paced,
            enrollment_modes: self.enrollment_modes,
            b2b_contract: Some(self.b2b_contract),
            is_source_run: false,
            is_primary_language: self.is_primary_language,
            language: self.variant.language,
            has_courseware_url: self.has_courseware_url,
            variant_length: self.variant.length,
            variant_industry: self.variant.industry,
        }
    }
}

/// The product created for a contract run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContractProduct {
    /// The contract price or 0.00.
    pub price: Money,
    /// Always true.
    pub is_active: bool,
    /// See [`contract_product_description`].
    pub description: String,
}

/// `"{org name} #{contract id} - {course title} {course readable_id}"`, plus
/// `" [{suffix}]"` (e.g. ` [_en]`) when the run has a language.
pub fn contract_product_description(
    organization: &Organization,
    contract: ContractId,
    course: &Course,
    variant: &RunVariant,
) -> String {
    let mut text = format!(
        "{} #{} - {} {}",
        organization.name, contract, course.title, course.readable_id
    );
    if !variant.language.is_empty() {
        text.push_str(&format!(" [{}]", variant.suffix()));
    }
    text
}

/// One planned contract run and its product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContractRunPlan {
    /// The run.
    pub run: NewContractRun,
    /// Its product.
    pub product: NewContractProduct,
}

/// What happens to one source run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ContractRunOutcome {
    /// Create this run and product (and enqueue the edX clone).
    Create(Box<ContractRunPlan>),
    /// `no_reruns` and the course already has a run for this variant: logged, nothing made.
    Skipped {
        /// The skipped source run.
        source: CourseRunId,
        /// The logged warning.
        warning: String,
    },
}

/// Everything needed to plan the runs of one course for a contract.
#[derive(Clone, Copy, Debug)]
pub struct ContractRunRequest<'a> {
    /// The contract's organization.
    pub organization: &'a Organization,
    /// The contract.
    pub contract: &'a Contract,
    /// The course of the sources.
    pub course: &'a Course,
    /// From [`select_source_runs`].
    pub sources: &'a [&'a CourseRun],
    /// Runs whose keys may collide (the course's runs and the org's contract runs).
    pub existing: &'a [CourseRun],
    /// A prefix overriding the organization's.
    pub explicit_prefix: Option<&'a str>,
    /// Skip sources whose variant already has a run in the contract.
    pub no_reruns: bool,
    /// The current instant (year, open start).
    pub now: Timestamp,
}

/// Plans one contract run (with product) per source run. Runs planned earlier in the same
/// call count as existing, so two sources of one variant get consecutive indexes.
pub fn plan_contract_runs(
    request: &ContractRunRequest<'_>,
) -> Result<Vec<ContractRunOutcome>, ContractRunError> {
    let contract = request.contract;
    let start = contract.contract_start.map_or(request.now, midnight_utc);
    let end = contract.contract_end.map(midnight_utc);
    let mut known: Vec<CourseRun> = request.existing.to_vec();
    let mut outcomes = Vec::with_capacity(request.sources.len());
    for (n, source) in request.sources.iter().enumerate() {
        let variant = RunVariant::of(source);
        let key = contract_run_key(
            request.organization,
            request.explicit_prefix,
            contract.id,
            source,
            &known,
            request.now,
        )?;
        if request.no_reruns && has_contract_run(request.course.id, contract.id, &variant, &known) {
            outcomes.push(ContractRunOutcome::Skipped {
                source: source.id,
                warning: format!(
                    "Can't create a run for {} and contract {}: courseware ID {} already exists.",
                    request.course.readable_id, contract.name, key.courseware_id
                ),
            });
            continue;
        }
        let run = NewContractRun {
            course_id: request.course.id,
            title: source.title.clone(),
            courseware_id: key.courseware_id,
            run_tag: key.run_tag,
            start_date: start,
            end_date: end,
            enrollment_start: start,
            enrollment_end: end,
            certificate_available_date: start,
            is_self_paced: true,
            live: true,
            b2b_contract: contract.id,
            variant: variant.clone(),
            is_primary_language: source.is_primary_language,
            has_courseware_url: source.has_courseware_url,
            enrollment_modes: vec![EnrollmentMode::Audit, EnrollmentMode::Verified],
            clone_from: source.courseware_id.clone(),
        };
        let product = NewContractProduct {
            price: contract.price(),
            is_active: true,
            description: contract_product_description(
                request.organization,
                contract.id,
                request.course,
                &variant,
            ),
        };
        // Later sources of this call must see this run (key index, rerun check); only
        // its key and variant matter, so a placeholder id is enough.
        known.push(run.clone().into_course_run(CourseRunId(-1 - n as i64)));
        outcomes.push(ContractRunOutcome::Create(Box::new(ContractRunPlan {
            run,
            product,
        })));
    }
    Ok(outcomes)
}

/// A contract date at 00:00 UTC.
fn midnight_utc(date: NaiveDate) -> Timestamp {
    date.and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::b2b::contract::tests::k42;
    use crate::b2b::organization::tests::org;
    use crate::catalog::ReadableId;
    use chrono::{TimeZone, Utc};

    pub fn ts(y: i32, m: u32, d: u32) -> Timestamp {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
    }

    pub fn run(id: i64, course: i64, key: &str, tag: &str) -> CourseRun {
        CourseRun {
            id: CourseRunId(id),
            course_id: CourseId(course),
            title: "Calculus".into(),
            courseware_id: CoursewareId::parse(key).unwrap(),
            run_tag: tag.into(),
            start_date: Some(ts(2025, 1, 1)),
            end_date: None,
            enrollment_start: Some(ts(2025, 1, 1)),
            enrollment_end: None,
            certificate_available_date: None,
            upgrade_deadline: None,
            expiration_date: None,
            live: true,
            is_self_paced: true,
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

    pub fn source() -> CourseRun {
        let mut r = run(10, 5, "course-v1:UAI_SOURCE+18.01x+SOURCE", "SOURCE");
        r.is_source_run = true;
        r
    }

    pub fn course() -> Course {
        Course {
            id: CourseId(5),
            title: "Calculus".into(),
            readable_id: ReadableId::parse("course-v1:UAI_SOURCE+18.01x").unwrap(),
            live: true,
            departments: vec![],
        }
    }

    fn in_2025() -> Timestamp {
        Utc.with_ymd_and_hms(2025, 2, 10, 15, 0, 0)
            .single()
            .unwrap()
    }

    #[test]
    fn pricing_s25_contract_run_key_dates_and_product() {
        let acme = org(1, "ACME", "ACME");
        let contract = k42();
        let course = course();
        let src = source();
        let sources = [&src];
        let existing = [src.clone()];
        let request = ContractRunRequest {
            organization: &acme,
            contract: &contract,
            course: &course,
            sources: &sources,
            existing: &existing,
            explicit_prefix: None,
            no_reruns: false,
            now: in_2025(),
        };
        let outcomes = plan_contract_runs(&request).unwrap();
        let [ContractRunOutcome::Create(plan)] = outcomes.as_slice() else {
            panic!("one run expected: {outcomes:?}");
        };
        let r = &plan.run;
        assert_eq!(
            r.courseware_id.as_str(),
            "course-v1:UAI_ACME+18.01x+1T42C2025_en"
        );
        assert_eq!(r.run_tag, "1T42C2025");
        assert_eq!(r.start_date, ts(2025, 3, 1));
        assert_eq!(r.enrollment_start, ts(2025, 3, 1));
        assert_eq!(r.certificate_available_date, ts(2025, 3, 1));
        assert_eq!(r.end_date, Some(ts(2025, 12, 31)));
        assert_eq!(r.enrollment_end, Some(ts(2025, 12, 31)));
        assert!(r.is_self_paced && r.live);
        assert_eq!(
            r.enrollment_modes,
            vec![EnrollmentMode::Audit, EnrollmentMode::Verified]
        );
        assert_eq!(r.clone_from.as_str(), "course-v1:UAI_SOURCE+18.01x+SOURCE");
        assert_eq!(plan.product.price.to_price_string(), "0.00");
        assert!(plan.product.is_active);
        assert_eq!(
            plan.product.description,
            "ACME #42 - Calculus course-v1:UAI_SOURCE+18.01x [_en]"
        );
        let made = plan.run.clone().into_course_run(CourseRunId(99));
        assert_eq!(made.b2b_contract, Some(ContractId(42)));
        assert!(!made.is_source() && made.language == "en");
    }

    #[test]
    fn next_index_per_contract_year_and_variant() {
        let acme = org(1, "ACME", "ACME");
        let src = source();
        let mut first = run(11, 5, "course-v1:UAI_ACME+18.01x+1T42C2025_en", "1T42C2025");
        first.b2b_contract = Some(ContractId(42));
        let existing = vec![src.clone(), first.clone()];
        let key =
            contract_run_key(&acme, None, ContractId(42), &src, &existing, in_2025()).unwrap();
        assert_eq!(key.run_tag, "2T42C2025");
        assert_eq!(key.key, "course-v1:UAI_ACME+18.01x+2T42C2025");
        // A new year restarts at 1.
        let key =
            contract_run_key(&acme, None, ContractId(42), &src, &existing, ts(2026, 1, 2)).unwrap();
        assert_eq!(key.run_tag, "1T42C2026");
        // Another language has its own sequence.
        let mut fr = src.clone();
        fr.language = "fr".into();
        let key = contract_run_key(&acme, None, ContractId(42), &fr, &existing, in_2025()).unwrap();
        assert_eq!(
            key.courseware_id.as_str(),
            "course-v1:UAI_ACME+18.01x+1T42C2025_fr"
        );
        // An explicit prefix and variants.
        let mut variant = src.clone();
        variant.variant_industry = VariantIndustry::Finance;
        variant.variant_length = VariantLength::Short;
        let key = contract_run_key(
            &acme,
            Some("X_"),
            ContractId(42),
            &variant,
            &existing,
            in_2025(),
        )
        .unwrap();
        assert_eq!(
            key.courseware_id.as_str(),
            "course-v1:X_ACME+18.01x+1T42C2025_en_F_S"
        );
    }

    #[test]
    fn next_index_is_the_numeric_maximum() {
        // The original sorted courseware ids as text, so "9T…" beat "10T…" and it made
        // "10T…" again; mitx continues at 11.
        let mk = |idx: u32| {
            let mut r = run(
                i64::from(idx),
                5,
                &format!("course-v1:UAI_ACME+18.01x+{idx}T42C2025_en"),
                &format!("{idx}T42C2025"),
            );
            r.b2b_contract = Some(ContractId(42));
            r
        };
        let existing: Vec<CourseRun> = (1..=10).map(mk).collect();
        let variant = RunVariant::of(&existing[0]);
        let course_key = contract_course_key("UAI_", "ACME", "18.01x");
        assert_eq!(
            next_run_index(&course_key, ContractId(42), 2025, &variant, &existing),
            11
        );
        // Tags of other contracts do not count ("1T142C2025" does not end with "T42C2025").
        let other = run(
            50,
            5,
            "course-v1:UAI_ACME+18.01x+7T142C2025_en",
            "7T142C2025",
        );
        assert_eq!(
            next_run_index(&course_key, ContractId(42), 2025, &variant, &[other]),
            1
        );
    }

    #[test]
    fn source_key_must_be_an_edx_key() {
        let acme = org(1, "ACME", "ACME");
        let mut src = source();
        src.courseware_id = CoursewareId::parse("not-a-key").unwrap();
        assert_eq!(
            contract_run_key(&acme, None, ContractId(42), &src, &[], in_2025()),
            Err(ContractRunError::SourceNotEdxKey("not-a-key".into()))
        );
    }

    #[test]
    fn pricing_s26_no_source_run() {
        let course = course();
        let plain = run(20, 5, "course-v1:MITx+18.01x+1T2025", "1T2025");
        let strict = SourceRunOptions {
            strict: true,
            ..SourceRunOptions::default()
        };
        let err = select_source_runs(
            &course,
            std::slice::from_ref(&plain),
            CourseVariants::default(),
            strict,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "No source run found for course-v1:UAI_SOURCE+18.01x."
        );
        // Non-strict: the newest non-contract run is used instead.
        let mut contract_run = run(30, 5, "course-v1:UAI_ACME+18.01x+1T42C2025_en", "1T42C2025");
        contract_run.b2b_contract = Some(ContractId(42));
        let runs = [plain.clone(), contract_run];
        let found = select_source_runs(
            &course,
            &runs,
            CourseVariants::default(),
            SourceRunOptions::default(),
        )
        .unwrap();
        assert_eq!(
            found.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![CourseRunId(20)]
        );
        assert_eq!(
            select_source_runs(
                &course,
                &[],
                CourseVariants::default(),
                SourceRunOptions::default()
            ),
            Err(ContractRunError::NoRunsAvailable(
                "course-v1:UAI_SOURCE+18.01x".into()
            ))
        );
    }

    #[test]
    fn source_runs_follow_variant_sets() {
        let course = course();
        let en = source();
        let mut fr = source();
        fr.id = CourseRunId(12);
        fr.language = "fr".into();
        fr.is_primary_language = false;
        fr.courseware_id = CoursewareId::parse("course-v1:UAI_SOURCE+18.01x+SOURCE_fr").unwrap();
        let mut de = fr.clone();
        de.id = CourseRunId(13);
        de.language = "de".into();
        let runs = [en.clone(), fr.clone(), de.clone()];
        let ids = |found: Vec<&CourseRun>| found.iter().map(|r| r.id.0).collect::<Vec<_>>();
        // No default variant: only default-language runs.
        let found = select_source_runs(
            &course,
            &runs,
            CourseVariants::default(),
            SourceRunOptions::default(),
        )
        .unwrap();
        assert_eq!(ids(found), vec![10]);
        let sets = [
            RunVariant::of(&en),
            RunVariant::of(&fr),
            RunVariant::of(&de),
        ];
        let variants = CourseVariants {
            active: &sets,
            default: Some(&sets[0]),
        };
        let all =
            select_source_runs(&course, &runs, variants, SourceRunOptions::default()).unwrap();
        assert_eq!(ids(all), vec![10, 12, 13]);
        let only_fr = SourceRunOptions {
            only_lang: Some("fr"),
            ..SourceRunOptions::default()
        };
        assert_eq!(
            ids(select_source_runs(&course, &runs, variants, only_fr).unwrap()),
            vec![10, 12]
        );
        let requested = [sets[2].clone()];
        let narrowed = SourceRunOptions {
            requested_variants: Some(&requested),
            ..SourceRunOptions::default()
        };
        assert_eq!(
            ids(select_source_runs(&course, &runs, variants, narrowed).unwrap()),
            vec![13]
        );
        let ignore = SourceRunOptions {
            ignore_langs: true,
            ..SourceRunOptions::default()
        };
        assert_eq!(
            ids(select_source_runs(&course, &runs, variants, ignore).unwrap()),
            vec![10]
        );
    }

    #[test]
    fn pricing_s27_no_reruns_skips_existing_variant() {
        let acme = org(1, "ACME", "ACME");
        let contract = k42();
        let course = course();
        let src = source();
        let mut existing_run = run(11, 5, "course-v1:UAI_ACME+18.01x+1T42C2025_en", "1T42C2025");
        existing_run.b2b_contract = Some(ContractId(42));
        let sources = [&src];
        let existing = [src.clone(), existing_run];
        let request = ContractRunRequest {
            organization: &acme,
            contract: &contract,
            course: &course,
            sources: &sources,
            existing: &existing,
            explicit_prefix: None,
            no_reruns: true,
            now: in_2025(),
        };
        let outcomes = plan_contract_runs(&request).unwrap();
        assert_eq!(outcomes.len(), 1);
        assert!(
            matches!(&outcomes[0], ContractRunOutcome::Skipped { source, .. } if *source == CourseRunId(10))
        );
        assert!(
            !outcomes
                .iter()
                .any(|o| matches!(o, ContractRunOutcome::Create(_)))
        );
    }

    #[test]
    fn open_dated_contract_uses_now_and_price() {
        let acme = org(1, "ACME", "ACME");
        let mut contract = k42();
        contract.contract_start = None;
        contract.contract_end = None;
        contract.enrollment_fixed_price = Some(Money::from_cents(4900));
        let course = course();
        let src = source();
        let mut no_lang = src.clone();
        no_lang.id = CourseRunId(14);
        no_lang.language = String::new();
        let sources = [&src, &no_lang];
        let request = ContractRunRequest {
            organization: &acme,
            contract: &contract,
            course: &course,
            sources: &sources,
            existing: &[],
            explicit_prefix: None,
            no_reruns: false,
            now: in_2025(),
        };
        let outcomes = plan_contract_runs(&request).unwrap();
        let plans: Vec<&ContractRunPlan> = outcomes
            .iter()
            .filter_map(|o| match o {
                ContractRunOutcome::Create(p) => Some(p.as_ref()),
                ContractRunOutcome::Skipped { .. } => None,
            })
            .collect();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].run.start_date, in_2025());
        assert_eq!(plans[0].run.end_date, None);
        assert_eq!(plans[0].product.price.to_price_string(), "49.00");
        assert_eq!(
            plans[1].run.courseware_id.as_str(),
            "course-v1:UAI_ACME+18.01x+1T42C2025"
        );
        assert_eq!(
            plans[1].product.description,
            "ACME #42 - Calculus course-v1:UAI_SOURCE+18.01x"
        );
    }
}
