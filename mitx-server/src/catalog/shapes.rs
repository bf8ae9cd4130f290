//! The catalog's JSON shapes (courses spec 5.2 and 5.4, OpenAPI `CourseWithCourseRunsSerializerV2`,
//! `CourseRunV2`, `CoursePage`, `BaseProgram`, `BaseProduct`, `SupportedVariant`).

use chrono::{DateTime, Utc};
use mitx_core::catalog::{CourseRun, canonical_runs_per_tag, first_unexpired_run};
use mitx_services::store::catalog_api::{
    CatalogCourse, CatalogPage, CatalogProduct, CatalogProgram, CatalogRun, ProgramRef,
    RequirementRow,
};
use serde::Serialize;
use serde_json::Value;

/// Everything a shape needs besides the data: the clock and the courseware base URL.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// The request's "now".
    pub now: DateTime<Utc>,
    /// `OPENEDX_COURSE_BASE_URL`.
    pub openedx_base: &'a str,
    /// `scheme://host` of this site, for page URLs.
    pub site_base: &'a str,
    /// The `org_id` / `contract_id` context of a v2 course, if any.
    pub b2b: Option<&'a B2bView>,
}

impl<'a> Ctx<'a> {
    /// The context of one request.
    pub fn new(state: &'a crate::AppState, site_base: &'a str, now: DateTime<Utc>) -> Self {
        Ctx {
            now,
            openedx_base: &state.openedx_course_base_url,
            site_base,
            b2b: None,
        }
    }

    /// The same context under an `org_id` / `contract_id` view.
    pub fn with_b2b(self, view: &'a B2bView) -> Self {
        Ctx {
            b2b: Some(view),
            ..self
        }
    }

    /// Whether a v2 course lists `run`: non-B2B runs, or under a B2B view the runs of its
    /// contracts only.
    fn shows_run(&self, run: &CourseRun) -> bool {
        match self.b2b {
            None => !run.is_b2b(),
            Some(view) => run
                .b2b_contract
                .is_some_and(|c| view.run_contracts.contains(&c)),
        }
    }

    /// Whether a v2 course lists `program`: non-B2B-only programs, or under a B2B view
    /// the programs of its contracts only.
    fn shows_program(&self, program: &ProgramRef) -> bool {
        match self.b2b {
            None => !program.b2b_only,
            Some(view) => view.programs.contains(&program.id),
        }
    }
}

/// The `org_id` / `contract_id` view of v2 courses (courses spec 5.4), for a caller with
/// access: `courseruns` lists the runs of `run_contracts` instead of the non-B2B runs,
/// `next_run_id` is chosen among the runs of `user_contracts`, and `programs` lists the
/// course's programs linked to those contracts (`contract_programs`), B2B-only included.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct B2bView {
    /// Contracts whose runs are listed.
    pub run_contracts: Vec<mitx_core::ids::ContractId>,
    /// The caller's contracts in that context.
    pub user_contracts: Vec<mitx_core::ids::ContractId>,
    /// Programs of those contracts.
    pub programs: Vec<i64>,
}

/// `{name}`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Named {
    /// Name.
    pub name: String,
}

/// An enrollment mode.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Mode {
    /// `audit` / `verified`.
    pub mode_slug: &'static str,
    /// Display name (the slug).
    pub mode_display_name: &'static str,
    /// Paid mode.
    pub requires_payment: bool,
}

/// `BaseProduct`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Product {
    /// Id.
    pub id: i64,
    /// Decimal price text (`"1000.00"`).
    pub price: String,
    /// Description.
    pub description: String,
    /// Active.
    pub is_active: bool,
}

impl From<&CatalogProduct> for Product {
    fn from(p: &CatalogProduct) -> Self {
        Product {
            id: p.id,
            price: p.price.to_price_string(),
            description: p.description.clone(),
            is_active: p.is_active,
        }
    }
}

