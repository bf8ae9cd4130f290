//! Catalog import validation and requirement checks; retiring a run ([`retire`]).
//!
//! A catalog document is validated whole before anything is written: every problem is
//! reported with the record's path (`courses[3].runs[1] (course-v1:...)`) and the reason,
//! and a document with any problem is refused (the store is never called).

pub mod retire;

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use mitx_core::catalog::{
    CourseRun, CoursewareId, EnrollmentMode, PrimaryLanguageConflict, ReadableId, VariantIndustry,
    VariantLength, primary_language_conflicts,
};
use mitx_core::ids::{CourseId, CourseRunId};
use mitx_core::money::Money;
use mitx_core::pricing::{DiscountCode, DiscountDraft, DiscountType, PaymentType, RedemptionType};
use mitx_store::StoreError;
use mitx_store::catalog::{
    CatalogData, ImportSummary, PageRecord, ProgramRecord, RequirementRecord,
};

use crate::Services;
use crate::error::{Fault, store_fault};

/// One problem in a catalog document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CatalogProblem {
    /// Where: `courses[3].runs[1] (course-v1:MITx+6.002x+1T2026)`.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for CatalogProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Keys already in the database that a document may refer to.
#[derive(Clone, Debug, Default)]
pub struct KnownKeys {
    /// Department names.
    pub departments: HashSet<String>,
    /// Course readable ids.
    pub courses: HashSet<String>,
    /// Program readable ids.
    pub programs: HashSet<String>,
    /// Run courseware ids and program readable ids that have a product.
    pub products: HashSet<String>,
}

struct Checker {
    problems: Vec<CatalogProblem>,
    now: DateTime<Utc>,
}

impl Checker {
    fn fail(&mut self, path: &str, reason: impl Into<String>) {
        self.problems.push(CatalogProblem {
            path: path.to_owned(),
            reason: reason.into(),
        });
    }
}

fn at(base: &str, index: usize, key: &str) -> String {
    if key.is_empty() {
        format!("{base}[{index}]")
    } else {
        format!("{base}[{index}] ({key})")
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document has bad records (every one is listed).
    #[error("the catalog was rejected: {} bad record(s); nothing was written", .0.len())]
    Rejected(Vec<CatalogProblem>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            ImportError::Rejected(_) => Fault::Caller,
            ImportError::Store(err) => store_fault(err),
        }
    }
}

/// The keys the database holds, for [`validate_catalog`].
pub async fn known_keys(store: &mitx_store::Store) -> Result<KnownKeys, StoreError> {
    let keys = store.catalog_keys().await?;
    Ok(KnownKeys {
        departments: keys.departments.into_iter().collect(),
        courses: keys.courses.into_iter().collect(),
        programs: keys.programs.into_iter().collect(),
        products: keys.products.into_iter().collect(),
    })
}

/// Validates the whole document and writes it in one unit of work (everything or nothing);
/// with `dry_run` the unit of work is rolled back and the summary says what would change.
pub async fn import(
    services: &Services,
    data: &CatalogData,
    dry_run: bool,
) -> Result<ImportSummary, ImportError> {
    import_with_progress(services, data, dry_run, &mut |_| {}).await
}

/// A step of an import, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportStage {
    /// Checking every record against the file and the database.
    Validating,
    /// Writing the records in the unit of work.
    Writing,
    /// Committing (or, on a dry run, rolling back).
    Finishing,
}

impl ImportStage {
    /// The step in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            ImportStage::Validating => "validating the catalog",
            ImportStage::Writing => "writing the catalog",
            ImportStage::Finishing => "committing",
        }
    }
}

