//! `mitx catalog import|export|list|create|check-requirements|retire-run`.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use mitx_services::catalog::retire::{RetireReport, RetireRequest, retire_run};
use mitx_services::catalog::{self, ImportError, check_requirements};
use mitx_services::core::catalog::RetireOptions;
use mitx_services::store::audit_log::Audit;
use mitx_services::store::catalog::{
    CatalogData, CourseRecord, ImportSummary, ProgramRecord, RequirementRecord, RunRecord,
};
use serde::Serialize;
use tabled::Tabled;

use crate::context::Context;
use crate::output::{emit, note, opt, print_rows, print_value, spinner};

/// Departments, courses, runs, programs and requirement trees.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Load a catalog file (docs/catalog-format.md): upserts by readable id; a file with any
    /// bad record is rejected whole and nothing is written.
    #[command(
        after_help = "Example:\n  mitx catalog import fixtures/demo/catalog.json\n  mitx catalog import --dry-run new-runs.json"
    )]
    Import {
        /// The catalog JSON file (`-` for standard input).
        file: PathBuf,
        /// Validate and show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the whole catalog in the import format.
    #[command(
        after_help = "Example:\n  mitx catalog export > catalog.json\n  mitx catalog export --output backup.json"
    )]
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List courses, runs or programs.
    #[command(
        after_help = "Example:\n  mitx catalog list courses\n  mitx --json catalog list runs"
    )]
    List {
        /// What to list.
        what: ListWhat,
    },
    /// Create one course, run or program (refuses to overwrite an existing one).
    #[command(
        subcommand,
        after_help = "Example:\n  mitx catalog create course course-v1:MITx+18.01x --title \"Calculus 1A\" --live\n  mitx catalog create run course-v1:MITx+18.01x --run-tag 1T2027 --start 2027-02-01 --live --verified --price 75"
    )]
    Create(Box<CreateCommand>),
    /// Report programs with missing or unsatisfiable requirements and live courses in no
    /// program; exits 1 when there is any finding (0 when all is well).
    #[command(
        after_help = "Example:\n  mitx catalog check-requirements\n  mitx catalog check-requirements --program program-v1:MITx+DEDP"
    )]
    CheckRequirements {
        /// Only this program.
        #[arg(long)]
        program: Option<String>,
    },
    /// Retire a run (`retire_courserun`): push its enrollment and run windows into the past
    /// (locally and in Open edX Studio), take it off live, deactivate its products and detach
    /// it from its B2B contract. A dry run unless --commit: prints exactly what would change
    /// and changes nothing (no edX call). Refuses while learners are enrolled unless
    /// --unenroll or --allow-active-enrollments. Retiring a retired run has nothing to do.
    #[command(
        after_help = "Example:\n  mitx catalog retire-run --run course-v1:MITx+6.001x+1T2025 --reason \"replaced by 1T2026\"\n  mitx catalog retire-run --run course-v1:MITx+6.001x+1T2025 --commit --unenroll --email --snapshot-dir /var/backups/mitx --reason \"replaced by 1T2026\""
    )]
    RetireRun(Box<RetireArgs>),
}

/// Options of `catalog retire-run`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["run", "key"])))]
pub struct RetireArgs {
    /// The run: courseware id or id.
    #[arg(long)]
    run: Option<String>,
    /// The run, given without --run.
    #[arg(value_name = "RUN")]
    key: Option<String>,
    /// Change things; without it nothing is changed (dry run).
    #[arg(long)]
    commit: bool,
    /// Unenroll the active learners first (through the usual unenrollment, edX included).
    #[arg(long)]
    unenroll: bool,
    /// Retire the run although learners are still enrolled (they stay enrolled).
    #[arg(long)]
    allow_active_enrollments: bool,
    /// With --unenroll: send the learners the unenrollment email.
    #[arg(long, requires = "unenroll")]
    email: bool,
    /// Keep the run attached to its B2B contract.
    #[arg(long)]
    keep_contract: bool,
    /// Keep the run's products active.
    #[arg(long)]
    keep_products: bool,
    /// Do not update the run in Open edX Studio.
    #[arg(long)]
    skip_edx: bool,
    /// Write a JSON snapshot of the run here before changing anything (if it cannot be
    /// written, nothing is changed).
    #[arg(long, value_name = "DIR")]
    snapshot_dir: Option<PathBuf>,
    /// Why (stored in the audit log).
    #[arg(long)]
    reason: String,
    /// Who is doing it (stored in the audit log).
    #[arg(long, env = "USER", default_value = "unknown")]
    actor: String,
}