/// `CourseRunV2`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RunV2 {
    /// Title.
    pub title: String,
    /// Start.
    pub start_date: Option<DateTime<Utc>>,
    /// End.
    pub end_date: Option<DateTime<Utc>>,
    /// Enrollment opens.
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Enrollment closes.
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Expiration.
    pub expiration_date: Option<DateTime<Utc>>,
    /// Courseware URL.
    pub courseware_url: Option<String>,
    /// Open edX key.
    pub courseware_id: String,
    /// Certificates available.
    pub certificate_available_date: Option<DateTime<Utc>>,
    /// Upgrade deadline.
    pub upgrade_deadline: Option<DateTime<Utc>>,
    /// Upgradable now.
    pub is_upgradable: bool,
    /// Enrollable now.
    pub is_enrollable: bool,
    /// Archived now.
    pub is_archived: bool,
    /// Self-paced.
    pub is_self_paced: bool,
    /// Run tag.
    pub run_tag: String,
    /// Id.
    pub id: i64,
    /// Live.
    pub live: bool,
    /// Last `+` segment of the courseware id.
    pub course_number: String,
    /// Offered modes.
    pub enrollment_modes: Vec<Mode>,
    /// Language code.
    pub language: String,
    /// Primary run of its tag.
    pub is_primary_language: bool,
    /// Language display name.
    pub language_label: String,
    /// Industry variant code.
    pub variant_industry: &'static str,
    /// Length variant code.
    pub variant_length: &'static str,
    /// Course id.
    pub course_id: i64,
    /// Products.
    pub products: Vec<Product>,
    /// Always false for anonymous catalog reads.
    pub approved_flexible_price_exists: bool,
    /// B2B contract id.
    pub b2b_contract: Option<i64>,
}

impl RunV2 {
    /// The run as the v2 catalog shows it.
    pub fn new(run: &CatalogRun, ctx: Ctx<'_>) -> RunV2 {
        let r = &run.run;
        RunV2 {
            title: r.title.clone(),
            start_date: r.start_date,
            end_date: r.end_date,
            enrollment_start: r.enrollment_start,
            enrollment_end: r.enrollment_end,
            expiration_date: r.expiration_date,
            courseware_url: r.courseware_url(ctx.openedx_base),
            courseware_id: r.courseware_id.as_str().to_owned(),
            certificate_available_date: r.certificate_available_date,
            upgrade_deadline: r.upgrade_deadline,
            is_upgradable: r.is_upgradable(ctx.now, !run.products.is_empty()),
            is_enrollable: r.is_enrollable(ctx.now),
            is_archived: r.is_archived(ctx.now),
            is_self_paced: r.is_self_paced,
            run_tag: r.run_tag.clone(),
            id: r.id.0,
            live: r.live,
            course_number: r.course_number().to_owned(),
            enrollment_modes: r
                .enrollment_modes
                .iter()
                .map(|m| Mode {
                    mode_slug: m.slug(),
                    mode_display_name: m.slug(),
                    requires_payment: m.requires_payment(),
                })
                .collect(),
            language: r.language.clone(),
            is_primary_language: r.is_primary_language,
            language_label: language_label(&r.language),
            variant_industry: r.variant_industry.code(),
            variant_length: r.variant_length.code(),
            course_id: r.course_id.0,
            products: run.products.iter().map(Product::from).collect(),
            approved_flexible_price_exists: false,
            b2b_contract: r.b2b_contract.map(|c| c.0),
        }
    }
}

/// `CoursePage`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CoursePage {
    /// Feature image.
    pub feature_image_src: Option<String>,
    /// Marketing page URL.
    pub page_url: String,
    /// Description.
    pub description: String,
    /// Published.
    pub live: bool,
    /// Length text.
    pub length: String,
    /// Effort text.
    pub effort: Option<String>,
    /// Financial assistance form URL ("" when none, as the original answers although the
    /// reference schema declares `format: uri`).
    pub financial_assistance_form_url: String,
    /// Whole-dollar price of the next run's active product.
    pub current_price: Option<i64>,
    /// Instructors.
    pub instructors: Value,
}

/// `BaseProgram`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BaseProgram {
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// Id.
    pub id: i64,
    /// Always `program`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `course` or null.
    pub display_mode: Option<String>,
}

impl From<&ProgramRef> for BaseProgram {
    fn from(p: &ProgramRef) -> Self {
        BaseProgram {
            title: p.title.clone(),
            readable_id: p.readable_id.clone(),
            id: p.id,
            kind: "program",
            display_mode: p.display_mode.clone(),
        }
    }
}

/// `SupportedVariant`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SupportedVariant {
    /// Language.
    pub language: String,
    /// Length code.
    pub variant_length: String,
    /// Industry code.
    pub variant_industry: String,
    /// Active.
    pub active: bool,
    /// B2B only.
    pub b2b_only: bool,
    /// The default set.
    pub default_variant: bool,
}