/// [`import`], telling `stage` when each step starts.
pub async fn import_with_progress(
    services: &Services,
    data: &CatalogData,
    dry_run: bool,
    stage: &mut dyn FnMut(ImportStage),
) -> Result<ImportSummary, ImportError> {
    let now = services.now();
    stage(ImportStage::Validating);
    let known = known_keys(services.store()).await?;
    validate_catalog(data, &known, now).map_err(ImportError::Rejected)?;
    stage(ImportStage::Writing);
    let mut tx = services.db().begin().await?;
    let summary = tx.import_catalog(data, now).await?;
    // The primary-language rule spans runs of the file and runs already stored (and their
    // B2B contracts, which the file does not carry), so it is checked on the state the unit
    // of work sees after the writes; a conflict rolls everything back. On PostgreSQL a
    // concurrent import that wrote runs holds the catalog revision row (bumped by trigger)
    // until it commits, so this read sees its runs.
    let courses: Vec<String> = data.courses.iter().map(|c| c.readable_id.clone()).collect();
    let facts = tx.primary_language_facts(&courses).await?;
    let problems = primary_language_problems(data, &primary_language_conflicts(&facts));
    if !problems.is_empty() {
        tx.rollback().await?;
        return Err(ImportError::Rejected(problems));
    }
    stage(ImportStage::Finishing);
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(summary)
}