/// What `catalog list` lists.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ListWhat {
    /// Courses.
    Courses,
    /// Course runs.
    Runs,
    /// Programs.
    Programs,
}

/// `catalog create ...`.
#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// Create a course.
    #[command(
        after_help = "Example:\n  mitx catalog create course course-v1:MITx+18.01x --title \"Calculus 1A\" --live --dept Mathematics"
    )]
    Course(CreateCourse),
    /// Create a run of an existing course (id `{course}+{run tag}`).
    #[command(
        after_help = "Example:\n  mitx catalog create run course-v1:MITx+18.01x --run-tag 1T2027 --start 2027-02-01 --end 2027-05-15 --enrollment-start 2026-12-01 --live --verified --price 75"
    )]
    Run(CreateRun),
    /// Create a program with required courses and optional electives.
    #[command(
        after_help = "Example:\n  mitx catalog create program program-v1:MITx+MATH --title \"Calculus\" --required course-v1:MITx+18.01x --elective course-v1:MITx+18.02x --elective course-v1:MITx+18.03x --min-electives 1"
    )]
    Program(CreateProgram),
}

/// Options of `catalog create course`.
#[derive(Debug, Args)]
pub struct CreateCourse {
    /// Readable id, e.g. course-v1:MITx+18.01x.
    readable_id: String,
    /// Title.
    #[arg(long)]
    title: String,
    /// Make it live.
    #[arg(long)]
    live: bool,
    /// Department names (must exist).
    #[arg(long = "dept")]
    departments: Vec<String>,
}

/// Options of `catalog create run`.
#[derive(Debug, Args)]
pub struct CreateRun {
    /// The course's readable id.
    course: String,
    /// Run tag, e.g. 1T2027.
    #[arg(long)]
    run_tag: String,
    /// Title (defaults to the course title).
    #[arg(long)]
    title: Option<String>,
    /// Start (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    start: Option<String>,
    /// End.
    #[arg(long)]
    end: Option<String>,
    /// Enrollment opens.
    #[arg(long)]
    enrollment_start: Option<String>,
    /// Enrollment closes.
    #[arg(long)]
    enrollment_end: Option<String>,
    /// Upgrade deadline.
    #[arg(long)]
    upgrade: Option<String>,
    /// Self-paced.
    #[arg(long)]
    self_paced: bool,
    /// Make it live.
    #[arg(long)]
    live: bool,
    /// Offer the paid verified mode.
    #[arg(long)]
    verified: bool,
    /// Product price.
    #[arg(long)]
    price: Option<String>,
    /// Language code.
    #[arg(long, default_value = "en")]
    language: String,
}

/// Options of `catalog create program`.
#[derive(Debug, Args)]
pub struct CreateProgram {
    /// Readable id, e.g. program-v1:MITx+DEDP.
    readable_id: String,
    /// Title.
    #[arg(long)]
    title: String,
    /// Make it live.
    #[arg(long)]
    live: bool,
    /// Required course readable ids.
    #[arg(long)]
    required: Vec<String>,
    /// Elective course readable ids.
    #[arg(long)]
    elective: Vec<String>,
    /// How many electives are needed (default: 1 when electives are given).
    #[arg(long)]
    min_electives: Option<u32>,
    /// Program type.
    #[arg(long, default_value = "Series")]
    program_type: String,
    /// Department names.
    #[arg(long = "dept")]
    departments: Vec<String>,
    /// Program product price.
    #[arg(long)]
    price: Option<String>,
}