/// `CourseWithCourseRunsSerializerV2`: the v2 course list item and detail.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct V2Course {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// `first_unexpired_run`.
    pub next_run_id: Option<i64>,
    /// Departments.
    pub departments: Vec<Named>,
    /// Page.
    pub page: Option<CoursePage>,
    /// Live programs with live pages containing the course (non-B2B).
    pub programs: Vec<BaseProgram>,
    /// Page topics, sorted.
    pub topics: Vec<Named>,
    /// Certificate type label.
    pub certificate_type: &'static str,
    /// Next run exists and some run offers verified.
    pub certificate_available: bool,
    /// The page lists prerequisites.
    pub required_prerequisites: bool,
    /// Page length text.
    pub duration: String,
    /// Page min weeks.
    pub min_weeks: Option<i64>,
    /// Page max weeks.
    pub max_weeks: Option<i64>,
    /// Lowest active product price of the listed runs.
    pub min_price: Option<f64>,
    /// Highest active product price of the listed runs.
    pub max_price: Option<f64>,
    /// Page effort text.
    pub time_commitment: Option<String>,
    /// `dated` or `anytime`.
    pub availability: &'static str,
    /// Page min weekly hours (text).
    pub min_weekly_hours: Option<String>,
    /// Page max weekly hours (text).
    pub max_weekly_hours: Option<String>,
    /// Page flag.
    pub include_in_learn_catalog: bool,
    /// Whether Learn ingests content files (true for courses with a page).
    pub ingest_content_files_for_ai: bool,
    /// Supported variant sets.
    pub possible_variant_sets: Vec<SupportedVariant>,
    /// Canonical usable non-B2B runs, one per run tag.
    pub courseruns: Vec<RunV2>,
}

/// Which runs a v2 course shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunSelection {
    /// Every usable non-B2B run.
    All,
    /// Only enrollable (`true`) or non-enrollable (`false`) runs.
    Enrollable(bool),
    /// Every stored run by id, unfiltered and not one per run tag (the internal ETL feed).
    Every,
}

