//! Learner records (courses spec 1.14, 3.9, 5.6): sharing a program record through a
//! public link or with a partner school (which is mailed the link), revoking the public
//! link, and the partner schools operators keep.

use mitx_core::ids::{ProgramId, UserId};
use mitx_store::StoreError;
use mitx_store::audit_log::{Audit, AuditChange, audit_json};
use mitx_store::records::{PartnerSchool, RecordShare};
use mitx_store::users::UserKey;
use serde_json::json;

use crate::Services;
use crate::email::{EmailJob, Template};
use crate::error::{Fault, store_fault};
use crate::jobs;

/// Why a record change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The learner has no active enrollment in the program (or it does not exist).
    #[error("Not found.")]
    NoRecord,
    /// The school is unknown, inactive or not offered for the program.
    #[error("Partner school not found.")]
    SchoolNotFound,
    /// An operator's input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RecordError {
    /// Whose fault it is.
    pub fn fault(&self) -> Fault {
        match self {
            RecordError::NoRecord | RecordError::SchoolNotFound => Fault::NotFound,
            RecordError::Invalid(_) => Fault::Caller,
            RecordError::Store(err) => store_fault(err),
        }
    }
}

/// The partner schools a record of `program` offers (3.9): every active school, or with
/// `ENABLE_PROGRAM_SPECIFIC_PATHWAY_SCHOOLS` only those linked to the program; by name.
pub async fn eligible_schools(
    services: &Services,
    program: ProgramId,
) -> Result<Vec<PartnerSchool>, StoreError> {
    if services
        .settings()
        .credentials
        .program_specific_pathway_schools
    {
        services.store().program_partner_schools(program).await
    } else {
        services.store().partner_schools(true).await
    }
}

/// Whether the learner has a record of the program: an active program enrollment.
pub async fn has_record(
    services: &Services,
    user: UserId,
    program: ProgramId,
) -> Result<bool, StoreError> {
    Ok(services
        .store()
        .program_enrollment(user, program)
        .await?
        .is_some_and(|row| row.enrollment.active))
}

fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// What [`share`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared {
    /// The share, active.
    pub share: RecordShare,
    /// Emails queued (one per recipient; none for the public link).
    pub emails_queued: usize,
}