/// The conflicts of the primary-language rule as catalog problems: the path of the course
/// in the file, the runs named (runs of the course that are stored but not in the file are
/// marked as such).
fn primary_language_problems(
    data: &CatalogData,
    conflicts: &[PrimaryLanguageConflict],
) -> Vec<CatalogProblem> {
    conflicts
        .iter()
        .map(|conflict| {
            let index = data
                .courses
                .iter()
                .position(|c| c.readable_id == conflict.course);
            let path = match index {
                Some(i) => at("courses", i, &conflict.course),
                None => format!("courses ({})", conflict.course),
            };
            let in_file: HashSet<&str> = index
                .map(|i| {
                    data.courses[i]
                        .runs
                        .iter()
                        .map(|r| r.courseware_id.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let stored: Vec<&str> = conflict
                .runs
                .iter()
                .map(String::as_str)
                .filter(|id| !in_file.contains(id))
                .collect();
            let mut reason = conflict.to_string();
            if !stored.is_empty() {
                reason.push_str(&format!(
                    " (already stored, not in this file: {})",
                    stored.join(", ")
                ));
            }
            CatalogProblem { path, reason }
        })
        .collect()
}

/// Validates a whole document. `known` lists what the database already holds; `now`
/// is used for discount date rules (an expiration must not be in the past).
pub fn validate_catalog(
    data: &CatalogData,
    known: &KnownKeys,
    now: DateTime<Utc>,
) -> Result<(), Vec<CatalogProblem>> {
    let mut c = Checker {
        problems: Vec::new(),
        now,
    };
    if data.version != 1 {
        c.fail(
            "version",
            format!("unsupported version {} (expected 1)", data.version),
        );
    }
    let mut departments: HashSet<String> = known.departments.clone();
    let mut seen = HashSet::new();
    for (i, d) in data.departments.iter().enumerate() {
        let path = at("departments", i, &d.name);
        if d.name.trim().is_empty() || d.name.chars().count() > 128 {
            c.fail(&path, "name must be 1 to 128 characters");
        }
        if d.slug
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.chars().count() > 128)
        {
            c.fail(&path, "slug must be 1 to 128 characters");
        }
        if !seen.insert(d.name.clone()) {
            c.fail(&path, "department listed twice");
        }
        departments.insert(d.name.clone());
    }

    // Keys defined by this document, for references.
    let courses: HashSet<String> = known
        .courses
        .iter()
        .cloned()
        .chain(data.courses.iter().map(|x| x.readable_id.clone()))
        .collect();
    let programs: HashSet<String> = known
        .programs
        .iter()
        .cloned()
        .chain(data.programs.iter().map(|x| x.readable_id.clone()))
        .collect();
    let mut products: HashSet<String> = known.products.clone();

    let mut course_ids = HashSet::new();
    let mut run_ids = HashSet::new();
    for (i, course) in data.courses.iter().enumerate() {
        let path = at("courses", i, &course.readable_id);
        if let Err(e) = ReadableId::parse(&course.readable_id) {
            c.fail(&path, e.to_string());
        } else if course.readable_id.starts_with("program-") {
            c.fail(&path, "a course readable id must not start with 'program-'");
        }
        if !course_ids.insert(course.readable_id.clone()) {
            c.fail(&path, "course listed twice");
        }
        check_title(&mut c, &path, &course.title);
        for name in &course.departments {
            if !departments.contains(name) {
                c.fail(&path, format!("unknown department '{name}'"));
            }
        }
        for country in &course.blocked_countries {
            if mitx_core::users::countries::country(country).is_none() {
                c.fail(
                    &path,
                    format!("'{country}' is not an ISO 3166-1 alpha-2 country code"),
                );
            }
        }
        if let Some(page) = &course.page {
            check_page(&mut c, &format!("{path}.page"), page);
        }
        for (j, run) in course.runs.iter().enumerate() {
            let run_path = format!("{path}.runs[{j}] ({})", run.courseware_id);
            check_run(&mut c, &run_path, run, &mut run_ids);
            if run.price.is_some() {
                products.insert(run.courseware_id.clone());
            }
        }
    }

    let mut program_ids = HashSet::new();
    for (i, program) in data.programs.iter().enumerate() {
        let path = at("programs", i, &program.readable_id);
        check_program(
            &mut c,
            &path,
            program,
            &departments,
            &courses,
            &programs,
            &mut program_ids,
        );
        if program.price.is_some() {
            products.insert(program.readable_id.clone());
        }
    }
    check_program_cycles(&mut c, &data.programs);

    let fp = &data.flexible_pricing;
    let mut currencies = HashSet::new();
    for (i, rate) in fp.exchange_rates.iter().enumerate() {
        let path = at("flexible_pricing.exchange_rates", i, &rate.currency_code);
        if rate.currency_code.len() != 3
            || !rate.currency_code.chars().all(|ch| ch.is_ascii_uppercase())
        {
            c.fail(
                &path,
                "currency_code must be three upper-case letters (ISO 4217)",
            );
        }
        if !(rate.rate.is_finite() && rate.rate > 0.0) {
            c.fail(
                &path,
                "rate must be a positive number (units of the currency per 1 USD)",
            );
        }
        if !currencies.insert(rate.currency_code.clone()) {
            c.fail(&path, "currency listed twice");
        }
    }
    let mut countries = HashSet::new();
    for (i, t) in fp.income_thresholds.iter().enumerate() {
        let path = at("flexible_pricing.income_thresholds", i, &t.country_code);
        if mitx_core::users::countries::country(&t.country_code).is_none() {
            c.fail(
                &path,
                format!(
                    "'{}' is not an ISO 3166-1 alpha-2 country code",
                    t.country_code
                ),
            );
        }
        if t.income_threshold < 0 {
            c.fail(&path, "income_threshold must be zero or more");
        }
        if !countries.insert(t.country_code.clone()) {
            c.fail(&path, "country listed twice");
        }
    }
    let mut codes: HashMap<String, String> = HashMap::new();
    let mut tier_keys = HashSet::new();
    for (i, tier) in fp.tiers.iter().enumerate() {
        let path = at("flexible_pricing.tiers", i, &tier.code);
        if !courses.contains(&tier.courseware) && !programs.contains(&tier.courseware) {
            c.fail(
                &path,
                format!("unknown course or program '{}'", tier.courseware),
            );
        }
        if !(tier.threshold.is_finite() && tier.threshold >= 0.0) {
            c.fail(&path, "threshold must be zero or more");
        }
        if !tier_keys.insert((tier.courseware.clone(), tier.threshold.to_bits())) {
            c.fail(&path, "two tiers with the same courseware and threshold");
        }
        check_discount_fields(
            &mut c,
            &path,
            &tier.code,
            &tier.discount_type,
            &tier.amount,
            "unlimited",
            Some("financial-assistance"),
            None,
            None,
        );
        if let Some(previous) = codes.insert(tier.code.clone(), path.clone()) {
            c.fail(&path, format!("code already used by {previous}"));
        }
    }
    for (i, d) in data.discounts.iter().enumerate() {
        let path = at("discounts", i, &d.code);
        check_discount_fields(
            &mut c,
            &path,
            &d.code,
            &d.discount_type,
            &d.amount,
            &d.redemption_type,
            d.payment_type.as_deref(),
            d.activation_date,
            d.expiration_date,
        );
        if let Some(previous) = codes.insert(d.code.clone(), path.clone()) {
            c.fail(&path, format!("code already used by {previous}"));
        }
        for key in &d.products {
            if !products.contains(key) {
                c.fail(
                    &path,
                    format!("'{key}' has no product (give the run or program a price)"),
                );
            }
        }
    }
    if c.problems.is_empty() {
        Ok(())
    } else {
        Err(c.problems)
    }
}

fn check_title(c: &mut Checker, path: &str, title: &str) {
    if title.trim().is_empty() || title.chars().count() > 255 {
        c.fail(path, "title must be 1 to 255 characters");
    }
}

fn check_modes(c: &mut Checker, path: &str, modes: &[String]) -> Vec<EnrollmentMode> {
    let mut out = Vec::new();
    for m in modes {
        match EnrollmentMode::parse(m) {
            Some(mode) => out.push(mode),
            None => c.fail(
                path,
                format!("unknown mode '{m}' (expected audit or verified)"),
            ),
        }
    }
    out
}

fn check_price(c: &mut Checker, path: &str, price: Option<&str>) {
    if let Some(p) = price
        && let Err(e) = Money::parse_price(p)
    {
        c.fail(path, format!("bad price '{p}': {e}"));
    }
}

fn check_page(c: &mut Checker, path: &str, page: &PageRecord) {
    for (name, value) in [
        ("min_weeks", page.min_weeks),
        ("max_weeks", page.max_weeks),
        ("min_weekly_hours", page.min_weekly_hours),
        ("max_weekly_hours", page.max_weekly_hours),
    ] {
        if value.is_some_and(|v| v < 0) {
            c.fail(path, format!("{name} must be zero or more"));
        }
    }
    if let (Some(min), Some(max)) = (page.min_weeks, page.max_weeks)
        && min > max
    {
        c.fail(path, "min_weeks is above max_weeks");
    }
    if let (Some(min), Some(max)) = (page.min_weekly_hours, page.max_weekly_hours)
        && min > max
    {
        c.fail(path, "min_weekly_hours is above max_weekly_hours");
    }
}

fn check_run(
    c: &mut Checker,
    path: &str,
    run: &mitx_store::catalog::RunRecord,
    seen: &mut HashSet<String>,
) {
    let courseware_id = match CoursewareId::parse(&run.courseware_id) {
        Ok(id) => Some(id),
        Err(e) => {
            c.fail(path, e.to_string());
            None
        }
    };
    if !seen.insert(run.courseware_id.clone()) {
        c.fail(path, "run listed twice");
    }
    if run.run_tag.trim().is_empty() || run.run_tag.chars().count() > 100 {
        c.fail(path, "run_tag must be 1 to 100 characters");
    }
    if run.title.as_ref().is_some_and(|t| t.chars().count() > 255) {
        c.fail(path, "title must be at most 255 characters");
    }
    if run.language.chars().count() > 8 {
        c.fail(path, "language must be at most 8 characters");
    }
    let modes = check_modes(c, path, &run.modes);
    check_price(c, path, run.price.as_deref());
    if let Some(courseware_id) = courseware_id {
        let core_run = CourseRun {
            id: CourseRunId(0),
            course_id: CourseId(0),
            title: run.title.clone().unwrap_or_default(),
            courseware_id,
            run_tag: run.run_tag.clone(),
            start_date: run.start_date,
            end_date: run.end_date,
            enrollment_start: run.enrollment_start,
            enrollment_end: run.enrollment_end,
            certificate_available_date: run.certificate_available_date,
            upgrade_deadline: run.upgrade_deadline,
            expiration_date: run.expiration_date,
            live: run.live,
            is_self_paced: run.is_self_paced,
            enrollment_modes: modes,
            b2b_contract: None,
            is_source_run: run.is_source_run,
            is_primary_language: run.is_primary_language,
            language: run.language.clone(),
            has_courseware_url: true,
            variant_length: VariantLength::Full,
            variant_industry: VariantIndustry::General,
        };
        if let Err(e) = core_run.validate() {
            c.fail(path, e.to_string());
        }
    }
}

fn check_program(
    c: &mut Checker,
    path: &str,
    program: &ProgramRecord,
    departments: &HashSet<String>,
    courses: &HashSet<String>,
    programs: &HashSet<String>,
    seen: &mut HashSet<String>,
) {
    if let Err(e) = ReadableId::parse(&program.readable_id) {
        c.fail(path, e.to_string());
    }
    if !seen.insert(program.readable_id.clone()) {
        c.fail(path, "program listed twice");
    }
    check_title(c, path, &program.title);
    if !matches!(program.availability.as_str(), "anytime" | "dated") {
        c.fail(
            path,
            format!(
                "availability must be anytime or dated, not '{}'",
                program.availability
            ),
        );
    }
    if program
        .display_mode
        .as_deref()
        .is_some_and(|m| m != "course")
    {
        c.fail(path, "display_mode must be null or \"course\"");
    }
    check_modes(c, path, &program.modes);
    check_price(c, path, program.price.as_deref());
    for name in &program.departments {
        if !departments.contains(name) {
            c.fail(path, format!("unknown department '{name}'"));
        }
    }
    if let Some(page) = &program.page {
        check_page(c, &format!("{path}.page"), page);
    }
    fn walk(
        c: &mut Checker,
        path: &str,
        own: &str,
        nodes: &[RequirementRecord],
        courses: &HashSet<String>,
        programs: &HashSet<String>,
    ) {
        for (i, node) in nodes.iter().enumerate() {
            let node_path = format!("{path}[{i}]");
            match node {
                RequirementRecord::Course { course } => {
                    if !courses.contains(course) {
                        c.fail(
                            &node_path,
                            format!("requirement names unknown course '{course}'"),
                        );
                    }
                }
                RequirementRecord::Program { program } => {
                    if program == own {
                        c.fail(&node_path, "a program cannot require itself");
                    } else if !programs.contains(program) {
                        c.fail(
                            &node_path,
                            format!("requirement names unknown program '{program}'"),
                        );
                    }
                }
                RequirementRecord::Operator {
                    operator,
                    value,
                    children,
                    ..
                } => {
                    match (operator.as_str(), value) {
                        ("all_of", None) => {}
                        ("all_of", Some(_)) => c.fail(&node_path, "all_of takes no value"),
                        ("min_number_of", Some(n)) => {
                            if (*n as usize) > children.len() {
                                c.fail(
                                    &node_path,
                                    format!(
                                        "min_number_of {n} but only {} choices",
                                        children.len()
                                    ),
                                );
                            }
                        }
                        ("min_number_of", None) => {
                            c.fail(&node_path, "min_number_of needs a value")
                        }
                        (other, _) => c.fail(
                            &node_path,
                            format!(
                                "unknown operator '{other}' (expected all_of or min_number_of)"
                            ),
                        ),
                    }
                    walk(
                        c,
                        &format!("{node_path}.children"),
                        own,
                        children,
                        courses,
                        programs,
                    );
                }
            }
        }
    }
    walk(
        c,
        &format!("{path}.requirements"),
        &program.readable_id,
        &program.requirements,
        courses,
        programs,
    );
}

fn program_refs(nodes: &[RequirementRecord], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            RequirementRecord::Program { program } => {
                out.insert(program.clone());
            }
            RequirementRecord::Operator { children, .. } => program_refs(children, out),
            RequirementRecord::Course { .. } => {}
        }
    }
}