impl V2Course {
    /// Builds the v2 shape of `course` at `ctx.now`.
    pub fn new(course: &CatalogCourse, selection: RunSelection, ctx: Ctx<'_>) -> V2Course {
        let now = ctx.now;
        let all_runs: Vec<CourseRun> = course.runs.iter().map(|r| r.run.clone()).collect();
        let next_run = first_unexpired_run(
            &all_runs,
            now,
            ctx.b2b.map(|view| view.user_contracts.as_slice()),
        );
        let usable: Vec<CourseRun> = all_runs
            .iter()
            .filter(|r| r.is_usable() && ctx.shows_run(r))
            .filter(|r| match selection {
                RunSelection::All | RunSelection::Every => true,
                RunSelection::Enrollable(want) => r.is_enrollable(now) == want,
            })
            .cloned()
            .collect();
        let courseruns: Vec<RunV2> = if selection == RunSelection::Every {
            course.runs.iter().map(|r| RunV2::new(r, ctx)).collect()
        } else {
            canonical_runs_per_tag(&usable)
                .into_iter()
                .filter_map(|chosen| course.runs.iter().find(|r| r.run.id == chosen.id))
                .map(|r| RunV2::new(r, ctx))
                .collect()
        };
        let page = course.page.as_ref();
        let prices: Vec<f64> = course
            .runs
            .iter()
            .filter(|r| r.run.is_usable() && !r.run.is_b2b())
            .flat_map(|r| r.products.iter().filter(|p| p.is_active))
            .filter_map(|p| p.price.to_price_string().parse::<f64>().ok())
            .collect();
        let current_price = next_run
            .and_then(|run| course.runs.iter().find(|r| r.run.id == run.id))
            .and_then(|r| r.products.iter().find(|p| p.is_active))
            .and_then(|p| p.price.to_price_string().parse::<f64>().ok())
            .map(|p| p.trunc() as i64);
        let mut topics: Vec<String> = page.map(|p| p.topics.clone()).unwrap_or_default();
        topics.sort();
        topics.dedup();
        let micromasters = course.programs.iter().any(|p| {
            p.program_type
                .as_deref()
                .is_some_and(|t| t.contains("MicroMasters"))
        });
        let usable_runs = all_runs.iter().filter(|r| r.is_usable() && !r.is_b2b());
        V2Course {
            id: course.id,
            title: course.title.clone(),
            readable_id: course.readable_id.clone(),
            next_run_id: next_run.map(|r| r.id.0),
            departments: course
                .departments
                .iter()
                .map(|name| Named { name: name.clone() })
                .collect(),
            page: page.map(|p| {
                course_page(
                    p,
                    &course.readable_id,
                    current_price,
                    ctx.site_base,
                    course.has_financial_assistance,
                )
            }),
            programs: course
                .programs
                .iter()
                .filter(|p| ctx.shows_program(p))
                .map(BaseProgram::from)
                .collect(),
            topics: topics.into_iter().map(|name| Named { name }).collect(),
            certificate_type: if micromasters {
                "MicroMasters Credential"
            } else {
                "Certificate of Completion"
            },
            certificate_available: next_run.is_some()
                && all_runs.iter().any(CourseRun::offers_verified),
            required_prerequisites: page.is_some_and(|p| !p.prerequisites.trim().is_empty()),
            duration: page.map(|p| p.length.clone()).unwrap_or_default(),
            min_weeks: page.and_then(|p| p.min_weeks),
            max_weeks: page.and_then(|p| p.max_weeks),
            min_price: prices.iter().copied().reduce(f64::min),
            max_price: prices.iter().copied().reduce(f64::max),
            time_commitment: page.and_then(|p| p.effort.clone()),
            availability: if usable_runs
                .clone()
                .any(|r| r.is_enrollable(now) && !r.is_self_paced)
            {
                "dated"
            } else {
                "anytime"
            },
            min_weekly_hours: page.and_then(|p| p.min_weekly_hours).map(|h| h.to_string()),
            max_weekly_hours: page.and_then(|p| p.max_weekly_hours).map(|h| h.to_string()),
            include_in_learn_catalog: page.is_some_and(|p| p.include_in_learn_catalog),
            ingest_content_files_for_ai: page.is_some(),
            possible_variant_sets: course
                .variant_sets
                .iter()
                .map(|v| SupportedVariant {
                    language: v.language.clone(),
                    variant_length: v.variant_length.clone(),
                    variant_industry: v.variant_industry.clone(),
                    active: v.active,
                    b2b_only: v.b2b_only,
                    default_variant: v.is_default,
                })
                .collect(),
            courseruns,
        }
    }
}

fn course_page(
    page: &CatalogPage,
    readable_id: &str,
    current_price: Option<i64>,
    site_base: &str,
    has_form: bool,
) -> CoursePage {
    CoursePage {
        feature_image_src: page.feature_image_src.clone(),
        page_url: format!("{site_base}/courses/{readable_id}/"),
        description: page.description.clone(),
        live: page.live,
        length: page.length.clone(),
        effort: page.effort.clone(),
        // The original links the page's financial-assistance form, or "" when it has
        // none; a course has a form when flexible-pricing tiers are set up for it.
        financial_assistance_form_url: if has_form {
            format!("{site_base}/courses/{readable_id}/financial-assistance-request/")
        } else {
            String::new()
        },
        current_price,
        instructors: page.instructors.clone(),
    }
}

/// The display name of a run language (locale codes use their override names; blank ⇒ "";
/// a code without a known name is shown as itself).
pub fn language_label(code: &str) -> String {
    let name = match code {
        "" => "",
        "af_ZA" => "Afrikaans (South Africa)",
        "ar" => "Arabic",
        "az" => "Azerbaijani",
        "bo" => "Tibetan",
        "da" => "Danish",
        "de" => "German",
        "de_DE" => "German (Germany)",
        "el" => "Greek",
        "en" => "English",
        "es_419" => "Spanish (Latin America)",
        "es_ES" => "Spanish (Spain)",
        "fa" => "Persian",
        "fr" => "French",
        "fr_CA" => "French (Canada)",
        "he" => "Hebrew",
        "hi" => "Hindi",
        "hu" => "Hungarian",
        "id" => "Indonesian",
        "it_IT" => "Italian (Italy)",
        "ja" => "Japanese",
        "ka" => "Georgian",
        "kk" => "Kazakh",
        "ko" => "Korean",
        "lv" => "Latvian",
        "nl" => "Dutch",
        "pl" => "Polish",
        "pt_BR" => "Portuguese (Brazil)",
        "pt_PT" => "Portuguese (Portugal)",
        "ro" => "Romanian",
        "ru" => "Russian",
        "sq" => "Albanian",
        "sv" => "Swedish",
        "sw" => "Swahili",
        "te" => "Telugu",
        "th" => "Thai",
        "tr_TR" => "Turkish (Turkey)",
        "uk" => "Ukrainian",
        "uz" => "Uzbek",
        "vi" => "Vietnamese",
        "zh_CN" => "Chinese (China)",
        "zh_HANS" => "Chinese (Simplified)",
        "zh_HK" => "Chinese (Hong Kong)",
        other => return other.to_owned(),
    };
    name.to_owned()
}