/// Runs a `catalog` command.
pub async fn run(cmd: CatalogCommand, ctx: &Context) -> anyhow::Result<()> {
    match cmd {
        CatalogCommand::Import { file, dry_run } => import(ctx, &file, dry_run).await,
        CatalogCommand::Export { output } => {
            let data = ctx.migrated_store().await?.export_catalog().await?;
            let text = serde_json::to_string_pretty(&data)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    note(
                        ctx,
                        format!(
                            "Wrote {} courses and {} programs to {}.",
                            data.courses.len(),
                            data.programs.len(),
                            path.display()
                        ),
                    );
                }
                None => emit(text),
            }
            Ok(())
        }
        CatalogCommand::List { what } => list(ctx, what).await,
        CatalogCommand::RetireRun(args) => retire(ctx, *args).await,
        CatalogCommand::Create(create) => create_one(ctx, *create).await,
        CatalogCommand::CheckRequirements { program } => {
            let data = ctx.migrated_store().await?.export_catalog().await?;
            if let Some(p) = &program
                && !data.programs.iter().any(|x| &x.readable_id == p)
            {
                bail!("program '{p}' not found");
            }
            let findings = check_requirements(&data, program.as_deref());
            #[derive(Serialize, Tabled)]
            struct Row {
                subject: String,
                problem: String,
            }
            let rows: Vec<Row> = findings
                .into_iter()
                .map(|f| Row {
                    subject: f.subject,
                    problem: f.problem,
                })
                .collect();
            print_rows(ctx, &rows)?;
            // A check with findings fails, so cron and CI notice (the findings are on
            // stdout, the count on stderr).
            if !rows.is_empty() {
                bail!("{} finding(s) in the program requirements", rows.len());
            }
            note(ctx, "No findings.");
            Ok(())
        }
    }
}

async fn import(ctx: &Context, file: &PathBuf, dry_run: bool) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let data: CatalogData = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid catalog document", file.display()))?;
    apply(ctx, &data, dry_run).await
}

async fn apply(ctx: &Context, data: &CatalogData, dry_run: bool) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let bar = spinner(
        ctx,
        &format!(
            "importing {} course(s), {} program(s)",
            data.courses.len(),
            data.programs.len()
        ),
    );
    let outcome = catalog::import_with_progress(services, data, dry_run, &mut |stage| {
        bar.set_message(stage.describe());
    })
    .await;
    bar.finish_and_clear();
    let summary = match outcome {
        Ok(summary) => summary,
        Err(ImportError::Rejected(problems)) => {
            for p in problems.iter().take(50) {
                eprintln!("{p}");
            }
            if problems.len() > 50 {
                eprintln!("... and {} more", problems.len() - 50);
            }
            bail!(
                "the catalog was rejected: {} bad record(s); nothing was written",
                problems.len()
            );
        }
        Err(other) => return Err(other.into()),
    };
    print_summary(ctx, &summary)?;
    if dry_run {
        note(ctx, "Dry run: nothing was written.");
    } else if !summary.changed_anything() {
        note(ctx, "Nothing changed.");
    }
    Ok(())
}

fn print_summary(ctx: &Context, summary: &ImportSummary) -> anyhow::Result<()> {
    #[derive(Serialize, Tabled)]
    struct Row {
        kind: &'static str,
        created: u64,
        updated: u64,
        unchanged: u64,
    }
    let rows: Vec<Row> = summary
        .kinds
        .iter()
        .map(|k| Row {
            kind: k.kind,
            created: k.created,
            updated: k.updated,
            unchanged: k.unchanged,
        })
        .collect();
    print_rows(ctx, &rows)
}