fn check_program_cycles(c: &mut Checker, programs: &[ProgramRecord]) {
    let edges: HashMap<&str, BTreeSet<String>> = programs
        .iter()
        .map(|p| {
            let mut refs = BTreeSet::new();
            program_refs(&p.requirements, &mut refs);
            (p.readable_id.as_str(), refs)
        })
        .collect();
    for (i, p) in programs.iter().enumerate() {
        // Depth-first search from p; reaching p again is a cycle.
        let mut stack: Vec<String> = edges
            .get(p.readable_id.as_str())
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let mut visited = HashSet::new();
        while let Some(next) = stack.pop() {
            if next == p.readable_id {
                c.fail(
                    &at("programs", i, &p.readable_id),
                    "requirement trees refer to each other in a cycle",
                );
                break;
            }
            if visited.insert(next.clone())
                && let Some(refs) = edges.get(next.as_str())
            {
                stack.extend(refs.iter().cloned());
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_discount_fields(
    c: &mut Checker,
    path: &str,
    code: &str,
    discount_type: &str,
    amount: &str,
    redemption_type: &str,
    payment_type: Option<&str>,
    activation: Option<DateTime<Utc>>,
    expiration: Option<DateTime<Utc>>,
) {
    let code = match DiscountCode::parse(code) {
        Ok(code) => Some(code),
        Err(e) => {
            c.fail(path, e.to_string());
            None
        }
    };
    let kind = DiscountType::parse(discount_type);
    if kind.is_none() {
        c.fail(path, format!("Discount type {discount_type} is not valid."));
    }
    let redemption = RedemptionType::parse(redemption_type);
    if redemption.is_none() {
        c.fail(path, format!("unknown redemption type '{redemption_type}'"));
    }
    let payment = match payment_type {
        None => None,
        Some(p) => match PaymentType::parse(p) {
            Some(p) => Some(p),
            None => {
                c.fail(path, format!("Payment type {p} is not valid."));
                None
            }
        },
    };
    let value = match Money::parse_amount(amount) {
        Ok(m) => Some(m.amount()),
        Err(e) => {
            c.fail(path, format!("bad amount '{amount}': {e}"));
            None
        }
    };
    if let (Some(code), Some(kind), Some(redemption), Some(value)) = (code, kind, redemption, value)
    {
        let draft = DiscountDraft {
            redemption_type: redemption,
            payment_type: payment,
            activation_date: activation,
            expiration_date: expiration,
            ..DiscountDraft::new(code, kind, value)
        };
        if let Err(e) = draft.check_for_save(c.now) {
            c.fail(path, e.to_string());
        }
    }
}

/// One finding of `check-requirements`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RequirementFinding {
    /// The program (or course, for orphans).
    pub subject: String,
    /// What is wrong.
    pub problem: String,
}

/// Checks requirement trees the way `check_program_requirements` does: programs without
/// requirements, groups that cannot be satisfied, references to courses that are not live,
/// and (when no program is named) live courses that belong to no program.
pub fn check_requirements(data: &CatalogData, only: Option<&str>) -> Vec<RequirementFinding> {
    let live: HashSet<&str> = data
        .courses
        .iter()
        .filter(|c| c.live)
        .map(|c| c.readable_id.as_str())
        .collect();
    let mut in_programs: HashSet<String> = HashSet::new();
    let mut findings = Vec::new();
    for program in &data.programs {
        let mut refs = BTreeSet::new();
        collect_courses(&program.requirements, &mut refs);
        in_programs.extend(refs.iter().cloned());
        if only.is_some_and(|p| p != program.readable_id) {
            continue;
        }
        let subject = program.readable_id.clone();
        if program.requirements.is_empty() {
            findings.push(RequirementFinding {
                subject: subject.clone(),
                problem: "has no requirements tree".into(),
            });
        }
        for course in refs.iter().filter(|c| !live.contains(c.as_str())) {
            findings.push(RequirementFinding {
                subject: subject.clone(),
                problem: format!("requires course {course}, which is not live"),
            });
        }
        unsatisfiable(&program.requirements, &subject, &mut findings);
    }
    if only.is_none() {
        for course in data
            .courses
            .iter()
            .filter(|c| c.live && !in_programs.contains(&c.readable_id))
        {
            findings.push(RequirementFinding {
                subject: course.readable_id.clone(),
                problem: "live course in no program".into(),
            });
        }
    }
    findings
}

fn collect_courses(nodes: &[RequirementRecord], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            RequirementRecord::Course { course } => {
                out.insert(course.clone());
            }
            RequirementRecord::Operator { children, .. } => collect_courses(children, out),
            RequirementRecord::Program { .. } => {}
        }
    }
}

fn unsatisfiable(
    nodes: &[RequirementRecord],
    subject: &str,
    findings: &mut Vec<RequirementFinding>,
) {
    for node in nodes {
        if let RequirementRecord::Operator {
            operator,
            value,
            title,
            children,
            ..
        } = node
        {
            if operator == "min_number_of" && value.is_some_and(|n| n as usize > children.len()) {
                findings.push(RequirementFinding {
                    subject: subject.to_owned(),
                    problem: format!(
                        "group '{title}' needs {} of only {} choices",
                        value.unwrap_or(0),
                        children.len()
                    ),
                });
            }
            if children.is_empty() && operator == "all_of" {
                findings.push(RequirementFinding {
                    subject: subject.to_owned(),
                    problem: format!("group '{title}' is empty"),
                });
            }
            unsatisfiable(children, subject, findings);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> CatalogData {
        serde_json::from_str(include_str!("../../fixtures/test/small.json"))
            .expect("small.json parses")
    }

    fn now() -> DateTime<Utc> {
        "2026-11-25T12:00:00Z".parse().expect("time")
    }

    #[test]
    fn the_demo_and_small_files_are_valid() {
        let demo: CatalogData =
            serde_json::from_str(include_str!("../../fixtures/demo/catalog.json"))
                .expect("demo parses");
        assert_eq!(
            validate_catalog(&demo, &KnownKeys::default(), now()),
            Ok(())
        );
        assert_eq!(
            validate_catalog(&small(), &KnownKeys::default(), now()),
            Ok(())
        );
        assert_eq!(demo.courses.len(), 20);
    }

    #[test]
    fn bad_files_name_the_record_and_the_reason() {
        let cases = [
            (
                include_str!("../../fixtures/test/bad-run-dates.json"),
                "runs[",
                "End date must be later than start date.",
            ),
            (
                include_str!("../../fixtures/test/bad-requirement.json"),
                "requirements",
                "unknown course",
            ),
            (
                include_str!("../../fixtures/test/bad-price.json"),
                "runs[",
                "bad price '12.345'",
            ),
        ];
        for (text, path, reason) in cases {
            let data: CatalogData = serde_json::from_str(text).expect("parses");
            let problems =
                validate_catalog(&data, &KnownKeys::default(), now()).expect_err("refused");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].path.contains(path), "{}", problems[0]);
            assert!(problems[0].reason.contains(reason), "{}", problems[0]);
        }
    }

    #[test]
    fn references_may_point_at_stored_records() {
        let mut data = small();
        data.departments.clear();
        let problems =
            validate_catalog(&data, &KnownKeys::default(), now()).expect_err("unknown department");
        assert!(
            problems
                .iter()
                .all(|p| p.reason.starts_with("unknown department")),
            "{problems:?}"
        );
        let mut known = KnownKeys::default();
        known.departments.insert("Physics".into());
        assert_eq!(validate_catalog(&data, &known, now()), Ok(()));
    }

    #[test]
    fn duplicates_cycles_and_bad_groups_are_refused() {
        let mut data = small();
        let course = data.courses[0].clone();
        data.courses.push(course);
        let mut program = data.programs[0].clone();
        program.readable_id = "program-v1:MITxT+B".into();
        program.requirements = vec![RequirementRecord::Program {
            program: data.programs[0].readable_id.clone(),
        }];
        data.programs[0]
            .requirements
            .push(RequirementRecord::Program {
                program: "program-v1:MITxT+B".into(),
            });
        data.programs.push(program);
        data.programs[0]
            .requirements
            .push(RequirementRecord::Operator {
                operator: "min_number_of".into(),
                value: Some(3),
                title: "x".into(),
                elective: true,
                children: vec![],
            });
        let problems = validate_catalog(&data, &KnownKeys::default(), now()).expect_err("refused");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.contains("course listed twice")),
            "{text:?}"
        );
        assert!(text.iter().any(|p| p.contains("cycle")), "{text:?}");
        assert!(
            text.iter()
                .any(|p| p.contains("min_number_of 3 but only 0 choices")),
            "{text:?}"
        );
    }

    #[test]
    fn requirement_check_reports_problems() {
        let mut data = small();
        data.courses[0].live = false;
        data.programs[0].requirements.clear();
        let findings = check_requirements(&data, None);
        assert!(
            findings
                .iter()
                .any(|f| f.problem == "has no requirements tree"),
            "{findings:?}"
        );
    }
}