/// `{id, readable_id}` of a requirement.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct IdAndReadable {
    /// Id.
    pub id: i64,
    /// Readable id.
    pub readable_id: String,
}

/// `{required, electives}`.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RequiredElectives {
    /// Required.
    pub required: Vec<IdAndReadable>,
    /// Electives.
    pub electives: Vec<IdAndReadable>,
}

/// V2 `requirements`.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Requirements {
    /// Course requirements.
    pub courses: RequiredElectives,
    /// Program requirements.
    pub programs: RequiredElectives,
}

/// `V2ProgramRequirementData`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReqData {
    /// Node type.
    pub node_type: String,
    /// Operator.
    pub operator: Option<String>,
    /// Operator value.
    pub operator_value: Option<String>,
    /// Owner program.
    pub program: i64,
    /// Course.
    pub course: Option<i64>,
    /// Sub-program.
    pub required_program: Option<i64>,
    /// Title.
    pub title: String,
    /// Elective flag.
    pub elective_flag: bool,
}

/// `V2ProgramRequirement` (`children` only when non-empty).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReqNode {
    /// Node id.
    pub id: i64,
    /// Node data.
    pub data: ReqData,
    /// Children.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub children: Vec<ReqNode>,
}

/// `ProgramPage`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProgramPage {
    /// Feature image.
    pub feature_image_src: Option<String>,
    /// Marketing page URL.
    pub page_url: String,
    /// Financial assistance form URL ("" when none).
    pub financial_assistance_form_url: String,
    /// Description.
    pub description: String,
    /// Published.
    pub live: bool,
    /// Learn catalog flag.
    pub include_in_learn_catalog: bool,
    /// Length text.
    pub length: String,
    /// Effort text.
    pub effort: Option<String>,
    /// Price text.
    pub price: String,
    /// The program product's price ("" when none).
    pub list_price: String,
}

/// `V2ProgramDetail`: the v2 program list item and detail.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct V2Program {
    /// Title.
    pub title: String,
    /// Readable id.
    pub readable_id: String,
    /// Id.
    pub id: i64,
    /// Ids of the live courses in the tree.
    pub courses: Vec<i64>,
    /// Collection ids.
    pub collections: Vec<i64>,
    /// Parent programs.
    pub programs: Option<Vec<BaseProgram>>,
    /// Required and elective courses and programs.
    pub requirements: Requirements,
    /// The root's children.
    pub req_tree: Vec<ReqNode>,
    /// Page.
    pub page: Option<ProgramPage>,
    /// Program type.
    pub program_type: Option<String>,
    /// Certificate type label.
    pub certificate_type: &'static str,
    /// Some mode requires payment.
    pub certificate_available: bool,
    /// Departments.
    pub departments: Vec<Named>,
    /// Live.
    pub live: bool,
    /// `course` or null.
    pub display_mode: Option<String>,
    /// Page topics, sorted.
    pub topics: Vec<Named>,
    /// `anytime` / `dated`.
    pub availability: String,
    /// Next live future run's start, else the program's start date.
    pub start_date: Option<DateTime<Utc>>,
    /// End.
    pub end_date: Option<DateTime<Utc>>,
    /// Enrollment start.
    pub enrollment_start: Option<DateTime<Utc>>,
    /// Enrollment end.
    pub enrollment_end: Option<DateTime<Utc>>,
    /// Page lists prerequisites.
    pub required_prerequisites: bool,
    /// Page length text.
    pub duration: Option<String>,
    /// Page min weeks.
    pub min_weeks: Option<i64>,
    /// Page max weeks.
    pub max_weeks: Option<i64>,
    /// Lowest active product price.
    pub min_price: Option<f64>,
    /// Highest active product price.
    pub max_price: Option<f64>,
    /// Page effort text.
    pub time_commitment: Option<String>,
    /// Page min weekly hours.
    pub min_weekly_hours: Option<String>,
    /// Page max weekly hours.
    pub max_weekly_hours: Option<String>,
    /// Offered modes.
    pub enrollment_modes: Vec<Mode>,
    /// Products.
    pub products: Vec<Product>,
}