async fn list(ctx: &Context, what: ListWhat) -> anyhow::Result<()> {
    let store = ctx.migrated_store().await?;
    fn time(t: &Option<DateTime<Utc>>) -> String {
        t.map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
    match what {
        ListWhat::Courses => {
            let rows = store.list_courses().await?;
            if ctx.json {
                return print_rows_json(&rows);
            }
            #[derive(Serialize, Tabled)]
            struct Row {
                id: i64,
                readable_id: String,
                title: String,
                live: bool,
                runs: i64,
                departments: String,
            }
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|r| Row {
                    id: r.id,
                    readable_id: r.readable_id,
                    title: r.title,
                    live: r.live,
                    runs: r.runs,
                    departments: r.departments,
                })
                .collect();
            print_rows(ctx, &rows)
        }
        ListWhat::Runs => {
            let rows = store.list_runs().await?;
            if ctx.json {
                return print_rows_json(&rows);
            }
            #[derive(Serialize, Tabled)]
            struct Row {
                id: i64,
                courseware_id: String,
                start: String,
                end: String,
                enrollment: String,
                live: bool,
                self_paced: bool,
                price: String,
            }
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|r| Row {
                    id: r.id,
                    start: time(&r.start_date),
                    end: time(&r.end_date),
                    enrollment: format!(
                        "{} → {}",
                        time(&r.enrollment_start),
                        time(&r.enrollment_end)
                    ),
                    courseware_id: r.courseware_id,
                    live: r.live,
                    self_paced: r.is_self_paced,
                    price: opt(&r.price),
                })
                .collect();
            print_rows(ctx, &rows)
        }
        ListWhat::Programs => {
            let rows = store.list_programs().await?;
            if ctx.json {
                return print_rows_json(&rows);
            }
            #[derive(Serialize, Tabled)]
            struct Row {
                id: i64,
                readable_id: String,
                title: String,
                live: bool,
                program_type: String,
                courses: i64,
            }
            let rows: Vec<Row> = rows
                .into_iter()
                .map(|r| Row {
                    id: r.id,
                    readable_id: r.readable_id,
                    title: r.title,
                    live: r.live,
                    program_type: opt(&r.program_type),
                    courses: r.courses,
                })
                .collect();
            print_rows(ctx, &rows)
        }
    }
}

fn print_rows_json<T: Serialize>(rows: &[T]) -> anyhow::Result<()> {
    emit(serde_json::to_string_pretty(rows)?);
    Ok(())
}

fn parse_time(label: &str, value: &Option<String>) -> anyhow::Result<Option<DateTime<Utc>>> {
    match value {
        None => Ok(None),
        Some(text) => mitx_core::pricing::parse_supplied_date(text)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--{label}: {e}")),
    }
}

async fn create_one(ctx: &Context, create: CreateCommand) -> anyhow::Result<()> {
    let store = ctx.migrated_store().await?;
    let keys = store.catalog_keys().await?;
    let mut data = CatalogData {
        version: 1,
        ..CatalogData::default()
    };
    match create {
        CreateCommand::Course(c) => {
            if !c.readable_id.starts_with("course") {
                bail!("course ids start with 'course' (e.g. course-v1:MITx+18.01x)");
            }
            if keys.courses.contains(&c.readable_id) {
                bail!("course {} already exists", c.readable_id);
            }
            data.courses.push(CourseRecord {
                certificate_page: None,
                readable_id: c.readable_id,
                title: c.title,
                live: c.live,
                departments: c.departments,
                blocked_countries: vec![],
                page: None,
                runs: vec![],
            });
        }
        CreateCommand::Run(r) => {
            let existing = store.export_catalog().await?;
            let Some(course) = existing
                .courses
                .into_iter()
                .find(|c| c.readable_id == r.course)
            else {
                bail!("course {} not found", r.course);
            };
            let courseware_id = format!("{}+{}", r.course, r.run_tag);
            if keys.runs.contains(&courseware_id)
                || course.runs.iter().any(|x| x.run_tag == r.run_tag)
            {
                bail!("course {} already has a run {}", r.course, r.run_tag);
            }
            let mut modes = vec!["audit".to_owned()];
            if r.verified {
                modes.push("verified".into());
            }
            let run = RunRecord {
                courseware_id,
                run_tag: r.run_tag.clone(),
                title: r.title.clone(),
                start_date: parse_time("start", &r.start)?,
                end_date: parse_time("end", &r.end)?,
                enrollment_start: parse_time("enrollment-start", &r.enrollment_start)?,
                enrollment_end: parse_time("enrollment-end", &r.enrollment_end)?,
                upgrade_deadline: parse_time("upgrade", &r.upgrade)?,
                certificate_available_date: None,
                expiration_date: None,
                live: r.live,
                is_self_paced: r.self_paced,
                modes,
                language: r.language.clone(),
                // The courseware id is derived from the run tag, so the new run is the
                // only run of its tag here: the primary-language run.
                is_primary_language: true,
                is_source_run: false,
                price: r.price.clone(),
            };
            data.courses.push(CourseRecord {
                certificate_page: None,
                runs: vec![run],
                ..course
            });
        }
        CreateCommand::Program(p) => {
            if !p.readable_id.starts_with("program") {
                bail!("program ids start with 'program' (e.g. program-v1:MITx+DEDP)");
            }
            if keys.programs.contains(&p.readable_id) {
                bail!("program {} already exists", p.readable_id);
            }
            let mut requirements = Vec::new();
            if !p.required.is_empty() {
                requirements.push(RequirementRecord::Operator {
                    operator: "all_of".into(),
                    value: None,
                    title: "Required Courses".into(),
                    elective: false,
                    children: p
                        .required
                        .iter()
                        .map(|c| RequirementRecord::Course { course: c.clone() })
                        .collect(),
                });
            }
            if !p.elective.is_empty() {
                requirements.push(RequirementRecord::Operator {
                    operator: "min_number_of".into(),
                    value: Some(p.min_electives.unwrap_or(1)),
                    title: "Elective Courses".into(),
                    elective: true,
                    children: p
                        .elective
                        .iter()
                        .map(|c| RequirementRecord::Course { course: c.clone() })
                        .collect(),
                });
            }
            data.programs.push(ProgramRecord {
                certificate_page: None,
                readable_id: p.readable_id,
                title: p.title,
                live: p.live,
                program_type: Some(p.program_type),
                availability: "anytime".into(),
                departments: p.departments,
                modes: vec!["audit".into(), "verified".into()],
                display_mode: None,
                b2b_only: false,
                price: p.price,
                page: None,
                requirements,
            });
        }
    }
    apply(ctx, &data, false).await
}