/// Shares the learner's record of `program`: `None` ensures one active public link;
/// a school (eligible for the program) gets an active share and the record-sharing email
/// to its recipients, queued in the same unit of work (a repeat while that email still
/// waits queues no second one).
pub async fn share(
    services: &Services,
    user: UserId,
    program: ProgramId,
    school: Option<i64>,
) -> Result<Shared, RecordError> {
    if !has_record(services, user, program).await? {
        return Err(RecordError::NoRecord);
    }
    let school_row = match school {
        None => None,
        Some(id) => Some(
            eligible_schools(services, program)
                .await?
                .into_iter()
                .find(|s| s.id == id)
                .ok_or(RecordError::SchoolNotFound)?,
        ),
    };
    let recipients = match &school_row {
        Some(s) => {
            services
                .store()
                .partner_school_recipients(s.id, program)
                .await?
        }
        None => Vec::new(),
    };
    let learner = services.store().find_user(&UserKey::Id(user.0)).await?;
    let learner_name = learner.map(|u| u.name).unwrap_or_default();
    let program_title = services
        .store()
        .catalog_programs(&[program.0])
        .await?
        .into_iter()
        .next()
        .map(|p| p.title)
        .unwrap_or_default();
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let share = match tx.record_share_for(user, program, school).await? {
        Some(existing) => {
            if !existing.is_active {
                tx.activate_record_share(&existing.share_uuid, now).await?;
            }
            RecordShare {
                is_active: true,
                updated_on: if existing.is_active {
                    existing.updated_on
                } else {
                    now
                },
                ..existing
            }
        }
        None => {
            let uuid = new_uuid();
            tx.insert_record_share(&uuid, user, program, school, now)
                .await?;
            RecordShare {
                share_uuid: uuid,
                created_on: now,
                updated_on: now,
                is_active: true,
                user: user.0,
                program: program.0,
                partner_school: school,
            }
        }
    };
    let mut emails_queued = 0;
    if let Some(school) = &school_row {
        let share_url = format!(
            "{}/records/shared/{}",
            services.settings().site.base_url,
            share.share_uuid
        );
        for to in &recipients {
            let email = EmailJob {
                template: Template::RecordShare,
                to: to.clone(),
                context: json!({
                    "learner_name": learner_name,
                    "program_title": program_title,
                    "school_name": school.name,
                    "share_url": share_url,
                }),
            };
            let key = format!("record-share:{}:{to}", share.share_uuid);
            if jobs::enqueue(&mut tx, jobs::EMAIL_SEND, &email, Some(key), now).await? {
                emails_queued += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(Shared {
        share,
        emails_queued,
    })
}

/// Deactivates the learner's public links to the record of `program` (shares sent to
/// schools stay); how many.
pub async fn revoke(
    services: &Services,
    user: UserId,
    program: ProgramId,
) -> Result<u64, RecordError> {
    if !has_record(services, user, program).await? {
        return Err(RecordError::NoRecord);
    }
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let n = tx
        .deactivate_public_record_shares(user, program, now)
        .await?;
    tx.commit().await?;
    Ok(n)
}

fn check_email(email: &str) -> Result<(), RecordError> {
    let valid = email
        .split_once('@')
        .is_some_and(|(local, host)| !local.is_empty() && host.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(RecordError::Invalid(format!(
            "'{email}' is not an email address"
        )))
    }
}

/// Adds an active partner school (audited).
pub async fn add_partner_school(
    services: &Services,
    name: &str,
    email: &str,
    audit: &Audit,
) -> Result<PartnerSchool, RecordError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(RecordError::Invalid(
            "the name must have 1 to 255 characters".into(),
        ));
    }
    check_email(email)?;
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let id = tx.insert_partner_school(name, email, now).await?;
    let school = PartnerSchool {
        id,
        name: name.to_owned(),
        email: email.to_owned(),
        is_active: true,
    };
    tx.record_audit(
        &AuditChange {
            audit,
            action: "partner_school.add",
            entity: "partner_school",
            entity_id: id.to_string(),
            before: None,
            after: audit_json(&school),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(school)
}

/// Activates or deactivates a partner school (soft delete; audited); `false` when it
/// already had that state.
pub async fn set_partner_school_active(
    services: &Services,
    id: i64,
    active: bool,
    audit: &Audit,
) -> Result<bool, RecordError> {
    let now = services.now();
    let mut tx = services.db().begin().await?;
    let before = tx
        .partner_school(id)
        .await?
        .ok_or(RecordError::SchoolNotFound)?;
    if !tx.set_partner_school_active(id, active, now).await? {
        return Ok(false);
    }
    let after = PartnerSchool {
        is_active: active,
        ..before.clone()
    };
    tx.record_audit(
        &AuditChange {
            audit,
            action: if active {
                "partner_school.activate"
            } else {
                "partner_school.deactivate"
            },
            entity: "partner_school",
            entity_id: id.to_string(),
            before: audit_json(&before),
            after: audit_json(&after),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Links a school to a program; records of the program shared with the school go to
/// `email` (default: the school's own address). `false` when that link exists.
pub async fn link_partner_school(
    services: &Services,
    school: i64,
    program: ProgramId,
    email: Option<&str>,
    audit: &Audit,
) -> Result<bool, RecordError> {
    let now = services.now();
    if services
        .store()
        .catalog_programs(&[program.0])
        .await?
        .is_empty()
    {
        return Err(RecordError::Invalid(format!(
            "no program with id {}",
            program.0
        )));
    }
    let mut tx = services.db().begin().await?;
    let row = tx
        .partner_school(school)
        .await?
        .ok_or(RecordError::SchoolNotFound)?;
    let email = email.unwrap_or(&row.email).to_owned();
    check_email(&email)?;
    if !tx
        .link_partner_school_program(school, program, &email, now)
        .await?
    {
        return Ok(false);
    }
    tx.record_audit(
        &AuditChange {
            audit,
            action: "partner_school.link",
            entity: "partner_school",
            entity_id: school.to_string(),
            before: None,
            after: audit_json(&json!({"program": program.0, "email": email})),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