fn req_children(program: &CatalogProgram, parent: i64) -> Vec<ReqNode> {
    program
        .requirements
        .iter()
        .filter(|n| n.parent_id == Some(parent))
        .map(|n| ReqNode {
            id: n.id,
            data: ReqData {
                node_type: n.node_type.clone(),
                operator: n.operator.clone(),
                operator_value: n.operator_value.clone(),
                program: program.id,
                course: n.course_id,
                required_program: n.required_program_id,
                title: n.title.clone(),
                elective_flag: n.elective_flag,
            },
            children: req_children(program, n.id),
        })
        .collect()
}

/// Courses and programs under `node`, noting whether an operator on the way is elective.
fn collect_requirements(
    program: &CatalogProgram,
    node: &RequirementRow,
    elective: bool,
    out: &mut Requirements,
) {
    let elective = elective || (node.node_type == "operator" && node.elective_flag);
    match node.node_type.as_str() {
        "course" => {
            if let (Some(id), Some(readable_id)) = (node.course_id, node.course_readable_id.clone())
            {
                let list = if elective {
                    &mut out.courses.electives
                } else {
                    &mut out.courses.required
                };
                if !list.iter().any(|c| c.id == id) {
                    list.push(IdAndReadable { id, readable_id });
                }
            }
        }
        "program" => {
            if let (Some(id), Some(readable_id)) = (
                node.required_program_id,
                node.required_program_readable_id.clone(),
            ) {
                let list = if elective {
                    &mut out.programs.electives
                } else {
                    &mut out.programs.required
                };
                if !list.iter().any(|c| c.id == id) {
                    list.push(IdAndReadable { id, readable_id });
                }
            }
        }
        _ => {}
    }
    for child in program
        .requirements
        .iter()
        .filter(|n| n.parent_id == Some(node.id))
    {
        collect_requirements(program, child, elective, out);
    }
}

fn price_number(price: &mitx_core::money::Money) -> Option<f64> {
    price.to_price_string().parse::<f64>().ok()
}