async fn retire(ctx: &Context, args: RetireArgs) -> anyhow::Result<()> {
    let services = ctx.migrated().await?;
    let request = RetireRequest {
        run: args.run.or(args.key).unwrap_or_default(),
        commit: args.commit,
        unenroll: args.unenroll,
        allow_active_enrollments: args.allow_active_enrollments,
        email: args.email,
        options: RetireOptions {
            keep_products: args.keep_products,
            keep_contract: args.keep_contract,
        },
        skip_edx: args.skip_edx,
        snapshot_dir: args.snapshot_dir,
        audit: Audit::new(args.actor, Some(args.reason)),
    };
    let report = retire_run(services, &request).await?;
    if ctx.json {
        return print_value(ctx, &report, |_| {});
    }
    print_retirement(ctx, &report)
}

fn print_retirement(ctx: &Context, report: &RetireReport) -> anyhow::Result<()> {
    if report.nothing_to_do {
        emit(format!("Nothing to do: {} is already retired.", report.run));
        return Ok(());
    }
    #[derive(Serialize, Tabled)]
    struct Row {
        what: String,
        before: String,
        after: String,
    }
    let row = |what: String, before: &str, after: String| Row {
        what,
        before: before.to_owned(),
        after,
    };
    let mut rows: Vec<Row> = report
        .changes
        .iter()
        .map(|c| row(c.field.to_owned(), &c.before, c.after.clone()))
        .collect();
    for id in &report.products_deactivated {
        rows.push(row(format!("product {id}"), "active", "inactive".into()));
    }
    if !report.active_enrollments.is_empty() {
        let after = if report.unenrolled.is_empty() {
            "kept active (--allow-active-enrollments)".to_owned()
        } else {
            format!("{} unenrolled", report.unenrolled.len())
        };
        rows.push(row(
            "enrollments".into(),
            &format!("{} active", report.active_enrollments.len()),
            after,
        ));
    }
    rows.push(row(
        "open edx studio".into(),
        "",
        report.edx.describe().to_owned(),
    ));
    if let Some(path) = &report.snapshot {
        rows.push(row("snapshot".into(), "", path.display().to_string()));
    }
    if report.committed {
        note(ctx, format!("Retired {}:", report.run));
    } else {
        note(ctx, format!("Would retire {}:", report.run));
    }
    print_rows(ctx, &rows)?;
    if !report.committed {
        note(
            ctx,
            "Dry run: nothing was changed. Pass --commit to retire the run.",
        );
    }
    Ok(())
}