impl V2Program {
    /// Builds the v2 shape of `program` at `ctx.now`.
    pub fn new(program: &CatalogProgram, ctx: Ctx<'_>) -> V2Program {
        let root = program.requirements.iter().find(|n| n.parent_id.is_none());
        let mut requirements = Requirements::default();
        let mut req_tree = Vec::new();
        if let Some(root) = root {
            // Required vs elective is decided by the depth-2 operators (and any operator
            // below them) flagged elective.
            for child in program
                .requirements
                .iter()
                .filter(|n| n.parent_id == Some(root.id))
            {
                collect_requirements(program, child, false, &mut requirements);
            }
            req_tree = req_children(program, root.id);
        }
        let mut courses: Vec<i64> = Vec::new();
        for node in &program.requirements {
            if let Some(id) = node.course_id
                && node.course_live
                && !courses.contains(&id)
            {
                courses.push(id);
            }
        }
        let page = program.page.as_ref();
        let mut topics: Vec<String> = page.map(|p| p.topics.clone()).unwrap_or_default();
        topics.sort();
        topics.dedup();
        let mut modes = Vec::new();
        if program.offers_audit {
            modes.push(mitx_core::catalog::EnrollmentMode::Audit);
        }
        if program.offers_verified {
            modes.push(mitx_core::catalog::EnrollmentMode::Verified);
        }
        let prices: Vec<f64> = program
            .products
            .iter()
            .filter(|p| p.is_active)
            .filter_map(|p| price_number(&p.price))
            .collect();
        let next_start = program
            .course_run_starts
            .iter()
            .filter(|(live, _)| *live)
            .filter_map(|(_, start)| *start)
            .filter(|start| *start > ctx.now)
            .min();
        let site = ctx.site_base;
        let readable_id = &program.readable_id;
        V2Program {
            title: program.title.clone(),
            readable_id: program.readable_id.clone(),
            id: program.id,
            courses,
            collections: program.collections.clone(),
            programs: Some(
                program
                    .parents
                    .iter()
                    .filter(|p| !p.b2b_only)
                    .map(BaseProgram::from)
                    .collect(),
            ),
            requirements,
            req_tree,
            page: page.map(|p| ProgramPage {
                feature_image_src: p.feature_image_src.clone(),
                page_url: format!("{site}/programs/{readable_id}/"),
                financial_assistance_form_url: if program.has_financial_assistance {
                    format!("{site}/programs/{readable_id}/financial-assistance-request/")
                } else {
                    String::new()
                },
                description: p.description.clone(),
                live: p.live,
                include_in_learn_catalog: p.include_in_learn_catalog,
                length: p.length.clone(),
                effort: p.effort.clone(),
                price: p.price_text.clone().unwrap_or_default(),
                list_price: program
                    .products
                    .iter()
                    .find(|p| p.is_active)
                    .map(|p| p.price.to_price_string())
                    .unwrap_or_default(),
            }),
            program_type: program.program_type.clone(),
            certificate_type: if program
                .program_type
                .as_deref()
                .is_some_and(|t| t.contains("MicroMasters"))
            {
                "MicroMasters Credential"
            } else {
                "Certificate of Completion"
            },
            certificate_available: modes.iter().any(|m| m.requires_payment()),
            departments: program
                .departments
                .iter()
                .map(|name| Named { name: name.clone() })
                .collect(),
            live: program.live,
            display_mode: program.display_mode.clone(),
            topics: topics.into_iter().map(|name| Named { name }).collect(),
            availability: program.availability.clone(),
            start_date: next_start.or(program.start_date),
            end_date: program.end_date,
            enrollment_start: program.enrollment_start,
            enrollment_end: program.enrollment_end,
            required_prerequisites: page.is_some_and(|p| !p.prerequisites.trim().is_empty()),
            duration: page.map(|p| p.length.clone()),
            min_weeks: page.and_then(|p| p.min_weeks),
            max_weeks: page.and_then(|p| p.max_weeks),
            min_price: prices.iter().copied().reduce(f64::min),
            max_price: prices.iter().copied().reduce(f64::max),
            time_commitment: page.and_then(|p| p.effort.clone()),
            min_weekly_hours: page.and_then(|p| p.min_weekly_hours).map(|h| h.to_string()),
            max_weekly_hours: page.and_then(|p| p.max_weekly_hours).map(|h| h.to_string()),
            enrollment_modes: modes
                .iter()
                .map(|m| Mode {
                    mode_slug: m.slug(),
                    mode_display_name: m.slug(),
                    requires_payment: m.requires_payment(),
                })
                .collect(),
            products: program.products.iter().map(Product::from).collect(),
        }
    }
}

/// `DepartmentWithCoursesAndPrograms`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DepartmentV2 {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Live courses with a live page and an enrollable run.
    pub course_ids: Vec<i64>,
    /// Live programs with a live page.
    pub program_ids: Vec<i64>,
}

/// `{id, title, order}` of a collection's program.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CollectionProgram {
    /// Program id.
    pub id: i64,
    /// Program title.
    pub title: String,
    /// Sort order.
    pub order: i64,
}

/// `V2ProgramCollection`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProgramCollectionV2 {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Programs in order.
    pub programs: Vec<CollectionProgram>,
    /// Created (declared by the reference schema; the original's model has none).
    pub created_on: DateTime<Utc>,
    /// Updated.
    pub updated_on: DateTime<Utc>,
}

impl From<&mitx_services::store::catalog_api::CatalogCollection> for ProgramCollectionV2 {
    fn from(c: &mitx_services::store::catalog_api::CatalogCollection) -> Self {
        ProgramCollectionV2 {
            id: c.id,
            title: c.title.clone(),
            description: c.description.clone(),
            programs: c
                .programs
                .iter()
                .map(|(id, title, order)| CollectionProgram {
                    id: *id,
                    title: title.clone(),
                    order: *order,
                })
                .collect(),
            created_on: c.created_on,
            updated_on: c.updated_on,
        }
    }
}
